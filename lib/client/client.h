/* SPDX-License-Identifier: GPL-2.0 */
/*
 * client - the one userspace client of /dev/hsmgroup (uapi/linux/hsmgroup.h):
 * open, info, groups and members, sessions, login, submit and the wake-up
 * (event) descriptor.  Used by the PKCS#11 module, the benchmark, the load
 * tools and the tests.
 *
 * Every call takes the descriptor returned by hsmg_client_open() (or any
 * descriptor of the device), returns 0 or the negative errno the kernel
 * gave, and retries an ioctl a signal interrupted.  Nothing is logged and
 * nothing is kept between calls but what the caller holds; PINs passed in
 * are not copied, and the kernel's pin-blob answer is wiped.
 */
#ifndef HSMG_LIB_CLIENT_H
#define HSMG_LIB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>

/*
 * Open @device (NULL: %HSMG_CLIENT_DEVICE) read-write, close-on-exec, and
 * check with GET_INFO that the kernel speaks %HSMG_ABI_VERSION (-EPROTO if
 * not); @info (may be NULL) receives the answer.  A descriptor, or -errno.
 */
int hsmg_client_open(const char *device, struct hsmg_info *info);

/* GET_INFO into @info. */
int hsmg_client_info(int fd, struct hsmg_info *info);

/*
 * One LIST_GROUPS: up to *@count entries into @groups (NULL with *@count 0
 * asks the number); *@count becomes the number of groups, also with
 * -ENOSPC (more groups than room).
 */
int hsmg_client_list_groups(int fd, struct hsmg_group_info *groups, uint32_t *count);

/* Every group, in a malloc'd array the caller frees (*@n may be 0). */
int hsmg_client_groups(int fd, struct hsmg_group_info **groups, unsigned int *n);
/* The first group's id; -ENOENT when there is none. */
int hsmg_client_first_group(int fd, uint32_t *group_id);
/* Every member of @group_id, in a malloc'd array the caller frees. */
int hsmg_client_members(int fd, uint32_t group_id, struct hsmg_member_info **members,
			unsigned int *n);

int hsmg_client_session_open(int fd, uint32_t group_id, uint32_t flags, uint32_t *session_id);
int hsmg_client_session_close(int fd, uint32_t session_id);

/**
 * struct hsmg_client_creds - what a login presents.
 * @pin, @pin_len: the PIN.
 * @cardpin, @cardpin_len: the card-PIN of a VHSM user login (0: none).
 * @record, @record_len: the token's authentication record for the PIN
 *	(struct hsmg_auth_record_hdr first; 0: none, the PIN is not checked).
 */
struct hsmg_client_creds {
	const void *pin;
	uint32_t pin_len;
	const void *cardpin;
	uint32_t cardpin_len;
	const void *record;
	uint32_t record_len;
};

/*
 * Log @session_id in with @cr.  @members (may be NULL): the members it is
 * logged in on.  -EACCES: wrong PIN; -EKEYEXPIRED: PIN locked.
 */
int hsmg_client_login(int fd, uint32_t session_id, uint32_t flags,
		      const struct hsmg_client_creds *cr, uint32_t *members);
int hsmg_client_logout(int fd, uint32_t session_id);

/**
 * struct hsmg_client_req - one SUBMIT.
 * @group_id, @session_id, @op_class, @flags, @weight, @timeout_ms: as in
 *	struct hsmg_submit.
 * @req, @req_len: the request message.
 * @resp, @resp_cap: room for the answer.
 * @resp_len: (out) answer length; with -ENOSPC what it needs; after other
 *	errors what the kernel left there (@resp_cap when it wrote nothing).
 * @member: (out) the queue that answered.
 * @attempts: (out) members the request was sent to.
 */
struct hsmg_client_req {
	uint32_t group_id;
	uint32_t session_id;
	uint32_t op_class;
	uint32_t flags;
	uint32_t weight;
	uint32_t timeout_ms;
	const void *req;
	uint32_t req_len;
	void *resp;
	uint32_t resp_cap;
	uint32_t resp_len;
	uint32_t member;
	uint32_t attempts;
};

int hsmg_client_submit(int fd, struct hsmg_client_req *r);

/**
 * struct hsmg_client_events - the wake-up side of a client: a second file
 * of the device, non-blocking and only read and polled for the kernel's
 * event sequence (%HSMG_FEAT_EVENTS), opened at the first wait so that a
 * process that never waits keeps one file.  Several threads may wait at
 * once.  Set up by hsmg_client_events_init().
 * @device: the device path (kept, not copied).
 * @fd: the event file, -1 before the first wait; read and set atomically.
 * @state: 0 unknown, 1 the kernel has events, 2 it has none.
 */
struct hsmg_client_events {
	const char *device;
	int fd;
	int state;
};

/* Set @ev up for @device; @has_events: GET_INFO showed %HSMG_FEAT_EVENTS. */
void hsmg_client_events_init(struct hsmg_client_events *ev, const char *device, bool has_events);

/*
 * Wait up to @timeout_ms (0: do not wait) until the kernel reports events
 * or @wake_fd (-1: none) is readable, then consume the kernel's events
 * (not @wake_fd's).  1: events were consumed, 0: none (woken by @wake_fd,
 * timed out, a signal, or another waiter consumed them), -EOPNOTSUPP: the
 * kernel has no events (poll instead), other -errno (the open failed:
 * tried again at the next call).
 */
int hsmg_client_events_wait(struct hsmg_client_events *ev, int wake_fd, int timeout_ms);

/* Close the event file. */
void hsmg_client_events_close(struct hsmg_client_events *ev);

/* "online", "suspect", ... for an HSMG_QS_* member state. */
const char *hsmg_client_state_name(uint32_t state);

#endif /* HSMG_LIB_CLIENT_H */
