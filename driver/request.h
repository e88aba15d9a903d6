/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requests: one client message (or one kernel LOGIN/LOGOUT/PING) and its
 * way through the group: backlog -> assigned to a queue (pending) -> fetched
 * (in flight) -> done, or back to the backlog when its queue fails.
 */
#ifndef _HSMG_REQUEST_H
#define _HSMG_REQUEST_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/wait.h>

struct hsmg_backlog;
struct hsmg_client;
struct hsmg_group;
struct hsmg_login_rec;
struct hsmg_queue;
struct hsmg_session;

enum hsmg_req_state {
	HSMG_RS_NEW,
	HSMG_RS_BACKLOG,
	HSMG_RS_PENDING,
	HSMG_RS_INFLIGHT,
	HSMG_RS_DONE,
};

/**
 * struct hsmg_request - one request.
 * @ref: one reference for the group while not done, one per waiter.
 * @node: in a backlog, a queue's pending or in-flight list.
 * @fan_node: in the list of a thread waiting for a fan-out (login/logout).
 * @group: group serving it.
 * @client: client waiting for it; NULL for kernel requests and once the
 *	client gave up.
 * @backlog: the client's backlog in @group (client requests).
 * @session: session it belongs to (a reference), or NULL.
 * @queue: queue it is assigned to (pending or in flight).
 * @pin: the only queue it may go to (kernel requests), or NULL.
 * @login_rec: login record a LOGIN fills, cleared when the record goes.
 * @logout: a LOGIN whose login record went while it was on its way holds
 *	the record's LOGOUT: sent if the login worked after all, else freed.
 * @end: called under the group lock when the request is done.
 * @tag: tag of the current attempt.
 * @session_id: coprocessor session id.
 * @session_flags: HSMG_SESSION_* of the session.
 * @type: enum hsmg_be_req_type.
 * @op_class: enum hsmg_op_class.
 * @weight: scheduler cost.
 * @flags: HSMG_SUBMIT_*.
 * @state: where it is.
 * @counted: counted in the client's assigned requests.
 * @cancelled: the client gave up while a card held it.
 * @done: the waiter may read the result.
 * @eager: LOGIN sent by a queue's recovery.
 * @sensitive: @msg holds a PIN.
 * @holding: waits with no member able to serve it, since @hold_since.
 * @attempts: attempts made.
 * @deadline: end of the current attempt (jiffies).
 * @assigned_ns: when the current attempt was dispatched (ktime_get_ns()).
 * @fetched_ns: when its card fetched the current attempt (ktime_get_ns()).
 * @hold_since: see @holding.
 * @msg: payload.
 * @msg_len: bytes at @msg.
 * @resp: response (kvmalloc).
 * @resp_len: bytes at @resp.
 * @result: 0 or -errno.
 * @answered_by: queue id that answered.
 * @wq: the waiter sleeps here.
 */
struct hsmg_request {
	struct kref ref;
	struct list_head node;
	struct list_head fan_node;
	struct hsmg_group *group;
	struct hsmg_client *client;
	struct hsmg_backlog *backlog;
	struct hsmg_session *session;
	struct hsmg_queue *queue;
	struct hsmg_queue *pin;
	struct hsmg_login_rec *login_rec;
	struct hsmg_request *logout;
	void (*end)(struct hsmg_request *req);
	u64 tag;
	u64 session_id;
	u32 session_flags;
	u32 type;
	u32 op_class;
	u32 weight;
	u32 flags;
	enum hsmg_req_state state;
	bool counted;
	bool cancelled;
	bool done;
	bool eager;
	bool sensitive;
	bool holding;
	u32 attempts;
	unsigned long deadline;
	u64 assigned_ns;
	u64 fetched_ns;
	unsigned long hold_since;
	void *msg;
	u32 msg_len;
	void *resp;
	u32 resp_len;
	int result;
	u32 answered_by;
	wait_queue_head_t wq;
};

struct hsmg_request *hsmg_request_alloc(struct hsmg_group *g, gfp_t gfp);
void hsmg_request_put(struct hsmg_request *req);
void hsmg_request_exit(void);
void hsmg_request_assign(struct hsmg_request *req, struct hsmg_queue *q);
void hsmg_request_unlink(struct hsmg_request *req);
void hsmg_request_finish(struct hsmg_request *req, int err);
void hsmg_request_requeue(struct hsmg_request *req, bool fetched);
void hsmg_request_cancel(struct hsmg_request *req, int err);
int hsmg_request_wait(struct hsmg_request *req, unsigned long deadline);
unsigned long hsmg_attempt_jiffies(struct hsmg_group *g);
struct hsmg_request *hsmg_request_kernel(struct hsmg_queue *q, u32 type,
					 u64 session_id, u32 session_flags,
					 void *msg, u32 len);

#endif /* _HSMG_REQUEST_H */
