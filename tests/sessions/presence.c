// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-presence - one PKCS#11 application (hsmgroup-pkcs11.so, dlopen) that
 * keeps one logged-in session while tests/sessions/run takes every card of
 * the group away and brings one back.
 *
 *   hsmg-presence --module SO
 *
 * Initializes the token of the first slot if needed (SO PIN "presence-so",
 * user PIN "presence-user"), opens one session, logs the user in, generates
 * an HMAC key (session object) and signs once; prints "ready".  Then reads
 * commands on stdin, one per line, answering each with one line:
 *   sign          sign once with the key: "sign rv=0x.. ms=N"
 *   gone          all cards were taken away: a sign waits the hold time and
 *                 fails (CKR_DEVICE_ERROR), then the slot reports no token
 *                 and a second sign fails at once (CKR_TOKEN_NOT_PRESENT):
 *                 "gone first=0x.. first_ms=N present=0|1 second=0x..
 *                  second_ms=N event=0|1"
 *   back          one card returns: C_WaitForSlotEvent (blocking) reports
 *                 the slot, then the same session signs with the same key:
 *                 "back event_ms=N present=0|1 sign=0x.. signed_ms=N"
 *   quit          log out, close, finalize: "bye"
 * The times are counted from the command's arrival.  Exit 0 unless set-up
 * fails (then the failing call and CK_RV on stderr, exit 1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11load.h"

#define SO_PIN	 "presence-so"
#define USER_PIN "presence-user"

static CK_SLOT_ID slot;
static CK_SESSION_HANDLE h;
static CK_OBJECT_HANDLE key;

static CK_RV sign(void)
{
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	CK_BYTE data[] = "hsmgroup presence", mac[32];
	CK_ULONG len = sizeof(mac);
	CK_RV rv;

	rv = p11->C_SignInit(h, &m, key);
	if (rv == CKR_OK)
		rv = p11->C_Sign(h, data, sizeof(data) - 1, mac, &len);
	return rv;
}

static int present(void)
{
	CK_SLOT_INFO si;

	if (p11->C_GetSlotInfo(slot, &si) != CKR_OK)
		return -1;
	return (si.flags & CKF_TOKEN_PRESENT) != 0;
}

static void setup(void)
{
	CK_ULONG n, len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_ATTRIBUTE t[] = {
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	};
	CK_RV rv;

	P11(C_Initialize, NULL);
	slot = p11_token_setup("presence", SO_PIN, USER_PIN);
	P11(C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	P11(C_Login, h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN));
	P11(C_GenerateKey, h, &gen, t, 2, &key);
	rv = sign();
	if (rv != CKR_OK)
		die_rv("first sign", rv);
	/* Forget the events so far (the initial presence). */
	while (p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &n, NULL) == CKR_OK)
		;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"module", required_argument, NULL, 'm'}, {}};
	const char *module = NULL;
	char line[64], err[512];
	int c;

	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (c != 'm') {
			fprintf(stderr, "usage: hsmg-presence --module SO\n");
			return 2;
		}
		module = optarg;
	}
	if (!module) {
		fprintf(stderr, "usage: hsmg-presence --module SO\n");
		return 2;
	}
	p11_prog = "hsmg-presence";
	if (p11_load(module, err, sizeof(err))) {
		fprintf(stderr, "hsmg-presence: %s\n", err);
		return 1;
	}
	setup();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");

	while (fgets(line, sizeof(line), stdin)) {
		long long t0 = now_ms(), t1;
		CK_SLOT_ID got;
		CK_RV rv, rv2;
		int p, ev;

		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "sign")) {
			rv = sign();
			printf("sign rv=0x%lx ms=%lld\n", (unsigned long)rv, now_ms() - t0);
		} else if (!strcmp(line, "gone")) {
			rv = sign();
			t1 = now_ms();
			p = present();
			rv2 = sign();
			ev = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL) == CKR_OK &&
			     got == slot;
			printf(
			    "gone first=0x%lx first_ms=%lld present=%d second=0x%lx second_ms=%lld "
			    "event=%d\n",
			    (unsigned long)rv, t1 - t0, p, (unsigned long)rv2, now_ms() - t1, ev);
		} else if (!strcmp(line, "back")) {
			rv = p11->C_WaitForSlotEvent(0, &got, NULL);
			t1 = now_ms();
			p = present();
			if (rv == CKR_OK)
				rv = sign();
			printf("back event_ms=%lld present=%d sign=0x%lx signed_ms=%lld\n", t1 - t0,
			       p, (unsigned long)rv, now_ms() - t0);
		} else if (!strcmp(line, "quit")) {
			p11->C_Logout(h);
			p11->C_CloseSession(h);
			p11->C_Finalize(NULL);
			printf("bye\n");
			return 0;
		} else {
			printf("unknown command\n");
		}
	}
	return 0;
}
