/* SPDX-License-Identifier: GPL-2.0 */
/*
 * procfd - what a test asks of /proc/self/fd (tests/lib/build.mk).
 */
#ifndef HSMG_TEST_PROCFD_H
#define HSMG_TEST_PROCFD_H

/* Open descriptors of this process whose target (readlink of
 * /proc/self/fd/N) contains @match; -1 when /proc cannot be read. */
int procfd_count(const char *match);

#endif
