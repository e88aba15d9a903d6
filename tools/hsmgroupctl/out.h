/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmgroupctl: JSON output (one value at a time, commas handled here).
 */
#ifndef HSMGROUPCTL_OUT_H
#define HSMGROUPCTL_OUT_H

#include <stdbool.h>
#include <stdint.h>

/* @key is NULL inside arrays. */
void j_obj(const char *key);
void j_arr(const char *key);
void j_end(void); /* closes the innermost object or array */
void j_str(const char *key, const char *val);
void j_u64(const char *key, uint64_t val);
void j_bool(const char *key, bool val);
void j_hex(const char *key, const uint8_t *buf, int len);
void j_newline(void); /* after a top-level value */

#endif
