// SPDX-License-Identifier: GPL-2.0
/*
 * High availability: flap damping (a member that fails again soon after it
 * rejoined waits longer before its next rejoin, visibly in sysfs), a card
 * whose master key changes at run time (HSMG_IOC_BE_SET_MKVP: held in
 * mismatch, back by itself with its sessions logged in once the key is
 * restored), and the hold time and offline time a group reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN "87654321"

FIXTURE(ha)
{
	int cfd;
	struct tgroup g;
};

FIXTURE_SETUP(ha)
{
	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
}

FIXTURE_TEARDOWN(ha)
{
	if (self->cfd >= 0)
		close(self->cfd);
	tgroup_destroy(&self->g);
	hsmg_params_restore();
}

/* A queue attribute from /sys/class/hsmgroup/AA.DDDD/@name; -1 if missing. */
static long q_attr(const struct tq *q, const char *name)
{
	char dev[16];

	snprintf(dev, sizeof(dev), "%02x.%04x", q->adapter, q->domain);
	return hsmg_sysfs_attr(dev, name);
}

/* Submit NULL requests until @q answered one (at most @n tries). */
static int served_by(int cfd, struct tgroup *g, struct tq *q, uint32_t sid, unsigned int n)
{
	uint8_t req[16] = "ha", resp[16];
	struct hsmg_submit out;
	uint32_t rlen;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		rlen = sizeof(resp);
		ret = hsmg_submit(cfd, g->group_id, sid, 0, HSMG_OP_SIGN, req, sizeof(req), resp,
				  &rlen, &out);
		if (ret)
			return ret;
		if (out.member == q->queue_id)
			return 0;
	}
	return -ENOENT;
}

/*
 * A member that detaches again and again soon after each rejoin is damped:
 * from the second failure on it rejoins as suspect and waits, each time
 * longer (recovery_interval_ms doubling up to recovery_backoff_max_ms), then
 * serves again; once it stayed online for the stable time it is forgiven.
 */
TEST_F_TIMEOUT(ha, flap_damping, 90)
{
	struct tq *q = self->g.q[1];
	long flaps, damp, last_damp = 0;
	uint64_t t0;
	int i;

	if (q_attr(q, "flaps") < 0)
		HSMG_SKIP("no flaps attribute in sysfs");
	ASSERT_OK(hsmg_param_set("recovery_interval_ms", 100));
	ASSERT_OK(hsmg_param_set("recovery_backoff_max_ms", 3000));
	EXPECT_EQ(0, q_attr(q, "flaps"));
	EXPECT_EQ(0, q_attr(q, "damp_ms"));

	for (i = 1; i <= 4; i++) {
		ASSERT_OK(tq_detach(q));
		ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_OFFLINE, 5000));
		t0 = hsmg_now_ms();
		ASSERT_OK(tq_reattach(q, NULL));
		flaps = q_attr(q, "flaps");
		damp = q_attr(q, "damp_ms");
		EXPECT_EQ(i, flaps);
		if (i == 1) {
			/* The first failure rejoins at once. */
			EXPECT_NE(HSMG_QS_SUSPECT, q->state);
			EXPECT_EQ(0, damp);
		} else {
			/* Held back, each time longer. */
			EXPECT_EQ(HSMG_QS_SUSPECT, q->state);
			EXPECT_LT(last_damp, damp);
			EXPECT_GE(3000, damp);
		}
		ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 20000));
		TH_LOG("flap %d: damp_ms %ld, online after %llu ms", i, damp,
		       (unsigned long long)(hsmg_now_ms() - t0));
		EXPECT_EQ(0, q_attr(q, "damped_left_ms"));
		/* It serves again. */
		ASSERT_OK(served_by(self->cfd, &self->g, q, 0, 16));
		last_damp = damp;
	}

	/* Online for the stable time (recovery_backoff_max_ms): forgiven. */
	hsmg_sleep_ms(3300);
	EXPECT_EQ(0, q_attr(q, "flaps"));
	EXPECT_EQ(0, q_attr(q, "damp_ms"));
	ASSERT_OK(tq_detach(q));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_OFFLINE, 5000));
	ASSERT_OK(tq_reattach(q, NULL));
	EXPECT_NE(HSMG_QS_SUSPECT, q->state);
	EXPECT_EQ(1, q_attr(q, "flaps"));
	EXPECT_EQ(0, q_attr(q, "damp_ms"));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
}

/* build/hsmgroupctl next to build/tests/kselftest/, or NULL. */
static const char *ctl_path(void)
{
	static char path[4096];
	char exe[2048], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	snprintf(path, sizeof(path), "%s/../../hsmgroupctl", exe);
	return access(path, X_OK) ? NULL : path;
}

/*
 * A damped member stays suspect for its damping time while the others
 * serve; an administrator's "online" (hsmgroupctl) ends the damping at once.
 */
TEST_F_TIMEOUT(ha, damped_member_waits, 60)
{
	struct hsmg_member_info mi;
	struct tq *q = self->g.q[1];
	const char *ctl = ctl_path();
	char cmd[4200];
	int i;

	if (q_attr(q, "flaps") < 0)
		HSMG_SKIP("no flaps attribute in sysfs");
	if (!ctl)
		HSMG_SKIP("no build/hsmgroupctl (make): the admin's online cannot be tried");
	/* A damping far longer than the test. */
	ASSERT_OK(hsmg_param_set("recovery_backoff_max_ms", 600000));
	ASSERT_OK(hsmg_param_set("recovery_interval_ms", 300000));
	for (i = 0; i < 2; i++) {
		ASSERT_OK(tq_detach(q));
		ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_OFFLINE, 5000));
		ASSERT_OK(tq_reattach(q, NULL));
		if (!i)
			ASSERT_OK(
			    hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	}
	EXPECT_EQ(HSMG_QS_SUSPECT, q->state);
	EXPECT_EQ(2, q_attr(q, "flaps"));
	EXPECT_EQ(300000, q_attr(q, "damp_ms"));
	EXPECT_LT(0, q_attr(q, "damped_left_ms"));
	hsmg_sleep_ms(500);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_SUSPECT, mi.state);
	/* The other member serves meanwhile. */
	ASSERT_OK(served_by(self->cfd, &self->g, self->g.q[0], 0, 4));
	snprintf(cmd, sizeof(cmd), "%s queue set %02x.%04x state online >/dev/null", ctl,
		 q->adapter, q->domain);
	ASSERT_EQ(0, system(cmd));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	EXPECT_EQ(0, q_attr(q, "damped_left_ms"));
	ASSERT_OK(served_by(self->cfd, &self->g, q, 0, 16));
}

static int set_mkvp(int fd, const uint8_t *mkvp, uint32_t *state)
{
	struct hsmg_be_set_mkvp sm = {.argsz = sizeof(sm)};
	int ret;

	if (mkvp)
		memcpy(sm.mkvp, mkvp, HSMG_MKVP_LEN);
	ret = hsmg_ioctl(fd, HSMG_IOC_BE_SET_MKVP, &sm);
	if (!ret && state)
		*state = sm.state;
	return ret;
}

/*
 * A card zeroised at run time is held in mismatch (work goes elsewhere,
 * its logins are ended); with another master key it stays there; once its
 * key is restored it logs the live session in and serves again.
 */
TEST_F_TIMEOUT(ha, mkvp_zeroise_restore, 60)
{
	struct tq *q = self->g.q[1];
	struct hsmg_group_info gi;
	struct hsmg_member_info mi;
	uint8_t other[HSMG_MKVP_LEN];
	uint32_t sid, state;
	uint64_t csid;
	int ret;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	csid = tq_session_of_last_login(self->g.q[0]);
	ASSERT_NE(0, csid);
	ASSERT_TRUE(tq_saw(q, HSMG_BE_REQ_LOGIN, csid));

	ret = set_mkvp(q->fd, NULL, &state);
	if (ret == -ENOTTY)
		HSMG_SKIP("no HSMG_IOC_BE_SET_MKVP");
	ASSERT_OK(ret);
	EXPECT_EQ(HSMG_QS_MISMATCH, state);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_MISMATCH, mi.state);
	{
		static const uint8_t zero[HSMG_MKVP_LEN];

		EXPECT_EQ(0, memcmp(mi.mkvp, zero, HSMG_MKVP_LEN));
	}
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(1, gi.nmismatch);
	EXPECT_EQ(1, gi.nonline);
	/* Its login is ended on the card. */
	ASSERT_OK(tq_wait_count(q, HSMG_BE_REQ_LOGOUT, 1, 5000));
	EXPECT_TRUE(tq_saw(q, HSMG_BE_REQ_LOGOUT, csid));
	/* Work goes to the other member only. */
	tq_clear_log(q);
	ASSERT_ERR(ENOENT, served_by(self->cfd, &self->g, q, sid, 8));
	EXPECT_EQ(0, tq_count(q, HSMG_BE_REQ_CRYPTO));

	/* Another key: still held. */
	hsmg_random_mkvp(other);
	ASSERT_OK(set_mkvp(q->fd, other, &state));
	EXPECT_EQ(HSMG_QS_MISMATCH, state);
	/* The same again changes nothing. */
	ASSERT_OK(set_mkvp(q->fd, other, &state));
	EXPECT_EQ(HSMG_QS_MISMATCH, state);

	/* Restored: the live session is logged in again, then it serves. */
	tq_clear_log(q);
	ASSERT_OK(set_mkvp(q->fd, self->g.mkvp, &state));
	EXPECT_TRUE(state == HSMG_QS_RECOVERING || state == HSMG_QS_ONLINE);
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	EXPECT_TRUE(tq_saw(q, HSMG_BE_REQ_LOGIN, csid));
	ASSERT_OK(served_by(self->cfd, &self->g, q, sid, 16));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.nmismatch);
	EXPECT_EQ(2, gi.nonline);
	/* Setting the group's key on an online queue changes nothing. */
	ASSERT_OK(set_mkvp(q->fd, self->g.mkvp, &state));
	EXPECT_EQ(HSMG_QS_ONLINE, state);
	ASSERT_OK(hsmg_session_close(self->cfd, sid));
}

/* The errnos of HSMG_IOC_BE_SET_MKVP, in the order they are checked. */
TEST_F(ha, set_mkvp_errors)
{
	struct {
		struct hsmg_be_set_mkvp sm;
		uint8_t tail[16];
	} big;
	struct hsmg_be_set_mkvp sm;
	struct tq *q = self->g.q[1];
	int fd, ret;
	uint8_t *p;

	memset(&sm, 0, sizeof(sm));
	sm.argsz = sizeof(sm);
	ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	if (ret == -ENOTTY)
		HSMG_SKIP("no HSMG_IOC_BE_SET_MKVP");
	/* (zeroised: mismatch; put it back) */
	ASSERT_OK(ret);
	memcpy(sm.mkvp, self->g.mkvp, HSMG_MKVP_LEN);
	ASSERT_IOCTL_OK(q->fd, HSMG_IOC_BE_SET_MKVP, &sm);

	/* argsz below v1: EINVAL, even with bad flags */
	sm.argsz = HSMG_BE_SET_MKVP_SIZE_V1 - 1;
	sm.flags = 1;
	ASSERT_IOCTL_ERR(EINVAL, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	/* argsz above the limit: E2BIG */
	sm.argsz = HSMG_MAX_ARGSZ + 1;
	ASSERT_IOCTL_ERR(E2BIG, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	/* unknown flags */
	sm.argsz = sizeof(sm);
	ASSERT_IOCTL_ERR(EINVAL, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	sm.flags = 0;
	sm.reserved0 = 1;
	ASSERT_IOCTL_ERR(EINVAL, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	sm.reserved0 = 0;
	sm.reserved[1] = 1;
	ASSERT_IOCTL_ERR(EINVAL, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	sm.reserved[1] = 0;
	/* a larger struct: zero tail accepted, non-zero tail E2BIG */
	memset(&big, 0, sizeof(big));
	big.sm = sm;
	big.sm.argsz = sizeof(big);
	ASSERT_IOCTL_OK(q->fd, HSMG_IOC_BE_SET_MKVP, &big);
	EXPECT_EQ(HSMG_QS_ONLINE, big.sm.state);
	big.tail[3] = 1;
	ASSERT_IOCTL_ERR(E2BIG, q->fd, HSMG_IOC_BE_SET_MKVP, &big);
	/* bad pointers */
	ASSERT_IOCTL_ERR(EFAULT, q->fd, HSMG_IOC_BE_SET_MKVP, NULL);
	p = hsmg_guard_page();
	ASSERT_NE(NULL, p);
	{
		struct hsmg_be_set_mkvp *e = (void *)(p + 4096 - 8);

		e->argsz = sizeof(*e);
		e->flags = 0;
		ASSERT_IOCTL_ERR(EFAULT, q->fd, HSMG_IOC_BE_SET_MKVP, e);
	}
	hsmg_guard_page_free(p);
	/* a file with no queue attached */
	fd = hsmg_open_backend();
	ASSERT_LE(0, fd);
	ASSERT_IOCTL_ERR(ENODEV, fd, HSMG_IOC_BE_SET_MKVP, &sm);
	/* ... also after a detach */
	ASSERT_OK(tq_detach(q));
	ASSERT_IOCTL_ERR(ENODEV, q->fd, HSMG_IOC_BE_SET_MKVP, &sm);
	close(fd);
	/* the state of the group is untouched by the failed calls */
	ASSERT_OK(tq_reattach(q, NULL));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
}

/* A group reports its hold time, and how long it has had no member online. */
TEST_F(ha, group_offline_time)
{
	struct hsmg_group_info gi;

	ASSERT_OK(hsmg_param_set("hold_time_ms", 1234));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(1234, gi.hold_time_ms);
	EXPECT_EQ(0, gi.offline_ms);
	ASSERT_OK(tq_detach(self->g.q[0]));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.offline_ms);
	ASSERT_OK(tq_detach(self->g.q[1]));
	hsmg_sleep_ms(50);
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.nonline);
	EXPECT_LE(40, gi.offline_ms);
	ASSERT_OK(tq_reattach(self->g.q[1], NULL));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, self->g.q[1]->queue_id, HSMG_QS_ONLINE, 5000));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.offline_ms);
	ASSERT_OK(tq_reattach(self->g.q[0], NULL));
}

TEST_HARNESS_MAIN
