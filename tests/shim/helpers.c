// SPDX-License-Identifier: GPL-2.0
/*
 * helpers - set-up shared by the shim unit tests (see helpers.h).
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "helpers.h"
#include "mock_transport.h"
#include "transport.h"

CK_FUNCTION_LIST *p11;
static char dir[64];

static void env_setup(void)
{
	strcpy(dir, "/tmp/hsmg-shim-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("HSMGROUP_TOKEN_DIR", dir, 1);
	setenv("HSMGROUP_CONFIG", "/nonexistent/pkcs11.conf", 1);
	setenv("HSMGROUP_PIN_ITERATIONS", "1000", 1);
	setenv("HSMGROUP_PIN_MAX_FAILURES", MOCK_PIN_MAX_FAILURES_STR, 1);
	unsetenv("HSMGROUP_SESSION_MODE");
	/* tests/store/run-shim: the same tests over PostgreSQL. */
	if (t_pg())
		setenv("HSMGROUP_TOKEN_STORE", t_pg(), 1);
	mock_open_fails = false;
	mock_nonline = 1;
	mock_submits = 0;
	mock_logins = 0;
	mock_cardpin_logins = 0;
	shim_transport_override(&mock_transport_ops);
	ck_assert_int_eq(C_GetFunctionList(&p11), CKR_OK);
}

void t_setup_noinit(void)
{
	env_setup();
}

void t_setup(void)
{
	env_setup();
	CK_OK(p11->C_Initialize(NULL));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

const char *t_pg(void)
{
	const char *pg = getenv("HSMG_TEST_TOKEN_STORE");

	return pg && *pg ? pg : NULL;
}

/* Empty the PostgreSQL store: every test starts with no token. */
static void pg_wipe(void)
{
	PGconn *c;
	PGresult *r;

	c = PQconnectdb(t_pg() + strlen("postgresql:"));
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, "DO $$ BEGIN IF to_regclass('hsmg_tokens') IS NOT NULL THEN"
		      " DELETE FROM hsmg_tokens; END IF; END $$");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

bool t_pg_contains(const char *needle)
{
	size_t nl = strlen(needle);
	bool found = false;
	PGconn *c;
	PGresult *r;

	c = PQconnectdb(t_pg() + strlen("postgresql:"));
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexecParams(c,
			 "SELECT value FROM hsmg_meta UNION ALL SELECT record FROM hsmg_pins"
			 " UNION ALL SELECT attrs FROM hsmg_objects UNION ALL SELECT mkvp FROM"
			 " hsmg_tokens",
			 0, NULL, NULL, NULL, NULL, 1);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	for (int i = 0; i < PQntuples(r) && !found; i++)
		found = memmem(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), needle, nl);
	PQclear(r);
	PQfinish(c);
	return found;
}

void t_teardown(void)
{
	p11->C_Finalize(NULL);
	mock_transport_reset();
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (t_pg())
		pg_wipe();
}

CK_SLOT_ID t_slot(void)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;

	CK_OK(p11->C_GetSlotList(CK_TRUE, slots, &n));
	ck_assert_uint_eq(n, 1);
	return slots[0];
}

void t_init_token(void)
{
	CK_UTF8CHAR label[32];

	memset(label, ' ', sizeof(label));
	memcpy(label, "unit", 4);
	CK_OK(p11->C_InitToken(t_slot(), PIN(SO_PIN), label));
}

CK_SESSION_HANDLE t_open(bool rw)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;

	CK_OK(p11->C_OpenSession(t_slot(), CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL,
				 NULL, &h));
	ck_assert_uint_ne(h, CK_INVALID_HANDLE);
	return h;
}

void t_init_user(void)
{
	CK_SESSION_HANDLE h;

	t_init_token();
	h = t_open(true);
	CK_OK(p11->C_Login(h, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_InitPIN(h, PIN(USER_PIN)));
	CK_OK(p11->C_Logout(h));
	CK_OK(p11->C_CloseSession(h));
}

CK_SESSION_HANDLE t_user_session(bool rw)
{
	CK_SESSION_HANDLE h;

	t_init_user();
	h = t_open(rw);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	return h;
}

int t_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
