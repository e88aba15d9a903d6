// SPDX-License-Identifier: GPL-2.0
/*
 * transport - the ioctl layer on /dev/hsmgroup (see transport.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

/*
 * @fd: the client: requests.  @ev_fd: a second open file of the device,
 * O_NONBLOCK, only read and polled for events (HSMG_FEAT_EVENTS), opened
 * at the first wait so that a process that never waits has one file; -1
 * until then.  @ev_state: EV_* (atomic, like @ev_fd).
 */
struct shim_transport {
	int fd;
	int ev_fd;
	int ev_state;
	bool ev_warned;
	char *device;
};

enum {
	EV_UNKNOWN,	/* not tried yet */
	EV_SUPPORTED,	/* the kernel has events */
	EV_UNSUPPORTED, /* it has not (read gave EINVAL or no feature bit) */
};

static const struct shim_transport_ops *override_ops;

void shim_transport_override(const struct shim_transport_ops *ops)
{
	override_ops = ops;
}

const struct shim_transport_ops *shim_transport_ops(void)
{
	return override_ops ? override_ops : &shim_ioctl_transport;
}

static int xioctl(struct shim_transport *t, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(t->fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int io_open(const char *device, struct shim_transport **out)
{
	struct shim_transport *t = calloc(1, sizeof(*t));
	struct hsmg_info info = {.argsz = sizeof(info)};
	int err;

	if (!t)
		return -ENOMEM;
	t->ev_fd = -1;
	t->device = strdup(device);
	if (!t->device) {
		free(t);
		return -ENOMEM;
	}
	t->fd = open(device, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		err = -errno;
		free(t->device);
		free(t);
		return err;
	}
	err = xioctl(t, HSMG_IOC_GET_INFO, &info);
	if (!err && info.abi_version != HSMG_ABI_VERSION)
		err = -EPROTO;
	if (err) {
		shim_err("%s: GET_INFO failed (%d) or ABI %u != %u", device, err, info.abi_version,
			 HSMG_ABI_VERSION);
		close(t->fd);
		free(t->device);
		free(t);
		return err;
	}
	t->ev_state = info.features & HSMG_FEAT_EVENTS ? EV_UNKNOWN : EV_UNSUPPORTED;
	*out = t;
	return 0;
}

static void io_close(struct shim_transport *t)
{
	if (!t)
		return;
	if (t->ev_fd >= 0)
		close(t->ev_fd);
	if (t->fd >= 0)
		close(t->fd);
	free(t->device);
	free(t);
}

static int io_list_groups(struct shim_transport *t, struct hsmg_group_info *groups, uint32_t *count)
{
	struct hsmg_group_list gl = {
	    .argsz = sizeof(gl),
	    .count = *count,
	    .elem_size = sizeof(*groups),
	    .groups = (uintptr_t)groups,
	};
	int err = xioctl(t, HSMG_IOC_LIST_GROUPS, &gl);

	if (!err || err == -ENOSPC)
		*count = gl.count;
	return err;
}

static int io_session_open(struct shim_transport *t, uint32_t group_id, uint32_t flags,
			   uint32_t *session_id)
{
	struct hsmg_session_open so = {.argsz = sizeof(so), .flags = flags, .group_id = group_id};
	int err = xioctl(t, HSMG_IOC_SESSION_OPEN, &so);

	if (!err)
		*session_id = so.session_id;
	return err;
}

static int io_session_close(struct shim_transport *t, uint32_t session_id)
{
	struct hsmg_session_close sc = {.argsz = sizeof(sc), .session_id = session_id};

	return xioctl(t, HSMG_IOC_SESSION_CLOSE, &sc);
}

static int io_login(struct shim_transport *t, uint32_t session_id, uint32_t flags, const void *pin,
		    uint32_t pin_len, const void *cardpin, uint32_t cardpin_len)
{
	struct hsmg_login lg = {
	    .argsz = sizeof(lg),
	    .flags = flags,
	    .session_id = session_id,
	    .pin_len = pin_len,
	    .pin = (uintptr_t)pin,
	    .cardpin_len = cardpin_len,
	    .cardpin = (uintptr_t)cardpin,
	};
	int err = xioctl(t, HSMG_IOC_LOGIN, &lg);

	explicit_bzero(&lg, sizeof(lg));
	return err;
}

static int io_logout(struct shim_transport *t, uint32_t session_id)
{
	struct hsmg_logout lo = {.argsz = sizeof(lo), .session_id = session_id};

	return xioctl(t, HSMG_IOC_LOGOUT, &lo);
}

static int io_submit(struct shim_transport *t, uint32_t group_id, uint32_t session_id,
		     uint32_t op_class, uint32_t flags, uint32_t timeout_ms, const void *req,
		     uint32_t req_len, void *resp, uint32_t *resp_len)
{
	struct hsmg_submit s = {
	    .argsz = sizeof(s),
	    .flags = flags,
	    .group_id = group_id,
	    .session_id = session_id,
	    .op_class = op_class,
	    .timeout_ms = timeout_ms,
	    .req_len = req_len,
	    .req = (uintptr_t)req,
	    .resp_len = *resp_len,
	    .resp = (uintptr_t)resp,
	};
	int err = xioctl(t, HSMG_IOC_SUBMIT, &s);

	if (!err || err == -ENOSPC)
		*resp_len = s.resp_len;
	return err;
}

/* The event descriptor, opened at the first call; -errno. */
static int ev_fd(struct shim_transport *t)
{
	int fd = __atomic_load_n(&t->ev_fd, __ATOMIC_ACQUIRE), expect = -1;

	if (fd >= 0)
		return fd;
	fd = open(t->device, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		/* Tried again at the next wait; said once. */
		if (!__atomic_exchange_n(&t->ev_warned, true, __ATOMIC_RELAXED))
			shim_warn("%s: cannot open for events: %s; polling", t->device,
				  strerror(-fd));
		return fd;
	}
	/* Another thread was faster: use its descriptor. */
	if (!__atomic_compare_exchange_n(&t->ev_fd, &expect, fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expect;
	}
	return fd;
}

/* Read the event sequence until nothing is new: 1 if something was. */
static int ev_drain(struct shim_transport *t, int fd)
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
			__atomic_store_n(&t->ev_state, EV_UNSUPPORTED, __ATOMIC_RELEASE);
			shim_info("kernel reports no events; slot events are polled");
			return -EOPNOTSUPP;
		}
		return n < 0 ? -errno : -EIO;
	}
	__atomic_store_n(&t->ev_state, EV_SUPPORTED, __ATOMIC_RELEASE);
	return got;
}

static int io_wait_event(struct shim_transport *t, int wake_fd, int timeout_ms)
{
	struct pollfd p[2];
	int fd;

	if (__atomic_load_n(&t->ev_state, __ATOMIC_ACQUIRE) == EV_UNSUPPORTED)
		return -EOPNOTSUPP;
	fd = ev_fd(t);
	if (fd < 0)
		return fd;
	if (timeout_ms) {
		p[0] = (struct pollfd){.fd = fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
			return -errno;
	}
	/* What another waiter read first is no longer here: 0 then. */
	return ev_drain(t, fd);
}

static void io_forked(struct shim_transport *t)
{
	/* The parent's files stay open: closing our copies ends nothing.  -1
	 * so that abandon() does not close a number the child reused. */
	if (t->ev_fd >= 0)
		close(t->ev_fd);
	t->ev_fd = -1;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void io_abandon(struct shim_transport *t)
{
	/* Closes what io_forked() did not (a child made without fork(3)). */
	io_close(t);
}

const struct shim_transport_ops shim_ioctl_transport = {
    .open = io_open,
    .close = io_close,
    .abandon = io_abandon,
    .forked = io_forked,
    .list_groups = io_list_groups,
    .session_open = io_session_open,
    .session_close = io_session_close,
    .login = io_login,
    .logout = io_logout,
    .submit = io_submit,
    .wait_event = io_wait_event,
};

CK_RV shim_errno_to_ckr(int err)
{
	switch (-err) {
	case 0:
		return CKR_OK;
	case ENOMEM:
		return CKR_HOST_MEMORY;
	case ENODEV:
	case ETIMEDOUT:
	case EIO:
	case EPROTO:
	case EKEYREJECTED:
		return CKR_DEVICE_ERROR;
	case ENOENT:
		return CKR_DEVICE_REMOVED;
	case EMFILE:
	case EDQUOT:
		return CKR_SESSION_COUNT;
	case EKEYREVOKED: /* an administrator ended the session (hsmgroupctl) */
		return CKR_SESSION_CLOSED;
	case EINTR:
		return CKR_FUNCTION_CANCELED;
	case EACCES:
	case EPERM:
		return CKR_DEVICE_ERROR;
	default:
		return CKR_GENERAL_ERROR;
	}
}
