/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysfs: class "hsmgroup", a device per group (groupN) and per member queue
 * (AA.DDDD, child of its group), read-only attributes, uevents.  Layout in
 * docs/sysfs.md.
 */
#ifndef _HSMG_SYSFS_H
#define _HSMG_SYSFS_H

struct hsmg_event;
struct hsmg_group;
struct hsmg_queue;

int hsmg_sysfs_init(void);
void hsmg_sysfs_exit(void);
void hsmg_sysfs_group_add(struct hsmg_group *g);
void hsmg_sysfs_group_del(struct hsmg_group *g);
void hsmg_sysfs_queue_add(struct hsmg_queue *q);
void hsmg_sysfs_queue_del(struct hsmg_queue *q);
void hsmg_sysfs_event(const struct hsmg_event *ev);

#endif /* _HSMG_SYSFS_H */
