// SPDX-License-Identifier: GPL-2.0
/*
 * transport - the ioctl layer on /dev/hsmgroup (see transport.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

struct shim_transport {
	int fd;
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
	t->fd = open(device, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		err = -errno;
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
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

static void io_close(struct shim_transport *t)
{
	if (!t)
		return;
	close(t->fd);
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

static void io_abandon(struct shim_transport *t)
{
	/* The parent's file stays open: closing our copy ends nothing. */
	io_close(t);
}

const struct shim_transport_ops shim_ioctl_transport = {
    .open = io_open,
    .close = io_close,
    .abandon = io_abandon,
    .list_groups = io_list_groups,
    .session_open = io_session_open,
    .session_close = io_session_close,
    .login = io_login,
    .logout = io_logout,
    .submit = io_submit,
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
