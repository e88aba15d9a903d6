// SPDX-License-Identifier: GPL-2.0
/*
 * Groups, keyed by MKVP, and their member records, keyed by APQN.  Both live
 * until module unload: a group is created when a queue with a new MKVP
 * attaches and stays (maybe empty); an APQN, once seen, stays a member of
 * the group of its first MKVP.
 */
#include "main.h"

#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xarray.h>

#include "group.h"
#include "queue.h"

/* Attach, detach, group creation; the tables below. */
DEFINE_MUTEX(hsmg_topology_lock);

/* Group id -> group; ids 1, 2, 3, ... */
static DEFINE_XARRAY_ALLOC1(hsmg_groups);
/* APQN -> member record (struct hsmg_queue). */
static DEFINE_XARRAY(hsmg_apqns);

int hsmg_groups_init(void)
{
	return 0;
}

/* hsmg_groups_exit - free everything; no provider or client remains. */
void hsmg_groups_exit(void)
{
	struct hsmg_group *g;
	struct hsmg_queue *q, *tmp;
	unsigned long id;

	xa_for_each(&hsmg_groups, id, g) {
		list_for_each_entry_safe(q, tmp, &g->members, group_node) {
			list_del(&q->group_node);
			hsmg_queue_free(q);
		}
		WARN_ON_ONCE(!list_empty(&g->backlogs) ||
			     !list_empty(&g->sessions));
		kfree(g);
	}
	xa_destroy(&hsmg_groups);
	xa_destroy(&hsmg_apqns);
}

/* hsmg_group_find - group by id, or NULL.  Groups are never freed early. */
struct hsmg_group *hsmg_group_find(u32 id)
{
	return xa_load(&hsmg_groups, id);
}

/* hsmg_group_get_or_create - the group of @mkvp (topology lock held). */
struct hsmg_group *hsmg_group_get_or_create(const u8 *mkvp)
{
	struct hsmg_group *g;
	unsigned long id;
	u32 new_id;
	int ret;

	lockdep_assert_held(&hsmg_topology_lock);
	xa_for_each(&hsmg_groups, id, g)
		if (!memcmp(g->mkvp, mkvp, HSMG_MKVP_LEN))
			return g;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return ERR_PTR(-ENOMEM);
	memcpy(g->mkvp, mkvp, HSMG_MKVP_LEN);
	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->members);
	INIT_LIST_HEAD(&g->backlogs);
	INIT_LIST_HEAD(&g->sessions);
	init_waitqueue_head(&g->state_wq);
	/* Publish a complete group: xa_alloc makes it visible to lookups. */
	ret = xa_alloc(&hsmg_groups, &new_id, NULL, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		kfree(g);
		return ERR_PTR(ret);
	}
	g->id = new_id;
	xa_store(&hsmg_groups, new_id, g, GFP_KERNEL);
	pr_info("group %u created\n", g->id);
	return g;
}

/* hsmg_group_member_lookup - member record of @apqn (topology lock held). */
struct hsmg_queue *hsmg_group_member_lookup(u32 apqn)
{
	lockdep_assert_held(&hsmg_topology_lock);
	return xa_load(&hsmg_apqns, apqn);
}

/* hsmg_group_member_add - @q becomes a member of @g for good. */
int hsmg_group_member_add(struct hsmg_group *g, struct hsmg_queue *q)
{
	int ret;

	lockdep_assert_held(&hsmg_topology_lock);
	ret = xa_insert(&hsmg_apqns, HSMG_APQN(q->adapter, q->domain), q,
			GFP_KERNEL);
	if (ret)
		return ret;
	q->group = g;
	spin_lock(&g->lock);
	list_add_tail(&q->group_node, &g->members);
	spin_unlock(&g->lock);
	return 0;
}

u32 hsmg_group_count(void)
{
	struct hsmg_group *g;
	unsigned long id;
	u32 n = 0;

	mutex_lock(&hsmg_topology_lock);
	xa_for_each(&hsmg_groups, id, g)
		n++;
	mutex_unlock(&hsmg_topology_lock);
	return n;
}

/*
 * hsmg_group_list - describe up to @cap groups in @out; *@count is set to the
 * number of groups.  -ENOSPC when @cap is too small.
 */
int hsmg_group_list(struct hsmg_group_info *out, u32 cap, u32 *count)
{
	struct hsmg_group_info *gi;
	struct hsmg_group *g;
	struct hsmg_queue *q;
	unsigned long id;
	u32 n = 0;

	mutex_lock(&hsmg_topology_lock);
	xa_for_each(&hsmg_groups, id, g) {
		if (n < cap) {
			gi = &out[n];
			memset(gi, 0, sizeof(*gi));
			gi->group_id = g->id;
			memcpy(gi->mkvp, g->mkvp, HSMG_MKVP_LEN);
			spin_lock(&g->lock);
			list_for_each_entry(q, &g->members, group_node) {
				if (q->state == HSMG_QS_MISMATCH) {
					gi->nmismatch++;
					continue;
				}
				gi->nmembers++;
				if (q->state == HSMG_QS_ONLINE)
					gi->nonline++;
			}
			gi->requests = g->requests;
			gi->errors = g->errors;
			gi->failovers = g->failovers;
			spin_unlock(&g->lock);
		}
		n++;
	}
	mutex_unlock(&hsmg_topology_lock);
	*count = n;
	return n > cap ? -ENOSPC : 0;
}

/* hsmg_group_list_members - as hsmg_group_list(), for members of @g. */
int hsmg_group_list_members(struct hsmg_group *g, struct hsmg_member_info *out,
			    u32 cap, u32 *count)
{
	struct hsmg_member_info *mi;
	struct hsmg_queue *q;
	u32 n = 0;

	spin_lock(&g->lock);
	list_for_each_entry(q, &g->members, group_node) {
		if (n < cap) {
			mi = &out[n];
			memset(mi, 0, sizeof(*mi));
			mi->queue_id = q->id;
			mi->adapter = q->adapter;
			mi->domain = q->domain;
			mi->state = hsmg_queue_visible_state(q);
			mi->speed = q->speed;
			mi->inflight = q->ninflight;
			mi->pending = q->npending;
			mi->max_inflight = q->max_inflight;
			mi->sessions = q->sessions;
			mi->max_sessions = q->max_sessions;
			mi->requests = q->requests;
			mi->errors = q->errors;
			memcpy(mi->mkvp, q->mkvp, HSMG_MKVP_LEN);
		}
		n++;
	}
	spin_unlock(&g->lock);
	*count = n;
	return n > cap ? -ENOSPC : 0;
}

static bool hsmg_group_online_locked(struct hsmg_group *g)
{
	struct hsmg_queue *q;

	list_for_each_entry(q, &g->members, group_node)
		if (q->state == HSMG_QS_ONLINE && q->attached)
			return true;
	return false;
}

/* hsmg_group_has_online - some member is online (takes the group lock). */
bool hsmg_group_has_online(struct hsmg_group *g)
{
	bool ret;

	spin_lock(&g->lock);
	ret = hsmg_group_online_locked(g);
	spin_unlock(&g->lock);
	return ret;
}
