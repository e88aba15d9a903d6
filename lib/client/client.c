// SPDX-License-Identifier: GPL-2.0
/*
 * client - the userspace client of /dev/hsmgroup (see client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"

enum { EV_UNKNOWN, EV_SUPPORTED, EV_UNSUPPORTED };

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int hsmg_client_info(int fd, struct hsmg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return xioctl(fd, HSMG_IOC_GET_INFO, info);
}

int hsmg_client_open(const char *device, struct hsmg_info *info)
{
	struct hsmg_info tmp;
	int fd = open(device ? device : HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (!info)
		info = &tmp;
	err = hsmg_client_info(fd, info);
	if (!err && info->abi_version != HSMG_ABI_VERSION)
		err = -EPROTO;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int hsmg_client_list_groups(int fd, struct hsmg_group_info *groups, uint32_t *count)
{
	struct hsmg_group_list gl = {
	    .argsz = sizeof(gl),
	    .count = *count,
	    .elem_size = sizeof(*groups),
	    .groups = (uintptr_t)groups,
	};
	int err = xioctl(fd, HSMG_IOC_LIST_GROUPS, &gl);

	if (!err || err == -ENOSPC)
		*count = gl.count;
	return err;
}

/* One LIST_MEMBERS into @members (struct hsmg_member_info), as list_all() calls it. */
static int list_members(int fd, uint32_t group_id, void *members, uint32_t *count)
{
	struct hsmg_member_list ml = {
	    .argsz = sizeof(ml),
	    .group_id = group_id,
	    .count = *count,
	    .elem_size = sizeof(struct hsmg_member_info),
	    .members = (uintptr_t)members,
	};
	int err = xioctl(fd, HSMG_IOC_LIST_MEMBERS, &ml);

	if (!err || err == -ENOSPC)
		*count = ml.count;
	return err;
}

/*
 * A whole list: ask the number (capacity 0), fetch with some room to
 * spare, again if it grew in between.  @list is list_groups or members.
 */
static int list_all(int fd, uint32_t group_id, size_t elem, void **out, unsigned int *n,
		    int (*list)(int, uint32_t, void *, uint32_t *))
{
	void *buf = NULL;
	uint32_t cap = 0;

	for (int tries = 0; tries < 8; tries++) {
		uint32_t count = cap;
		int err = list(fd, group_id, buf, &count);

		if (err && err != -ENOSPC) {
			free(buf);
			return err;
		}
		if (!err && (cap > 0 || count == 0)) {
			*out = buf;
			*n = count;
			return 0;
		}
		free(buf);
		cap = count + 4;
		buf = calloc(cap, elem);
		if (!buf)
			return -ENOMEM;
	}
	free(buf);
	return -EAGAIN;
}

static int groups_cb(int fd, uint32_t group_id, void *buf, uint32_t *count)
{
	(void)group_id;
	return hsmg_client_list_groups(fd, buf, count);
}

int hsmg_client_groups(int fd, struct hsmg_group_info **groups, unsigned int *n)
{
	void *p = NULL;
	int err = list_all(fd, 0, sizeof(**groups), &p, n, groups_cb);

	*groups = p;
	return err;
}

int hsmg_client_first_group(int fd, uint32_t *group_id)
{
	struct hsmg_group_info *g;
	unsigned int n;
	int err = hsmg_client_groups(fd, &g, &n);

	if (err)
		return err;
	if (n)
		*group_id = g[0].group_id;
	free(g);
	return n ? 0 : -ENOENT;
}

int hsmg_client_members(int fd, uint32_t group_id, struct hsmg_member_info **members,
			unsigned int *n)
{
	void *p = NULL;
	int err = list_all(fd, group_id, sizeof(**members), &p, n, list_members);

	*members = p;
	return err;
}

int hsmg_client_session_open(int fd, uint32_t group_id, uint32_t flags, uint32_t *session_id)
{
	struct hsmg_session_open so = {.argsz = sizeof(so), .flags = flags, .group_id = group_id};
	int err = xioctl(fd, HSMG_IOC_SESSION_OPEN, &so);

	if (!err)
		*session_id = so.session_id;
	return err;
}

int hsmg_client_session_close(int fd, uint32_t session_id)
{
	struct hsmg_session_close sc = {.argsz = sizeof(sc), .session_id = session_id};

	return xioctl(fd, HSMG_IOC_SESSION_CLOSE, &sc);
}

int hsmg_client_login(int fd, uint32_t session_id, uint32_t flags,
		      const struct hsmg_client_creds *cr, uint32_t *members)
{
	struct hsmg_login lg = {
	    .argsz = sizeof(lg),
	    .flags = flags,
	    .session_id = session_id,
	    .pin_len = cr->pin_len,
	    .pin = (uintptr_t)cr->pin,
	    .cardpin_len = cr->cardpin_len,
	    .cardpin = (uintptr_t)cr->cardpin,
	    .record_len = cr->record_len,
	    .record = (uintptr_t)cr->record,
	};
	int err = xioctl(fd, HSMG_IOC_LOGIN, &lg);

	if (!err && members)
		*members = lg.members;
	explicit_bzero(&lg, sizeof(lg));
	return err;
}

int hsmg_client_logout(int fd, uint32_t session_id)
{
	struct hsmg_logout lo = {.argsz = sizeof(lo), .session_id = session_id};

	return xioctl(fd, HSMG_IOC_LOGOUT, &lo);
}

int hsmg_client_submit(int fd, struct hsmg_client_req *r)
{
	struct hsmg_submit s = {
	    .argsz = sizeof(s),
	    .flags = r->flags,
	    .group_id = r->group_id,
	    .session_id = r->session_id,
	    .op_class = r->op_class,
	    .weight = r->weight,
	    .timeout_ms = r->timeout_ms,
	    .req_len = r->req_len,
	    .req = (uintptr_t)r->req,
	    .resp_len = r->resp_cap,
	    .resp = (uintptr_t)r->resp,
	};
	int err = xioctl(fd, HSMG_IOC_SUBMIT, &s);

	r->resp_len = s.resp_len;
	r->member = s.member;
	r->attempts = s.attempts;
	return err;
}

void hsmg_client_events_init(struct hsmg_client_events *ev, const char *device, bool has_events)
{
	ev->device = device ? device : HSMG_CLIENT_DEVICE;
	ev->fd = -1;
	ev->state = has_events ? EV_UNKNOWN : EV_UNSUPPORTED;
}

/* The event file, opened at the first call; -errno. */
static int events_fd(struct hsmg_client_events *ev)
{
	int fd = __atomic_load_n(&ev->fd, __ATOMIC_ACQUIRE), expect = -1;

	if (fd >= 0)
		return fd;
	fd = open(ev->device, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Another thread was faster: use its file. */
	if (!__atomic_compare_exchange_n(&ev->fd, &expect, fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expect;
	}
	return fd;
}

/* Read the event sequence until nothing is new: 1 if something was. */
static int events_drain(struct hsmg_client_events *ev, int fd)
{
	uint64_t seq;
	ssize_t n;
	int got = 0;

	for (;;) {
		n = read(fd, &seq, sizeof(seq));
		if (n == sizeof(seq)) {
			got = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EINVAL) {
			/* A kernel without read on the client device. */
			__atomic_store_n(&ev->state, EV_UNSUPPORTED, __ATOMIC_RELEASE);
			return -EOPNOTSUPP;
		}
		return n < 0 ? -errno : -EIO;
	}
	__atomic_store_n(&ev->state, EV_SUPPORTED, __ATOMIC_RELEASE);
	return got;
}

int hsmg_client_events_wait(struct hsmg_client_events *ev, int wake_fd, int timeout_ms)
{
	struct pollfd p[2];
	int fd;

	if (__atomic_load_n(&ev->state, __ATOMIC_ACQUIRE) == EV_UNSUPPORTED)
		return -EOPNOTSUPP;
	fd = events_fd(ev);
	if (fd < 0)
		return fd;
	if (timeout_ms) {
		p[0] = (struct pollfd){.fd = fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
			return -errno;
	}
	/* What another waiter read first is no longer here: 0 then. */
	return events_drain(ev, fd);
}

void hsmg_client_events_close(struct hsmg_client_events *ev)
{
	int fd = __atomic_exchange_n(&ev->fd, -1, __ATOMIC_ACQ_REL);

	if (fd >= 0)
		close(fd);
}

const char *hsmg_client_state_name(uint32_t state)
{
	static const char *const names[] = {
	    [HSMG_QS_ONLINE] = "online",     [HSMG_QS_SUSPECT] = "suspect",
	    [HSMG_QS_OFFLINE] = "offline",   [HSMG_QS_RECOVERING] = "recovering",
	    [HSMG_QS_DRAINING] = "draining", [HSMG_QS_STANDBY] = "standby",
	    [HSMG_QS_DISABLED] = "disabled", [HSMG_QS_MISMATCH] = "mismatch",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "unknown";
}
