// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions and their logins on the members of a group.
 *
 * A session logs in on every online member (and standby member) at once and
 * all of them must return the same pin-blob.  While it is logged in the
 * kernel keeps its LOGIN payload so that a member joining later (attach or
 * recovery) is logged in eagerly before it goes online; the session's
 * requests only go to members where its login is done.  Logout (and the
 * release of the client's file) logs it out everywhere.
 */
#include "main.h"

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "event.h"
#include "group.h"
#include "pinguard.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

static atomic64_t hsmg_next_session;
/* Sessions and login records alive, checked at unload. */
static atomic_t hsmg_sessions_live = ATOMIC_INIT(0);
static atomic_t hsmg_recs_live = ATOMIC_INIT(0);

void hsmg_session_init(void)
{
	atomic64_set(&hsmg_next_session, (u64)get_random_u32() << 32);
}

void hsmg_session_exit(void)
{
	WARN(atomic_read(&hsmg_sessions_live) || atomic_read(&hsmg_recs_live),
	     "hsmgroup: %d sessions, %d login records leaked\n",
	     atomic_read(&hsmg_sessions_live), atomic_read(&hsmg_recs_live));
}

/* Every open session, in id order (listing, admin end). */
DEFINE_MUTEX(hsmg_sessions_mutex);
static LIST_HEAD(hsmg_sessions_all);

/*
 * hsmg_session_next - the listed session after @s (NULL: the first), in id
 * order, or NULL.  hsmg_sessions_mutex held; walk with
 * for (s = hsmg_session_next(NULL); s; s = hsmg_session_next(s)).
 */
struct hsmg_session *hsmg_session_next(struct hsmg_session *s)
{
	struct list_head *next;

	lockdep_assert_held(&hsmg_sessions_mutex);
	next = s ? s->all_node.next : hsmg_sessions_all.next;
	if (next == &hsmg_sessions_all)
		return NULL;
	return list_entry(next, struct hsmg_session, all_node);
}

/* hsmg_session_find - the listed session @id, or NULL.  Mutex held. */
struct hsmg_session *hsmg_session_find(u64 id)
{
	struct hsmg_session *s;

	for (s = hsmg_session_next(NULL); s; s = hsmg_session_next(s))
		if (s->id == id)
			return s;
	return NULL;
}

/*
 * hsmg_session_new - a session of the calling process on @g, listed (in id
 * order) until hsmg_session_end().
 */
struct hsmg_session *hsmg_session_new(struct hsmg_group *g, u32 flags)
{
	struct hsmg_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return NULL;
	atomic_inc(&hsmg_sessions_live);
	kref_init(&s->ref);
	mutex_init(&s->op_lock);
	INIT_LIST_HEAD(&s->logins);
	INIT_LIST_HEAD(&s->group_node);
	init_waitqueue_head(&s->idle_wq);
	s->group = g;
	s->flags = flags;
	s->owner = get_task_pid(current, PIDTYPE_TGID);
	s->owner_uid = current_euid();
	get_task_comm(s->owner_comm, current);
	mutex_lock(&hsmg_sessions_mutex);
	s->id = atomic64_inc_return(&hsmg_next_session);
	list_add_tail(&s->all_node, &hsmg_sessions_all);
	mutex_unlock(&hsmg_sessions_mutex);
	return s;
}

/**
 * hsmg_session_end - its owner let go of @s (close, or release of the file):
 * no longer listed, logged out on every member, and a login of another
 * thread that still holds a reference fails instead of logging in a session
 * nobody can close.
 * @s: the session.
 * @wait: wait for the members to answer the LOGOUTs.
 */
void hsmg_session_end(struct hsmg_session *s, bool wait)
{
	mutex_lock(&hsmg_sessions_mutex);
	list_del_init(&s->all_node);
	mutex_unlock(&hsmg_sessions_mutex);
	mutex_lock(&s->op_lock);
	s->closed = true;
	mutex_unlock(&s->op_lock);
	hsmg_session_logout(s, wait);
}

/**
 * hsmg_session_revoke - an administrator ends session @id: it is logged out
 * on every member and its owner's later calls on it fail.
 * @id: coprocessor session id.
 *
 * Return: 0, -ENOENT when no open session has @id.
 */
int hsmg_session_revoke(u64 id)
{
	struct hsmg_session *found;

	mutex_lock(&hsmg_sessions_mutex);
	found = hsmg_session_find(id);
	if (found)
		hsmg_session_get(found);
	mutex_unlock(&hsmg_sessions_mutex);
	if (!found)
		return -ENOENT;
	WRITE_ONCE(found->revoked, true);
	pr_info("group %u: session %llx ended by admin\n", found->group->id,
		found->id);
	hsmg_session_logout(found, true);
	hsmg_event_group(found->group, HSMG_EVENT_SESSION_END, found->id,
			 "ended by admin");
	hsmg_session_put(found);
	return 0;
}

void hsmg_session_get(struct hsmg_session *s)
{
	kref_get(&s->ref);
}

static void hsmg_session_release(struct kref *ref)
{
	struct hsmg_session *s = container_of(ref, struct hsmg_session, ref);

	WARN_ON_ONCE(s->logged_in || !list_empty(&s->logins) ||
		     !list_empty(&s->all_node));
	put_pid(s->owner);
	kfree_sensitive(s->login_msg);
	mutex_destroy(&s->op_lock);
	kfree_sensitive(s);	/* the pin-blob */
	atomic_dec(&hsmg_sessions_live);
}

void hsmg_session_put(struct hsmg_session *s)
{
	kref_put(&s->ref, hsmg_session_release);
}

/* hsmg_session_login_done - @s is logged in on @q (group lock). */
bool hsmg_session_login_done(struct hsmg_session *s, struct hsmg_queue *q)
{
	struct hsmg_login_rec *rec;

	lockdep_assert_held(&q->group->lock);
	list_for_each_entry(rec, &s->logins, s_node)
		if (rec->queue == q)
			return rec->done;
	return false;
}

static bool hsmg_session_has_rec(struct hsmg_session *s, struct hsmg_queue *q)
{
	struct hsmg_login_rec *rec;

	list_for_each_entry(rec, &s->logins, s_node)
		if (rec->queue == q)
			return true;
	return false;
}

/*
 * A login record of @s on @q, with the LOGOUT that will end it: a login
 * that cannot have its LOGOUT fails here instead of leaving a session on
 * the card that nothing could end.
 */
static struct hsmg_login_rec *hsmg_login_rec_add(struct hsmg_session *s,
						 struct hsmg_queue *q)
{
	struct hsmg_login_rec *rec = kzalloc(sizeof(*rec), GFP_ATOMIC);

	if (!rec)
		return NULL;
	rec->logout = hsmg_request_kernel(q, HSMG_BE_REQ_LOGOUT, s->id,
					  s->flags, NULL, 0);
	if (!rec->logout) {
		kfree(rec);
		return NULL;
	}
	atomic_inc(&hsmg_recs_live);
	rec->session = s;
	rec->queue = q;
	list_add_tail(&rec->s_node, &s->logins);
	list_add_tail(&rec->q_node, &q->logins);
	q->sessions++;
	return rec;
}

static void hsmg_login_rec_del(struct hsmg_login_rec *rec)
{
	list_del(&rec->s_node);
	list_del(&rec->q_node);
	rec->queue->sessions--;
	if (rec->req) {
		/* The LOGIN answers later: it logs out if it worked. */
		rec->req->login_rec = NULL;
		swap(rec->req->logout, rec->logout);
	}
	if (rec->logout)
		hsmg_request_put(rec->logout);
	kfree_sensitive(rec);
	atomic_dec(&hsmg_recs_live);
}

/*
 * hsmg_session_send_logout - send the LOGOUT @req, allocated at login, to
 * its queue (its reference goes to the group; to nobody when the queue is
 * detached); with @wait the caller gets a reference and the request on its
 * list.  Group lock.  Needs no memory: release cannot fail to log out.
 */
static void hsmg_session_send_logout(struct hsmg_request *req,
				     struct list_head *wait)
{
	struct hsmg_queue *q = req->pin;

	lockdep_assert_held(&q->group->lock);
	if (!q->attached) {
		hsmg_request_put(req);
		return;
	}
	if (wait) {
		kref_get(&req->ref);
		list_add_tail(&req->fan_node, wait);
	}
	hsmg_request_assign(req, q);
}

/* The LOGOUT of @rec, to send: the record no longer frees it. */
static struct hsmg_request *hsmg_login_rec_logout(struct hsmg_login_rec *rec)
{
	struct hsmg_request *req = rec->logout;

	rec->logout = NULL;
	return req;
}

/* Called under the group lock when a LOGIN (explicit or eager) is done. */
static void hsmg_session_login_end(struct hsmg_request *req)
{
	struct hsmg_login_rec *rec = req->login_rec;
	struct hsmg_session *s = req->session;
	struct hsmg_queue *q = req->pin;
	bool ok = !req->result && req->resp_len == HSMG_PIN_BLOB_LEN;

	lockdep_assert_held(&req->group->lock);
	if (!req->result && !ok)
		pr_warn("queue %02x.%04x group %u: login answer of %u bytes, treated as failed\n",
			q->adapter, q->domain, q->group->id, req->resp_len);
	if (rec) {
		rec->req = NULL;
		req->login_rec = NULL;
	}
	if (!rec) {
		/* Logged out or detached meanwhile: undo a login that worked. */
		if (ok && req->logout) {
			hsmg_session_send_logout(req->logout, NULL);
			req->logout = NULL;
		}
	} else if (!ok) {
		if (req->result == -EDQUOT)
			pr_info_ratelimited("queue %02x.%04x group %u: session quota full, session %llx not logged in there\n",
					    q->adapter, q->domain, q->group->id,
					    s->id);
		hsmg_login_rec_del(rec);
	} else {
		memcpy(rec->blob, req->resp, HSMG_PIN_BLOB_LEN);
		rec->done = true;
		if (req->eager && s->logged_in &&
		    memcmp(rec->blob, s->pin_blob, HSMG_PIN_BLOB_LEN)) {
			pr_err("queue %02x.%04x group %u: pin-blob of session %llx differs from the other members'; queue not used\n",
			       q->adapter, q->domain, q->group->id, s->id);
			hsmg_queue_set_state(q, HSMG_QS_MISMATCH,
					     "pin-blob differs");
		}
	}
	if (req->eager) {
		q->recover_pending--;
		/* Sessions that logged in meanwhile are logged in too. */
		if (!q->recover_pending && q->state == HSMG_QS_RECOVERING &&
		    !hsmg_session_recover_queue(q))
			hsmg_queue_set_state(q, HSMG_QS_ONLINE,
					     "sessions logged in");
	}
}

/*
 * hsmg_session_login_req - a LOGIN of @s pinned to @q, with its record.
 * Group lock held.  Returns the request (assigned) or NULL.
 */
static struct hsmg_request *hsmg_session_login_req(struct hsmg_session *s,
						   struct hsmg_queue *q,
						   const void *msg, u32 len)
{
	struct hsmg_login_rec *rec;
	struct hsmg_request *req;
	void *copy;

	lockdep_assert_held(&s->group->lock);
	copy = kmemdup(msg, len, GFP_ATOMIC);
	if (!copy)
		return NULL;
	req = hsmg_request_kernel(q, HSMG_BE_REQ_LOGIN, s->id, s->flags, copy,
				  len);
	if (!req)
		return NULL;
	rec = hsmg_login_rec_add(s, q);
	if (!rec) {
		hsmg_request_put(req);
		return NULL;
	}
	hsmg_session_get(s);
	req->session = s;
	req->login_rec = rec;
	rec->req = req;
	req->end = hsmg_session_login_end;
	return req;
}

static bool hsmg_quota_full(struct hsmg_queue *q)
{
	return q->max_sessions && q->sessions >= q->max_sessions;
}

/*
 * hsmg_session_recover_queue - log every logged in session of the group in
 * on @q (recovering).  Returns whether LOGINs are on their way.  Group lock.
 */
bool hsmg_session_recover_queue(struct hsmg_queue *q)
{
	struct hsmg_group *g = q->group;
	struct hsmg_request *req;
	struct hsmg_session *s;

	lockdep_assert_held(&q->group->lock);
	list_for_each_entry(s, &g->sessions, group_node) {
		if (hsmg_session_has_rec(s, q))
			continue;
		if (hsmg_quota_full(q)) {
			pr_info_ratelimited("queue %02x.%04x group %u: session quota full, session %llx not logged in there\n",
					    q->adapter, q->domain, g->id, s->id);
			continue;
		}
		req = hsmg_session_login_req(s, q, s->login_msg, s->login_len);
		if (!req) {
			pr_warn("queue %02x.%04x group %u: no memory to log session %llx in\n",
				q->adapter, q->domain, g->id, s->id);
			continue;
		}
		req->eager = true;
		q->recover_pending++;
		hsmg_request_assign(req, q);
	}
	return q->recover_pending;
}

/*
 * hsmg_session_drop_queue - forget the logins on @q (detached, or held in
 * mismatch: then @logout ends them on the card).  Group lock.
 */
void hsmg_session_drop_queue(struct hsmg_queue *q, bool logout)
{
	struct hsmg_login_rec *rec, *tmp;

	lockdep_assert_held(&q->group->lock);
	list_for_each_entry_safe(rec, tmp, &q->logins, q_node) {
		if (logout && rec->done)
			hsmg_session_send_logout(hsmg_login_rec_logout(rec), NULL);
		hsmg_login_rec_del(rec);
	}
}

/* Drop every login record of @s, logging out where it is done. Group lock. */
static void hsmg_session_drop_all(struct hsmg_session *s,
				  struct list_head *wait)
{
	struct hsmg_login_rec *rec, *tmp;

	lockdep_assert_held(&s->group->lock);
	list_for_each_entry_safe(rec, tmp, &s->logins, s_node) {
		if (rec->done)
			hsmg_session_send_logout(hsmg_login_rec_logout(rec), wait);
		hsmg_login_rec_del(rec);
	}
}

static void hsmg_session_wait_list(struct list_head *list, unsigned long end)
{
	struct hsmg_request *req, *tmp;
	long left;

	list_for_each_entry_safe(req, tmp, list, fan_node) {
		left = (long)(end - jiffies);
		if (left > 0)
			wait_event_timeout(req->wq, READ_ONCE(req->done), left);
		list_del_init(&req->fan_node);
		hsmg_request_put(req);
	}
}

static void hsmg_session_log_disagreement(struct hsmg_session *s)
{
	struct hsmg_login_rec *rec, *first = NULL;

	list_for_each_entry(rec, &s->logins, s_node) {
		if (!rec->done)
			continue;
		if (!first)
			first = rec;
		pr_err("group %u: session %llx login: queue %02x.%04x returned %s pin-blob\n",
		       s->group->id, s->id, rec->queue->adapter,
		       rec->queue->domain,
		       memcmp(rec->blob, first->blob, HSMG_PIN_BLOB_LEN) ?
		       "a different" : "the first");
	}
}

static bool hsmg_session_any_online(struct hsmg_group *g)
{
	struct hsmg_queue *q;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node)
		if (hsmg_group_member_online(q))
			return true;
	return false;
}

/*
 * One step of waiting for a member to come online, until @end (the end of
 * the hold time).  The caller checks again under the group lock (so that
 * the lock is taken and released in one function, as sparse checks).
 */
static int hsmg_session_wait_online(struct hsmg_group *g, unsigned long end)
{
	long left = (long)(end - jiffies);

	if (left <= 0)
		return -ENODEV;
	if (wait_event_interruptible_timeout(g->state_wq,
					     hsmg_group_has_online(g),
					     left) < 0)
		return -EINTR;
	return 0;
}

/*
 * The LOGIN payload: struct hsmg_be_login, the PIN, the card-PIN, the
 * authentication record.
 */
static u8 *hsmg_session_login_msg(u32 flags, const struct hsmg_login_secrets *ls,
				  u32 *len)
{
	struct hsmg_be_login *hdr;
	u8 *msg, *p;

	*len = sizeof(*hdr) + ls->pin_len + ls->cardpin_len + ls->record_len;
	msg = kzalloc(*len, GFP_KERNEL);
	if (!msg)
		return NULL;
	hdr = (struct hsmg_be_login *)msg;
	hdr->flags = flags;
	hdr->pin_len = ls->pin_len;
	hdr->cardpin_len = ls->cardpin_len;
	hdr->record_len = ls->record_len;
	p = msg + sizeof(*hdr);
	memcpy(p, ls->pin, ls->pin_len);
	p += ls->pin_len;
	if (ls->cardpin_len)
		memcpy(p, ls->cardpin, ls->cardpin_len);
	p += ls->cardpin_len;
	if (ls->record_len)
		memcpy(p, ls->record, ls->record_len);
	return msg;
}

/* Whether @s may log in now.  s->op_lock held. */
static int hsmg_session_may_login(struct hsmg_session *s)
{
	lockdep_assert_held(&s->op_lock);
	if (s->closed)
		return -ENOENT;
	if (READ_ONCE(s->revoked))
		return -EKEYREVOKED;
	if (s->logged_in)
		return -EBUSY;
	return 0;
}

/*
 * Send a LOGIN of @s to every online member, each on @fan with a reference
 * for the caller; none when a member's session quota is full (-EDQUOT).
 * Group lock held.  Returns 0, -EDQUOT, or -ENOMEM when not every member
 * got its LOGIN (those on @fan are under way).
 */
static int hsmg_session_login_send(struct hsmg_session *s, const u8 *msg,
				   u32 len, struct list_head *fan)
{
	struct hsmg_group *g = s->group;
	struct hsmg_request *req;
	struct hsmg_queue *q;
	bool quota = false;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node) {
		if (!hsmg_group_member_online(q))
			continue;
		if (hsmg_quota_full(q)) {
			pr_info("queue %02x.%04x group %u: session quota full (%u)\n",
				q->adapter, q->domain, g->id, q->max_sessions);
			quota = true;
		}
	}
	if (quota)
		return -EDQUOT;
	list_for_each_entry(q, &g->members, group_node) {
		if (!hsmg_group_member_online(q))
			continue;
		req = hsmg_session_login_req(s, q, msg, len);
		if (!req)
			return -ENOMEM;
		kref_get(&req->ref);
		list_add_tail(&req->fan_node, fan);
		hsmg_request_assign(req, q);
	}
	return 0;
}

/*
 * The outcome once every LOGIN on @fan is done: -EKEYEXPIRED when a
 * member has locked the PIN, -EACCES when one found it wrong, -EDQUOT
 * when a member's quota was full, -EKEYREJECTED when the members' pin-blobs differ (logged),
 * -ENODEV when no member logged in, else 0 with *@first the first member's
 * record.  *@n: members logged in.  Group lock held.
 */
static int hsmg_session_login_outcome(struct hsmg_session *s,
				      struct list_head *fan,
				      struct hsmg_login_rec **first, u32 *n)
{
	struct hsmg_login_rec *rec;
	struct hsmg_request *req;
	bool quota = false, differ = false, locked = false, wrong = false;

	lockdep_assert_held(&s->group->lock);
	list_for_each_entry(req, fan, fan_node) {
		if (req->result == -EDQUOT)
			quota = true;
		if (req->result == -EKEYEXPIRED)
			locked = true;
		if (req->result == -EACCES)
			wrong = true;
	}
	*first = NULL;
	*n = 0;
	list_for_each_entry(rec, &s->logins, s_node) {
		if (!rec->done)
			continue;
		(*n)++;
		if (!*first)
			*first = rec;
		else if (memcmp(rec->blob, (*first)->blob, HSMG_PIN_BLOB_LEN))
			differ = true;
	}
	/* A member that judged the PIN wrong or locked decides. */
	if (locked)
		return -EKEYEXPIRED;
	if (wrong)
		return -EACCES;
	if (differ)
		hsmg_session_log_disagreement(s);
	if (quota)
		return -EDQUOT;
	if (differ)
		return -EKEYREJECTED;
	if (!*n)
		return -ENODEV;
	return 0;
}

/*
 * @s is logged in with @blob; it keeps @msg to log in members that join
 * later.  Group lock held.
 */
static void hsmg_session_logged_in(struct hsmg_session *s, const u8 *blob,
				   u8 *msg, u32 len)
{
	lockdep_assert_held(&s->group->lock);
	memcpy(s->pin_blob, blob, HSMG_PIN_BLOB_LEN);
	s->logged_in = true;
	list_add_tail(&s->group_node, &s->group->sessions);
	s->login_msg = msg;
	s->login_len = len;
}

/* Drop the caller's references on the requests of @fan. */
static void hsmg_session_fan_put(struct list_head *fan)
{
	struct hsmg_request *req, *tmp;

	list_for_each_entry_safe(req, tmp, fan, fan_node) {
		list_del_init(&req->fan_node);
		hsmg_request_put(req);
	}
}

/**
 * hsmg_session_login - log @s in on every online member.
 * @s: the session.
 * @flags: HSMG_LOGIN_*.
 * @ls: the PIN, card-PIN and authentication record (lengths checked).
 * @members: members logged in on (out).
 * @pin_blob: the common pin-blob (out).
 *
 * With a record, the login waits its turn and the delay the group's count
 * of failures of that token and user imposes (pinguard.c), and counts.
 *
 * Return: 0, -ENOENT (closed meanwhile), -EBUSY (logged in), -ENODEV (no
 * member online within the hold time), -EDQUOT (a member's quota is full),
 * -EKEYREJECTED (members returned different pin-blobs), -EACCES (wrong
 * PIN), -EKEYEXPIRED (PIN locked), -EAGAIN (too many logins with a record
 * at once), -EINTR, -ENOMEM.
 */
int hsmg_session_login(struct hsmg_session *s, u32 flags,
		       const struct hsmg_login_secrets *ls, u32 *members,
		       u8 *pin_blob)
{
	struct hsmg_group *g = s->group;
	struct hsmg_pin_fails *guard = NULL;
	struct hsmg_login_rec *first;
	struct hsmg_request *req;
	unsigned long end;
	LIST_HEAD(fan);
	int ret, err;
	u32 len, n;
	u8 *msg;

	msg = hsmg_session_login_msg(flags, ls, &len);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&s->op_lock);
	ret = hsmg_session_may_login(s);
	if (ret)
		goto out;
	if (ls->record_len) {
		ret = hsmg_pinguard_enter(g, (const void *)ls->record, &guard);
		if (ret)
			goto out;
	}
	end = jiffies +
		msecs_to_jiffies(hsmg_policy(g, HSMG_POLICY_A_HOLD_TIME_MS));
	for (;;) {
		spin_lock(&g->lock);
		if (hsmg_session_any_online(g))
			break;
		spin_unlock(&g->lock);
		ret = hsmg_session_wait_online(g, end);
		if (ret)
			goto out;
	}
	ret = hsmg_session_login_send(s, msg, len, &fan);
	spin_unlock(&g->lock);
	if (ret == -EDQUOT)
		goto out;

	/* Bounded: every attempt ends by its deadline at the latest. */
	list_for_each_entry(req, &fan, fan_node)
		wait_event(req->wq, READ_ONCE(req->done));

	spin_lock(&g->lock);
	err = hsmg_session_login_outcome(s, &fan, &first, &n);
	if (!ret)
		ret = err;
	if (ret) {
		hsmg_session_drop_all(s, NULL);
	} else {
		hsmg_session_logged_in(s, first->blob, msg, len);
		memcpy(pin_blob, first->blob, HSMG_PIN_BLOB_LEN);
		msg = NULL;
		*members = n;
	}
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	hsmg_session_fan_put(&fan);
out:
	if (guard)
		hsmg_pinguard_leave(g, guard, ret);
	mutex_unlock(&s->op_lock);
	kfree_sensitive(msg);
	return ret;
}

/**
 * hsmg_session_logout - log @s out on every member.
 * @s: the session.
 * @wait: wait (at most request_timeout_ms) for the members to answer.
 *
 * Return: 0, or -EINVAL when @s is not logged in.
 */
int hsmg_session_logout(struct hsmg_session *s, bool wait)
{
	struct hsmg_group *g = s->group;
	unsigned long end;
	LIST_HEAD(fan);
	void *msg;

	mutex_lock(&s->op_lock);
	spin_lock(&g->lock);
	if (!s->logged_in) {
		spin_unlock(&g->lock);
		mutex_unlock(&s->op_lock);
		return -EINVAL;
	}
	s->logged_in = false;
	list_del_init(&s->group_node);
	hsmg_session_drop_all(s, wait ? &fan : NULL);
	msg = s->login_msg;
	s->login_msg = NULL;
	hsmg_sched_dispatch(g);
	spin_unlock(&g->lock);
	kfree_sensitive(msg);

	end = jiffies + hsmg_attempt_jiffies(g);
	hsmg_session_wait_list(&fan, end);
	mutex_unlock(&s->op_lock);
	return 0;
}
