/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mock_transport - a shim transport (libp11shim/transport.h) that plays the
 * kernel module with one emulated card (lib/card) in-process:
 * one group (id MOCK_GROUP_ID), kernel sessions, login, submit.
 */
#ifndef MOCK_TRANSPORT_H
#define MOCK_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

#define MOCK_GROUP_ID 7

extern const struct shim_transport_ops mock_transport_ops;

/* Failed logins after which the mock's cards lock a PIN. */
#define MOCK_PIN_MAX_FAILURES	  3
#define MOCK_PIN_MAX_FAILURES_STR "3"

/* Knobs, read at each call. */
extern bool mock_open_fails;		 /* open() gives -ENOENT */
extern uint32_t mock_nonline;		 /* members online (0 = token not present) */
extern unsigned int mock_submits;	 /* requests submitted so far */
extern unsigned int mock_logins;	 /* successful kernel logins */
extern unsigned int mock_cardpin_logins; /* ... of them with a card-PIN (VHSM) */
extern unsigned int mock_open_sessions;	 /* kernel sessions open now */
extern unsigned int mock_forked_calls;	 /* forked() ran (in a forked child) */
extern unsigned int mock_delay_us;	 /* added to every submit (concurrency) */
extern unsigned int mock_max_parallel;	 /* most submits seen at once */
extern unsigned int mock_in_card;	 /* submits inside the card now */
extern unsigned int mock_rendezvous;	 /* submits wait until this many are inside */
extern int mock_submit_errno;		 /* != 0: every submit fails with it */
/*
 * Hold time the group reports (0: none reported, as an old kernel).  With
 * one, a submit while no member is online waits up to that long for
 * mock_set_online() to bring one back, then fails with -ENODEV; the group
 * reports how long it has had no member online.
 */
extern unsigned int mock_hold_ms;

/*
 * Kernel events (wait_event): an eventfd that mock_set_online() and
 * mock_event() make readable.  mock_no_events: wait_event answers
 * -EOPNOTSUPP, as with a kernel without them (the shim polls).
 * mock_event_waits: blocking wait_event calls so far;
 * mock_wake_fd_wakeups: of them, those that found the shim's wake_fd readable.
 */
extern bool mock_no_events;
extern unsigned int mock_event_waits, mock_wake_fd_wakeups;
void mock_event(void);

/*
 * Set the members online (like mock_nonline = n) and note when none is; an
 * event, as the kernel's.
 */
void mock_set_online(uint32_t n);

/*
 * Failover: serve every later request by a SECOND emulated card with the
 * same master key (the first one is freed, as if it died): sessions stay
 * logged in (the kernel logs them in on the new member), state and key
 * blobs made by the first card must keep working.
 */
void mock_failover(void);

/*
 * A slow member for logins: after mock_login_hold(), every login() waits
 * inside (counted in mock_logins_waiting) until mock_login_release(), or
 * 20 s as a safety valve (mock_login_valve then counts it: a test that
 * waited for it has failed).
 */
extern unsigned int mock_logins_waiting, mock_login_valve;
void mock_login_hold(void);
void mock_login_release(void);

/* Free the card (tests call it in teardown). */
void mock_transport_reset(void);

#endif
