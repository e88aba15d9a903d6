// SPDX-License-Identifier: GPL-2.0
/*
 * hsmsimd - emulated HSM coprocessor serving one or more hsmgroup queues.
 *
 * One process: one master key (--mk-file), one card object (lib/card, with the
 * session table), one /dev/hsmgroup-backend file per --queue, and per queue
 * min(max_inflight, 64) worker threads that each fetch one request, serve
 * it and complete it.  A control socket (--ctl) reports status and injects
 * faults at run time; `hsmsimd --ctl PATH --cmd CMD` is its client.
 * SIGTERM/SIGINT detach every queue and exit 0.  See hsmsimd --help.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "card.h"
#include "hsmg_msg.h"

#define MAX_WORKERS_PER_QUEUE 64
#define FETCH_BUF_LEN	      (HSMG_BE_REQ_SIZE + HSMG_MAX_MSG_SIZE + HSMG_MSG_ALIGN)
#define CTL_LINE_MAX	      256

struct queue;

struct worker {
	pthread_t thread;
	struct queue *q;
	unsigned int seed;
	bool started;
};

struct queue {
	unsigned int index; /* local index into the card */
	unsigned int adapter, domain;
	int fd;
	bool attached;
	uint32_t queue_id, group_id, state;
	atomic_uint_least64_t requests; /* crypto requests fetched */
	atomic_uint_least64_t errors;
	unsigned int nworkers;
	struct worker workers[MAX_WORKERS_PER_QUEUE];
};

static const char *const class_names[HSMG_OP_NR] = {
    [HSMG_OP_NULL] = "null",	       [HSMG_OP_RANDOM] = "random", [HSMG_OP_DIGEST] = "digest",
    [HSMG_OP_SYMMETRIC] = "symmetric", [HSMG_OP_SIGN] = "sign",	    [HSMG_OP_VERIFY] = "verify",
    [HSMG_OP_KEYGEN] = "keygen",
};

/* Configuration (set before threads start, read-only after, unless noted). */
static struct {
	struct queue queues[HSMG_CARD_MAX_QUEUES];
	unsigned int nqueues;
	const char *mk_file, *ctl_path, *pid_file, *log_file, *cmd;
	unsigned int max_inflight, speed, quota, key_cache, pin_max;
	const char *pin_count_file;
	bool standby;
	unsigned int service_us[HSMG_OP_NR];
	uint64_t crash_after, hang_after;
} cfg = {.max_inflight = 4,
	 .speed = 100,
	 .key_cache = HSMG_CARD_KEY_CACHE_DEFAULT,
	 .pin_max = HSMG_CARD_PIN_MAX_FAILURES_DEFAULT};

/* Run-time state shared by the threads. */
static struct hsmg_card *card;
static atomic_bool stopping;
static atomic_uint_least64_t crypto_seen; /* for --crash-after / --hang-after */
static atomic_uint_least64_t total_errors;
static atomic_uint slow_us;
static _Atomic double error_rate;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fault_cond = PTHREAD_COND_INITIALIZER;
static bool hung; /* under fault_lock */
/* Readers: requests on the card; writer: a master key change (control). */
static pthread_rwlock_t card_rw = PTHREAD_RWLOCK_INITIALIZER;
static bool zeroised; /* under card_rw: the card has no master key */

static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2))) static void logmsg(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp, "%s.%03ld hsmsimd[%d]: ", when, ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	fflush(log_fp);
	pthread_mutex_unlock(&log_lock);
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: hsmsimd --queue AA.DDDD [--queue ...] --mk-file PATH [options]\n"
	       "       hsmsimd --ctl PATH --cmd CMD\n"
	       "  --queue AA.DDDD     serve adapter AA, domain DDDD (hex, each 0..ff); repeatable\n"
	       "  --mk-file PATH      32-byte master key; created (0600, random) when missing\n"
	       "  --max-inflight N    requests served at once per queue (default 4)\n"
	       "  --speed N           relative speed announced, 1..10000 (default 100);\n"
	       "                      service times are scaled by 100/N\n"
	       "  --quota N           session quota per queue (0 = unlimited)\n"
	       "  --key-cache N       parsed private keys kept, 0..4096 (default 64; 0 = off)\n"
	       "  --pin-max-failures N  failed logins of a token's user or SO before the card\n"
	       "                      locks that PIN, 1..1000 (default 10)\n"
	       "  --pin-count-file PATH  where the card keeps its count of failed logins\n"
	       "                      across restarts (default: MK-FILE.AA.DDDD.pincount,\n"
	       "                      AA.DDDD the first --queue)\n"
	       "  --separate-complete answer and fetch with two ioctls, not one\n"
	       "                      (HSMG_COMPLETE_FETCH); for comparisons\n"
	       "  --standby           attach as standby member\n"
	       "  --service-us C=US   service time of class C (null,random,digest,symmetric,\n"
	       "                      sign,verify,keygen) in microseconds; repeatable\n"
	       "  --crash-after N     die (SIGKILL) when fetching crypto request N+1\n"
	       "  --hang-after N      hang when fetching crypto request N+1\n"
	       "  --slow US           add US microseconds to every request\n"
	       "  --error-rate P      answer fraction P (0..1) of crypto requests RETRY\n"
	       "  --ctl PATH          control socket (status, sessions, crash, hang, resume,\n"
	       "                      slow US, error-rate P, quota N, zeroise, import-mk PATH)\n"
	       "  --pid-file PATH     written once every queue is attached\n"
	       "  --log-file PATH     log here instead of stderr\n"
	       "  --cmd CMD           client mode: send CMD to --ctl, print the reply\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static int parse_queue(const char *s)
{
	struct queue *q;
	unsigned int a, d, i;

	if (strlen(s) != 7 || s[2] != '.' || !is_hex(s, 2) || !is_hex(s + 3, 4))
		return -1;
	a = (unsigned int)strtoul(s, NULL, 16);
	d = (unsigned int)strtoul(s + 3, NULL, 16);
	if (a > 255 || d > 255)
		return -1;
	for (i = 0; i < cfg.nqueues; i++)
		if (cfg.queues[i].adapter == a && cfg.queues[i].domain == d)
			return -1;
	if (cfg.nqueues >= HSMG_CARD_MAX_QUEUES)
		return -1;
	q = &cfg.queues[cfg.nqueues];
	q->index = cfg.nqueues++;
	q->adapter = a;
	q->domain = d;
	q->fd = -1;
	return 0;
}

static int parse_service(const char *s)
{
	const char *eq = strchr(s, '=');
	unsigned long long us;
	unsigned int c;

	if (!eq || parse_uint(eq + 1, 60000000ULL, &us))
		return -1;
	for (c = 0; c < HSMG_OP_NR; c++) {
		if (strlen(class_names[c]) == (size_t)(eq - s) &&
		    !strncmp(class_names[c], s, (size_t)(eq - s))) {
			cfg.service_us[c] = (unsigned int)us;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ master key */

static int load_mk(const char *path, uint8_t mk[HSMG_CARD_MK_LEN], bool *created)
{
	struct stat st;
	ssize_t n;
	int fd;

	*created = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (RAND_priv_bytes(mk, HSMG_CARD_MK_LEN) != 1 ||
			    write(fd, mk, HSMG_CARD_MK_LEN) != HSMG_CARD_MK_LEN || fsync(fd)) {
				close(fd);
				unlink(path);
				OPENSSL_cleanse(mk, HSMG_CARD_MK_LEN);
				fprintf(stderr, "hsmsimd: cannot write %s\n", path);
				return -1;
			}
			close(fd);
			*created = true;
			return 0;
		}
		if (errno != EEXIST) {
			fprintf(stderr, "hsmsimd: cannot create %s: %s\n", path, strerror(errno));
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC); /* lost a creation race */
	}
	if (fd < 0) {
		fprintf(stderr, "hsmsimd: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || st.st_size != HSMG_CARD_MK_LEN) {
		close(fd);
		fprintf(stderr, "hsmsimd: %s is not a %d-byte master key file\n", path,
			HSMG_CARD_MK_LEN);
		return -1;
	}
	n = read(fd, mk, HSMG_CARD_MK_LEN);
	close(fd);
	if (n != HSMG_CARD_MK_LEN) {
		OPENSSL_cleanse(mk, HSMG_CARD_MK_LEN);
		fprintf(stderr, "hsmsimd: short read of %s\n", path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- workers */

static void sleep_us(uint64_t us)
{
	struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

	if (us)
		nanosleep(&ts, NULL); /* an interrupt (shutdown) just shortens it */
}

/* Wait while the card is hung; false when stopping. */
static bool wait_not_hung(void)
{
	bool ok;

	pthread_mutex_lock(&fault_lock);
	while (hung && !atomic_load(&stopping))
		pthread_cond_wait(&fault_cond, &fault_lock);
	ok = !atomic_load(&stopping);
	pthread_mutex_unlock(&fault_lock);
	return ok;
}

static void set_hung(bool h, const char *why)
{
	pthread_mutex_lock(&fault_lock);
	if (hung != h) {
		hung = h;
		logmsg("fault: %s (%s)", h ? "hang" : "resume", why);
	}
	pthread_cond_broadcast(&fault_cond);
	pthread_mutex_unlock(&fault_lock);
}

/* 1 while the module takes HSMG_COMPLETE_FETCH (0 after an -EINVAL for it,
 * or --separate-complete). */
static atomic_int complete_fetch = 1;

static void complete(struct queue *q, uint64_t tag, uint32_t status, const void *data, uint32_t len)
{
	struct hsmg_be_completion e = {.tag = tag, .status = status, .len = len};
	struct hsmg_be_complete c = {.argsz = sizeof(c), .count = 1};

	e.data = (uintptr_t)data;
	c.entries = (uintptr_t)&e;
	while (ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &c) < 0) {
		if (errno == EINTR && !atomic_load(&stopping))
			continue;
		logmsg("queue %02x.%04x: complete failed: %s", q->adapter, q->domain,
		       strerror(errno));
		break;
	}
}

/*
 * Serve one request into @ans.  Returns true with the answer in @out when
 * there is one to send; a hung card answers nothing.
 */
static bool serve(struct worker *w, const struct hsmg_be_req *req, const uint8_t *payload,
		  uint8_t *ans, struct hsmg_be_completion *out)
{
	struct queue *q = w->q;
	struct hsmg_card_result res = {0};
	uint64_t n, us = 0;
	bool crypto = req->type == HSMG_BE_REQ_CRYPTO;

	if (crypto) {
		atomic_fetch_add(&q->requests, 1);
		n = atomic_fetch_add(&crypto_seen, 1) + 1;
		if (cfg.crash_after && n > cfg.crash_after) {
			logmsg("fault: crash after %" PRIu64 " requests", cfg.crash_after);
			raise(SIGKILL);
			_exit(137);
		}
		if (cfg.hang_after && n == cfg.hang_after + 1)
			set_hung(true, "--hang-after");
		if (atomic_load(&error_rate) > 0.0 &&
		    (double)rand_r(&w->seed) / ((double)RAND_MAX + 1.0) <
			atomic_load(&error_rate)) {
			atomic_fetch_add(&q->errors, 1);
			atomic_fetch_add(&total_errors, 1);
			*out =
			    (struct hsmg_be_completion){.tag = req->tag, .status = HSMG_BE_RETRY};
			return wait_not_hung();
		}
		if (req->op_class < HSMG_OP_NR)
			us = cfg.service_us[req->op_class];
	} else if (req->type == HSMG_BE_REQ_LOGIN) {
		us = cfg.service_us[HSMG_OP_NULL];
	}
	us = us * 100 / cfg.speed + atomic_load(&slow_us);
	sleep_us(us);

	pthread_rwlock_rdlock(&card_rw);
	if (zeroised && (crypto || req->type == HSMG_BE_REQ_LOGIN))
		/* No master key: not done; the kernel sends it elsewhere. */
		res.status = HSMG_BE_RETRY;
	else
		hsmg_card_process(card, q->index, req, payload, ans, HSMG_MAX_MSG_SIZE, &res);
	pthread_rwlock_unlock(&card_rw);
	if (crypto && (res.status != HSMG_BE_OK || res.rv != 0)) {
		atomic_fetch_add(&q->errors, 1);
		atomic_fetch_add(&total_errors, 1);
	}
	if (res.status == HSMG_BE_QUOTA)
		logmsg("queue %02x.%04x: session quota %u reached", q->adapter, q->domain,
		       hsmg_card_quota(card));
	*out = (struct hsmg_be_completion){.tag = req->tag,
					   .status = res.status,
					   .len = res.status == HSMG_BE_OK ? res.len : 0,
					   .data = (uintptr_t)ans};
	/* A hung card answers nothing, also what it was working on. */
	if (wait_not_hung())
		return true;
	OPENSSL_cleanse(ans, res.len);
	return false;
}

/*
 * Send @c (if @have) and fetch into @f: one HSMG_COMPLETE_FETCH call, or
 * COMPLETE then FETCH.  The answer buffer is wiped once sent.  Returns the
 * fetch's result (0 or -1 with errno).
 */
static int answer_and_fetch(struct queue *q, struct hsmg_be_completion *c, bool have,
			    struct hsmg_be_fetch *f)
{
	struct hsmg_be_complete cp = {.argsz = sizeof(cp), .count = 1};
	int ret;

	if (have && atomic_load(&complete_fetch)) {
		cp.flags = HSMG_COMPLETE_FETCH;
		cp.entries = (uintptr_t)c;
		cp.fetch = (uintptr_t)f;
		ret = ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &cp);
		if (ret < 0 && errno == EINVAL && !cp.done) {
			/* a module without it: the two calls from now on */
			atomic_store(&complete_fetch, 0);
			logmsg("queue %02x.%04x: the module has no HSMG_COMPLETE_FETCH; "
			       "completing and fetching separately",
			       q->adapter, q->domain);
		} else {
			if (ret < 0 && !cp.done)
				logmsg("queue %02x.%04x: complete failed: %s", q->adapter,
				       q->domain, strerror(errno));
			OPENSSL_cleanse((void *)(uintptr_t)c->data, c->len);
			return ret;
		}
	}
	if (have) {
		complete(q, c->tag, c->status, (const void *)(uintptr_t)c->data, c->len);
		OPENSSL_cleanse((void *)(uintptr_t)c->data, c->len);
	}
	return ioctl(q->fd, HSMG_IOC_BE_FETCH, f);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct queue *q = w->q;
	uint8_t *buf = malloc(FETCH_BUF_LEN), *ans = malloc(HSMG_MAX_MSG_SIZE);
	struct hsmg_be_completion c = {0};
	unsigned int backoff_ms = 0;
	bool have = false;

	if (!buf || !ans) {
		logmsg("queue %02x.%04x: out of memory in worker", q->adapter, q->domain);
		goto out;
	}
	while (wait_not_hung()) {
		struct hsmg_be_fetch f = {.argsz = sizeof(f), .max_reqs = 1};
		struct hsmg_be_req req;
		size_t off = 0;
		uint32_t i;
		int ret;

		f.buf_len = FETCH_BUF_LEN;
		f.buf = (uintptr_t)buf;
		ret = answer_and_fetch(q, &c, have, &f);
		have = false;
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (!backoff_ms)
				logmsg("queue %02x.%04x: fetch failed: %s", q->adapter, q->domain,
				       strerror(errno));
			backoff_ms = backoff_ms ? (backoff_ms < 1000 ? backoff_ms * 2 : 1000) : 10;
			sleep_us(backoff_ms * 1000ULL);
			continue;
		}
		backoff_ms = 0;
		for (i = 0; i < f.nreqs && !atomic_load(&stopping); i++) {
			if (f.used > FETCH_BUF_LEN || f.used - off < HSMG_BE_REQ_SIZE)
				break;
			memcpy(&req, buf + off, sizeof(req));
			off += HSMG_BE_REQ_SIZE;
			if (req.len > f.used - off) {
				logmsg("queue %02x.%04x: fetched request overruns the buffer",
				       q->adapter, q->domain);
				break;
			}
			if (have) { /* only with more than one request per fetch */
				complete(q, c.tag, c.status, ans, c.len);
				OPENSSL_cleanse(ans, c.len);
			}
			/* The answer goes out with the next fetch. */
			have = serve(w, &req, buf + off, ans, &c);
			off += hsmg_msg_padded(req.len);
		}
		/* Payloads may hold PINs and plaintext. */
		OPENSSL_cleanse(buf, f.used <= FETCH_BUF_LEN ? f.used : FETCH_BUF_LEN);
	}
out:
	if (have) /* stopping: the kernel re-sends what was not answered */
		OPENSSL_cleanse(ans, c.len);
	free(buf);
	free(ans);
	return NULL;
}

/* ------------------------------------------------------------ queues */

static const char *state_name(uint32_t s)
{
	static const char *const n[] = {"online",   "suspect", "offline",  "recovering",
					"draining", "standby", "disabled", "mismatch"};

	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static int attach(struct queue *q, const uint8_t mkvp[HSMG_MKVP_LEN])
{
	struct hsmg_be_attach a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.flags = cfg.standby ? HSMG_ATTACH_STANDBY : 0;
	a.adapter = q->adapter;
	a.domain = q->domain;
	a.capabilities = (1ULL << HSMG_OP_NR) - 1;
	a.max_inflight = cfg.max_inflight;
	a.speed = cfg.speed;
	a.max_sessions = cfg.quota;
	memcpy(a.mkvp, mkvp, HSMG_MKVP_LEN);
	q->fd = open(HSMG_BACKEND_DEVICE, O_RDWR | O_CLOEXEC);
	if (q->fd < 0) {
		logmsg("queue %02x.%04x: cannot open %s: %s", q->adapter, q->domain,
		       HSMG_BACKEND_DEVICE, strerror(errno));
		return -1;
	}
	if (ioctl(q->fd, HSMG_IOC_BE_ATTACH, &a) < 0) {
		logmsg("queue %02x.%04x: attach failed: %s", q->adapter, q->domain,
		       strerror(errno));
		close(q->fd);
		q->fd = -1;
		return -1;
	}
	q->attached = true;
	q->queue_id = a.queue_id;
	q->group_id = a.group_id;
	q->state = a.state;
	logmsg("attach %02x.%04x: queue_id %u group_id %u state %s%s", q->adapter, q->domain,
	       a.queue_id, a.group_id, state_name(a.state), cfg.standby ? " (standby)" : "");
	return 0;
}

static void detach(struct queue *q)
{
	if (q->fd < 0)
		return;
	if (ioctl(q->fd, HSMG_IOC_BE_DETACH) < 0 && errno != ENOTTY)
		logmsg("queue %02x.%04x: detach ioctl: %s", q->adapter, q->domain, strerror(errno));
	close(q->fd);
	q->fd = -1;
	q->attached = false;
	hsmg_card_drop_queue(card, q->index);
	logmsg("detach %02x.%04x: queue_id %u", q->adapter, q->domain, q->queue_id);
}

static int start_workers(struct queue *q)
{
	unsigned int i;

	q->nworkers =
	    cfg.max_inflight < MAX_WORKERS_PER_QUEUE ? cfg.max_inflight : MAX_WORKERS_PER_QUEUE;
	for (i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		w->q = q;
		w->seed = (unsigned int)(getpid() * 7919u + q->index * 131u + i);
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			logmsg("queue %02x.%04x: cannot start worker", q->adapter, q->domain);
			return -1;
		}
		w->started = true;
	}
	return 0;
}

/* Wake workers out of blocking ioctls/sleeps with SIGUSR1 until they exit. */
static void stop_workers(struct queue *q)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < q->nworkers; i++) {
		struct worker *w = &q->workers[i];

		if (!w->started)
			continue;
		for (;;) {
			pthread_kill(w->thread, SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(w->thread, NULL, &ts) == 0)
				break;
		}
		w->started = false;
	}
}

/* ----------------------------------------------------------- control */

static char *ctl_status(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct hsmg_card_cache_stats kc;
	unsigned int i;
	bool h;

	if (!f)
		return NULL;
	hsmg_card_key_cache_stats(card, &kc);
	pthread_mutex_lock(&fault_lock);
	h = hung;
	pthread_mutex_unlock(&fault_lock);
	fprintf(f,
		"{\"pid\":%d,\"fault\":\"%s\",\"slow_us\":%u,\"error_rate\":%g,\"quota\":%u,"
		"\"sessions\":%u,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
		",\"crash_after\":%" PRIu64 ",\"hang_after\":%" PRIu64
		",\"key_cache\":{\"capacity\":%u,\"entries\":%u,\"hits\":%" PRIu64
		",\"misses\":%" PRIu64 "},\"queues\":[",
		(int)getpid(), h ? "hang" : "none", atomic_load(&slow_us), atomic_load(&error_rate),
		hsmg_card_quota(card), hsmg_card_sessions(card, -1),
		(uint64_t)atomic_load(&crypto_seen), (uint64_t)atomic_load(&total_errors),
		cfg.crash_after, cfg.hang_after, kc.capacity, kc.entries, kc.hits, kc.misses);
	for (i = 0; i < cfg.nqueues; i++) {
		struct queue *q = &cfg.queues[i];

		fprintf(f,
			"%s{\"queue\":\"%02x.%04x\",\"attached\":%s,\"queue_id\":%u,"
			"\"group_id\":%u,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
			",\"sessions\":%u}",
			i ? "," : "", q->adapter, q->domain, q->attached ? "true" : "false",
			q->queue_id, q->group_id, (uint64_t)atomic_load(&q->requests),
			(uint64_t)atomic_load(&q->errors), hsmg_card_sessions(card, (int)i));
	}
	fputs("]}", f);
	fclose(f);
	return out;
}

static char *ctl_sessions(void)
{
	size_t n, cap = 64, i;
	uint64_t *ids = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	for (;;) {
		uint64_t *nids = realloc(ids, cap * sizeof(*ids));

		if (!nids) {
			free(ids);
			return NULL;
		}
		ids = nids;
		n = hsmg_card_session_ids(card, ids, cap);
		if (n <= cap)
			break;
		cap = n + 64;
	}
	f = open_memstream(&out, &len);
	if (f) {
		fputs("{\"sessions\":[", f);
		for (i = 0; i < n; i++)
			fprintf(f, "%s%" PRIu64, i ? "," : "", ids[i]);
		fputs("]}", f);
		fclose(f);
	}
	free(ids);
	return out;
}

/* Tell the kernel the MKVP of every attached queue; the states in @f. */
static void announce_mkvp(const uint8_t mkvp[HSMG_MKVP_LEN], FILE *f)
{
	unsigned int i;

	for (i = 0; i < cfg.nqueues; i++) {
		struct queue *q = &cfg.queues[i];
		struct hsmg_be_set_mkvp sm = {.argsz = sizeof(sm)};

		if (!q->attached)
			continue;
		memcpy(sm.mkvp, mkvp, HSMG_MKVP_LEN);
		if (ioctl(q->fd, HSMG_IOC_BE_SET_MKVP, &sm) < 0) {
			logmsg("queue %02x.%04x: set mkvp: %s", q->adapter, q->domain,
			       strerror(errno));
			fprintf(f, "%s\"%02x.%04x\":\"error\"", i ? "," : "", q->adapter,
				q->domain);
			continue;
		}
		q->state = sm.state;
		logmsg("queue %02x.%04x: MKVP %02x%02x%02x%02x... told to the kernel: state %s",
		       q->adapter, q->domain, mkvp[0], mkvp[1], mkvp[2], mkvp[3],
		       state_name(sm.state));
		fprintf(f, "%s\"%02x.%04x\":\"%s\"", i ? "," : "", q->adapter, q->domain,
			state_name(sm.state));
	}
}

/*
 * zeroise: the kernel first (its requests go elsewhere), then the card
 * forgets its master key.  import-mk PATH: the card takes the 32-byte key
 * of PATH, then the kernel learns the new MKVP (back in the group when it is
 * the group's key).
 */
static char *ctl_master_key(const char *cmd, const char *arg)
{
	static const uint8_t zero[HSMG_MKVP_LEN];
	uint8_t mk[HSMG_CARD_MK_LEN], mkvp[HSMG_MKVP_LEN];
	char *out = NULL;
	size_t len = 0;
	struct stat st;
	FILE *f;
	int fd, ret;

	if (!strcmp(cmd, "zeroise")) {
		f = open_memstream(&out, &len);
		if (!f)
			return NULL;
		fputs("{\"ok\":true,\"states\":{", f);
		announce_mkvp(zero, f);
		pthread_rwlock_wrlock(&card_rw);
		ret = hsmg_card_set_mk(card, NULL);
		zeroised = true;
		pthread_rwlock_unlock(&card_rw);
		logmsg("master key zeroised (control socket)%s", ret ? ": failed" : "");
		fputs("}}", f);
		fclose(f);
		return out;
	}
	if (!*arg)
		return strdup("{\"ok\":false,\"error\":\"usage: import-mk PATH\"}");
	fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size != HSMG_CARD_MK_LEN ||
	    read(fd, mk, sizeof(mk)) != HSMG_CARD_MK_LEN) {
		if (fd >= 0)
			close(fd);
		OPENSSL_cleanse(mk, sizeof(mk));
		return strdup(
		    "{\"ok\":false,\"error\":\"not a readable 32-byte master key file\"}");
	}
	close(fd);
	pthread_rwlock_wrlock(&card_rw);
	ret = hsmg_card_set_mk(card, mk);
	if (!ret)
		zeroised = false;
	hsmg_card_mkvp(card, mkvp);
	pthread_rwlock_unlock(&card_rw);
	OPENSSL_cleanse(mk, sizeof(mk));
	if (ret)
		return strdup("{\"ok\":false,\"error\":\"key derivation failed\"}");
	logmsg("master key imported from %s: MKVP %02x%02x%02x%02x...", arg, mkvp[0], mkvp[1],
	       mkvp[2], mkvp[3]);
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"ok\":true,\"mkvp\":\"%02x%02x%02x%02x%02x%02x%02x%02x\",\"states\":{",
		mkvp[0], mkvp[1], mkvp[2], mkvp[3], mkvp[4], mkvp[5], mkvp[6], mkvp[7]);
	announce_mkvp(mkvp, f);
	fputs("}}", f);
	fclose(f);
	return out;
}

/* Returns the reply (malloc'ed) or NULL for no reply. */
static char *ctl_command(char *line)
{
	char *arg, *cmd = line;
	unsigned long long v = 0;
	double r;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	arg = cmd + strcspn(cmd, " \t");
	if (*arg) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	if (!strcmp(cmd, "status"))
		return ctl_status();
	if (!strcmp(cmd, "sessions"))
		return ctl_sessions();
	if (!strcmp(cmd, "zeroise") || !strcmp(cmd, "import-mk"))
		return ctl_master_key(cmd, arg);
	if (!strcmp(cmd, "crash")) {
		logmsg("fault: crash (control socket)");
		_exit(137);
	}
	if (!strcmp(cmd, "hang")) {
		set_hung(true, "control socket");
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "resume")) {
		set_hung(false, "control socket");
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "slow")) {
		if (parse_uint(arg, 60000000ULL, &v))
			return strdup("{\"ok\":false,\"error\":\"usage: slow US\"}");
		atomic_store(&slow_us, (unsigned int)v);
		logmsg("fault: slow %llu us", v);
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "error-rate")) {
		if (parse_rate(arg, &r))
			return strdup("{\"ok\":false,\"error\":\"usage: error-rate P (0..1)\"}");
		atomic_store(&error_rate, r);
		logmsg("fault: error-rate %g", r);
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "quota")) {
		if (parse_uint(arg, UINT_MAX, &v))
			return strdup("{\"ok\":false,\"error\":\"usage: quota N\"}");
		hsmg_card_set_quota(card, (unsigned int)v);
		logmsg("session quota %llu", v);
		return strdup("{\"ok\":true}");
	}
	return strdup("{\"ok\":false,\"error\":\"unknown command\"}");
}

static void ctl_serve_conn(int c)
{
	struct timeval tv = {5, 0};
	char line[CTL_LINE_MAX] = {0};
	size_t used = 0;
	ssize_t n;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		char *nl = memchr(line, '\n', used);

		if (!nl) {
			if (used == sizeof(line))
				return; /* line too long: drop the client */
			n = read(c, line + used, sizeof(line) - used);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (used == 0)
					return;
				nl = line + used; /* last line without newline */
				if (used == sizeof(line))
					return;
			} else {
				used += (size_t)n;
				continue;
			}
		}
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (line[0]) {
			char *reply = ctl_command(line);
			size_t rl;

			if (!reply)
				reply = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
			if (reply) {
				rl = strlen(reply);
				reply[rl] = '\n'; /* replace the terminator; write rl + 1 */
				if (write(c, reply, rl + 1) != (ssize_t)(rl + 1)) {
					free(reply);
					return;
				}
				free(reply);
			}
		}
		if (nl >= line + used)
			return;
		used -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, used);
	}
}

static void *ctl_main(void *arg)
{
	int s = (int)(intptr_t)arg;

	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			logmsg("control socket: accept: %s", strerror(errno));
			sleep_us(100000);
			continue;
		}
		ctl_serve_conn(c);
		close(c);
	}
	return NULL;
}

static int ctl_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hsmsimd: control socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(s, 16)) {
		fprintf(stderr, "hsmsimd: control socket %s: %s\n", path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

static int client(const char *path, const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[65536];
	size_t used = 0;
	ssize_t n;
	int s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hsmsimd: control socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "hsmsimd: cannot connect to %s: %s\n", path, strerror(errno));
		if (s >= 0)
			close(s);
		return 1;
	}
	if (write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(s, "\n", 1) != 1) {
		fprintf(stderr, "hsmsimd: cannot send to %s: %s\n", path, strerror(errno));
		close(s);
		return 1;
	}
	shutdown(s, SHUT_WR);
	while (used < sizeof(buf) - 1) {
		n = read(s, buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (memchr(buf, '\n', used))
			break;
	}
	close(s);
	buf[used] = '\0';
	if (!used) {
		if (!strncmp(cmd, "crash", 5))
			return 0; /* crash never answers */
		fprintf(stderr, "hsmsimd: no reply from %s\n", path);
		return 1;
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s\n", buf);
	return 0;
}

/* ---------------------------------------------------------------- main */

static int write_pid_file(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The card's count of failed logins: beside its master key, 0600, one
 * file per card (named by its first queue: cards may share a key file). */
static int set_pin_policy(void)
{
	char def[4096];
	const char *path = cfg.pin_count_file;

	if (!path) {
		if (snprintf(def, sizeof(def), "%s.%02x.%04x.pincount", cfg.mk_file,
			     cfg.queues[0].adapter, cfg.queues[0].domain) >= (int)sizeof(def)) {
			fprintf(stderr, "hsmsimd: --mk-file path too long\n");
			return -1;
		}
		path = def;
	}
	errno = 0;
	if (hsmg_card_set_pin_policy(card, cfg.pin_max, path)) {
		fprintf(stderr, "hsmsimd: %s: not a readable count of failed logins (%s)\n", path,
			errno ? strerror(errno) : "bad contents");
		return -1;
	}
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig; /* only interrupts blocking calls */
}

enum {
	OPT_QUEUE = 1000,
	OPT_MK,
	OPT_INFLIGHT,
	OPT_SPEED,
	OPT_QUOTA,
	OPT_KEYCACHE,
	OPT_PINMAX,
	OPT_PINFILE,
	OPT_SEPARATE,
	OPT_STANDBY,
	OPT_SERVICE,
	OPT_CRASH,
	OPT_HANG,
	OPT_SLOW,
	OPT_ERRRATE,
	OPT_CTL,
	OPT_PID,
	OPT_LOG,
	OPT_CMD,
	OPT_HELP,
};

static const struct option opts[] = {
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"mk-file", required_argument, NULL, OPT_MK},
    {"max-inflight", required_argument, NULL, OPT_INFLIGHT},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"quota", required_argument, NULL, OPT_QUOTA},
    {"key-cache", required_argument, NULL, OPT_KEYCACHE},
    {"pin-max-failures", required_argument, NULL, OPT_PINMAX},
    {"pin-count-file", required_argument, NULL, OPT_PINFILE},
    {"separate-complete", no_argument, NULL, OPT_SEPARATE},
    {"standby", no_argument, NULL, OPT_STANDBY},
    {"service-us", required_argument, NULL, OPT_SERVICE},
    {"crash-after", required_argument, NULL, OPT_CRASH},
    {"hang-after", required_argument, NULL, OPT_HANG},
    {"slow", required_argument, NULL, OPT_SLOW},
    {"error-rate", required_argument, NULL, OPT_ERRRATE},
    {"ctl", required_argument, NULL, OPT_CTL},
    {"pid-file", required_argument, NULL, OPT_PID},
    {"log-file", required_argument, NULL, OPT_LOG},
    {"cmd", required_argument, NULL, OPT_CMD},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv)
{
	unsigned long long v = 0;
	double r;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (o) {
		case OPT_QUEUE:
			if (parse_queue(optarg))
				bad = "--queue wants AA.DDDD (hex, 0..ff each, no duplicates)";
			break;
		case OPT_MK:
			cfg.mk_file = optarg;
			break;
		case OPT_INFLIGHT:
			if (parse_uint(optarg, HSMG_MAX_INFLIGHT, &v) || !v)
				bad = "--max-inflight wants 1..1024";
			cfg.max_inflight = (unsigned int)v;
			break;
		case OPT_SPEED:
			if (parse_uint(optarg, 10000, &v) || !v)
				bad = "--speed wants 1..10000";
			cfg.speed = (unsigned int)v;
			break;
		case OPT_QUOTA:
			if (parse_uint(optarg, UINT_MAX, &v))
				bad = "--quota wants a number";
			cfg.quota = (unsigned int)v;
			break;
		case OPT_SEPARATE:
			atomic_store(&complete_fetch, 0);
			break;
		case OPT_KEYCACHE:
			if (parse_uint(optarg, HSMG_CARD_KEY_CACHE_MAX, &v))
				bad = "--key-cache wants 0..4096";
			cfg.key_cache = (unsigned int)v;
			break;
		case OPT_PINMAX:
			if (parse_uint(optarg, 1000, &v) || !v)
				bad = "--pin-max-failures wants 1..1000";
			cfg.pin_max = (unsigned int)v;
			break;
		case OPT_PINFILE:
			cfg.pin_count_file = optarg;
			break;
		case OPT_STANDBY:
			cfg.standby = true;
			break;
		case OPT_SERVICE:
			if (parse_service(optarg))
				bad = "--service-us wants CLASS=US";
			break;
		case OPT_CRASH:
			if (parse_uint(optarg, UINT64_MAX, &v))
				bad = "--crash-after wants a number";
			cfg.crash_after = v;
			break;
		case OPT_HANG:
			if (parse_uint(optarg, UINT64_MAX, &v))
				bad = "--hang-after wants a number";
			cfg.hang_after = v;
			break;
		case OPT_SLOW:
			if (parse_uint(optarg, 60000000ULL, &v))
				bad = "--slow wants microseconds";
			atomic_store(&slow_us, (unsigned int)v);
			break;
		case OPT_ERRRATE:
			if (parse_rate(optarg, &r))
				bad = "--error-rate wants 0..1";
			atomic_store(&error_rate, r);
			break;
		case OPT_CTL:
			cfg.ctl_path = optarg;
			break;
		case OPT_PID:
			cfg.pid_file = optarg;
			break;
		case OPT_LOG:
			cfg.log_file = optarg;
			break;
		case OPT_CMD:
			cfg.cmd = optarg;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "hsmsimd: %s (got '%s')\n", bad, optarg);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsmsimd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t mk[HSMG_CARD_MK_LEN], mkvp[HSMG_MKVP_LEN];
	struct sigaction sa = {.sa_handler = on_usr1};
	sigset_t set;
	pthread_t ctl_thread;
	int ctl_sock = -1, sig = 0, ret = 1;
	unsigned int i;
	bool created;

	log_fp = stderr;
	if (parse_args(argc, argv))
		return 2;
	if (cfg.cmd) {
		if (!cfg.ctl_path) {
			fprintf(stderr, "hsmsimd: --cmd needs --ctl PATH\n");
			return 2;
		}
		return client(cfg.ctl_path, cfg.cmd);
	}
	if (!cfg.nqueues || !cfg.mk_file) {
		fprintf(stderr, "hsmsimd: need at least one --queue and --mk-file\n");
		usage(stderr);
		return 2;
	}
	if (cfg.log_file) {
		int fd = open(cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		log_fp = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!log_fp) {
			fprintf(stderr, "hsmsimd: cannot open log %s: %s\n", cfg.log_file,
				strerror(errno));
			return 1;
		}
	}

	/* Signals: TERM/INT for the main thread only (sigwait), USR1 to wake
	 * workers, PIPE ignored (control clients that go away). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: ioctls return EINTR */
	signal(SIGPIPE, SIG_IGN);

	if (load_mk(cfg.mk_file, mk, &created))
		return 1;
	card = hsmg_card_new(mk, cfg.nqueues, cfg.quota);
	OPENSSL_cleanse(mk, sizeof(mk));
	if (card && hsmg_card_set_key_cache(card, cfg.key_cache)) {
		hsmg_card_free(card);
		card = NULL;
	}
	if (!card) {
		fprintf(stderr, "hsmsimd: cannot set up the card\n");
		return 1;
	}
	if (set_pin_policy())
		return 1;
	hsmg_card_mkvp(card, mkvp);
	logmsg("start: %u queue(s), master key %s %s, MKVP %02x%02x%02x%02x..., max_inflight %u, "
	       "speed %u, quota %u, key cache %u%s",
	       cfg.nqueues, created ? "created in" : "from", cfg.mk_file, mkvp[0], mkvp[1], mkvp[2],
	       mkvp[3], cfg.max_inflight, cfg.speed, cfg.quota, cfg.key_cache,
	       cfg.standby ? ", standby" : "");
	if (cfg.crash_after || cfg.hang_after || atomic_load(&slow_us) ||
	    atomic_load(&error_rate) > 0.0)
		logmsg("fault: crash-after %" PRIu64 " hang-after %" PRIu64
		       " slow %u us error-rate %g",
		       cfg.crash_after, cfg.hang_after, atomic_load(&slow_us),
		       atomic_load(&error_rate));

	if (cfg.ctl_path) {
		ctl_sock = ctl_listen(cfg.ctl_path);
		if (ctl_sock < 0 ||
		    pthread_create(&ctl_thread, NULL, ctl_main, (void *)(intptr_t)ctl_sock)) {
			logmsg("cannot start the control socket %s", cfg.ctl_path);
			goto out;
		}
		pthread_detach(ctl_thread);
	}
	for (i = 0; i < cfg.nqueues; i++)
		if (attach(&cfg.queues[i], mkvp) || start_workers(&cfg.queues[i]))
			goto out;
	if (cfg.pid_file && write_pid_file(cfg.pid_file)) {
		logmsg("cannot write pid file %s: %s", cfg.pid_file, strerror(errno));
		goto out;
	}

	while (sigwait(&set, &sig) == EINTR)
		;
	logmsg("signal %d: stopping", sig);
	ret = 0;
out:
	atomic_store(&stopping, true);
	pthread_mutex_lock(&fault_lock);
	pthread_cond_broadcast(&fault_cond);
	pthread_mutex_unlock(&fault_lock);
	for (i = 0; i < cfg.nqueues; i++)
		stop_workers(&cfg.queues[i]);
	for (i = 0; i < cfg.nqueues; i++)
		detach(&cfg.queues[i]);
	if (cfg.pid_file && ret == 0)
		unlink(cfg.pid_file);
	if (cfg.ctl_path && ctl_sock >= 0)
		unlink(cfg.ctl_path);
	logmsg("exit %d", ret);
	/* The control thread may still use the card: leave it to exit(). */
	return ret;
}
