// SPDX-License-Identifier: GPL-2.0
/*
 * transport - the ioctl layer on /dev/hsmgroup (see transport.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "transport.h"

/*
 * @fd: the client: requests.  @ev: its event side (lib/client), opened at
 * the first wait.  @ev_warned: the event file could not be opened (said
 * once).  @ev_said: the kernel has no events (said once).
 */
struct shim_transport {
	int fd;
	struct hsmg_client_events ev;
	bool ev_warned;
	bool ev_said;
	char *device;
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

static int io_open(const char *device, struct shim_transport **out)
{
	struct shim_transport *t = calloc(1, sizeof(*t));
	struct hsmg_info info;

	if (!t)
		return -ENOMEM;
	t->device = strdup(device);
	if (!t->device) {
		free(t);
		return -ENOMEM;
	}
	t->fd = hsmg_client_open(device, &info);
	if (t->fd < 0) {
		int err = t->fd;

		if (err == -EPROTO)
			shim_err("%s: kernel ABI %u, this module speaks %u", device,
				 info.abi_version, HSMG_ABI_VERSION);
		else if (err != -ENOENT && err != -EACCES)
			shim_err("%s: cannot use the device (%d)", device, err);
		free(t->device);
		free(t);
		return err;
	}
	hsmg_client_events_init(&t->ev, t->device, info.features & HSMG_FEAT_EVENTS);
	*out = t;
	return 0;
}

static void io_close(struct shim_transport *t)
{
	if (!t)
		return;
	hsmg_client_events_close(&t->ev);
	if (t->fd >= 0)
		close(t->fd);
	free(t->device);
	free(t);
}

static int io_list_groups(struct shim_transport *t, struct hsmg_group_info *groups, uint32_t *count)
{
	return hsmg_client_list_groups(t->fd, groups, count);
}

static int io_session_open(struct shim_transport *t, uint32_t group_id, uint32_t flags,
			   uint32_t *session_id)
{
	return hsmg_client_session_open(t->fd, group_id, flags, session_id);
}

static int io_session_close(struct shim_transport *t, uint32_t session_id)
{
	return hsmg_client_session_close(t->fd, session_id);
}

static int io_login(struct shim_transport *t, uint32_t session_id, uint32_t flags,
		    const struct hsmg_client_creds *cr)
{
	return hsmg_client_login(t->fd, session_id, flags, cr, NULL);
}

static int io_logout(struct shim_transport *t, uint32_t session_id)
{
	return hsmg_client_logout(t->fd, session_id);
}

static int io_submit(struct shim_transport *t, uint32_t group_id, uint32_t session_id,
		     uint32_t op_class, uint32_t flags, uint32_t timeout_ms, const void *req,
		     uint32_t req_len, void *resp, uint32_t *resp_len)
{
	struct hsmg_client_req r = {
	    .group_id = group_id,
	    .session_id = session_id,
	    .op_class = op_class,
	    .flags = flags,
	    .timeout_ms = timeout_ms,
	    .req = req,
	    .req_len = req_len,
	    .resp = resp,
	    .resp_cap = *resp_len,
	};
	int err = hsmg_client_submit(t->fd, &r);

	if (!err || err == -ENOSPC)
		*resp_len = r.resp_len;
	return err;
}

static int io_wait_event(struct shim_transport *t, int wake_fd, int timeout_ms)
{
	int err = hsmg_client_events_wait(&t->ev, wake_fd, timeout_ms);

	/* Tried again at the next wait; said once. */
	if (err < 0 && err != -EOPNOTSUPP &&
	    !__atomic_exchange_n(&t->ev_warned, true, __ATOMIC_RELAXED))
		shim_warn("%s: cannot wait for events: %s; polling", t->device, strerror(-err));
	if (err == -EOPNOTSUPP && !__atomic_exchange_n(&t->ev_said, true, __ATOMIC_RELAXED))
		shim_info("kernel reports no events; slot events are polled");
	return err;
}

static void io_forked(struct shim_transport *t)
{
	/* The parent's files stay open: closing our copies ends nothing.  -1
	 * so that abandon() does not close a number the child reused. */
	hsmg_client_events_close(&t->ev);
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
