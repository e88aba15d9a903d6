// SPDX-License-Identifier: GPL-2.0
/*
 * Event queue: producers run in any context (often under a group lock, so
 * they only allocate atomically and append); one work item sends the events
 * in order as netlink multicasts and uevents, in process context.
 */
#include "main.h"

#include <linux/atomic.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "event.h"
#include "group.h"
#include "netlink.h"
#include "queue.h"
#include "sysfs.h"

static DEFINE_SPINLOCK(hsmg_event_lock);	/* hsmg_events */
static LIST_HEAD(hsmg_events);
static atomic64_t hsmg_events_dropped = ATOMIC64_INIT(0);

static void hsmg_event_work_fn(struct work_struct *work);
static DECLARE_WORK(hsmg_event_work, hsmg_event_work_fn);

static void hsmg_event_work_fn(struct work_struct *work)
{
	struct hsmg_event *ev, *tmp;
	LIST_HEAD(list);

	spin_lock(&hsmg_event_lock);
	list_splice_init(&hsmg_events, &list);
	spin_unlock(&hsmg_event_lock);

	list_for_each_entry_safe(ev, tmp, &list, node) {
		hsmg_netlink_event(ev);
		hsmg_sysfs_event(ev);
		list_del(&ev->node);
		kfree(ev);
	}
}

static void hsmg_event_add(struct hsmg_event *ev, const char *reason)
{
	strscpy(ev->reason, reason ?: "", sizeof(ev->reason));
	spin_lock(&hsmg_event_lock);
	list_add_tail(&ev->node, &hsmg_events);
	spin_unlock(&hsmg_event_lock);
	schedule_work(&hsmg_event_work);
}

/*
 * hsmg_event_queue - queue event @type of @q.  Any context; the caller
 * holds the group lock or the topology lock, so @q's fields are stable.
 */
void hsmg_event_queue(struct hsmg_queue *q, u32 type, u32 old_state,
		      u32 new_state, const char *reason)
{
	struct hsmg_event *ev = kzalloc(sizeof(*ev), GFP_ATOMIC);

	if (!ev) {
		atomic64_inc(&hsmg_events_dropped);
		return;
	}
	ev->type = type;
	ev->group = q->group;
	ev->queue = q;
	ev->queue_id = q->id;
	ev->old_state = old_state;
	ev->new_state = new_state;
	hsmg_event_add(ev, reason);
}

/* hsmg_event_group - queue event @type of @g (policy, session end). */
void hsmg_event_group(struct hsmg_group *g, u32 type, u64 session_id,
		      const char *reason)
{
	struct hsmg_event *ev = kzalloc(sizeof(*ev), GFP_ATOMIC);

	if (!ev) {
		atomic64_inc(&hsmg_events_dropped);
		return;
	}
	ev->type = type;
	ev->group = g;
	ev->session_id = session_id;
	hsmg_event_add(ev, reason);
}

u64 hsmg_event_dropped(void)
{
	return atomic64_read(&hsmg_events_dropped);
}

/*
 * hsmg_event_flush - send what is queued.  At unload, after every producer
 * stopped (no queue attached, no work item left), before the devices and
 * the netlink family go.
 */
void hsmg_event_flush(void)
{
	flush_work(&hsmg_event_work);
	/* Nothing may be left; a late producer would be a bug. */
	WARN_ON_ONCE(!list_empty(&hsmg_events));
}
