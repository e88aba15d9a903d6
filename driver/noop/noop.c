// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroup_noop - a test-only queue provider for the benchmark.
 *
 * It registers @queues queues through the provider interface real cards use
 * (../provider.h) and answers every request without doing anything: a
 * client's message comes back as its own answer (an echo), LOGIN gets a
 * fixed pin-blob, LOGOUT and PING an empty answer.  So hsmg-bench --raw
 * against its group measures hsmgroup's own dispatch cost.
 *
 * With delay_us = 0 a request is answered at once: with direct=1 in the
 * context of the client that submitted it (ops->run, no wake-up at all),
 * else from a work item (one kernel thread wake-up).  With delay_us > 0
 * each request is held that long by an hrtimer (waiting, not computing),
 * up to max_inflight per queue at once: a card with a fixed service time.
 *
 * Unloading unregisters the queues first (their unanswered requests go to
 * other members of the group or wait in the backlog), then drops what the
 * timers still held: no request is left behind.
 */
#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "../provider.h"

static unsigned int queues = 1;
module_param(queues, uint, 0444);
MODULE_PARM_DESC(queues, "queues to register, 1..255 (1)");

static unsigned int delay_us;
module_param(delay_us, uint, 0444);
MODULE_PARM_DESC(delay_us, "service time per request in us, 0..60000000 (0: at once)");

static unsigned int max_inflight = 16;
module_param(max_inflight, uint, 0444);
MODULE_PARM_DESC(max_inflight, "requests each queue holds at once, 1..1024 (16)");

static bool direct = true;
module_param(direct, bool, 0444);
MODULE_PARM_DESC(direct, "with delay_us=0, answer in the submitter's context (Y)");

static unsigned int adapter = 0xee;
module_param(adapter, uint, 0444);
MODULE_PARM_DESC(adapter, "adapter number of the queues, 0..255 (0xee); domains 1..queues");

static unsigned int group = 1;
module_param(group, uint, 0444);
MODULE_PARM_DESC(group, "seed of the master key pattern: another value, another group (1)");

/* Requests the timers hold now (read-only parameter, for the benchmark). */
static atomic_t noop_held = ATOMIC_INIT(0);

static int noop_held_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&noop_held));
}

static const struct kernel_param_ops noop_held_ops = {
	.get = noop_held_get,
};
module_param_cb(held, &noop_held_ops, NULL, 0444);
MODULE_PARM_DESC(held, "requests held by the timers now (read-only)");

#define NOOP_BATCH 8

struct noop_queue;

/* One request being held for delay_us. */
struct noop_slot {
	struct hrtimer timer;
	struct work_struct work;
	struct noop_queue *nq;
	struct hsmg_work w;
	bool busy;		/* under nq->lock */
};

struct noop_queue {
	struct hsmg_queue *q;
	struct work_struct fetch;
	struct delayed_work backstop;
	spinlock_t lock;	/* slots' busy flags, nfree, stopping */
	unsigned int nfree;
	bool stopping;
	struct noop_slot *slots;
};

static struct workqueue_struct *noop_wq;
static struct noop_queue *noop_queues;
static unsigned int noop_nqueues;

static const u8 noop_pin_blob[HSMG_PIN_BLOB_LEN] = {
	'h', 's', 'm', 'g', '-', 'n', 'o', 'o', 'p', '-', 'p', 'i', 'n',
};

/* Answer @w (the caller drops its reference). */
static void noop_answer(struct noop_queue *nq, struct hsmg_work *w)
{
	const void *data = NULL;
	u32 len = 0;

	if (w->type == HSMG_BE_REQ_CRYPTO) {
		data = w->data;
		len = w->len;
	} else if (w->type == HSMG_BE_REQ_LOGIN) {
		data = noop_pin_blob;
		len = sizeof(noop_pin_blob);
	}
	/* -ENOENT: the request went elsewhere meanwhile; nothing to do. */
	if (hsmg_provider_complete(nq->q, w->tag, HSMG_BE_OK, data, len) == -ENOMEM)
		hsmg_provider_complete(nq->q, w->tag, HSMG_BE_RETRY, NULL, 0);
}

/* delay_us = 0: take what waits and answer it here. */
static void noop_drain(struct noop_queue *nq)
{
	struct hsmg_work w[NOOP_BATCH];
	int i, n;

	for (;;) {
		n = hsmg_provider_fetch(nq->q, w, NOOP_BATCH, SIZE_MAX);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++)
			noop_answer(nq, &w[i]);
		hsmg_provider_release(w, n);
	}
}

/* delay_us > 0: take what fits in the free slots and start their timers. */
static void noop_hold(struct noop_queue *nq)
{
	struct hsmg_work w[NOOP_BATCH];
	unsigned int i, s, want;
	int n;

	for (;;) {
		spin_lock(&nq->lock);
		want = min_t(unsigned int, nq->nfree, NOOP_BATCH);
		spin_unlock(&nq->lock);
		if (!want)
			return;
		/*
		 * hsmgroup hands out at most max_inflight minus what it counts
		 * in flight, and a slot is freed before its answer: n <= nfree.
		 */
		n = hsmg_provider_fetch(nq->q, w, want, SIZE_MAX);
		if (n <= 0)
			return;
		spin_lock(&nq->lock);
		if (nq->stopping) {
			/* Unloading: no new timer after noop_queue_stop() looked. */
			spin_unlock(&nq->lock);
			hsmg_provider_unfetch(nq->q, w, n);
			return;
		}
		for (i = 0, s = 0; i < n; i++) {
			while (s < max_inflight && nq->slots[s].busy)
				s++;
			if (s == max_inflight) {
				/* An attempt timed out under us: give back. */
				spin_unlock(&nq->lock);
				hsmg_provider_unfetch(nq->q, &w[i], n - i);
				return;
			}
			nq->slots[s].w = w[i];
			nq->slots[s].busy = true;
			nq->nfree--;
			atomic_inc(&noop_held);
			hrtimer_start(&nq->slots[s].timer,
				      ns_to_ktime((u64)delay_us * NSEC_PER_USEC),
				      HRTIMER_MODE_REL);
		}
		spin_unlock(&nq->lock);
	}
}

static void noop_fetch_work(struct work_struct *work)
{
	struct noop_queue *nq = container_of(work, struct noop_queue, fetch);

	if (delay_us)
		noop_hold(nq);
	else
		noop_drain(nq);
}

static void noop_backstop_work(struct work_struct *work)
{
	struct noop_queue *nq = container_of(to_delayed_work(work),
					     struct noop_queue, backstop);

	noop_drain(nq);
}

static enum hrtimer_restart noop_timer(struct hrtimer *t)
{
	struct noop_slot *s = container_of(t, struct noop_slot, timer);

	/* Completing takes hsmgroup's group lock: not from hard irq. */
	queue_work(noop_wq, &s->work);
	return HRTIMER_NORESTART;
}

static void noop_slot_work(struct work_struct *work)
{
	struct noop_slot *s = container_of(work, struct noop_slot, work);
	struct noop_queue *nq = s->nq;
	struct hsmg_work w;

	spin_lock(&nq->lock);
	w = s->w;
	s->busy = false;
	nq->nfree++;
	spin_unlock(&nq->lock);
	atomic_dec(&noop_held);
	noop_answer(nq, &w);
	hsmg_provider_release(&w, 1);
	/*
	 * Take the next request here rather than in the fetch work the
	 * answer's notify queues: one wake-up less per request.  Concurrent
	 * callers are fine: hsmgroup hands out no more than max_inflight.
	 */
	noop_hold(nq);
}

/* Under hsmgroup's group lock: only schedule. */
static void noop_notify(struct hsmg_queue *q, void *priv)
{
	struct noop_queue *nq = priv;

	if (!delay_us && direct)
		/* The submitter answers in noop_run(); this catches the rest. */
		queue_delayed_work(noop_wq, &nq->backstop, 1);
	else
		queue_work(noop_wq, &nq->fetch);
}

/* In the submitting client's context, no lock held. */
static void noop_run(struct hsmg_queue *q, void *priv)
{
	noop_drain(priv);
}

static const struct hsmg_queue_ops noop_ops_work = {
	.notify = noop_notify,
};

static const struct hsmg_queue_ops noop_ops_direct = {
	.notify = noop_notify,
	.run = noop_run,
};

static void noop_queue_stop(struct noop_queue *nq)
{
	unsigned int i;

	spin_lock(&nq->lock);
	nq->stopping = true;
	spin_unlock(&nq->lock);
	if (!IS_ERR_OR_NULL(nq->q))
		hsmg_provider_unregister(nq->q);
	/* No notify or run call from here on; stop what is queued. */
	cancel_work_sync(&nq->fetch);
	cancel_delayed_work_sync(&nq->backstop);
	for (i = 0; nq->slots && i < max_inflight; i++) {
		struct noop_slot *s = &nq->slots[i];

		hrtimer_cancel(&s->timer);
		cancel_work_sync(&s->work);
		/* Re-dispatched by the unregister: only our reference is left. */
		if (s->busy) {
			s->busy = false;
			atomic_dec(&noop_held);
			hsmg_provider_release(&s->w, 1);
		}
	}
	kfree(nq->slots);
}

static int noop_queue_start(struct noop_queue *nq, unsigned int index)
{
	struct hsmg_queue_desc desc = {
		.adapter = adapter,
		.domain = index + 1,
		.capabilities = BIT_ULL(HSMG_OP_NR) - 1,
		.max_inflight = max_inflight,
		.speed = 100,
	};
	unsigned int i;

	spin_lock_init(&nq->lock);
	INIT_WORK(&nq->fetch, noop_fetch_work);
	INIT_DELAYED_WORK(&nq->backstop, noop_backstop_work);
	if (delay_us) {
		nq->slots = kcalloc(max_inflight, sizeof(*nq->slots), GFP_KERNEL);
		if (!nq->slots)
			return -ENOMEM;
		for (i = 0; i < max_inflight; i++) {
			hrtimer_init(&nq->slots[i].timer, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL);
			nq->slots[i].timer.function = noop_timer;
			INIT_WORK(&nq->slots[i].work, noop_slot_work);
			nq->slots[i].nq = nq;
		}
		nq->nfree = max_inflight;
	}
	/* The master key pattern: "noop" and the group seed. */
	memcpy(desc.mkvp, "hsmg-noop", 9);
	memcpy(desc.mkvp + 12, &group, sizeof(group));
	nq->q = hsmg_provider_register(&desc, delay_us || !direct ?
				    &noop_ops_work : &noop_ops_direct, nq);
	if (IS_ERR(nq->q))
		return PTR_ERR(nq->q);
	return 0;
}

static void noop_stop_all(void)
{
	unsigned int i;

	for (i = 0; i < noop_nqueues; i++)
		noop_queue_stop(&noop_queues[i]);
	if (noop_wq)
		destroy_workqueue(noop_wq);
	kfree(noop_queues);
	WARN(atomic_read(&noop_held), "hsmgroup_noop: %d requests held\n",
	     atomic_read(&noop_held));
}

static int __init noop_init(void)
{
	int ret;

	if (!queues || queues > 255 || !max_inflight ||
	    max_inflight > HSMG_MAX_INFLIGHT || adapter > 255 ||
	    delay_us > 60000000 || !group) {
		pr_err("hsmgroup_noop: queues 1..255, max_inflight 1..%u, adapter 0..255, delay_us 0..60000000, group > 0\n",
		       HSMG_MAX_INFLIGHT);
		return -EINVAL;
	}
	noop_wq = alloc_workqueue("hsmg_noop", WQ_UNBOUND | WQ_HIGHPRI, 0);
	noop_queues = kcalloc(queues, sizeof(*noop_queues), GFP_KERNEL);
	if (!noop_wq || !noop_queues) {
		ret = -ENOMEM;
		goto fail;
	}
	for (noop_nqueues = 0; noop_nqueues < queues; noop_nqueues++) {
		ret = noop_queue_start(&noop_queues[noop_nqueues], noop_nqueues);
		if (ret) {
			pr_err("hsmgroup_noop: cannot register queue %02x.%04x: %d\n",
			       adapter, noop_nqueues + 1, ret);
			noop_nqueues++;	/* stop what was set up of it */
			goto fail;
		}
	}
	pr_info("hsmgroup_noop: %u queue(s) %02x.0001.., delay %u us, max_inflight %u, %s\n",
		queues, adapter, delay_us, max_inflight,
		delay_us ? "hrtimer" : direct ? "answered by the submitter" :
		"answered by a work item");
	return 0;
fail:
	noop_stop_all();
	return ret;
}

static void __exit noop_exit(void)
{
	noop_stop_all();
}

module_init(noop_init);
module_exit(noop_exit);
MODULE_DESCRIPTION("hsmgroup no-op queue provider (test only)");
MODULE_LICENSE("GPL");
