// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-slotwait: a long-running PKCS#11 application that only watches slots,
 * for the hot-plug check of tests/ctl/run.
 *
 *   hsmg-slotwait [MODULE]        (default build/hsmgroup-pkcs11.so)
 *
 * Loads MODULE, takes the events C_Initialize left pending, prints
 * "ready pid=P slots=S,..." (slots with a token), then blocks in
 * C_WaitForSlotEvent and prints one line per event:
 *
 *   event slot=N present=0|1 token=OK|<CKR> slots=S,...
 *
 * (token: C_GetTokenInfo on that slot, so a new token is shown usable).
 * End of standard input calls C_Finalize from another thread, which ends
 * the wait: "finalized", exit 0.  Any other error: a line saying which
 * call failed, exit 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "p11load.h"

static void print_present_slots(void)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_RV rv;

	rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		printf("slots=error:0x%lx\n", (unsigned long)rv);
		return;
	}
	printf("slots=");
	for (i = 0; i < n; i++)
		printf("%s%lu", i ? "," : "", (unsigned long)slots[i]);
	printf("\n");
}

/* Ends the wait when the test closes our standard input. */
static void *stdin_watch(void *arg)
{
	char buf[64];

	(void)arg;
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	p11->C_Finalize(NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "build/hsmgroup-pkcs11.so";
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_SLOT_ID slot;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	pthread_t t;
	char err[512];
	CK_RV rv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (p11_load(path, err, sizeof(err))) {
		fprintf(stderr, "hsmg-slotwait: %s\n", err);
		return 1;
	}
	rv = p11->C_Initialize(&args);
	if (rv != CKR_OK) {
		printf("error C_Initialize 0x%lx\n", (unsigned long)rv);
		return 1;
	}
	/* The slots present at start are events too: take them. */
	while ((rv = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL)) == CKR_OK)
		;
	if (rv != CKR_NO_EVENT) {
		printf("error C_WaitForSlotEvent(CKF_DONT_BLOCK) 0x%lx\n", (unsigned long)rv);
		return 1;
	}
	printf("ready pid=%ld ", (long)getpid());
	print_present_slots();
	if (pthread_create(&t, NULL, stdin_watch, NULL)) {
		printf("error pthread_create\n");
		return 1;
	}
	for (;;) {
		rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
		if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
			printf("finalized\n");
			break;
		}
		if (rv != CKR_OK) {
			printf("error C_WaitForSlotEvent 0x%lx\n", (unsigned long)rv);
			return 1;
		}
		rv = p11->C_GetSlotInfo(slot, &si);
		if (rv != CKR_OK) {
			printf("error C_GetSlotInfo(%lu) 0x%lx\n", (unsigned long)slot,
			       (unsigned long)rv);
			return 1;
		}
		printf("event slot=%lu present=%d ", (unsigned long)slot,
		       !!(si.flags & CKF_TOKEN_PRESENT));
		rv = p11->C_GetTokenInfo(slot, &ti);
		if (rv == CKR_OK)
			printf("token=OK ");
		else
			printf("token=0x%lx ", (unsigned long)rv);
		print_present_slots();
	}
	pthread_join(t, NULL);
	return 0;
}
