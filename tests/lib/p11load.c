// SPDX-License-Identifier: GPL-2.0
/*
 * p11load - loading a PKCS#11 module for the test programs (p11load.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11load.h"

CK_FUNCTION_LIST *p11;
const char *p11_prog = "test";

int p11_load(const char *path, char *err, size_t errlen)
{
	CK_C_GetFunctionList get;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get || get(&p11) != CKR_OK || !p11) {
		snprintf(err, errlen, "%s: no C_GetFunctionList", path);
		dlclose(dl);
		return -1;
	}
	return 0;
}

void die_rv(const char *what, CK_RV rv)
{
	fprintf(stderr, "%s: %s failed: CK_RV 0x%lx\n", p11_prog, what, (unsigned long)rv);
	exit(1);
}

CK_SLOT_ID p11_token_setup(const char *label, const char *so_pin, const char *user_pin)
{
	CK_SLOT_ID slots[16], slot;
	CK_ULONG n = 16;
	CK_TOKEN_INFO ti;
	CK_UTF8CHAR lbl[32];
	CK_SESSION_HANDLE so;
	size_t len = strlen(label);

	P11(C_GetSlotList, CK_TRUE, slots, &n);
	if (!n)
		die_rv("C_GetSlotList (no token)", CKR_TOKEN_NOT_PRESENT);
	slot = slots[0];
	P11(C_GetTokenInfo, slot, &ti);
	if (ti.flags & CKF_TOKEN_INITIALIZED)
		return slot;
	memset(lbl, ' ', sizeof(lbl));
	memcpy(lbl, label, len < sizeof(lbl) ? len : sizeof(lbl));
	P11(C_InitToken, slot, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin), lbl);
	P11(C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &so);
	P11(C_Login, so, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin));
	P11(C_InitPIN, so, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin));
	P11(C_Logout, so);
	P11(C_CloseSession, so);
	return slot;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
