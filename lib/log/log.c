// SPDX-License-Identifier: GPL-2.0
/*
 * log - syslog output with a level threshold (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static int log_level = LOG_WARNING;
static const char *stderr_prog;

void shim_log_stderr(const char *prog)
{
	stderr_prog = prog;
}

void shim_log_set_level(int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int shim_log_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int shim_log_parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	    {"err", LOG_ERR},	   {"error", LOG_ERR},	   {"warning", LOG_WARNING},
	    {"warn", LOG_WARNING}, {"notice", LOG_NOTICE}, {"info", LOG_INFO},
	    {"debug", LOG_DEBUG},
	};
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].level;
	v = strtol(s, &end, 10);
	if (end == s || *end || v < LOG_EMERG || v > LOG_DEBUG)
		return -1;
	return (int)v;
}

void shim_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (level > shim_log_level())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* No openlog(): it would change the application's ident. */
	syslog(LOG_USER | level, "hsmgroup-pkcs11: %s", msg);
	if (stderr_prog && level <= LOG_WARNING)
		fprintf(stderr, "%s: %s\n", stderr_prog, msg);
}

void shim_log_event(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (shim_log_level() < LOG_WARNING)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	syslog(LOG_USER | LOG_NOTICE, "hsmgroup-pkcs11: HA: %s", msg);
}
