/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p11load - what the PKCS#11 test programs share: load a module with
 * dlopen, stop on a failing call, a monotonic clock.  Built by
 * tests/lib/build.mk, linked by each program (with -ldl).
 */
#ifndef HSMG_TEST_P11LOAD_H
#define HSMG_TEST_P11LOAD_H

#include <p11-kit/pkcs11.h>

/* The loaded module's function list (p11_load). */
extern CK_FUNCTION_LIST *p11;
/* The program's name in die_rv's message; set it before the first use. */
extern const char *p11_prog;

/*
 * dlopen @path (RTLD_NOW | RTLD_LOCAL) and fill p11 from its
 * C_GetFunctionList.  0, or -1 with the reason in @err (@errlen bytes).
 */
int p11_load(const char *path, char *err, size_t errlen);

/* "<p11_prog>: <what> failed: CK_RV 0x.." on stderr, exit 1. */
void die_rv(const char *what, CK_RV rv) __attribute__((noreturn));

/* One call of the function list; any CK_RV but CKR_OK ends the program. */
#define P11(call, ...)                                                                             \
	do {                                                                                       \
		CK_RV rv_ = p11->call(__VA_ARGS__);                                                \
		if (rv_ != CKR_OK)                                                                 \
			die_rv(#call, rv_);                                                        \
	} while (0)

/*
 * The first slot with a token; initialize the token (@label, @so_pin, user
 * PIN @user_pin) when it is not yet.  Dies on a failing call.
 */
CK_SLOT_ID p11_token_setup(const char *label, const char *so_pin, const char *user_pin);

/* CLOCK_MONOTONIC in milliseconds. */
long long now_ms(void);

#endif
