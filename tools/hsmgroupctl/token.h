/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmgroupctl token - the per-token state kept in the token store of
 * hsmgroup-pkcs11 (today: the card-PIN of VHSM mode).  It links the
 * module's own store, PIN and card-PIN code (libp11shim/), so the tool and
 * the module read and write exactly the same records.
 */
#ifndef HSMGROUPCTL_TOKEN_H
#define HSMGROUPCTL_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/hsmgroup.h>

/*
 * main.c: the group @id, or the one whose token serial (first 8 bytes of
 * the MKVP in hex) is @serial, or (both unset) the only group.  Prints
 * what is wrong and returns -1 when there is no such single group.
 */
int ctl_group_lookup(uint32_t id, const char *serial, uint32_t *out_id,
		     uint8_t mkvp[HSMG_MKVP_LEN]);

/* token.c: "hsmgroupctl token ..."; returns the exit status. */
int cmd_token(int argc, char **argv, bool json);

/* migrate.c: "hsmgroupctl token migrate ...". */
int cmd_migrate(int argc, char **argv, bool json);

#endif
