/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmgroupctl: the "hsmgroup" generic netlink family through libnl-genl-3.
 */
#ifndef HSMGROUPCTL_NL_H
#define HSMGROUPCTL_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

struct ctl_nl;

/*
 * Callback per reply message: @tb holds the top-level attributes
 * (HSMG_A_*), indexed up to HSMG_A_MAX.  Return 0 to go on.
 */
typedef int (*ctl_nl_cb)(struct nlattr **tb, void *arg);

/* Connect and resolve the family; prints the reason and returns NULL. */
struct ctl_nl *ctl_nl_open(void);
void ctl_nl_close(struct ctl_nl *nl);

/* A request for @cmd (dump when @dump); add attributes, then ctl_nl_call. */
struct nl_msg *ctl_nl_msg(struct ctl_nl *nl, int cmd, bool dump);

/*
 * Send @msg (freed) and run @cb for each reply.  Returns 0 or -errno; the
 * kernel's extended ack message (if any) is in ctl_nl_errmsg().
 */
int ctl_nl_call(struct ctl_nl *nl, struct nl_msg *msg, ctl_nl_cb cb, void *arg);
const char *ctl_nl_errmsg(struct ctl_nl *nl);

/* Join the events multicast group; then ctl_nl_events() runs @cb per event. */
int ctl_nl_subscribe(struct ctl_nl *nl);
int ctl_nl_fd(struct ctl_nl *nl);
int ctl_nl_events(struct ctl_nl *nl, ctl_nl_cb cb, void *arg);

/* Parse a nest into @tb[0..max]; returns 0 or -1. */
int ctl_nl_nest(struct nlattr **tb, int max, struct nlattr *nest);

#endif
