/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copying extensible ioctl argument structs (argsz first).
 */
#ifndef _HSMG_IOCTL_H
#define _HSMG_IOCTL_H

#include <linux/minmax.h>
#include <linux/uaccess.h>
#include <linux/hsmgroup.h>

/*
 * hsmg_copy_args - copy an argument struct in: -EFAULT, -EINVAL when argsz is
 * below @minsz, -E2BIG above HSMG_MAX_ARGSZ (a limit of the header) or for
 * non-zero bytes past @ksize.  Returns argsz (> 0) on success.
 */
static inline int hsmg_copy_args(void *karg, size_t ksize, size_t minsz,
				 unsigned long uarg)
{
	void __user *u = (void __user *)uarg;
	u32 argsz;
	int ret;

	if (get_user(argsz, (u32 __user *)u))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	if (argsz > HSMG_MAX_ARGSZ)
		return -E2BIG;
	ret = copy_struct_from_user(karg, ksize, u, argsz);
	if (ret)
		return ret;
	return argsz;
}

/* hsmg_copy_result - copy the first min(argsz, ksize) bytes back out. */
static inline int hsmg_copy_result(unsigned long uarg, const void *karg,
				   size_t ksize, u32 argsz)
{
	if (copy_to_user((void __user *)uarg, karg, min_t(size_t, ksize, argsz)))
		return -EFAULT;
	return 0;
}

#endif /* _HSMG_IOCTL_H */
