// SPDX-License-Identifier: GPL-2.0
/*
 * The provider API (provider.h): a card driver attaches and detaches its
 * queues, fetches their requests and answers them.
 */
#include "main.h"

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/xarray.h>

#include "event.h"
#include "group.h"
#include "health.h"
#include "provider.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "sysfs.h"

/* Queue id -> attached queue.  Ids are cyclic: new at every attach. */
static DEFINE_XARRAY_ALLOC1(hsmg_qid_xa);
static u32 hsmg_qid_next;

/* hsmg_provider_notify - tell the provider that work waits (group lock). */
void hsmg_provider_notify(struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	if (q->ops && q->ops->notify)
		q->ops->notify(q, q->priv);
}

/* Keeps provider run() calls out of hsmg_provider_unregister()'s way. */
DEFINE_STATIC_SRCU(hsmg_provider_run_srcu);

/*
 * hsmg_provider_runnable - the queue @req was just assigned to, if its provider
 * answers in the caller's context (ops->run), else NULL.  Group lock held.
 */
struct hsmg_queue *hsmg_provider_runnable(struct hsmg_request *req)
{
	struct hsmg_queue *q = req->queue;

	lockdep_assert_held(&req->group->lock);
	if (req->state != HSMG_RS_PENDING || !q->ops || !q->ops->run)
		return NULL;
	return q;
}

/*
 * hsmg_provider_run - let the provider of @q answer in the caller's context.
 * No lock held; may sleep.
 */
void hsmg_provider_run(struct hsmg_queue *q)
{
	const struct hsmg_queue_ops *ops;
	void *priv;
	int idx;

	idx = srcu_read_lock(&hsmg_provider_run_srcu);
	ops = READ_ONCE(q->ops);
	priv = READ_ONCE(q->priv);
	if (ops && ops->run && priv)
		ops->run(q, priv);
	srcu_read_unlock(&hsmg_provider_run_srcu, idx);
}

static int hsmg_provider_check_desc(const struct hsmg_queue_desc *d)
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

static void hsmg_provider_mkvp_prefix(char *buf, const u8 *mkvp)
{
	snprintf(buf, 17, "%*phN", 8, mkvp);
}

/**
 * hsmg_provider_register - attach a queue.
 * @desc: what the queue is.
 * @ops: provider callbacks.
 * @priv: passed to @ops.
 *
 * Return: the queue, or ERR_PTR(-EINVAL) for a bad @desc, -EEXIST when the
 * APQN is attached already, -ENOMEM.
 */
struct hsmg_queue *hsmg_provider_register(const struct hsmg_queue_desc *desc,
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

	ret = hsmg_provider_check_desc(desc);
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
	WRITE_ONCE(q->max_inflight, desc->max_inflight);
	q->speed = q->admin_speed ?: desc->speed;
	q->max_sessions = desc->max_sessions;
	memcpy(q->mkvp, desc->mkvp, HSMG_MKVP_LEN);
	WRITE_ONCE(q->ops, ops);
	WRITE_ONCE(q->priv, priv);
	WRITE_ONCE(q->attached, true);
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
		hsmg_provider_mkvp_prefix(have, q->mkvp);
		hsmg_provider_mkvp_prefix(want, g->mkvp);
		pr_warn("queue %02x.%04x group %u: master key mismatch: queue MKVP %s..., group MKVP %s...; queue not used\n",
			q->adapter, q->domain, g->id, have, want);
		hsmg_queue_set_state(q, HSMG_QS_MISMATCH, "master key mismatch");
	} else {
		hsmg_health_start_recovery(q, "attached");
	}
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	mutex_unlock(&hsmg_topology_lock);
	return q;

unlock:
	mutex_unlock(&hsmg_topology_lock);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(hsmg_provider_register);

/**
 * hsmg_provider_unregister - detach a queue: it goes offline, its unfinished
 * requests go to other members, its login records are dropped.
 * @q: queue from hsmg_provider_register().
 */
void hsmg_provider_unregister(struct hsmg_queue *q)
{
	struct hsmg_group *g = q->group;
	bool had_run;
	u32 id;

	mutex_lock(&hsmg_topology_lock);
	spin_lock(&g->lock);
	/* Nothing new goes to it from here on (see hsmg_session_send_logout). */
	WRITE_ONCE(q->attached, false);
	had_run = q->ops && q->ops->run;
	hsmg_event_queue(q, HSMG_EVENT_DETACH, q->state, HSMG_QS_OFFLINE,
			 "detached");
	hsmg_queue_set_state(q, HSMG_QS_OFFLINE, "detached");
	/* Listings keep showing the last id of an offline member. */
	id = q->id;
	WRITE_ONCE(q->ops, NULL);
	WRITE_ONCE(q->priv, NULL);
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
	/* A client may still be in ops->run (hsmg_provider_run). */
	if (had_run)
		synchronize_srcu(&hsmg_provider_run_srcu);
}
EXPORT_SYMBOL_GPL(hsmg_provider_unregister);

/**
 * hsmg_provider_set_mkvp - the master key of attached @q changed (the card was
 * zeroised, got a new key, or its key was restored).
 * @q: queue from hsmg_provider_register().
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
int hsmg_provider_set_mkvp(struct hsmg_queue *q, const u8 *mkvp, u32 *state)
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
		hsmg_provider_mkvp_prefix(want, g->mkvp);
		if (!memcmp(mkvp, zero, HSMG_MKVP_LEN)) {
			pr_warn("queue %02x.%04x group %u: card has no master key (zeroised), group MKVP %s...; queue not used until it is restored\n",
				q->adapter, q->domain, g->id, want);
			hsmg_queue_set_state(q, HSMG_QS_MISMATCH,
					     "card zeroised: no master key");
		} else {
			hsmg_provider_mkvp_prefix(have, mkvp);
			pr_warn("queue %02x.%04x group %u: master key changed: queue MKVP %s..., group MKVP %s...; queue not used until it is restored\n",
				q->adapter, q->domain, g->id, have, want);
			hsmg_queue_set_state(q, HSMG_QS_MISMATCH,
					     "master key changed");
		}
	} else if (q->state == HSMG_QS_MISMATCH) {
		pr_info("queue %02x.%04x group %u: master key restored\n",
			q->adapter, q->domain, g->id);
		hsmg_health_start_recovery(q, "master key restored");
	}
	hsmg_sched_dispatch(g);
out:
	*state = hsmg_queue_visible_state(q);
	spin_unlock(&g->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hsmg_provider_set_mkvp);

/* hsmg_provider_ids - ids and state of @q for its provider. */
void hsmg_provider_ids(struct hsmg_queue *q, u32 *queue_id, u32 *group_id,
		       u32 *state)
{
	spin_lock(&q->group->lock);
	*queue_id = q->id;
	*group_id = q->group->id;
	*state = hsmg_queue_visible_state(q);
	spin_unlock(&q->group->lock);
}
EXPORT_SYMBOL_GPL(hsmg_provider_ids);

/* hsmg_provider_has_work - a fetch would return a request now. */
bool hsmg_provider_has_work(struct hsmg_queue *q)
{
	bool ret;

	spin_lock(&q->group->lock);
	ret = q->attached && q->npending && q->ninflight < q->max_inflight;
	spin_unlock(&q->group->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hsmg_provider_has_work);

/*
 * hsmg_provider_may_have_work - hsmg_provider_has_work() without the group lock:
 * a hint for a spinning card worker, which fetches under the lock after.
 */
bool hsmg_provider_may_have_work(struct hsmg_queue *q)
{
	return READ_ONCE(q->attached) && READ_ONCE(q->npending) &&
	       READ_ONCE(q->ninflight) < READ_ONCE(q->max_inflight);
}

/**
 * hsmg_provider_fetch - take the next requests of @q.
 * @q: the queue.
 * @work: array of @max entries to fill.
 * @max: most requests to take.
 * @space: bytes the caller has for them (see hsmg_work_size()).
 *
 * At most max_inflight - inflight requests are handed out.  Each entry holds
 * a reference to drop with hsmg_provider_release().
 *
 * Return: number of requests taken (0 when none waits), -ENOSPC when the
 * first one does not fit in @space, -ENODEV when @q is detached.
 */
int hsmg_provider_fetch(struct hsmg_queue *q, struct hsmg_work *work,
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
	hsmg_health_alive(q);
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
		WRITE_ONCE(q->npending, q->npending - 1);
		WRITE_ONCE(q->ninflight, q->ninflight + 1);
		WRITE_ONCE(req->state, HSMG_RS_INFLIGHT);
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
EXPORT_SYMBOL_GPL(hsmg_provider_fetch);

/*
 * hsmg_provider_unfetch - the provider could not take the fetched requests
 * (e.g. -EFAULT copying them out): they go back to the head of the queue.
 * Drops the references.
 */
void hsmg_provider_unfetch(struct hsmg_queue *q, struct hsmg_work *work,
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
		WRITE_ONCE(q->ninflight, q->ninflight - 1);
		WRITE_ONCE(q->npending, q->npending + 1);
		WRITE_ONCE(req->state, HSMG_RS_PENDING);
	}
	hsmg_provider_notify(q);
	spin_unlock(&g->lock);
	hsmg_provider_release(work, n);
}
EXPORT_SYMBOL_GPL(hsmg_provider_unfetch);

void hsmg_provider_release(struct hsmg_work *work, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		hsmg_request_put(work[i].req);
		work[i].req = NULL;
	}
}
EXPORT_SYMBOL_GPL(hsmg_provider_release);

static struct hsmg_request *hsmg_provider_find_tag(struct hsmg_queue *q, u64 tag)
{
	struct hsmg_request *req;

	list_for_each_entry(req, &q->inflight, node)
		if (req->tag == tag)
			return req;
	return NULL;
}

/**
 * hsmg_provider_complete_buf - answer a fetched request.
 * @q: queue that fetched it.
 * @tag: its tag.
 * @status: enum hsmg_be_status.
 * @buf: answer (kvmalloc'ed, taken over also on error) or NULL.
 * @len: bytes at @buf.
 *
 * Return: 0, -ENOENT for an unknown (stale) tag, -EINVAL for a bad status.
 */
int hsmg_provider_complete_buf(struct hsmg_queue *q, u64 tag, u32 status,
			       void *buf, u32 len)
{
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;
	int ret = 0;

	if (status > HSMG_BE_PIN_LOCKED) {
		kvfree(buf);
		return -EINVAL;
	}
	spin_lock(&g->lock);
	q->alive_at = jiffies;
	hsmg_health_alive(q);
	req = hsmg_provider_find_tag(q, tag);
	if (!req) {
		ret = -ENOENT;
		goto out;
	}
	pr_debug("request %llx: completed by queue %02x.%04x status %u len %u\n",
		 tag, q->adapter, q->domain, status, len);
	if (req->cancelled) {
		/* The client gave up: the answer is stale, the slot is free. */
		hsmg_health_attempt_done(q, status == HSMG_BE_OK, false);
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
		hsmg_health_attempt_done(q, true, false);
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
	case HSMG_BE_PIN_INCORRECT:
	case HSMG_BE_PIN_LOCKED:
		/* The card judged the PIN: final, and the card is healthy. */
		hsmg_request_unlink(req);
		q->requests++;
		if (req->type != HSMG_BE_REQ_LOGIN)
			hsmg_request_finish(req, -EPROTO);
		else
			hsmg_request_finish(req, status == HSMG_BE_PIN_LOCKED ?
					    -EKEYEXPIRED : -EACCES);
		break;
	default:
		/*
		 * RETRY, FAILED: re-send elsewhere, count against health.  A
		 * card answering RETRY did not do the work, so even a
		 * NO_RETRY request may go elsewhere; after FAILED nobody knows.
		 */
		hsmg_request_unlink(req);
		hsmg_request_requeue(req, status == HSMG_BE_FAILED);
		hsmg_health_attempt_done(q, false, status == HSMG_BE_FAILED);
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
EXPORT_SYMBOL_GPL(hsmg_provider_complete_buf);

/* hsmg_provider_complete - as hsmg_provider_complete_buf(), copying @data. */
int hsmg_provider_complete(struct hsmg_queue *q, u64 tag, u32 status,
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
	return hsmg_provider_complete_buf(q, tag, status, buf, len);
}
EXPORT_SYMBOL_GPL(hsmg_provider_complete);

/* hsmg_provider_exit - at unload: every queue is detached. */
void hsmg_provider_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&hsmg_qid_xa));
	xa_destroy(&hsmg_qid_xa);
}
