/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sessions of a client and their logins on the members of a group.
 */
#ifndef _HSMG_SESSION_H
#define _HSMG_SESSION_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/hsmgroup.h>

struct hsmg_group;
struct hsmg_queue;
struct hsmg_request;

/**
 * struct hsmg_session - one session.
 * @ref: the client's handle table holds one, each request one.
 * @group: group it uses.
 * @id: coprocessor session id (unique for the module's life).
 * @flags: HSMG_SESSION_*.
 * @op_lock: serializes login, logout and close.
 * @logged_in: logged in (group lock).
 * @login_msg: LOGIN payload (struct hsmg_be_login + PIN + card-PIN),
 *	kept while logged in to log in members that join later.
 * @login_len: bytes at @login_msg.
 * @pin_blob: pin-blob all members returned.
 * @logins: &struct hsmg_login_rec.s_node (group lock).
 * @group_node: in &hsmg_group.sessions while logged in (group lock).
 * @active: client requests of the session under way.
 * @idle_wq: woken when @active drops to 0 (close waits for it).
 * @all_node: in the list of every open session (hsmg_sessions_mutex),
 *	from open until its owner closes it or releases the file.
 * @owner: thread group that opened it (a reference).
 * @owner_uid: its effective uid then.
 * @owner_comm: its command name then.
 * @revoked: ended by an administrator; the owner's calls on it give
 *	-EKEYREVOKED.
 * @closed: its owner closed it (@op_lock); no login any more.
 */
struct hsmg_session {
	struct kref ref;
	struct hsmg_group *group;
	u64 id;
	u32 flags;
	struct mutex op_lock; /* login, logout, close */
	bool logged_in;
	void *login_msg;
	u32 login_len;
	u8 pin_blob[HSMG_PIN_BLOB_LEN];
	struct list_head logins;
	struct list_head group_node;
	atomic_t active;
	wait_queue_head_t idle_wq;
	struct list_head all_node;
	struct pid *owner;
	kuid_t owner_uid;
	char owner_comm[TASK_COMM_LEN];
	bool revoked;
	bool closed;
};

/**
 * struct hsmg_login_rec - a session logged in (or logging in) on a queue.
 * @s_node: in &hsmg_session.logins.
 * @q_node: in &hsmg_queue.logins.
 * @session: the session.
 * @queue: the queue.
 * @req: the LOGIN on its way, or NULL.
 * @logout: the LOGOUT that ends this login, allocated with the record so
 *	that logging out (close, release of the file, process death) never
 *	fails for memory; NULL once sent or handed over to @req.
 * @done: the queue answered with @blob.
 * @blob: pin-blob of the queue.
 */
struct hsmg_login_rec {
	struct list_head s_node;
	struct list_head q_node;
	struct hsmg_session *session;
	struct hsmg_queue *queue;
	struct hsmg_request *req;
	struct hsmg_request *logout;
	bool done;
	u8 blob[HSMG_PIN_BLOB_LEN];
};

void hsmg_session_init(void);
void hsmg_session_exit(void);
struct hsmg_session *hsmg_session_new(struct hsmg_group *g, u32 flags);
void hsmg_session_get(struct hsmg_session *s);
void hsmg_session_put(struct hsmg_session *s);
/**
 * struct hsmg_login_secrets - what a login hands the members (checked:
 * lengths within the uapi limits, the record's head sane).
 */
struct hsmg_login_secrets {
	const u8 *pin;
	u32 pin_len;
	const u8 *cardpin;
	u32 cardpin_len;
	const u8 *record;
	u32 record_len;
};

int hsmg_session_login(struct hsmg_session *s, u32 flags,
		       const struct hsmg_login_secrets *ls, u32 *members,
		       u8 *pin_blob);
int hsmg_session_logout(struct hsmg_session *s, bool wait);
bool hsmg_session_login_done(struct hsmg_session *s, struct hsmg_queue *q);
bool hsmg_session_recover_queue(struct hsmg_queue *q);
void hsmg_session_drop_queue(struct hsmg_queue *q, bool logout);
void hsmg_session_end(struct hsmg_session *s, bool wait);
int hsmg_session_revoke(u64 id);

/* Every open session, by id; lock order: this mutex -> group lock. */
extern struct mutex hsmg_sessions_mutex;
struct hsmg_session *hsmg_session_next(struct hsmg_session *s);
struct hsmg_session *hsmg_session_find(u64 id);

#endif /* _HSMG_SESSION_H */
