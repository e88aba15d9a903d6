// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-forkchild - a PKCS#11 application (hsmgroup-pkcs11.so, dlopen) that
 * logs in and forks a pre-forked worker that never calls PKCS#11 until
 * told, for tests/sessions/run (issue 18: the child kept the parent's
 * device file open, so the parent's logged-in sessions outlived it).
 *
 *   hsmg-forkchild --module SO
 *
 * The parent initializes the token of the first slot if needed (SO PIN
 * "forkchild-so", user PIN "forkchild-user"), opens a session, logs the
 * user in, forks, prints "ready parent=PID child=PID" and sleeps until it
 * is killed.  The child sleeps until a line arrives on stdin, then counts
 * its open files of /dev/hsmgroup (inherited ones would be the parent's)
 * and does what a worker does: C_Initialize, open, login, make an HMAC
 * key, sign; it prints one line
 *   "child devfds=N init=0x.. login=0x.. sign=0x.."
 * and exits 0.  Exit 1 when the parent's set-up fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11load.h"
#include "procfd.h"

#define SO_PIN	 "forkchild-so"
#define USER_PIN "forkchild-user"

static int child(void)
{
	CK_RV init, login = CKR_GENERAL_ERROR, sign = CKR_GENERAL_ERROR;
	CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	CK_ULONG klen = 32, n = 1, len;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_VALUE_LEN, &klen, sizeof(klen)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	};
	CK_BYTE data[] = "hsmgroup forkchild", mac[32];
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	CK_SLOT_ID slot;
	char line[64];
	int devfds;

	if (!fgets(line, sizeof(line), stdin))
		return 1;
	devfds = procfd_count("/dev/hsmgroup");
	init = p11->C_Initialize(NULL);
	if (init == CKR_OK && p11->C_GetSlotList(CK_TRUE, &slot, &n) == CKR_OK && n &&
	    p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h) ==
		CKR_OK) {
		login = p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
		if (login == CKR_OK)
			sign = p11->C_GenerateKey(h, &gen, t, 2, &key);
		if (sign == CKR_OK)
			sign = p11->C_SignInit(h, &m, key);
		len = sizeof(mac);
		if (sign == CKR_OK)
			sign = p11->C_Sign(h, data, sizeof(data) - 1, mac, &len);
		if (sign == CKR_OK && len != sizeof(mac))
			sign = CKR_GENERAL_ERROR;
		p11->C_CloseSession(h);
	}
	printf("child devfds=%d init=0x%lx login=0x%lx sign=0x%lx\n", devfds, (unsigned long)init,
	       (unsigned long)login, (unsigned long)sign);
	if (init == CKR_OK)
		p11->C_Finalize(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"module", required_argument, NULL, 'm'}, {}};
	const char *module = NULL;
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slot;
	char err[512];
	pid_t pid;
	int c;

	p11_prog = "hsmg-forkchild";
	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (c != 'm')
			module = NULL, optind = argc;
		else
			module = optarg;
	}
	if (!module) {
		fprintf(stderr, "usage: hsmg-forkchild --module SO\n");
		return 2;
	}
	if (p11_load(module, err, sizeof(err))) {
		fprintf(stderr, "hsmg-forkchild: %s\n", err);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	P11(C_Initialize, NULL);
	slot = p11_token_setup("forkchild", SO_PIN, USER_PIN);
	P11(C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	P11(C_Login, h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
	pid = fork();
	if (pid < 0) {
		perror("hsmg-forkchild: fork");
		return 1;
	}
	if (pid == 0)
		return child();
	printf("ready parent=%d child=%d\n", (int)getpid(), (int)pid);
	for (;;)
		pause();
}
