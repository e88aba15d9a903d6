// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload while clients or backends exist: refused (the devices hold a
 * reference on the module), never an oops; the module keeps working after.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "fixture.h"

static int try_unload(void)
{
	/* O_NONBLOCK: fail at once instead of waiting for the last reference. */
	return syscall(SYS_delete_module, "hsmgroup", O_NONBLOCK);
}

TEST(unload_with_client_open)
{
	struct hsmg_info info = {.argsz = sizeof(info)};
	int cfd;

	HSMG_REQUIRE_DEVICES();
	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);
	ASSERT_EQ(-1, try_unload());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	/* The client still works. */
	ASSERT_EQ(0, hsmg_ioctl(cfd, HSMG_IOC_GET_INFO, &info));
	EXPECT_EQ(HSMG_ABI_VERSION, info.abi_version);
	close(cfd);
}

TEST(unload_with_attached_queue_and_session)
{
	struct hsmg_session_open so = {.argsz = sizeof(so)};
	struct hsmg_login li = {.argsz = sizeof(li)};
	uint8_t mkvp[HSMG_MKVP_LEN];
	char pin[] = "12345678";
	struct tq q;
	int cfd;

	HSMG_REQUIRE_DEVICES();
	tq_init(&q);
	hsmg_random_mkvp(mkvp);
	ASSERT_EQ(0, tq_attach(&q, mkvp, 0, 0, 0));
	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);
	so.group_id = q.group_id;
	ASSERT_EQ(0, hsmg_ioctl(cfd, HSMG_IOC_SESSION_OPEN, &so));
	li.session_id = so.session_id;
	li.pin = (uintptr_t)pin;
	li.pin_len = strlen(pin);
	ASSERT_EQ(0, hsmg_ioctl(cfd, HSMG_IOC_LOGIN, &li));

	ASSERT_EQ(-1, try_unload());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	close(cfd);
	/* Still refused while the backend file is open. */
	ASSERT_EQ(-1, try_unload());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	/* The client's release logged the session out on the queue. */
	EXPECT_EQ(0, tq_wait_count(&q, HSMG_BE_REQ_LOGOUT, 1, 5000));
	tq_destroy(&q);
}

TEST_HARNESS_MAIN
