/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmgroup module parameters, defined in main.c.  They may be changed at
 * run time through /sys/module/hsmgroup/parameters/; readers take a snapshot
 * with READ_ONCE() where they use a value.
 */
#ifndef _HSMG_MAIN_H
#define _HSMG_MAIN_H

#undef pr_fmt
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

extern unsigned int hsmg_suspect_threshold;
extern unsigned int hsmg_recovery_interval_ms;
extern unsigned int hsmg_recovery_backoff_max_ms;
extern unsigned int hsmg_recovery_retries;
extern unsigned int hsmg_max_attempts;
extern unsigned int hsmg_hold_time_ms;
extern unsigned int hsmg_default_timeout_ms;
extern unsigned int hsmg_request_timeout_ms;
extern unsigned int hsmg_keygen_timeout_ms;
extern unsigned int hsmg_client_inflight_cap;
extern unsigned int hsmg_busy_poll_us;

#endif /* _HSMG_MAIN_H */
