/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scheduler: which member serves which request, and in which order the
 * clients' waiting requests are served (round-robin over per-client
 * backlogs, with a per-client cap on assigned requests).
 */
#ifndef _HSMG_SCHED_H
#define _HSMG_SCHED_H

#include <linux/list.h>
#include <linux/types.h>

struct hsmg_client;
struct hsmg_group;
struct hsmg_queue;
struct hsmg_request;

/**
 * struct hsmg_backlog - a client's waiting requests in one group.
 * @group_node: in &hsmg_group.backlogs (round-robin order).
 * @client_node: in &hsmg_client.backlogs.
 * @reqs: waiting requests, oldest first.
 * @client: owner.
 * @group: group.
 */
struct hsmg_backlog {
	struct list_head group_node;
	struct list_head client_node;
	struct list_head reqs;
	struct hsmg_client *client;
	struct hsmg_group *group;
};

u32 hsmg_sched_default_weight(u32 op_class);
struct hsmg_backlog *hsmg_sched_backlog(struct hsmg_client *c,
					struct hsmg_group *g);
void hsmg_sched_backlog_free(struct hsmg_backlog *bl);
void hsmg_sched_enqueue(struct hsmg_request *req, bool front);
void hsmg_sched_dispatch(struct hsmg_group *g);
bool hsmg_sched_eligible(struct hsmg_group *g, struct hsmg_request *req);
bool hsmg_sched_active_online(struct hsmg_group *g);

#endif /* _HSMG_SCHED_H */
