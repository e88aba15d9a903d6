// SPDX-License-Identifier: GPL-2.0
/*
 * HSMG_IOC_GET_INFO, plus what every call shares: the argsz rules
 * (copy_struct_from_user), unknown ioctls, bad pointers.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "fixture.h"

FIXTURE(info)
{
	int cfd;
	struct hsmg_info info;
};

FIXTURE_SETUP(info)
{
	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	memset(&self->info, 0, sizeof(self->info));
	self->info.argsz = sizeof(self->info);
}

FIXTURE_TEARDOWN(info)
{
	if (self->cfd >= 0)
		close(self->cfd);
}

TEST_F(info, good)
{
	struct hsmg_info *i = &self->info;

	memset(i, 0xff, sizeof(*i));
	i->argsz = sizeof(*i);
	i->flags = 0;
	memset(i->reserved, 0, sizeof(i->reserved));
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, i);
	EXPECT_EQ(sizeof(*i), i->argsz);
	EXPECT_EQ(0, i->flags);
	EXPECT_EQ(HSMG_ABI_VERSION, i->abi_version);
	EXPECT_EQ(HSMG_MAX_MSG_SIZE, i->max_msg_size);
	EXPECT_EQ(HSMG_MAX_BATCH, i->max_batch);
	EXPECT_EQ(HSMG_MAX_SESSIONS, i->max_sessions);
	EXPECT_EQ(HSMG_MAX_PIN_LEN, i->max_pin_len);
	EXPECT_EQ(HSMG_FEAT_STRICT | HSMG_FEAT_VHSM | HSMG_FEAT_FAILOVER | HSMG_FEAT_EVENTS |
		      HSMG_FEAT_COMPLETE_FETCH,
		  i->features);
	EXPECT_EQ(0, i->reserved[0]);
	EXPECT_EQ(0, i->reserved[1]);
	EXPECT_EQ(0, i->reserved[2]);
	EXPECT_EQ(0, i->reserved[3]);
}

TEST(abi_sizes)
{
	/* The V1 sizes are the ABI; the structs must not drift. */
	EXPECT_EQ(HSMG_INFO_SIZE_V1, sizeof(struct hsmg_info));
	EXPECT_EQ(HSMG_GROUP_LIST_SIZE_V1, sizeof(struct hsmg_group_list));
	EXPECT_EQ(HSMG_GROUP_INFO_SIZE_V1, sizeof(struct hsmg_group_info));
	EXPECT_EQ(HSMG_MEMBER_LIST_SIZE_V1, sizeof(struct hsmg_member_list));
	EXPECT_EQ(HSMG_MEMBER_INFO_SIZE_V1, sizeof(struct hsmg_member_info));
	EXPECT_EQ(HSMG_SESSION_OPEN_SIZE_V1, sizeof(struct hsmg_session_open));
	EXPECT_EQ(HSMG_SESSION_CLOSE_SIZE_V1, sizeof(struct hsmg_session_close));
	EXPECT_EQ(HSMG_LOGIN_SIZE_V1, sizeof(struct hsmg_login));
	EXPECT_EQ(HSMG_LOGOUT_SIZE_V1, sizeof(struct hsmg_logout));
	EXPECT_EQ(HSMG_SUBMIT_SIZE_V1, sizeof(struct hsmg_submit));
	EXPECT_EQ(HSMG_BE_ATTACH_SIZE_V1, sizeof(struct hsmg_be_attach));
	EXPECT_EQ(HSMG_BE_REQ_SIZE, sizeof(struct hsmg_be_req));
	EXPECT_EQ(HSMG_BE_FETCH_SIZE_V1, sizeof(struct hsmg_be_fetch));
	EXPECT_EQ(HSMG_BE_COMPLETION_SIZE, sizeof(struct hsmg_be_completion));
	EXPECT_EQ(HSMG_BE_COMPLETE_SIZE_V1, sizeof(struct hsmg_be_complete));
}

/* ngroups counts the groups LIST_GROUPS lists, and a new group adds one. */
TEST_F(info, ngroups)
{
	struct hsmg_group_list l = {.argsz = sizeof(l),
				    .elem_size = sizeof(struct hsmg_group_info)};
	struct tgroup g;
	uint32_t before;

	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, &self->info);
	before = self->info.ngroups;
	ASSERT_OK(tgroup_create(&g, 1, 0));
	self->info.argsz = sizeof(self->info);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, &self->info);
	EXPECT_EQ(before + 1, self->info.ngroups);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	EXPECT_EQ(self->info.ngroups, l.count);
	tgroup_destroy(&g);
}

TEST_F(info, argsz_too_small)
{
	self->info.argsz = HSMG_INFO_SIZE_V1 - 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_GET_INFO, &self->info);
	self->info.argsz = 0;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_GET_INFO, &self->info);
	self->info.argsz = 8;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_GET_INFO, &self->info);
}

/* A newer userspace's larger struct: fine while the tail is zero. */
TEST_F(info, argsz_larger_zero_tail)
{
	struct {
		struct hsmg_info info;
		uint8_t tail[64];
	} big;

	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, &big);
	EXPECT_EQ(HSMG_ABI_VERSION, big.info.abi_version);
	EXPECT_EQ(HSMG_MAX_MSG_SIZE, big.info.max_msg_size);
}

TEST_F(info, argsz_larger_nonzero_tail)
{
	struct {
		struct hsmg_info info;
		uint8_t tail[64];
	} big;

	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.tail[63] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_GET_INFO, &big);
	big.tail[63] = 0;
	big.tail[0] = 0x80;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_GET_INFO, &big);
}

/* Exactly one page is the largest argsz; all of it zero tail is accepted. */
TEST_F(info, argsz_max)
{
	static uint8_t page[HSMG_MAX_ARGSZ + 8] __attribute__((aligned(8)));
	struct hsmg_info *i = (void *)page;

	memset(page, 0, sizeof(page));
	i->argsz = HSMG_MAX_ARGSZ;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, i);
	EXPECT_EQ(HSMG_ABI_VERSION, i->abi_version);
	i->argsz = HSMG_MAX_ARGSZ + 8;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_GET_INFO, i);
	i->argsz = 0xffffffff;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_GET_INFO, i);
}

TEST_F(info, flags)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		self->info.flags = 1U << bit;
		ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_GET_INFO, &self->info);
	}
}

TEST_F(info, reserved)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		memset(self->info.reserved, 0, sizeof(self->info.reserved));
		self->info.reserved[i] = 1ULL << (i * 16);
		ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_GET_INFO, &self->info);
	}
}

/* Output-only fields given garbage on input are ignored. */
TEST_F(info, out_fields_ignored_on_input)
{
	self->info.abi_version = 77;
	self->info.ngroups = 12345;
	self->info.features = ~0ULL;
	self->info.max_msg_size = 1;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, &self->info);
	EXPECT_EQ(HSMG_ABI_VERSION, self->info.abi_version);
}

/* Check order: size before flags before reserved. */
TEST_F(info, check_order)
{
	struct {
		struct hsmg_info info;
		uint8_t tail[8];
	} big;

	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.info.flags = 1;
	big.info.reserved[0] = 1;
	big.tail[0] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_GET_INFO, &big);
}

TEST_F(info, efault)
{
	uint8_t *pg = hsmg_guard_page();
	long psz = sysconf(_SC_PAGESIZE);
	struct hsmg_info *i;

	ASSERT_NE(NULL, pg);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_GET_INFO, NULL);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_GET_INFO, (void *)8);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_GET_INFO, pg + psz);
	/* The struct straddles into the PROT_NONE page. */
	i = (void *)(pg + psz - 16);
	i->argsz = sizeof(*i);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_GET_INFO, i);
	/* A V1 struct ending at the boundary is fine ... */
	i = (void *)(pg + psz - sizeof(*i));
	memset(i, 0, sizeof(*i));
	i->argsz = sizeof(*i);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, i);
	/* ... but an argsz claiming bytes past it is not. */
	i->argsz = sizeof(*i) + 8;
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_GET_INFO, i);
	hsmg_guard_page_free(pg);
}

/* Unknown ioctls and the backend's ioctls on a client file: -ENOTTY. */
TEST_F(info, unknown_ioctl)
{
	uint8_t buf[256] = {0};

	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, _IOWR(HSMG_IOC_MAGIC, 0x08, struct hsmg_info), buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, _IOWR(HSMG_IOC_MAGIC, 0x3f, struct hsmg_info), buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, _IOWR('T', 0x00, struct hsmg_info), buf);
	/* Same number, other direction/size: a different command. */
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, _IOR(HSMG_IOC_MAGIC, 0x00, struct hsmg_info), buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, _IOWR(HSMG_IOC_MAGIC, 0x00, uint64_t), buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, HSMG_IOC_BE_ATTACH, buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, HSMG_IOC_BE_FETCH, buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, HSMG_IOC_BE_COMPLETE, buf);
	ASSERT_IOCTL_ERR(ENOTTY, self->cfd, HSMG_IOC_BE_DETACH, NULL);
}

/* Several clients at once, each its own file. */
TEST_F(info, many_clients)
{
	int fds[64], i;

	for (i = 0; i < 64; i++) {
		fds[i] = hsmg_open_client();
		ASSERT_LE(0, fds[i]);
		self->info.argsz = sizeof(self->info);
		ASSERT_IOCTL_OK(fds[i], HSMG_IOC_GET_INFO, &self->info);
	}
	for (i = 0; i < 64; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
