// SPDX-License-Identifier: GPL-2.0
/*
 * Token presence with a hold time (mock transport): while no member is
 * online, calls wait the hold time and then fail with CKR_DEVICE_ERROR; the
 * slot then reports no token (CKF_TOKEN_PRESENT clear, CKR_TOKEN_NOT_PRESENT
 * at once) until a member returns, and the same logged-in session goes on
 * working.  C_WaitForSlotEvent reports each change; syslog gets HA events.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "mock_transport.h"

/* The shim's syslog() calls land here (this object is linked before libc). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char ha_log[8192];

void syslog(int pri, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (strstr(line, "HA: ") && (pri & LOG_PRIMASK) == LOG_NOTICE &&
	    strlen(ha_log) + strlen(line) + 2 < sizeof(ha_log)) {
		strcat(ha_log, line);
		strcat(ha_log, "\n");
	}
	pthread_mutex_unlock(&log_lock);
}

static bool logged(const char *what)
{
	bool r;

	pthread_mutex_lock(&log_lock);
	r = strstr(ha_log, what) != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

static void clear_log(void)
{
	pthread_mutex_lock(&log_lock);
	ha_log[0] = 0;
	pthread_mutex_unlock(&log_lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool token_present(CK_SLOT_ID slot)
{
	CK_SLOT_INFO si;

	ck_assert_uint_eq(p11->C_GetSlotInfo(slot, &si), CKR_OK);
	return (si.flags & CKF_TOKEN_PRESENT) != 0;
}

/* Drain the events so far (the initial presence). */
static void drain_events(void)
{
	CK_SLOT_ID got;

	while (p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL) == CKR_OK)
		;
}

/* A private key's signature works in @h (the session is logged in). */
static CK_RV sign_in(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	CK_BYTE data[] = "presence", sig[64];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	rv = p11->C_SignInit(h, &m, key);
	if (rv != CKR_OK)
		return rv;
	return p11->C_Sign(h, data, sizeof(data) - 1, sig, &len);
}

static CK_OBJECT_HANDLE gen_hmac_key(CK_SESSION_HANDLE h)
{
	CK_MECHANISM m = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	};
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;

	CK_OK(p11->C_GenerateKey(h, &m, t, 2, &k));
	return k;
}

/*
 * No member: a call waits the hold time, then CKR_DEVICE_ERROR; then no
 * token at once; a member returns: the same session signs with its key.
 */
START_TEST(hold_then_absent_then_back)
{
	CK_SLOT_ID slot = t_slot(), got;
	CK_SESSION_HANDLE h = t_user_session(true), h2;
	CK_OBJECT_HANDLE key = gen_hmac_key(h);
	CK_TOKEN_INFO ti;
	uint8_t buf[8];
	uint64_t t0, dt;

	mock_hold_ms = 300;
	CK_OK(sign_in(h, key));
	drain_events();
	clear_log();

	mock_set_online(0);
	/* Within the hold time the token is still there. */
	ck_assert(token_present(slot));
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL), CKR_NO_EVENT);
	t0 = now_ms();
	CK_RV_IS(p11->C_GenerateRandom(h, buf, sizeof(buf)), CKR_DEVICE_ERROR);
	dt = now_ms() - t0;
	ck_assert_msg(dt >= 250, "failed after %llu ms, before the hold time",
		      (unsigned long long)dt);
	/* Then no token, at once, until a member returns. */
	ck_assert(!token_present(slot));
	CK_RV_IS(p11->C_GenerateRandom(h, buf, sizeof(buf)), CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(sign_in(h, key), CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h2),
		 CKR_TOKEN_NOT_PRESENT);
	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL));
	ck_assert_uint_eq(got, slot);
	ck_assert_msg(logged("token gone"), "no HA event for the token gone: %s", ha_log);

	mock_set_online(1);
	CK_OK(p11->C_WaitForSlotEvent(0, &got, NULL));
	ck_assert_uint_eq(got, slot);
	ck_assert(token_present(slot));
	/* The same session, still logged in, with the same key. */
	CK_OK(sign_in(h, key));
	CK_OK(p11->C_GenerateRandom(h, buf, sizeof(buf)));
	CK_OK(p11->C_GetTokenInfo(slot, &ti));
	ck_assert_msg(logged("token present again"), "no HA event for the return: %s", ha_log);
}
END_TEST

/* C_Login with no token fails at once, counts no wrong PIN, and works once
 * a member is back. */
START_TEST(login_without_token)
{
	CK_SLOT_ID slot = t_slot();
	CK_SESSION_HANDLE h;
	CK_TOKEN_INFO ti;

	t_init_user();
	h = t_open(true);
	mock_set_online(0); /* hold time 0: no token at once */
	CK_RV_IS(p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
		 CKR_TOKEN_NOT_PRESENT);
	CK_RV_IS(p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "wrong-pin", 9),
		 CKR_TOKEN_NOT_PRESENT);
	mock_set_online(1);
	CK_OK(p11->C_GetTokenInfo(slot, &ti));
	ck_assert(!(ti.flags & CKF_USER_PIN_COUNT_LOW));
	CK_OK(p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
}
END_TEST

static void *bring_back(void *arg)
{
	struct timespec ts = {0, 200 * 1000000L};

	(void)arg;
	nanosleep(&ts, NULL);
	mock_set_online(1);
	return NULL;
}

/* A member back within the hold time: the call succeeds, no event. */
START_TEST(member_back_within_hold)
{
	CK_SLOT_ID slot = t_slot(), got;
	CK_SESSION_HANDLE h = t_user_session(true);
	CK_OBJECT_HANDLE key = gen_hmac_key(h);
	pthread_t th;

	mock_hold_ms = 10000;
	drain_events();
	clear_log();
	mock_set_online(0);
	ck_assert_int_eq(pthread_create(&th, NULL, bring_back, NULL), 0);
	CK_OK(sign_in(h, key));
	pthread_join(th, NULL);
	ck_assert(token_present(slot));
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL), CKR_NO_EVENT);
	ck_assert_msg(!logged("token gone"), "token reported gone within the hold time");
}
END_TEST

/* Calls waiting in several threads all fail after the hold time. */
struct waiter {
	CK_SESSION_HANDLE h;
	CK_RV rv;
};

static void *random_call(void *arg)
{
	struct waiter *w = arg;
	uint8_t buf[8];

	w->rv = p11->C_GenerateRandom(w->h, buf, sizeof(buf));
	return NULL;
}

START_TEST(inflight_calls_fail_after_hold)
{
	CK_SESSION_HANDLE h = t_user_session(true);
	struct waiter w[4];
	pthread_t th[4];
	int i;

	mock_hold_ms = 300;
	mock_set_online(0);
	for (i = 0; i < 4; i++) {
		w[i].h = h;
		ck_assert_int_eq(pthread_create(&th[i], NULL, random_call, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		/* Waited and failed, or came after the slot was marked absent. */
		ck_assert_msg(w[i].rv == CKR_DEVICE_ERROR || w[i].rv == CKR_TOKEN_NOT_PRESENT,
			      "thread %d: 0x%lx", i, (unsigned long)w[i].rv);
	}
	mock_set_online(2);
	random_call(&w[0]);
	CK_OK(w[0].rv);
}
END_TEST

/* Members online changing is an HA event in syslog. */
START_TEST(member_count_logged)
{
	CK_SLOT_ID slot = t_slot();

	clear_log();
	mock_set_online(3);
	ck_assert(token_present(slot));
	ck_assert_msg(logged("3 of 1 members online (was 1)"), "log: %s", ha_log);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-presence");
	TCase *tc = tcase_create("presence");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hold_then_absent_then_back);
	tcase_add_test(tc, member_back_within_hold);
	tcase_add_test(tc, inflight_calls_fail_after_hold);
	tcase_add_test(tc, member_count_logged);
	tcase_add_test(tc, login_without_token);
	suite_add_tcase(s, tc);
	return t_run(s);
}
