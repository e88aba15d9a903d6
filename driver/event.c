// SPDX-License-Identifier: GPL-2.0
/*
 * Event queue: producers run in any context (often under a group lock, so
 * they only allocate atomically and append); one work item sends the events
 * in order as netlink multicasts and uevents, in process context.
 *
 * Clients that only need to know that something changed (the PKCS#11 shim
 * in C_WaitForSlotEvent) read or poll /dev/hsmgroup: a module-wide sequence
 * number goes up after each batch was sent, and on each dropped event.
 */
#include "main.h"

#include <linux/atomic.h>
#include <linux/lockdep.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "event.h"
#include "group.h"
#include "netlink.h"
#include "queue.h"
#include "sysfs.h"

static DEFINE_SPINLOCK(hsmg_event_lock);	/* hsmg_events */
static LIST_HEAD(hsmg_events);
static atomic64_t hsmg_events_dropped = ATOMIC64_INIT(0);
/* Goes up once per batch sent and per event dropped; readers wait on it. */
static atomic64_t hsmg_event_seqno = ATOMIC64_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(hsmg_event_wq);

static void hsmg_event_work_fn(struct work_struct *work);
static DECLARE_WORK(hsmg_event_work, hsmg_event_work_fn);

/*
 * hsmg_event_signal - a change happened: bump the sequence, wake readers.
 * Any context.  The increment is ordered before the wait queue lock that
 * wake_up_all() takes, so a reader that queued itself first and checks
 * the sequence after sees the new value or is woken.
 */
static void hsmg_event_signal(void)
{
	atomic64_inc(&hsmg_event_seqno);
	wake_up_all(&hsmg_event_wq);
}

static void hsmg_event_work_fn(struct work_struct *work)
{
	struct hsmg_event *ev, *tmp;
	LIST_HEAD(list);

	spin_lock(&hsmg_event_lock);
	list_splice_init(&hsmg_events, &list);
	spin_unlock(&hsmg_event_lock);

	if (list_empty(&list))
		return;
	list_for_each_entry_safe(ev, tmp, &list, node) {
		hsmg_netlink_event(ev);
		hsmg_sysfs_event(ev);
		list_del(&ev->node);
		kfree(ev);
	}
	/* After the batch: a woken reader finds netlink and uevents out. */
	hsmg_event_signal();
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
	struct hsmg_event *ev;

	lockdep_assert(lockdep_is_held(&q->group->lock) ||
		       lockdep_is_held(&hsmg_topology_lock));
	ev = kzalloc(sizeof(*ev), GFP_ATOMIC);
	if (!ev) {
		atomic64_inc(&hsmg_events_dropped);
		hsmg_event_signal();
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
		hsmg_event_signal();
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

/* hsmg_event_seq - the event sequence number now. */
u64 hsmg_event_seq(void)
{
	return atomic64_read(&hsmg_event_seqno);
}

/*
 * hsmg_event_wait - sleep until the sequence differs from @seen;
 * -ERESTARTSYS on a signal.
 */
int hsmg_event_wait(u64 seen)
{
	return wait_event_interruptible(hsmg_event_wq, hsmg_event_seq() != seen);
}

/* hsmg_event_poll_wait - poll_wait() on the event wait queue. */
void hsmg_event_poll_wait(struct file *file, poll_table *pt)
{
	poll_wait(file, &hsmg_event_wq, pt);
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
	/* Readers hold a client file, so a module reference: none is left. */
	WARN_ON_ONCE(wq_has_sleeper(&hsmg_event_wq));
}
