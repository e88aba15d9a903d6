/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hsmgroup - many HSM coprocessor queues as one highly available group.
 *
 * This header is the stable ABI between the hsmgroup kernel module, its
 * clients (/dev/hsmgroup, used by the PKCS#11 shim) and queue providers
 * (/dev/hsmgroup-backend, used by emulated or userspace-driven cards).
 *
 * Conventions shared by every call:
 *
 * - Every argument struct starts with @argsz (the size userspace knows of the
 *   struct) and @flags.  The kernel accepts any @argsz from the documented
 *   minimum (HSMG_*_SIZE_V1) up to %HSMG_MAX_ARGSZ (one page); bytes past the
 *   struct the kernel knows must be zero (copy_struct_from_user()).  A
 *   smaller @argsz gives -EINVAL; a larger one with non-zero tail bytes, or
 *   one above %HSMG_MAX_ARGSZ, gives -E2BIG.
 * - An ioctl number is matched whole (type, number, direction, size): any
 *   other number, and a backend call on the client device or the reverse,
 *   gives -ENOTTY.
 * - Check order (part of the ABI): size, then flags, then reserved fields,
 *   then ids, then buffers.  Unknown flags and non-zero reserved fields give
 *   -EINVAL, unknown group/session/queue ids -ENOENT, unreadable or
 *   unwritable user memory -EFAULT, buffers above the documented limits
 *   -E2BIG, output buffers too small -ENOSPC with the needed size/count
 *   written back.
 * - User pointers travel as __u64.
 */
#ifndef _UAPI_LINUX_HSMGROUP_H
#define _UAPI_LINUX_HSMGROUP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** HSMG_ABI_VERSION - version reported by %HSMG_IOC_GET_INFO. */
#define HSMG_ABI_VERSION 1

/* Device nodes. */
#define HSMG_CLIENT_DEVICE "/dev/hsmgroup"
#define HSMG_BACKEND_DEVICE "/dev/hsmgroup-backend"

/* Limits (also reported by %HSMG_IOC_GET_INFO). */
/** HSMG_MAX_MSG_SIZE - largest request or response payload, bytes. */
#define HSMG_MAX_MSG_SIZE (1U << 20)
/** HSMG_MAX_PIN_LEN - longest PIN or card-PIN accepted by login. */
#define HSMG_MAX_PIN_LEN 64
/** HSMG_PIN_BLOB_LEN - size of the pin-blob a card returns at login. */
#define HSMG_PIN_BLOB_LEN 32
/** HSMG_AUTH_RECORD_MAX - longest authentication record accepted by login. */
#define HSMG_AUTH_RECORD_MAX 256
/** HSMG_MKVP_LEN - size of a master key verification pattern. */
#define HSMG_MKVP_LEN 32
/** HSMG_MAX_BATCH - most requests fetched or completed in one call. */
#define HSMG_MAX_BATCH 64
/** HSMG_MAX_SESSIONS - most sessions one client (open file) may hold. */
#define HSMG_MAX_SESSIONS 16384
/** HSMG_MAX_INFLIGHT - largest max_inflight a queue may announce. */
#define HSMG_MAX_INFLIGHT 1024
/** HSMG_MAX_ARGSZ - largest @argsz accepted for any argument struct. */
#define HSMG_MAX_ARGSZ 4096

/** HSMG_IOC_MAGIC - ioctl type byte (free in ioctl-number.rst). */
#define HSMG_IOC_MAGIC 0xB9

/**
 * enum hsmg_op_class - what kind of work a request is; selects its weight.
 * @HSMG_OP_NULL: no cryptographic work (ping, info).
 * @HSMG_OP_RANDOM: random number generation.
 * @HSMG_OP_DIGEST: hashing (single or one part of multi-part).
 * @HSMG_OP_SYMMETRIC: symmetric cipher or MAC.
 * @HSMG_OP_SIGN: private-key operation (sign, decrypt, derive).
 * @HSMG_OP_VERIFY: public-key operation (verify, encrypt).
 * @HSMG_OP_KEYGEN: key or key pair generation, wrap, unwrap.
 * @HSMG_OP_NR: number of classes; not a class.
 */
enum hsmg_op_class {
	HSMG_OP_NULL = 0,
	HSMG_OP_RANDOM = 1,
	HSMG_OP_DIGEST = 2,
	HSMG_OP_SYMMETRIC = 3,
	HSMG_OP_SIGN = 4,
	HSMG_OP_VERIFY = 5,
	HSMG_OP_KEYGEN = 6,
	HSMG_OP_NR = 7,
};

/**
 * enum hsmg_queue_state - health and admin state of a member queue.
 * @HSMG_QS_ONLINE: serving requests.
 * @HSMG_QS_SUSPECT: stopped answering or failed requests; takes no new
 *	work; its in-flight requests were re-dispatched; recovery is probing it.
 * @HSMG_QS_OFFLINE: its provider detached; kept as a known member of its
 *	group so that it rejoins when it attaches again.
 * @HSMG_QS_RECOVERING: attached or probed again; logging in the group's
 *	live sessions before it goes online.
 * @HSMG_QS_DRAINING: finishing in-flight work, taking none (admin).
 * @HSMG_QS_STANDBY: used only while no active member is online.
 * @HSMG_QS_DISABLED: taken out of service by the administrator.
 * @HSMG_QS_MISMATCH: its master key verification pattern differs from the
 *	group it belongs to; never used until its master key is restored.
 */
enum hsmg_queue_state {
	HSMG_QS_ONLINE = 0,
	HSMG_QS_SUSPECT = 1,
	HSMG_QS_OFFLINE = 2,
	HSMG_QS_RECOVERING = 3,
	HSMG_QS_DRAINING = 4,
	HSMG_QS_STANDBY = 5,
	HSMG_QS_DISABLED = 6,
	HSMG_QS_MISMATCH = 7,
};

/* ------------------------------------------------------------------------
 * Client calls on /dev/hsmgroup.  One open file is one client: its sessions
 * and in-flight requests belong to it and end when it is released.
 */

/** HSMG_FEAT_STRICT - strict session mode supported. */
#define HSMG_FEAT_STRICT (1ULL << 0)
/** HSMG_FEAT_VHSM - VHSM mode (card-PIN) supported. */
#define HSMG_FEAT_VHSM (1ULL << 1)
/** HSMG_FEAT_FAILOVER - in-flight requests are re-sent on member failure. */
#define HSMG_FEAT_FAILOVER (1ULL << 2)
/** HSMG_FEAT_EVENTS - read() and poll() on the client device (see below). */
#define HSMG_FEAT_EVENTS (1ULL << 3)
/** HSMG_FEAT_COMPLETE_FETCH - %HSMG_COMPLETE_FETCH on the backend device. */
#define HSMG_FEAT_COMPLETE_FETCH (1ULL << 4)

/**
 * struct hsmg_info - version and limits (%HSMG_IOC_GET_INFO).
 * @argsz: size of this struct as userspace knows it (in).
 * @flags: must be 0 (in).
 * @abi_version: %HSMG_ABI_VERSION (out).
 * @ngroups: number of groups that exist now (out).
 * @features: HSMG_FEAT_* bits (out).
 * @max_msg_size: %HSMG_MAX_MSG_SIZE (out).
 * @max_batch: %HSMG_MAX_BATCH (out).
 * @max_sessions: most sessions per client (out).
 * @max_pin_len: %HSMG_MAX_PIN_LEN (out).
 * @reserved: must be 0 (in), 0 (out).
 */
struct hsmg_info {
	__u32 argsz;
	__u32 flags;
	__u32 abi_version;
	__u32 ngroups;
	__u64 features;
	__u32 max_msg_size;
	__u32 max_batch;
	__u32 max_sessions;
	__u32 max_pin_len;
	__u64 reserved[4];
};
#define HSMG_INFO_SIZE_V1 72

/**
 * struct hsmg_group_info - one group, an element of %HSMG_IOC_LIST_GROUPS.
 * @group_id: id of the group, stable while the module is loaded (>= 1).
 * @nmembers: queues known as members (any state, mismatch excluded).
 * @nonline: members that serve now (online).
 * @nmismatch: queues held in mismatch for this group.
 * @mkvp: master key verification pattern shared by the members.
 * @requests: requests completed for clients.
 * @errors: requests that ended with an error for the client.
 * @failovers: request attempts re-sent to another member.
 * @hold_time_ms: the group's hold time (policy): how long requests wait
 *	while no member is online before they fail with -ENODEV.  0 from a
 *	kernel that does not report it.
 * @offline_ms: milliseconds since the group last had a member online, 0
 *	while one is (saturates at 0xffffffff).  A token is present while
 *	@nonline > 0 or @offline_ms < @hold_time_ms.
 * @reserved: 0.
 */
struct hsmg_group_info {
	__u32 group_id;
	__u32 nmembers;
	__u32 nonline;
	__u32 nmismatch;
	__u8 mkvp[HSMG_MKVP_LEN];
	__u64 requests;
	__u64 errors;
	__u64 failovers;
	__u32 hold_time_ms;
	__u32 offline_ms;
	__u64 reserved[2];
};

/**
 * struct hsmg_group_list - list the groups (%HSMG_IOC_LIST_GROUPS).
 * @argsz: size of this struct (in).
 * @flags: must be 0 (in).
 * @count: capacity of @groups in elements (in); number of groups (out).
 *	When the capacity is too small the call fails with -ENOSPC and @count
 *	tells how many there are.  A capacity of 0 only queries the count.
 * @elem_size: sizeof(struct hsmg_group_info) as userspace knows it (in);
 *	must be at least the v1 size; the kernel writes min(elem_size, its
 *	size) bytes per element and zeroes the rest.
 * @groups: user pointer to an array of @count elements (in).
 */
struct hsmg_group_list {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	__u32 elem_size;
	__u64 groups;
};
#define HSMG_GROUP_LIST_SIZE_V1 24
#define HSMG_GROUP_INFO_SIZE_V1 96

/**
 * struct hsmg_member_info - one member queue (%HSMG_IOC_LIST_MEMBERS).
 * @queue_id: kernel id of the queue (>= 1); new at every attach.  An
 *	offline (detached) member keeps showing the id of its last attach.
 * @adapter: adapter number, 0-255.
 * @domain: domain number, 0-255.
 * @state: enum hsmg_queue_state.
 * @speed: relative speed (100 = nominal) used by the scheduler.
 * @inflight: requests fetched by the card and not yet completed.
 * @pending: requests assigned to the queue, not yet fetched.
 * @max_inflight: most requests the card accepts at once.
 * @sessions: coprocessor sessions logged in on this queue now.
 * @max_sessions: session quota of the queue (0 = unlimited).
 * @requests: attempts completed by this queue.
 * @errors: attempts this queue failed (error, timeout, detach).
 * @mkvp: the queue's own master key verification pattern.
 * @reserved: 0.
 */
struct hsmg_member_info {
	__u32 queue_id;
	__u16 adapter;
	__u16 domain;
	__u32 state;
	__u32 speed;
	__u32 inflight;
	__u32 pending;
	__u32 max_inflight;
	__u32 sessions;
	__u32 max_sessions;
	__u32 pad;
	__u64 requests;
	__u64 errors;
	__u8 mkvp[HSMG_MKVP_LEN];
	__u64 reserved[2];
};
#define HSMG_MEMBER_INFO_SIZE_V1 104

/**
 * struct hsmg_member_list - list a group's members (%HSMG_IOC_LIST_MEMBERS).
 * @argsz: size of this struct (in).
 * @flags: must be 0 (in).
 * @group_id: group to list (in); -ENOENT if it does not exist.
 * @count: as in &struct hsmg_group_list (in/out).  Queues held in mismatch
 *	for this group are listed too, with state %HSMG_QS_MISMATCH.
 * @elem_size: sizeof(struct hsmg_member_info) as userspace knows it (in).
 * @reserved: must be 0.
 * @members: user pointer to the array (in).
 */
struct hsmg_member_list {
	__u32 argsz;
	__u32 flags;
	__u32 group_id;
	__u32 count;
	__u32 elem_size;
	__u32 reserved;
	__u64 members;
};
#define HSMG_MEMBER_LIST_SIZE_V1 32

/** HSMG_SESSION_RW - read/write session (else read-only). */
#define HSMG_SESSION_RW (1U << 0)
/** HSMG_SESSION_STRICT - strict session mode: session keys bound to it. */
#define HSMG_SESSION_STRICT (1U << 1)
/** HSMG_SESSION_VHSM - VHSM mode: keys bound to the token's card-PIN. */
#define HSMG_SESSION_VHSM (1U << 2)
#define HSMG_SESSION_ALL_FLAGS \
	(HSMG_SESSION_RW | HSMG_SESSION_STRICT | HSMG_SESSION_VHSM)

/**
 * struct hsmg_session_open - open a session (%HSMG_IOC_SESSION_OPEN).
 * @argsz: size of this struct (in).
 * @flags: HSMG_SESSION_* (in).
 * @group_id: group the session uses (in); -ENOENT if unknown.
 * @session_id: handle of the new session, valid on this open file only
 *	(out; never 0).  -EMFILE when the client holds %HSMG_MAX_SESSIONS.
 * @reserved: must be 0.
 */
struct hsmg_session_open {
	__u32 argsz;
	__u32 flags;
	__u32 group_id;
	__u32 session_id;
	__u64 reserved[2];
};
#define HSMG_SESSION_OPEN_SIZE_V1 32

/**
 * struct hsmg_session_close - close a session (%HSMG_IOC_SESSION_CLOSE).
 * @argsz: size of this struct (in).
 * @flags: must be 0.
 * @session_id: session of this client (in); -ENOENT if unknown.  A logged
 *	in session is logged out on every member first.  In-flight requests of
 *	the session complete first.  A session an administrator ended
 *	(%HSMG_CMD_END_SESSION) is closed normally; every other call on it
 *	(LOGIN, LOGOUT, SUBMIT) gives -EKEYREVOKED.
 * @reserved: must be 0.
 */
struct hsmg_session_close {
	__u32 argsz;
	__u32 flags;
	__u32 session_id;
	__u32 reserved;
};
#define HSMG_SESSION_CLOSE_SIZE_V1 16

/** HSMG_LOGIN_SO - security officer login (strict/VHSM never apply). */
#define HSMG_LOGIN_SO (1U << 0)
#define HSMG_LOGIN_ALL_FLAGS (HSMG_LOGIN_SO)

/** HSMG_AUTH_RECORD_MAGIC - first word of an authentication record ("HSAR"). */
#define HSMG_AUTH_RECORD_MAGIC 0x52415348U
/** HSMG_AUTH_USER - the record of a token's user (CKU_USER). */
#define HSMG_AUTH_USER 0
/** HSMG_AUTH_SO - the record of a token's security officer (CKU_SO). */
#define HSMG_AUTH_SO 1

/**
 * struct hsmg_auth_record_hdr - the clear head of an authentication record.
 * A card makes a record when a PIN is set (message op AUTH_RECORD); the
 * token store keeps it; a login hands it back with the PIN.  The rest of
 * the record is sealed under the group's master key and only a card opens
 * it: it holds the token's secret, released into the session only when
 * the PIN matches, and the keys of the token are bound to that secret.
 * The kernel reads this head only, to count failed logins per group,
 * @token and @user.  A card refuses a record whose head was changed.
 * @magic: %HSMG_AUTH_RECORD_MAGIC.
 * @version: 1.
 * @user: %HSMG_AUTH_USER or %HSMG_AUTH_SO.
 * @token: the token's identity, which the card derives from the token's
 *	secret when the token is made.
 */
struct hsmg_auth_record_hdr {
	__u32 magic;
	__u16 version;
	__u16 user;
	__u8 token[16];
};

/**
 * struct hsmg_login - log a session in on every member (%HSMG_IOC_LOGIN).
 * @argsz: size of this struct (in).
 * @flags: HSMG_LOGIN_* (in).
 * @session_id: session of this client (in).  -EBUSY if already logged in.
 * @pin_len: bytes at @pin, 1..%HSMG_MAX_PIN_LEN (in; else -EINVAL/-E2BIG).
 * @pin: user pointer to the PIN (in).  The kernel keeps it only as long as
 *	the session is logged in (to log in members that join later) and wipes
 *	it at logout.
 * @cardpin_len: bytes at @cardpin (in); required (8..16) for a VHSM session,
 *	must be 0 otherwise (-EINVAL).
 * @cardpin: user pointer to the card-PIN (in).
 * @members: members the session is logged in on (out).
 * @record_len: bytes at @record (in): 0, or a whole authentication record
 *	(struct hsmg_auth_record_hdr first, whose @user must match
 *	%HSMG_LOGIN_SO; else -EINVAL), at most %HSMG_AUTH_RECORD_MAX (-E2BIG).
 *	With a record every member checks the PIN against it: a wrong PIN
 *	gives -EACCES, a PIN a member has locked (too many failures, counted
 *	by the card and kept across restarts) -EKEYEXPIRED.  The group
 *	counts failures per token and user as well and makes the next login
 *	of that token and user wait: 0.1 s after the first failure, doubled
 *	with each further one up to 12.8 s; one such login at a time.  A
 *	login that succeeds resets the count.
 * @record: user pointer to the record (in).  Kept as the PIN is.
 * @pin_blob: the pin-blob every member returned (out).  When members
 *	disagree the login fails with -EKEYREJECTED, nothing stays logged in,
 *	and the kernel log names the members.  -ENODEV when no member is online
 *	within the hold time, -EDQUOT when a member's session quota is full.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 */
struct hsmg_login {
	__u32 argsz;
	__u32 flags;
	__u32 session_id;
	__u32 pin_len;
	__u64 pin;
	__u32 cardpin_len;
	__u32 members;
	__u64 cardpin;
	__u8 pin_blob[HSMG_PIN_BLOB_LEN];
	__u64 record;
	__u32 record_len;
	__u32 reserved0;
	__u64 reserved;
};
#define HSMG_LOGIN_SIZE_V1 96

/**
 * struct hsmg_logout - log a session out on every member (%HSMG_IOC_LOGOUT).
 * @argsz: size of this struct (in).
 * @flags: must be 0.
 * @session_id: session of this client (in); -ENOENT if unknown, -EINVAL
 *	if not logged in.
 * @reserved: must be 0.
 */
struct hsmg_logout {
	__u32 argsz;
	__u32 flags;
	__u32 session_id;
	__u32 reserved;
};
#define HSMG_LOGOUT_SIZE_V1 16

/**
 * HSMG_SUBMIT_NO_RETRY - the request is not idempotent: once a member has
 * fetched it, it is not re-sent elsewhere if that member fails (the client
 * gets -EIO instead).  Requests not yet fetched are always re-routed.
 */
#define HSMG_SUBMIT_NO_RETRY (1U << 0)
#define HSMG_SUBMIT_ALL_FLAGS (HSMG_SUBMIT_NO_RETRY)

/**
 * struct hsmg_submit - send one request and wait for its response
 * (%HSMG_IOC_SUBMIT).
 * @argsz: size of this struct (in).
 * @flags: HSMG_SUBMIT_* (in).
 * @group_id: group to serve the request (in); -ENOENT if unknown.
 * @session_id: session of this client or 0 for none (in); when set it must
 *	belong to @group_id (-EINVAL otherwise).
 * @op_class: enum hsmg_op_class (in); -EINVAL if out of range.
 * @weight: cost of the request in scheduler units, 0 = the class default
 *	(in); at most 1000000.
 * @timeout_ms: how long the client waits at most, 0 = module default (in).
 *	-ETIMEDOUT when it passes.  A request that no member can serve waits at
 *	most the group's hold time and then fails with -ENODEV.
 * @req_len: bytes at @req, 1..%HSMG_MAX_MSG_SIZE (in; -EINVAL / -E2BIG).
 * @req: user pointer to the request message (in).
 * @resp_len: capacity of @resp (in, at most %HSMG_MAX_MSG_SIZE else
 *	-E2BIG); length of the response (out).  -ENOSPC with the needed length
 *	when the response does not fit.
 * @member: queue id of the member that answered (out).
 * @resp: user pointer to the response buffer (in).
 * @attempts: how many members the request was sent to (out; 1 without
 *	failover).
 * @reserved0: must be 0.
 * @reserved: must be 0.
 */
struct hsmg_submit {
	__u32 argsz;
	__u32 flags;
	__u32 group_id;
	__u32 session_id;
	__u32 op_class;
	__u32 weight;
	__u32 timeout_ms;
	__u32 req_len;
	__u64 req;
	__u32 resp_len;
	__u32 member;
	__u64 resp;
	__u32 attempts;
	__u32 reserved0;
	__u64 reserved[2];
};
#define HSMG_SUBMIT_SIZE_V1 80

#define HSMG_IOC_GET_INFO _IOWR(HSMG_IOC_MAGIC, 0x00, struct hsmg_info)
#define HSMG_IOC_LIST_GROUPS _IOWR(HSMG_IOC_MAGIC, 0x01, struct hsmg_group_list)
#define HSMG_IOC_LIST_MEMBERS \
	_IOWR(HSMG_IOC_MAGIC, 0x02, struct hsmg_member_list)
#define HSMG_IOC_SESSION_OPEN \
	_IOWR(HSMG_IOC_MAGIC, 0x03, struct hsmg_session_open)
#define HSMG_IOC_SESSION_CLOSE \
	_IOW(HSMG_IOC_MAGIC, 0x04, struct hsmg_session_close)
#define HSMG_IOC_LOGIN _IOWR(HSMG_IOC_MAGIC, 0x05, struct hsmg_login)
#define HSMG_IOC_LOGOUT _IOW(HSMG_IOC_MAGIC, 0x06, struct hsmg_logout)
#define HSMG_IOC_SUBMIT _IOWR(HSMG_IOC_MAGIC, 0x07, struct hsmg_submit)

/*
 * Events on the client device (%HSMG_FEAT_EVENTS).
 *
 * The module counts its events in one module-wide sequence number, a
 * __u64: it goes up after each batch of events (member state changes,
 * attach and detach, mismatch, admin, policy and session-end events) has
 * been sent as generic netlink messages and uevents, and when an event
 * could not be queued (out of memory) and was dropped.  A client that only
 * needs to know that something changed reads it instead of listening on
 * netlink; it then lists what it needs (%HSMG_IOC_LIST_GROUPS, ...).
 *
 * Each open file remembers the last value it read, at open the value then.
 * - read(fd, buf, n) with n >= 8 returns 8 and the current sequence number
 *   (native byte order) once it differs from the remembered one, and
 *   remembers it.  Otherwise it sleeps until it does (-EINTR on a signal),
 *   or gives -EAGAIN when the file is O_NONBLOCK.  n < 8 gives -EINVAL.
 *   Of several threads reading one file, each new value goes to one.
 * - poll/select/epoll report EPOLLIN | EPOLLRDNORM when a read would not
 *   sleep.
 * Events coalesce: one read may stand for many of them.  The value read
 * tells nothing but that it changed.  Reading does not affect other files,
 * nor netlink or uevents.  Kernels without %HSMG_FEAT_EVENTS give -EINVAL
 * on read.
 */

/* ------------------------------------------------------------------------
 * Backend calls on /dev/hsmgroup-backend (CAP_SYS_ADMIN to open).  One open
 * file attaches one queue.  Closing the file detaches it: its unfinished
 * requests go to other members.  FETCH, COMPLETE and DETACH on a file with
 * no queue attached give -ENODEV (a FETCH sleeping when the queue is
 * detached returns it too).
 */

/** HSMG_ATTACH_STANDBY - the queue joins as a standby member. */
#define HSMG_ATTACH_STANDBY (1U << 0)
#define HSMG_ATTACH_ALL_FLAGS (HSMG_ATTACH_STANDBY)

/**
 * struct hsmg_be_attach - attach a queue (%HSMG_IOC_BE_ATTACH).
 * @argsz: size of this struct (in).
 * @flags: HSMG_ATTACH_* (in).
 * @adapter: adapter number 0-255 (in; -EINVAL above).
 * @domain: domain number 0-255 (in; -EINVAL above).
 * @capabilities: bit (1 << class) for each enum hsmg_op_class the queue
 *	serves (in); must include HSMG_OP_NULL; unknown bits -EINVAL.
 * @max_inflight: requests the card accepts at once, 1..%HSMG_MAX_INFLIGHT.
 * @speed: relative speed, 1..10000, 100 = nominal (in).
 * @max_sessions: session quota, 0 = unlimited (in).
 * @queue_id: id of the attached queue (out).
 * @group_id: group it belongs to (out).
 * @state: enum hsmg_queue_state it starts in (out): recovering, going
 *	online by itself once the group's live sessions are logged in, or
 *	mismatch when the APQN is a known member of a group whose master key
 *	differs from @mkvp (the reason is logged).  -EEXIST when the APQN is
 *	attached already, -EBUSY when this file has attached a queue.
 * @mkvp: master key verification pattern (in); all zero (no master key)
 *	gives -EINVAL.
 * @reserved: must be 0.
 */
struct hsmg_be_attach {
	__u32 argsz;
	__u32 flags;
	__u32 adapter;
	__u32 domain;
	__u64 capabilities;
	__u32 max_inflight;
	__u32 speed;
	__u32 max_sessions;
	__u32 queue_id;
	__u32 group_id;
	__u32 state;
	__u8 mkvp[HSMG_MKVP_LEN];
	__u64 reserved[4];
};
#define HSMG_BE_ATTACH_SIZE_V1 112

/**
 * enum hsmg_be_req_type - what the kernel asks the card to do.
 * @HSMG_BE_REQ_CRYPTO: a client's message (struct hsmg_msg_hdr, in
 *	lib/msg/hsmgroup_msg.h, not kernel ABI); the card answers.
 * @HSMG_BE_REQ_LOGIN: log coprocessor session @session in; the payload is
 *	&struct hsmg_be_login; the card answers with %HSMG_PIN_BLOB_LEN bytes,
 *	or with %HSMG_BE_PIN_INCORRECT / %HSMG_BE_PIN_LOCKED.
 * @HSMG_BE_REQ_LOGOUT: log coprocessor session @session out; no payload,
 *	empty answer.
 * @HSMG_BE_REQ_PING: health probe; no payload, empty answer.
 */
enum hsmg_be_req_type {
	HSMG_BE_REQ_CRYPTO = 0,
	HSMG_BE_REQ_LOGIN = 1,
	HSMG_BE_REQ_LOGOUT = 2,
	HSMG_BE_REQ_PING = 3,
};

/**
 * struct hsmg_be_req - header of one fetched request, followed by @len bytes
 * of payload, padded with zeros to a multiple of 8.
 * @tag: identifies this attempt; echo it in the completion.
 * @type: enum hsmg_be_req_type.
 * @op_class: enum hsmg_op_class.
 * @session: coprocessor session id, 0 for none.  Unique for the life of
 *	the module; the same on every member.
 * @session_flags: HSMG_SESSION_* of that session (strict/VHSM binding).
 * @len: payload length.
 */
struct hsmg_be_req {
	__u64 tag;
	__u32 type;
	__u32 op_class;
	__u64 session;
	__u32 session_flags;
	__u32 len;
};
#define HSMG_BE_REQ_SIZE 32

/**
 * struct hsmg_be_login - payload of %HSMG_BE_REQ_LOGIN: @pin_len bytes of
 * PIN, then @cardpin_len bytes of card-PIN, then @record_len bytes of
 * authentication record (struct hsmg_auth_record_hdr).
 * @flags: HSMG_LOGIN_* of the login.
 * @pin_len: PIN length.
 * @cardpin_len: card-PIN length (0 unless VHSM).
 * @record_len: record length (0: no record; the PIN is not checked).
 */
struct hsmg_be_login {
	__u32 flags;
	__u32 pin_len;
	__u32 cardpin_len;
	__u32 record_len;
};

/** HSMG_FETCH_NONBLOCK - return -EAGAIN instead of waiting for work. */
#define HSMG_FETCH_NONBLOCK (1U << 0)
#define HSMG_FETCH_ALL_FLAGS (HSMG_FETCH_NONBLOCK)

/**
 * struct hsmg_be_fetch - take requests for this queue (%HSMG_IOC_BE_FETCH).
 * @argsz: size of this struct (in).
 * @flags: HSMG_FETCH_* (in).  Without NONBLOCK (and without O_NONBLOCK on
 *	the file) the call sleeps until work arrives; a signal gives -EINTR.
 *	poll() reports POLLIN when work is waiting.
 * @max_reqs: most requests to take, 1..%HSMG_MAX_BATCH (in; 0 gives
 *	-EINVAL, more -E2BIG).
 * @nreqs: requests written (out).
 * @buf_len: capacity of @buf (in), at most 2 * %HSMG_MAX_MSG_SIZE.
 *	Requests are packed as &struct hsmg_be_req + padded payload.  If the
 *	first waiting request does not fit, -ENOSPC and it stays queued.
 * @used: bytes of @buf written (out).
 * @buf: user pointer (in).
 * @reserved: must be 0.
 */
struct hsmg_be_fetch {
	__u32 argsz;
	__u32 flags;
	__u32 max_reqs;
	__u32 nreqs;
	__u32 buf_len;
	__u32 used;
	__u64 buf;
	__u64 reserved[2];
};
#define HSMG_BE_FETCH_SIZE_V1 48

/**
 * enum hsmg_be_status - how an attempt ended, seen from the transport.
 * @HSMG_BE_OK: the card answered (the answer may still report a
 *	cryptographic error inside the message; the kernel does not look).
 * @HSMG_BE_RETRY: transient failure; re-send to another member.  Counts
 *	against the queue's health.
 * @HSMG_BE_FAILED: the card is broken; the queue becomes suspect and the
 *	request is re-sent elsewhere.
 * @HSMG_BE_QUOTA: (login) the card's session quota is full.
 * @HSMG_BE_BADREQ: the card rejects the request as malformed; final, the
 *	client gets -EPROTO.
 * @HSMG_BE_PIN_INCORRECT: (login with a record) the PIN does not match it;
 *	final, the client gets -EACCES.
 * @HSMG_BE_PIN_LOCKED: (login with a record) the card counted too many
 *	failed logins of that token and user; final, -EKEYEXPIRED.
 */
enum hsmg_be_status {
	HSMG_BE_OK = 0,
	HSMG_BE_RETRY = 1,
	HSMG_BE_FAILED = 2,
	HSMG_BE_QUOTA = 3,
	HSMG_BE_BADREQ = 4,
	HSMG_BE_PIN_INCORRECT = 5,
	HSMG_BE_PIN_LOCKED = 6,
};

/**
 * struct hsmg_be_completion - one element of %HSMG_IOC_BE_COMPLETE.
 * @tag: tag of the fetched request.
 * @status: enum hsmg_be_status.
 * @len: bytes at @data, at most %HSMG_MAX_MSG_SIZE (only for HSMG_BE_OK).
 * @data: user pointer to the answer.
 */
struct hsmg_be_completion {
	__u64 tag;
	__u32 status;
	__u32 len;
	__u64 data;
};
#define HSMG_BE_COMPLETION_SIZE 24

/**
 * HSMG_COMPLETE_FETCH - once the completions are applied, fetch in the same
 * call: one system call per request for a card that answers one and takes
 * the next.
 */
#define HSMG_COMPLETE_FETCH (1U << 0)
#define HSMG_COMPLETE_ALL_FLAGS (HSMG_COMPLETE_FETCH)

/**
 * struct hsmg_be_complete - answer requests (%HSMG_IOC_BE_COMPLETE).
 * @argsz: size of this struct (in).
 * @flags: HSMG_COMPLETE_* (in).
 * @count: elements at @entries, 1..%HSMG_MAX_BATCH (in; 0 gives -EINVAL,
 *	more -E2BIG); with %HSMG_COMPLETE_FETCH also 0 (a plain fetch).
 * @stale: completions whose tag was unknown (out): the attempt had been
 *	re-sent elsewhere, timed out or was cancelled; they are dropped, so a
 *	client never gets two answers.
 * @entries: user pointer to an array of &struct hsmg_be_completion (in).
 *	Entries are applied in order; an invalid entry (-EINVAL, -E2BIG,
 *	-EFAULT) stops the call and the entries before it stay applied.
 * @done: entries applied (out).  Written before the fetch starts, so it
 *	is valid also when the fetch then fails.
 * @reserved0: must be 0.
 * @fetch: with %HSMG_COMPLETE_FETCH, user pointer to a &struct
 *	hsmg_be_fetch (in); 0 otherwise.  It is checked before any entry is
 *	applied (the errors of %HSMG_IOC_BE_FETCH); once every entry is
 *	applied the call fetches with it exactly as %HSMG_IOC_BE_FETCH does
 *	(sleeping unless %HSMG_FETCH_NONBLOCK or O_NONBLOCK) and returns the
 *	fetch's result: -EINTR or -EAGAIN then mean "entries applied, nothing
 *	fetched".  Supported when %HSMG_FEAT_COMPLETE_FETCH is reported;
 *	older modules give -EINVAL for the flag, with no entry applied.
 * @reserved: must be 0.
 */
struct hsmg_be_complete {
	__u32 argsz;
	__u32 flags;
	__u32 count;
	__u32 stale;
	__u64 entries;
	__u32 done;
	__u32 reserved0;
	__u64 fetch;
	__u64 reserved;
};
#define HSMG_BE_COMPLETE_SIZE_V1 48

#define HSMG_IOC_BE_ATTACH _IOWR(HSMG_IOC_MAGIC, 0x40, struct hsmg_be_attach)
#define HSMG_IOC_BE_FETCH _IOWR(HSMG_IOC_MAGIC, 0x41, struct hsmg_be_fetch)
#define HSMG_IOC_BE_COMPLETE \
	_IOWR(HSMG_IOC_MAGIC, 0x42, struct hsmg_be_complete)
/* Detach the queue of this file; its unfinished work goes elsewhere. */
#define HSMG_IOC_BE_DETACH _IO(HSMG_IOC_MAGIC, 0x43)

#define HSMG_SET_MKVP_ALL_FLAGS 0U

/**
 * struct hsmg_be_set_mkvp - the card's master key changed
 * (%HSMG_IOC_BE_SET_MKVP), as a card driver learns from the card's status:
 * zeroised, a new master key imported, the old one restored.
 * @argsz: size of this struct (in).
 * @flags: must be 0 (in).
 * @mkvp: the queue's master key verification pattern now (in); all zero
 *	means the card has no master key (zeroised).  While it differs from
 *	the group's MKVP the queue is held in %HSMG_QS_MISMATCH (its work goes
 *	to other members, its logins are dropped); once it equals the group's
 *	again the queue logs the group's live sessions in and goes online by
 *	itself.
 * @state: enum hsmg_queue_state of the queue after the call (out).
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * Errors: -EINVAL (argsz below v1, unknown flags, non-zero reserved),
 * -E2BIG, -EFAULT, -ENODEV when this file has no queue attached.
 */
struct hsmg_be_set_mkvp {
	__u32 argsz;
	__u32 flags;
	__u8 mkvp[HSMG_MKVP_LEN];
	__u32 state;
	__u32 reserved0;
	__u64 reserved[2];
};
#define HSMG_BE_SET_MKVP_SIZE_V1 64

#define HSMG_IOC_BE_SET_MKVP \
	_IOWR(HSMG_IOC_MAGIC, 0x44, struct hsmg_be_set_mkvp)

/* ------------------------------------------------------------------------
 * Control plane: the generic netlink family "hsmgroup" (used by hsmgroupctl).
 *
 * Requests carry one nest per object they name: %HSMG_A_GROUP (group id),
 * %HSMG_A_QUEUE (adapter and domain), %HSMG_A_SESSION (session id), and the
 * values to set in the same nest (queue) or in %HSMG_A_POLICY.  Replies and
 * dumps carry one object nest per message.  Every attribute has a policy and
 * is validated strictly: unknown attributes, wrong types or lengths, values
 * out of range and nests above their maximum give -EINVAL (-ERANGE for a
 * range) with an extended ack message; unknown objects give -ENOENT.
 * Commands that change something need CAP_NET_ADMIN (%GENL_ADMIN_PERM);
 * reading is open to every user (session owners are shown, never handles
 * usable by another client).  The family has one multicast group,
 * %HSMG_GENL_MCGRP_EVENTS, carrying %HSMG_CMD_EVENT messages.
 */

#define HSMG_GENL_NAME "hsmgroup"
#define HSMG_GENL_VERSION 1
#define HSMG_GENL_MCGRP_EVENTS "events"

/**
 * enum hsmg_nl_cmd - generic netlink commands.
 * @HSMG_CMD_UNSPEC: not a command.
 * @HSMG_CMD_GET_GROUP: do: one group (%HSMG_A_GROUP with
 *	%HSMG_GROUP_A_ID); dump: every group.  Reply: %HSMG_A_GROUP with the
 *	group attributes and a %HSMG_A_POLICY nest.
 * @HSMG_CMD_GET_QUEUE: do: one queue (%HSMG_A_QUEUE with
 *	%HSMG_QUEUE_A_ADAPTER and %HSMG_QUEUE_A_DOMAIN); dump: every member of
 *	every group, or of one group when %HSMG_A_GROUP names it.
 * @HSMG_CMD_SET_QUEUE: admin: %HSMG_A_QUEUE naming the queue with
 *	%HSMG_QUEUE_A_ADMIN (enum hsmg_admin_state) and/or %HSMG_QUEUE_A_SPEED.
 *	The change is kept across detach and attach of the queue.
 * @HSMG_CMD_GET_SESSION: do: one session (%HSMG_A_SESSION with
 *	%HSMG_SESSION_A_ID); dump: every session of every client, or of one
 *	group when %HSMG_A_GROUP names it.
 * @HSMG_CMD_END_SESSION: admin: end session %HSMG_SESSION_A_ID: it is
 *	logged out on every member and revoked: every later call of its
 *	owner on it but %HSMG_IOC_SESSION_CLOSE fails with -EKEYREVOKED.
 * @HSMG_CMD_GET_POLICY: do: the policy of group %HSMG_GROUP_A_ID
 *	(%HSMG_A_GROUP with the id, %HSMG_A_POLICY).
 * @HSMG_CMD_SET_POLICY: admin: %HSMG_A_GROUP naming the group and
 *	%HSMG_A_POLICY with the values to set and/or %HSMG_POLICY_A_RESET.
 *	The merged policy must be consistent (backoff max >= interval), else
 *	-EINVAL and nothing changes.  Reply: the new policy.
 * @HSMG_CMD_GET_STATS: do: module-wide counters (%HSMG_A_STATS).
 * @HSMG_CMD_EVENT: multicast only: %HSMG_A_EVENT.
 * @__HSMG_CMD_MAX: number of commands; not a command.
 */
enum hsmg_nl_cmd {
	HSMG_CMD_UNSPEC,
	HSMG_CMD_GET_GROUP,
	HSMG_CMD_GET_QUEUE,
	HSMG_CMD_SET_QUEUE,
	HSMG_CMD_GET_SESSION,
	HSMG_CMD_END_SESSION,
	HSMG_CMD_GET_POLICY,
	HSMG_CMD_SET_POLICY,
	HSMG_CMD_GET_STATS,
	HSMG_CMD_EVENT,
	__HSMG_CMD_MAX,
};
#define HSMG_CMD_MAX (__HSMG_CMD_MAX - 1)

/**
 * enum hsmg_nl_attr - top-level attributes, each a nest.
 * @HSMG_A_UNSPEC: not an attribute.
 * @HSMG_A_GROUP: enum hsmg_group_attr.
 * @HSMG_A_QUEUE: enum hsmg_queue_attr.
 * @HSMG_A_SESSION: enum hsmg_session_attr.
 * @HSMG_A_POLICY: enum hsmg_policy_attr.
 * @HSMG_A_STATS: enum hsmg_stats_attr (replies only).
 * @HSMG_A_EVENT: enum hsmg_event_attr (events only).
 * @__HSMG_A_MAX: number of attributes.
 */
enum hsmg_nl_attr {
	HSMG_A_UNSPEC,
	HSMG_A_GROUP,
	HSMG_A_QUEUE,
	HSMG_A_SESSION,
	HSMG_A_POLICY,
	HSMG_A_STATS,
	HSMG_A_EVENT,
	__HSMG_A_MAX,
};
#define HSMG_A_MAX (__HSMG_A_MAX - 1)

/**
 * enum hsmg_group_attr - inside %HSMG_A_GROUP.
 * @HSMG_GROUP_A_UNSPEC: not an attribute.
 * @HSMG_GROUP_A_ID: u32 group id (>= 1); the only attribute requests carry.
 * @HSMG_GROUP_A_MKVP: binary, %HSMG_MKVP_LEN bytes.
 * @HSMG_GROUP_A_MEMBERS: u32 members (mismatch excluded).
 * @HSMG_GROUP_A_ONLINE: u32 members online now.
 * @HSMG_GROUP_A_MISMATCH: u32 queues held in mismatch.
 * @HSMG_GROUP_A_SESSIONS: u32 sessions logged in on the group.
 * @HSMG_GROUP_A_REQUESTS: u64 requests completed for clients.
 * @HSMG_GROUP_A_ERRORS: u64 client requests ended with an error.
 * @HSMG_GROUP_A_FAILOVERS: u64 attempts re-sent to another member.
 * @HSMG_GROUP_A_PAD: padding for u64 attributes.
 * @__HSMG_GROUP_A_MAX: number of attributes.
 */
enum hsmg_group_attr {
	HSMG_GROUP_A_UNSPEC,
	HSMG_GROUP_A_ID,
	HSMG_GROUP_A_MKVP,
	HSMG_GROUP_A_MEMBERS,
	HSMG_GROUP_A_ONLINE,
	HSMG_GROUP_A_MISMATCH,
	HSMG_GROUP_A_SESSIONS,
	HSMG_GROUP_A_REQUESTS,
	HSMG_GROUP_A_ERRORS,
	HSMG_GROUP_A_FAILOVERS,
	HSMG_GROUP_A_PAD,
	__HSMG_GROUP_A_MAX,
};
#define HSMG_GROUP_A_MAX (__HSMG_GROUP_A_MAX - 1)

/**
 * enum hsmg_admin_state - what an administrator sets (%HSMG_QUEUE_A_ADMIN).
 * @HSMG_ADMIN_NONE: no admin hold (reported only).
 * @HSMG_ADMIN_ONLINE: back in service: a draining or disabled member logs
 *	in the group's sessions it lacks (state recovering) and goes online;
 *	its role stays.
 * @HSMG_ADMIN_DRAIN: take no new work, finish what is assigned, then
 *	%HSMG_QS_DISABLED (reason "drained").
 * @HSMG_ADMIN_DISABLE: out of service at once (%HSMG_QS_DISABLED): no new
 *	work; requests it has not fetched go to other members, those it
 *	fetched finish there (nothing runs twice); its logins are kept.  A
 *	suspect, offline or mismatch member stays so and goes disabled
 *	instead of online when it recovers.  ("offline" in hsmgroupctl.)
 * @HSMG_ADMIN_STANDBY: in service as a standby member (used only while no
 *	active member is online).
 * @HSMG_ADMIN_ACTIVE: in service as an active member.
 * @__HSMG_ADMIN_MAX: number of values.
 */
enum hsmg_admin_state {
	HSMG_ADMIN_NONE,
	HSMG_ADMIN_ONLINE,
	HSMG_ADMIN_DRAIN,
	HSMG_ADMIN_DISABLE,
	HSMG_ADMIN_STANDBY,
	HSMG_ADMIN_ACTIVE,
	__HSMG_ADMIN_MAX,
};

/**
 * enum hsmg_queue_attr - inside %HSMG_A_QUEUE.
 * @HSMG_QUEUE_A_UNSPEC: not an attribute.
 * @HSMG_QUEUE_A_ADAPTER: u16 adapter, 0-255 (request: names the queue).
 * @HSMG_QUEUE_A_DOMAIN: u16 domain, 0-255 (request: names the queue).
 * @HSMG_QUEUE_A_ID: u32 queue id of the current or last attach.
 * @HSMG_QUEUE_A_GROUP_ID: u32 group id.
 * @HSMG_QUEUE_A_STATE: u32 enum hsmg_queue_state (as listings show it).
 * @HSMG_QUEUE_A_ROLE: u8 0 = active, 1 = standby.
 * @HSMG_QUEUE_A_ADMIN: u32 enum hsmg_admin_state: in SET_QUEUE what to do
 *	(%HSMG_ADMIN_ONLINE..%HSMG_ADMIN_ACTIVE); in replies the admin hold
 *	(%HSMG_ADMIN_NONE, %HSMG_ADMIN_DRAIN or %HSMG_ADMIN_DISABLE).
 * @HSMG_QUEUE_A_ATTACHED: u8 1 while a provider is attached.
 * @HSMG_QUEUE_A_SPEED: u32 relative speed ("weight"), 1..10000, 100 =
 *	nominal; settable, the value set overrides the provider's.
 * @HSMG_QUEUE_A_INFLIGHT: u32 requests fetched, not completed.
 * @HSMG_QUEUE_A_PENDING: u32 requests assigned, not fetched.
 * @HSMG_QUEUE_A_MAX_INFLIGHT: u32.
 * @HSMG_QUEUE_A_SESSIONS: u32 sessions logged in on it.
 * @HSMG_QUEUE_A_MAX_SESSIONS: u32 quota (0 = unlimited).
 * @HSMG_QUEUE_A_REQUESTS: u64 attempts completed.
 * @HSMG_QUEUE_A_ERRORS: u64 attempts failed.
 * @HSMG_QUEUE_A_TRANSITIONS: u64 state changes.
 * @HSMG_QUEUE_A_MKVP: binary, %HSMG_MKVP_LEN bytes, its own MKVP.
 * @HSMG_QUEUE_A_LATENCY_US: u32 moving average of the service time of
 *	its successful attempts (dispatch to answer), microseconds.
 * @HSMG_QUEUE_A_LATENCY_TOTAL_US: u64 sum of those service times.
 * @HSMG_QUEUE_A_LOAD: u64 assigned work in scheduler units (pending and in
 *	flight, weighted per operation class).
 * @HSMG_QUEUE_A_CAPABILITIES: u64 bit per enum hsmg_op_class served.
 * @HSMG_QUEUE_A_PAD: padding for u64 attributes.
 * @HSMG_QUEUE_A_FLAPS: u32 failures of the member in a row, each within
 *	recovery_backoff_max_ms of its last rejoin (flap damping; back to 0
 *	once it stays online that long).
 * @HSMG_QUEUE_A_DAMP_MS: u32 how long the member waited (or waits) before
 *	its last rejoin because of @HSMG_QUEUE_A_FLAPS, 0 = not damped.
 * @HSMG_QUEUE_A_DAMPED_LEFT_MS: u32 ms until a damped member may rejoin,
 *	0 when it is not held back.
 * @__HSMG_QUEUE_A_MAX: number of attributes.
 */
enum hsmg_queue_attr {
	HSMG_QUEUE_A_UNSPEC,
	HSMG_QUEUE_A_ADAPTER,
	HSMG_QUEUE_A_DOMAIN,
	HSMG_QUEUE_A_ID,
	HSMG_QUEUE_A_GROUP_ID,
	HSMG_QUEUE_A_STATE,
	HSMG_QUEUE_A_ROLE,
	HSMG_QUEUE_A_ADMIN,
	HSMG_QUEUE_A_ATTACHED,
	HSMG_QUEUE_A_SPEED,
	HSMG_QUEUE_A_INFLIGHT,
	HSMG_QUEUE_A_PENDING,
	HSMG_QUEUE_A_MAX_INFLIGHT,
	HSMG_QUEUE_A_SESSIONS,
	HSMG_QUEUE_A_MAX_SESSIONS,
	HSMG_QUEUE_A_REQUESTS,
	HSMG_QUEUE_A_ERRORS,
	HSMG_QUEUE_A_TRANSITIONS,
	HSMG_QUEUE_A_MKVP,
	HSMG_QUEUE_A_LATENCY_US,
	HSMG_QUEUE_A_LATENCY_TOTAL_US,
	HSMG_QUEUE_A_LOAD,
	HSMG_QUEUE_A_CAPABILITIES,
	HSMG_QUEUE_A_PAD,
	HSMG_QUEUE_A_FLAPS,
	HSMG_QUEUE_A_DAMP_MS,
	HSMG_QUEUE_A_DAMPED_LEFT_MS,
	__HSMG_QUEUE_A_MAX,
};
#define HSMG_QUEUE_A_MAX (__HSMG_QUEUE_A_MAX - 1)

/**
 * enum hsmg_session_attr - inside %HSMG_A_SESSION.
 * @HSMG_SESSION_A_UNSPEC: not an attribute.
 * @HSMG_SESSION_A_ID: u64 coprocessor session id (the id the cards see);
 *	the only attribute requests carry.
 * @HSMG_SESSION_A_GROUP_ID: u32.
 * @HSMG_SESSION_A_FLAGS: u32 HSMG_SESSION_*.
 * @HSMG_SESSION_A_LOGGED_IN: u8.
 * @HSMG_SESSION_A_REVOKED: u8 ended by an administrator.
 * @HSMG_SESSION_A_OWNER_PID: u32 process (thread group) that opened it, in
 *	the reader's pid namespace (0 if not visible there).
 * @HSMG_SESSION_A_OWNER_UID: u32 its effective uid at open, in the reader's
 *	user namespace.
 * @HSMG_SESSION_A_OWNER_COMM: string, its command name at open.
 * @HSMG_SESSION_A_MEMBERS: u32 members the session is logged in on.
 * @HSMG_SESSION_A_MEMBER_LIST: nest of %HSMG_SESSION_A_MEMBER_APQN u32
 *	attributes, (adapter << 8) | domain, one per member logged in on.
 * @HSMG_SESSION_A_PAD: padding for u64 attributes.
 * @__HSMG_SESSION_A_MAX: number of attributes.
 */
enum hsmg_session_attr {
	HSMG_SESSION_A_UNSPEC,
	HSMG_SESSION_A_ID,
	HSMG_SESSION_A_GROUP_ID,
	HSMG_SESSION_A_FLAGS,
	HSMG_SESSION_A_LOGGED_IN,
	HSMG_SESSION_A_REVOKED,
	HSMG_SESSION_A_OWNER_PID,
	HSMG_SESSION_A_OWNER_UID,
	HSMG_SESSION_A_OWNER_COMM,
	HSMG_SESSION_A_MEMBERS,
	HSMG_SESSION_A_MEMBER_LIST,
	HSMG_SESSION_A_PAD,
	__HSMG_SESSION_A_MAX,
};
#define HSMG_SESSION_A_MAX (__HSMG_SESSION_A_MAX - 1)
#define HSMG_SESSION_A_MEMBER_APQN 1

/**
 * enum hsmg_policy_attr - inside %HSMG_A_POLICY: a group's recovery and
 * request policy.  Every value is u32.  A group follows the module
 * parameter of the same name (/sys/module/hsmgroup/parameters/) until a
 * value is set for it; %HSMG_POLICY_A_RESET goes back to following it.
 * @HSMG_POLICY_A_UNSPEC: not an attribute.
 * @HSMG_POLICY_A_RECOVERY_INTERVAL_MS: first recovery probe of a suspect
 *	member after this long, 1..3600000 (default 200).
 * @HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS: the probe interval doubles up to
 *	this, 1..3600000 (default 10000).
 * @HSMG_POLICY_A_RECOVERY_RETRIES: failed probes before probing stops,
 *	0 = never stop (default 0).
 * @HSMG_POLICY_A_HOLD_TIME_MS: how long a request waits while no member can
 *	serve it, 0..86400000 (default 10000).
 * @HSMG_POLICY_A_REQUEST_TIMEOUT_MS: deadline of one attempt on a member,
 *	1..3600000 (default 5000).
 * @HSMG_POLICY_A_KEYGEN_TIMEOUT_MS: the same for key generation,
 *	1..3600000 (default 120000).
 * @HSMG_POLICY_A_SUSPECT_THRESHOLD: consecutive failed attempts before a
 *	member is suspect, 1..1000 (default 3).
 * @HSMG_POLICY_A_MAX_ATTEMPTS: attempts per request before -EIO, 1..1000
 *	(default 8).
 * @HSMG_POLICY_A_OVERRIDES: u32 (replies): bit (1 << attribute) for each
 *	value set for this group rather than following the module parameter.
 * @HSMG_POLICY_A_RESET: u32 (requests): same bits; those values follow the
 *	module parameter again.  Applied before the values set.
 * @__HSMG_POLICY_A_MAX: number of attributes.
 */
enum hsmg_policy_attr {
	HSMG_POLICY_A_UNSPEC,
	HSMG_POLICY_A_RECOVERY_INTERVAL_MS,
	HSMG_POLICY_A_RECOVERY_BACKOFF_MAX_MS,
	HSMG_POLICY_A_RECOVERY_RETRIES,
	HSMG_POLICY_A_HOLD_TIME_MS,
	HSMG_POLICY_A_REQUEST_TIMEOUT_MS,
	HSMG_POLICY_A_KEYGEN_TIMEOUT_MS,
	HSMG_POLICY_A_SUSPECT_THRESHOLD,
	HSMG_POLICY_A_MAX_ATTEMPTS,
	HSMG_POLICY_A_OVERRIDES,
	HSMG_POLICY_A_RESET,
	__HSMG_POLICY_A_MAX,
};
#define HSMG_POLICY_A_MAX (__HSMG_POLICY_A_MAX - 1)
/* The policy values: attributes 1..HSMG_POLICY_NVALUES. */
#define HSMG_POLICY_NVALUES HSMG_POLICY_A_MAX_ATTEMPTS

/**
 * enum hsmg_stats_attr - inside %HSMG_A_STATS (module-wide).
 * @HSMG_STATS_A_UNSPEC: not an attribute.
 * @HSMG_STATS_A_GROUPS: u32 groups.
 * @HSMG_STATS_A_QUEUES: u32 member queues known.
 * @HSMG_STATS_A_ATTACHED: u32 queues attached.
 * @HSMG_STATS_A_ONLINE: u32 queues online.
 * @HSMG_STATS_A_SESSIONS: u32 sessions open.
 * @HSMG_STATS_A_LOGGED_IN: u32 sessions logged in.
 * @HSMG_STATS_A_REQUESTS: u64 client requests completed.
 * @HSMG_STATS_A_ERRORS: u64 client requests ended with an error.
 * @HSMG_STATS_A_FAILOVERS: u64 attempts re-sent to another member.
 * @HSMG_STATS_A_TRANSITIONS: u64 queue state changes.
 * @HSMG_STATS_A_EVENTS_DROPPED: u64 events lost for lack of memory.
 * @HSMG_STATS_A_PAD: padding for u64 attributes.
 * @__HSMG_STATS_A_MAX: number of attributes.
 */
enum hsmg_stats_attr {
	HSMG_STATS_A_UNSPEC,
	HSMG_STATS_A_GROUPS,
	HSMG_STATS_A_QUEUES,
	HSMG_STATS_A_ATTACHED,
	HSMG_STATS_A_ONLINE,
	HSMG_STATS_A_SESSIONS,
	HSMG_STATS_A_LOGGED_IN,
	HSMG_STATS_A_REQUESTS,
	HSMG_STATS_A_ERRORS,
	HSMG_STATS_A_FAILOVERS,
	HSMG_STATS_A_TRANSITIONS,
	HSMG_STATS_A_EVENTS_DROPPED,
	HSMG_STATS_A_PAD,
	__HSMG_STATS_A_MAX,
};
#define HSMG_STATS_A_MAX (__HSMG_STATS_A_MAX - 1)

/**
 * enum hsmg_event_type - %HSMG_EVENT_A_TYPE.
 * @HSMG_EVENT_STATE: a member changed state (old, new, reason).
 * @HSMG_EVENT_ATTACH: a provider attached a queue.
 * @HSMG_EVENT_DETACH: a provider detached a queue.
 * @HSMG_EVENT_MISMATCH: a queue is held in mismatch (reason says why).
 * @HSMG_EVENT_POLICY: a group's policy changed.
 * @HSMG_EVENT_SESSION_END: an administrator ended a session.
 * @HSMG_EVENT_ADMIN: an administrator changed a queue's admin state,
 *	role or speed.
 * @HSMG_EVENT_DAMPED: a member that failed again soon after its last rejoin
 *	is held back longer before it rejoins (reason says how long).
 */
enum hsmg_event_type {
	HSMG_EVENT_STATE = 1,
	HSMG_EVENT_ATTACH = 2,
	HSMG_EVENT_DETACH = 3,
	HSMG_EVENT_MISMATCH = 4,
	HSMG_EVENT_POLICY = 5,
	HSMG_EVENT_SESSION_END = 6,
	HSMG_EVENT_ADMIN = 7,
	HSMG_EVENT_DAMPED = 8,
};

/**
 * enum hsmg_event_attr - inside %HSMG_A_EVENT.  Events are sent in the
 * order they happen; a state change is also a uevent and a kernel log line.
 * @HSMG_EVENT_A_UNSPEC: not an attribute.
 * @HSMG_EVENT_A_TYPE: u32 enum hsmg_event_type.
 * @HSMG_EVENT_A_GROUP_ID: u32.
 * @HSMG_EVENT_A_ADAPTER: u16 (queue events).
 * @HSMG_EVENT_A_DOMAIN: u16 (queue events).
 * @HSMG_EVENT_A_QUEUE_ID: u32 (queue events).
 * @HSMG_EVENT_A_OLD_STATE: u32 enum hsmg_queue_state (state events).
 * @HSMG_EVENT_A_NEW_STATE: u32 enum hsmg_queue_state (queue events).
 * @HSMG_EVENT_A_REASON: string.
 * @HSMG_EVENT_A_SESSION_ID: u64 (session events).
 * @HSMG_EVENT_A_PAD: padding for u64 attributes.
 * @__HSMG_EVENT_A_MAX: number of attributes.
 */
enum hsmg_event_attr {
	HSMG_EVENT_A_UNSPEC,
	HSMG_EVENT_A_TYPE,
	HSMG_EVENT_A_GROUP_ID,
	HSMG_EVENT_A_ADAPTER,
	HSMG_EVENT_A_DOMAIN,
	HSMG_EVENT_A_QUEUE_ID,
	HSMG_EVENT_A_OLD_STATE,
	HSMG_EVENT_A_NEW_STATE,
	HSMG_EVENT_A_REASON,
	HSMG_EVENT_A_SESSION_ID,
	HSMG_EVENT_A_PAD,
	__HSMG_EVENT_A_MAX,
};
#define HSMG_EVENT_A_MAX (__HSMG_EVENT_A_MAX - 1)

/* ------------------------------------------------------------------------
 * sysfs (see docs/sysfs.md): class "hsmgroup", one device per group
 * (/sys/class/hsmgroup/groupN) and per member queue (AA.DDDD, a child of
 * its group's device), read-only attributes, and uevents (add, change,
 * remove) with HSMG_GROUP=N, HSMG_QUEUE=AA.DDDD, HSMG_STATE=<state name>,
 * HSMG_EVENT=<attach|detach|state|mismatch|admin|policy|damped>.
 */
#define HSMG_SYSFS_CLASS "hsmgroup"

#endif /* _UAPI_LINUX_HSMGROUP_H */
