// SPDX-License-Identifier: GPL-2.0
/*
 * C_WaitForSlotEvent driven by events (mock transport): a blocked waiter
 * returns on the transport's event, on the hold time running out (which no
 * event announces), and at once on C_Finalize (through the shim's wake
 * descriptor); each slot event goes to one of several waiters; without
 * kernel events the shim polls the groups as before.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "mock_transport.h"

/* Caps only, never expectations: the machine may be slow. */
#define CAP_MS 20000

struct waiter {
	pthread_t th;
	CK_SLOT_ID slot;
	CK_RV rv;
	bool done;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->rv = p11->C_WaitForSlotEvent(0, &w->slot, NULL);
	__atomic_store_n(&w->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void start(struct waiter *w)
{
	w->done = false;
	ck_assert_int_eq(pthread_create(&w->th, NULL, wait_thread, w), 0);
}

static bool is_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_SEQ_CST);
}

/* Until @n waiters (of @nw) returned; false at the cap. */
static bool wait_done(struct waiter *w, int nw, int n)
{
	uint64_t end = now_ms() + CAP_MS;
	int i, k;

	for (;;) {
		for (i = 0, k = 0; i < nw; i++)
			k += is_done(&w[i]);
		if (k >= n)
			return true;
		if (now_ms() >= end)
			return false;
		sleep_ms(5);
	}
}

/* Until @n blocking waits on the transport began; false at the cap. */
static bool wait_event_waits(unsigned int n)
{
	uint64_t end = now_ms() + CAP_MS;

	while (__atomic_load_n(&mock_event_waits, __ATOMIC_SEQ_CST) < n) {
		if (now_ms() >= end)
			return false;
		sleep_ms(5);
	}
	return true;
}

static void drain_events(void)
{
	CK_SLOT_ID got;

	while (p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL) == CKR_OK)
		;
}

static bool token_present(CK_SLOT_ID slot)
{
	CK_SLOT_INFO si;

	ck_assert_uint_eq(p11->C_GetSlotInfo(slot, &si), CKR_OK);
	return (si.flags & CKF_TOKEN_PRESENT) != 0;
}

/* A waiter blocked on the transport's events returns with the slot. */
START_TEST(event_wakes_waiter)
{
	CK_SLOT_ID slot = t_slot();
	struct waiter w;

	drain_events();
	start(&w);
	ck_assert(wait_event_waits(1));
	mock_set_online(0);
	ck_assert(wait_done(&w, 1, 1));
	pthread_join(w.th, NULL);
	CK_OK(w.rv);
	ck_assert_uint_eq(w.slot, slot);
	ck_assert(!token_present(slot));
}
END_TEST

/* The hold time running out is no event: the waiter wakes itself. */
START_TEST(hold_expiry_wakes_waiter)
{
	CK_SLOT_ID slot = t_slot();
	struct waiter w;

	mock_hold_ms = 300;
	drain_events();
	mock_set_online(0);
	start(&w);
	ck_assert(wait_done(&w, 1, 1));
	pthread_join(w.th, NULL);
	CK_OK(w.rv);
	ck_assert_uint_eq(w.slot, slot);
	ck_assert(!token_present(slot));
}
END_TEST

/* C_Finalize wakes every waiter through the wake descriptor. */
START_TEST(finalize_wakes_event_waiters)
{
	struct waiter w[3];
	int i;

	drain_events();
	for (i = 0; i < 3; i++)
		start(&w[i]);
	ck_assert(wait_event_waits(3));
	CK_OK(p11->C_Finalize(NULL));
	/* C_Finalize returned: every waiter has left the module. */
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].th, NULL);
		ck_assert_uint_eq(w[i].rv, CKR_CRYPTOKI_NOT_INITIALIZED);
	}
	ck_assert_uint_ge(__atomic_load_n(&mock_wake_fd_wakeups, __ATOMIC_SEQ_CST), 1);
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

/* One slot event, two waiters: one gets it, the other the next one. */
START_TEST(event_goes_to_one_waiter)
{
	CK_SLOT_ID slot = t_slot(), got;
	struct waiter w[2];
	int first;

	drain_events();
	start(&w[0]);
	start(&w[1]);
	ck_assert(wait_event_waits(2));
	mock_set_online(0);
	ck_assert(wait_done(w, 2, 1));
	first = is_done(&w[0]) ? 0 : 1;
	pthread_join(w[first].th, NULL);
	CK_OK(w[first].rv);
	ck_assert_uint_eq(w[first].slot, slot);
	/* Taken: no one else gets it. */
	CK_RV_IS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL), CKR_NO_EVENT);
	mock_set_online(1);
	ck_assert(wait_done(w, 2, 2));
	pthread_join(w[!first].th, NULL);
	CK_OK(w[!first].rv);
	ck_assert_uint_eq(w[!first].slot, slot);
	ck_assert(token_present(slot));
}
END_TEST

/* A token change seen by another call (GetSlotInfo) wakes a waiter too. */
START_TEST(change_seen_by_other_call_wakes_waiter)
{
	CK_SLOT_ID slot = t_slot();
	struct waiter w;

	drain_events();
	start(&w);
	ck_assert(wait_event_waits(1));
	/* No transport event: only the listing of GetSlotInfo sees it. */
	__atomic_store_n(&mock_nonline, 0, __ATOMIC_SEQ_CST);
	ck_assert(!token_present(slot));
	ck_assert(wait_done(&w, 1, 1));
	pthread_join(w.th, NULL);
	CK_OK(w.rv);
	ck_assert_uint_eq(w.slot, slot);
}
END_TEST

/* A kernel without events: polled, and C_Finalize still ends the wait. */
START_TEST(no_kernel_events_polls)
{
	CK_SLOT_ID slot = t_slot();
	struct waiter w;

	mock_no_events = true;
	drain_events();
	start(&w);
	sleep_ms(50); /* not needed for the result: a chance to block */
	mock_set_online(0);
	ck_assert(wait_done(&w, 1, 1));
	pthread_join(w.th, NULL);
	CK_OK(w.rv);
	ck_assert_uint_eq(w.slot, slot);
	ck_assert_uint_eq(__atomic_load_n(&mock_event_waits, __ATOMIC_SEQ_CST), 0);

	start(&w);
	sleep_ms(50);
	CK_OK(p11->C_Finalize(NULL));
	pthread_join(w.th, NULL);
	ck_assert_uint_eq(w.rv, CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_OK(p11->C_Initialize(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-slotevent");
	TCase *tc = tcase_create("slotevent");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, event_wakes_waiter);
	tcase_add_test(tc, hold_expiry_wakes_waiter);
	tcase_add_test(tc, finalize_wakes_event_waiters);
	tcase_add_test(tc, event_goes_to_one_waiter);
	tcase_add_test(tc, change_seen_by_other_call_wakes_waiter);
	tcase_add_test(tc, no_kernel_events_polls);
	suite_add_tcase(s, tc);
	return t_run(s);
}
