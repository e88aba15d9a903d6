/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Queue provider interface: how a card driver hands queues to hsmgroup.
 *
 * A provider registers one queue per adapter.domain pair with
 * hsmg_provider_register().  hsmgroup calls ops->notify() when work waits for
 * the queue; the provider then takes requests with hsmg_provider_fetch(), sends
 * them to the card, drops its references with hsmg_provider_release() once it
 * has copied the payload, and answers each request with
 * hsmg_provider_complete().  hsmg_provider_unregister() detaches the queue; its
 * unfinished requests go to other members of the group.
 *
 * /dev/hsmgroup-backend (backend.c) is one such provider, for cards driven
 * from userspace.
 */
#ifndef _HSMG_PROVIDER_H
#define _HSMG_PROVIDER_H

#include <linux/types.h>
#include <linux/hsmgroup.h>

struct hsmg_queue;
struct hsmg_request;

/**
 * struct hsmg_queue_desc - what a provider announces about a queue.
 * @adapter: adapter number, 0-255.
 * @domain: domain number, 0-255.
 * @standby: the queue serves only while no active member is online.
 * @capabilities: bit (1 << enum hsmg_op_class) per class served.
 * @max_inflight: requests the card accepts at once.
 * @speed: relative speed, 100 = nominal.
 * @max_sessions: session quota, 0 = unlimited.
 * @mkvp: master key verification pattern.
 */
struct hsmg_queue_desc {
	u32 adapter;
	u32 domain;
	bool standby;
	u64 capabilities;
	u32 max_inflight;
	u32 speed;
	u32 max_sessions;
	u8 mkvp[HSMG_MKVP_LEN];
};

/**
 * struct hsmg_queue_ops - callbacks of a provider.
 * @notify: work is waiting for @q.  Called with hsmgroup's group spinlock
 *	held: it must not sleep (wake a thread up, schedule work).
 * @run: optional.  Called without locks in the context of a client that
 *	has just dispatched its request to @q, before that client waits: a
 *	provider that answers at once may fetch and complete here and spare
 *	the wake-ups of a separate context.  May sleep.  Once
 *	hsmg_provider_unregister() returns, no call is running or will start.
 */
struct hsmg_queue_ops {
	void (*notify)(struct hsmg_queue *q, void *priv);
	void (*run)(struct hsmg_queue *q, void *priv);
};

/**
 * struct hsmg_work - one fetched request.
 * @tag: identifies the attempt; pass it to hsmg_provider_complete().
 * @type: enum hsmg_be_req_type.
 * @op_class: enum hsmg_op_class.
 * @session: coprocessor session id, 0 for none.
 * @session_flags: HSMG_SESSION_* of that session.
 * @len: payload length.
 * @data: payload, valid until hsmg_provider_release().
 * @req: reference on the request (opaque).
 */
struct hsmg_work {
	u64 tag;
	u32 type;
	u32 op_class;
	u64 session;
	u32 session_flags;
	u32 len;
	const void *data;
	struct hsmg_request *req;
};

/* Bytes one fetched request takes in the backend's packed format. */
static inline size_t hsmg_work_size(u32 len)
{
	return HSMG_BE_REQ_SIZE + ALIGN((size_t)len, 8);
}

struct hsmg_queue *hsmg_provider_register(const struct hsmg_queue_desc *desc,
					  const struct hsmg_queue_ops *ops,
				       void *priv);
void hsmg_provider_unregister(struct hsmg_queue *q);
void hsmg_provider_ids(struct hsmg_queue *q, u32 *queue_id, u32 *group_id,
		       u32 *state);
bool hsmg_provider_has_work(struct hsmg_queue *q);
int hsmg_provider_fetch(struct hsmg_queue *q, struct hsmg_work *work,
			unsigned int max, size_t space);
void hsmg_provider_unfetch(struct hsmg_queue *q, struct hsmg_work *work,
			   unsigned int n);
void hsmg_provider_release(struct hsmg_work *work, unsigned int n);
int hsmg_provider_complete(struct hsmg_queue *q, u64 tag, u32 status,
			   const void *data, u32 len);
int hsmg_provider_complete_buf(struct hsmg_queue *q, u64 tag, u32 status,
			       void *buf, u32 len);
int hsmg_provider_set_mkvp(struct hsmg_queue *q, const u8 *mkvp, u32 *state);

/* Inside hsmgroup: the other side of the API. */
void hsmg_provider_notify(struct hsmg_queue *q);
struct hsmg_queue *hsmg_provider_runnable(struct hsmg_request *req);
void hsmg_provider_run(struct hsmg_queue *q);
bool hsmg_provider_may_have_work(struct hsmg_queue *q);
void hsmg_provider_exit(void);

#endif /* _HSMG_PROVIDER_H */
