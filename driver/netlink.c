// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "hsmgroup": list groups, queues, sessions and
 * counters; set queue admin state and weight; set group policy; end
 * sessions; multicast events.
 *
 * Handlers run in process context, serialized by the genetlink mutex.  They
 * read groups and member records (never freed before unload) under the
 * group lock, building messages in preallocated skbs (no sleeping there).
 * Dumps resume by group id and member index, or by session id, so attach,
 * detach and session changes between two dump calls are safe (an object
 * that appears meanwhile may be missed, none is shown twice).
 */
#include "main.h"

#include <linux/cred.h>
#include <linux/lockdep.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "compat.h"
#include "event.h"
#include "group.h"
#include "netlink.h"
#include "health.h"
#include "queue.h"
#include "sched.h"
#include "session.h"

static struct genl_family hsmg_genl_family;

enum { HSMG_MCGRP_EVENTS };

static const struct genl_multicast_group hsmg_mcgrps[] = {
	[HSMG_MCGRP_EVENTS] = { .name = HSMG_GENL_MCGRP_EVENTS },
};

/* ---- policies: what requests may carry ---- */

static const struct nla_policy hsmg_group_policy[HSMG_GROUP_A_MAX + 1] = {
	[HSMG_GROUP_A_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy hsmg_queue_policy[HSMG_QUEUE_A_MAX + 1] = {
	[HSMG_QUEUE_A_ADAPTER] = NLA_POLICY_MAX(NLA_U16, 255),
	[HSMG_QUEUE_A_DOMAIN] = NLA_POLICY_MAX(NLA_U16, 255),
	[HSMG_QUEUE_A_ADMIN] = NLA_POLICY_RANGE(NLA_U32, HSMG_ADMIN_ONLINE,
						__HSMG_ADMIN_MAX - 1),
	[HSMG_QUEUE_A_SPEED] = NLA_POLICY_RANGE(NLA_U32, 1, 10000),
};

static const struct nla_policy hsmg_session_policy[HSMG_SESSION_A_MAX + 1] = {
	[HSMG_SESSION_A_ID] = NLA_POLICY_MIN(NLA_U64, 1),
};

#define HSMG_POLICY_VALUES_MASK GENMASK(HSMG_POLICY_NVALUES, 1)

static struct netlink_range_validation hsmg_range_ms = {
	.min = 1,
	.max = 3600000,
};

static struct netlink_range_validation hsmg_range_hold = {
	.min = 0,
	.max = 86400000,
};

static const struct nla_policy hsmg_policy_policy[HSMG_POLICY_A_MAX + 1] = {
	[HSMG_POLICY_A_RECOVERY_INTERVAL_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &hsmg_range_ms),
	[HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &hsmg_range_ms),
	[HSMG_POLICY_A_RECOVERY_RETRIES] = { .type = NLA_U32 },
	[HSMG_POLICY_A_HOLD_TIME_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &hsmg_range_hold),
	[HSMG_POLICY_A_REQUEST_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &hsmg_range_ms),
	[HSMG_POLICY_A_KEYGEN_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &hsmg_range_ms),
	[HSMG_POLICY_A_SUSPECT_THRESHOLD] = NLA_POLICY_RANGE(NLA_U32, 1, 1000),
	[HSMG_POLICY_A_MAX_ATTEMPTS] = NLA_POLICY_RANGE(NLA_U32, 1, 1000),
	[HSMG_POLICY_A_RESET] =
		NLA_POLICY_MASK(NLA_U32, HSMG_POLICY_VALUES_MASK),
};

static const struct nla_policy hsmg_nl_policy[HSMG_A_MAX + 1] = {
	[HSMG_A_GROUP] = NLA_POLICY_NESTED(hsmg_group_policy),
	[HSMG_A_QUEUE] = NLA_POLICY_NESTED(hsmg_queue_policy),
	[HSMG_A_SESSION] = NLA_POLICY_NESTED(hsmg_session_policy),
	[HSMG_A_POLICY] = NLA_POLICY_NESTED(hsmg_policy_policy),
	[HSMG_A_STATS] = { .type = NLA_REJECT },
	[HSMG_A_EVENT] = { .type = NLA_REJECT },
};

/* ---- request parsing ---- */

static int hsmg_nl_nest(struct genl_info *info, int type, int max,
			const struct nla_policy *pol, struct nlattr **tb,
			const char *what)
{
	if (!info->attrs[type]) {
		/* @what is a string literal (NL_SET_ERR_MSG keeps a pointer). */
		if (info->extack)
			info->extack->_msg = what;
		return -EINVAL;
	}
	/* Already validated against @pol by the core. */
	return nla_parse_nested(tb, max, info->attrs[type], pol,
				info->extack);
}

static struct hsmg_group *hsmg_nl_group(struct nlattr **attrs,
					struct netlink_ext_ack *extack,
					bool required, int *err)
{
	struct nlattr *tb[HSMG_GROUP_A_MAX + 1];
	struct hsmg_group *g;

	*err = 0;
	if (!attrs[HSMG_A_GROUP]) {
		if (required) {
			NL_SET_ERR_MSG(extack, "missing group attribute");
			*err = -EINVAL;
		}
		return NULL;
	}
	*err = nla_parse_nested(tb, HSMG_GROUP_A_MAX, attrs[HSMG_A_GROUP],
				hsmg_group_policy, extack);
	if (*err)
		return NULL;
	if (!tb[HSMG_GROUP_A_ID]) {
		NL_SET_ERR_MSG(extack, "missing group id");
		*err = -EINVAL;
		return NULL;
	}
	g = hsmg_group_find(nla_get_u32(tb[HSMG_GROUP_A_ID]));
	if (!g) {
		NL_SET_ERR_MSG_ATTR(extack, tb[HSMG_GROUP_A_ID],
				    "no such group");
		*err = -ENOENT;
	}
	return g;
}

static struct hsmg_queue *hsmg_nl_queue(struct genl_info *info,
					struct nlattr **tb, int *err)
{
	struct hsmg_queue *q;

	*err = hsmg_nl_nest(info, HSMG_A_QUEUE, HSMG_QUEUE_A_MAX,
			    hsmg_queue_policy, tb, "missing queue attribute");
	if (*err)
		return NULL;
	if (!tb[HSMG_QUEUE_A_ADAPTER] || !tb[HSMG_QUEUE_A_DOMAIN]) {
		NL_SET_ERR_MSG(info->extack, "queue needs adapter and domain");
		*err = -EINVAL;
		return NULL;
	}
	q = hsmg_queue_lookup(nla_get_u16(tb[HSMG_QUEUE_A_ADAPTER]),
			      nla_get_u16(tb[HSMG_QUEUE_A_DOMAIN]));
	if (!q) {
		NL_SET_ERR_MSG(info->extack, "no such queue");
		*err = -ENOENT;
	}
	return q;
}

/* ---- filling messages ---- */

static int hsmg_nl_put_policy(struct sk_buff *skb, struct hsmg_group *g)
{
	struct nlattr *nest = nla_nest_start(skb, HSMG_A_POLICY);
	int a;

	if (!nest)
		return -EMSGSIZE;
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++)
		if (nla_put_u32(skb, a, hsmg_policy(g, a)))
			goto cancel;
	if (nla_put_u32(skb, HSMG_POLICY_A_OVERRIDES, READ_ONCE(g->overrides)))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* Group attributes; group lock held. */
static int hsmg_nl_put_group_locked(struct sk_buff *skb, struct hsmg_group *g)
{
	struct hsmg_group_counts c;
	struct nlattr *nest;

	lockdep_assert_held(&g->lock);
	hsmg_group_counts(g, &c);
	nest = nla_nest_start(skb, HSMG_A_GROUP);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, HSMG_GROUP_A_ID, g->id) ||
	    nla_put(skb, HSMG_GROUP_A_MKVP, HSMG_MKVP_LEN, g->mkvp) ||
	    nla_put_u32(skb, HSMG_GROUP_A_MEMBERS, c.members) ||
	    nla_put_u32(skb, HSMG_GROUP_A_ONLINE, c.online) ||
	    nla_put_u32(skb, HSMG_GROUP_A_MISMATCH, c.mismatch) ||
	    nla_put_u32(skb, HSMG_GROUP_A_SESSIONS, c.sessions) ||
	    nla_put_u64_64bit(skb, HSMG_GROUP_A_REQUESTS, g->requests,
			      HSMG_GROUP_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_GROUP_A_ERRORS, g->errors,
			      HSMG_GROUP_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_GROUP_A_FAILOVERS, g->failovers,
			      HSMG_GROUP_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int hsmg_nl_fill_group(struct sk_buff *skb, struct hsmg_group *g,
			      u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;
	int ret;

	hdr = genlmsg_put(skb, portid, seq, &hsmg_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock(&g->lock);
	ret = hsmg_nl_put_group_locked(skb, g);
	spin_unlock(&g->lock);
	if (!ret)
		ret = hsmg_nl_put_policy(skb, g);
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Queue attributes; group lock held. */
static int hsmg_nl_put_queue_locked(struct sk_buff *skb, struct hsmg_queue *q)
{
	struct nlattr *nest = nla_nest_start(skb, HSMG_A_QUEUE);

	lockdep_assert_held(&q->group->lock);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, HSMG_QUEUE_A_ADAPTER, q->adapter) ||
	    nla_put_u16(skb, HSMG_QUEUE_A_DOMAIN, q->domain) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_ID, q->id) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_GROUP_ID, q->group->id) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_STATE, hsmg_queue_visible_state(q)) ||
	    nla_put_u8(skb, HSMG_QUEUE_A_ROLE, q->standby) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_ADMIN, q->admin) ||
	    nla_put_u8(skb, HSMG_QUEUE_A_ATTACHED, q->attached) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_SPEED, q->speed) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_INFLIGHT, q->ninflight) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_PENDING, q->npending) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_MAX_INFLIGHT, q->max_inflight) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_SESSIONS, q->sessions) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_MAX_SESSIONS, q->max_sessions) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_REQUESTS, q->requests,
			      HSMG_QUEUE_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_ERRORS, q->errors,
			      HSMG_QUEUE_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_TRANSITIONS, q->transitions,
			      HSMG_QUEUE_A_PAD) ||
	    nla_put(skb, HSMG_QUEUE_A_MKVP, HSMG_MKVP_LEN, q->mkvp) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_LATENCY_US, q->lat_avg_us) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_LATENCY_TOTAL_US,
			      q->lat_total_us, HSMG_QUEUE_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_LOAD, q->assigned_weight,
			      HSMG_QUEUE_A_PAD) ||
	    nla_put_u64_64bit(skb, HSMG_QUEUE_A_CAPABILITIES, q->capabilities,
			      HSMG_QUEUE_A_PAD) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_FLAPS, hsmg_health_flaps(q)) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_DAMP_MS, hsmg_health_damp_ms(q)) ||
	    nla_put_u32(skb, HSMG_QUEUE_A_DAMPED_LEFT_MS,
			hsmg_health_damped_left_ms(q))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int hsmg_nl_fill_queue(struct sk_buff *skb, struct hsmg_queue *q,
			      u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;
	int ret;

	hdr = genlmsg_put(skb, portid, seq, &hsmg_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock(&q->group->lock);
	ret = hsmg_nl_put_queue_locked(skb, q);
	spin_unlock(&q->group->lock);
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Session attributes; hsmg_sessions_mutex held (takes the group lock). */
static int hsmg_nl_fill_session(struct sk_buff *skb, struct hsmg_session *s,
				u32 portid, u32 seq, int flags)
{
	struct hsmg_group *g = s->group;
	struct hsmg_login_rec *rec;
	struct nlattr *nest, *list;
	u32 members = 0;
	void *hdr;

	lockdep_assert_held(&hsmg_sessions_mutex);
	hdr = genlmsg_put(skb, portid, seq, &hsmg_genl_family, flags,
			  HSMG_CMD_GET_SESSION);
	if (!hdr)
		return -EMSGSIZE;
	nest = nla_nest_start(skb, HSMG_A_SESSION);
	if (!nest)
		goto cancel;
	if (nla_put_u64_64bit(skb, HSMG_SESSION_A_ID, s->id,
			      HSMG_SESSION_A_PAD) ||
	    nla_put_u32(skb, HSMG_SESSION_A_GROUP_ID, g->id) ||
	    nla_put_u32(skb, HSMG_SESSION_A_FLAGS, s->flags) ||
	    nla_put_u8(skb, HSMG_SESSION_A_REVOKED, READ_ONCE(s->revoked)) ||
	    nla_put_u32(skb, HSMG_SESSION_A_OWNER_PID, pid_vnr(s->owner)) ||
	    nla_put_u32(skb, HSMG_SESSION_A_OWNER_UID,
			from_kuid_munged(current_user_ns(), s->owner_uid)) ||
	    nla_put_string(skb, HSMG_SESSION_A_OWNER_COMM, s->owner_comm))
		goto cancel;
	spin_lock(&g->lock);
	if (nla_put_u8(skb, HSMG_SESSION_A_LOGGED_IN, s->logged_in))
		goto unlock;
	list = nla_nest_start(skb, HSMG_SESSION_A_MEMBER_LIST);
	if (!list)
		goto unlock;
	list_for_each_entry(rec, &s->logins, s_node) {
		if (!rec->done)
			continue;
		members++;
		if (nla_put_u32(skb, HSMG_SESSION_A_MEMBER_APQN,
				HSMG_APQN(rec->queue->adapter,
					  rec->queue->domain)))
			goto unlock;
	}
	nla_nest_end(skb, list);
	spin_unlock(&g->lock);
	if (nla_put_u32(skb, HSMG_SESSION_A_MEMBERS, members))
		goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;
unlock:
	spin_unlock(&g->lock);
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int hsmg_nl_reply(struct genl_info *info, struct sk_buff *msg, int ret)
{
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* ---- groups and policy ---- */

static int hsmg_nl_get_group_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct hsmg_group *g;
	struct sk_buff *msg;
	int ret;

	g = hsmg_nl_group(info->attrs, info->extack, true, &ret);
	if (!g)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = hsmg_nl_fill_group(msg, g, info->snd_portid, info->snd_seq, 0,
				 info->genlhdr->cmd);
	return hsmg_nl_reply(info, msg, ret);
}

static int hsmg_nl_get_group_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	unsigned long id = cb->args[0];
	struct hsmg_group *g;

	while ((g = hsmg_group_next(&id))) {
		if (hsmg_nl_fill_group(skb, g, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       HSMG_CMD_GET_GROUP))
			break;
		cb->args[0] = id;
	}
	return skb->len;
}

static int hsmg_nl_set_policy_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[HSMG_POLICY_A_MAX + 1];
	u32 vals[HSMG_POLICY_NVALUES + 1] = {};
	const char *why = NULL;
	u32 set = 0, reset = 0;
	struct hsmg_group *g;
	struct sk_buff *msg;
	int a, ret;

	g = hsmg_nl_group(info->attrs, info->extack, true, &ret);
	if (!g)
		return ret;
	ret = hsmg_nl_nest(info, HSMG_A_POLICY, HSMG_POLICY_A_MAX,
			   hsmg_policy_policy, tb, "missing policy attribute");
	if (ret)
		return ret;
	if (tb[HSMG_POLICY_A_RESET])
		reset = nla_get_u32(tb[HSMG_POLICY_A_RESET]);
	for (a = 1; a <= HSMG_POLICY_NVALUES; a++) {
		if (!tb[a])
			continue;
		vals[a] = nla_get_u32(tb[a]);
		set |= BIT(a);
	}
	if (!set && !reset) {
		NL_SET_ERR_MSG(info->extack, "no policy value to set");
		return -EINVAL;
	}
	ret = hsmg_group_set_policy(g, vals, set, reset, &why);
	if (ret) {
		if (info->extack)
			info->extack->_msg = why;	/* a string literal */
		return ret;
	}
	pr_info("group %u: policy changed by admin\n", g->id);
	hsmg_event_group(g, HSMG_EVENT_POLICY, 0, "policy set by admin");
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = hsmg_nl_fill_group(msg, g, info->snd_portid, info->snd_seq, 0,
				 HSMG_CMD_GET_POLICY);
	return hsmg_nl_reply(info, msg, ret);
}

/* ---- queues ---- */

static int hsmg_nl_get_queue_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[HSMG_QUEUE_A_MAX + 1];
	struct hsmg_queue *q;
	struct sk_buff *msg;
	int ret;

	q = hsmg_nl_queue(info, tb, &ret);
	if (!q)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = hsmg_nl_fill_queue(msg, q, info->snd_portid, info->snd_seq, 0,
				 HSMG_CMD_GET_QUEUE);
	return hsmg_nl_reply(info, msg, ret);
}

/*
 * Dump: cb->args[0] = id of the group to go on with, args[1] = its members
 * done, args[2] = group filter (0 = all), args[3] = filter parsed.
 */
static int hsmg_nl_get_queue_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct hsmg_group *g;
	struct hsmg_queue *q;
	unsigned long id;
	long idx;
	void *hdr;
	int err;

	if (!cb->args[3]) {
		g = hsmg_nl_group(hsmg_dump_attrs(cb), cb->extack, false, &err);
		if (err)
			return err;
		cb->args[2] = g ? g->id : 0;
		cb->args[0] = g ? g->id : 1;
		cb->args[3] = 1;
	}
	id = cb->args[0] - 1;
	for (g = hsmg_group_next(&id); g; g = hsmg_group_next(&id)) {
		if (cb->args[2] && g->id != cb->args[2])
			break;
		if (g->id != cb->args[0]) {
			cb->args[0] = g->id;
			cb->args[1] = 0;
		}
		idx = 0;
		spin_lock(&g->lock);
		list_for_each_entry(q, &g->members, group_node) {
			if (idx++ < cb->args[1])
				continue;
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, &hsmg_genl_family,
					  NLM_F_MULTI, HSMG_CMD_GET_QUEUE);
			if (!hdr)
				goto full;
			if (hsmg_nl_put_queue_locked(skb, q)) {
				genlmsg_cancel(skb, hdr);
				goto full;
			}
			genlmsg_end(skb, hdr);
			cb->args[1] = idx;
		}
		spin_unlock(&g->lock);
		cb->args[0] = g->id + 1;
		cb->args[1] = 0;
	}
	return skb->len;
full:
	spin_unlock(&g->lock);
	return skb->len;
}

static int hsmg_nl_set_queue_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[HSMG_QUEUE_A_MAX + 1];
	struct hsmg_queue *q;
	struct sk_buff *msg;
	u32 admin = 0, speed = 0;
	int ret;

	q = hsmg_nl_queue(info, tb, &ret);
	if (!q)
		return ret;
	if (tb[HSMG_QUEUE_A_ADMIN])
		admin = nla_get_u32(tb[HSMG_QUEUE_A_ADMIN]);
	if (tb[HSMG_QUEUE_A_SPEED])
		speed = nla_get_u32(tb[HSMG_QUEUE_A_SPEED]);
	if (!admin && !speed) {
		NL_SET_ERR_MSG(info->extack, "nothing to set (admin, speed)");
		return -EINVAL;
	}
	ret = hsmg_queue_admin(q, admin, speed);
	if (ret)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = hsmg_nl_fill_queue(msg, q, info->snd_portid, info->snd_seq, 0,
				 HSMG_CMD_GET_QUEUE);
	return hsmg_nl_reply(info, msg, ret);
}

/* ---- sessions ---- */

static u64 hsmg_nl_session_id(struct genl_info *info, int *err)
{
	struct nlattr *tb[HSMG_SESSION_A_MAX + 1];

	*err = hsmg_nl_nest(info, HSMG_A_SESSION, HSMG_SESSION_A_MAX,
			    hsmg_session_policy, tb, "missing session attribute");
	if (*err)
		return 0;
	if (!tb[HSMG_SESSION_A_ID]) {
		NL_SET_ERR_MSG(info->extack, "missing session id");
		*err = -EINVAL;
		return 0;
	}
	return nla_get_u64(tb[HSMG_SESSION_A_ID]);
}

static int hsmg_nl_get_session_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct hsmg_session *s;
	struct sk_buff *msg;
	int ret;
	u64 id;

	id = hsmg_nl_session_id(info, &ret);
	if (ret)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&hsmg_sessions_mutex);
	s = hsmg_session_find(id);
	ret = s ? hsmg_nl_fill_session(msg, s, info->snd_portid,
				       info->snd_seq, 0) :
		  -ENOENT;
	mutex_unlock(&hsmg_sessions_mutex);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such session");
	return hsmg_nl_reply(info, msg, ret);
}

/*
 * Dump: the list is in id order; cb->args[0] = last id shown, args[1] =
 * group filter, args[2] = filter parsed.
 */
static int hsmg_nl_get_session_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	struct hsmg_session *s;
	struct hsmg_group *g;
	int err;

	if (!cb->args[2]) {
		g = hsmg_nl_group(hsmg_dump_attrs(cb), cb->extack, false, &err);
		if (err)
			return err;
		cb->args[1] = g ? g->id : 0;
		cb->args[2] = 1;
	}
	mutex_lock(&hsmg_sessions_mutex);
	for (s = hsmg_session_next(NULL); s; s = hsmg_session_next(s)) {
		if (cb->args[0] && s->id <= (u64)cb->args[0])
			continue;
		if (cb->args[1] && s->group->id != cb->args[1])
			continue;
		if (hsmg_nl_fill_session(skb, s, NETLINK_CB(cb->skb).portid,
					 cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = s->id;
	}
	mutex_unlock(&hsmg_sessions_mutex);
	return skb->len;
}

static int hsmg_nl_end_session_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	int ret;
	u64 id;

	id = hsmg_nl_session_id(info, &ret);
	if (ret)
		return ret;
	ret = hsmg_session_revoke(id);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such session");
	return ret;
}

/* ---- statistics ---- */

static int hsmg_nl_get_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	u32 groups = 0, queues = 0, attached = 0, online = 0;
	u32 sessions = 0, logged_in = 0;
	u64 requests = 0, errors = 0, failovers = 0, transitions = 0;
	struct hsmg_group_counts c;
	unsigned long id = 0;
	struct hsmg_session *s;
	struct hsmg_group *g;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	while ((g = hsmg_group_next(&id))) {
		groups++;
		spin_lock(&g->lock);
		hsmg_group_counts(g, &c);
		queues += c.members + c.mismatch;
		attached += c.attached;
		online += c.online;
		transitions += c.transitions;
		logged_in += c.sessions;
		requests += g->requests;
		errors += g->errors;
		failovers += g->failovers;
		spin_unlock(&g->lock);
	}
	mutex_lock(&hsmg_sessions_mutex);
	for (s = hsmg_session_next(NULL); s; s = hsmg_session_next(s))
		sessions++;
	mutex_unlock(&hsmg_sessions_mutex);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, info->snd_portid, info->snd_seq,
			  &hsmg_genl_family, 0, HSMG_CMD_GET_STATS);
	if (!hdr)
		goto nospace;
	nest = nla_nest_start(msg, HSMG_A_STATS);
	if (!nest ||
	    nla_put_u32(msg, HSMG_STATS_A_GROUPS, groups) ||
	    nla_put_u32(msg, HSMG_STATS_A_QUEUES, queues) ||
	    nla_put_u32(msg, HSMG_STATS_A_ATTACHED, attached) ||
	    nla_put_u32(msg, HSMG_STATS_A_ONLINE, online) ||
	    nla_put_u32(msg, HSMG_STATS_A_SESSIONS, sessions) ||
	    nla_put_u32(msg, HSMG_STATS_A_LOGGED_IN, logged_in) ||
	    nla_put_u64_64bit(msg, HSMG_STATS_A_REQUESTS, requests,
			      HSMG_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, HSMG_STATS_A_ERRORS, errors,
			      HSMG_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, HSMG_STATS_A_FAILOVERS, failovers,
			      HSMG_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, HSMG_STATS_A_TRANSITIONS, transitions,
			      HSMG_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, HSMG_STATS_A_EVENTS_DROPPED,
			      hsmg_event_dropped(), HSMG_STATS_A_PAD))
		goto nospace;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* ---- events ---- */

/* hsmg_netlink_event - multicast @ev (event work, process context). */
void hsmg_netlink_event(const struct hsmg_event *ev)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;

	if (!genl_has_listeners(&hsmg_genl_family, &init_net,
				HSMG_MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &hsmg_genl_family, 0, HSMG_CMD_EVENT);
	if (!hdr)
		goto free;
	nest = nla_nest_start(msg, HSMG_A_EVENT);
	if (!nest ||
	    nla_put_u32(msg, HSMG_EVENT_A_TYPE, ev->type) ||
	    nla_put_u32(msg, HSMG_EVENT_A_GROUP_ID, ev->group->id) ||
	    nla_put_string(msg, HSMG_EVENT_A_REASON, ev->reason))
		goto free;
	if (ev->queue &&
	    (nla_put_u16(msg, HSMG_EVENT_A_ADAPTER, ev->queue->adapter) ||
	     nla_put_u16(msg, HSMG_EVENT_A_DOMAIN, ev->queue->domain) ||
	     nla_put_u32(msg, HSMG_EVENT_A_QUEUE_ID, ev->queue_id) ||
	     nla_put_u32(msg, HSMG_EVENT_A_OLD_STATE, ev->old_state) ||
	     nla_put_u32(msg, HSMG_EVENT_A_NEW_STATE, ev->new_state)))
		goto free;
	if (ev->session_id &&
	    nla_put_u64_64bit(msg, HSMG_EVENT_A_SESSION_ID, ev->session_id,
			      HSMG_EVENT_A_PAD))
		goto free;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&hsmg_genl_family, msg, 0, HSMG_MCGRP_EVENTS,
			  GFP_KERNEL);
	return;
free:
	nlmsg_free(msg);
}

/* ---- the family ---- */

static const struct genl_ops hsmg_genl_ops[] = {
	{
		.cmd = HSMG_CMD_GET_GROUP,
		.doit = hsmg_nl_get_group_doit,
		.dumpit = hsmg_nl_get_group_dumpit,
	},
	{
		.cmd = HSMG_CMD_GET_QUEUE,
		.doit = hsmg_nl_get_queue_doit,
		.dumpit = hsmg_nl_get_queue_dumpit,
	},
	{
		.cmd = HSMG_CMD_SET_QUEUE,
		.flags = GENL_ADMIN_PERM,
		.doit = hsmg_nl_set_queue_doit,
	},
	{
		.cmd = HSMG_CMD_GET_SESSION,
		.doit = hsmg_nl_get_session_doit,
		.dumpit = hsmg_nl_get_session_dumpit,
	},
	{
		.cmd = HSMG_CMD_END_SESSION,
		.flags = GENL_ADMIN_PERM,
		.doit = hsmg_nl_end_session_doit,
	},
	{
		.cmd = HSMG_CMD_GET_POLICY,
		.doit = hsmg_nl_get_group_doit,
	},
	{
		.cmd = HSMG_CMD_SET_POLICY,
		.flags = GENL_ADMIN_PERM,
		.doit = hsmg_nl_set_policy_doit,
	},
	{
		.cmd = HSMG_CMD_GET_STATS,
		.doit = hsmg_nl_get_stats_doit,
	},
};

static struct genl_family hsmg_genl_family __ro_after_init = {
	.name = HSMG_GENL_NAME,
	.version = HSMG_GENL_VERSION,
	.maxattr = HSMG_A_MAX,
	.policy = hsmg_nl_policy,
	.module = THIS_MODULE,
	.ops = hsmg_genl_ops,
	.n_ops = ARRAY_SIZE(hsmg_genl_ops),
	.mcgrps = hsmg_mcgrps,
	.n_mcgrps = ARRAY_SIZE(hsmg_mcgrps),
};

int hsmg_netlink_init(void)
{
	return genl_register_family(&hsmg_genl_family);
}

void hsmg_netlink_exit(void)
{
	genl_unregister_family(&hsmg_genl_family);
}
