/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health of a member queue: attempt deadlines, heartbeat, recovery probes
 * and flap damping.  Every function but hsmg_health_init() runs with the
 * group lock held.
 */
#ifndef _HSMG_HEALTH_H
#define _HSMG_HEALTH_H

#include <linux/types.h>
#include <linux/hsmgroup.h>

struct hsmg_queue;

void hsmg_health_init(struct hsmg_queue *q);
void hsmg_health_arm_watchdog(struct hsmg_queue *q, unsigned long deadline);
void hsmg_health_start_recovery(struct hsmg_queue *q, const char *reason);
void hsmg_health_attempt_done(struct hsmg_queue *q, bool ok, bool broken);
void hsmg_health_alive(struct hsmg_queue *q);
void hsmg_health_flapped(struct hsmg_queue *q, enum hsmg_queue_state old);
u32 hsmg_health_flaps(struct hsmg_queue *q);
u32 hsmg_health_damp_ms(struct hsmg_queue *q);
u32 hsmg_health_damped_left_ms(struct hsmg_queue *q);

#endif /* _HSMG_HEALTH_H */
