// SPDX-License-Identifier: GPL-2.0
/*
 * Resource limits and storms, run in the test guest by tests/limits/run:
 *  - 10,000 sessions over several client files, all logged in on every
 *    member, then closed (half one by one, half by closing their files):
 *    every member's session count goes back to 0 and the kernel's slab
 *    memory comes back;
 *  - a detach storm: queues of the group attached and detached by several
 *    threads at once while clients submit: no client sees an error while the
 *    stable member lives;
 *  - the per-client in-flight cap (module parameter client_inflight_cap).
 * Figures are printed as "# limits: ..." lines for docs/reliability.md.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN "limits-pin-42"

/* SUnreclaim of /proc/meminfo, kB (-1 when unknown). */
static long slab_kb(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Sessions logged in on the member queues of @g, summed. */
static long member_sessions(int cfd, struct tgroup *g)
{
	struct hsmg_member_info mi;
	long n = 0;
	unsigned int i;

	for (i = 0; i < g->nq; i++) {
		if (hsmg_get_member(cfd, g->group_id, g->q[i]->queue_id, &mi))
			return -1;
		n += mi.sessions;
	}
	return n;
}

/* ---- 10,000 sessions ---- */

#define NFILES	  4
#define PER_FILE  2500
#define NSESSIONS (NFILES * PER_FILE)

struct opener {
	int cfd;
	uint32_t group;
	uint32_t sids[PER_FILE];
	int err;
	unsigned int done;
};

static void *open_and_login(void *arg)
{
	struct opener *o = arg;
	struct hsmg_login l;
	unsigned int i;

	for (i = 0; i < PER_FILE; i++) {
		o->err = hsmg_session_open(o->cfd, o->group, HSMG_SESSION_RW, &o->sids[i]);
		if (!o->err)
			o->err = hsmg_login(o->cfd, o->sids[i], PIN, NULL, &l);
		if (o->err)
			break;
		o->done++;
	}
	return NULL;
}

static int wait_sessions(int cfd, struct tgroup *g, long want, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;

	while (member_sessions(cfd, g) != want) {
		if (hsmg_now_ms() > end)
			return -ETIMEDOUT;
		hsmg_sleep_ms(20);
	}
	return 0;
}

/* Run "$HSMG_CTL -j session list --group G | jq length"; -1 without HSMG_CTL. */
static long ctl_session_count(uint32_t group)
{
	const char *ctl = getenv("HSMG_CTL");
	char cmd[512];
	long n = -1;
	FILE *p;

	if (!ctl)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s -j session list --group %u | jq length", ctl, group);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -2;
	pclose(p);
	return n;
}

FIXTURE(limits)
{
	struct tgroup g;
};

FIXTURE_SETUP(limits)
{
	HSMG_REQUIRE_DEVICES();
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
}

FIXTURE_TEARDOWN(limits)
{
	tgroup_destroy(&self->g);
	hsmg_params_restore();
}

TEST_F_TIMEOUT(limits, sessions_10k, 1800)
{
	static struct opener o[NFILES];
	pthread_t th[NFILES];
	long before, peak, after, listed;
	uint64_t t0, t_open, t_close;
	unsigned int i, j, logouts;
	int cfd;

	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);
	before = slab_kb();
	t0 = hsmg_now_ms();
	for (i = 0; i < NFILES; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].cfd = hsmg_open_client();
		o[i].group = self->g.group_id;
		ASSERT_LE(0, o[i].cfd);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, open_and_login, &o[i]));
	}
	for (i = 0; i < NFILES; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(0, o[i].err)
		{
			TH_LOG("file %u: session %u: %s", i, o[i].done, strerror(-o[i].err));
		}
		ASSERT_EQ(PER_FILE, o[i].done);
	}
	t_open = hsmg_now_ms() - t0;
	/* Every session is logged in on both members. */
	ASSERT_EQ(2L * NSESSIONS, member_sessions(cfd, &self->g));
	peak = slab_kb();
	listed = ctl_session_count(self->g.group_id);
	if (listed != -1)
		EXPECT_EQ(NSESSIONS, listed);

	/* Half closed one by one, half by closing their files. */
	t0 = hsmg_now_ms();
	for (i = 0; i < NFILES / 2; i++)
		for (j = 0; j < PER_FILE; j++)
			ASSERT_OK(hsmg_session_close(o[i].cfd, o[i].sids[j]));
	for (i = 0; i < NFILES; i++)
		close(o[i].cfd);
	ASSERT_OK(wait_sessions(cfd, &self->g, 0, 600000));
	t_close = hsmg_now_ms() - t0;
	/* A member's count drops when the logout is queued; the cards get every one. */
	EXPECT_EQ(0, tq_wait_count(self->g.q[0], HSMG_BE_REQ_LOGOUT, NSESSIONS, 600000));
	EXPECT_EQ(0, tq_wait_count(self->g.q[1], HSMG_BE_REQ_LOGOUT, NSESSIONS, 600000));
	logouts = tq_count(self->g.q[0], HSMG_BE_REQ_LOGOUT);
	EXPECT_EQ(NSESSIONS, logouts);
	EXPECT_EQ(NSESSIONS, tq_count(self->g.q[1], HSMG_BE_REQ_LOGOUT));
	if (getenv("HSMG_CTL"))
		EXPECT_EQ(0, ctl_session_count(self->g.group_id));
	close(cfd);
	/* Freed objects go back to the slabs; give RCU and the slab shrinkers a moment. */
	for (i = 0; i < 50; i++) {
		after = slab_kb();
		if (after - before <= (peak - before) / 4)
			break;
		hsmg_sleep_ms(100);
	}
	printf("# limits: %d sessions on %d files, logged in on 2 members: open+login %llu ms, "
	       "close %llu ms; SUnreclaim %ld kB before, %ld kB at peak (+%ld), %ld kB after "
	       "(%+ld); %u logouts per member; listed by hsmgroupctl: %ld\n",
	       NSESSIONS, NFILES, (unsigned long long)t_open, (unsigned long long)t_close, before,
	       peak, peak - before, after, after - before, logouts, listed);
	fflush(stdout);
	/* The sessions' memory came back (most of it: slabs keep some partial pages). */
	ASSERT_LT(after - before, (peak - before) / 4 + 256);
}

/* ---- detach storm ---- */

#define STORM_THREADS 3
#define STORM_ROUNDS  15
#define STORM_CLIENTS 3

struct storm {
	struct tgroup *g;
	atomic_bool stop;
	atomic_uint submits, errors, attaches;
	int first_err;
};

struct storm_client {
	struct storm *st;
	unsigned int idx;
};

static void *storm_client(void *arg)
{
	struct storm_client *sc = arg;
	struct storm *st = sc->st;
	char req[256], resp[256];
	struct hsmg_login l;
	uint32_t sid = 0, rlen;
	int cfd = hsmg_open_client(), ret;

	if (cfd < 0) {
		atomic_fetch_add(&st->errors, 1);
		return NULL;
	}
	/* Half the clients use a logged-in session: joiners must log it in. */
	if (sc->idx % 2 && (hsmg_session_open(cfd, st->g->group_id, HSMG_SESSION_RW, &sid) ||
			    hsmg_login(cfd, sid, PIN, NULL, &l))) {
		atomic_fetch_add(&st->errors, 1);
		sid = 0;
	}
	memset(req, 0x5a, sizeof(req));
	while (!atomic_load(&st->stop)) {
		rlen = sizeof(resp);
		ret = hsmg_submit(cfd, st->g->group_id, sid, 0, HSMG_OP_SIGN, req, sizeof(req),
				  resp, &rlen, NULL);
		atomic_fetch_add(&st->submits, 1);
		if (ret || rlen != sizeof(req)) {
			if (!atomic_fetch_add(&st->errors, 1))
				st->first_err = ret;
		}
	}
	close(cfd);
	return NULL;
}

struct stormer {
	struct storm *st;
	unsigned int seed;
	int err;
};

static void *storm_attacher(void *arg)
{
	struct stormer *s = arg;
	struct tq q;
	unsigned int r;

	for (r = 0; r < STORM_ROUNDS; r++) {
		tq_init(&q);
		s->err = tq_attach(&q, s->st->g->mkvp, 0, 0, 0);
		if (s->err) {
			tq_destroy(&q);
			return NULL;
		}
		atomic_fetch_add(&s->st->attaches, 1);
		/* Sometimes detach at once (while recovering), sometimes later. */
		hsmg_sleep_ms(rand_r(&s->seed) % 40);
		if (rand_r(&s->seed) % 2)
			tq_detach(&q);
		tq_close(&q);
		tq_destroy(&q);
	}
	return NULL;
}

TEST_F_TIMEOUT(limits, detach_storm, 600)
{
	struct storm st = {.g = &self->g};
	struct storm_client sc[STORM_CLIENTS];
	struct stormer sa[STORM_THREADS];
	pthread_t cth[STORM_CLIENTS], ath[STORM_THREADS];
	long slab_before, slab_after;
	unsigned int i;
	int cfd;

	/* One stable member (q[0]); q[1] leaves: only stormers come and go. */
	tq_close(self->g.q[1]);
	slab_before = slab_kb();
	for (i = 0; i < STORM_CLIENTS; i++) {
		sc[i] = (struct storm_client){.st = &st, .idx = i};
		ASSERT_EQ(0, pthread_create(&cth[i], NULL, storm_client, &sc[i]));
	}
	for (i = 0; i < STORM_THREADS; i++) {
		sa[i] = (struct stormer){.st = &st, .seed = 1000 + i};
		ASSERT_EQ(0, pthread_create(&ath[i], NULL, storm_attacher, &sa[i]));
	}
	for (i = 0; i < STORM_THREADS; i++) {
		pthread_join(ath[i], NULL);
		EXPECT_EQ(0, sa[i].err)
		{
			TH_LOG("attacher %u: %s", i, strerror(-sa[i].err));
		}
	}
	atomic_store(&st.stop, true);
	for (i = 0; i < STORM_CLIENTS; i++)
		pthread_join(cth[i], NULL);
	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);
	EXPECT_EQ(0, member_sessions(cfd, &self->g));
	close(cfd);
	slab_after = slab_kb();
	printf("# limits: detach storm: %u attaches/detaches by %d threads, %u requests by %d "
	       "clients, %u errors (first %d); SUnreclaim %+ld kB\n",
	       atomic_load(&st.attaches), STORM_THREADS, atomic_load(&st.submits), STORM_CLIENTS,
	       atomic_load(&st.errors), st.first_err, slab_after - slab_before);
	fflush(stdout);
	EXPECT_EQ(STORM_THREADS * STORM_ROUNDS, atomic_load(&st.attaches));
	EXPECT_LT(0, atomic_load(&st.submits));
	ASSERT_EQ(0, atomic_load(&st.errors));
}

/* ---- per-client in-flight cap ---- */

struct capper {
	int cfd;
	uint32_t group;
	int ret;
};

static void *cap_submit(void *arg)
{
	struct capper *c = arg;
	char buf[32] = "cap";
	uint32_t rlen = sizeof(buf);

	c->ret =
	    hsmg_submit(c->cfd, c->group, 0, 0, HSMG_OP_NULL, buf, sizeof(buf), buf, &rlen, NULL);
	return NULL;
}

/*
 * A client with 4 requests waiting has at most client_inflight_cap (2) of
 * them assigned to members; another client still gets its request through.
 */
TEST_F(limits, client_inflight_cap)
{
	struct capper c[5];
	pthread_t th[5];
	int fa, fb;
	unsigned int i, held;

	if (hsmg_param_set("client_inflight_cap", 2))
		HSMG_SKIP("no client_inflight_cap parameter");
	tq_close(self->g.q[1]);
	tq_set_mode(self->g.q[0], TQ_HOLD);
	fa = hsmg_open_client();
	fb = hsmg_open_client();
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	for (i = 0; i < 4; i++) {
		c[i] = (struct capper){.cfd = fa, .group = self->g.group_id};
		ASSERT_EQ(0, pthread_create(&th[i], NULL, cap_submit, &c[i]));
	}
	ASSERT_OK(tq_wait_held(self->g.q[0], 2, 5000));
	/* The other two of client A stay in its backlog. */
	hsmg_sleep_ms(300);
	pthread_mutex_lock(&self->g.q[0]->lock);
	held = self->g.q[0]->nheld;
	pthread_mutex_unlock(&self->g.q[0]->lock);
	EXPECT_EQ(2, held);
	/* Client B is not held back by A's cap. */
	c[4] = (struct capper){.cfd = fb, .group = self->g.group_id};
	ASSERT_EQ(0, pthread_create(&th[4], NULL, cap_submit, &c[4]));
	ASSERT_OK(tq_wait_held(self->g.q[0], 3, 5000));
	/* Answer everything; A's backlog follows. */
	tq_set_mode(self->g.q[0], TQ_SERVE);
	ASSERT_LE(0, tq_complete_held(self->g.q[0], HSMG_BE_OK));
	for (i = 0; i < 5; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, c[i].ret);
	}
	close(fa);
	close(fb);
}

TEST_HARNESS_MAIN
