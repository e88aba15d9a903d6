/* SPDX-License-Identifier: GPL-2.0 */
/*
 * transport - how the module talks to the hsmgroup kernel module: a small
 * vtable, so that unit tests can plug in a mock that feeds an emulated card
 * (tests/shim/mock_transport.c) instead of /dev/hsmgroup.
 *
 * Every call returns 0 or a negative errno as the kernel gives it; the
 * caller maps it to a CKR_* value with shim_errno_to_ckr().
 */
#ifndef SHIM_TRANSPORT_H
#define SHIM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include <p11-kit/pkcs11.h>

#include "client.h"

struct shim_transport;

struct shim_transport_ops {
	/* Open a client on @device; *@out is the transport's private state. */
	int (*open)(const char *device, struct shim_transport **out);
	/* Release the client: the kernel ends its sessions. */
	void (*close)(struct shim_transport *t);
	/*
	 * Forget the client in a forked child without touching what the parent
	 * still uses (close the inherited descriptor, free memory).
	 */
	void (*abandon)(struct shim_transport *t);
	/*
	 * Optional.  In a forked child, at fork time (a pthread_atfork
	 * handler): close the inherited descriptors and forget them, nothing
	 * else (only async-signal-safe calls); abandon() follows later.
	 */
	void (*forked)(struct shim_transport *t);
	/* Fill up to *@count groups; *@count = number of groups (-ENOSPC). */
	int (*list_groups)(struct shim_transport *t, struct hsmg_group_info *groups,
			   uint32_t *count);
	int (*session_open)(struct shim_transport *t, uint32_t group_id, uint32_t flags,
			    uint32_t *session_id);
	int (*session_close)(struct shim_transport *t, uint32_t session_id);
	/* As hsmg_client_login(). */
	int (*login)(struct shim_transport *t, uint32_t session_id, uint32_t flags,
		     const struct hsmg_client_creds *cr);
	int (*logout)(struct shim_transport *t, uint32_t session_id);
	/* One request; *@resp_len: capacity in, answer length out. */
	int (*submit)(struct shim_transport *t, uint32_t group_id, uint32_t session_id,
		      uint32_t op_class, uint32_t flags, uint32_t timeout_ms, const void *req,
		      uint32_t req_len, void *resp, uint32_t *resp_len);
	/*
	 * Optional (NULL: the caller polls the groups).  Wait up to
	 * @timeout_ms (0: do not wait) until the kernel reports events or
	 * @wake_fd (-1: none) is readable, then consume the kernel's events
	 * (not @wake_fd).  1: events were consumed, 0: none (woken by
	 * @wake_fd, timed out, or a signal), -EOPNOTSUPP: the kernel has no
	 * events (the caller polls), other -errno.  Called without the module
	 * lock, by several threads at once.
	 */
	int (*wait_event)(struct shim_transport *t, int wake_fd, int timeout_ms);
};

/* The real transport: ioctls on /dev/hsmgroup. */
extern const struct shim_transport_ops shim_ioctl_transport;

/*
 * Replace the transport used by the next C_Initialize (NULL restores the
 * ioctl one).  For tests only; not exported from the shared object.
 */
void shim_transport_override(const struct shim_transport_ops *ops);
const struct shim_transport_ops *shim_transport_ops(void);

/* Map a negative errno of a transport call to a CKR_* value. */
CK_RV shim_errno_to_ckr(int err);

#endif
