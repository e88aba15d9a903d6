/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /dev/hsmgroup-backend: queues provided by userspace, one per open file.
 */
#ifndef _HSMG_BACKEND_H
#define _HSMG_BACKEND_H

int hsmg_backend_init(void);
void hsmg_backend_exit(void);

#endif /* _HSMG_BACKEND_H */
