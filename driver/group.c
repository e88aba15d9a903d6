// SPDX-License-Identifier: GPL-2.0
/*
 * Groups, keyed by MKVP, and their member records, keyed by APQN.  Both live
 * until module unload: a group is created when a queue with a new MKVP
 * attaches and stays (maybe empty); an APQN, once seen, stays a member of
 * the group of its first MKVP.
 */
#include "main.h"

#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xarray.h>

#include "compat.h"
#include "group.h"
#include "pinguard.h"
#include "queue.h"
#include "sysfs.h"

/* Attach, detach, group creation; the tables below. */
DEFINE_MUTEX(hsmg_topology_lock);

/* Group id -> group; ids 1, 2, 3, ... */
static DEFINE_XARRAY_ALLOC1(hsmg_groups);
/* APQN -> member record (struct hsmg_queue). */
static DEFINE_XARRAY(hsmg_apqns);

/* hsmg_groups_exit - free everything; no provider or client remains. */
void hsmg_groups_exit(void)
{
	struct hsmg_group *g;
	struct hsmg_queue *q, *tmp;
	unsigned long id;

	xa_for_each(&hsmg_groups, id, g) {
		list_for_each_entry_safe(q, tmp, &g->members, group_node) {
			hsmg_sysfs_queue_del(q);
			list_del(&q->group_node);
			hsmg_queue_free(q);
		}
		hsmg_sysfs_group_del(g);
		WARN_ON_ONCE(!list_empty(&g->backlogs) ||
			     !list_empty(&g->sessions) || g->assigned);
		hsmg_pinguard_free(g);
		mutex_destroy(&g->pin_lock);
		kfree(g);
	}
	xa_destroy(&hsmg_groups);
	xa_destroy(&hsmg_apqns);
}

/* Module parameter each policy value follows until set for a group. */
static unsigned int *const hsmg_policy_params[HSMG_POLICY_NVALUES + 1] = {
	[HSMG_POLICY_A_RECOVERY_INTERVAL_MS] = &hsmg_recovery_interval_ms,
	[HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS] = &hsmg_recovery_backoff_max_ms,
	[HSMG_POLICY_A_RECOVERY_RETRIES] = &hsmg_recovery_retries,
	[HSMG_POLICY_A_HOLD_TIME_MS] = &hsmg_hold_time_ms,
	[HSMG_POLICY_A_REQUEST_TIMEOUT_MS] = &hsmg_request_timeout_ms,
	[HSMG_POLICY_A_KEYGEN_TIMEOUT_MS] = &hsmg_keygen_timeout_ms,
	[HSMG_POLICY_A_SUSPECT_THRESHOLD] = &hsmg_suspect_threshold,
	[HSMG_POLICY_A_MAX_ATTEMPTS] = &hsmg_max_attempts,
};

/* hsmg_policy_default - the module parameter behind policy value @attr. */
u32 hsmg_policy_default(int attr)
{
	if (WARN_ON_ONCE(attr < 1 || attr > HSMG_POLICY_NVALUES))
		return 0;
	return READ_ONCE(*hsmg_policy_params[attr]);
}

/*
 * hsmg_policy - value @attr (enum hsmg_policy_attr) of @g's policy: the one
 * set for the group, else the module parameter.  Any context, no lock: a
 * value changing meanwhile is seen at the next use.
 */
u32 hsmg_policy(struct hsmg_group *g, int attr)
{
	if (READ_ONCE(g->overrides) & BIT(attr))
		return READ_ONCE(g->policy[attr]);
	return hsmg_policy_default(attr);
}

/*
 * hsmg_group_set_policy - values of @vals whose bit is in @set are set for
 * @g, those in @reset follow the module parameters again (before @set).  The
 * merged policy must be consistent; else -EINVAL, *@why says why and nothing
 * changes.  Process context.
 */
int hsmg_group_set_policy(struct hsmg_group *g, const u32 *vals, u32 set,
			  u32 reset, const char **why)
{
	u32 merged[HSMG_POLICY_NVALUES + 1], ov;
	int a;

	spin_lock(&g->lock);
	ov = (g->overrides & ~reset) | set;
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++) {
		if (set & BIT(a))
			merged[a] = vals[a];
		else if (ov & BIT(a))
			merged[a] = g->policy[a];
		else
			merged[a] = hsmg_policy_default(a);
	}
	if (merged[HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS] <
	    merged[HSMG_POLICY_A_RECOVERY_INTERVAL_MS]) {
		spin_unlock(&g->lock);
		*why = "recovery_backoff_max_ms below recovery_interval_ms";
		return -EINVAL;
	}
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
		if (set & BIT(a))
			WRITE_ONCE(g->policy[a], vals[a]);
	WRITE_ONCE(g->overrides, ov);
	spin_unlock(&g->lock);
	return 0;
}

/* hsmg_group_next - the group after id *@id (start at 0), or NULL. */
struct hsmg_group *hsmg_group_next(unsigned long *id)
{
	struct hsmg_group *g;

	(*id)++;
	g = xa_find(&hsmg_groups, id, ULONG_MAX, XA_PRESENT);
	return g;
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
	mutex_init(&g->pin_lock);
	INIT_LIST_HEAD(&g->pin_fails);
	init_waitqueue_head(&g->pin_wq);
	g->offline_since = jiffies;
	/* Publish a complete group: xa_alloc makes it visible to lookups. */
	ret = xa_alloc(&hsmg_groups, &new_id, NULL, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		kfree(g);
		return ERR_PTR(ret);
	}
	g->id = new_id;
	xa_store(&hsmg_groups, new_id, g, GFP_KERNEL);
	pr_info("group %u created\n", g->id);
	hsmg_sysfs_group_add(g);
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
	struct hsmg_group_counts c;
	struct hsmg_group_info *gi;
	struct hsmg_group *g;
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
			hsmg_group_counts(g, &c);
			gi->nmembers = c.members;
			gi->nmismatch = c.mismatch;
			gi->nonline = c.online;
			gi->requests = g->requests;
			gi->errors = g->errors;
			gi->failovers = g->failovers;
			gi->hold_time_ms =
				hsmg_policy(g, HSMG_POLICY_A_HOLD_TIME_MS);
			gi->offline_ms = hsmg_group_offline_ms(g);
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

/*
 * hsmg_group_member_online - @q serves: attached and ONLINE (a standby
 * member too, also while it idles).  The one definition of "online" that
 * every count, the token's presence and the hold time use.  Group lock held.
 */
bool hsmg_group_member_online(const struct hsmg_queue *q)
{
	lockdep_assert_held(&q->group->lock);
	return q->attached && q->state == HSMG_QS_ONLINE;
}

/* hsmg_group_counts - count the members and sessions of @g.  Lock held. */
void hsmg_group_counts(struct hsmg_group *g, struct hsmg_group_counts *c)
{
	struct hsmg_queue *q;

	lockdep_assert_held(&g->lock);
	memset(c, 0, sizeof(*c));
	list_for_each_entry(q, &g->members, group_node) {
		c->attached += q->attached;
		c->online += hsmg_group_member_online(q);
		c->transitions += q->transitions;
		if (q->state == HSMG_QS_MISMATCH)
			c->mismatch++;
		else
			c->members++;
	}
	c->sessions = list_count_nodes(&g->sessions);
}

static bool hsmg_group_online_locked(struct hsmg_group *g)
{
	struct hsmg_queue *q;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(q, &g->members, group_node)
		if (hsmg_group_member_online(q))
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

/*
 * hsmg_group_update_online - note when the last online member leaves (the
 * hold time runs from then).  Group lock held; at every state change.
 */
void hsmg_group_update_online(struct hsmg_group *g)
{
	bool on = hsmg_group_online_locked(g);

	lockdep_assert_held(&g->lock);
	if (g->any_online && !on)
		g->offline_since = jiffies;
	g->any_online = on;
}

/* hsmg_group_offline_ms - ms without an online member, 0 with one.  Lock. */
u32 hsmg_group_offline_ms(struct hsmg_group *g)
{
	lockdep_assert_held(&g->lock);
	if (hsmg_group_online_locked(g))
		return 0;
	return min_t(u64, jiffies_to_msecs(jiffies - g->offline_since),
		     U32_MAX);
}
