// SPDX-License-Identifier: GPL-2.0
/*
 * test_token - token initialization, PINs, lockout, login and session
 * states of hsmgroup-pkcs11 over the mock card.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "helpers.h"
#include "mock_transport.h"
#include "pin.h"
#include "store.h"

static CK_FLAGS token_flags(void)
{
	CK_TOKEN_INFO ti;

	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	return ti.flags;
}

START_TEST(token_uninitialized)
{
	CK_TOKEN_INFO ti;
	size_t i;

	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	ck_assert(!(ti.flags & CKF_TOKEN_INITIALIZED));
	ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED));
	ck_assert(ti.flags & CKF_RNG);
	ck_assert(ti.flags & CKF_LOGIN_REQUIRED);
	/* Serial: 16 hex digits of the MKVP. */
	for (i = 0; i < sizeof(ti.serialNumber); i++)
		ck_assert_msg(strchr("0123456789ABCDEF", ti.serialNumber[i]), "serial char %zu", i);
	ck_assert_uint_eq(ti.ulMinPinLen, 4);
	ck_assert_uint_eq(ti.ulMaxPinLen, 64);
}
END_TEST

START_TEST(token_init)
{
	CK_UTF8CHAR label[32];
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;

	memset(label, ' ', sizeof(label));
	CK_RV_IS(p11->C_InitToken(t_slot(), PIN("abc"), label), CKR_PIN_LEN_RANGE);
	CK_RV_IS(p11->C_InitToken(t_slot(), NULL, 4, label), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_InitToken(t_slot(), PIN(SO_PIN), NULL), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_InitToken(4242, PIN(SO_PIN), label), CKR_SLOT_ID_INVALID);
	t_init_token();
	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	ck_assert(ti.flags & CKF_TOKEN_INITIALIZED);
	ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED));
	ck_assert(!memcmp(ti.label, "unit    ", 8));
	/* Re-initialization needs the SO PIN and no open session. */
	CK_RV_IS(p11->C_InitToken(t_slot(), PIN("wrong-so-pin"), label), CKR_PIN_INCORRECT);
	h = t_open(false);
	CK_RV_IS(p11->C_InitToken(t_slot(), PIN(SO_PIN), label), CKR_SESSION_EXISTS);
	CK_OK(p11->C_CloseSession(h));
	memcpy(label, "again", 5);
	CK_OK(p11->C_InitToken(t_slot(), PIN(SO_PIN), label));
	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	ck_assert(!memcmp(ti.label, "again   ", 8));
}
END_TEST

START_TEST(token_persists)
{
	CK_TOKEN_INFO ti;

	t_init_user();
	CK_OK(p11->C_Finalize(NULL));
	CK_OK(p11->C_Initialize(NULL));
	CK_OK(p11->C_GetTokenInfo(t_slot(), &ti));
	ck_assert(ti.flags & CKF_TOKEN_INITIALIZED);
	ck_assert(ti.flags & CKF_USER_PIN_INITIALIZED);
	ck_assert(!memcmp(ti.label, "unit", 4));
}
END_TEST

START_TEST(login_user)
{
	CK_SESSION_HANDLE h, h2;
	CK_SESSION_INFO si;

	t_init_token();
	h = t_open(true);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
	CK_OK(p11->C_CloseSession(h));
	t_init_user();
	ck_assert(token_flags() & CKF_USER_PIN_INITIALIZED);
	h = t_open(true);
	h2 = t_open(false);
	CK_OK(p11->C_GetSessionInfo(h2, &si));
	ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
	CK_RV_IS(p11->C_Login(h, 99, PIN(USER_PIN)), CKR_USER_TYPE_INVALID);
	CK_RV_IS(p11->C_Login(h, CKU_USER, NULL, 3), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	/* the SO PIN checked by a login at the second C_InitToken (the token
	 * existed), the SO in t_init_user, then the user */
	ck_assert_uint_eq(mock_logins, 3);
	/* Login state is per application: every session sees it. */
	CK_OK(p11->C_GetSessionInfo(h2, &si));
	ck_assert_uint_eq(si.state, CKS_RO_USER_FUNCTIONS);
	CK_OK(p11->C_GetSessionInfo(h, &si));
	ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
	ck_assert_uint_eq(si.slotID, t_slot());
	CK_RV_IS(p11->C_Login(h2, CKU_USER, PIN(USER_PIN)), CKR_USER_ALREADY_LOGGED_IN);
	CK_RV_IS(p11->C_Login(h, CKU_SO, PIN(SO_PIN)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	CK_OK(p11->C_Logout(h2));
	CK_RV_IS(p11->C_Logout(h), CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_GetSessionInfo(h, &si));
	ck_assert_uint_eq(si.state, CKS_RW_PUBLIC_SESSION);
	/* One kernel session per token, ended with the last PKCS#11 session. */
	ck_assert_uint_eq(mock_open_sessions, 1);
	CK_OK(p11->C_CloseSession(h));
	ck_assert_uint_eq(mock_open_sessions, 1);
	CK_OK(p11->C_CloseSession(h2));
	ck_assert_uint_eq(mock_open_sessions, 0);
}
END_TEST

START_TEST(last_close_logs_out)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_SESSION_INFO si;

	CK_OK(p11->C_CloseAllSessions(t_slot()));
	CK_RV_IS(p11->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
	h = t_open(true);
	CK_OK(p11->C_GetSessionInfo(h, &si));
	ck_assert_uint_eq(si.state, CKS_RW_PUBLIC_SESSION);
}
END_TEST

START_TEST(so_rules)
{
	CK_SESSION_HANDLE ro, rw;
	CK_SESSION_INFO si;

	t_init_user();
	ro = t_open(false);
	rw = t_open(true);
	CK_RV_IS(p11->C_Login(rw, CKU_SO, PIN(SO_PIN)), CKR_SESSION_READ_ONLY_EXISTS);
	CK_RV_IS(p11->C_InitPIN(rw, PIN(USER_PIN)), CKR_USER_NOT_LOGGED_IN);
	CK_RV_IS(p11->C_InitPIN(ro, PIN(USER_PIN)), CKR_SESSION_READ_ONLY);
	CK_OK(p11->C_CloseSession(ro));
	CK_OK(p11->C_Login(rw, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_GetSessionInfo(rw, &si));
	ck_assert_uint_eq(si.state, CKS_RW_SO_FUNCTIONS);
	CK_RV_IS(p11->C_OpenSession(t_slot(), CKF_SERIAL_SESSION, NULL, NULL, &ro),
		 CKR_SESSION_READ_WRITE_SO_EXISTS);
	CK_RV_IS(p11->C_InitPIN(rw, PIN("12")), CKR_PIN_LEN_RANGE);
	CK_RV_IS(p11->C_InitPIN(rw, NULL, 5), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(pin_lockout)
{
	CK_SESSION_HANDLE h, so;
	CK_FLAGS f;

	t_init_user();
	h = t_open(true);
	/* HSMGROUP_PIN_MAX_FAILURES=3 in the fixture. */
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-1")), CKR_PIN_INCORRECT);
	f = token_flags();
	ck_assert(f & CKF_USER_PIN_COUNT_LOW);
	ck_assert(!(f & CKF_USER_PIN_FINAL_TRY));
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-2")), CKR_PIN_INCORRECT);
	ck_assert(token_flags() & CKF_USER_PIN_FINAL_TRY);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-3")), CKR_PIN_INCORRECT);
	ck_assert(token_flags() & CKF_USER_PIN_LOCKED);
	/* The right PIN no longer helps. */
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_LOCKED);
	CK_RV_IS(p11->C_SetPIN(h, PIN(USER_PIN), PIN("new-pin-9")), CKR_PIN_LOCKED);
	/* The SO unlocks by setting a new user PIN. */
	so = t_open(true);
	CK_OK(p11->C_Login(so, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_InitPIN(so, PIN("fresh-pin")));
	CK_OK(p11->C_Logout(so));
	f = token_flags();
	ck_assert(!(f & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW)));
	CK_OK(p11->C_Login(h, CKU_USER, PIN("fresh-pin")));
}
END_TEST

START_TEST(pin_success_resets_count)
{
	CK_SESSION_HANDLE h;

	t_init_user();
	h = t_open(true);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-1")), CKR_PIN_INCORRECT);
	CK_RV_IS(p11->C_Login(h, CKU_USER, PIN("wrong-2")), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(h, CKU_USER, PIN(USER_PIN)));
	ck_assert(!(token_flags() & CKF_USER_PIN_COUNT_LOW));
}
END_TEST

START_TEST(so_pin_lockout)
{
	CK_SESSION_HANDLE h;

	t_init_token();
	h = t_open(true);
	CK_RV_IS(p11->C_Login(h, CKU_SO, PIN("bad-so-1")), CKR_PIN_INCORRECT);
	CK_RV_IS(p11->C_Login(h, CKU_SO, PIN("bad-so-2")), CKR_PIN_INCORRECT);
	ck_assert(token_flags() & CKF_SO_PIN_FINAL_TRY);
	CK_RV_IS(p11->C_Login(h, CKU_SO, PIN("bad-so-3")), CKR_PIN_INCORRECT);
	ck_assert(token_flags() & CKF_SO_PIN_LOCKED);
	CK_RV_IS(p11->C_Login(h, CKU_SO, PIN(SO_PIN)), CKR_PIN_LOCKED);
}
END_TEST

START_TEST(set_pin)
{
	CK_SESSION_HANDLE ro, rw;

	t_init_user();
	ro = t_open(false);
	rw = t_open(true);
	CK_RV_IS(p11->C_SetPIN(ro, PIN(USER_PIN), PIN("next-pin")), CKR_SESSION_READ_ONLY);
	CK_RV_IS(p11->C_SetPIN(rw, PIN(USER_PIN), PIN("n")), CKR_PIN_LEN_RANGE);
	CK_RV_IS(p11->C_SetPIN(rw, NULL, 3, PIN("next-pin")), CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_SetPIN(rw, PIN("not-the-pin"), PIN("next-pin")), CKR_PIN_INCORRECT);
	CK_OK(p11->C_SetPIN(rw, PIN(USER_PIN), PIN("next-pin")));
	CK_RV_IS(p11->C_Login(rw, CKU_USER, PIN(USER_PIN)), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(rw, CKU_USER, PIN("next-pin")));
	/* Logged in as user: changes the user PIN. */
	CK_OK(p11->C_SetPIN(rw, PIN("next-pin"), PIN("third-pin")));
	CK_OK(p11->C_Logout(rw));
	CK_OK(p11->C_Login(rw, CKU_USER, PIN("third-pin")));
	CK_OK(p11->C_Logout(rw));
	CK_OK(p11->C_CloseSession(ro));
	/* Logged in as SO: changes the SO PIN. */
	CK_OK(p11->C_Login(rw, CKU_SO, PIN(SO_PIN)));
	CK_OK(p11->C_SetPIN(rw, PIN(SO_PIN), PIN("so-pin-two")));
	CK_OK(p11->C_Logout(rw));
	CK_RV_IS(p11->C_Login(rw, CKU_SO, PIN(SO_PIN)), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(rw, CKU_SO, PIN("so-pin-two")));
}
END_TEST

/* Does any file of the token directory (or any value of the PostgreSQL
 * store) contain @needle? */
static bool dir_contains(const char *needle)
{
	const char *dir = getenv("HSMGROUP_TOKEN_DIR");
	size_t nl = strlen(needle), n, i;
	char path[512], *buf;
	struct dirent *de;
	bool found = false;
	FILE *f;
	DIR *d;

	if (t_pg())
		return t_pg_contains(needle);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && !found) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		buf = malloc(1 << 22);
		n = fread(buf, 1, 1 << 22, f);
		fclose(f);
		for (i = 0; i + nl <= n && !found; i++)
			found = !memcmp(buf + i, needle, nl);
		free(buf);
	}
	closedir(d);
	return found;
}

START_TEST(pins_not_stored)
{
	CK_SESSION_HANDLE h = t_user_session(true);

	CK_OK(p11->C_CloseSession(h));
	CK_OK(p11->C_Finalize(NULL)); /* checkpoint the WAL */
	ck_assert(!dir_contains(USER_PIN));
	ck_assert(!dir_contains(SO_PIN));
	ck_assert(dir_contains("unit"));
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

/* A PIN record from the store that asks for more PBKDF2 rounds than any
 * configuration can set (10^7, seconds of work) is refused at once instead
 * of hanging the login. */
START_TEST(pin_record_iterations_bounded)
{
	static const CK_UTF8CHAR pin[] = "123456";
	struct shim_pin_record r;
	struct shim_config c = {.pin_iterations = 1000};

	ck_assert_int_eq(shim_pin_make(&c, pin, 6, &r), CKR_OK);
	ck_assert(shim_pin_matches(&r, pin, 6));
	ck_assert(!shim_pin_matches(&r, (const CK_UTF8CHAR *)"654321", 6));
	r.iterations = SHIM_PIN_MAX_ITERATIONS + 1;
	ck_assert(!shim_pin_matches(&r, pin, 6));
	r.iterations = 0;
	ck_assert(!shim_pin_matches(&r, pin, 6));
}
END_TEST

START_TEST(session_limits)
{
	CK_SESSION_HANDLE h;

	CK_RV_IS(p11->C_OpenSession(t_slot(), CKF_RW_SESSION, NULL, NULL, &h),
		 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	CK_RV_IS(p11->C_OpenSession(t_slot(), CKF_SERIAL_SESSION, NULL, NULL, NULL),
		 CKR_ARGUMENTS_BAD);
	CK_RV_IS(p11->C_OpenSession(77, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SLOT_ID_INVALID);
	CK_RV_IS(p11->C_CloseSession(12345), CKR_SESSION_HANDLE_INVALID);
	CK_RV_IS(p11->C_CloseAllSessions(77), CKR_SLOT_ID_INVALID);
	h = t_open(false);
	CK_OK(p11->C_CloseSession(h));
	CK_RV_IS(p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

/*
 * The store interface: a location "NAME:" chooses an implementation,
 * "sqlite:DIR" and DIR are the same SQLite store, an unknown NAME is
 * refused and a store of another MKVP does not open.
 */
START_TEST(store_locations)
{
	char dir[] = "/tmp/hsmg-store.XXXXXX", loc[64];
	uint8_t mkvp[HSMG_MKVP_LEN] = {1, 2, 3}, other[HSMG_MKVP_LEN] = {9}, label[32];
	struct shim_pin_record so = {.version = 1, .iterations = 1};
	struct shim_store *s = NULL;
	char cmd[96];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(loc, sizeof(loc), "sqlite:%s", dir);
	CK_RV_IS(shim_store_open("nosuch:/x", mkvp, &s), CKR_ARGUMENTS_BAD);
	ck_assert_ptr_null(s);
	CK_OK(shim_store_open(loc, mkvp, &s));
	ck_assert_ptr_eq(s->ops, &shim_store_sqlite);
	ck_assert(!shim_store_initialized(s, label));
	memset(label, 'L', sizeof(label));
	CK_OK(shim_store_init_token(s, label, &so));
	shim_store_close(s);
	s = NULL;
	/* The same database through the plain directory. */
	CK_OK(shim_store_open(dir, mkvp, &s));
	memset(label, 0, sizeof(label));
	ck_assert(shim_store_initialized(s, label));
	ck_assert_int_eq(label[0], 'L');
	shim_store_close(s);
	s = NULL;
	/* Another MKVP names another database: not initialized. */
	CK_OK(shim_store_open(loc, other, &s));
	ck_assert(!shim_store_initialized(s, label));
	shim_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The mode of @path (permission bits and setgid). */
static unsigned int mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (unsigned int)(st.st_mode & 07777);
}

/*
 * The store is for group hsmgroup only, whatever the umask: the directory
 * 2770, the database and SQLite's -wal and -shm 0660; a store made wider
 * before is narrowed when opened by its owner.
 */
START_TEST(store_file_modes)
{
	char dir[] = "/tmp/hsmg-modes.XXXXXX", sub[64], db[256], side[272], cmd[96];
	uint8_t mkvp[HSMG_MKVP_LEN] = {0xab}, label[32];
	struct shim_pin_record so = {.version = 1, .iterations = 1};
	struct shim_store *s = NULL;
	mode_t old;
	int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/store", dir);
	snprintf(db, sizeof(db), "%s/token-ab", sub);
	for (i = 1; i < HSMG_MKVP_LEN; i++)
		strcat(db, "00");
	strcat(db, ".db");
	old = umask(0);
	CK_OK(shim_store_open(sub, mkvp, &s));
	memset(label, 'L', sizeof(label));
	CK_OK(shim_store_init_token(s, label, &so));
	ck_assert_uint_eq(mode_of(sub), 02770);
	ck_assert_uint_eq(mode_of(db), 0660);
	snprintf(side, sizeof(side), "%s-wal", db);
	ck_assert_uint_eq(mode_of(side), 0660);
	snprintf(side, sizeof(side), "%s-shm", db);
	ck_assert_uint_eq(mode_of(side), 0660);
	shim_store_close(s);
	s = NULL;
	umask(old);
	ck_assert_int_eq(chmod(db, 0666), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	CK_OK(shim_store_open(sub, mkvp, &s));
	ck_assert_uint_eq(mode_of(db), 0660);
	ck_assert_uint_eq(mode_of(sub), 0770);
	shim_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-token");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, token_uninitialized);
	tcase_add_test(tc, token_init);
	tcase_add_test(tc, token_persists);
	tcase_add_test(tc, login_user);
	tcase_add_test(tc, last_close_logs_out);
	tcase_add_test(tc, so_rules);
	tcase_add_test(tc, pin_lockout);
	tcase_add_test(tc, pin_success_resets_count);
	tcase_add_test(tc, so_pin_lockout);
	tcase_add_test(tc, set_pin);
	tcase_add_test(tc, pins_not_stored);
	tcase_add_test(tc, session_limits);
	tcase_add_test(tc, pin_record_iterations_bounded);
	tcase_add_test(tc, store_locations);
	tcase_add_test(tc, store_file_modes);
	suite_add_tcase(s, tc);
	return t_run(s);
}
