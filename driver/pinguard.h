/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HSMG_PINGUARD_H
#define HSMG_PINGUARD_H

#include <linux/types.h>

struct hsmg_group;
struct hsmg_auth_record_hdr;
struct hsmg_pin_fails;

int hsmg_pinguard_enter(struct hsmg_group *g,
			const struct hsmg_auth_record_hdr *h,
			struct hsmg_pin_fails **slot);
void hsmg_pinguard_leave(struct hsmg_group *g, struct hsmg_pin_fails *slot,
			 int result);
void hsmg_pinguard_free(struct hsmg_group *g);
u32 hsmg_pinguard_delay_ms(u32 failures);

#endif /* HSMG_PINGUARD_H */
