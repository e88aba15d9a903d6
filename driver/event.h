/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events: member state changes, attach/detach, mismatch, admin and policy
 * changes.  They are queued from any context (also under the group lock)
 * and sent in order from a work item, as generic netlink multicast messages
 * and as uevents of the sysfs devices.  A sequence number counts the
 * batches sent (and events dropped) for readers of the client device.
 */
#ifndef _HSMG_EVENT_H
#define _HSMG_EVENT_H

#include <linux/list.h>
#include <linux/poll.h>
#include <linux/types.h>

struct file;
struct hsmg_group;
struct hsmg_queue;

#define HSMG_EVENT_REASON_LEN 64

/**
 * struct hsmg_event - one event waiting to be sent.
 * @node: in the event list.
 * @type: enum hsmg_event_type.
 * @group: group it concerns.
 * @queue: queue it concerns, or NULL.
 * @queue_id: id of @queue when the event happened.
 * @old_state: enum hsmg_queue_state before (state events).
 * @new_state: enum hsmg_queue_state after (queue events).
 * @session_id: session (session events).
 * @reason: why.
 */
struct hsmg_event {
	struct list_head node;
	u32 type;
	struct hsmg_group *group;
	struct hsmg_queue *queue;
	u32 queue_id;
	u32 old_state;
	u32 new_state;
	u64 session_id;
	char reason[HSMG_EVENT_REASON_LEN];
};

void hsmg_event_queue(struct hsmg_queue *q, u32 type, u32 old_state,
		      u32 new_state, const char *reason);
void hsmg_event_group(struct hsmg_group *g, u32 type, u64 session_id,
		      const char *reason);
u64 hsmg_event_dropped(void);
u64 hsmg_event_seq(void);
int hsmg_event_wait(u64 seen);
void hsmg_event_poll_wait(struct file *file, poll_table *pt);
void hsmg_event_flush(void);

#endif /* _HSMG_EVENT_H */
