// SPDX-License-Identifier: GPL-2.0
/*
 * Request life cycle.  Every function here but hsmg_request_alloc(),
 * hsmg_request_put() and hsmg_request_wait() runs under the group lock.
 */
#include "main.h"

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "client.h"
#include "group.h"
#include "health.h"
#include "provider.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

static atomic64_t hsmg_next_tag = ATOMIC64_INIT(0);
/* Requests alive, checked at unload: a leak shows as a WARNING. */
static atomic_t hsmg_requests_live = ATOMIC_INIT(0);

struct hsmg_request *hsmg_request_alloc(struct hsmg_group *g, gfp_t gfp)
{
	struct hsmg_request *req = kzalloc(sizeof(*req), gfp);

	if (!req)
		return NULL;
	atomic_inc(&hsmg_requests_live);
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->node);
	INIT_LIST_HEAD(&req->fan_node);
	init_waitqueue_head(&req->wq);
	req->group = g;
	req->state = HSMG_RS_NEW;
	return req;
}

static void hsmg_request_release(struct kref *ref)
{
	struct hsmg_request *req = container_of(ref, struct hsmg_request, ref);

	/* A LOGIN carries a PIN out and a pin-blob back. */
	if (req->sensitive) {
		if (req->msg)
			kvfree_sensitive(req->msg, req->msg_len);
		if (req->resp)
			kvfree_sensitive(req->resp, req->resp_len);
	} else {
		kvfree(req->msg);
		kvfree(req->resp);
	}
	if (req->session)
		hsmg_session_put(req->session);
	if (req->logout)
		hsmg_request_put(req->logout);
	kfree(req);
	atomic_dec(&hsmg_requests_live);
}

void hsmg_request_put(struct hsmg_request *req)
{
	kref_put(&req->ref, hsmg_request_release);
}

/* hsmg_request_exit - at unload, no request may be left. */
void hsmg_request_exit(void)
{
	WARN(atomic_read(&hsmg_requests_live), "hsmgroup: %d requests leaked\n",
	     atomic_read(&hsmg_requests_live));
}

/*
 * hsmg_request_kernel - a request the kernel sends to one queue (LOGIN,
 * LOGOUT, PING); takes ownership of @msg, also on failure.  The caller
 * assigns it to @q, at once or (a LOGOUT allocated at login) when it is
 * sent; from then on the group holds the only reference.
 */
struct hsmg_request *hsmg_request_kernel(struct hsmg_queue *q, u32 type,
					 u64 session_id, u32 session_flags,
					 void *msg, u32 len)
{
	struct hsmg_request *req = hsmg_request_alloc(q->group, GFP_ATOMIC);

	lockdep_assert_held(&q->group->lock);
	if (!req) {
		kfree_sensitive(msg);
		return NULL;
	}
	req->type = type;
	req->op_class = HSMG_OP_NULL;
	req->weight = hsmg_sched_default_weight(HSMG_OP_NULL);
	req->session_id = session_id;
	req->session_flags = session_flags;
	req->pin = q;
	req->msg = msg;
	req->msg_len = len;
	req->sensitive = type == HSMG_BE_REQ_LOGIN;
	return req;
}

static unsigned long hsmg_policy_jiffies(struct hsmg_group *g, int attr)
{
	return max(1UL, msecs_to_jiffies(hsmg_policy(g, attr)));
}

/* hsmg_attempt_jiffies - request_timeout_ms of @g in jiffies (at least 1). */
unsigned long hsmg_attempt_jiffies(struct hsmg_group *g)
{
	return hsmg_policy_jiffies(g, HSMG_POLICY_A_REQUEST_TIMEOUT_MS);
}

/* The deadline of one attempt of @req, in jiffies from now. */
static unsigned long hsmg_request_timeout(struct hsmg_request *req)
{
	if (req->type == HSMG_BE_REQ_CRYPTO && req->op_class == HSMG_OP_KEYGEN)
		return hsmg_policy_jiffies(req->group,
					   HSMG_POLICY_A_KEYGEN_TIMEOUT_MS);
	return hsmg_attempt_jiffies(req->group);
}

/* hsmg_request_assign - start an attempt of @req on @q. */
void hsmg_request_assign(struct hsmg_request *req, struct hsmg_queue *q)
{
	unsigned long check;

	lockdep_assert_held(&req->group->lock);
	if (req->state == HSMG_RS_BACKLOG)
		list_del_init(&req->node);
	req->tag = atomic64_inc_return(&hsmg_next_tag);
	req->attempts++;
	req->queue = q;
	WRITE_ONCE(req->state, HSMG_RS_PENDING);
	req->holding = false;
	req->assigned_ns = ktime_get_ns();
	req->deadline = jiffies + hsmg_request_timeout(req);
	list_add_tail(&req->node, &q->pending);
	WRITE_ONCE(q->npending, q->npending + 1);
	q->assigned_weight += req->weight;
	/* Read unlocked by spinning waiters. */
	WRITE_ONCE(req->group->assigned, req->group->assigned + 1);
	if (req->client) {
		atomic_inc(&req->client->assigned);
		req->counted = true;
	}
	pr_debug("request %llx: dispatch to queue %02x.%04x attempt %u type %u class %u\n",
		 req->tag, q->adapter, q->domain, req->attempts, req->type,
		 req->op_class);
	/*
	 * A long attempt (a key generation): the watchdog looks at the
	 * card's liveness after request_timeout_ms (hsmg_health_heartbeat).
	 */
	check = jiffies + hsmg_attempt_jiffies(req->group);
	hsmg_health_arm_watchdog(q, time_before(req->deadline, check) ?
				req->deadline : check);
	hsmg_provider_notify(q);
}

/* hsmg_request_unlink - take @req out of its backlog or queue. */
void hsmg_request_unlink(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->queue;

	lockdep_assert_held(&req->group->lock);
	switch (req->state) {
	case HSMG_RS_BACKLOG:
		list_del_init(&req->node);
		break;
	case HSMG_RS_PENDING:
	case HSMG_RS_INFLIGHT:
		list_del_init(&req->node);
		if (req->state == HSMG_RS_PENDING) {
			WRITE_ONCE(q->npending, q->npending - 1);
		} else {
			WRITE_ONCE(q->ninflight, q->ninflight - 1);
			/* Room for a waiting request: wake a blocked fetch. */
			if (q->npending)
				hsmg_provider_notify(q);
		}
		q->assigned_weight -= req->weight;
		WRITE_ONCE(req->group->assigned, req->group->assigned - 1);
		if (req->counted) {
			atomic_dec(&req->client->assigned);
			req->counted = false;
		}
		req->queue = NULL;
		break;
	default:
		break;
	}
	WRITE_ONCE(req->state, HSMG_RS_NEW);
}

static void hsmg_request_count(struct hsmg_request *req, int err)
{
	struct hsmg_group *g = req->group;

	lockdep_assert_held(&req->group->lock);
	if (!req->client)
		return;
	if (err) {
		g->errors++;
		atomic64_inc(&req->client->errors);
	} else {
		g->requests++;
		atomic64_inc(&req->client->requests);
	}
}

/*
 * hsmg_request_finish - @req is done with @err; the waiter wakes up (or the
 * end callback runs) and the group drops its reference.
 */
void hsmg_request_finish(struct hsmg_request *req, int err)
{
	lockdep_assert_held(&req->group->lock);
	if (WARN_ON_ONCE(req->state == HSMG_RS_DONE))
		return;
	hsmg_request_unlink(req);
	WRITE_ONCE(req->state, HSMG_RS_DONE);
	if (!req->cancelled) {
		req->result = err;
		hsmg_request_count(req, err);
	}
	pr_debug("request %llx: complete %d after %u attempts\n", req->tag, err,
		 req->attempts);
	if (req->end)
		req->end(req);
	/* After the result and answer: hsmg_request_wait() reads them unlocked. */
	smp_store_release(&req->done, true);
	wake_up(&req->wq);
	hsmg_request_put(req);
}

/*
 * hsmg_request_requeue - the queue of @req failed before answering: send it
 * to another member, unless it is pinned to that queue, was fetched and may
 * not be repeated, or used all its attempts.
 */
void hsmg_request_requeue(struct hsmg_request *req, bool fetched)
{
	struct hsmg_group *g = req->group;
	u64 tag = req->tag;

	lockdep_assert_held(&req->group->lock);
	hsmg_request_unlink(req);
	if (req->cancelled || req->pin) {
		hsmg_request_finish(req, -EIO);
		return;
	}
	if ((fetched && (req->flags & HSMG_SUBMIT_NO_RETRY)) ||
	    req->attempts >= hsmg_policy(g, HSMG_POLICY_A_MAX_ATTEMPTS)) {
		hsmg_request_finish(req, -EIO);
		return;
	}
	g->failovers++;
	pr_debug("request %llx: redispatch after attempt %u\n", tag,
		 req->attempts);
	hsmg_sched_enqueue(req, true);
	/* Its waiter watches the hold time again. */
	wake_up(&req->wq);
}

/*
 * hsmg_request_cancel - the client gives up on @req with @err.  A request a
 * card holds stays where it is, marked cancelled, until the card answers
 * (dropped as stale) or its attempt ends.
 */
void hsmg_request_cancel(struct hsmg_request *req, int err)
{
	lockdep_assert_held(&req->group->lock);
	if (req->state == HSMG_RS_DONE)
		return;
	if (req->state != HSMG_RS_INFLIGHT) {
		hsmg_request_finish(req, err);
		return;
	}
	req->result = err;
	hsmg_request_count(req, err);
	if (req->counted) {
		atomic_dec(&req->client->assigned);
		req->counted = false;
	}
	req->client = NULL;
	req->cancelled = true;
	WRITE_ONCE(req->done, true);
	pr_debug("request %llx: cancelled in flight (%d)\n", req->tag, err);
}

/*
 * hsmg_request_hold_expired - under the group lock: @req waits in the
 * backlog with no member able to serve it for longer than the hold time.
 */
static bool hsmg_request_hold_expired(struct hsmg_request *req)
{
	u32 hold;

	lockdep_assert_held(&req->group->lock);
	if (req->state != HSMG_RS_BACKLOG ||
	    hsmg_sched_eligible(req->group, req)) {
		req->holding = false;
		return false;
	}
	if (!req->holding) {
		req->holding = true;
		req->hold_since = jiffies;
		return false;
	}
	hold = hsmg_policy(req->group, HSMG_POLICY_A_HOLD_TIME_MS);
	return time_after_eq(jiffies, req->hold_since + msecs_to_jiffies(hold));
}

/* Done, or sent back to the backlog. */
static bool hsmg_request_moved(struct hsmg_request *req)
{
	return READ_ONCE(req->done) ||
	       READ_ONCE(req->state) == HSMG_RS_BACKLOG;
}

/* Another request is at the group's members besides @req (no lock). */
static bool hsmg_request_not_alone(struct hsmg_request *req)
{
	return READ_ONCE(req->group->assigned) > 1;
}

/* Spinning: stop when @req moved or another request joins the members. */
static bool hsmg_request_poll_cond(void *arg)
{
	struct hsmg_request *req = arg;

	return hsmg_request_moved(req) || hsmg_request_not_alone(req);
}

/*
 * Spin for the answer instead of sleeping when the card that has @req
 * usually answers its kind within busy_poll_us and @req is the only request
 * at the members: with others in flight, the CPU is better spent on them
 * (group lock not held; queue records live until the module goes).
 * Returns whether @req moved meanwhile.
 */
static bool hsmg_request_poll(struct hsmg_request *req, struct hsmg_queue *q)
{
	struct hsmg_group *g = req->group;
	u32 c = req->op_class < HSMG_OP_NR ? req->op_class : 0;
	u32 card = READ_ONCE(q->card_us[c]);

	if (hsmg_request_not_alone(req) || card > READ_ONCE(hsmg_busy_poll_us))
		return false;
	atomic64_inc(&g->busy_polls);
	hsmg_busy_poll(hsmg_request_poll_cond, req);
	if (!hsmg_request_moved(req))
		return false;
	atomic64_inc(&g->busy_poll_hits);
	return true;
}

/*
 * hsmg_request_wait - wait for a client request until @deadline (jiffies).
 * Returns its result; -ETIMEDOUT, -EINTR or -ENODEV (no member within the
 * hold time) cancel it.  While the request waits in the backlog the waiter
 * checks the hold time every 100 ms; while a queue has it, it sleeps until
 * the request is done or sent back to the backlog (which wakes it), after
 * spinning for it first if that card answers such requests fast and no
 * other request is at the members.
 */
int hsmg_request_wait(struct hsmg_request *req, unsigned long deadline)
{
	struct hsmg_group *g = req->group;
	struct hsmg_queue *q = NULL;
	u32 attempt, polled = 0; /* the attempt spun for */
	bool backlog;
	int err = 0;
	long left, t;

	for (;;) {
		/* Answered (often while spinning): no need for the lock. */
		if (smp_load_acquire(&req->done))
			return req->result;
		spin_lock(&g->lock);
		if (req->done) {
			spin_unlock(&g->lock);
			return req->result;
		}
		backlog = req->state == HSMG_RS_BACKLOG;
		q = backlog ? NULL : req->queue;
		attempt = req->attempts;
		if (backlog && hsmg_request_hold_expired(req)) {
			hsmg_request_finish(req, -ENODEV);
			spin_unlock(&g->lock);
			return -ENODEV;
		}
		spin_unlock(&g->lock);

		left = (long)(deadline - jiffies);
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (q && polled != attempt) {
			polled = attempt;
			if (hsmg_request_poll(req, q))
				continue;
		}
		if (backlog)
			t = wait_event_interruptible_timeout(req->wq,
							     READ_ONCE(req->done),
							     min(left, (long)HZ / 10));
		else
			t = wait_event_interruptible_timeout(req->wq,
							     hsmg_request_moved(req),
							     left);
		if (t < 0) {
			err = -EINTR;
			break;
		}
	}
	spin_lock(&g->lock);
	if (!req->done)
		hsmg_request_cancel(req, err);
	err = req->result;
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	return err;
}
