// SPDX-License-Identifier: GPL-2.0
/*
 * Failover: a member that detaches, closes, fails or times out with a
 * request in flight; the request completes on another member, the late
 * answer is counted stale, NO_RETRY gives -EIO, and without any member a
 * request fails with -ENODEV after the hold time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN "87654321"

FIXTURE(failover)
{
	int cfd;
	struct tgroup g;
};

FIXTURE_SETUP(failover)
{
	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	ASSERT_OK(tgroup_create(&self->g, 1, 0));
}

FIXTURE_TEARDOWN(failover)
{
	if (self->cfd >= 0)
		close(self->cfd);
	tgroup_destroy(&self->g);
	hsmg_params_restore();
}

/* A SUBMIT running in a thread. */
struct bg {
	int fd;
	struct hsmg_submit s;
	uint8_t req[64];
	uint8_t resp[64];
	int ret;
	uint64_t took_ms;
	pthread_t thread;
};

static void *bg_thread(void *arg)
{
	struct bg *b = arg;
	uint64_t t0 = hsmg_now_ms();

	b->ret = hsmg_ioctl(b->fd, HSMG_IOC_SUBMIT, &b->s);
	b->took_ms = hsmg_now_ms() - t0;
	return NULL;
}

static int bg_start_op(struct bg *b, int fd, uint32_t group, uint32_t sid, uint32_t flags,
		       uint32_t timeout_ms, uint32_t op_class)
{
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->fd = fd;
	for (i = 0; i < sizeof(b->req); i++)
		b->req[i] = 0xC0 ^ i;
	b->s.argsz = sizeof(b->s);
	b->s.flags = flags;
	b->s.group_id = group;
	b->s.session_id = sid;
	b->s.op_class = op_class;
	b->s.timeout_ms = timeout_ms;
	b->s.req = (uintptr_t)b->req;
	b->s.req_len = sizeof(b->req);
	b->s.resp = (uintptr_t)b->resp;
	b->s.resp_len = sizeof(b->resp);
	return pthread_create(&b->thread, NULL, bg_thread, b) ? -EAGAIN : 0;
}

static int bg_start(struct bg *b, int fd, uint32_t group, uint32_t sid, uint32_t flags,
		    uint32_t timeout_ms)
{
	return bg_start_op(b, fd, group, sid, flags, timeout_ms, HSMG_OP_SIGN);
}

/*
 * The usual scene: the only member q0 fetches the request and holds it,
 * then a second member q1 joins.  Returns q1.
 */
static int scene(struct tgroup *g, struct bg *b, int cfd, uint32_t sid, uint32_t flags)
{
	int ret;

	tq_set_mode(g->q[0], TQ_HOLD);
	ret = bg_start(b, cfd, g->group_id, sid, flags, 30000);
	if (ret)
		return ret;
	ret = tq_wait_held(g->q[0], 1, 10000);
	if (ret)
		return ret;
	return tgroup_add(g, 0, 0);
}

#define EXPECT_ECHOED(b)                                                                           \
	do {                                                                                       \
		EXPECT_EQ(sizeof((b)->req), (b)->s.resp_len);                                      \
		EXPECT_EQ(0, memcmp((b)->req, (b)->resp, sizeof((b)->req)));                       \
	} while (0)

TEST_F(failover, detach_inflight)
{
	struct hsmg_group_info gi0, gi1;
	struct hsmg_member_info mi;
	uint32_t q0id = self->g.q[0]->queue_id;
	struct bg b;

	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi0));
	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	ASSERT_OK(tq_detach(self->g.q[0]));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret)
	{
		TH_LOG("submit: %s", strerror(-b.ret));
	}
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
	EXPECT_EQ(1, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi1));
	EXPECT_EQ(gi0.failovers + 1, gi1.failovers);
	EXPECT_EQ(gi0.errors, gi1.errors);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q0id, &mi));
	EXPECT_EQ(HSMG_QS_OFFLINE, mi.state);
	EXPECT_LE(1, mi.errors);
}

/* Closing the backend file is a detach. */
TEST_F(failover, close_inflight)
{
	struct bg b;

	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	tq_close(self->g.q[0]);
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
}

/* A fetched NO_RETRY request is not re-sent: -EIO. */
TEST_F(failover, no_retry_eio)
{
	struct bg b;

	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, HSMG_SUBMIT_NO_RETRY));
	ASSERT_OK(tq_detach(self->g.q[0]));
	pthread_join(b.thread, NULL);
	EXPECT_EQ(-EIO, b.ret);
	EXPECT_EQ(0, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/* A NO_RETRY request nobody fetched yet is always re-routed. */
TEST_F(failover, no_retry_unfetched_rerouted)
{
	struct hsmg_member_info mi;
	uint64_t end;
	struct bg b;

	/* The member must be online, or the request waits in the backlog. */
	ASSERT_OK(hsmg_wait_state(self->g.group_id, self->g.q[0]->queue_id, HSMG_QS_ONLINE, 10000));
	tq_set_mode(self->g.q[0], TQ_STOP);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, HSMG_SUBMIT_NO_RETRY, 30000));
	end = hsmg_now_ms() + 25000;
	do {
		ASSERT_OK(
		    hsmg_get_member(self->cfd, self->g.group_id, self->g.q[0]->queue_id, &mi));
		ASSERT_GT(end, hsmg_now_ms());
		hsmg_sleep_ms(10);
	} while (!mi.pending);
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	ASSERT_OK(tq_detach(self->g.q[0]));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_ECHOED(&b);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_CRYPTO));
}

/* A transient card error sends the request to another member. */
TEST_F(failover, retry_status)
{
	struct hsmg_member_info mi;
	uint32_t q0id = self->g.q[0]->queue_id;
	struct bg b;

	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	ASSERT_LE(0, tq_complete_held(self->g.q[0], HSMG_BE_RETRY));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q0id, &mi));
	EXPECT_LE(1, mi.errors);
}

/*
 * max_attempts bounds the attempts of a request: with 1, a RETRY answer ends
 * it with EIO instead of sending it to the other member (where the
 * default sends it: retry_status).
 */
TEST_F(failover, max_attempts_one)
{
	struct bg b;

	if (hsmg_param_set("max_attempts", 1))
		HSMG_SKIP("no max_attempts module parameter");
	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	ASSERT_LE(0, tq_complete_held(self->g.q[0], HSMG_BE_RETRY));
	pthread_join(b.thread, NULL);
	EXPECT_EQ(-EIO, b.ret);
	EXPECT_EQ(0, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/* A broken card: the queue turns suspect, the request goes elsewhere. */
TEST_F(failover, failed_status)
{
	struct hsmg_member_info mi;
	uint32_t q0id = self->g.q[0]->queue_id;
	struct bg b;

	/* keep it from recovering at once */
	hsmg_param_set("recovery_interval_ms", 5000);
	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	ASSERT_LE(0, tq_complete_held(self->g.q[0], HSMG_BE_FAILED));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q0id, &mi));
	EXPECT_EQ(HSMG_QS_SUSPECT, mi.state);
	EXPECT_LE(1, mi.errors);
}

/* An attempt past its deadline goes elsewhere; the late answer is stale. */
TEST_F(failover, attempt_timeout_stale)
{
	struct bg b;
	int stale;

	if (hsmg_param_set("request_timeout_ms", 500))
		HSMG_SKIP("no request_timeout_ms module parameter");
	ASSERT_OK(scene(&self->g, &b, self->cfd, 0, 0));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
	stale = tq_complete_held(self->g.q[0], HSMG_BE_OK);
	EXPECT_EQ(1, stale);
}

/*
 * A key generation (its attempt deadline keygen_timeout_ms, the heartbeat's
 * request_timeout_ms 500) fetched by the only member q0, whose card thread
 * is in @mode; then a second member q1 joins.
 */
static int keygen_scene(struct tgroup *g, struct bg *b, int cfd, enum tq_mode mode)
{
	int ret;

	ret = hsmg_wait_state(g->group_id, g->q[0]->queue_id, HSMG_QS_ONLINE, 10000);
	if (ret)
		return ret;
	tq_set_mode(g->q[0], mode);
	tq_clear_log(g->q[0]);
	ret = bg_start_op(b, cfd, g->group_id, 0, 0, 30000, HSMG_OP_KEYGEN);
	if (ret)
		return ret;
	ret = tq_wait_count(g->q[0], HSMG_BE_REQ_CRYPTO, 1, 10000);
	if (ret)
		return ret;
	return tgroup_add(g, 0, 0);
}

#define KEYGEN_PARAMS()                                                                            \
	do {                                                                                       \
		if (hsmg_param_set("request_timeout_ms", 500) ||                                   \
		    hsmg_param_set("keygen_timeout_ms", 120000))                                   \
			HSMG_SKIP("no request_timeout_ms/keygen_timeout_ms module parameter");     \
	} while (0)

/*
 * A card that hangs with a key generation in flight and nothing else: the
 * heartbeat PING it does not answer times out after request_timeout_ms, the
 * member goes suspect and the key generation runs on the other member, long
 * before the client's deadline.
 */
TEST_F(failover, keygen_hung_card_heartbeat)
{
	struct hsmg_member_info mi;
	struct bg b;

	KEYGEN_PARAMS();
	ASSERT_OK(keygen_scene(&self->g, &b, self->cfd, TQ_HANG));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_EQ(2, b.s.attempts);
	EXPECT_ECHOED(&b);
	EXPECT_LE(1, tq_count(self->g.q[0], HSMG_BE_REQ_PING));
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, self->g.q[0]->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_SUSPECT, mi.state);
}

/* A card busy with a key generation answers the heartbeat and keeps it. */
TEST_F(failover, keygen_busy_card_kept)
{
	struct hsmg_member_info mi;
	struct bg b;

	KEYGEN_PARAMS();
	ASSERT_OK(keygen_scene(&self->g, &b, self->cfd, TQ_HOLD));
	/* Several heartbeats, each answered (TQ_HOLD answers PING). */
	ASSERT_OK(tq_wait_count(self->g.q[0], HSMG_BE_REQ_PING, 3, 20000));
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, self->g.q[0]->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_ONLINE, mi.state);
	EXPECT_EQ(0, tq_complete_held(self->g.q[0], HSMG_BE_OK));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[0]->queue_id, b.s.member);
	EXPECT_EQ(1, b.s.attempts);
	/* The held request's answer (tq_complete_held), not an echo. */
	ASSERT_EQ(8, b.s.resp_len);
	EXPECT_EQ(0, memcmp(b.resp, "heldresp", 8));
	EXPECT_EQ(0, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/* The client gave up: its request's late answer is stale. */
TEST_F(failover, client_timeout_stale)
{
	struct bg b;

	tq_set_mode(self->g.q[0], TQ_HOLD);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 400));
	ASSERT_OK(tq_wait_held(self->g.q[0], 1, 10000));
	pthread_join(b.thread, NULL);
	EXPECT_EQ(-ETIMEDOUT, b.ret);
	EXPECT_EQ(1, tq_complete_held(self->g.q[0], HSMG_BE_OK));
	/* the client and the queue go on */
	tq_set_mode(self->g.q[0], TQ_SERVE);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 10000));
	pthread_join(b.thread, NULL);
	EXPECT_EQ(0, b.ret);
	EXPECT_ECHOED(&b);
}

/* A client killed while waiting: its request is cancelled, the answer stale. */
TEST_F(failover, killed_client_stale)
{
	int status;
	pid_t pid;
	struct bg b;

	tq_set_mode(self->g.q[0], TQ_HOLD);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = hsmg_open_client();
		uint8_t req[16] = "doomed", resp[16];
		uint32_t rlen = sizeof(resp);

		hsmg_submit(fd, self->g.group_id, 0, 0, HSMG_OP_SIGN, req, sizeof(req), resp, &rlen,
			    NULL);
		_exit(0);
	}
	ASSERT_OK(tq_wait_held(self->g.q[0], 1, 10000));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	hsmg_sleep_ms(100);
	EXPECT_EQ(1, tq_complete_held(self->g.q[0], HSMG_BE_OK));
	tq_set_mode(self->g.q[0], TQ_SERVE);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 10000));
	pthread_join(b.thread, NULL);
	EXPECT_EQ(0, b.ret);
}

/* No member online: requests wait the hold time, then -ENODEV. */
TEST_F(failover, no_member_enodev)
{
	struct hsmg_group_info gi;
	uint8_t req[8] = "nobody", resp[8];
	uint32_t rlen = sizeof(resp), sid;
	uint64_t t0, dt;

	if (hsmg_param_set("hold_time_ms", 500))
		HSMG_SKIP("no hold_time_ms module parameter");
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(tq_detach(self->g.q[0]));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, self->g.q[0]->queue_id, HSMG_QS_OFFLINE, 5000));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.nonline);
	EXPECT_EQ(1, gi.nmembers);
	t0 = hsmg_now_ms();
	ASSERT_ERR(ENODEV, hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NULL, req,
				       sizeof(req), resp, &rlen, NULL));
	dt = hsmg_now_ms() - t0;
	EXPECT_LE(450, dt);
	EXPECT_GT(5000, dt);
	/* login as well */
	t0 = hsmg_now_ms();
	ASSERT_ERR(ENODEV, hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	dt = hsmg_now_ms() - t0;
	EXPECT_LE(450, dt);
	EXPECT_GT(5000, dt);
	/* the group is still there, sessions still open */
	ASSERT_OK(hsmg_session_close(self->cfd, sid));
}

/* A member back within the hold time serves the waiting request. */
TEST_F(failover, member_returns_within_hold)
{
	struct bg b;

	if (hsmg_param_set("hold_time_ms", 5000))
		HSMG_SKIP("no hold_time_ms module parameter");
	ASSERT_OK(tq_detach(self->g.q[0]));
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 20000));
	hsmg_sleep_ms(300);
	ASSERT_OK(tq_reattach(self->g.q[0], NULL));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[0]->queue_id, b.s.member);
	EXPECT_ECHOED(&b);
	EXPECT_GT(4000, b.took_ms);
}

/* A logged-in session's request fails over to a member logged in for it. */
TEST_F(failover, session_failover)
{
	struct tq_event ev;
	uint32_t sid, i;
	uint64_t cop;
	struct tq *q1;
	struct bg b;
	int login_at = -1, crypto_at = -1;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_STRICT, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	cop = tq_session_of_last_login(self->g.q[0]);
	ASSERT_NE(0, cop);
	ASSERT_OK(scene(&self->g, &b, self->cfd, sid, 0));
	q1 = self->g.q[1];
	ASSERT_OK(tq_detach(self->g.q[0]));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(q1->queue_id, b.s.member);
	EXPECT_ECHOED(&b);
	/* q1 logged the session in before it served the session's request */
	pthread_mutex_lock(&q1->lock);
	for (i = 0; i < q1->nlog; i++) {
		if (q1->log[i].session != cop)
			continue;
		if (q1->log[i].type == HSMG_BE_REQ_LOGIN && login_at < 0)
			login_at = i;
		if (q1->log[i].type == HSMG_BE_REQ_CRYPTO && crypto_at < 0)
			crypto_at = i;
	}
	pthread_mutex_unlock(&q1->lock);
	ASSERT_LE(0, login_at);
	ASSERT_LE(0, crypto_at);
	EXPECT_LT(login_at, crypto_at);
	ASSERT_OK(tq_find_event(q1, HSMG_BE_REQ_CRYPTO, 0, &ev));
	EXPECT_EQ(HSMG_SESSION_STRICT, ev.session_flags);
	/* and logout reaches it */
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	ASSERT_OK(tq_wait_count(q1, HSMG_BE_REQ_LOGOUT, 1, 5000));
	EXPECT_TRUE(tq_saw(q1, HSMG_BE_REQ_LOGOUT, cop));
}

/* Standby members serve only while no active member is online. */
TEST_F(failover, standby)
{
	uint8_t req[8] = "standby", resp[8];
	uint32_t rlen, i;
	struct hsmg_submit s;
	struct tq *sb;

	ASSERT_OK(tgroup_add(&self->g, HSMG_ATTACH_STANDBY, 0));
	sb = self->g.q[1];
	for (i = 0; i < 10; i++) {
		rlen = sizeof(resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NULL, req,
				      sizeof(req), resp, &rlen, &s));
		EXPECT_EQ(self->g.q[0]->queue_id, s.member);
	}
	EXPECT_EQ(0, tq_count(sb, HSMG_BE_REQ_CRYPTO));
	ASSERT_OK(tq_detach(self->g.q[0]));
	rlen = sizeof(resp);
	ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NULL, req, sizeof(req),
			      resp, &rlen, &s));
	EXPECT_EQ(sb->queue_id, s.member);
	/* the active member back: standby idle again */
	ASSERT_OK(tq_reattach(self->g.q[0], NULL));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, self->g.q[0]->queue_id, HSMG_QS_ONLINE, 5000));
	tq_clear_log(sb);
	for (i = 0; i < 10; i++) {
		rlen = sizeof(resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NULL, req,
				      sizeof(req), resp, &rlen, &s));
	}
	EXPECT_EQ(0, tq_count(sb, HSMG_BE_REQ_CRYPTO));
}

/* Many requests in flight on a member that detaches: all complete. */
TEST_F_TIMEOUT(failover, detach_many_inflight, 60)
{
	struct bg b[16];
	unsigned int i;
	int fds[16];

	tq_set_mode(self->g.q[0], TQ_HOLD);
	for (i = 0; i < 16; i++) {
		fds[i] = hsmg_open_client();
		ASSERT_LE(0, fds[i]);
		ASSERT_OK(bg_start(&b[i], fds[i], self->g.group_id, 0, 0, 30000));
	}
	ASSERT_OK(tq_wait_held(self->g.q[0], 16, 10000));
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	ASSERT_OK(tq_detach(self->g.q[0]));
	for (i = 0; i < 16; i++) {
		pthread_join(b[i].thread, NULL);
		EXPECT_EQ(0, b[i].ret);
		EXPECT_EQ(self->g.q[1]->queue_id, b[i].s.member);
		EXPECT_ECHOED(&b[i]);
		close(fds[i]);
	}
	EXPECT_EQ(16, tq_count(self->g.q[1], HSMG_BE_REQ_CRYPTO));
}

/*
 * A hung member (answers nothing, not even probes) loses its request to
 * another member and turns suspect; once it answers again, recovery brings
 * it back online.
 */
TEST_F_TIMEOUT(failover, hung_member_recovers, 60)
{
	struct hsmg_member_info mi;
	struct tq *q0 = self->g.q[0];
	uint64_t t0;
	struct bg b;

	if (hsmg_param_set("request_timeout_ms", 500))
		HSMG_SKIP("no request_timeout_ms module parameter");
	hsmg_param_set("recovery_interval_ms", 100);
	hsmg_param_set("recovery_backoff_max_ms", 200);
	tq_set_mode(q0, TQ_HANG);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 30000));
	ASSERT_OK(tq_wait_held(q0, 1, 10000));
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	EXPECT_ECHOED(&b);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q0->queue_id, &mi));
	EXPECT_NE(HSMG_QS_ONLINE, mi.state)
	{
		TH_LOG("a hung member stayed online");
	}
	/* it answers again: online within a few recovery rounds */
	tq_complete_held(q0, HSMG_BE_OK);
	tq_set_mode(q0, TQ_SERVE);
	t0 = hsmg_now_ms();
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q0->queue_id, HSMG_QS_ONLINE, 10000));
	EXPECT_GT(3000, hsmg_now_ms() - t0);
}

/*
 * A member back from a hang is probed when its card calls in again, not at
 * the next backoff step: with the first probe 30 s away, it is online well
 * before that (the recovery timer alone could not have done it).
 */
TEST_F_TIMEOUT(failover, hung_member_probed_when_back, 60)
{
	struct hsmg_member_info mi;
	struct tq *q0 = self->g.q[0];
	struct bg b;

	if (hsmg_param_set("request_timeout_ms", 500))
		HSMG_SKIP("no request_timeout_ms module parameter");
	hsmg_param_set("recovery_backoff_max_ms", 60000);
	hsmg_param_set("recovery_interval_ms", 30000);
	tq_set_mode(q0, TQ_HANG);
	ASSERT_OK(bg_start(&b, self->cfd, self->g.group_id, 0, 0, 30000));
	ASSERT_OK(tq_wait_held(q0, 1, 10000));
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	pthread_join(b.thread, NULL);
	ASSERT_EQ(0, b.ret);
	EXPECT_EQ(self->g.q[1]->queue_id, b.s.member);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q0->queue_id, &mi));
	ASSERT_EQ(HSMG_QS_SUSPECT, mi.state);
	/* Its late answer is its first sign of life. */
	tq_set_mode(q0, TQ_SERVE);
	tq_complete_held(q0, HSMG_BE_OK);
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q0->queue_id, HSMG_QS_ONLINE, 15000));
}

/* A group whose only member is standby is served by it. */
TEST_F(failover, standby_only)
{
	uint8_t req[8] = "sbonly!!", resp[8];
	struct hsmg_submit s;
	struct tgroup g;
	uint32_t rlen = sizeof(resp);

	memset(&g, 0, sizeof(g));
	hsmg_random_mkvp(g.mkvp);
	ASSERT_OK(tgroup_add(&g, HSMG_ATTACH_STANDBY, 0));
	ASSERT_OK(hsmg_submit(self->cfd, g.group_id, 0, 0, HSMG_OP_NULL, req, sizeof(req), resp,
			      &rlen, &s));
	EXPECT_EQ(g.q[0]->queue_id, s.member);
	EXPECT_EQ(0, memcmp(req, resp, sizeof(req)));
	tgroup_destroy(&g);
}

TEST_HARNESS_MAIN
