// SPDX-License-Identifier: GPL-2.0
/*
 * HSMG_IOC_SUBMIT: a request travels to one member and its answer back,
 * with every argument check, -ENOSPC with the needed length, timeouts,
 * card verdicts and many concurrent clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN "12345678"

FIXTURE(submit)
{
	int cfd;
	struct tgroup g;
	uint8_t req[256];
	uint8_t resp[256];
};

FIXTURE_SETUP(submit)
{
	unsigned int i;

	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
	for (i = 0; i < sizeof(self->req); i++)
		self->req[i] = i * 13 + 1;
}

FIXTURE_TEARDOWN(submit)
{
	if (self->cfd >= 0)
		close(self->cfd);
	tgroup_destroy(&self->g);
}

static void fill_submit(struct hsmg_submit *s, uint32_t group, const void *req, uint32_t req_len,
			void *resp, uint32_t resp_len)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	s->group_id = group;
	s->op_class = HSMG_OP_SYMMETRIC;
	s->req = (uintptr_t)req;
	s->req_len = req_len;
	s->resp = (uintptr_t)resp;
	s->resp_len = resp_len;
}

static bool is_member(struct tgroup *g, uint32_t queue_id)
{
	unsigned int k;

	for (k = 0; k < g->nq; k++)
		if (g->q[k]->queue_id == queue_id)
			return true;
	return false;
}

static struct tq *queue_of(struct tgroup *g, uint32_t queue_id)
{
	unsigned int k;

	for (k = 0; k < g->nq; k++)
		if (g->q[k]->queue_id == queue_id)
			return g->q[k];
	return NULL;
}

TEST_F(submit, echo)
{
	struct hsmg_submit s;
	struct tq_event ev;
	struct tq *q;

	fill_submit(&s, self->g.group_id, self->req, 100, self->resp, sizeof(self->resp));
	s.op_class = HSMG_OP_SIGN;
	s.member = 0xdead; /* output only */
	s.attempts = 77;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(100, s.resp_len);
	EXPECT_EQ(0, memcmp(self->req, self->resp, 100));
	EXPECT_EQ(1, s.attempts);
	ASSERT_TRUE(is_member(&self->g, s.member));
	q = queue_of(&self->g, s.member);
	ASSERT_OK(tq_find_event(q, HSMG_BE_REQ_CRYPTO, 0, &ev));
	EXPECT_EQ(HSMG_OP_SIGN, ev.op_class);
	EXPECT_EQ(0, ev.session);
	EXPECT_EQ(100, ev.len);
	EXPECT_EQ(0, memcmp(ev.data, self->req, 100)); /* logged whole: 100 < TQ_LOG_DATA */
}

TEST_F(submit, sizes)
{
	static const uint32_t lens[] = {1, 7, 8, 9, 63, 4096, 65537};
	uint8_t *req = malloc(65537), *resp = malloc(65537);
	unsigned int i;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp);
	hsmg_random(req, 65537);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t rlen = 65537;

		memset(resp, 0, 65537);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_DIGEST, req,
				      lens[i], resp, &rlen, NULL));
		EXPECT_EQ(lens[i], rlen);
		EXPECT_EQ(0, memcmp(req, resp, lens[i]));
	}
	free(req);
	free(resp);
}

/* The largest message, both ways. */
TEST_F(submit, max_size)
{
	uint8_t *req = malloc(HSMG_MAX_MSG_SIZE), *resp = malloc(HSMG_MAX_MSG_SIZE);
	uint32_t rlen = HSMG_MAX_MSG_SIZE;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp);
	hsmg_random(req, HSMG_MAX_MSG_SIZE);
	ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_SYMMETRIC, req,
			      HSMG_MAX_MSG_SIZE, resp, &rlen, NULL));
	EXPECT_EQ(HSMG_MAX_MSG_SIZE, rlen);
	EXPECT_EQ(0, memcmp(req, resp, HSMG_MAX_MSG_SIZE));
	free(req);
	free(resp);
}

TEST_F(submit, op_classes)
{
	struct tq_event ev;
	uint32_t c, rlen;
	struct hsmg_submit s;

	for (c = 0; c < HSMG_OP_NR; c++) {
		rlen = sizeof(self->resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, c, self->req, 16,
				      self->resp, &rlen, &s));
		ASSERT_OK(tq_find_event(
		    queue_of(&self->g, s.member), HSMG_BE_REQ_CRYPTO,
		    tq_count(queue_of(&self->g, s.member), HSMG_BE_REQ_CRYPTO) - 1, &ev));
		EXPECT_EQ(c, ev.op_class);
	}
	rlen = sizeof(self->resp);
	ASSERT_ERR(EINVAL, hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NR, self->req, 16,
				       self->resp, &rlen, NULL));
	rlen = sizeof(self->resp);
	ASSERT_ERR(EINVAL, hsmg_submit(self->cfd, self->g.group_id, 0, 0, 0xffffffff, self->req, 16,
				       self->resp, &rlen, NULL));
}

TEST_F(submit, weight)
{
	struct hsmg_submit s;

	fill_submit(&s, self->g.group_id, self->req, 16, self->resp, sizeof(self->resp));
	s.weight = 1000000;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 16, self->resp, sizeof(self->resp));
	s.weight = 1;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 16, self->resp, sizeof(self->resp));
	s.weight = 1000001;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
}

TEST_F(submit, with_session)
{
	struct tq_event ev;
	struct hsmg_submit s;
	uint32_t sid, rlen = sizeof(self->resp);
	uint64_t cop;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id,
				    HSMG_SESSION_STRICT | HSMG_SESSION_RW, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	cop = tq_session_of_last_login(self->g.q[0]);
	ASSERT_NE(0, cop);
	ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, sid, 0, HSMG_OP_SIGN, self->req, 32,
			      self->resp, &rlen, &s));
	ASSERT_OK(tq_find_event(queue_of(&self->g, s.member), HSMG_BE_REQ_CRYPTO, 0, &ev));
	EXPECT_EQ(cop, ev.session);
	EXPECT_EQ(HSMG_SESSION_STRICT | HSMG_SESSION_RW, ev.session_flags);
}

TEST_F(submit, session_checks)
{
	struct tgroup g2;
	uint32_t sid2, rlen;
	int fd2 = hsmg_open_client();
	uint32_t other;

	ASSERT_LE(0, fd2);
	ASSERT_OK(tgroup_create(&g2, 1, 0));
	ASSERT_OK(hsmg_session_open(self->cfd, g2.group_id, 0, &sid2));
	/* a session of another group */
	rlen = sizeof(self->resp);
	ASSERT_ERR(EINVAL, hsmg_submit(self->cfd, self->g.group_id, sid2, 0, HSMG_OP_NULL,
				       self->req, 8, self->resp, &rlen, NULL));
	/* fine in its own group */
	rlen = sizeof(self->resp);
	ASSERT_OK(hsmg_submit(self->cfd, g2.group_id, sid2, 0, HSMG_OP_NULL, self->req, 8,
			      self->resp, &rlen, NULL));
	/* unknown session */
	rlen = sizeof(self->resp);
	ASSERT_ERR(ENOENT, hsmg_submit(self->cfd, self->g.group_id, sid2 + 1000, 0, HSMG_OP_NULL,
				       self->req, 8, self->resp, &rlen, NULL));
	/* another client's session: fd2 holds none but self's */
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &other));
	rlen = sizeof(self->resp);
	ASSERT_ERR(ENOENT, hsmg_submit(fd2, self->g.group_id, other, 0, HSMG_OP_NULL, self->req, 8,
				       self->resp, &rlen, NULL));
	/* a closed session */
	ASSERT_OK(hsmg_session_close(self->cfd, other));
	rlen = sizeof(self->resp);
	ASSERT_ERR(ENOENT, hsmg_submit(self->cfd, self->g.group_id, other, 0, HSMG_OP_NULL,
				       self->req, 8, self->resp, &rlen, NULL));
	close(fd2);
	tgroup_destroy(&g2);
}

TEST_F(submit, unknown_group)
{
	uint32_t rlen = sizeof(self->resp);

	ASSERT_ERR(ENOENT, hsmg_submit(self->cfd, 0, 0, 0, HSMG_OP_NULL, self->req, 8, self->resp,
				       &rlen, NULL));
	rlen = sizeof(self->resp);
	ASSERT_ERR(ENOENT, hsmg_submit(self->cfd, 0xffffff00, 0, 0, HSMG_OP_NULL, self->req, 8,
				       self->resp, &rlen, NULL));
}

TEST_F(submit, lengths)
{
	struct hsmg_submit s;

	fill_submit(&s, self->g.group_id, self->req, 0, self->resp, sizeof(self->resp));
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, HSMG_MAX_MSG_SIZE + 1, self->resp,
		    sizeof(self->resp));
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &s);
	s.req_len = 0xffffffff;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, HSMG_MAX_MSG_SIZE + 1);
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_CRYPTO) +
			 tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/* A response that does not fit: -ENOSPC and the needed length. */
TEST_F(submit, enospc)
{
	struct hsmg_submit s;

	fill_submit(&s, self->g.group_id, self->req, 200, self->resp, 199);
	ASSERT_IOCTL_ERR(ENOSPC, self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(200, s.resp_len);
	fill_submit(&s, self->g.group_id, self->req, 200, NULL, 0);
	ASSERT_IOCTL_ERR(ENOSPC, self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(200, s.resp_len);
	fill_submit(&s, self->g.group_id, self->req, 200, self->resp, 200);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(200, s.resp_len);
}

TEST_F(submit, efault)
{
	uint8_t *pg = hsmg_guard_page();
	long psz = sysconf(_SC_PAGESIZE);
	struct hsmg_submit s;

	ASSERT_NE(NULL, pg);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, NULL);
	fill_submit(&s, self->g.group_id, NULL, 8, self->resp, sizeof(self->resp));
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, &s);
	/* request running into the PROT_NONE page */
	fill_submit(&s, self->g.group_id, pg + psz - 8, 16, self->resp, sizeof(self->resp));
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, &s);
	/* response buffer that cannot be written */
	fill_submit(&s, self->g.group_id, self->req, 16, NULL, 64);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 16, pg + psz - 8, 64);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, &s);
	/* read-only response buffer */
	fill_submit(&s, self->g.group_id, self->req, 16, (void *)"readonly-string-..", 64);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SUBMIT, &s);
	hsmg_guard_page_free(pg);
	/* the client still works */
	fill_submit(&s, self->g.group_id, self->req, 16, self->resp, sizeof(self->resp));
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
}

TEST_F(submit, flags_reserved)
{
	struct hsmg_submit s;
	unsigned int bit;

	for (bit = 1; bit < 32; bit++) {
		fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
		s.flags = 1U << bit;
		ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	}
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.reserved0 = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.reserved[0] = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.reserved[1] = 1ULL << 40;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	/* NO_RETRY is a known flag */
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.flags = HSMG_SUBMIT_NO_RETRY;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(8, s.resp_len);
}

TEST_F(submit, argsz)
{
	struct {
		struct hsmg_submit s;
		uint8_t tail[40];
	} big;

	memset(&big, 0, sizeof(big));
	fill_submit(&big.s, self->g.group_id, self->req, 8, self->resp, 64);
	big.s.argsz = HSMG_SUBMIT_SIZE_V1 - 8;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &big);
	big.s.argsz = sizeof(big);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SUBMIT, &big);
	EXPECT_EQ(8, big.s.resp_len);
	big.s.resp_len = 64;
	big.tail[39] = 0xff;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &big);
}

/* size, flags, reserved, ids, buffers. */
TEST_F(submit, check_order)
{
	struct {
		struct hsmg_submit s;
		uint8_t tail[8];
	} big;
	struct hsmg_submit s;
	uint32_t sid;

	memset(&big, 0, sizeof(big));
	fill_submit(&big.s, 0, NULL, 0, NULL, 0);
	big.s.argsz = sizeof(big);
	big.s.flags = 0x10;
	big.s.reserved0 = 1;
	big.tail[7] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &big);
	fill_submit(&s, 0, NULL, 0, NULL, 0);
	s.flags = 0x10;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, 0, NULL, 0, NULL, 0);
	s.reserved[0] = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SUBMIT, &s);
	/* unknown group / session before the buffers */
	fill_submit(&s, 0, NULL, 0, NULL, 0);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, 0, self->req, HSMG_MAX_MSG_SIZE + 1, NULL, 0);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_SUBMIT, &s);
	fill_submit(&s, self->g.group_id, NULL, 16, NULL, 0);
	s.session_id = 0x7fff0000;
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_SUBMIT, &s);
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	/* lengths before reading the request */
	fill_submit(&s, self->g.group_id, NULL, HSMG_MAX_MSG_SIZE + 1, self->resp, 64);
	s.session_id = sid;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SUBMIT, &s);
}

/* The card rejects the request as malformed: -EPROTO, no other member. */
TEST_F(submit, badreq_eproto)
{
	struct hsmg_submit s;
	unsigned int k;

	for (k = 0; k < 2; k++)
		tq_set_crypto_status(self->g.q[k], HSMG_BE_BADREQ);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	ASSERT_IOCTL_ERR(EPROTO, self->cfd, HSMG_IOC_SUBMIT, &s);
	EXPECT_EQ(1, tq_count(self->g.q[0], HSMG_BE_REQ_CRYPTO) +
			 tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/* Nobody answers within the client's timeout: -ETIMEDOUT in time. */
TEST_F(submit, client_timeout)
{
	struct hsmg_submit s;
	uint64_t t0, dt;
	unsigned int k;

	for (k = 0; k < 2; k++)
		tq_set_mode(self->g.q[k], TQ_HOLD);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.timeout_ms = 300;
	t0 = hsmg_now_ms();
	ASSERT_IOCTL_ERR(ETIMEDOUT, self->cfd, HSMG_IOC_SUBMIT, &s);
	dt = hsmg_now_ms() - t0;
	EXPECT_LE(250, dt); /* jiffies and the TCG guest clock: some slack */
	EXPECT_GT(5000, dt);
}

/* Group and member counters follow the requests. */
TEST_F(submit, counters)
{
	struct hsmg_group_info gi0, gi1;
	struct hsmg_member_info m0, m1;
	unsigned int i;
	uint32_t rlen;

	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi0));
	for (i = 0; i < 10; i++) {
		rlen = sizeof(self->resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_RANDOM, self->req,
				      8, self->resp, &rlen, NULL));
	}
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi1));
	EXPECT_EQ(gi0.requests + 10, gi1.requests);
	EXPECT_EQ(gi0.errors, gi1.errors);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, self->g.q[0]->queue_id, &m0));
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, self->g.q[1]->queue_id, &m1));
	EXPECT_EQ(tq_count(self->g.q[0], HSMG_BE_REQ_CRYPTO), m0.requests);
	EXPECT_EQ(tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO), m1.requests);
	EXPECT_EQ(10, m0.requests + m1.requests);
	EXPECT_EQ(0, m0.inflight + m1.inflight + m0.pending + m1.pending);

	/* an error answer counts as an error */
	tq_set_crypto_status(self->g.q[0], HSMG_BE_BADREQ);
	tq_set_crypto_status(self->g.q[1], HSMG_BE_BADREQ);
	rlen = sizeof(self->resp);
	ASSERT_ERR(EPROTO, hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_RANDOM, self->req,
				       8, self->resp, &rlen, NULL));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi1));
	EXPECT_EQ(gi0.errors + 1, gi1.errors);
}

/* A member without a class's capability never gets such requests. */
TEST_F(submit, capabilities)
{
	struct tq nullq;
	unsigned int i;
	uint32_t rlen;

	tq_init(&nullq);
	ASSERT_OK(tq_attach(&nullq, self->g.mkvp, 0, 1ULL << HSMG_OP_NULL, 0));
	ASSERT_EQ(self->g.group_id, nullq.group_id);
	ASSERT_OK(hsmg_wait_state(self->g.group_id, nullq.queue_id, HSMG_QS_ONLINE, 5000));
	for (i = 0; i < 30; i++) {
		rlen = sizeof(self->resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_SIGN, self->req, 8,
				      self->resp, &rlen, NULL));
	}
	EXPECT_EQ(0, tq_count(&nullq, HSMG_BE_REQ_CRYPTO));
	tq_destroy(&nullq);
}

struct hammer {
	int fd;
	uint32_t group_id;
	unsigned int seed, n, bad;
	int err;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint8_t req[512], resp[512];
	unsigned int i, j;

	for (i = 0; i < h->n; i++) {
		uint32_t len = 1 + rand_r(&h->seed) % sizeof(req), rlen = sizeof(resp);
		int ret;

		for (j = 0; j < len; j++)
			req[j] = rand_r(&h->seed);
		ret = hsmg_submit(h->fd, h->group_id, 0, 0, rand_r(&h->seed) % HSMG_OP_NR, req, len,
				  resp, &rlen, NULL);
		if (ret) {
			h->err = ret;
			return NULL;
		}
		if (rlen != len || memcmp(req, resp, len))
			h->bad++;
	}
	return NULL;
}

/* Many threads on one file and on their own files: every answer is theirs. */
TEST_F_TIMEOUT(submit, concurrent, 120)
{
	struct hammer h[8];
	pthread_t t[8];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		h[i] = (struct hammer){.fd = i < 4 ? self->cfd : hsmg_open_client(),
				       .group_id = self->g.group_id,
				       .seed = i * 7919 + 1,
				       .n = 100};
		ASSERT_LE(0, h[i].fd);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_thread, &h[i]));
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, h[i].err);
		EXPECT_EQ(0, h[i].bad);
		if (i >= 4)
			close(h[i].fd);
	}
	EXPECT_LT(0, tq_count(self->g.q[0], HSMG_BE_REQ_CRYPTO));
	EXPECT_LT(0, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

struct bg_call {
	int fd;
	unsigned long req;
	void *arg;
	int ret;
	volatile bool done;
};

static void *bg_thread(void *arg)
{
	struct bg_call *c = arg;

	c->ret = hsmg_ioctl(c->fd, c->req, c->arg);
	c->done = true;
	return NULL;
}

/* SESSION_CLOSE waits for the session's in-flight requests. */
TEST_F(submit, session_close_waits)
{
	struct hsmg_session_close cl = {.argsz = sizeof(cl)};
	struct bg_call sub, clo;
	struct hsmg_submit s;
	pthread_t ts, tc;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	tq_set_mode(self->g.q[0], TQ_HOLD);
	tq_set_mode(self->g.q[1], TQ_HOLD);
	fill_submit(&s, self->g.group_id, self->req, 8, self->resp, 64);
	s.session_id = sid;
	sub = (struct bg_call){.fd = self->cfd, .req = HSMG_IOC_SUBMIT, .arg = &s};
	ASSERT_EQ(0, pthread_create(&ts, NULL, bg_thread, &sub));
	ASSERT_OK(tgroup_wait_held(&self->g, 1, 5000));
	cl.session_id = sid;
	clo = (struct bg_call){.fd = self->cfd, .req = HSMG_IOC_SESSION_CLOSE, .arg = &cl};
	ASSERT_EQ(0, pthread_create(&tc, NULL, bg_thread, &clo));
	hsmg_sleep_ms(300);
	EXPECT_FALSE(clo.done)
	{
		TH_LOG("SESSION_CLOSE returned %d with a request in flight", clo.ret);
	}
	EXPECT_FALSE(sub.done);
	tq_complete_held(self->g.q[0], HSMG_BE_OK);
	tq_complete_held(self->g.q[1], HSMG_BE_OK);
	pthread_join(ts, NULL);
	pthread_join(tc, NULL);
	EXPECT_EQ(0, sub.ret);
	EXPECT_EQ(8, s.resp_len);
	EXPECT_EQ(0, memcmp(self->resp, "heldresp", 8));
	EXPECT_EQ(0, clo.ret);
	ASSERT_ERR(ENOENT, hsmg_session_close(self->cfd, sid));
}

struct one_submit {
	int fd;
	uint32_t group_id;
	int ret;
	pthread_t t;
};

static void *one_submit_thread(void *arg)
{
	struct one_submit *h = arg;
	uint8_t req[16] = "inflight", resp[16];
	uint32_t rlen = sizeof(resp);

	h->ret = hsmg_submit(h->fd, h->group_id, 0, 0, HSMG_OP_SIGN, req, sizeof(req), resp, &rlen,
			     NULL);
	return NULL;
}

/* A card gets at most max_inflight requests at once; the rest wait pending. */
TEST_F_TIMEOUT(submit, max_inflight, 60)
{
	struct hsmg_member_info mi;
	struct one_submit h[5];
	struct tgroup g;
	struct tq *q;
	unsigned int i;

	memset(&g, 0, sizeof(g));
	hsmg_random_mkvp(g.mkvp);
	q = calloc(1, sizeof(*q));
	ASSERT_NE(NULL, q);
	tq_init(q);
	q->max_inflight = 2;
	g.q[g.nq++] = q;
	ASSERT_OK(tq_attach(q, g.mkvp, 0, 0, 0));
	g.group_id = q->group_id;
	ASSERT_OK(hsmg_wait_state(g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	tq_set_mode(q, TQ_HOLD);
	for (i = 0; i < 5; i++) {
		h[i].fd = hsmg_open_client();
		h[i].group_id = g.group_id;
		ASSERT_LE(0, h[i].fd);
		ASSERT_EQ(0, pthread_create(&h[i].t, NULL, one_submit_thread, &h[i]));
	}
	ASSERT_OK(tq_wait_held(q, 2, 10000));
	hsmg_sleep_ms(300);
	EXPECT_EQ(2, tq_count(q, HSMG_BE_REQ_CRYPTO));
	ASSERT_OK(hsmg_get_member(self->cfd, g.group_id, q->queue_id, &mi));
	EXPECT_EQ(2, mi.max_inflight);
	EXPECT_EQ(2, mi.inflight);
	/* the rest wait assigned to the queue or in the group's backlog */
	EXPECT_GE(3, mi.pending);
	/* answering makes room for the rest */
	tq_set_mode(q, TQ_SERVE);
	ASSERT_EQ(0, tq_complete_held(q, HSMG_BE_OK));
	for (i = 0; i < 5; i++) {
		pthread_join(h[i].t, NULL);
		EXPECT_EQ(0, h[i].ret);
		close(h[i].fd);
	}
	EXPECT_EQ(5, tq_count(q, HSMG_BE_REQ_CRYPTO));
	ASSERT_OK(hsmg_get_member(self->cfd, g.group_id, q->queue_id, &mi));
	EXPECT_EQ(0, mi.inflight);
	EXPECT_EQ(0, mi.pending);
	tgroup_destroy(&g);
}

TEST_HARNESS_MAIN
