// SPDX-License-Identifier: GPL-2.0
/* Thin wrappers around the /dev/hsmgroup client ioctls (see dev.h). */
#include "dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int hsmg_dev_open(void)
{
	int fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int hsmg_dev_list_groups(int fd, struct hsmg_group_info **groups, unsigned int *n)
{
	struct hsmg_group_info *buf = NULL;
	unsigned int cap = 0;

	/* A capacity of 0 queries the count (0 or -ENOSPC); then fetch, retry if it grew. */
	for (int tries = 0; tries < 8; tries++) {
		struct hsmg_group_list gl = {
		    .argsz = sizeof(gl),
		    .count = cap,
		    .elem_size = sizeof(*buf),
		    .groups = (uintptr_t)buf,
		};
		int ret = ioctl(fd, HSMG_IOC_LIST_GROUPS, &gl) ? -errno : 0;

		if (ret && ret != -ENOSPC) {
			free(buf);
			return ret;
		}
		if (!ret && (cap > 0 || gl.count == 0)) {
			*groups = buf;
			*n = gl.count;
			return 0;
		}
		free(buf);
		cap = gl.count + 4;
		buf = calloc(cap, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	free(buf);
	return -EAGAIN;
}

int hsmg_dev_first_group(int fd, uint32_t *group_id)
{
	struct hsmg_group_info *g;
	unsigned int n;
	int ret = hsmg_dev_list_groups(fd, &g, &n);

	if (ret)
		return ret;
	if (n == 0) {
		free(g);
		return -ENOENT;
	}
	*group_id = g[0].group_id;
	free(g);
	return 0;
}

int hsmg_dev_list_members(int fd, uint32_t group_id, struct hsmg_member_info **members,
			  unsigned int *n)
{
	struct hsmg_member_info *buf = NULL;
	unsigned int cap = 0;

	for (int tries = 0; tries < 8; tries++) {
		struct hsmg_member_list ml = {
		    .argsz = sizeof(ml),
		    .group_id = group_id,
		    .count = cap,
		    .elem_size = sizeof(*buf),
		    .members = (uintptr_t)buf,
		};
		int ret = ioctl(fd, HSMG_IOC_LIST_MEMBERS, &ml) ? -errno : 0;

		if (ret && ret != -ENOSPC) {
			free(buf);
			return ret;
		}
		if (!ret && (cap > 0 || ml.count == 0)) {
			*members = buf;
			*n = ml.count;
			return 0;
		}
		free(buf);
		cap = ml.count + 4;
		buf = calloc(cap, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	free(buf);
	return -EAGAIN;
}

int hsmg_dev_session_open(int fd, uint32_t group_id, uint32_t flags, uint32_t *session_id)
{
	struct hsmg_session_open so = {
	    .argsz = sizeof(so),
	    .flags = flags,
	    .group_id = group_id,
	};

	if (ioctl(fd, HSMG_IOC_SESSION_OPEN, &so))
		return -errno;
	*session_id = so.session_id;
	return 0;
}

int hsmg_dev_session_close(int fd, uint32_t session_id)
{
	struct hsmg_session_close sc = {
	    .argsz = sizeof(sc),
	    .session_id = session_id,
	};

	return ioctl(fd, HSMG_IOC_SESSION_CLOSE, &sc) ? -errno : 0;
}

int hsmg_dev_login(int fd, uint32_t session_id, const char *pin, uint32_t *members)
{
	struct hsmg_login li = {
	    .argsz = sizeof(li),
	    .session_id = session_id,
	    .pin_len = strlen(pin),
	    .pin = (uintptr_t)pin,
	};
	int ret = ioctl(fd, HSMG_IOC_LOGIN, &li) ? -errno : 0;

	if (!ret && members)
		*members = li.members;
	explicit_bzero(li.pin_blob, sizeof(li.pin_blob));
	return ret;
}

int hsmg_dev_logout(int fd, uint32_t session_id)
{
	struct hsmg_logout lo = {
	    .argsz = sizeof(lo),
	    .session_id = session_id,
	};

	return ioctl(fd, HSMG_IOC_LOGOUT, &lo) ? -errno : 0;
}

int hsmg_dev_submit(int fd, uint32_t group_id, uint32_t session_id, uint32_t op_class,
		    const void *req, size_t req_len, void *resp, size_t resp_cap,
		    struct hsmg_dev_result *res)
{
	struct hsmg_submit s = {
	    .argsz = sizeof(s),
	    .group_id = group_id,
	    .session_id = session_id,
	    .op_class = op_class,
	    .req_len = req_len,
	    .req = (uintptr_t)req,
	    .resp_len = resp_cap,
	    .resp = (uintptr_t)resp,
	};

	if (ioctl(fd, HSMG_IOC_SUBMIT, &s))
		return -errno;
	res->resp_len = s.resp_len;
	res->member = s.member;
	res->attempts = s.attempts;
	return 0;
}

const char *hsmg_dev_state_name(uint32_t state)
{
	static const char *const names[] = {
	    [HSMG_QS_ONLINE] = "online",     [HSMG_QS_SUSPECT] = "suspect",
	    [HSMG_QS_OFFLINE] = "offline",   [HSMG_QS_RECOVERING] = "recovering",
	    [HSMG_QS_DRAINING] = "draining", [HSMG_QS_STANDBY] = "standby",
	    [HSMG_QS_DISABLED] = "disabled", [HSMG_QS_MISMATCH] = "mismatch",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}
