/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Groups: the queues sharing one master key (MKVP).  Groups and their member
 * records live until the module is unloaded, so pointers to them stay valid
 * without references.  Everything that moves requests between members is
 * serialized by the group's spinlock.
 */
#ifndef _HSMG_GROUP_H
#define _HSMG_GROUP_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/hsmgroup.h>

struct device;
struct hsmg_queue;

/**
 * struct hsmg_group - one group.
 * @id: group id (>= 1).
 * @mkvp: master key verification pattern of the group.
 * @lock: protects the members' scheduling state, requests, backlogs,
 *	sessions' login records and the counters below.
 * @members: &struct hsmg_queue.group_node, in order of first attach.
 * @backlogs: &struct hsmg_backlog.group_node, round-robin order.
 * @sessions: logged in &struct hsmg_session.group_node.
 * @state_wq: woken at every member state change.
 * @requests: requests completed for clients.
 * @errors: client requests that ended with an error.
 * @failovers: attempts re-sent to another member.
 * @picks: requests assigned to members; stamps &hsmg_queue.last_pick.
 * @assigned: requests pending or in flight at the members; a client spins
 *	for its answer only while its request is the only one, a card thread
 *	for its next request only while they are fewer than the CPUs (the
 *	CPUs are otherwise busy with them).
 * @busy_polls: client waits that spun for the answer (no lock).
 * @busy_poll_hits: of those, the ones the answer ended (no lock).
 * @policy: values set for this group, by enum hsmg_policy_attr (valid
 *	where @overrides has the bit; read with hsmg_policy()).
 * @overrides: bit (1 << attr) per value set for this group; the others
 *	follow the module parameters.
 * @any_online: some member was online at the last state change.
 * @offline_since: jiffies when the last online member left (or the group
 *	was created), valid while !@any_online.
 * @dev: the group's sysfs device, or NULL.
 */
struct hsmg_group {
	u32 id;
	u8 mkvp[HSMG_MKVP_LEN];
	spinlock_t lock; /* see above */
	struct list_head members;
	struct list_head backlogs;
	struct list_head sessions;
	wait_queue_head_t state_wq;
	u64 requests;
	u64 errors;
	u64 failovers;
	u64 picks;
	u32 assigned;
	atomic64_t busy_polls;
	atomic64_t busy_poll_hits;
	u32 policy[HSMG_POLICY_NVALUES + 1];
	u32 overrides;
	bool any_online;
	unsigned long offline_since;
	struct device *dev;
	/* Failed logins per token and user (pinguard.c). */
	struct mutex pin_lock;
	struct list_head pin_fails;
	u32 npin_fails;
	unsigned long pin_gen;
	wait_queue_head_t pin_wq;
};

/* Serializes attach, detach and group creation. */
extern struct mutex hsmg_topology_lock;

void hsmg_groups_exit(void);
struct hsmg_group *hsmg_group_find(u32 id);
struct hsmg_group *hsmg_group_get_or_create(const u8 *mkvp);
struct hsmg_queue *hsmg_group_member_lookup(u32 apqn);
int hsmg_group_member_add(struct hsmg_group *g, struct hsmg_queue *q);
u32 hsmg_group_count(void);
int hsmg_group_list(struct hsmg_group_info *out, u32 cap, u32 *count);
int hsmg_group_list_members(struct hsmg_group *g, struct hsmg_member_info *out,
			    u32 cap, u32 *count);
/**
 * struct hsmg_group_counts - what a group's listings count.
 * @members: members not in mismatch (they belong to the group's key).
 * @mismatch: members held in mismatch (another master key).
 * @attached: members a provider has attached now.
 * @online: members that serve: attached and ONLINE.  An online standby
 *	member counts, also while it idles behind an active one (listings
 *	show it as STANDBY): it serves the moment no active member does.  The
 *	token is present exactly while this is not 0 (hsmg_group_has_online).
 * @sessions: sessions logged in on the group.
 * @transitions: state changes of all members.
 */
struct hsmg_group_counts {
	u32 members;
	u32 mismatch;
	u32 attached;
	u32 online;
	u32 sessions;
	u64 transitions;
};

bool hsmg_group_member_online(const struct hsmg_queue *q);
void hsmg_group_counts(struct hsmg_group *g, struct hsmg_group_counts *c);
bool hsmg_group_has_online(struct hsmg_group *g);
void hsmg_group_update_online(struct hsmg_group *g);
u32 hsmg_group_offline_ms(struct hsmg_group *g);
u32 hsmg_policy(struct hsmg_group *g, int attr);
u32 hsmg_policy_default(int attr);
int hsmg_group_set_policy(struct hsmg_group *g, const u32 *vals, u32 set,
			  u32 reset, const char **why);

/* Iterate over every group (they are never freed before unload). */
struct hsmg_group *hsmg_group_next(unsigned long *id);

#endif /* _HSMG_GROUP_H */
