// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroup - many HSM coprocessor queues as one highly available group.
 * Registration and module parameters only; the concepts live in their files.
 */
#include "main.h"

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "backend.h"
#include "client.h"
#include "event.h"
#include "group.h"
#include "netlink.h"
#include "provider.h"
#include "queue.h"
#include "request.h"
#include "session.h"
#include "sysfs.h"

unsigned int hsmg_suspect_threshold = 3;
module_param_named(suspect_threshold, hsmg_suspect_threshold, uint, 0644);
MODULE_PARM_DESC(suspect_threshold,
		 "consecutive failed attempts before a queue is suspect (3)");

unsigned int hsmg_recovery_interval_ms = 200;
module_param_named(recovery_interval_ms, hsmg_recovery_interval_ms, uint, 0644);
MODULE_PARM_DESC(recovery_interval_ms, "first recovery probe after (200 ms)");

unsigned int hsmg_recovery_backoff_max_ms = 10000;
module_param_named(recovery_backoff_max_ms, hsmg_recovery_backoff_max_ms, uint,
		   0644);
MODULE_PARM_DESC(recovery_backoff_max_ms,
		 "longest interval between recovery probes (10000 ms)");

unsigned int hsmg_recovery_retries;
module_param_named(recovery_retries, hsmg_recovery_retries, uint, 0644);
MODULE_PARM_DESC(recovery_retries,
		 "failed probes before probing stops, 0 = never stop (0)");

unsigned int hsmg_max_attempts = 8;
module_param_named(max_attempts, hsmg_max_attempts, uint, 0644);
MODULE_PARM_DESC(max_attempts, "attempts per request before -EIO (8)");

unsigned int hsmg_hold_time_ms = 10000;
module_param_named(hold_time_ms, hsmg_hold_time_ms, uint, 0644);
MODULE_PARM_DESC(hold_time_ms,
		 "how long a request waits for a member to come online (10000 ms)");

unsigned int hsmg_default_timeout_ms = 60000;
module_param_named(default_timeout_ms, hsmg_default_timeout_ms, uint, 0644);
MODULE_PARM_DESC(default_timeout_ms, "client deadline by default (60000 ms)");

unsigned int hsmg_request_timeout_ms = 5000;
module_param_named(request_timeout_ms, hsmg_request_timeout_ms, uint, 0644);
MODULE_PARM_DESC(request_timeout_ms, "deadline of one attempt (5000 ms)");

unsigned int hsmg_keygen_timeout_ms = 120000;
module_param_named(keygen_timeout_ms, hsmg_keygen_timeout_ms, uint, 0644);
MODULE_PARM_DESC(keygen_timeout_ms,
		 "deadline of one key generation attempt (120000 ms)");

unsigned int hsmg_client_inflight_cap = 32;
module_param_named(client_inflight_cap, hsmg_client_inflight_cap, uint, 0644);
MODULE_PARM_DESC(client_inflight_cap,
		 "most requests of one client assigned to queues at once (32)");

unsigned int hsmg_busy_poll_us = 200;
module_param_named(busy_poll_us, hsmg_busy_poll_us, uint, 0644);
MODULE_PARM_DESC(busy_poll_us,
		 "spin this long for a fast card's answer (a group's only request) or a card worker's next request (a group with fewer requests than CPUs) before sleeping, while the CPU has nothing else to run; 0 = always sleep (200 us)");

/*
 * Init in order, unwind in exact reverse order: hsmg_exit() is the ladder
 * below run from its top.  The groups, member records and queue ids that
 * providers created while the devices were registered go with the backend
 * stage: once no provider and no client is left, no event can be produced,
 * so the queued ones are sent before the groups (and their sysfs devices),
 * the netlink family and the sysfs class go.  The last step of each path
 * checks that no request or session leaked.
 */
static int __init hsmg_init(void)
{
	int ret;

	hsmg_session_init();
	ret = hsmg_sysfs_init();
	if (ret)
		goto err_sysfs;
	ret = hsmg_netlink_init();
	if (ret)
		goto err_netlink;
	ret = hsmg_backend_init();
	if (ret)
		goto err_backend;
	ret = hsmg_client_init();
	if (ret)
		goto err_client;
	pr_info("ABI %u loaded\n", HSMG_ABI_VERSION);
	return 0;

err_client:
	hsmg_backend_exit();
err_backend:
	hsmg_provider_exit();
	hsmg_event_flush();
	hsmg_groups_exit();
	hsmg_netlink_exit();
err_netlink:
	hsmg_sysfs_exit();
err_sysfs:
	hsmg_request_exit();
	hsmg_session_exit();
	return ret;
}

static void __exit hsmg_exit(void)
{
	hsmg_client_exit();
	hsmg_backend_exit();
	hsmg_provider_exit();
	hsmg_event_flush();
	hsmg_groups_exit();
	hsmg_netlink_exit();
	hsmg_sysfs_exit();
	hsmg_request_exit();
	hsmg_session_exit();
}

module_init(hsmg_init);
module_exit(hsmg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Many HSM coprocessor queues as one highly available group");
MODULE_AUTHOR("hsmgroup project");
