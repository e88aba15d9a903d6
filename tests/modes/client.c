// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-modes - a PKCS#11 client of hsmgroup-pkcs11.so (dlopen) for
 * tests/modes/run: the strict session and VHSM modes seen from an
 * application.  The mode, token directory and PIN iterations come from the
 * module's environment (HSMGROUP_SESSION_MODE, HSMGROUP_TOKEN_DIR, ...).
 *
 *   hsmg-modes init                 C_InitToken + C_InitPIN (SO_PIN, USER_PIN)
 *   hsmg-modes make PREFIX          first without login: a public session key
 *                                   made in one session, used in a second one;
 *                                   then log in, make an AES session key and an AES
 *                                   token key (labels PREFIX-s, PREFIX-t), use
 *                                   both in the making session and in a second
 *                                   session of the same token, copy the session
 *                                   key into a token object PREFIX-c (the same
 *                                   blob), then end every session
 *   hsmg-modes use PREFIX           log in, use PREFIX-t and PREFIX-c
 *   hsmg-modes login [so]           C_Login of the user (or the SO) only
 *   hsmg-modes hold N               N sessions, each logged in with its own
 *                                   session key in use, then "ready" and sleep
 *                                   until killed
 *
 * Every result is a line "NAME=CKR_..." on stdout (NAME: s1.session,
 * s1.token, s2.session, s2.token, copy, use.token, use.copy, pub.s1,
 * pub.s2, login); the script compares them with the table.  Exit 0 when
 * the calls could be made (whatever the card answered), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11load.h"

#define SO_PIN	 "so-pin-1234"
#define USER_PIN "user-pin-1234"

static CK_SLOT_ID slot;

static const char *rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return "CKR_OK";
	case CKR_KEY_HANDLE_INVALID:
		return "CKR_KEY_HANDLE_INVALID";
	case CKR_USER_NOT_LOGGED_IN:
		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_USER_PIN_NOT_INITIALIZED:
		return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_PIN_INCORRECT:
		return "CKR_PIN_INCORRECT";
	case CKR_OBJECT_HANDLE_INVALID:
		return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_DEVICE_ERROR:
		return "CKR_DEVICE_ERROR";
	case CKR_FUNCTION_FAILED:
		return "CKR_FUNCTION_FAILED";
	case CKR_GENERAL_ERROR:
		return "CKR_GENERAL_ERROR";
	default: {
		static char buf[32];

		snprintf(buf, sizeof(buf), "CKR_0x%lx", (unsigned long)rv);
		return buf;
	}
	}
}

static void die(const char *what, CK_RV rv)
{
	fprintf(stderr, "hsmg-modes: %s: %s\n", what, rv_name(rv));
	exit(1);
}

#define MUST(call, ...)                                                                            \
	do {                                                                                       \
		CK_RV rv_ = p11->call(__VA_ARGS__);                                                \
		if (rv_ != CKR_OK)                                                                 \
			die(#call, rv_);                                                           \
	} while (0)

static void result(const char *name, CK_RV rv)
{
	printf("%s=%s\n", name, rv_name(rv));
	fflush(stdout);
}

static void load(void)
{
	const char *path = getenv("HSMG_MODULE");
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	char err[512];

	if (p11_load(path ? path : "build/hsmgroup-pkcs11.so", err, sizeof(err))) {
		fprintf(stderr, "hsmg-modes: %s\n", err);
		exit(1);
	}
	MUST(C_Initialize, NULL);
	MUST(C_GetSlotList, CK_TRUE, slots, &n);
	if (!n)
		die("C_GetSlotList: no token", CKR_GENERAL_ERROR);
	slot = slots[0];
}

static CK_SESSION_HANDLE open_rw(void)
{
	CK_SESSION_HANDLE h;

	MUST(C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	return h;
}

static CK_RV login(CK_SESSION_HANDLE h, CK_USER_TYPE u)
{
	const char *pin = u == CKU_SO ? SO_PIN : USER_PIN;

	return p11->C_Login(h, u, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

static CK_RV gen_aes(CK_SESSION_HANDLE h, const char *label, CK_BBOOL token, CK_BBOOL priv,
		     CK_OBJECT_HANDLE *k)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_LABEL, (void *)label, strlen(label)}, {CKA_TOKEN, &token, sizeof(token)},
	    {CKA_PRIVATE, &priv, sizeof(priv)},	       {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_ENCRYPT, &yes, sizeof(yes)},	       {CKA_SENSITIVE, &yes, sizeof(yes)},
	};

	return p11->C_GenerateKey(h, &m, t, sizeof(t) / sizeof(t[0]), k);
}

/* One AES-CBC-PAD encryption with @k in @h: the card's verdict. */
static CK_RV use_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	CK_BYTE iv[16] = {0}, in[20] = "hsmgroup modes test", out[64];
	CK_MECHANISM m = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
	CK_ULONG n = sizeof(out);
	CK_RV rv;

	rv = p11->C_EncryptInit(h, &m, k);
	if (rv != CKR_OK)
		return rv;
	return p11->C_Encrypt(h, in, sizeof(in), out, &n);
}

static CK_RV find(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *k)
{
	CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)}};
	CK_ULONG n = 0;
	CK_RV rv;

	rv = p11->C_FindObjectsInit(h, t, 1);
	if (rv != CKR_OK)
		return rv;
	rv = p11->C_FindObjects(h, k, 1, &n);
	p11->C_FindObjectsFinal(h);
	if (rv == CKR_OK && n != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	return rv;
}

static int cmd_public(const char *prefix)
{
	CK_SESSION_HANDLE s1, s2;
	CK_OBJECT_HANDLE k;
	char l[96];

	snprintf(l, sizeof(l), "%s-p", prefix);
	s1 = open_rw();
	s2 = open_rw();
	if (gen_aes(s1, l, CK_FALSE, CK_FALSE, &k) != CKR_OK)
		die("C_GenerateKey (public)", CKR_GENERAL_ERROR);
	result("pub.s1", use_key(s1, k));
	result("pub.s2", use_key(s2, k));
	MUST(C_CloseAllSessions, slot);
	return 0;
}

static int cmd_make(const char *prefix)
{
	CK_OBJECT_HANDLE ks, kt, kc;
	CK_SESSION_HANDLE s1, s2;
	CK_BBOOL yes = CK_TRUE;
	char l[3][96];
	CK_ATTRIBUTE t[2];

	snprintf(l[0], sizeof(l[0]), "%s-s", prefix);
	snprintf(l[1], sizeof(l[1]), "%s-t", prefix);
	snprintf(l[2], sizeof(l[2]), "%s-c", prefix);
	cmd_public(prefix);
	s1 = open_rw();
	MUST(C_Login, s1, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
	if (gen_aes(s1, l[0], CK_FALSE, CK_TRUE, &ks) != CKR_OK ||
	    gen_aes(s1, l[1], CK_TRUE, CK_TRUE, &kt) != CKR_OK)
		die("C_GenerateKey", CKR_GENERAL_ERROR);
	result("s1.session", use_key(s1, ks));
	result("s1.token", use_key(s1, kt));
	s2 = open_rw(); /* logged in too: login state is per application */
	result("s2.session", use_key(s2, ks));
	result("s2.token", use_key(s2, kt));
	t[0] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	t[1] = (CK_ATTRIBUTE){CKA_LABEL, l[2], strlen(l[2])};
	result("copy", p11->C_CopyObject(s1, ks, t, 2, &kc));
	MUST(C_CloseAllSessions, slot);
	return 0;
}

static int cmd_use(const char *prefix)
{
	CK_OBJECT_HANDLE k;
	CK_SESSION_HANDLE s;
	char l[96];
	CK_RV rv;

	s = open_rw();
	rv = login(s, CKU_USER);
	result("login", rv);
	if (rv != CKR_OK)
		return 0;
	snprintf(l, sizeof(l), "%s-t", prefix);
	rv = find(s, l, &k);
	result("use.token", rv == CKR_OK ? use_key(s, k) : rv);
	snprintf(l, sizeof(l), "%s-c", prefix);
	rv = find(s, l, &k);
	result("use.copy", rv == CKR_OK ? use_key(s, k) : rv);
	MUST(C_CloseAllSessions, slot);
	return 0;
}

static int cmd_init(void)
{
	CK_UTF8CHAR label[32];
	CK_SESSION_HANDLE s;

	memset(label, ' ', sizeof(label));
	memcpy(label, "modes", 5);
	MUST(C_InitToken, slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label);
	s = open_rw();
	MUST(C_Login, s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN));
	MUST(C_InitPIN, s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
	MUST(C_CloseAllSessions, slot);
	return 0;
}

static int cmd_hold(int n)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE k;
	int i;

	for (i = 0; i < n; i++) {
		s = open_rw();
		if (!i)
			MUST(C_Login, s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
		if (gen_aes(s, "hold", CK_FALSE, CK_TRUE, &k) != CKR_OK || use_key(s, k) != CKR_OK)
			die("hold: key in a session", CKR_GENERAL_ERROR);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hsmg-modes init|make P|use P|public P|login [so]|hold N\n");
		return 2;
	}
	load();
	if (!strcmp(argv[1], "init"))
		return cmd_init();
	if (!strcmp(argv[1], "make") && argc == 3)
		return cmd_make(argv[2]);
	if (!strcmp(argv[1], "use") && argc == 3)
		return cmd_use(argv[2]);
	if (!strcmp(argv[1], "public") && argc == 3)
		return cmd_public(argv[2]);
	if (!strcmp(argv[1], "hold") && argc == 3)
		return cmd_hold(atoi(argv[2]));
	if (!strcmp(argv[1], "login")) {
		CK_SESSION_HANDLE s = open_rw();

		result("login", login(s, argc == 3 && !strcmp(argv[2], "so") ? CKU_SO : CKU_USER));
		p11->C_CloseAllSessions(slot);
		return 0;
	}
	fprintf(stderr, "hsmg-modes: unknown command %s\n", argv[1]);
	return 2;
}
