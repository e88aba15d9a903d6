/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family "hsmgroup": control plane (see the uapi header).
 */
#ifndef _HSMG_NETLINK_H
#define _HSMG_NETLINK_H

struct hsmg_event;

int hsmg_netlink_init(void);
void hsmg_netlink_exit(void);
void hsmg_netlink_event(const struct hsmg_event *ev);

#endif /* _HSMG_NETLINK_H */
