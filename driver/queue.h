/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Queues (member records): one adapter.domain pair of a group.  The record is
 * created at the first attach of its APQN and lives until module unload; each
 * attach gives it a new queue id.
 */
#ifndef _HSMG_QUEUE_H
#define _HSMG_QUEUE_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/workqueue.h>
#include <linux/hsmgroup.h>

struct device;
struct hsmg_group;
struct hsmg_queue_ops;
struct hsmg_request;

/**
 * struct hsmg_queue - one member queue.  All fields but the identity are
 * protected by the group lock.
 * @group: the group it belongs to (for good).
 * @group_node: in &hsmg_group.members.
 * @id: queue id of the current or last attach (listings show it); it is in
 *	the id table only while attached.
 * @adapter: adapter number.
 * @domain: domain number.
 * @mkvp: its own MKVP, as last attached.
 * @state: enum hsmg_queue_state (never %HSMG_QS_STANDBY internally: a
 *	standby member is ONLINE with @standby set; listings report it as
 *	STANDBY while an active member is online, i.e. while it idles).
 * @attached: a provider is attached.
 * @standby: attached with %HSMG_ATTACH_STANDBY.
 * @capabilities: bit per enum hsmg_op_class.
 * @max_inflight: most requests fetched at once.
 * @speed: relative speed.
 * @max_sessions: session quota (0 = unlimited).
 * @ops: provider callbacks, NULL while detached.
 * @priv: provider data.
 * @pending: requests assigned to it, not yet fetched.
 * @inflight: requests fetched, not yet completed.
 * @npending: entries of @pending.
 * @ninflight: entries of @inflight.
 * @assigned_weight: sum of the weights of @pending and @inflight.
 * @logins: &struct hsmg_login_rec.q_node of sessions logged in here.
 * @sessions: entries of @logins (done or on their way).
 * @fail_streak: consecutive failed attempts.
 * @recover_pending: LOGINs the recovery still waits for.
 * @probe: outstanding recovery PING, or NULL.
 * @probes: failed probes since it became suspect.
 * @probe_interval: ms until the next probe.
 * @unanswered: suspect because it stopped answering (an attempt or a probe
 *	timed out): the next call of its card (fetch or answer) probes it at
 *	once instead of at the next backoff step.
 * @heartbeat: outstanding liveness PING while a long attempt (a key
 *	generation) is in flight, or NULL.
 * @alive_at: jiffies of its card's last answer (a fetch, even an empty
 *	one, shows only that the provider polls, not that the card works).
 * @watchdog: checks attempt deadlines.
 * @wd_at: when @watchdog fires (if @wd_armed).
 * @wd_armed: @watchdog is scheduled.
 * @recovery: sends the recovery probes.
 * @requests: attempts completed.
 * @errors: attempts failed (error, timeout, detach).
 * @transitions: state changes.
 * @last_pick: &hsmg_group.picks when it was last given a request; equal
 *	costs go to the member picked longest ago (round robin).
 * @picked_at: jiffies when it was last given a request.
 * @admin: admin hold, enum hsmg_admin_state (NONE, DRAIN or DISABLE): an
 *	online transition lands in DISABLED instead while held.
 * @role_override: 0, or the role an admin set (HSMG_ADMIN_STANDBY or
 *	HSMG_ADMIN_ACTIVE); it survives detach and attach.
 * @admin_speed: speed set by an admin (0 = the provider's).
 * @lat_avg_us: moving average of successful attempts' service time.
 * @lat_total_us: sum of those service times.
 * @card_us: per enum hsmg_op_class, moving average of the time its card
 *	took from fetch to answer (0: none seen); read without the lock to
 *	decide whether a waiter spins (hsmg_busy_poll()).
 * @polling: a thread of its provider spins for its next request now
 *	(written without the lock; the scheduler prefers it among equals).
 * @busy_polls: times a thread of its provider spun for its next request
 *	(no lock).
 * @flaps: failures in a row, each within the stable time (the group's
 *	recovery_backoff_max_ms) of the member's last rejoin.
 * @damp_ms: how long the member is held back before its next rejoin
 *	(@flaps >= 2), or was before its last one; 0 = not damped.
 * @online_at: jiffies of its last transition to online.
 * @damped_until: while @damp_armed is clear and @damped: no rejoin before.
 * @damp_armed: a flap set @damp_ms; the wait starts when it could rejoin.
 * @damped: a rejoin is held back until @damped_until.
 * @dev: sysfs device (topology lock), or NULL.
 */
struct hsmg_queue {
	struct hsmg_group *group;
	struct list_head group_node;
	u32 id;
	u16 adapter;
	u16 domain;
	u8 mkvp[HSMG_MKVP_LEN];
	enum hsmg_queue_state state;
	bool attached;
	bool standby;
	u64 capabilities;
	u32 max_inflight;
	u32 speed;
	u32 max_sessions;
	const struct hsmg_queue_ops *ops;
	void *priv;
	struct list_head pending;
	struct list_head inflight;
	u32 npending;
	u32 ninflight;
	u64 assigned_weight;
	struct list_head logins;
	u32 sessions;
	u32 fail_streak;
	u32 recover_pending;
	struct hsmg_request *probe;
	u32 probes;
	u32 probe_interval;
	bool unanswered;
	struct hsmg_request *heartbeat;
	unsigned long alive_at;
	struct delayed_work watchdog;
	unsigned long wd_at;
	bool wd_armed;
	struct delayed_work recovery;
	u64 requests;
	u64 errors;
	u64 transitions;
	u64 last_pick;
	unsigned long picked_at;
	u8 admin;
	u8 role_override;
	u32 admin_speed;
	u32 lat_avg_us;
	u64 lat_total_us;
	u32 card_us[HSMG_OP_NR];
	bool polling;
	atomic64_t busy_polls;
	u32 flaps;
	u32 damp_ms;
	unsigned long online_at;
	unsigned long damped_until;
	bool damp_armed;
	bool damped;
	struct device *dev;
};

#define HSMG_APQN(adapter, domain) (((u32)(adapter) << 8) | (domain))

struct hsmg_queue *hsmg_queue_alloc(u32 adapter, u32 domain);
void hsmg_queue_free(struct hsmg_queue *q);
void hsmg_queue_set_state(struct hsmg_queue *q, enum hsmg_queue_state state,
			  const char *reason);
u32 hsmg_queue_visible_state(struct hsmg_queue *q);
void hsmg_queue_check_drained(struct hsmg_queue *q);
void hsmg_queue_account_latency(struct hsmg_queue *q,
				struct hsmg_request *req);
bool hsmg_busy_poll(bool (*cond)(void *arg), void *arg);
int hsmg_queue_admin(struct hsmg_queue *q, u32 admin, u32 speed);
struct hsmg_queue *hsmg_queue_lookup(u32 adapter, u32 domain);
const char *hsmg_queue_state_name(u32 state);

#endif /* _HSMG_QUEUE_H */
