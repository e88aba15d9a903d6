// SPDX-License-Identifier: GPL-2.0
/*
 * Queue picking: requests that cost the same on every member are spread
 * round robin, whatever each member served before (a member back from an
 * outage must not take every request until its lifetime count catches up),
 * and a card holds no more requests than it serves at once, so a light
 * client waits for a slot, not behind a flood's queued requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void submit_n(struct __test_metadata *_metadata, int cfd, uint32_t group, unsigned int n)
{
	uint8_t req[64], resp[64];
	unsigned int i;

	memset(req, 0x5a, sizeof(req));
	for (i = 0; i < n; i++) {
		uint32_t resp_len = sizeof(resp);

		ASSERT_EQ(0, hsmg_submit(cfd, group, 0, 0, HSMG_OP_SYMMETRIC, req, sizeof(req),
					 resp, &resp_len, NULL));
	}
}

TEST(equal_costs_alternate_after_a_member_joins)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	unsigned int c1, c2;
	struct tq q1, q2;
	int cfd;

	HSMG_REQUIRE_DEVICES();
	hsmg_random_mkvp(mkvp);
	tq_init(&q1);
	tq_init(&q2);
	ASSERT_EQ(0, tq_attach(&q1, mkvp, 0, 0, 0));
	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);

	/* q1 alone serves 20 requests. */
	submit_n(_metadata, cfd, q1.group_id, 20);
	ASSERT_EQ(20, tq_count(&q1, HSMG_BE_REQ_CRYPTO));

	/* q2 joins; one at a time, the next 20 alternate between the two. */
	ASSERT_EQ(0, tq_attach(&q2, mkvp, 0, 0, 0));
	ASSERT_EQ(q1.group_id, q2.group_id);
	ASSERT_EQ(0, hsmg_wait_state(q2.group_id, q2.queue_id, HSMG_QS_ONLINE, 5000));
	tq_clear_log(&q1);
	tq_clear_log(&q2);
	submit_n(_metadata, cfd, q1.group_id, 20);
	c1 = tq_count(&q1, HSMG_BE_REQ_CRYPTO);
	c2 = tq_count(&q2, HSMG_BE_REQ_CRYPTO);
	EXPECT_EQ(20, c1 + c2);
	EXPECT_EQ(10, c1);
	EXPECT_EQ(10, c2);

	close(cfd);
	tq_destroy(&q2);
	tq_destroy(&q1);
}

struct marked {
	int fd;
	uint32_t group_id;
	uint8_t mark;
	int ret;
	pid_t tid;
	pthread_t t;
};

static void *marked_submit(void *arg)
{
	struct marked *m = arg;
	uint8_t req[16], resp[16];
	uint32_t rlen = sizeof(resp);

	__atomic_store_n(&m->tid, gettid(), __ATOMIC_RELEASE);
	memset(req, m->mark, sizeof(req));
	m->ret = hsmg_submit(m->fd, m->group_id, 0, 0, HSMG_OP_SYMMETRIC, req, sizeof(req), resp,
			     &rlen, NULL);
	return NULL;
}

/* Answer the request the card has held longest. */
static int complete_oldest(struct tq *q)
{
	struct hsmg_be_completion c = {.status = HSMG_BE_OK, .len = 8};
	struct hsmg_be_complete cp = {.argsz = sizeof(cp), .count = 1};

	pthread_mutex_lock(&q->lock);
	if (!q->nheld) {
		pthread_mutex_unlock(&q->lock);
		return -ENOENT;
	}
	c.tag = q->held[0];
	memmove(q->held, q->held + 1, --q->nheld * sizeof(q->held[0]));
	pthread_mutex_unlock(&q->lock);
	c.data = (uintptr_t) "slotfree";
	cp.entries = (uintptr_t)&c;
	return hsmg_ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &cp);
}

/*
 * One card serving 2 at a time, a client with 6 requests waiting: a light
 * client's request is the next or the one after to reach the card once a
 * slot frees (backlogs take turns), not behind requests queued at the card.
 */
TEST(light_client_waits_for_a_slot_not_behind_a_flood)
{
	struct marked flood[6], light;
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct tq_event ev;
	unsigned int i, at = 99;
	int ffd;
	struct tq q;

	HSMG_REQUIRE_DEVICES();
	hsmg_random_mkvp(mkvp);
	tq_init(&q);
	q.max_inflight = 2;
	ASSERT_EQ(0, tq_attach(&q, mkvp, 0, 0, 0));
	ASSERT_EQ(0, hsmg_wait_state(q.group_id, q.queue_id, HSMG_QS_ONLINE, 5000));
	tq_set_mode(&q, TQ_HOLD);
	ffd = hsmg_open_client();
	ASSERT_LE(0, ffd);
	for (i = 0; i < 6; i++) {
		flood[i] = (struct marked){.fd = ffd, .group_id = q.group_id, .mark = 0xf1};
		ASSERT_EQ(0, pthread_create(&flood[i].t, NULL, marked_submit, &flood[i]));
	}
	ASSERT_EQ(0, tq_wait_held(&q, 2, 10000));
	hsmg_sleep_ms(200); /* the other 4 wait */
	light = (struct marked){.fd = hsmg_open_client(), .group_id = q.group_id, .mark = 0x11};
	ASSERT_LE(0, light.fd);
	ASSERT_EQ(0, pthread_create(&light.t, NULL, marked_submit, &light));
	hsmg_sleep_ms(200);
	EXPECT_EQ(2, tq_count(&q, HSMG_BE_REQ_CRYPTO));
	for (i = 0; i < 7; i++) {
		ASSERT_EQ(0, complete_oldest(&q));
		if (i < 5)
			ASSERT_EQ(0, tq_wait_held(&q, 2, 10000));
	}
	for (i = 0; i < 6; i++) {
		pthread_join(flood[i].t, NULL);
		EXPECT_EQ(0, flood[i].ret);
	}
	pthread_join(light.t, NULL);
	EXPECT_EQ(0, light.ret);
	for (i = 0; i < 7; i++) {
		ASSERT_EQ(0, tq_find_event(&q, HSMG_BE_REQ_CRYPTO, i, &ev));
		if (ev.data[0] == 0x11)
			at = i;
	}
	/* fetched 3rd or 4th; behind the flood's queued ones it would be 5th */
	EXPECT_GE(3, at);
	TH_LOG("light request fetched as number %u of 7", at + 1);
	close(light.fd);
	close(ffd);
	tq_destroy(&q);
}

/* A group attribute from /sys/class/hsmgroup/groupN/@name; -1 if missing. */
static long g_attr(uint32_t group_id, const char *name)
{
	char dev[24];

	snprintf(dev, sizeof(dev), "group%u", group_id);
	return hsmg_sysfs_attr(dev, name);
}

/* Wait up to @ms for group attribute @name to read @want. */
static int g_attr_wait(uint32_t group_id, const char *name, long want, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;

	while (g_attr(group_id, name) != want) {
		if (hsmg_now_ms() > end)
			return -ETIMEDOUT;
		hsmg_sleep_ms(5);
	}
	return 0;
}

FIXTURE(spin)
{
	struct tq q;
	struct marked a, b;
};

FIXTURE_SETUP(spin)
{
	uint8_t mkvp[HSMG_MKVP_LEN];

	self->a.fd = self->b.fd = -1;
	tq_init(&self->q);
	HSMG_REQUIRE_DEVICES();
	hsmg_random_mkvp(mkvp);
	self->q.max_inflight = 4;
	ASSERT_EQ(0, tq_attach(&self->q, mkvp, 0, 0, 0));
	ASSERT_EQ(0, hsmg_wait_state(self->q.group_id, self->q.queue_id, HSMG_QS_ONLINE, 5000));
}

FIXTURE_TEARDOWN(spin)
{
	tq_destroy(&self->q);
	if (self->a.fd >= 0)
		close(self->a.fd);
	if (self->b.fd >= 0)
		close(self->b.fd);
	hsmg_params_restore(); /* also after a failed assertion */
}

/*
 * A client spins for its answer while its request is the only one at the
 * members; a second client's request ends that spin and does not spin
 * itself: with two requests in flight the CPUs serve them.
 */
TEST_F_TIMEOUT(spin, only_a_lone_request_spins, 60)
{
	struct tq *q = &self->q;
	uint32_t gid = q->group_id;

	if (hsmg_param_set("busy_poll_us", 100000))
		HSMG_SKIP("no busy_poll_us parameter");
	ASSERT_EQ(0, g_attr(gid, "busy_polls"));
	ASSERT_EQ(0, g_attr(gid, "busy_poll_hits"));
	tq_set_mode(q, TQ_HOLD);
	self->a = (struct marked){.fd = hsmg_open_client(), .group_id = gid, .mark = 0xa1};
	self->b = (struct marked){.fd = hsmg_open_client(), .group_id = gid, .mark = 0xb2};
	ASSERT_LE(0, self->a.fd);
	ASSERT_LE(0, self->b.fd);
	ASSERT_EQ(0, pthread_create(&self->a.t, NULL, marked_submit, &self->a));
	ASSERT_EQ(0, tq_wait_held(q, 1, 10000));
	/* Alone at the card: A spins (counted before it starts). */
	ASSERT_EQ(0, g_attr_wait(gid, "busy_polls", 1, 10000));
	ASSERT_EQ(0, pthread_create(&self->b.t, NULL, marked_submit, &self->b));
	ASSERT_EQ(0, tq_wait_held(q, 2, 10000));
	/* Both sleep well before the 100 ms window ends for either. */
	ASSERT_EQ(0, hsmg_wait_sleeping(&self->b.tid, 10000));
	ASSERT_EQ(0, hsmg_wait_sleeping(&self->a.tid, 10000));
	EXPECT_EQ(1, g_attr(gid, "busy_polls"));
	EXPECT_EQ(0, g_attr(gid, "busy_poll_hits"));
	ASSERT_EQ(0, complete_oldest(q));
	ASSERT_EQ(0, complete_oldest(q));
	pthread_join(self->a.t, NULL);
	pthread_join(self->b.t, NULL);
	EXPECT_EQ(0, self->a.ret);
	EXPECT_EQ(0, self->b.ret);
	EXPECT_EQ(1, g_attr(gid, "busy_polls"));
}

TEST_HARNESS_MAIN
