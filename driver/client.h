/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Clients: /dev/hsmgroup.  One open file is one client.
 */
#ifndef _HSMG_CLIENT_H
#define _HSMG_CLIENT_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

/**
 * struct hsmg_client - per open file state.
 * @sessions: session handle -> &struct hsmg_session (holds a reference).
 * @lock: protects @backlogs and serializes session handle changes.
 * @backlogs: &struct hsmg_backlog.client_node, one per group used.
 * @last_backlog: the backlog found or made last, read without @lock (a
 *	backlog lives as long as its client).
 * @assigned: requests of this client assigned to queues now.
 * @requests: requests completed.
 * @errors: requests ended with an error.
 * @event_seen: event sequence number this file read last (read/poll).
 */
struct hsmg_client {
	struct xarray sessions;
	struct mutex lock; /* @backlogs, session handles */
	struct list_head backlogs;
	struct hsmg_backlog *last_backlog;
	atomic_t assigned;
	atomic64_t requests;
	atomic64_t errors;
	atomic64_t event_seen;
};

int hsmg_client_init(void);
void hsmg_client_exit(void);

#endif /* _HSMG_CLIENT_H */
