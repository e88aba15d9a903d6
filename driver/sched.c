// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler.  A request goes to the eligible member with the lowest expected
 * completion time, (assigned weight + request weight) * 100 / speed, like
 * zcrypt's queue picking.  Eligible: online, serves the operation class, has
 * room (fewer than max_inflight assigned), is a standby member only when no
 * active member is online, and, for a logged in session, has the session
 * logged in.  Requests that find no room wait in their client's backlog;
 * backlogs are served round-robin and each client has at most
 * client_inflight_cap requests assigned at once, so a flooding client cannot
 * starve a light one.  A member holds no more than its card serves at once:
 * requests wait where the scheduler still chooses among clients, not in a
 * member's FIFO (a completion assigns the next request before its card
 * fetches again, so the card does not idle for it).  Everything here runs
 * under the group lock.
 */
#include "main.h"

#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "client.h"
#include "group.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

static const u32 hsmg_class_weight[HSMG_OP_NR] = {
	[HSMG_OP_NULL] = 1,
	[HSMG_OP_RANDOM] = 1,
	[HSMG_OP_DIGEST] = 2,
	[HSMG_OP_SYMMETRIC] = 2,
	[HSMG_OP_SIGN] = 10,
	[HSMG_OP_VERIFY] = 5,
	[HSMG_OP_KEYGEN] = 50,
};

u32 hsmg_sched_default_weight(u32 op_class)
{
	return op_class < HSMG_OP_NR ? hsmg_class_weight[op_class] : 1;
}

/* hsmg_sched_active_online - a non-standby member is online. */
bool hsmg_sched_active_online(struct hsmg_group *g)
{
	struct hsmg_queue *q;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node)
		if (q->state == HSMG_QS_ONLINE && !q->standby)
			return true;
	return false;
}

static bool hsmg_sched_can_serve(struct hsmg_queue *q, struct hsmg_request *req,
				 bool active)
{
	struct hsmg_session *s = req->session;

	if (q->state != HSMG_QS_ONLINE || !q->attached)
		return false;
	if (q->standby && active)
		return false;
	if (!(q->capabilities & BIT_ULL(req->op_class)))
		return false;
	if (s && s->logged_in && !hsmg_session_login_done(s, q))
		return false;
	return true;
}

/* hsmg_sched_eligible - some member could serve @req (room aside). */
bool hsmg_sched_eligible(struct hsmg_group *g, struct hsmg_request *req)
{
	bool active = hsmg_sched_active_online(g);
	struct hsmg_queue *q;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node)
		if (hsmg_sched_can_serve(q, req, active))
			return true;
	return false;
}

/* A member given nothing for this long takes the next tie, warm card or not. */
#define HSMG_SCHED_WARM_HOLD (HZ / 10)

/*
 * hsmg_sched_prefer - between two members of equal cost, @q rather than
 * @best.  A member whose card spins for its next request now takes the
 * request without being woken (hsmg_busy_poll()), so it goes first, and an
 * idle group answers a lone client from one warm card; but a member given
 * nothing for HSMG_SCHED_WARM_HOLD takes its turn anyway, so every member
 * (also one back from an outage) keeps serving under any load.  Otherwise
 * the member picked longest ago: round robin among equals.  (Not the one
 * with fewer lifetime requests: a member back from an outage would take
 * every tie until it caught up.)
 */
static bool hsmg_sched_prefer(struct hsmg_queue *q, struct hsmg_queue *best)
{
	bool hot = READ_ONCE(q->polling);
	struct hsmg_queue *cold = hot ? best : q;

	if (hot != READ_ONCE(best->polling) &&
	    time_before(jiffies, cold->picked_at + HSMG_SCHED_WARM_HOLD))
		return hot;
	return q->last_pick < best->last_pick;
}

static struct hsmg_queue *hsmg_sched_pick(struct hsmg_group *g,
					  struct hsmg_request *req, bool active)
{
	struct hsmg_queue *q, *best = NULL;
	u64 cost, best_cost = U64_MAX;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node) {
		if (!hsmg_sched_can_serve(q, req, active))
			continue;
		if (q->npending + q->ninflight >= q->max_inflight)
			continue;
		cost = div_u64((q->assigned_weight + req->weight) * 100,
			       q->speed);
		if (cost < best_cost ||
		    (best && cost == best_cost && hsmg_sched_prefer(q, best))) {
			best = q;
			best_cost = cost;
		}
	}
	if (best) {
		best->last_pick = ++g->picks;
		best->picked_at = jiffies;
	}
	return best;
}

/*
 * hsmg_sched_backlog - the backlog of @c in @g, created at first use.
 * Process context, group lock not held.  The client's threads submitting to
 * the group they used last do not take the client lock.
 */
struct hsmg_backlog *hsmg_sched_backlog(struct hsmg_client *c,
					struct hsmg_group *g)
{
	struct hsmg_backlog *bl;

	/* Pairs with the release below: a published backlog is complete. */
	bl = smp_load_acquire(&c->last_backlog);
	if (bl && bl->group == g)
		return bl;
	mutex_lock(&c->lock);
	list_for_each_entry(bl, &c->backlogs, client_node)
		if (bl->group == g)
			goto out;
	bl = kzalloc(sizeof(*bl), GFP_KERNEL);
	if (!bl)
		goto out;
	INIT_LIST_HEAD(&bl->reqs);
	bl->client = c;
	bl->group = g;
	list_add(&bl->client_node, &c->backlogs);
	spin_lock(&g->lock);
	list_add_tail(&bl->group_node, &g->backlogs);
	spin_unlock(&g->lock);
	/* Complete and listed before lockless readers see it. */
	smp_store_release(&c->last_backlog, bl);
out:
	mutex_unlock(&c->lock);
	return bl;
}

/* hsmg_sched_backlog_free - at client release; the backlog is empty. */
void hsmg_sched_backlog_free(struct hsmg_backlog *bl)
{
	struct hsmg_group *g = bl->group;

	spin_lock(&g->lock);
	WARN_ON_ONCE(!list_empty(&bl->reqs));
	list_del(&bl->group_node);
	spin_unlock(&g->lock);
	list_del(&bl->client_node);
	kfree(bl);
}

/* hsmg_sched_enqueue - put a client request in its backlog. */
void hsmg_sched_enqueue(struct hsmg_request *req, bool front)
{
	lockdep_assert_held(&req->group->lock);
	if (front)
		list_add(&req->node, &req->backlog->reqs);
	else
		list_add_tail(&req->node, &req->backlog->reqs);
	WRITE_ONCE(req->state, HSMG_RS_BACKLOG);
}

/*
 * hsmg_sched_dispatch - assign waiting requests to members: one request of
 * each backlog in turn, the served backlog going to the end of the line.
 */
void hsmg_sched_dispatch(struct hsmg_group *g)
{
	unsigned int cap = READ_ONCE(hsmg_client_inflight_cap);
	bool active = hsmg_sched_active_online(g);
	struct hsmg_backlog *bl;
	struct hsmg_request *req;
	struct hsmg_queue *q;
	bool progress;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node)
		hsmg_queue_check_drained(q);
	do {
		progress = false;
		list_for_each_entry(bl, &g->backlogs, group_node) {
			if (list_empty(&bl->reqs))
				continue;
			if (cap && atomic_read(&bl->client->assigned) >= cap)
				continue;
			req = list_first_entry(&bl->reqs, struct hsmg_request,
					       node);
			q = hsmg_sched_pick(g, req, active);
			if (!q)
				continue;
			hsmg_request_assign(req, q);
			list_move_tail(&bl->group_node, &g->backlogs);
			progress = true;
			break;
		}
	} while (progress);
}
