// SPDX-License-Identifier: GPL-2.0
/*
 * test_concurrency - the module lock is dropped while a request waits for
 * the card: 8 threads run 8 requests at once; a session closed while its
 * request waits, a second call on a busy operation, C_Finalize with
 * requests in flight; transport errors and the token going away.  C_Login
 * drops it too while it waits for a slow member: other threads sign
 * meanwhile; concurrent logins, a logout, a close and C_Finalize during a
 * login wait for it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "mock_transport.h"
#include "module.h"

#define NTHREADS 8
#define DELAY_US 200000

struct job {
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE k;
	CK_RV rv;
	int n;
};

static void *digest_job(void *arg)
{
	struct job *j = arg;
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	uint8_t md[32];
	CK_ULONG n = sizeof(md);

	j->rv = p11->C_DigestInit(j->h, &m);
	if (j->rv == CKR_OK)
		j->rv = p11->C_Digest(j->h, (CK_BYTE_PTR) "abc", 3, md, &n);
	if (j->rv == CKR_OK && (n != 32 || md[0] != 0xba))
		j->rv = CKR_GENERAL_ERROR;
	return NULL;
}

START_TEST(eight_at_once)
{
	pthread_t t[NTHREADS];
	struct job j[NTHREADS];
	int i;

	for (i = 0; i < NTHREADS; i++)
		j[i].h = t_open(false);
	/* Every submit waits until all 8 are inside: a shim that serialized
	 * them would show at most 1 there at a time. */
	mock_rendezvous = NTHREADS;
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, digest_job, &j[i]);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		CK_RV_IS(j[i].rv, CKR_OK);
	}
	ck_assert_uint_eq(mock_max_parallel, NTHREADS);
}
END_TEST

/* Many threads, many operations on their own sessions, results checked. */
static void *cipher_job(void *arg)
{
	struct job *j = arg;
	uint8_t iv[16] = {1}, in[100], ct[112], pt[112];
	CK_MECHANISM m = {CKM_AES_CBC_PAD, iv, 16};
	CK_ULONG n, k;
	int r;

	for (k = 0; k < sizeof(in); k++)
		in[k] = (uint8_t)(k + j->n);
	for (r = 0; r < 20; r++) {
		n = sizeof(ct);
		j->rv = p11->C_EncryptInit(j->h, &m, j->k);
		if (!j->rv)
			j->rv = p11->C_EncryptUpdate(j->h, in, 33, ct, &n);
		k = n;
		n = sizeof(ct) - k;
		if (!j->rv)
			j->rv = p11->C_EncryptUpdate(j->h, in + 33, 67, ct + k, &n);
		k += n;
		n = sizeof(ct) - k;
		if (!j->rv)
			j->rv = p11->C_EncryptFinal(j->h, ct + k, &n);
		k += n;
		n = sizeof(pt);
		if (!j->rv)
			j->rv = p11->C_DecryptInit(j->h, &m, j->k);
		if (!j->rv)
			j->rv = p11->C_Decrypt(j->h, ct, k, pt, &n);
		if (!j->rv && (n != sizeof(in) || memcmp(pt, in, n)))
			j->rv = CKR_GENERAL_ERROR;
		if (j->rv)
			break;
	}
	return NULL;
}

START_TEST(threads_correct)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_ENCRYPT, &yes, 1}};
	pthread_t th[NTHREADS];
	struct job j[NTHREADS];
	CK_OBJECT_HANDLE k;
	int i;

	CK_OK(p11->C_GenerateKey(h, &gen, t, 2, &k));
	mock_delay_us = 1000;
	for (i = 0; i < NTHREADS; i++) {
		j[i].h = t_open(false);
		j[i].k = k;
		j[i].n = i;
		pthread_create(&th[i], NULL, cipher_job, &j[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		CK_RV_IS(j[i].rv, CKR_OK);
	}
	ck_assert_uint_ge(mock_max_parallel, 2);
}
END_TEST

/* Until the request of digest_job is inside the card (not a guessed
 * time: on a loaded machine the thread may start late). */
static void wait_inside(void)
{
	while (!__atomic_load_n(&mock_in_card, __ATOMIC_SEQ_CST))
		usleep(1000);
}

START_TEST(close_while_waiting)
{
	struct job j = {.h = t_open(false)};
	uint8_t md[32];
	CK_ULONG n = sizeof(md);
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	pthread_t t;

	mock_delay_us = DELAY_US;
	pthread_create(&t, NULL, digest_job, &j);
	wait_inside();
	/* The operation is busy: a second call on it is refused. */
	CK_RV_IS(p11->C_Digest(j.h, (CK_BYTE_PTR) "x", 1, md, &n), CKR_OPERATION_ACTIVE);
	CK_RV_IS(p11->C_DigestInit(j.h, &m), CKR_OPERATION_ACTIVE);
	/* Other calls run while the card works. */
	CK_OK(p11->C_CloseSession(j.h));
	pthread_join(t, NULL);
	CK_RV_IS(j.rv, CKR_SESSION_CLOSED);
	CK_RV_IS(p11->C_DigestInit(j.h, &m), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

START_TEST(finalize_waits)
{
	struct job j = {.h = t_open(false)};
	pthread_t t;

	mock_delay_us = DELAY_US;
	pthread_create(&t, NULL, digest_job, &j);
	wait_inside();
	CK_OK(p11->C_Finalize(NULL));
	pthread_join(t, NULL);
	ck_assert(j.rv == CKR_SESSION_CLOSED || j.rv == CKR_OK);
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

START_TEST(device_errors)
{
	CK_SESSION_HANDLE h = t_open(false);
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot = t_slot(), list[2];
	CK_ULONG n = 2;
	uint8_t buf[8];

	mock_submit_errno = 110; /* ETIMEDOUT */
	CK_RV_IS(p11->C_GenerateRandom(h, buf, 8), CKR_DEVICE_ERROR);
	mock_submit_errno = 5; /* EIO */
	CK_RV_IS(p11->C_GenerateRandom(h, buf, 8), CKR_DEVICE_ERROR);
	mock_submit_errno = 0;
	/* No member online: ENODEV, and the slot has no token from then on. */
	mock_nonline = 0;
	CK_RV_IS(p11->C_GenerateRandom(h, buf, 8), CKR_DEVICE_ERROR);
	CK_RV_IS(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_TOKEN_NOT_PRESENT);
	CK_OK(p11->C_GetSlotList(CK_TRUE, list, &n));
	ck_assert_uint_eq(n, 0);
	/* A member returns. */
	mock_nonline = 1;
	CK_OK(p11->C_GetTokenInfo(slot, &ti));
}
END_TEST

/* ---------------------------------------------- login without the lock */

struct call_job {
	CK_SESSION_HANDLE h;
	CK_RV rv;
	int done;
};

static void *login_thread(void *arg)
{
	struct call_job *j = arg;

	j->rv = p11->C_Login(j->h, CKU_USER, PIN(USER_PIN));
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *logout_thread(void *arg)
{
	struct call_job *j = arg;

	j->rv = p11->C_Logout(j->h);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *close_thread(void *arg)
{
	struct call_job *j = arg;

	j->rv = p11->C_CloseSession(j->h);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *finalize_thread(void *arg)
{
	struct call_job *j = arg;

	j->rv = p11->C_Finalize(NULL);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Start a user login on a new session that waits inside the (held) member. */
static void start_held_login(struct call_job *j, pthread_t *t)
{
	j->h = t_open(false);
	j->done = 0;
	mock_login_hold();
	pthread_create(t, NULL, login_thread, j);
	/* Bounded by the mock's safety valve (then the test fails). */
	while (!__atomic_load_n(&mock_logins_waiting, __ATOMIC_SEQ_CST) && !mock_login_valve)
		usleep(1000);
	ck_assert_uint_eq(mock_logins_waiting, 1);
}

static CK_RV hmac_sign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	CK_BYTE mac[32];
	CK_ULONG n = sizeof(mac);
	CK_RV rv = p11->C_SignInit(h, &m, k);

	if (rv == CKR_OK)
		rv = p11->C_Sign(h, (CK_BYTE_PTR) "data", 4, mac, &n);
	if (rv == CKR_OK && n != sizeof(mac))
		rv = CKR_GENERAL_ERROR;
	return rv;
}

/* Issue 18: C_Login held the module lock through the kernel login. */
START_TEST(sign_during_login)
{
	CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	};
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE k;
	CK_SESSION_INFO si;
	struct call_job j;
	pthread_t th;
	int i;

	t_init_user();
	h = t_open(false);
	CK_OK(p11->C_GenerateKey(h, &gen, t, 3, &k));
	start_held_login(&j, &th);
	for (i = 0; i < 20; i++)
		CK_OK(hmac_sign(h, k));
	/* All 20 signed while the login still waits for its member. */
	ck_assert_int_eq(__atomic_load_n(&j.done, __ATOMIC_SEQ_CST), 0);
	ck_assert_uint_eq(mock_login_valve, 0);
	mock_login_release();
	pthread_join(th, NULL);
	CK_OK(j.rv);
	CK_OK(p11->C_GetSessionInfo(h, &si));
	ck_assert_uint_eq(si.state, CKS_RO_USER_FUNCTIONS);
	CK_OK(hmac_sign(h, k));
}
END_TEST

START_TEST(concurrent_logins)
{
	struct call_job a, b = {0};
	unsigned int logins;
	pthread_t ta, tb;

	t_init_user();
	logins = mock_logins;
	start_held_login(&a, &ta);
	b.h = t_open(false);
	pthread_create(&tb, NULL, login_thread, &b);
	usleep(10000); /* let b reach C_Login (either order must hold) */
	mock_login_release();
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CK_OK(a.rv);
	CK_RV_IS(b.rv, CKR_USER_ALREADY_LOGGED_IN);
	ck_assert_uint_eq(mock_logins - logins, 1);
	ck_assert_uint_eq(mock_logins_waiting, 1);
}
END_TEST

START_TEST(logout_during_login)
{
	struct call_job a, l = {0};
	CK_SESSION_INFO si;
	pthread_t ta, tl;

	t_init_user();
	l.h = t_open(false);
	start_held_login(&a, &ta);
	/* The logout comes after the login, which it waits for. */
	pthread_create(&tl, NULL, logout_thread, &l);
	usleep(10000);
	ck_assert_int_eq(__atomic_load_n(&l.done, __ATOMIC_SEQ_CST), 0);
	mock_login_release();
	pthread_join(ta, NULL);
	pthread_join(tl, NULL);
	CK_OK(a.rv);
	CK_OK(l.rv);
	CK_OK(p11->C_GetSessionInfo(l.h, &si));
	ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
}
END_TEST

START_TEST(close_during_login)
{
	struct call_job a, c = {0};
	CK_SESSION_HANDLE other;
	CK_SESSION_INFO si;
	pthread_t ta, tc;

	t_init_user();
	other = t_open(false);
	start_held_login(&a, &tc);
	ta = tc;
	c.h = a.h;
	pthread_create(&tc, NULL, close_thread, &c);
	usleep(10000);
	ck_assert_int_eq(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 0);
	mock_login_release();
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	CK_OK(a.rv);
	CK_OK(c.rv);
	/* The login is the application's: the other session has it. */
	CK_OK(p11->C_GetSessionInfo(other, &si));
	ck_assert_uint_eq(si.state, CKS_RO_USER_FUNCTIONS);
	CK_RV_IS(p11->C_GetSessionInfo(a.h, &si), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

START_TEST(finalize_during_login)
{
	struct call_job a, f = {0};
	pthread_t ta, tf;

	t_init_user();
	start_held_login(&a, &ta);
	pthread_create(&tf, NULL, finalize_thread, &f);
	/* Until C_Finalize began (it then waits for the login). */
	while (!__atomic_load_n(&shim_g.finalizing, __ATOMIC_SEQ_CST) && !mock_login_valve)
		usleep(1000);
	ck_assert_int_eq(__atomic_load_n(&f.done, __ATOMIC_SEQ_CST), 0);
	mock_login_release();
	pthread_join(ta, NULL);
	pthread_join(tf, NULL);
	CK_OK(f.rv);
	CK_RV_IS(a.rv, CKR_CRYPTOKI_NOT_INITIALIZED);
	ck_assert_uint_eq(mock_open_sessions, 0);
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-concurrency");
	TCase *tc = tcase_create("concurrency");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, eight_at_once);
	tcase_add_test(tc, threads_correct);
	tcase_add_test(tc, close_while_waiting);
	tcase_add_test(tc, finalize_waits);
	tcase_add_test(tc, device_errors);
	tcase_add_test(tc, sign_during_login);
	tcase_add_test(tc, concurrent_logins);
	tcase_add_test(tc, logout_during_login);
	tcase_add_test(tc, close_during_login);
	tcase_add_test(tc, finalize_during_login);
	suite_add_tcase(s, tc);
	return t_run(s);
}
