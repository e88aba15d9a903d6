// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hsmgroup: one open file is one client.  Its session handles are
 * virtual, valid on this file only (like the TPM resource manager's), and
 * everything it owns ends when the file is released, also when its process
 * was killed.  What a client makes the kernel allocate (its state, sessions,
 * request payloads) is charged to its memory cgroup (GFP_KERNEL_ACCOUNT):
 * sessions are capped per file, files by RLIMIT_NOFILE, the sum by memcg.
 *
 * read() and poll() tell a client that events happened (the event
 * sequence number of event.c moved past what this file last read), like an
 * eventfd: the client then lists what it needs.
 */
#include "main.h"

#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "client.h"
#include "event.h"
#include "group.h"
#include "ioctl.h"
#include "provider.h"
#include "queue.h"
#include "request.h"
#include "sched.h"
#include "session.h"

#define HSMG_FEATURES                                                          \
	(HSMG_FEAT_STRICT | HSMG_FEAT_VHSM | HSMG_FEAT_FAILOVER |              \
	 HSMG_FEAT_EVENTS | HSMG_FEAT_COMPLETE_FETCH)

static int hsmg_client_open(struct inode *inode, struct file *file)
{
	struct hsmg_client *c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);

	if (!c)
		return -ENOMEM;
	xa_init_flags(&c->sessions, XA_FLAGS_ALLOC1);
	mutex_init(&c->lock);
	INIT_LIST_HEAD(&c->backlogs);
	atomic_set(&c->assigned, 0);
	atomic64_set(&c->requests, 0);
	atomic64_set(&c->errors, 0);
	atomic64_set(&c->event_seen, hsmg_event_seq());
	file->private_data = c;
	return 0;
}

static int hsmg_client_release(struct inode *inode, struct file *file)
{
	struct hsmg_client *c = file->private_data;
	struct hsmg_backlog *bl, *tmp;
	struct hsmg_session *s;
	unsigned long handle;

	/* No coprocessor session outlives its file: log out, do not wait. */
	xa_for_each(&c->sessions, handle, s) {
		xa_erase(&c->sessions, handle);
		hsmg_session_end(s, false);
		hsmg_session_put(s);
	}
	xa_destroy(&c->sessions);
	list_for_each_entry_safe(bl, tmp, &c->backlogs, client_node)
		hsmg_sched_backlog_free(bl);
	WARN_ON_ONCE(atomic_read(&c->assigned));
	mutex_destroy(&c->lock);
	kfree(c);
	return 0;
}

/*
 * hsmg_client_session - the session behind @handle, with a reference;
 * ERR_PTR(-ENOENT) for an unknown handle, ERR_PTR(-EKEYREVOKED) for a
 * session an administrator ended.
 */
static struct hsmg_session *hsmg_client_session(struct hsmg_client *c,
						u32 handle)
{
	struct hsmg_session *s;

	mutex_lock(&c->lock);
	s = handle ? xa_load(&c->sessions, handle) : NULL;
	if (s && READ_ONCE(s->revoked))
		s = ERR_PTR(-EKEYREVOKED);
	else if (s)
		hsmg_session_get(s);
	else
		s = ERR_PTR(-ENOENT);
	mutex_unlock(&c->lock);
	return s;
}

static long hsmg_ioc_get_info(unsigned long uarg)
{
	struct hsmg_info info;
	int argsz, i;

	argsz = hsmg_copy_args(&info, sizeof(info), HSMG_INFO_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (info.flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(info.reserved); i++)
		if (info.reserved[i])
			return -EINVAL;
	info.abi_version = HSMG_ABI_VERSION;
	info.ngroups = hsmg_group_count();
	info.features = HSMG_FEATURES;
	info.max_msg_size = HSMG_MAX_MSG_SIZE;
	info.max_batch = HSMG_MAX_BATCH;
	info.max_sessions = HSMG_MAX_SESSIONS;
	info.max_pin_len = HSMG_MAX_PIN_LEN;
	return hsmg_copy_result(uarg, &info, sizeof(info), argsz);
}

/*
 * hsmg_copy_elems - copy @n elements of @ksize bytes to @ubase, @usize bytes
 * each: the first min(usize, ksize) bytes, the rest zeroed.
 */
static int hsmg_copy_elems(u64 ubase, const void *karr, size_t ksize, u32 n,
			   u32 usize)
{
	size_t part = min_t(size_t, ksize, usize);
	u32 i;

	for (i = 0; i < n; i++) {
		void __user *u = u64_to_user_ptr(ubase + (u64)i * usize);

		if (copy_to_user(u, karr + i * ksize, part))
			return -EFAULT;
		if (usize > part && clear_user(u + part, usize - part))
			return -EFAULT;
	}
	return 0;
}

static long hsmg_ioc_list_groups(unsigned long uarg)
{
	struct hsmg_group_info *arr;
	struct hsmg_group_list gl;
	u32 cap, n;
	int argsz, ret;

	argsz = hsmg_copy_args(&gl, sizeof(gl), HSMG_GROUP_LIST_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (gl.flags)
		return -EINVAL;
	if (gl.elem_size < HSMG_GROUP_INFO_SIZE_V1)
		return -EINVAL;
	if (gl.elem_size > HSMG_MAX_ARGSZ)
		return -E2BIG;
	n = hsmg_group_count();
	if (!gl.count) {
		gl.count = n;
		return hsmg_copy_result(uarg, &gl, sizeof(gl), argsz);
	}
	/* Room for groups created meanwhile. */
	cap = min(gl.count, n + 16);
	arr = kvcalloc(cap, sizeof(*arr), GFP_KERNEL);
	if (!arr)
		return -ENOMEM;
	ret = hsmg_group_list(arr, cap, &n);
	if (ret == -ENOSPC && gl.count >= n)
		ret = -EAGAIN;
	if (!ret)
		ret = hsmg_copy_elems(gl.groups, arr, sizeof(*arr), n,
				      gl.elem_size);
	kvfree(arr);
	if (ret && ret != -ENOSPC)
		return ret;
	gl.count = n;
	if (hsmg_copy_result(uarg, &gl, sizeof(gl), argsz))
		return -EFAULT;
	return ret;
}

static long hsmg_ioc_list_members(unsigned long uarg)
{
	struct hsmg_member_info *arr;
	struct hsmg_member_list ml;
	struct hsmg_group *g;
	u32 cap, n;
	int argsz, ret;

	argsz = hsmg_copy_args(&ml, sizeof(ml), HSMG_MEMBER_LIST_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (ml.flags || ml.reserved)
		return -EINVAL;
	g = hsmg_group_find(ml.group_id);
	if (!g)
		return -ENOENT;
	if (ml.elem_size < HSMG_MEMBER_INFO_SIZE_V1)
		return -EINVAL;
	if (ml.elem_size > HSMG_MAX_ARGSZ)
		return -E2BIG;
	/* At most 65536 APQNs exist. */
	cap = min_t(u32, ml.count, 65536);
	hsmg_group_list_members(g, NULL, 0, &n);
	if (!cap) {
		ml.count = n;
		return hsmg_copy_result(uarg, &ml, sizeof(ml), argsz);
	}
	cap = min(cap, n + 16);
	arr = kvcalloc(cap, sizeof(*arr), GFP_KERNEL);
	if (!arr)
		return -ENOMEM;
	ret = hsmg_group_list_members(g, arr, cap, &n);
	if (ret == -ENOSPC && ml.count >= n)
		ret = -EAGAIN;
	if (!ret)
		ret = hsmg_copy_elems(ml.members, arr, sizeof(*arr), n,
				      ml.elem_size);
	kvfree(arr);
	if (ret && ret != -ENOSPC)
		return ret;
	ml.count = n;
	if (hsmg_copy_result(uarg, &ml, sizeof(ml), argsz))
		return -EFAULT;
	return ret;
}

static long hsmg_ioc_session_open(struct hsmg_client *c, unsigned long uarg)
{
	struct hsmg_session_open so;
	struct hsmg_session *s;
	struct hsmg_group *g;
	u32 handle;
	int argsz, ret;

	argsz = hsmg_copy_args(&so, sizeof(so), HSMG_SESSION_OPEN_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (so.flags & ~HSMG_SESSION_ALL_FLAGS)
		return -EINVAL;
	if (so.reserved[0] || so.reserved[1])
		return -EINVAL;
	g = hsmg_group_find(so.group_id);
	if (!g)
		return -ENOENT;
	s = hsmg_session_new(g, so.flags);
	if (!s)
		return -ENOMEM;
	mutex_lock(&c->lock);
	ret = xa_alloc(&c->sessions, &handle, s,
		       XA_LIMIT(1, HSMG_MAX_SESSIONS), GFP_KERNEL_ACCOUNT);
	mutex_unlock(&c->lock);
	if (ret) {
		hsmg_session_end(s, false);
		hsmg_session_put(s);
		return ret == -EBUSY ? -EMFILE : ret;
	}
	so.session_id = handle;
	if (hsmg_copy_result(uarg, &so, sizeof(so), argsz)) {
		mutex_lock(&c->lock);
		xa_erase(&c->sessions, handle);
		mutex_unlock(&c->lock);
		hsmg_session_end(s, false);
		hsmg_session_put(s);
		return -EFAULT;
	}
	return 0;
}

static long hsmg_ioc_session_close(struct hsmg_client *c, unsigned long uarg)
{
	struct hsmg_session_close sc;
	struct hsmg_session *s;
	int argsz;

	argsz = hsmg_copy_args(&sc, sizeof(sc), HSMG_SESSION_CLOSE_SIZE_V1,
			       uarg);
	if (argsz < 0)
		return argsz;
	if (sc.flags || sc.reserved)
		return -EINVAL;
	mutex_lock(&c->lock);
	s = sc.session_id ? xa_erase(&c->sessions, sc.session_id) : NULL;
	mutex_unlock(&c->lock);
	if (!s)
		return -ENOENT;
	/*
	 * The session's requests under way complete first (each is bounded by
	 * its deadline); a killed caller goes on, the requests hold their own
	 * references.
	 */
	wait_event_killable(s->idle_wq, !atomic_read(&s->active));
	hsmg_session_end(s, true);
	hsmg_session_put(s);
	return 0;
}

/*
 * The head of an authentication record: magic, version, a user that
 * matches the login.
 */
static bool hsmg_auth_record_ok(const u8 *rec, u32 len, u32 flags)
{
	const struct hsmg_auth_record_hdr *h = (const void *)rec;

	if (len < sizeof(*h) || h->magic != HSMG_AUTH_RECORD_MAGIC ||
	    h->version != 1)
		return false;
	return h->user == ((flags & HSMG_LOGIN_SO) ? HSMG_AUTH_SO :
			   HSMG_AUTH_USER);
}

static long hsmg_ioc_login(struct hsmg_client *c, unsigned long uarg)
{
	u8 pin[HSMG_MAX_PIN_LEN], cardpin[16], *record = NULL;
	struct hsmg_login_secrets ls = {pin, 0, cardpin, 0, NULL, 0};
	struct hsmg_session *s;
	struct hsmg_login lg;
	bool vhsm;
	int argsz, ret;

	argsz = hsmg_copy_args(&lg, sizeof(lg), HSMG_LOGIN_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (lg.flags & ~HSMG_LOGIN_ALL_FLAGS)
		return -EINVAL;
	if (lg.reserved0 || lg.reserved)
		return -EINVAL;
	s = hsmg_client_session(c, lg.session_id);
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = -EINVAL;
	if (!lg.pin_len)
		goto out;
	ret = -E2BIG;
	if (lg.pin_len > HSMG_MAX_PIN_LEN ||
	    lg.record_len > HSMG_AUTH_RECORD_MAX)
		goto out;
	ret = -EINVAL;
	/* An SO login is never bound to the card-PIN. */
	vhsm = (s->flags & HSMG_SESSION_VHSM) && !(lg.flags & HSMG_LOGIN_SO);
	if (vhsm ? (lg.cardpin_len < 8 || lg.cardpin_len > 16) :
		   lg.cardpin_len)
		goto out;
	ret = -ENOMEM;
	if (lg.record_len) {
		record = kmalloc(lg.record_len, GFP_KERNEL);
		if (!record)
			goto out;
	}
	ret = -EFAULT;
	if (copy_from_user(pin, u64_to_user_ptr(lg.pin), lg.pin_len))
		goto wipe;
	if (lg.cardpin_len &&
	    copy_from_user(cardpin, u64_to_user_ptr(lg.cardpin),
			   lg.cardpin_len))
		goto wipe;
	if (record &&
	    copy_from_user(record, u64_to_user_ptr(lg.record), lg.record_len))
		goto wipe;
	ret = -EINVAL;
	if (record && !hsmg_auth_record_ok(record, lg.record_len, lg.flags))
		goto wipe;
	ls.pin_len = lg.pin_len;
	ls.cardpin_len = lg.cardpin_len;
	ls.record = record;
	ls.record_len = lg.record_len;
	ret = hsmg_session_login(s, lg.flags, &ls, &lg.members, lg.pin_blob);
	if (!ret && hsmg_copy_result(uarg, &lg, sizeof(lg), argsz)) {
		hsmg_session_logout(s, true);
		ret = -EFAULT;
	}
wipe:
	memzero_explicit(pin, sizeof(pin));
	memzero_explicit(cardpin, sizeof(cardpin));
	memzero_explicit(lg.pin_blob, sizeof(lg.pin_blob));
	kfree_sensitive(record);
out:
	hsmg_session_put(s);
	return ret;
}

static long hsmg_ioc_logout(struct hsmg_client *c, unsigned long uarg)
{
	struct hsmg_session *s;
	struct hsmg_logout lo;
	int argsz, ret;

	argsz = hsmg_copy_args(&lo, sizeof(lo), HSMG_LOGOUT_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (lo.flags || lo.reserved)
		return -EINVAL;
	s = hsmg_client_session(c, lo.session_id);
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = hsmg_session_logout(s, true);
	hsmg_session_put(s);
	return ret;
}

static long hsmg_ioc_submit(struct hsmg_client *c, unsigned long uarg)
{
	struct hsmg_session *s = NULL;
	struct hsmg_request *req;
	struct hsmg_queue *runq;
	struct hsmg_backlog *bl;
	struct hsmg_submit sb;
	struct hsmg_group *g;
	unsigned int ms;
	void *msg;
	int argsz, ret;

	argsz = hsmg_copy_args(&sb, sizeof(sb), HSMG_SUBMIT_SIZE_V1, uarg);
	if (argsz < 0)
		return argsz;
	if (sb.flags & ~HSMG_SUBMIT_ALL_FLAGS)
		return -EINVAL;
	if (sb.reserved0 || sb.reserved[0] || sb.reserved[1])
		return -EINVAL;
	if (sb.op_class >= HSMG_OP_NR || sb.weight > 1000000)
		return -EINVAL;
	g = hsmg_group_find(sb.group_id);
	if (!g)
		return -ENOENT;
	if (sb.session_id) {
		s = hsmg_client_session(c, sb.session_id);
		if (IS_ERR(s))
			return PTR_ERR(s);
		ret = -EINVAL;
		if (s->group != g)
			goto put_session;
	}
	ret = -EINVAL;
	if (!sb.req_len)
		goto put_session;
	ret = -E2BIG;
	if (sb.req_len > HSMG_MAX_MSG_SIZE || sb.resp_len > HSMG_MAX_MSG_SIZE)
		goto put_session;
	ret = -ENOMEM;
	msg = kvmalloc(sb.req_len, GFP_KERNEL_ACCOUNT);
	if (!msg)
		goto put_session;
	ret = -EFAULT;
	if (copy_from_user(msg, u64_to_user_ptr(sb.req), sb.req_len)) {
		kvfree(msg);
		goto put_session;
	}
	ret = -ENOMEM;
	bl = hsmg_sched_backlog(c, g);
	req = bl ? hsmg_request_alloc(g, GFP_KERNEL) : NULL;
	if (!req) {
		kvfree(msg);
		goto put_session;
	}
	req->client = c;
	req->backlog = bl;
	req->session = s;	/* the request owns the reference now */
	if (s) {
		req->session_id = s->id;
		req->session_flags = s->flags;
		atomic_inc(&s->active);
	}
	req->type = HSMG_BE_REQ_CRYPTO;
	req->op_class = sb.op_class;
	req->weight = sb.weight ?: hsmg_sched_default_weight(sb.op_class);
	req->flags = sb.flags;
	req->msg = msg;
	req->msg_len = sb.req_len;
	kref_get(&req->ref);	/* ours; the group holds the other */

	ms = sb.timeout_ms ?: READ_ONCE(hsmg_default_timeout_ms);
	spin_lock(&g->lock);
	hsmg_sched_enqueue(req, false);
	pr_debug("request: submit class %u len %u group %u\n", req->op_class,
		 req->msg_len, g->id);
	hsmg_sched_dispatch(g);
	runq = hsmg_provider_runnable(req);
	spin_unlock(&g->lock);
	/* A provider that answers at once does it here, without wake-ups. */
	if (runq)
		hsmg_provider_run(runq);

	ret = hsmg_request_wait(req, jiffies + msecs_to_jiffies(ms));
	if (s && atomic_dec_and_test(&s->active))
		wake_up(&s->idle_wq);
	sb.attempts = req->attempts;
	sb.member = ret ? 0 : req->answered_by;
	if (!ret) {
		if (req->resp_len > sb.resp_len)
			ret = -ENOSPC;
		else if (req->resp_len &&
			 copy_to_user(u64_to_user_ptr(sb.resp), req->resp,
				      req->resp_len))
			ret = -EFAULT;
		sb.resp_len = req->resp_len;
	}
	hsmg_request_put(req);
	if ((!ret || ret == -ENOSPC) &&
	    hsmg_copy_result(uarg, &sb, sizeof(sb), argsz))
		return -EFAULT;
	return ret;

put_session:
	if (s)
		hsmg_session_put(s);
	return ret;
}

/*
 * hsmg_client_read - the event sequence number, as a native __u64, once it
 * differs from what this file read last (at open: the value then).  Of
 * several readers of one file, each new value goes to one of them.
 */
static ssize_t hsmg_client_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct hsmg_client *c = file->private_data;
	s64 seen;
	u64 seq;
	int ret;

	if (count < sizeof(seq))
		return -EINVAL;
	for (;;) {
		seen = atomic64_read(&c->event_seen);
		seq = hsmg_event_seq();
		if (seq == (u64)seen) {
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = hsmg_event_wait(seen);
			if (ret)
				return ret;
			continue;
		}
		/* Copy first: a fault consumes nothing. */
		if (copy_to_user(buf, &seq, sizeof(seq)))
			return -EFAULT;
		if (atomic64_try_cmpxchg(&c->event_seen, &seen, seq))
			return sizeof(seq);
		/* Another reader of this file took it; look again. */
	}
}

static __poll_t hsmg_client_poll(struct file *file, poll_table *pt)
{
	struct hsmg_client *c = file->private_data;

	hsmg_event_poll_wait(file, pt);
	if (hsmg_event_seq() != (u64)atomic64_read(&c->event_seen))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static long hsmg_client_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct hsmg_client *c = file->private_data;

	/*
	 * Whole command numbers: argsz, not the size encoded in the command,
	 * makes the structs extensible.
	 */
	switch (cmd) {
	case HSMG_IOC_GET_INFO:
		return hsmg_ioc_get_info(arg);
	case HSMG_IOC_LIST_GROUPS:
		return hsmg_ioc_list_groups(arg);
	case HSMG_IOC_LIST_MEMBERS:
		return hsmg_ioc_list_members(arg);
	case HSMG_IOC_SESSION_OPEN:
		return hsmg_ioc_session_open(c, arg);
	case HSMG_IOC_SESSION_CLOSE:
		return hsmg_ioc_session_close(c, arg);
	case HSMG_IOC_LOGIN:
		return hsmg_ioc_login(c, arg);
	case HSMG_IOC_LOGOUT:
		return hsmg_ioc_logout(c, arg);
	case HSMG_IOC_SUBMIT:
		return hsmg_ioc_submit(c, arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hsmg_client_fops = {
	.owner = THIS_MODULE,
	.open = hsmg_client_open,
	.release = hsmg_client_release,
	.read = hsmg_client_read,
	.poll = hsmg_client_poll,
	.unlocked_ioctl = hsmg_client_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice hsmg_client_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hsmgroup",
	.fops = &hsmg_client_fops,
	.mode = 0660,
};

/* The client ABI, checked at build time (Landlock's build_check_abi()). */
static void hsmg_client_build_check(void)
{
	BUILD_BUG_ON(sizeof(struct hsmg_info) != HSMG_INFO_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_group_list) != HSMG_GROUP_LIST_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_group_info) != HSMG_GROUP_INFO_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_member_info) !=
		     HSMG_MEMBER_INFO_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_member_list) !=
		     HSMG_MEMBER_LIST_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_session_open) !=
		     HSMG_SESSION_OPEN_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_session_close) !=
		     HSMG_SESSION_CLOSE_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_login) != HSMG_LOGIN_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_logout) != HSMG_LOGOUT_SIZE_V1);
	BUILD_BUG_ON(sizeof(struct hsmg_submit) != HSMG_SUBMIT_SIZE_V1);
}

int hsmg_client_init(void)
{
	hsmg_client_build_check();
	return misc_register(&hsmg_client_dev);
}

void hsmg_client_exit(void)
{
	misc_deregister(&hsmg_client_dev);
}
