/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels a Debian 12 host runs
 * (6.1.0-47 ... 6.1.0-57 and the 6.12 LTS kernels, generic, cloud and rt
 * flavours), in one place.  Each HSMG_HAVE_* comes from a feature test of
 * the kernel's headers in driver/Kbuild, not from a version number: Debian's
 * stable updates bring later APIs to an older version (list_count_nodes()
 * reached 6.1.0 in a stable update).  None of these changes what the module
 * does on one kernel or another.
 */
#ifndef HSMG_COMPAT_H
#define HSMG_COMPAT_H

#include <linux/list.h>
#include <net/genetlink.h>

/* list_count_nodes(): in 6.3, and in Debian's 6.1 since a stable update. */
#ifndef HSMG_HAVE_LIST_COUNT_NODES
static inline size_t list_count_nodes(struct list_head *head)
{
	struct list_head *pos;
	size_t count = 0;

	list_for_each(pos, head)
		count++;
	return count;
}
#endif

/*
 * The parsed attributes of a dump request: struct genl_dumpit_info holds a
 * struct genl_info since 6.6 (genl_info_dump()), its own attrs before.
 */
#ifdef HSMG_HAVE_GENL_INFO_DUMP
#define hsmg_dump_attrs(cb) (genl_info_dump(cb)->attrs)
#else
#define hsmg_dump_attrs(cb) (genl_dumpit_info(cb)->attrs)
#endif

/*
 * struct class's dev_uevent takes a const device since 6.3: HSMG_HAVE_-
 * CONST_DEV_UEVENT; sysfs.c wraps its const callback for older kernels.
 */

/* struct class lost its owner in 6.4 (the driver core holds the module). */
#ifdef HSMG_HAVE_CLASS_OWNER
#define HSMG_CLASS_OWNER .owner = THIS_MODULE,
#else
#define HSMG_CLASS_OWNER
#endif

#endif /* HSMG_COMPAT_H */
