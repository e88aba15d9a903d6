// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hsmgroup-backend: the queue provider for cards driven from userspace.
 * One open file attaches one queue; releasing the file (also when the card
 * process was killed) detaches it.
 */
#include "main.h"

#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "backend.h"
#include "group.h"
#include "ioctl.h"
#include "provider.h"
#include "queue.h"

/**
 * struct hsmg_backend - per open file: one attached queue, any number of
 * card threads fetching on it.  They sleep as exclusive waiters: a new
 * request wakes one of them, not all (a fetch that leaves work behind wakes
 * the next).  While one of them spins for the next request (hsmg_be_poll()),
 * new requests wake nobody.
 * @lock: protects @q; held across attach, detach and complete.
 * @q: attached queue, or NULL.
 * @wq: fetch and poll wait here.
 * @polling: a thread spins in hsmg_be_poll().
 */
struct hsmg_backend {
	struct mutex lock; /* protects @q */
	struct hsmg_queue *q;
	wait_queue_head_t wq;
	atomic_t polling;
};

static void hsmg_backend_notify(struct hsmg_queue *q, void *priv)
{
	struct hsmg_backend *be = priv;

	/* The request is queued before @polling is read: hsmg_be_poll(). */
	smp_mb();
	if (atomic_read(&be->polling))
		return;
	wake_up(&be->wq);
}

static const struct hsmg_queue_ops hsmg_backend_ops = {
	.notify = hsmg_backend_notify,
};

static int hsmg_backend_open(struct inode *inode, struct file *file)
{
	struct hsmg_backend *be;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	be = kzalloc(sizeof(*be), GFP_KERNEL);
	if (!be)
		return -ENOMEM;
	mutex_init(&be->lock);
	init_waitqueue_head(&be->wq);
	file->private_data = be;
	return 0;
}

static int hsmg_backend_release(struct inode *inode, struct file *file)
{
	struct hsmg_backend *be = file->private_data;

	if (be->q)
		hsmg_provider_unregister(be->q);
	mutex_destroy(&be->lock);
	kfree(be);
	return 0;
}

static long hsmg_be_attach(struct hsmg_backend *be, unsigned long uarg)
{
	struct hsmg_queue_desc desc = {};
	struct hsmg_be_attach at;
	struct hsmg_queue *q;
	int argsz, i, ret;

	argsz = hsmg_copy_args(&at, sizeof(at), HSMG_BE_ATTACH_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (at.flags & ~HSMG_ATTACH_ALL_FLAGS)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(at.reserved); i++)
		if (at.reserved[i])
			return -EINVAL;
	desc.adapter = at.adapter;
	desc.domain = at.domain;
	desc.standby = at.flags & HSMG_ATTACH_STANDBY;
	desc.capabilities = at.capabilities;
	desc.max_inflight = at.max_inflight;
	desc.speed = at.speed;
	desc.max_sessions = at.max_sessions;
	memcpy(desc.mkvp, at.mkvp, HSMG_MKVP_LEN);

	mutex_lock(&be->lock);
	if (be->q) {
		ret = -EBUSY;
		goto unlock;
	}
	q = hsmg_provider_register(&desc, &hsmg_backend_ops, be);
	if (IS_ERR(q)) {
		ret = PTR_ERR(q);
		goto unlock;
	}
	hsmg_provider_ids(q, &at.queue_id, &at.group_id, &at.state);
	ret = hsmg_copy_result(uarg, &at, sizeof(at), argsz);
	if (ret)
		hsmg_provider_unregister(q);
	else
		WRITE_ONCE(be->q, q);
unlock:
	mutex_unlock(&be->lock);
	return ret;
}

static int hsmg_be_copy_work(u64 ubuf, const struct hsmg_work *w, size_t *off)
{
	void __user *u = u64_to_user_ptr(ubuf + *off);
	size_t pad = hsmg_work_size(w->len) - HSMG_BE_REQ_SIZE - w->len;
	struct hsmg_be_req hdr = {
		.tag = w->tag,
		.type = w->type,
		.op_class = w->op_class,
		.session = w->session,
		.session_flags = w->session_flags,
		.len = w->len,
	};

	if (copy_to_user(u, &hdr, sizeof(hdr)))
		return -EFAULT;
	u += sizeof(hdr);
	if (w->len && copy_to_user(u, w->data, w->len))
		return -EFAULT;
	if (pad && clear_user(u + w->len, pad))
		return -EFAULT;
	*off += hsmg_work_size(w->len);
	return 0;
}

/* Copy in and check a &struct hsmg_be_fetch: its argsz, or an error. */
static int hsmg_be_fetch_args(struct hsmg_be_fetch *fe, unsigned long uarg)
{
	int argsz;

	argsz = hsmg_copy_args(fe, sizeof(*fe), HSMG_BE_FETCH_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (fe->flags & ~HSMG_FETCH_ALL_FLAGS)
		return -EINVAL;
	if (fe->reserved[0] || fe->reserved[1])
		return -EINVAL;
	if (!fe->max_reqs)
		return -EINVAL;
	if (fe->max_reqs > HSMG_MAX_BATCH || fe->buf_len > 2 * HSMG_MAX_MSG_SIZE)
		return -E2BIG;
	return argsz;
}

/*
 * The group has at least as many requests at its members as there are CPUs:
 * a card thread spinning for more would keep a CPU from them (and from the
 * scheduler's load balancing, to which a spinning CPU looks busy).
 */
static bool hsmg_be_group_busy(struct hsmg_queue *q)
{
	return READ_ONCE(q->group->assigned) >= num_online_cpus();
}

/* Something to do: a request to fetch, or the queue went (-ENODEV); or stop. */
static bool hsmg_be_work_cond(void *arg)
{
	struct hsmg_queue *q = arg;

	return !READ_ONCE(q->attached) || hsmg_provider_may_have_work(q) ||
	       hsmg_be_group_busy(q);
}

/*
 * Spin for the next request of @q before sleeping, one thread per file at a
 * time, unless the group is busy (hsmg_be_group_busy()).  Requests queued
 * meanwhile wake nobody (hsmg_backend_notify()); the caller fetches again
 * after this returns, and a fetch that leaves work behind wakes a sleeper,
 * so none is stranded.
 */
static void hsmg_be_poll(struct hsmg_backend *be, struct hsmg_queue *q)
{
	if (hsmg_be_group_busy(q) || atomic_cmpxchg(&be->polling, 0, 1))
		return;
	WRITE_ONCE(q->polling, true);
	atomic64_inc(&q->busy_polls);
	hsmg_busy_poll(hsmg_be_work_cond, q);
	WRITE_ONCE(q->polling, false);
	atomic_set(&be->polling, 0);
	/* Pairs with hsmg_backend_notify(): the fetch after sees the work. */
	smp_mb__after_atomic();
}

/* Fetch with checked @fe (from @uarg, @argsz bytes) and write it back. */
static long hsmg_be_fetch_run(struct hsmg_backend *be, struct file *file,
			      struct hsmg_be_fetch fe, int argsz,
			      unsigned long uarg)
{
	struct hsmg_work *work;
	struct hsmg_queue *q;
	size_t off = 0;
	bool nonblock, polled = false;
	int n, i, ret;

	nonblock = (fe.flags & HSMG_FETCH_NONBLOCK) ||
		   (file->f_flags & O_NONBLOCK);
	work = kcalloc(fe.max_reqs, sizeof(*work), GFP_KERNEL);
	if (!work)
		return -ENOMEM;
	for (;;) {
		mutex_lock(&be->lock);
		q = be->q;
		n = q ? hsmg_provider_fetch(q, work, fe.max_reqs, fe.buf_len) :
			-ENODEV;
		mutex_unlock(&be->lock);
		if (n)
			break;
		if (nonblock) {
			n = -EAGAIN;
			break;
		}
		if (q && !polled) {
			polled = true;
			hsmg_be_poll(be, q);
			continue;
		}
		if (wait_event_interruptible_exclusive(be->wq,
						       READ_ONCE(be->q) != q ||
						       hsmg_provider_has_work(q))) {
			n = -EINTR;
			break;
		}
	}
	if (n < 0) {
		ret = n;
		goto out;
	}
	if (hsmg_provider_may_have_work(q))
		wake_up(&be->wq);
	for (i = 0; i < n; i++) {
		ret = hsmg_be_copy_work(fe.buf, &work[i], &off);
		if (ret) {
			hsmg_provider_unfetch(q, work, n);
			goto out;
		}
	}
	hsmg_provider_release(work, n);
	fe.nreqs = n;
	fe.used = off;
	ret = hsmg_copy_result(uarg, &fe, sizeof(fe), argsz);
out:
	kfree(work);
	return ret;
}

static long hsmg_be_fetch(struct hsmg_backend *be, struct file *file,
			  unsigned long uarg)
{
	struct hsmg_be_fetch fe;
	int argsz;

	argsz = hsmg_be_fetch_args(&fe, uarg);
	if (argsz < 0)
		return argsz;
	return hsmg_be_fetch_run(be, file, fe, argsz, uarg);
}

static int hsmg_be_complete_one(struct hsmg_queue *q, u64 uentry, u32 *stale)
{
	struct hsmg_be_completion e;
	void *buf = NULL;
	int ret;

	if (copy_from_user(&e, u64_to_user_ptr(uentry), sizeof(e)))
		return -EFAULT;
	if (e.status > HSMG_BE_PIN_LOCKED)
		return -EINVAL;
	if (e.status == HSMG_BE_OK && e.len) {
		if (e.len > HSMG_MAX_MSG_SIZE)
			return -E2BIG;
		buf = kvmalloc(e.len, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		if (copy_from_user(buf, u64_to_user_ptr(e.data), e.len)) {
			kvfree(buf);
			return -EFAULT;
		}
	}
	ret = hsmg_provider_complete_buf(q, e.tag, e.status, buf,
					 buf ? e.len : 0);
	if (ret == -ENOENT) {
		(*stale)++;
		ret = 0;
	}
	return ret;
}

static long hsmg_be_complete(struct hsmg_backend *be, struct file *file,
			     unsigned long uarg)
{
	bool then_fetch;
	struct hsmg_be_complete co;
	struct hsmg_be_fetch fe;
	int argsz, fe_argsz = 0, ret = 0;
	u32 i;

	argsz = hsmg_copy_args(&co, sizeof(co), HSMG_BE_COMPLETE_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (co.flags & ~HSMG_COMPLETE_ALL_FLAGS)
		return -EINVAL;
	then_fetch = co.flags & HSMG_COMPLETE_FETCH;
	if (co.reserved0 || co.reserved || (!then_fetch && co.fetch))
		return -EINVAL;
	if (!co.count && !then_fetch)
		return -EINVAL;
	if (co.count > HSMG_MAX_BATCH)
		return -E2BIG;
	if (then_fetch) {
		/* Checked before anything is applied. */
		fe_argsz = hsmg_be_fetch_args(&fe, co.fetch);
		if (fe_argsz < 0)
			return fe_argsz;
	}
	co.done = 0;
	co.stale = 0;
	mutex_lock(&be->lock);
	if (!be->q) {
		mutex_unlock(&be->lock);
		return -ENODEV;
	}
	for (i = 0; i < co.count; i++) {
		ret = hsmg_be_complete_one(be->q, co.entries +
					   (u64)i * HSMG_BE_COMPLETION_SIZE,
					   &co.stale);
		if (ret)
			break;
		co.done++;
	}
	mutex_unlock(&be->lock);
	if (hsmg_copy_result(uarg, &co, sizeof(co), argsz))
		return -EFAULT;
	if (ret || !then_fetch)
		return ret;
	return hsmg_be_fetch_run(be, file, fe, fe_argsz, co.fetch);
}

static long hsmg_be_set_mkvp(struct hsmg_backend *be, unsigned long uarg)
{
	struct hsmg_be_set_mkvp sm;
	int argsz, i, ret;

	argsz = hsmg_copy_args(&sm, sizeof(sm), HSMG_BE_SET_MKVP_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (sm.flags & ~HSMG_SET_MKVP_ALL_FLAGS || sm.reserved0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(sm.reserved); i++)
		if (sm.reserved[i])
			return -EINVAL;
	mutex_lock(&be->lock);
	ret = be->q ? hsmg_provider_set_mkvp(be->q, sm.mkvp, &sm.state) : -ENODEV;
	mutex_unlock(&be->lock);
	if (ret)
		return ret;
	return hsmg_copy_result(uarg, &sm, sizeof(sm), argsz);
}

static long hsmg_be_detach(struct hsmg_backend *be)
{
	struct hsmg_queue *q;

	mutex_lock(&be->lock);
	q = be->q;
	if (q) {
		hsmg_provider_unregister(q);
		WRITE_ONCE(be->q, NULL);
	}
	mutex_unlock(&be->lock);
	wake_up_all(&be->wq);
	return q ? 0 : -ENODEV;
}

static long hsmg_backend_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct hsmg_backend *be = file->private_data;

	/*
	 * Whole command numbers: argsz, not the size encoded in the command,
	 * makes the structs extensible.
	 */
	switch (cmd) {
	case HSMG_IOC_BE_ATTACH:
		return hsmg_be_attach(be, arg);
	case HSMG_IOC_BE_FETCH:
		return hsmg_be_fetch(be, file, arg);
	case HSMG_IOC_BE_COMPLETE:
		return hsmg_be_complete(be, file, arg);
	case HSMG_IOC_BE_DETACH:
		return hsmg_be_detach(be);
	case HSMG_IOC_BE_SET_MKVP:
		return hsmg_be_set_mkvp(be, arg);
	default:
		return -ENOTTY;
	}
}

static __poll_t hsmg_backend_poll(struct file *file, poll_table *wait)
{
	struct hsmg_backend *be = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &be->wq, wait);
	mutex_lock(&be->lock);
	if (be->q && hsmg_provider_has_work(be->q))
		mask |= EPOLLIN | EPOLLRDNORM;
	mutex_unlock(&be->lock);
	return mask;
}

static const struct file_operations hsmg_backend_fops = {
	.owner = THIS_MODULE,
	.open = hsmg_backend_open,
	.release = hsmg_backend_release,
	.unlocked_ioctl = hsmg_backend_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = hsmg_backend_poll,
	.llseek = noop_llseek,
};

static struct miscdevice hsmg_backend_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hsmgroup-backend",
	.fops = &hsmg_backend_fops,
	.mode = 0600,
};

static void hsmg_backend_build_check(void)
{
	BUILD_BUG_ON(sizeof(struct hsmg_be_attach) != HSMG_BE_ATTACH_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_be_req) != HSMG_BE_REQ_SIZE);
	BUILD_BUG_ON(sizeof(struct hsmg_be_login) != 16);
	BUILD_BUG_ON(sizeof(struct hsmg_be_fetch) != HSMG_BE_FETCH_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_be_completion) !=
		     HSMG_BE_COMPLETION_SIZE);
	BUILD_BUG_ON(sizeof(struct hsmg_be_complete) !=
		     HSMG_BE_COMPLETE_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_be_set_mkvp) !=
		     HSMG_BE_SET_MKVP_SIZE_V1);
}

int hsmg_backend_init(void)
{
	hsmg_backend_build_check();
	return misc_register(&hsmg_backend_dev);
}

void hsmg_backend_exit(void)
{
	misc_deregister(&hsmg_backend_dev);
}
