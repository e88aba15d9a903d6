// SPDX-License-Identifier: GPL-2.0
/*
 * Queues: attach/detach, states and their transitions, health, attempt
 * deadlines, recovery probing, and the provider side of requests (fetch,
 * complete).
 */
#include "main.h"

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/xarray.h>

#include "event.h"
#include "group.h"
#include "provider.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"
#include "sysfs.h"

/* Queue id -> attached queue.  Ids are cyclic: new at every attach. */
static DEFINE_XARRAY_ALLOC1(hsmg_qid_xa);
static u32 hsmg_qid_next;

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

static void hsmg_queue_watchdog(struct work_struct *work);
static void hsmg_queue_recovery(struct work_struct *work);
static void hsmg_queue_flapped(struct hsmg_queue *q,
			       enum hsmg_queue_state old);

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
	INIT_DELAYED_WORK(&q->watchdog, hsmg_queue_watchdog);
	INIT_DELAYED_WORK(&q->recovery, hsmg_queue_recovery);
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

/* hsmg_queue_notify - tell the provider that work waits (group lock). */
void hsmg_queue_notify(struct hsmg_queue *q)
{
	if (q->ops && q->ops->notify)
		q->ops->notify(q, q->priv);
}

/* Keeps provider run() calls out of hsmg_queue_unregister()'s way. */
DEFINE_STATIC_SRCU(hsmg_run_srcu);

/*
 * hsmg_queue_runnable - the queue @req was just assigned to, if its provider
 * answers in the caller's context (ops->run), else NULL.  Group lock held.
 */
struct hsmg_queue *hsmg_queue_runnable(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->queue;

	if (req->state != HSMG_RS_PENDING || !q->ops || !q->ops->run)
		return NULL;
	return q;
}

/*
 * hsmg_queue_run - let the provider of @q answer in the caller's context.
 * No lock held; may sleep.
 */
void hsmg_queue_run(struct hsmg_queue *q)
{
	const struct hsmg_queue_ops *ops;
	void *priv;
	int idx;

	idx = srcu_read_lock(&hsmg_run_srcu);
	ops = READ_ONCE(q->ops);
	priv = READ_ONCE(q->priv);
	if (ops && ops->run && priv)
		ops->run(q, priv);
	srcu_read_unlock(&hsmg_run_srcu, idx);
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
			hsmg_queue_start_recovery(q, "enabled by admin");
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

/* hsmg_queue_arm_watchdog - make sure the watchdog runs by @deadline. */
void hsmg_queue_arm_watchdog(struct hsmg_queue *q, unsigned long deadline)
{
	unsigned long now = jiffies;

	if (q->wd_armed && !time_before(deadline, q->wd_at))
		return;
	q->wd_at = deadline;
	q->wd_armed = true;
	mod_delayed_work(system_wq, &q->watchdog,
			 time_after(deadline, now) ? deadline - now : 0);
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
		hsmg_queue_flapped(q, old);
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

/*
 * hsmg_queue_damp_hold - @q could rejoin now; a flapping member waits its
 * damping time first, as SUSPECT, and the recovery work probes it when the
 * time is up.  Returns whether it is held back.  Group lock held.
 */
static bool hsmg_queue_damp_hold(struct hsmg_queue *q)
{
	unsigned long now = jiffies;
	char why[HSMG_EVENT_REASON_LEN];

	if (q->damp_armed) {
		q->damp_armed = false;
		q->damped = true;
		q->damped_until = now + msecs_to_jiffies(q->damp_ms);
		snprintf(why, sizeof(why),
			 "flapping: %u failures in a row, rejoin in %u ms",
			 q->flaps, q->damp_ms);
		pr_warn("queue %02x.%04x group %u: %s\n", q->adapter,
			q->domain, q->group->id, why);
		hsmg_event_queue(q, HSMG_EVENT_DAMPED, q->state,
				 HSMG_QS_SUSPECT, why);
		hsmg_queue_set_state(q, HSMG_QS_SUSPECT, "damped: flapping");
	} else if (!q->damped || !time_before(now, q->damped_until)) {
		q->damped = false;
		return false;
	}
	mod_delayed_work(system_wq, &q->recovery, q->damped_until - now);
	return true;
}

/*
 * hsmg_queue_flapped - @q failed after serving (from @old).  A failure
 * within the stable time of its last rejoin is one more flap; from the
 * second in a row on, its next rejoin waits recovery_interval_ms, doubling
 * per flap up to recovery_backoff_max_ms (the stable time too).  Group lock.
 */
static void hsmg_queue_flapped(struct hsmg_queue *q,
			       enum hsmg_queue_state old)
{
	u32 base = max(1U, hsmg_policy(q->group,
				       HSMG_POLICY_A_RECOVERY_INTERVAL_MS));
	u32 max_ms = max(base, hsmg_policy(q->group,
					   HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS));

	if (old == HSMG_QS_ONLINE &&
	    time_after_eq(jiffies, q->online_at + msecs_to_jiffies(max_ms)))
		q->flaps = 0;
	q->flaps++;
	if (q->flaps < 2) {
		q->damp_ms = 0;
		return;
	}
	q->damp_ms = q->flaps - 2 >= 31 ? max_ms :
		     (u32)min_t(u64, (u64)base << (q->flaps - 2), max_ms);
	q->damp_armed = true;
}

/* Stable: online for the stable time since its last rejoin. */
static bool hsmg_queue_stable(struct hsmg_queue *q)
{
	u32 max_ms = hsmg_policy(q->group,
				 HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS);

	return q->state == HSMG_QS_ONLINE &&
	       time_after_eq(jiffies, q->online_at + msecs_to_jiffies(max_ms));
}

/* hsmg_queue_flaps - flaps in a row, 0 once stable.  Group lock held. */
u32 hsmg_queue_flaps(struct hsmg_queue *q)
{
	return hsmg_queue_stable(q) ? 0 : q->flaps;
}

/* hsmg_queue_damp_ms - damping of the next (or last) rejoin.  Lock held. */
u32 hsmg_queue_damp_ms(struct hsmg_queue *q)
{
	return hsmg_queue_stable(q) ? 0 : q->damp_ms;
}

/* hsmg_queue_damped_left_ms - ms until a damped member may rejoin. */
u32 hsmg_queue_damped_left_ms(struct hsmg_queue *q)
{
	unsigned long now = jiffies;

	if (q->damp_armed)
		return q->damp_ms;
	if (!q->damped || !time_before(now, q->damped_until))
		return 0;
	return jiffies_to_msecs(q->damped_until - now);
}

/*
 * hsmg_queue_start_recovery - log the group's live sessions in on @q, then
 * go online; a flapping member waits its damping time first.  Group lock.
 */
void hsmg_queue_start_recovery(struct hsmg_queue *q, const char *reason)
{
	if (hsmg_queue_damp_hold(q))
		return;
	hsmg_queue_set_state(q, HSMG_QS_RECOVERING, reason);
	if (!hsmg_session_recover_queue(q))
		hsmg_queue_set_state(q, HSMG_QS_ONLINE, "no sessions to log in");
}

/*
 * hsmg_queue_attempt_done - account an attempt of @q for its health: @ok, or
 * a transient failure, or @broken (suspect at once).  Group lock held.
 */
void hsmg_queue_attempt_done(struct hsmg_queue *q, bool ok, bool broken)
{
	q->requests++;
	if (ok) {
		q->fail_streak = 0;
		return;
	}
	q->errors++;
	q->fail_streak++;
	if (q->state != HSMG_QS_ONLINE && q->state != HSMG_QS_RECOVERING)
		return;
	if (broken)
		hsmg_queue_set_state(q, HSMG_QS_SUSPECT, "card reported failure");
	else if (q->fail_streak >=
		 max(1U, hsmg_policy(q->group, HSMG_POLICY_A_SUSPECT_THRESHOLD)))
		hsmg_queue_set_state(q, HSMG_QS_SUSPECT,
				     "consecutive failed attempts");
}

static bool hsmg_queue_expired(struct list_head *list, unsigned long now)
{
	struct hsmg_request *req;

	list_for_each_entry(req, list, node)
		if (time_after_eq(now, req->deadline))
			return true;
	return false;
}

static void hsmg_queue_expire_list(struct hsmg_queue *q, struct list_head *list,
				   unsigned long now)
{
	struct hsmg_request *req, *tmp;

	list_for_each_entry_safe(req, tmp, list, node) {
		if (!time_after_eq(now, req->deadline))
			continue;
		q->errors++;
		pr_debug("request %llx: attempt timed out on queue %02x.%04x\n",
			 req->tag, q->adapter, q->domain);
		if (req->pin)
			hsmg_request_finish(req, -ETIMEDOUT);
		else
			hsmg_request_requeue(req, req->state == HSMG_RS_INFLIGHT);
	}
}

static bool hsmg_queue_earliest(struct list_head *list, unsigned long *at)
{
	struct hsmg_request *req;
	bool found = false;

	list_for_each_entry(req, list, node) {
		if (!found || time_before(req->deadline, *at))
			*at = req->deadline;
		found = true;
	}
	return found;
}

static bool hsmg_queue_has_long(struct list_head *list, unsigned long by)
{
	struct hsmg_request *req;

	list_for_each_entry(req, list, node)
		if (time_after(req->deadline, by))
			return true;
	return false;
}

static void hsmg_queue_heartbeat_end(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->pin;

	if (q->heartbeat == req)
		q->heartbeat = NULL;
}

/*
 * Liveness of a member with a long attempt in flight: a key generation may
 * take keygen_timeout_ms, and while it runs the scheduler sends that member
 * little else, so a card that hangs then would go unnoticed for as long.
 * When such an attempt is in flight and the card has not answered anything
 * for request_timeout_ms, it gets a PING with the ordinary attempt deadline; an
 * unanswered PING times out like any attempt and makes the member suspect,
 * which sends the key generation to another member.  Only while the card
 * has room for it (max_inflight), so a busy card is not blamed.  Returns
 * when the watchdog should look again (0: no long attempt).
 */
static unsigned long hsmg_queue_heartbeat(struct hsmg_queue *q,
					  unsigned long now)
{
	unsigned long rt = hsmg_attempt_jiffies(q->group);
	struct hsmg_request *req;

	if (q->heartbeat || !q->attached ||
	    (q->state != HSMG_QS_ONLINE && q->state != HSMG_QS_DRAINING))
		return 0;
	if (!hsmg_queue_has_long(&q->pending, now + rt) &&
	    !hsmg_queue_has_long(&q->inflight, now + rt))
		return 0;
	if (time_before(now, q->alive_at + rt))
		return q->alive_at + rt;
	if (q->npending + q->ninflight >= q->max_inflight)
		return now + rt;
	req = hsmg_request_kernel(q, HSMG_BE_REQ_PING, 0, 0, NULL, 0);
	if (!req)
		return now + rt;
	req->end = hsmg_queue_heartbeat_end;
	q->heartbeat = req;
	pr_debug("queue %02x.%04x: no answer for %u ms during a long attempt, ping\n",
		 q->adapter, q->domain, jiffies_to_msecs(now - q->alive_at));
	hsmg_request_assign(req, q);
	return 0;
}

/*
 * Watchdog: an attempt past its deadline makes the queue suspect (which
 * re-dispatches its requests); what stays (LOGOUT/PING to a suspect queue)
 * fails.  A long attempt in flight gets a heartbeat (above).
 */
static void hsmg_queue_watchdog(struct work_struct *work)
{
	struct hsmg_queue *q = container_of(to_delayed_work(work),
					    struct hsmg_queue, watchdog);
	struct hsmg_group *g = q->group;
	unsigned long now = jiffies, at = 0, at2 = 0, hb;
	bool a, b;

	spin_lock(&g->lock);
	q->wd_armed = false;
	if (hsmg_queue_expired(&q->pending, now) ||
	    hsmg_queue_expired(&q->inflight, now)) {
		if (q->state == HSMG_QS_ONLINE ||
		    q->state == HSMG_QS_RECOVERING ||
		    q->state == HSMG_QS_DRAINING) {
			hsmg_queue_set_state(q, HSMG_QS_SUSPECT,
					     "attempt timed out");
			q->unanswered = true;
		}
		hsmg_queue_expire_list(q, &q->pending, now);
		hsmg_queue_expire_list(q, &q->inflight, now);
	}
	hb = hsmg_queue_heartbeat(q, now);
	a = hsmg_queue_earliest(&q->pending, &at);
	b = hsmg_queue_earliest(&q->inflight, &at2);
	if (b && (!a || time_before(at2, at)))
		at = at2;
	if (hb && (!(a || b) || time_before(hb, at)))
		at = hb;
	if (a || b || hb)
		hsmg_queue_arm_watchdog(q, at);
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
}

static void hsmg_queue_probe_end(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->pin;
	u32 max_ms, retries;

	if (q->probe == req)
		q->probe = NULL;
	if (q->state != HSMG_QS_SUSPECT)
		return;
	if (!req->result) {
		hsmg_queue_start_recovery(q, "probe answered");
		return;
	}
	q->probes++;
	q->unanswered = req->result == -ETIMEDOUT;
	retries = hsmg_policy(q->group, HSMG_POLICY_A_RECOVERY_RETRIES);
	if (retries && q->probes >= retries) {
		q->unanswered = false;
		pr_warn("queue %02x.%04x group %u: %u probes failed, stopped probing\n",
			q->adapter, q->domain, q->group->id, q->probes);
		return;
	}
	max_ms = max(1U, hsmg_policy(q->group,
				     HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS));
	q->probe_interval = min(q->probe_interval * 2, max_ms);
	mod_delayed_work(system_wq, &q->recovery,
			 msecs_to_jiffies(q->probe_interval));
}

/*
 * hsmg_queue_alive - @q's card called in (a fetch or an answer); group lock
 * held.  A member that went suspect because its card stopped answering is
 * probed at once: a card back from a hang (SIGSTOP, a stalled driver)
 * serves again within a round trip instead of at the next backoff step,
 * which may be recovery_backoff_max_ms away.  A card that answers with
 * errors is not probed faster (its probes fail with an answer, not by
 * timing out), and damping still holds a flapping one back.
 */
static void hsmg_queue_alive(struct hsmg_queue *q)
{
	if (!q->unanswered || q->state != HSMG_QS_SUSPECT || q->probe)
		return;
	q->unanswered = false;
	mod_delayed_work(system_wq, &q->recovery, 0);
}

/* Recovery: send a PING to a suspect queue. */
static void hsmg_queue_recovery(struct work_struct *work)
{
	struct hsmg_queue *q = container_of(to_delayed_work(work),
					    struct hsmg_queue, recovery);
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;

	spin_lock(&g->lock);
	if (q->state != HSMG_QS_SUSPECT || !q->attached || q->probe)
		goto out;
	if (q->damped && time_before(jiffies, q->damped_until)) {
		mod_delayed_work(system_wq, &q->recovery,
				 q->damped_until - jiffies);
		goto out;
	}
	req = hsmg_request_kernel(q, HSMG_BE_REQ_PING, 0, 0, NULL, 0);
	if (!req) {
		mod_delayed_work(system_wq, &q->recovery,
				 msecs_to_jiffies(q->probe_interval));
		goto out;
	}
	req->end = hsmg_queue_probe_end;
	q->probe = req;
	hsmg_request_assign(req, q);
out:
	spin_unlock(&g->lock);
}

static int hsmg_queue_check_desc(const struct hsmg_queue_desc *d)
{
	static const u8 zero[HSMG_MKVP_LEN];

	if (d->adapter > 255 || d->domain > 255)
		return -EINVAL;
	if (!(d->capabilities & BIT_ULL(HSMG_OP_NULL)) ||
	    (d->capabilities & ~(BIT_ULL(HSMG_OP_NR) - 1)))
		return -EINVAL;
	if (!d->max_inflight || d->max_inflight > HSMG_MAX_INFLIGHT)
		return -EINVAL;
	if (!d->speed || d->speed > 10000)
		return -EINVAL;
	if (!memcmp(d->mkvp, zero, HSMG_MKVP_LEN))
		return -EINVAL;
	return 0;
}

static void hsmg_mkvp_prefix(char *buf, const u8 *mkvp)
{
	snprintf(buf, 17, "%*phN", 8, mkvp);
}

/**
 * hsmg_queue_register - attach a queue.
 * @desc: what the queue is.
 * @ops: provider callbacks.
 * @priv: passed to @ops.
 *
 * Return: the queue, or ERR_PTR(-EINVAL) for a bad @desc, -EEXIST when the
 * APQN is attached already, -ENOMEM.
 */
struct hsmg_queue *hsmg_queue_register(const struct hsmg_queue_desc *desc,
				       const struct hsmg_queue_ops *ops,
				       void *priv)
{
	u32 apqn = HSMG_APQN(desc->adapter, desc->domain);
	char have[17], want[17];
	struct hsmg_group *g;
	struct hsmg_queue *q;
	bool mismatch;
	u32 id;
	int ret;

	ret = hsmg_queue_check_desc(desc);
	if (ret)
		return ERR_PTR(ret);

	mutex_lock(&hsmg_topology_lock);
	q = hsmg_group_member_lookup(apqn);
	if (q && q->attached) {
		ret = -EEXIST;
		goto unlock;
	}
	if (!q) {
		g = hsmg_group_get_or_create(desc->mkvp);
		if (IS_ERR(g)) {
			ret = PTR_ERR(g);
			goto unlock;
		}
		q = hsmg_queue_alloc(desc->adapter, desc->domain);
		if (!q) {
			ret = -ENOMEM;
			goto unlock;
		}
		ret = hsmg_group_member_add(g, q);
		if (ret) {
			kfree(q);
			goto unlock;
		}
		hsmg_sysfs_queue_add(q);
	}
	g = q->group;
	ret = xa_alloc_cyclic(&hsmg_qid_xa, &id, q, xa_limit_32b,
			      &hsmg_qid_next, GFP_KERNEL);
	if (ret < 0)
		goto unlock;

	spin_lock(&g->lock);
	q->id = id;
	q->standby = q->role_override ?
		     q->role_override == HSMG_ADMIN_STANDBY : desc->standby;
	q->capabilities = desc->capabilities;
	q->max_inflight = desc->max_inflight;
	q->speed = q->admin_speed ?: desc->speed;
	q->max_sessions = desc->max_sessions;
	memcpy(q->mkvp, desc->mkvp, HSMG_MKVP_LEN);
	q->ops = ops;
	q->priv = priv;
	q->attached = true;
	q->fail_streak = 0;
	q->probe = NULL;
	q->heartbeat = NULL;
	q->alive_at = jiffies;
	mismatch = memcmp(q->mkvp, g->mkvp, HSMG_MKVP_LEN);
	/* The state it enters now: the state events follow. */
	hsmg_event_queue(q, HSMG_EVENT_ATTACH, q->state,
			 mismatch ? HSMG_QS_MISMATCH : HSMG_QS_RECOVERING,
			 "attached");
	if (mismatch) {
		hsmg_mkvp_prefix(have, q->mkvp);
		hsmg_mkvp_prefix(want, g->mkvp);
		pr_warn("queue %02x.%04x group %u: master key mismatch: queue MKVP %s..., group MKVP %s...; queue not used\n",
			q->adapter, q->domain, g->id, have, want);
		hsmg_queue_set_state(q, HSMG_QS_MISMATCH, "master key mismatch");
	} else {
		hsmg_queue_start_recovery(q, "attached");
	}
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	mutex_unlock(&hsmg_topology_lock);
	return q;

unlock:
	mutex_unlock(&hsmg_topology_lock);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(hsmg_queue_register);

/**
 * hsmg_queue_unregister - detach a queue: it goes offline, its unfinished
 * requests go to other members, its login records are dropped.
 * @q: queue from hsmg_queue_register().
 */
void hsmg_queue_unregister(struct hsmg_queue *q)
{
	struct hsmg_group *g = q->group;
	bool had_run;
	u32 id;

	mutex_lock(&hsmg_topology_lock);
	spin_lock(&g->lock);
	/* Nothing new goes to it from here on (see hsmg_session_send_logout). */
	q->attached = false;
	had_run = q->ops && q->ops->run;
	hsmg_event_queue(q, HSMG_EVENT_DETACH, q->state, HSMG_QS_OFFLINE,
			 "detached");
	hsmg_queue_set_state(q, HSMG_QS_OFFLINE, "detached");
	/* Listings keep showing the last id of an offline member. */
	id = q->id;
	q->ops = NULL;
	q->priv = NULL;
	q->probe = NULL;
	q->heartbeat = NULL;
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	xa_erase(&hsmg_qid_xa, id);
	cancel_delayed_work_sync(&q->watchdog);
	cancel_delayed_work_sync(&q->recovery);
	spin_lock(&g->lock);
	q->wd_armed = false;
	spin_unlock(&g->lock);
	mutex_unlock(&hsmg_topology_lock);
	/* A client may still be in ops->run (hsmg_queue_run). */
	if (had_run)
		synchronize_srcu(&hsmg_run_srcu);
}
EXPORT_SYMBOL_GPL(hsmg_queue_unregister);

/**
 * hsmg_queue_set_mkvp - the master key of attached @q changed (the card was
 * zeroised, got a new key, or its key was restored).
 * @q: queue from hsmg_queue_register().
 * @mkvp: its MKVP now, all zero for no master key.
 * @state: set to the state @q is in afterwards.
 *
 * While @mkvp differs from the group's, @q is held in mismatch: its work
 * goes to other members and its logins are dropped.  When it equals the
 * group's again, a queue held in mismatch logs the group's live sessions in
 * and goes online by itself.
 *
 * Return: 0, or -ENODEV when @q is detached.
 */
int hsmg_queue_set_mkvp(struct hsmg_queue *q, const u8 *mkvp, u32 *state)
{
	static const u8 zero[HSMG_MKVP_LEN];
	struct hsmg_group *g = q->group;
	char have[17], want[17];
	bool changed;
	int ret = 0;

	spin_lock(&g->lock);
	if (!q->attached) {
		ret = -ENODEV;
		goto out;
	}
	changed = memcmp(q->mkvp, mkvp, HSMG_MKVP_LEN);
	memcpy(q->mkvp, mkvp, HSMG_MKVP_LEN);
	if (memcmp(mkvp, g->mkvp, HSMG_MKVP_LEN)) {
		if (!changed && q->state == HSMG_QS_MISMATCH)
			goto out;
		/* Held already: no state change, but say what changed. */
		if (q->state == HSMG_QS_MISMATCH)
			hsmg_event_queue(q, HSMG_EVENT_MISMATCH, q->state,
					 q->state, "master key changed");
		hsmg_mkvp_prefix(want, g->mkvp);
		if (!memcmp(mkvp, zero, HSMG_MKVP_LEN)) {
			pr_warn("queue %02x.%04x group %u: card has no master key (zeroised), group MKVP %s...; queue not used until it is restored\n",
				q->adapter, q->domain, g->id, want);
			hsmg_queue_set_state(q, HSMG_QS_MISMATCH,
					     "card zeroised: no master key");
		} else {
			hsmg_mkvp_prefix(have, mkvp);
			pr_warn("queue %02x.%04x group %u: master key changed: queue MKVP %s..., group MKVP %s...; queue not used until it is restored\n",
				q->adapter, q->domain, g->id, have, want);
			hsmg_queue_set_state(q, HSMG_QS_MISMATCH,
					     "master key changed");
		}
	} else if (q->state == HSMG_QS_MISMATCH) {
		pr_info("queue %02x.%04x group %u: master key restored\n",
			q->adapter, q->domain, g->id);
		hsmg_queue_start_recovery(q, "master key restored");
	}
	hsmg_sched_dispatch(g);
out:
	*state = hsmg_queue_visible_state(q);
	spin_unlock(&g->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hsmg_queue_set_mkvp);

/* hsmg_queue_ids - ids and state of @q for its provider. */
void hsmg_queue_ids(struct hsmg_queue *q, u32 *queue_id, u32 *group_id,
		    u32 *state)
{
	spin_lock(&q->group->lock);
	*queue_id = q->id;
	*group_id = q->group->id;
	*state = hsmg_queue_visible_state(q);
	spin_unlock(&q->group->lock);
}
EXPORT_SYMBOL_GPL(hsmg_queue_ids);

/* hsmg_queue_has_work - a fetch would return a request now. */
bool hsmg_queue_has_work(struct hsmg_queue *q)
{
	bool ret;

	spin_lock(&q->group->lock);
	ret = q->attached && q->npending && q->ninflight < q->max_inflight;
	spin_unlock(&q->group->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hsmg_queue_has_work);

/*
 * hsmg_queue_may_have_work - hsmg_queue_has_work() without the group lock:
 * a hint for a spinning card worker, which fetches under the lock after.
 */
bool hsmg_queue_may_have_work(struct hsmg_queue *q)
{
	return READ_ONCE(q->attached) && READ_ONCE(q->npending) &&
	       READ_ONCE(q->ninflight) < READ_ONCE(q->max_inflight);
}

/**
 * hsmg_queue_fetch - take the next requests of @q.
 * @q: the queue.
 * @work: array of @max entries to fill.
 * @max: most requests to take.
 * @space: bytes the caller has for them (see hsmg_work_size()).
 *
 * At most max_inflight - inflight requests are handed out.  Each entry holds
 * a reference to drop with hsmg_work_release().
 *
 * Return: number of requests taken (0 when none waits), -ENOSPC when the
 * first one does not fit in @space, -ENODEV when @q is detached.
 */
int hsmg_queue_fetch(struct hsmg_queue *q, struct hsmg_work *work,
		     unsigned int max, size_t space)
{
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;
	size_t used = 0, need;
	int n = 0;

	spin_lock(&g->lock);
	if (!q->attached) {
		n = -ENODEV;
		goto out;
	}
	hsmg_queue_alive(q);
	while (n < max && q->ninflight < q->max_inflight &&
	       !list_empty(&q->pending)) {
		req = list_first_entry(&q->pending, struct hsmg_request, node);
		need = hsmg_work_size(req->msg_len);
		if (used + need > space) {
			if (!n)
				n = -ENOSPC;
			break;
		}
		list_move_tail(&req->node, &q->inflight);
		q->npending--;
		q->ninflight++;
		req->state = HSMG_RS_INFLIGHT;
		req->fetched_ns = ktime_get_ns();
		kref_get(&req->ref);
		work[n] = (struct hsmg_work) {
			.tag = req->tag,
			.type = req->type,
			.op_class = req->op_class,
			.session = req->session_id,
			.session_flags = req->session_flags,
			.len = req->msg_len,
			.data = req->msg,
			.req = req,
		};
		pr_debug("request %llx: fetched by queue %02x.%04x\n", req->tag,
			 q->adapter, q->domain);
		used += need;
		n++;
	}
out:
	spin_unlock(&g->lock);
	return n;
}
EXPORT_SYMBOL_GPL(hsmg_queue_fetch);

/*
 * hsmg_queue_unfetch - the provider could not take the fetched requests
 * (e.g. -EFAULT copying them out): they go back to the head of the queue.
 * Drops the references.
 */
void hsmg_queue_unfetch(struct hsmg_queue *q, struct hsmg_work *work,
			unsigned int n)
{
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;
	unsigned int i;

	spin_lock(&g->lock);
	for (i = n; i-- > 0;) {
		req = work[i].req;
		if (req->state != HSMG_RS_INFLIGHT || req->queue != q ||
		    req->tag != work[i].tag)
			continue;
		list_move(&req->node, &q->pending);
		q->ninflight--;
		q->npending++;
		req->state = HSMG_RS_PENDING;
	}
	hsmg_queue_notify(q);
	spin_unlock(&g->lock);
	hsmg_work_release(work, n);
}
EXPORT_SYMBOL_GPL(hsmg_queue_unfetch);

void hsmg_work_release(struct hsmg_work *work, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		hsmg_request_put(work[i].req);
		work[i].req = NULL;
	}
}
EXPORT_SYMBOL_GPL(hsmg_work_release);

static struct hsmg_request *hsmg_queue_find_tag(struct hsmg_queue *q, u64 tag)
{
	struct hsmg_request *req;

	list_for_each_entry(req, &q->inflight, node)
		if (req->tag == tag)
			return req;
	return NULL;
}

/**
 * hsmg_request_complete_buf - answer a fetched request.
 * @q: queue that fetched it.
 * @tag: its tag.
 * @status: enum hsmg_be_status.
 * @buf: answer (kvmalloc'ed, taken over also on error) or NULL.
 * @len: bytes at @buf.
 *
 * Return: 0, -ENOENT for an unknown (stale) tag, -EINVAL for a bad status.
 */
int hsmg_request_complete_buf(struct hsmg_queue *q, u64 tag, u32 status,
			      void *buf, u32 len)
{
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;
	int ret = 0;

	if (status > HSMG_BE_BADREQ) {
		kvfree(buf);
		return -EINVAL;
	}
	spin_lock(&g->lock);
	q->alive_at = jiffies;
	hsmg_queue_alive(q);
	req = hsmg_queue_find_tag(q, tag);
	if (!req) {
		ret = -ENOENT;
		goto out;
	}
	pr_debug("request %llx: completed by queue %02x.%04x status %u len %u\n",
		 tag, q->adapter, q->domain, status, len);
	if (req->cancelled) {
		/* The client gave up: the answer is stale, the slot is free. */
		hsmg_queue_attempt_done(q, status == HSMG_BE_OK, false);
		hsmg_request_finish(req, -ECANCELED);
		hsmg_sched_dispatch(g);
		ret = -ENOENT;
		goto out;
	}
	req->answered_by = q->id;
	switch (status) {
	case HSMG_BE_OK:
		hsmg_queue_account_latency(q, req);
		req->resp = buf;
		req->resp_len = buf ? len : 0;
		buf = NULL;
		hsmg_request_unlink(req);
		hsmg_queue_attempt_done(q, true, false);
		hsmg_request_finish(req, 0);
		break;
	case HSMG_BE_QUOTA:
		hsmg_request_unlink(req);
		q->requests++;
		if (req->pin)
			hsmg_request_finish(req, -EDQUOT);
		else
			hsmg_request_requeue(req, true);
		break;
	case HSMG_BE_BADREQ:
		hsmg_request_unlink(req);
		q->requests++;
		hsmg_request_finish(req, -EPROTO);
		break;
	default:
		/*
		 * RETRY, FAILED: re-send elsewhere, count against health.  A
		 * card answering RETRY did not do the work, so even a
		 * NO_RETRY request may go elsewhere; after FAILED nobody knows.
		 */
		hsmg_request_unlink(req);
		hsmg_request_requeue(req, status == HSMG_BE_FAILED);
		hsmg_queue_attempt_done(q, false, status == HSMG_BE_FAILED);
		break;
	}
	hsmg_sched_dispatch(g);
out:
	spin_unlock(&g->lock);
	/* An answer nobody takes may be a pin-blob. */
	if (buf)
		kvfree_sensitive(buf, len);
	return ret;
}
EXPORT_SYMBOL_GPL(hsmg_request_complete_buf);

/* hsmg_request_complete - as hsmg_request_complete_buf(), copying @data. */
int hsmg_request_complete(struct hsmg_queue *q, u64 tag, u32 status,
			  const void *data, u32 len)
{
	void *buf = NULL;

	if (status == HSMG_BE_OK && len) {
		if (len > HSMG_MAX_MSG_SIZE)
			return -E2BIG;
		buf = kvmalloc(len, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, data, len);
	}
	return hsmg_request_complete_buf(q, tag, status, buf, len);
}
EXPORT_SYMBOL_GPL(hsmg_request_complete);

int hsmg_queue_init(void)
{
	return 0;
}

/* hsmg_queue_exit - at unload: every queue is detached. */
void hsmg_queue_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&hsmg_qid_xa));
	xa_destroy(&hsmg_qid_xa);
}
