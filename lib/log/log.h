/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log - the module's only output channel: syslog (ident "hsmgroup-pkcs11",
 * facility LOG_USER).  Nothing is written to stdout or stderr (but for a
 * tool that asks with shim_log_stderr(): its own output).  Callers
 * never pass PINs, keys, blobs or plaintext; log ids and return codes only.
 */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <syslog.h>

/* A tool (never the PKCS#11 module): errors and warnings also to stderr,
 * as "@prog: message". */
void shim_log_stderr(const char *prog);

/* Messages above @level (LOG_ERR .. LOG_DEBUG) are dropped. */
void shim_log_set_level(int level);
int shim_log_level(void);
/* Parse "err", "warning", "notice", "info", "debug" or a number 0-7; -1 if bad. */
int shim_log_parse_level(const char *s);

void shim_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * High-availability events (token present/gone, members online, members held
 * in mismatch): syslog priority LOG_NOTICE, written at every level but "err"
 * (so with the default "warning" too): an administrator sees what the
 * application lived through.
 */
void shim_log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define shim_err(...)  shim_log(LOG_ERR, __VA_ARGS__)
#define shim_warn(...) shim_log(LOG_WARNING, __VA_ARGS__)
#define shim_info(...) shim_log(LOG_INFO, __VA_ARGS__)
#define shim_dbg(...)  shim_log(LOG_DEBUG, __VA_ARGS__)

#endif
