/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin wrappers around the /dev/hsmgroup client ioctls, shared by the
 * failover and session test programs.  Every function returns 0 or -errno.
 */
#ifndef HSMG_TEST_DEV_H
#define HSMG_TEST_DEV_H

#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>

int hsmg_dev_open(void);
int hsmg_dev_list_groups(int fd, struct hsmg_group_info **groups, unsigned int *n);
int hsmg_dev_first_group(int fd, uint32_t *group_id);
int hsmg_dev_list_members(int fd, uint32_t group_id, struct hsmg_member_info **members,
			  unsigned int *n);
int hsmg_dev_session_open(int fd, uint32_t group_id, uint32_t flags, uint32_t *session_id);
int hsmg_dev_session_close(int fd, uint32_t session_id);
int hsmg_dev_login(int fd, uint32_t session_id, const char *pin, uint32_t *members);
int hsmg_dev_logout(int fd, uint32_t session_id);

/**
 * struct hsmg_dev_result - what a submit reported besides the response.
 * @resp_len: response length.
 * @member: queue id that answered.
 * @attempts: members the request was sent to.
 */
struct hsmg_dev_result {
	uint32_t resp_len;
	uint32_t member;
	uint32_t attempts;
};

int hsmg_dev_submit(int fd, uint32_t group_id, uint32_t session_id, uint32_t op_class,
		    const void *req, size_t req_len, void *resp, size_t resp_cap,
		    struct hsmg_dev_result *res);

const char *hsmg_dev_state_name(uint32_t state);

#endif /* HSMG_TEST_DEV_H */
