// SPDX-License-Identifier: GPL-2.0
/*
 * Queues (member records): allocation, the state machine and its
 * transitions, admin holds, and the per-member accounting the scheduler
 * reads.  Health (watchdog, heartbeat, probes, damping) is in health.c, the
 * provider side (attach, fetch, complete) in provider.c.
 */
#include "main.h"

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>

#include "event.h"
#include "group.h"
#include "health.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

static const char *const hsmg_state_names[] = {
	[HSMG_QS_ONLINE] = "online",
	[HSMG_QS_SUSPECT] = "suspect",
	[HSMG_QS_OFFLINE] = "offline",
	[HSMG_QS_RECOVERING] = "recovering",
	[HSMG_QS_DRAINING] = "draining",
	[HSMG_QS_STANDBY] = "standby",
	[HSMG_QS_DISABLED] = "disabled",
	[HSMG_QS_MISMATCH] = "mismatch",
};

const char *hsmg_queue_state_name(u32 state)
{
	if (state < ARRAY_SIZE(hsmg_state_names))
		return hsmg_state_names[state];
	return "unknown";
}

struct hsmg_queue *hsmg_queue_alloc(u32 adapter, u32 domain)
{
	struct hsmg_queue *q = kzalloc(sizeof(*q), GFP_KERNEL);

	if (!q)
		return NULL;
	q->adapter = adapter;
	q->domain = domain;
	q->state = HSMG_QS_OFFLINE;
	/* Never picked: long enough ago to take the next tie (sched.c). */
	q->picked_at = jiffies - HZ;
	INIT_LIST_HEAD(&q->group_node);
	INIT_LIST_HEAD(&q->pending);
	INIT_LIST_HEAD(&q->inflight);
	INIT_LIST_HEAD(&q->logins);
	hsmg_health_init(q);
	return q;
}

/* hsmg_queue_free - at module unload; the queue is detached. */
void hsmg_queue_free(struct hsmg_queue *q)
{
	cancel_delayed_work_sync(&q->watchdog);
	cancel_delayed_work_sync(&q->recovery);
	WARN_ON_ONCE(!list_empty(&q->pending) || !list_empty(&q->inflight) ||
		     !list_empty(&q->logins));
	kfree(q);
}

/*
 * hsmg_queue_visible_state - the state listings report: an online standby
 * member idles as STANDBY while an active member is online.
 */
u32 hsmg_queue_visible_state(struct hsmg_queue *q)
{
	if (q->state == HSMG_QS_ONLINE && q->standby &&
	    hsmg_sched_active_online(q->group))
		return HSMG_QS_STANDBY;
	return q->state;
}

/*
 * hsmg_queue_check_drained - a draining member with no work left is
 * disabled.  Group lock held (the scheduler calls it).
 */
void hsmg_queue_check_drained(struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	if (q->state == HSMG_QS_DRAINING && !q->npending && !q->ninflight)
		hsmg_queue_set_state(q, HSMG_QS_DISABLED, "drained");
}

static u32 hsmg_ewma_us(u32 avg, u64 us)
{
	u32 v = min_t(u64, us, U32_MAX);

	return avg ? (u32)(((u64)avg * 7 + v) / 8) : v;
}

/*
 * hsmg_queue_account_latency - @req was answered successfully: its attempt's
 * time since dispatch and its card's time since fetch (group lock).
 */
void hsmg_queue_account_latency(struct hsmg_queue *q, struct hsmg_request *req)
{
	u64 now = ktime_get_ns();
	u64 us = div_u64(now - req->assigned_ns, NSEC_PER_USEC);
	u32 *card = &q->card_us[req->op_class < HSMG_OP_NR ? req->op_class : 0];

	lockdep_assert_held(&q->group->lock);
	q->lat_total_us += us;
	q->lat_avg_us = hsmg_ewma_us(q->lat_avg_us, us);
	if (req->fetched_ns) {
		us = div_u64(now - req->fetched_ns, NSEC_PER_USEC);
		WRITE_ONCE(*card, hsmg_ewma_us(*card, us));
	}
}

/*
 * hsmg_busy_poll - spin until @cond(@arg) holds, for at most busy_poll_us,
 * and only while nothing else wants this CPU (as KVM's halt polling and the
 * network stack's busy polling do).  A card that answers within a few
 * microseconds is then served without the two cross-CPU wake-ups a sleeping
 * client and a sleeping card worker cost: one for the worker to take the
 * request, one for the client to take the answer.  @cond must not sleep; it
 * is a hint read without the group lock, the caller takes the lock after.
 * Return: @cond held.
 */
bool hsmg_busy_poll(bool (*cond)(void *arg), void *arg)
{
	u32 window = READ_ONCE(hsmg_busy_poll_us);
	u64 end;

	if (!window)
		return false;
	end = local_clock() + (u64)window * NSEC_PER_USEC;
	for (;;) {
		if (cond(arg))
			return true;
		if (need_resched() || !single_task_running() ||
		    signal_pending(current) || local_clock() > end)
			return false;
		cpu_relax();
	}
}

/**
 * hsmg_queue_admin - what an administrator sets for @q.
 * @q: the member.
 * @admin: enum hsmg_admin_state, or HSMG_ADMIN_NONE to leave it.
 * @speed: new speed (1..10000), or 0 to leave it.
 *
 * ONLINE lifts an admin hold (a draining or disabled member logs in the
 * sessions it lacks and goes online); DRAIN stops new work and disables the
 * member once its work is done; DISABLE takes it out at once; STANDBY and
 * ACTIVE set the role and lift the hold.  A member that is suspect, offline
 * or in mismatch keeps that state; the hold applies when it recovers.
 *
 * Return: 0.
 */
int hsmg_queue_admin(struct hsmg_queue *q, u32 admin, u32 speed)
{
	struct hsmg_group *g = q->group;
	const char *what = NULL;

	spin_lock(&g->lock);
	if (speed) {
		q->admin_speed = speed;
		q->speed = speed;
		what = "weight set by admin";
	}
	switch (admin) {
	case HSMG_ADMIN_STANDBY:
	case HSMG_ADMIN_ACTIVE:
		q->role_override = admin;
		q->standby = admin == HSMG_ADMIN_STANDBY;
		fallthrough;
	case HSMG_ADMIN_ONLINE:
		what = admin == HSMG_ADMIN_STANDBY ? "standby by admin" :
		       admin == HSMG_ADMIN_ACTIVE ? "active by admin" :
		       "online by admin";
		q->admin = HSMG_ADMIN_NONE;
		/*
		 * An administrator's word ends flap damping and a probing that
		 * ran out of retries (recovery_retries): probe now, with the
		 * backoff from its start.
		 */
		q->damp_armed = false;
		q->damped = false;
		if (q->attached && q->state == HSMG_QS_SUSPECT) {
			q->probes = 0;
			q->probe_interval =
				max(1U, hsmg_policy(q->group,
						    HSMG_POLICY_A_RECOVERY_INTERVAL_MS));
			mod_delayed_work(system_wq, &q->recovery, 0);
		}
		if (q->attached && (q->state == HSMG_QS_DISABLED ||
				    q->state == HSMG_QS_DRAINING))
			hsmg_health_start_recovery(q, "enabled by admin");
		break;
	case HSMG_ADMIN_DRAIN:
		what = "drain by admin";
		q->admin = HSMG_ADMIN_DRAIN;
		if (q->state == HSMG_QS_ONLINE ||
		    q->state == HSMG_QS_RECOVERING)
			hsmg_queue_set_state(q, HSMG_QS_DRAINING,
					     "drain by admin");
		break;
	case HSMG_ADMIN_DISABLE:
		what = "disabled by admin";
		q->admin = HSMG_ADMIN_DISABLE;
		if (q->state == HSMG_QS_ONLINE ||
		    q->state == HSMG_QS_RECOVERING ||
		    q->state == HSMG_QS_DRAINING)
			hsmg_queue_set_state(q, HSMG_QS_DISABLED,
					     "disabled by admin");
		break;
	default:
		break;
	}
	if (what) {
		pr_info("queue %02x.%04x group %u: %s (state %s, role %s, weight %u)\n",
			q->adapter, q->domain, g->id, what,
			hsmg_queue_state_name(q->state),
			q->standby ? "standby" : "active", q->speed);
		hsmg_event_queue(q, HSMG_EVENT_ADMIN, q->state, q->state, what);
	}
	hsmg_sched_dispatch(g);
	wake_up_all(&g->state_wq);
	spin_unlock(&g->lock);
	return 0;
}

/* hsmg_queue_lookup - member record of adapter.domain, or NULL. */
struct hsmg_queue *hsmg_queue_lookup(u32 adapter, u32 domain)
{
	struct hsmg_queue *q;

	if (adapter > 255 || domain > 255)
		return NULL;
	mutex_lock(&hsmg_topology_lock);
	q = hsmg_group_member_lookup(HSMG_APQN(adapter, domain));
	mutex_unlock(&hsmg_topology_lock);
	return q;
}

/*
 * hsmg_queue_flush - the queue stops serving: its client requests go back to
 * the group.  Pinned requests fail, except that LOGOUT and PING stay while
 * @keep_pinned (a suspect queue may still answer them).
 */
static void hsmg_queue_flush(struct hsmg_queue *q, bool keep_pinned)
{
	struct hsmg_request *req, *tmp;
	LIST_HEAD(pending);
	LIST_HEAD(inflight);

	lockdep_assert_held(&q->group->lock);
	list_splice_init(&q->pending, &pending);
	list_splice_init(&q->inflight, &inflight);

	list_for_each_entry_safe(req, tmp, &pending, node) {
		if (req->pin && keep_pinned && req->type != HSMG_BE_REQ_LOGIN) {
			list_move_tail(&req->node, &q->pending);
			continue;
		}
		q->errors++;
		hsmg_request_requeue(req, false);
	}
	list_for_each_entry_safe(req, tmp, &inflight, node) {
		if (req->pin && keep_pinned && req->type != HSMG_BE_REQ_LOGIN) {
			list_move_tail(&req->node, &q->inflight);
			continue;
		}
		q->errors++;
		hsmg_request_requeue(req, true);
	}
}

/*
 * hsmg_queue_unassign - an admin took @q out of service: the client requests
 * it has not fetched go back to the group.  What the card fetched finishes
 * there (no request runs twice, NO_RETRY requests do not fail; a hung card
 * still loses them at their deadline), and so do pinned kernel requests.
 */
static void hsmg_queue_unassign(struct hsmg_queue *q)
{
	struct hsmg_request *req, *tmp;

	lockdep_assert_held(&q->group->lock);
	list_for_each_entry_safe(req, tmp, &q->pending, node)
		if (!req->pin)
			hsmg_request_requeue(req, false);
}

/*
 * hsmg_queue_set_state - change the state of @q, log and count it, and do
 * what the new state implies.  Group lock held; the caller dispatches.
 */
void hsmg_queue_set_state(struct hsmg_queue *q, enum hsmg_queue_state state,
			  const char *reason)
{
	enum hsmg_queue_state old = q->state;

	lockdep_assert_held(&q->group->lock);
	/* An admin hold keeps a member that recovers out of service. */
	if (state == HSMG_QS_ONLINE && q->admin != HSMG_ADMIN_NONE) {
		state = HSMG_QS_DISABLED;
		reason = q->admin == HSMG_ADMIN_DRAIN ? "drained by admin" :
						       "disabled by admin";
	}
	if (old == state)
		return;
	if ((old == HSMG_QS_ONLINE || old == HSMG_QS_RECOVERING ||
	     old == HSMG_QS_DRAINING) &&
	    (state == HSMG_QS_SUSPECT || state == HSMG_QS_OFFLINE))
		hsmg_health_flapped(q, old);
	q->state = state;
	q->transitions++;
	pr_info("queue %02x.%04x group %u: %s -> %s (%s)\n", q->adapter,
		q->domain, q->group->id, hsmg_queue_state_name(old),
		hsmg_queue_state_name(state), reason);
	hsmg_event_queue(q, HSMG_EVENT_STATE, old, state, reason);
	if (state == HSMG_QS_MISMATCH)
		hsmg_event_queue(q, HSMG_EVENT_MISMATCH, old, state, reason);

	switch (state) {
	case HSMG_QS_ONLINE:
		q->fail_streak = 0;
		q->probes = 0;
		q->online_at = jiffies;
		break;
	case HSMG_QS_SUSPECT:
		hsmg_queue_flush(q, true);
		q->probes = 0;
		q->unanswered = false;
		q->probe_interval =
			max(1U, hsmg_policy(q->group,
					    HSMG_POLICY_A_RECOVERY_INTERVAL_MS));
		mod_delayed_work(system_wq, &q->recovery,
				 msecs_to_jiffies(q->probe_interval));
		break;
	case HSMG_QS_OFFLINE:
		hsmg_queue_flush(q, false);
		hsmg_session_drop_queue(q, false);
		break;
	case HSMG_QS_MISMATCH:
		hsmg_queue_flush(q, true);
		hsmg_session_drop_queue(q, true);
		break;
	case HSMG_QS_DISABLED:
		/* Admin plane: no new work at once, logins kept. */
		hsmg_queue_unassign(q);
		break;
	default:
		/* RECOVERING; DRAINING finishes what it has, takes nothing. */
		break;
	}
	hsmg_group_update_online(q->group);
	wake_up_all(&q->group->state_wq);
}
