/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helpers - common set-up of the shim unit tests: a temporary token
 * directory, fast PIN hashing, the mock transport, C_Initialize; token and
 * login shortcuts; a Check runner that prints the summary.
 */
#ifndef SHIM_TEST_HELPERS_H
#define SHIM_TEST_HELPERS_H

#include <stdbool.h>

#include <check.h>
#include <p11-kit/pkcs11.h>

#define SO_PIN	 "so-secret-1"
#define USER_PIN "user-pin-1"
#define PIN(p)	 (CK_UTF8CHAR_PTR)(p), (CK_ULONG)strlen(p)

extern CK_FUNCTION_LIST *p11;

/* Check fixture: fresh token directory and an initialized module. */
void t_setup(void);
/* The PostgreSQL store the tests run over ("postgresql:..."), or NULL
 * (SQLite in a temporary directory). */
const char *t_pg(void);
/* Does any value of the PostgreSQL store contain @needle? */
bool t_pg_contains(const char *needle);
void t_teardown(void);
/* Same without C_Initialize (tests of the uninitialized library). */
void t_setup_noinit(void);

CK_SLOT_ID t_slot(void);
/* C_InitToken with SO_PIN, label "unit". */
void t_init_token(void);
/* t_init_token, then the SO sets USER_PIN. */
void t_init_user(void);
CK_SESSION_HANDLE t_open(bool rw);
/* t_init_user, open a session and log the user in. */
CK_SESSION_HANDLE t_user_session(bool rw);

/* Assert that @call returns @want, naming both on failure. */
#define CK_RV_IS(call, want)                                                                       \
	do {                                                                                       \
		CK_RV rv_ = (call);                                                                \
		ck_assert_msg(rv_ == (CK_RV)(want), "%s: got 0x%lx, want 0x%lx (%s)", #call,       \
			      (unsigned long)rv_, (unsigned long)(want), #want);                   \
	} while (0)
#define CK_OK(call) CK_RV_IS(call, CKR_OK)

/* Run @s, print Check's summary; exit status for main(). */
int t_run(Suite *s);

#endif
