// SPDX-License-Identifier: GPL-2.0
/*
 * Health of a member: attempt deadlines (the watchdog), the heartbeat during
 * long attempts, recovery probes with backoff, and flap damping.
 */
#include "main.h"

#include <linux/jiffies.h>
#include <linux/lockdep.h>

#include "event.h"
#include "group.h"
#include "health.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

/* hsmg_health_arm_watchdog - make sure the watchdog runs by @deadline. */
void hsmg_health_arm_watchdog(struct hsmg_queue *q, unsigned long deadline)
{
	unsigned long now = jiffies;

	lockdep_assert_held(&q->group->lock);
	if (q->wd_armed && !time_before(deadline, q->wd_at))
		return;
	q->wd_at = deadline;
	q->wd_armed = true;
	mod_delayed_work(system_wq, &q->watchdog,
			 time_after(deadline, now) ? deadline - now : 0);
}

/*
 * hsmg_health_damp_hold - @q could rejoin now; a flapping member waits its
 * damping time first, as SUSPECT, and the recovery work probes it when the
 * time is up.  Returns whether it is held back.  Group lock held.
 */
static bool hsmg_health_damp_hold(struct hsmg_queue *q)
{
	unsigned long now = jiffies;
	char why[HSMG_EVENT_REASON_LEN];

	lockdep_assert_held(&q->group->lock);
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
 * hsmg_health_flapped - @q failed after serving (from @old).  A failure
 * within the stable time of its last rejoin is one more flap; from the
 * second in a row on, its next rejoin waits recovery_interval_ms, doubling
 * per flap up to recovery_backoff_max_ms (the stable time too).  Group lock.
 */
void hsmg_health_flapped(struct hsmg_queue *q,
			 enum hsmg_queue_state old)
{
	u32 base = max(1U, hsmg_policy(q->group,
				       HSMG_POLICY_A_RECOVERY_INTERVAL_MS));
	u32 max_ms = max(base, hsmg_policy(q->group,
					   HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS));

	lockdep_assert_held(&q->group->lock);
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
static bool hsmg_health_stable(struct hsmg_queue *q)
{
	u32 max_ms = hsmg_policy(q->group,
				 HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS);

	return q->state == HSMG_QS_ONLINE &&
	       time_after_eq(jiffies, q->online_at + msecs_to_jiffies(max_ms));
}

/* hsmg_health_flaps - flaps in a row, 0 once stable.  Group lock held. */
u32 hsmg_health_flaps(struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	return hsmg_health_stable(q) ? 0 : q->flaps;
}

/* hsmg_health_damp_ms - damping of the next (or last) rejoin.  Lock held. */
u32 hsmg_health_damp_ms(struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	return hsmg_health_stable(q) ? 0 : q->damp_ms;
}

/* hsmg_health_damped_left_ms - ms until a damped member may rejoin. */
u32 hsmg_health_damped_left_ms(struct hsmg_queue *q)
{
	unsigned long now = jiffies;

	lockdep_assert_held(&q->group->lock);
	if (q->damp_armed)
		return q->damp_ms;
	if (!q->damped || !time_before(now, q->damped_until))
		return 0;
	return jiffies_to_msecs(q->damped_until - now);
}

/*
 * hsmg_health_start_recovery - log the group's live sessions in on @q, then
 * go online; a flapping member waits its damping time first.  Group lock.
 */
void hsmg_health_start_recovery(struct hsmg_queue *q, const char *reason)
{
	lockdep_assert_held(&q->group->lock);
	if (hsmg_health_damp_hold(q))
		return;
	hsmg_queue_set_state(q, HSMG_QS_RECOVERING, reason);
	if (!hsmg_session_recover_queue(q))
		hsmg_queue_set_state(q, HSMG_QS_ONLINE, "no sessions to log in");
}

/*
 * hsmg_health_attempt_done - account an attempt of @q for its health: @ok, or
 * a transient failure, or @broken (suspect at once).  Group lock held.
 */
void hsmg_health_attempt_done(struct hsmg_queue *q, bool ok, bool broken)
{
	lockdep_assert_held(&q->group->lock);
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

static bool hsmg_health_expired(struct list_head *list, unsigned long now)
{
	struct hsmg_request *req;

	list_for_each_entry(req, list, node)
		if (time_after_eq(now, req->deadline))
			return true;
	return false;
}

static void hsmg_health_expire_list(struct hsmg_queue *q, struct list_head *list,
				    unsigned long now)
{
	struct hsmg_request *req, *tmp;

	lockdep_assert_held(&q->group->lock);
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

static bool hsmg_health_earliest(struct list_head *list, unsigned long *at)
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

static bool hsmg_health_has_long(struct list_head *list, unsigned long by)
{
	struct hsmg_request *req;

	list_for_each_entry(req, list, node)
		if (time_after(req->deadline, by))
			return true;
	return false;
}

static void hsmg_health_heartbeat_end(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->pin;

	lockdep_assert_held(&req->group->lock);
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
static unsigned long hsmg_health_heartbeat(struct hsmg_queue *q,
					   unsigned long now)
{
	unsigned long rt = hsmg_attempt_jiffies(q->group);
	struct hsmg_request *req;

	lockdep_assert_held(&q->group->lock);
	if (q->heartbeat || !q->attached ||
	    (q->state != HSMG_QS_ONLINE && q->state != HSMG_QS_DRAINING))
		return 0;
	if (!hsmg_health_has_long(&q->pending, now + rt) &&
	    !hsmg_health_has_long(&q->inflight, now + rt))
		return 0;
	if (time_before(now, q->alive_at + rt))
		return q->alive_at + rt;
	if (q->npending + q->ninflight >= q->max_inflight)
		return now + rt;
	req = hsmg_request_kernel(q, HSMG_BE_REQ_PING, 0, 0, NULL, 0);
	if (!req)
		return now + rt;
	req->end = hsmg_health_heartbeat_end;
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
static void hsmg_health_watchdog(struct work_struct *work)
{
	struct hsmg_queue *q = container_of(to_delayed_work(work),
					    struct hsmg_queue, watchdog);
	struct hsmg_group *g = q->group;
	unsigned long now = jiffies, at = 0, at2 = 0, hb;
	bool a, b;

	spin_lock(&g->lock);
	q->wd_armed = false;
	if (hsmg_health_expired(&q->pending, now) ||
	    hsmg_health_expired(&q->inflight, now)) {
		if (q->state == HSMG_QS_ONLINE ||
		    q->state == HSMG_QS_RECOVERING ||
		    q->state == HSMG_QS_DRAINING) {
			hsmg_queue_set_state(q, HSMG_QS_SUSPECT,
					     "attempt timed out");
			q->unanswered = true;
		}
		hsmg_health_expire_list(q, &q->pending, now);
		hsmg_health_expire_list(q, &q->inflight, now);
	}
	hb = hsmg_health_heartbeat(q, now);
	a = hsmg_health_earliest(&q->pending, &at);
	b = hsmg_health_earliest(&q->inflight, &at2);
	if (b && (!a || time_before(at2, at)))
		at = at2;
	if (hb && (!(a || b) || time_before(hb, at)))
		at = hb;
	if (a || b || hb)
		hsmg_health_arm_watchdog(q, at);
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
}

static void hsmg_health_probe_end(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->pin;
	u32 max_ms, retries;

	lockdep_assert_held(&req->group->lock);
	if (q->probe == req)
		q->probe = NULL;
	if (q->state != HSMG_QS_SUSPECT)
		return;
	if (!req->result) {
		hsmg_health_start_recovery(q, "probe answered");
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
 * hsmg_health_alive - @q's card called in (a fetch or an answer); group lock
 * held.  A member that went suspect because its card stopped answering is
 * probed at once: a card back from a hang (SIGSTOP, a stalled driver)
 * serves again within a round trip instead of at the next backoff step,
 * which may be recovery_backoff_max_ms away.  A card that answers with
 * errors is not probed faster (its probes fail with an answer, not by
 * timing out), and damping still holds a flapping one back.
 */
void hsmg_health_alive(struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	if (!q->unanswered || q->state != HSMG_QS_SUSPECT || q->probe)
		return;
	q->unanswered = false;
	mod_delayed_work(system_wq, &q->recovery, 0);
}

/* Recovery: send a PING to a suspect queue. */
static void hsmg_health_recovery(struct work_struct *work)
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
	req->end = hsmg_health_probe_end;
	q->probe = req;
	hsmg_request_assign(req, q);
out:
	spin_unlock(&g->lock);
}

/* hsmg_health_init - set up the health work of a new member record. */
void hsmg_health_init(struct hsmg_queue *q)
{
	INIT_DELAYED_WORK(&q->watchdog, hsmg_health_watchdog);
	INIT_DELAYED_WORK(&q->recovery, hsmg_health_recovery);
}
