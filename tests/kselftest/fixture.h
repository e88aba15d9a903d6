/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the hsmgroup kselftests: test queues attached from the
 * test itself through /dev/hsmgroup-backend, each served by a thread that
 * plays a coprocessor card, plus thin wrappers of the client ioctls.
 *
 * Every test makes its own group (a random MKVP and random APQNs), so tests
 * do not see each other's queues, sessions or counters.
 *
 * Functions return 0 or -errno; they never touch the harness, so the tests
 * decide what is an error.  This file must not include kselftest_harness.h
 * (it defines functions); the HSMG_SKIP macro below is for test files only.
 */
#ifndef HSMG_KSFT_FIXTURE_H
#define HSMG_KSFT_FIXTURE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/hsmgroup.h>

/* Every class a test queue serves. */
#define TQ_ALL_CAPS ((1ULL << HSMG_OP_NR) - 1)
#define TQ_LOG_MAX  512
#define TQ_LOG_DATA 192
#define TQ_HELD_MAX 256
#define TQ_MAX_LIVE 64

/**
 * enum tq_mode - what the card thread does with fetched work.
 * @TQ_SERVE: answer everything at once.
 * @TQ_HOLD: fetch crypto requests and keep them unanswered (in @held);
 *	login, logout and ping are still answered.
 * @TQ_HANG: fetch everything, answer nothing.
 * @TQ_STOP: do not fetch at all.
 */
enum tq_mode {
	TQ_SERVE,
	TQ_HOLD,
	TQ_HANG,
	TQ_STOP,
};

/** struct tq_event - one fetched request, as the card saw it. */
struct tq_event {
	uint64_t tag;
	uint32_t type;
	uint32_t op_class;
	uint64_t session;
	uint32_t session_flags;
	uint32_t len;
	uint8_t data[TQ_LOG_DATA];
};

/** struct tq - one test queue and its card thread. */
struct tq {
	int fd;
	bool attached;
	uint32_t adapter, domain;
	uint32_t queue_id, group_id, state;
	uint8_t mkvp[HSMG_MKVP_LEN];

	/* Behaviour; change under @lock (tq_set_*) while the thread runs. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum tq_mode mode;
	uint32_t crypto_status;		     /* status of crypto answers */
	uint32_t login_status;		     /* status of login answers */
	uint8_t pin_seed;		     /* pin-blob = f(seed, pin) */
	uint32_t card_quota;		     /* live sessions the card accepts, 0 = any */
	uint32_t delay_ms;		     /* sleep before answering */
	uint32_t fetch_max;		     /* max_reqs per fetch, 0 = HSMG_MAX_BATCH */
	uint32_t max_inflight;		     /* announced at attach, 0 = 16 */
	uint32_t attach_flags, max_sessions; /* as last attached */
	uint64_t caps;

	/* What happened. */
	struct tq_event log[TQ_LOG_MAX];
	unsigned int nlog;
	unsigned int count[4]; /* per enum hsmg_be_req_type */
	uint64_t held[TQ_HELD_MAX];
	unsigned int nheld;
	uint64_t live[TQ_MAX_LIVE]; /* logged-in sessions, for card_quota */
	unsigned int nlive;
	uint64_t stale;
	int fetch_err, complete_err; /* last unexpected -errno */

	pthread_t thread;
	bool running;
	int stop_pipe[2];
	uint8_t *buf;
	size_t buf_len;
};

/** struct tgroup - a fresh group of test queues sharing a random MKVP. */
struct tgroup {
	unsigned int nq;
	struct tq *q[8];
	uint8_t mkvp[HSMG_MKVP_LEN];
	uint32_t group_id;
};

/* ---- environment ---- */

/* NULL when the devices are usable, else why the test must skip. */
const char *hsmg_skip_reason(void);
int hsmg_open_client(void);
int hsmg_open_backend(void);
/* ioctl() returning 0 or -errno. */
int hsmg_ioctl(int fd, unsigned long req, void *arg);
void hsmg_random(void *buf, size_t len);
void hsmg_random_mkvp(uint8_t mkvp[HSMG_MKVP_LEN]);
uint64_t hsmg_now_ms(void);
void hsmg_sleep_ms(unsigned int ms);

/*
 * Module parameters under /sys/module/hsmgroup/parameters.  hsmg_param_set
 * remembers the first old value of each parameter; hsmg_params_restore puts
 * them all back.  -ENOENT when the parameter does not exist.
 */
int hsmg_param_get(const char *name, long *val);
int hsmg_param_set(const char *name, long val);
void hsmg_params_restore(void);

/* The number in /sys/class/hsmgroup/@dev/@name; -1 if missing. */
long hsmg_sysfs_attr(const char *dev, const char *name);
/*
 * Wait up to @ms for the thread whose id another thread stores at @tid
 * (atomically, 0 until then) to sleep (state S in /proc/self/task).
 */
int hsmg_wait_sleeping(const pid_t *tid, unsigned int ms);

/* ---- test queues ---- */

void tq_init(struct tq *q);
/*
 * Open the backend device and attach with @mkvp at a random free APQN
 * (retrying on -EEXIST and on a mismatch with an APQN that another test
 * left known), then start the card thread.  @flags, @caps, @max_sessions as
 * in struct hsmg_be_attach (caps 0 = all).
 */
int tq_attach(struct tq *q, const uint8_t *mkvp, uint32_t flags, uint64_t caps,
	      uint32_t max_sessions);
/* Attach again (same file, same APQN) after tq_detach; @mkvp NULL = old. */
int tq_reattach(struct tq *q, const uint8_t *mkvp);
/* Fill a struct hsmg_be_attach with sane defaults. */
void tq_fill_attach(struct hsmg_be_attach *a, uint32_t adapter, uint32_t domain,
		    const uint8_t *mkvp);
int tq_detach(struct tq *q);
/* Stop the thread and close the file (detaches). */
void tq_close(struct tq *q);
void tq_destroy(struct tq *q);

void tq_set_mode(struct tq *q, enum tq_mode mode);
void tq_set_crypto_status(struct tq *q, uint32_t status);
void tq_set_login_status(struct tq *q, uint32_t status);
void tq_set_pin_seed(struct tq *q, uint8_t seed);
void tq_set_card_quota(struct tq *q, uint32_t quota);
/* Forget the log and counters. */
void tq_clear_log(struct tq *q);
unsigned int tq_count(struct tq *q, uint32_t type);
/* Wait until @type was fetched at least @n times; 0 or -ETIMEDOUT. */
int tq_wait_count(struct tq *q, uint32_t type, unsigned int n, unsigned int ms);
/* Wait until at least @n crypto requests are held; 0 or -ETIMEDOUT. */
int tq_wait_held(struct tq *q, unsigned int n, unsigned int ms);
/* Copy the @i-th event of @type (-ENOENT when there is none). */
int tq_find_event(struct tq *q, uint32_t type, unsigned int i, struct tq_event *ev);
/* Whether a LOGOUT (or LOGIN) for @session was fetched. */
bool tq_saw(struct tq *q, uint32_t type, uint64_t session);
/*
 * Answer every held request with @status (echo when HSMG_BE_OK); returns
 * the number of stale completions reported by the kernel or -errno.
 */
int tq_complete_held(struct tq *q, uint32_t status);
/* The pin-blob a card with @seed answers for @pin. */
void tq_pin_blob(uint8_t seed, const void *pin, uint32_t pin_len, uint8_t blob[HSMG_PIN_BLOB_LEN]);

/* ---- groups ---- */

/* Attach @nq queues with one fresh random MKVP; waits until all online. */
int tgroup_create(struct tgroup *g, unsigned int nq, uint32_t max_sessions);
/* Attach one more queue to @g (waits until online). */
int tgroup_add(struct tgroup *g, uint32_t flags, uint32_t max_sessions);
void tgroup_destroy(struct tgroup *g);
/* Wait until the queues of @g hold at least @n crypto requests together. */
int tgroup_wait_held(struct tgroup *g, unsigned int n, unsigned int ms);

/* ---- client calls (0 or -errno) ---- */

int hsmg_get_member(int cfd, uint32_t group_id, uint32_t queue_id, struct hsmg_member_info *out);
/* Wait until the queue is in @state in its group; 0 or -ETIMEDOUT. */
int hsmg_wait_state(uint32_t group_id, uint32_t queue_id, uint32_t state, unsigned int ms);
/* Same, for any state whose bit (1 << state) is in @mask. */
int hsmg_wait_states(uint32_t group_id, uint32_t queue_id, uint32_t mask, unsigned int ms);
int hsmg_get_group(int cfd, uint32_t group_id, struct hsmg_group_info *out);
int hsmg_session_open(int cfd, uint32_t group_id, uint32_t flags, uint32_t *sid);
int hsmg_session_close(int cfd, uint32_t sid);
int hsmg_login(int cfd, uint32_t sid, const char *pin, const char *cardpin, struct hsmg_login *out);
int hsmg_logout(int cfd, uint32_t sid);
/* SUBMIT with an op class; @resp_len in/out. */
int hsmg_submit(int cfd, uint32_t group_id, uint32_t sid, uint32_t flags, uint32_t op_class,
		const void *req, uint32_t req_len, void *resp, uint32_t *resp_len,
		struct hsmg_submit *out);
/* The coprocessor session id of a logged-in client session, as cards see it. */
uint64_t tq_session_of_last_login(struct tq *q);

/* ---- for test files (need kselftest_harness.h) ---- */

/*
 * Skip the test now (from setup or body), without running the body: the
 * 6.1 harness runs a test body even after SKIP() in its setup.
 */
#define HSMG_SKIP(fmt, ...)                                                                        \
	SKIP(                                                                                      \
	    {                                                                                      \
		    fflush(NULL);                                                                  \
		    _exit(255);                                                                    \
	    },                                                                                     \
	    fmt, ##__VA_ARGS__)

/* Skip unless both devices are there. */
#define HSMG_REQUIRE_DEVICES()                                                                     \
	do {                                                                                       \
		const char *__why = hsmg_skip_reason();                                            \
		if (__why)                                                                         \
			HSMG_SKIP("%s", __why);                                                    \
	} while (0)

/* Expect ioctl() to fail with @err (a positive errno). */
#define ASSERT_IOCTL_ERR(err, fd, req, arg)                                                        \
	do {                                                                                       \
		errno = 0;                                                                         \
		int __r = ioctl((fd), (req), (arg));                                               \
		int __e = errno;                                                                   \
		ASSERT_EQ(-1, __r);                                                                \
		ASSERT_EQ((err), __e)                                                              \
		{                                                                                  \
			TH_LOG("errno %d (%s), expected %d (%s)", __e, strerror(__e), (int)(err),  \
			       strerror(err));                                                     \
		}                                                                                  \
	} while (0)

#define ASSERT_IOCTL_OK(fd, req, arg)                                                              \
	do {                                                                                       \
		errno = 0;                                                                         \
		int __r = ioctl((fd), (req), (arg));                                               \
		int __e = errno;                                                                   \
		ASSERT_EQ(0, __r)                                                                  \
		{                                                                                  \
			TH_LOG("ioctl failed: errno %d (%s)", __e, strerror(__e));                 \
		}                                                                                  \
	} while (0)

/* Same for helpers returning 0 / -errno. */
#define ASSERT_OK(expr)                                                                            \
	do {                                                                                       \
		int __r = (expr);                                                                  \
		ASSERT_EQ(0, __r)                                                                  \
		{                                                                                  \
			TH_LOG("%s: %d (%s)", #expr, __r, strerror(-__r));                         \
		}                                                                                  \
	} while (0)

#define ASSERT_ERR(err, expr)                                                                      \
	do {                                                                                       \
		int __r = (expr);                                                                  \
		ASSERT_EQ(-(err), __r)                                                             \
		{                                                                                  \
			TH_LOG("%s: %d (%s), expected %s", #expr, __r, strerror(-__r),             \
			       strerror(err));                                                     \
		}                                                                                  \
	} while (0)

/*
 * A page pair whose second page is PROT_NONE: a struct placed so that it
 * ends at the boundary has readable bytes up to there and -EFAULT after.
 */
void *hsmg_guard_page(void);
void hsmg_guard_page_free(void *p);

#endif /* HSMG_KSFT_FIXTURE_H */
