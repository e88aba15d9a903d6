// SPDX-License-Identifier: GPL-2.0
/*
 * test_modes - strict session and VHSM modes in hsmgroup-pkcs11 over the
 * mock card: session_mode parsing, the sealed card-PIN (record, store,
 * never in clear on disk, sealed again at C_SetPIN, deleted at C_InitPIN
 * and C_InitToken, kept only while needed), VHSM logins with and without
 * a card-PIN, and the bindings the card enforces.  The VM test
 * tests/modes/run checks the full table through the kernel and hsmsimd.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cardpin.h"
#include "config.h"
#include "helpers.h"
#include "mock_transport.h"
#include "module.h"
#include "slot.h"
#include "store.h"

#define CARDPIN	 "card-pin-0001"
#define CARDPIN2 "other-card-pin"

/* The module's syslog lines, caught here (this definition wins over libc's
 * for the module's objects linked into the test). */
static char logged[8192];

static void catch_log(const char *fmt, va_list ap)
{
	size_t n = strlen(logged);

	if (n < sizeof(logged) - 2) {
		vsnprintf(logged + n, sizeof(logged) - n - 1, fmt, ap);
		strcat(logged, "\n");
	}
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	va_start(ap, fmt);
	catch_log(fmt, ap);
	va_end(ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	(void)flag;
	va_start(ap, fmt);
	catch_log(fmt, ap);
	va_end(ap);
}

static void restart(const char *mode)
{
	CK_OK(p11->C_Finalize(NULL));
	if (mode)
		setenv("HSMGROUP_SESSION_MODE", mode, 1);
	else
		unsetenv("HSMGROUP_SESSION_MODE");
	CK_OK(p11->C_Initialize(NULL));
}

static struct shim_slot *slot(void)
{
	struct shim_slot *s = shim_slot_find(t_slot());

	ck_assert_ptr_nonnull(s);
	return s;
}

static struct shim_store *store(void)
{
	struct shim_store *st = NULL;

	CK_OK(shim_slot_store(slot(), &st));
	return st;
}

/* Set the card-PIN as `hsmgroupctl token cardpin` did before the cards
 * sealed it (version 1, under the user PIN): the next login moves it. */
static void set_cardpin(const char *user_pin, const char *cardpin)
{
	struct shim_cardpin_record r;

	CK_OK(shim_cardpin_seal(&shim_g.cfg, (const CK_UTF8CHAR *)user_pin, strlen(user_pin),
				(const uint8_t *)cardpin, strlen(cardpin), &r));
	CK_OK(shim_store_put_cardpin(store(), &r));
}

/* Does any file of the token directory hold @s? */
static bool in_token_dir(const char *s)
{
	const char *dir = getenv("HSMGROUP_TOKEN_DIR");
	char path[512], buf[65536];
	struct dirent *e;
	bool found = false;
	size_t n, len = strlen(s);
	DIR *d = opendir(dir);
	FILE *f;

	ck_assert_ptr_nonnull(d);
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		while (!found && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			found = memmem(buf, n, s, len) != NULL;
		fclose(f);
	}
	closedir(d);
	return found;
}

static CK_OBJECT_HANDLE aes_key(CK_SESSION_HANDLE h, CK_BBOOL token)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG len = 32;
	CK_ATTRIBUTE t[] = {
	    {CKA_TOKEN, &token, sizeof(token)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_ENCRYPT, &yes, sizeof(yes)},
	};
	CK_OBJECT_HANDLE k;

	CK_OK(p11->C_GenerateKey(h, &m, t, 4, &k));
	return k;
}

static CK_RV use_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	CK_BYTE iv[16] = {0}, out[64];
	CK_MECHANISM m = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
	CK_ULONG n = sizeof(out);
	CK_RV rv = p11->C_EncryptInit(h, &m, k);

	if (rv == CKR_OK)
		rv = p11->C_Encrypt(h, (CK_BYTE_PTR) "modes", 5, out, &n);
	return rv;
}

/* ------------------------------------------------------------ config */

START_TEST(mode_parse)
{
	static const struct {
		const char *s;
		int ret;
		uint32_t flags;
	} cases[] = {
	    {"none", 0, 0},
	    {"NONE", 0, 0},
	    {"strict", 0, HSMG_SESSION_STRICT},
	    {"vhsm", 0, HSMG_SESSION_VHSM},
	    {"strict,vhsm", 0, HSMG_SESSION_STRICT | HSMG_SESSION_VHSM},
	    {"vhsm,strict", 0, HSMG_SESSION_STRICT | HSMG_SESSION_VHSM},
	    {"strict+vhsm", 0, HSMG_SESSION_STRICT | HSMG_SESSION_VHSM},
	    {"Strict VHSM", 0, HSMG_SESSION_STRICT | HSMG_SESSION_VHSM},
	    {"strict , vhsm", 0, HSMG_SESSION_STRICT | HSMG_SESSION_VHSM},
	    {"", -1, 0},
	    {"strict,", -1, 0},
	    {",vhsm", -1, 0},
	    {"vhsmx", -1, 0},
	    {"strict,none", -1, 0},
	    {"strictvhsm", -1, 0},
	};
	uint32_t f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = 0xdead;
		ck_assert_msg(shim_config_parse_mode(cases[i].s, &f) == cases[i].ret, "'%s'",
			      cases[i].s);
		ck_assert_msg(f == (cases[i].ret ? 0xdead : cases[i].flags), "'%s': 0x%x",
			      cases[i].s, f);
	}
	ck_assert_str_eq(shim_config_mode_name(0), "none");
	ck_assert_str_eq(shim_config_mode_name(HSMG_SESSION_VHSM | HSMG_SESSION_RW), "vhsm");
	ck_assert_str_eq(shim_config_mode_name(HSMG_SESSION_STRICT | HSMG_SESSION_VHSM),
			 "strict,vhsm");
}
END_TEST

START_TEST(mode_per_token)
{
	char path[] = "/tmp/hsmg-conf.XXXXXX";
	struct shim_config c;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "session_mode = strict\n"
		   "[token 00000000000000AA]\nsession_mode = vhsm\n"
		   "[token 00000000000000bb]\nsession_mode = strict,vhsm\n"
		   "[token 00000000000000CC]\nsession_mode = bogus\n");
	fclose(f);
	setenv("HSMGROUP_CONFIG", path, 1);
	shim_config_load(&c);
	ck_assert_uint_eq(c.session_flags, HSMG_SESSION_STRICT);
	ck_assert_uint_eq(shim_config_session_flags(&c, "00000000000000AA"), HSMG_SESSION_VHSM);
	ck_assert_uint_eq(shim_config_session_flags(&c, "00000000000000BB"),
			  HSMG_SESSION_STRICT | HSMG_SESSION_VHSM);
	/* A bad value keeps the section's start value (the global mode). */
	ck_assert_uint_eq(shim_config_session_flags(&c, "00000000000000CC"), HSMG_SESSION_STRICT);
	ck_assert_uint_eq(shim_config_session_flags(&c, "00000000000000DD"), HSMG_SESSION_STRICT);
	ck_assert_ptr_nonnull(strstr(logged, "want none, strict, vhsm or strict,vhsm"));
	/* The environment wins over every section. */
	setenv("HSMGROUP_SESSION_MODE", "vhsm,strict", 1);
	shim_config_load(&c);
	ck_assert_uint_eq(shim_config_session_flags(&c, "00000000000000AA"),
			  HSMG_SESSION_STRICT | HSMG_SESSION_VHSM);
	unlink(path);
}
END_TEST

/* --------------------------------------------------- card-PIN record */

START_TEST(cardpin_record)
{
	struct shim_cardpin_record r, r2;
	uint8_t out[SHIM_CARDPIN_MAX];
	char cp[SHIM_CARDPIN_MAX + 2];
	size_t n, len;

	for (len = 0; len <= SHIM_CARDPIN_MAX + 1; len++) {
		memset(cp, 'a' + (int)len, len);
		CK_RV_IS(shim_cardpin_seal(&shim_g.cfg, PIN(USER_PIN), (uint8_t *)cp, len, &r),
			 len < 8 || len > 16 ? CKR_PIN_LEN_RANGE : CKR_OK);
		if (len < 8 || len > 16)
			continue;
		ck_assert(!memmem(&r, sizeof(r), cp, len));
		CK_OK(shim_cardpin_open(&r, PIN(USER_PIN), out, &n));
		ck_assert_uint_eq(n, len);
		ck_assert(!memcmp(out, cp, len));
	}
	CK_RV_IS(shim_cardpin_seal(&shim_g.cfg, PIN(USER_PIN), NULL, 8, &r), CKR_ARGUMENTS_BAD);
	CK_OK(shim_cardpin_seal(&shim_g.cfg, PIN(USER_PIN), (uint8_t *)CARDPIN, 13, &r));
	CK_OK(shim_cardpin_seal(&shim_g.cfg, PIN(USER_PIN), (uint8_t *)CARDPIN, 13, &r2));
	ck_assert(memcmp(&r, &r2, sizeof(r))); /* own salt and IV each time */
	CK_RV_IS(shim_cardpin_open(&r, PIN("another-pin"), out, &n), CKR_PIN_INCORRECT);
	ck_assert_uint_eq(n, 0);
	/* Any altered byte, the header included, and it does not open. */
	for (size_t i = 0; i < offsetof(struct shim_cardpin_record, pad); i++) {
		r2 = r;
		((uint8_t *)&r2)[i] ^= 1;
		if (i < 4) {
			CK_RV_IS(shim_cardpin_open(&r2, PIN(USER_PIN), out, &n), CKR_DEVICE_ERROR);
			continue;
		}
		CK_RV_IS(shim_cardpin_open(&r2, PIN(USER_PIN), out, &n), CKR_PIN_INCORRECT);
	}
}
END_TEST

START_TEST(cardpin_store)
{
	struct shim_cardpin_record r;

	t_init_user();
	CK_RV_IS(shim_store_get_cardpin(store(), &r), CKR_USER_PIN_NOT_INITIALIZED);
	set_cardpin(USER_PIN, CARDPIN);
	CK_OK(shim_store_get_cardpin(store(), &r));
	CK_OK(p11->C_Finalize(NULL)); /* everything on disk */
	ck_assert(!in_token_dir(CARDPIN));
	ck_assert(!in_token_dir(USER_PIN));
	CK_OK(p11->C_Initialize(NULL));
	CK_OK(shim_store_put_cardpin(store(), NULL));
	CK_RV_IS(shim_store_get_cardpin(store(), &r), CKR_USER_PIN_NOT_INITIALIZED);
	/* C_InitToken deletes it with everything else. */
	set_cardpin(USER_PIN, CARDPIN);
	t_init_token();
	CK_RV_IS(shim_store_get_cardpin(store(), &r), CKR_USER_PIN_NOT_INITIALIZED);
}
END_TEST

/* ------------------------------------------------------ VHSM logins */

START_TEST(vhsm_login_needs_cardpin)
{
	CK_SESSION_HANDLE h;
	CK_TOKEN_INFO ti;

	restart("vhsm");
	t_init_user();
	h = t_open(true);
	logged[0] = 0;
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
	ck_assert_msg(strstr(logged, "VHSM mode: no card-PIN is set for this token") &&
			  strstr(logged, "hsmgroupctl token cardpin"),
		      "logged: %s", logged);
	/* the SO's of t_init_user, and the cards' check of the PIN */
	ck_assert_uint_eq(mock_logins, 2);
	/* Not a wrong PIN: no failure counted. */
	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	ck_assert(!(ti.flags & CKF_USER_PIN_COUNT_LOW));
	/* A wrong user PIN is still a wrong PIN (checked first). */
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-pin")), CKR_PIN_INCORRECT);
	/* SO sessions are never bound: no card-PIN needed. */
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_Logout(h));
	ck_assert_uint_eq(mock_cardpin_logins, 0);
	set_cardpin(USER_PIN, CARDPIN);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	ck_assert_uint_eq(mock_cardpin_logins, 1);
	/* Not strict: one kernel login, the card-PIN not kept. */
	ck_assert_ptr_null(slot()->cardpin);
	ck_assert_ptr_null(slot()->pin);
	t_open(true);
	ck_assert_uint_eq(mock_cardpin_logins, 1);
	ck_assert_ptr_null(strstr(logged, CARDPIN));
	ck_assert_ptr_null(strstr(logged, USER_PIN));
}
END_TEST

START_TEST(strict_vhsm_keeps_cardpin_while_logged_in)
{
	CK_SESSION_HANDLE h;

	restart("strict,vhsm");
	t_init_user();
	h = t_open(true);
	set_cardpin(USER_PIN, CARDPIN);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	ck_assert_uint_eq(mock_cardpin_logins, 1);
	ck_assert_ptr_nonnull(slot()->cardpin);
	ck_assert_uint_eq(slot()->cardpin_len, strlen(CARDPIN));
	/* A session opened later logs in with the kept PIN and card-PIN. */
	t_open(false);
	ck_assert_uint_eq(mock_cardpin_logins, 2);
	CK_OK(p11->C_Logout(h));
	ck_assert_ptr_null(slot()->cardpin);
	ck_assert_uint_eq(slot()->cardpin_len, 0);
	ck_assert_ptr_null(slot()->pin);
	/* The SO in a strict,vhsm token: no card-PIN, nothing kept of it. */
	CK_OK(p11->C_CloseAllSessions(t_slot()));
	h = t_open(true);
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	ck_assert_ptr_null(slot()->cardpin);
	t_open(true);
	ck_assert_uint_eq(mock_cardpin_logins, 2);
	/* The last session closed: everything wiped. */
	CK_OK(p11->C_CloseAllSessions(t_slot()));
	ck_assert_ptr_null(slot()->pin);
}
END_TEST

START_TEST(cardpin_sealed_by_cards_survives_new_pins)
{
	struct shim_cardpin_record r;
	uint8_t out[SHIM_CARDPIN_MAX];
	CK_SESSION_HANDLE h;
	size_t n;

	restart("vhsm");
	t_init_user();
	set_cardpin(USER_PIN, CARDPIN);
	h = t_open(true);
	/* C_SetPIN: the old record opened with the old PIN, sealed again by
	 * the cards (nothing in the store opens with a PIN any more) */
	CK_OK(p11->C_SetPIN(h, PIN(USER_PIN), PIN("new-user-pin")));
	CK_OK(shim_store_get_cardpin(store(), &r));
	ck_assert_uint_eq(r.version, SHIM_CARDPIN_V2_CARD);
	CK_RV_IS(shim_cardpin_open(&r, PIN("new-user-pin"), out, &n), CKR_DEVICE_ERROR);
	CK_OK(p11->C_Login(h, CKU_USER, PIN("new-user-pin")));
	ck_assert_uint_eq(mock_cardpin_logins, 1);
	CK_OK(p11->C_Logout(h));
	/* A wrong old PIN changes nothing. */
	CK_RV_IS(p11->C_SetPIN(h, PIN("not-the-pin"), PIN("third-pin")), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(h, CKU_USER, PIN("new-user-pin")));
	CK_OK(p11->C_Logout(h));
	/* The SO resets the user PIN: the token's secret stays, and with it
	 * the card-PIN. */
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	logged[0] = 0;
	CK_OK(p11->C_InitPIN(h, PIN(USER_PIN)));
	ck_assert_ptr_null(strstr(logged, "the card-PIN is deleted"));
	CK_OK(p11->C_Logout(h));
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	ck_assert_uint_eq(mock_cardpin_logins, 3);
	CK_OK(p11->C_Logout(h));
	/* One still sealed under the old PIN (version 1) goes with it. */
	set_cardpin(USER_PIN, CARDPIN);
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_InitPIN(h, PIN("fourth-pin")));
	ck_assert_ptr_nonnull(strstr(logged, "the card-PIN is deleted"));
	CK_RV_IS(shim_store_get_cardpin(store(), &r), CKR_USER_PIN_NOT_INITIALIZED);
	CK_OK(p11->C_Logout(h));
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("fourth-pin")), CKR_USER_PIN_NOT_INITIALIZED);
}
END_TEST

/* -------------------------------------------------- bindings (card) */

START_TEST(bindings_by_mode)
{
	static const struct {
		const char *mode;
		CK_RV other_session; /* session key in a second PKCS#11 session */
		CK_RV other_cardpin; /* token key after the card-PIN changed */
	} rows[] = {
	    {"none", CKR_OK, CKR_OK},
	    {"strict", CKR_KEY_HANDLE_INVALID, CKR_OK},
	    {"vhsm", CKR_OK, CKR_KEY_HANDLE_INVALID},
	    {"strict,vhsm", CKR_KEY_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID},
	};
	CK_SESSION_HANDLE h, h2;
	CK_OBJECT_HANDLE ks, kt;
	size_t i;

	t_init_user();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		restart(rows[i].mode);
		set_cardpin(USER_PIN, CARDPIN);
		h = t_open(true);
		CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
		ks = aes_key(h, CK_FALSE);
		kt = aes_key(h, CK_TRUE);
		CK_OK(use_key(h, ks));
		CK_OK(use_key(h, kt));
		h2 = t_open(true);
		CK_RV_IS(use_key(h2, ks), rows[i].other_session);
		CK_OK(use_key(h2, kt));
		/* Another token of the same cards = another card-PIN. */
		CK_OK(p11->C_Logout(h));
		set_cardpin(USER_PIN, CARDPIN2);
		CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
		CK_RV_IS(use_key(h, kt), rows[i].other_cardpin);
		CK_OK(p11->C_Logout(h));
		set_cardpin(USER_PIN, CARDPIN);
		CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
		CK_OK(use_key(h, kt));
		CK_OK(p11->C_DestroyObject(h, kt));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-modes");
	TCase *tc = tcase_create("modes");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mode_parse);
	tcase_add_test(tc, mode_per_token);
	tcase_add_test(tc, cardpin_record);
	tcase_add_test(tc, cardpin_store);
	tcase_add_test(tc, vhsm_login_needs_cardpin);
	tcase_add_test(tc, strict_vhsm_keeps_cardpin_while_logged_in);
	tcase_add_test(tc, cardpin_sealed_by_cards_survives_new_pins);
	tcase_add_test(tc, bindings_by_mode);
	suite_add_tcase(s, tc);
	return t_run(s);
}
