// SPDX-License-Identifier: GPL-2.0
/*
 * provider - the daemon around a provider's cards (provider.h): queues on
 * /dev/hsmgroup-backend, workers, the control socket, faults, signals.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provider.h"

#define FETCH_BUF_LEN (HSMG_BE_REQ_SIZE + HSMG_MAX_MSG_SIZE + HSMG_MSG_ALIGN)
#define CTL_LINE_MAX  256

struct prov prov;

static const char *const class_names[HSMG_OP_NR] = {
    [HSMG_OP_NULL] = "null",	       [HSMG_OP_RANDOM] = "random", [HSMG_OP_DIGEST] = "digest",
    [HSMG_OP_SYMMETRIC] = "symmetric", [HSMG_OP_SIGN] = "sign",	    [HSMG_OP_VERIFY] = "verify",
    [HSMG_OP_KEYGEN] = "keygen",
};

/* Run-time state shared by the threads. */
static atomic_bool stopping;
static atomic_uint_least64_t crypto_seen; /* for --crash-after / --hang-after */
static atomic_uint_least64_t total_errors;
static atomic_uint slow_us;
static _Atomic double error_rate;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fault_cond = PTHREAD_COND_INITIALIZER;
static bool hung; /* under fault_lock */

static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void prov_log(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp ? log_fp : stderr, "%s.%03ld %s[%d]: ", when, ts.tv_nsec / 1000000,
		prov.ops->name, (int)getpid());
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	fflush(log_fp);
	pthread_mutex_unlock(&log_lock);
}

int prov_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
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

struct prov_queue *prov_parse_queue(const char *s)
{
	struct prov_queue *q;
	unsigned int a, d, i;

	if (strlen(s) != 7 || s[2] != '.' || !is_hex(s, 2) || !is_hex(s + 3, 4))
		return NULL;
	a = (unsigned int)strtoul(s, NULL, 16);
	d = (unsigned int)strtoul(s + 3, NULL, 16);
	if (a > 255 || d > 255)
		return NULL;
	for (i = 0; i < prov.nqueues; i++)
		if (prov.queues[i].adapter == a && prov.queues[i].domain == d)
			return NULL;
	if (prov.nqueues >= PROV_MAX_QUEUES)
		return NULL;
	q = &prov.queues[prov.nqueues++];
	q->adapter = a;
	q->domain = d;
	q->fd = -1;
	q->max_inflight = 4;
	q->speed = 100;
	return q;
}

static int parse_service(const char *s)
{
	const char *eq = strchr(s, '=');
	unsigned long long us;
	unsigned int c;

	if (!eq || prov_parse_uint(eq + 1, 60000000ULL, &us))
		return -1;
	for (c = 0; c < HSMG_OP_NR; c++) {
		if (strlen(class_names[c]) == (size_t)(eq - s) &&
		    !strncmp(class_names[c], s, (size_t)(eq - s))) {
			prov.service_us[c] = (unsigned int)us;
			return 0;
		}
	}
	return -1;
}

uint64_t prov_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void prov_sleep_us(uint64_t us)
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
		prov_log("fault: %s (%s)", h ? "hang" : "resume", why);
	}
	pthread_cond_broadcast(&fault_cond);
	pthread_mutex_unlock(&fault_lock);
}

/* 1 while the module takes HSMG_COMPLETE_FETCH (0 after an -EINVAL for it,
 * or --separate-complete). */
static atomic_int complete_fetch = 1;

static void complete(struct prov_queue *q, uint64_t tag, uint32_t status, const void *data,
		     uint32_t len)
{
	struct hsmg_be_completion e = {.tag = tag, .status = status, .len = len};
	struct hsmg_be_complete c = {.argsz = sizeof(c), .count = 1};

	e.data = (uintptr_t)data;
	c.entries = (uintptr_t)&e;
	while (ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &c) < 0) {
		if (errno == EINTR && !atomic_load(&stopping))
			continue;
		prov_log("queue %02x.%04x: complete failed: %s", q->adapter, q->domain,
			 strerror(errno));
		break;
	}
}

/*
 * Serve one request into @ans.  Returns true with the answer in @out when
 * there is one to send; a hung card answers nothing.
 */
static bool serve(struct prov_worker *w, const struct hsmg_be_req *req, const uint8_t *payload,
		  uint8_t *ans, struct hsmg_be_completion *out)
{
	struct prov_queue *q = w->q;
	struct hsmg_card_result res = {0};
	uint64_t n, us = 0;
	bool crypto = req->type == HSMG_BE_REQ_CRYPTO;

	if (crypto) {
		atomic_fetch_add(&q->requests, 1);
		n = atomic_fetch_add(&crypto_seen, 1) + 1;
		if (prov.crash_after && n > prov.crash_after) {
			prov_log("fault: crash after %" PRIu64 " requests", prov.crash_after);
			raise(SIGKILL);
			_exit(137);
		}
		if (prov.hang_after && n == prov.hang_after + 1)
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
			us = prov.service_us[req->op_class];
	} else if (req->type == HSMG_BE_REQ_LOGIN) {
		us = prov.service_us[HSMG_OP_NULL];
	}
	us = us * 100 / q->speed + atomic_load(&slow_us);
	prov_sleep_us(us);

	atomic_store(&w->busy_class, crypto ? req->op_class : HSMG_OP_NR);
	atomic_store(&w->busy_since_ns, prov_now_ns());
	prov.ops->process(q, req, payload, ans, &res);
	atomic_store(&w->busy_since_ns, 0);
	if (crypto && (res.status != HSMG_BE_OK || res.rv != 0)) {
		atomic_fetch_add(&q->errors, 1);
		atomic_fetch_add(&total_errors, 1);
	}
	if (res.status == HSMG_BE_QUOTA)
		prov_log("queue %02x.%04x: session quota %u reached", q->adapter, q->domain,
			 hsmg_card_quota(q->card));
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
static int answer_and_fetch(struct prov_queue *q, struct hsmg_be_completion *c, bool have,
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
			prov_log("queue %02x.%04x: the module has no HSMG_COMPLETE_FETCH; "
				 "completing and fetching separately",
				 q->adapter, q->domain);
		} else {
			if (ret < 0 && !cp.done)
				prov_log("queue %02x.%04x: complete failed: %s", q->adapter,
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
	struct prov_worker *w = arg;
	struct prov_queue *q = w->q;
	uint8_t *buf = malloc(FETCH_BUF_LEN), *ans = malloc(HSMG_MAX_MSG_SIZE);
	struct hsmg_be_completion c = {0};
	unsigned int backoff_ms = 0;
	bool have = false;

	if (!buf || !ans) {
		prov_log("queue %02x.%04x: out of memory in worker", q->adapter, q->domain);
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
				prov_log("queue %02x.%04x: fetch failed: %s", q->adapter, q->domain,
					 strerror(errno));
			backoff_ms = backoff_ms ? (backoff_ms < 1000 ? backoff_ms * 2 : 1000) : 10;
			prov_sleep_us(backoff_ms * 1000ULL);
			continue;
		}
		backoff_ms = 0;
		for (i = 0; i < f.nreqs && !atomic_load(&stopping); i++) {
			if (f.used > FETCH_BUF_LEN || f.used - off < HSMG_BE_REQ_SIZE)
				break;
			memcpy(&req, buf + off, sizeof(req));
			off += HSMG_BE_REQ_SIZE;
			if (req.len > f.used - off) {
				prov_log("queue %02x.%04x: fetched request overruns the buffer",
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

const char *prov_state_name(uint32_t s)
{
	static const char *const n[] = {"online",   "suspect", "offline",  "recovering",
					"draining", "standby", "disabled", "mismatch"};

	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static int attach(struct prov_queue *q)
{
	struct hsmg_be_attach a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.flags = prov.standby ? HSMG_ATTACH_STANDBY : 0;
	a.adapter = q->adapter;
	a.domain = q->domain;
	a.capabilities = (1ULL << HSMG_OP_NR) - 1;
	a.max_inflight = q->max_inflight;
	a.speed = q->speed;
	a.max_sessions = hsmg_card_quota(q->card);
	memcpy(a.mkvp, q->mkvp, HSMG_MKVP_LEN);
	q->fd = open(HSMG_BACKEND_DEVICE, O_RDWR | O_CLOEXEC);
	if (q->fd < 0) {
		prov_log("queue %02x.%04x: cannot open %s: %s", q->adapter, q->domain,
			 HSMG_BACKEND_DEVICE, strerror(errno));
		return -1;
	}
	if (ioctl(q->fd, HSMG_IOC_BE_ATTACH, &a) < 0) {
		prov_log("queue %02x.%04x: attach failed: %s", q->adapter, q->domain,
			 strerror(errno));
		close(q->fd);
		q->fd = -1;
		return -1;
	}
	q->attached = true;
	q->queue_id = a.queue_id;
	q->group_id = a.group_id;
	q->state = a.state;
	prov_log("attach %02x.%04x: queue_id %u group_id %u state %s%s", q->adapter, q->domain,
		 a.queue_id, a.group_id, prov_state_name(a.state),
		 prov.standby ? " (standby)" : "");
	return 0;
}

static void detach(struct prov_queue *q)
{
	if (q->fd < 0)
		return;
	if (ioctl(q->fd, HSMG_IOC_BE_DETACH) < 0 && errno != ENOTTY)
		prov_log("queue %02x.%04x: detach ioctl: %s", q->adapter, q->domain,
			 strerror(errno));
	close(q->fd);
	q->fd = -1;
	q->attached = false;
	hsmg_card_drop_queue(q->card, q->index);
	prov_log("detach %02x.%04x: queue_id %u", q->adapter, q->domain, q->queue_id);
}

static int start_workers(struct prov_queue *q)
{
	unsigned int i;

	q->nworkers = q->max_inflight < PROV_MAX_WORKERS ? q->max_inflight : PROV_MAX_WORKERS;
	for (i = 0; i < q->nworkers; i++) {
		struct prov_worker *w = &q->workers[i];

		w->q = q;
		w->seed = (unsigned int)(getpid() * 7919u + q->index * 131u + i);
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			prov_log("queue %02x.%04x: cannot start worker", q->adapter, q->domain);
			return -1;
		}
		w->started = true;
	}
	return 0;
}

/* Wake workers out of blocking ioctls/sleeps with SIGUSR1 until they exit. */
static void stop_workers(struct prov_queue *q)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < q->nworkers; i++) {
		struct prov_worker *w = &q->workers[i];

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

/* The distinct cards of the queues, in queue order: 0..n-1 of @out. */
static unsigned int cards(struct hsmg_card **out)
{
	unsigned int i, k, n = 0;

	for (i = 0; i < prov.nqueues; i++) {
		for (k = 0; k < n && out[k] != prov.queues[i].card; k++)
			;
		if (k == n && prov.queues[i].card)
			out[n++] = prov.queues[i].card;
	}
	return n;
}

static char *ctl_status(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unsigned int i;
	bool h;

	if (!f)
		return NULL;
	pthread_mutex_lock(&fault_lock);
	h = hung;
	pthread_mutex_unlock(&fault_lock);
	fprintf(f, "{\"pid\":%d,\"fault\":\"%s\",\"slow_us\":%u,\"error_rate\":%g", (int)getpid(),
		h ? "hang" : "none", atomic_load(&slow_us), atomic_load(&error_rate));
	if (prov.ops->status)
		prov.ops->status(f);
	fprintf(f,
		",\"requests\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"crash_after\":%" PRIu64
		",\"hang_after\":%" PRIu64 ",\"queues\":[",
		(uint64_t)atomic_load(&crypto_seen), (uint64_t)atomic_load(&total_errors),
		prov.crash_after, prov.hang_after);
	for (i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];

		fprintf(f,
			"%s{\"queue\":\"%02x.%04x\",\"attached\":%s,\"queue_id\":%u,"
			"\"group_id\":%u,\"state\":\"%s\",\"requests\":%" PRIu64
			",\"errors\":%" PRIu64 ",\"sessions\":%u",
			i ? "," : "", q->adapter, q->domain, q->attached ? "true" : "false",
			q->queue_id, q->group_id, prov_state_name(q->state),
			(uint64_t)atomic_load(&q->requests), (uint64_t)atomic_load(&q->errors),
			q->card ? hsmg_card_sessions(q->card, (int)q->index) : 0);
		if (prov.ops->queue_status)
			prov.ops->queue_status(f, q);
		fputc('}', f);
	}
	fputs("]}", f);
	fclose(f);
	return out;
}

/* The live session ids of every card, each once: how many (more than @cap
 * when they do not fit). */
static size_t session_ids(uint64_t *ids, size_t cap)
{
	struct hsmg_card *cs[PROV_MAX_QUEUES];
	unsigned int nc = cards(cs), c;
	size_t n = 0, got, i, k, over = 0;
	uint64_t *tmp;

	for (c = 0; c < nc; c++) {
		got = hsmg_card_session_ids(cs[c], NULL, 0);
		tmp = calloc(got ? got : 1, sizeof(*tmp));
		if (!tmp)
			return SIZE_MAX;
		got = hsmg_card_session_ids(cs[c], tmp, got);
		for (i = 0; i < got; i++) {
			for (k = 0; k < n && k < cap && ids[k] != tmp[i]; k++)
				;
			if (k < n && k < cap)
				continue;
			if (n < cap)
				ids[n] = tmp[i];
			else
				over++;
			n++;
		}
		free(tmp);
	}
	(void)over;
	return n;
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
		n = session_ids(ids, cap);
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

int prov_set_mkvp(struct prov_queue *q, const uint8_t mkvp[HSMG_MKVP_LEN])
{
	struct hsmg_be_set_mkvp sm = {.argsz = sizeof(sm)};

	memcpy(q->mkvp, mkvp, HSMG_MKVP_LEN);
	if (!q->attached)
		return 0;
	memcpy(sm.mkvp, mkvp, HSMG_MKVP_LEN);
	if (ioctl(q->fd, HSMG_IOC_BE_SET_MKVP, &sm) < 0) {
		prov_log("queue %02x.%04x: set mkvp: %s", q->adapter, q->domain, strerror(errno));
		return -1;
	}
	q->state = sm.state;
	prov_log("queue %02x.%04x: MKVP %02x%02x%02x%02x... told to the kernel: state %s",
		 q->adapter, q->domain, mkvp[0], mkvp[1], mkvp[2], mkvp[3],
		 prov_state_name(sm.state));
	return 0;
}

/* Returns the reply (malloc'ed) or NULL for no reply. */
static char *ctl_command(char *line)
{
	struct hsmg_card *cs[PROV_MAX_QUEUES];
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
	if (!strcmp(cmd, "crash")) {
		prov_log("fault: crash (control socket)");
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
		if (prov_parse_uint(arg, 60000000ULL, &v))
			return strdup("{\"ok\":false,\"error\":\"usage: slow US\"}");
		atomic_store(&slow_us, (unsigned int)v);
		prov_log("fault: slow %llu us", v);
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "error-rate")) {
		if (parse_rate(arg, &r))
			return strdup("{\"ok\":false,\"error\":\"usage: error-rate P (0..1)\"}");
		atomic_store(&error_rate, r);
		prov_log("fault: error-rate %g", r);
		return strdup("{\"ok\":true}");
	}
	if (!strcmp(cmd, "quota")) {
		if (prov_parse_uint(arg, UINT_MAX, &v))
			return strdup("{\"ok\":false,\"error\":\"usage: quota N\"}");
		for (unsigned int i = 0, n = cards(cs); i < n; i++)
			hsmg_card_set_quota(cs[i], (unsigned int)v);
		prov_log("session quota %llu", v);
		return strdup("{\"ok\":true}");
	}
	if (prov.ops->command) {
		char *reply = prov.ops->command(cmd, arg);

		if (reply)
			return reply;
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
			prov_log("control socket: accept: %s", strerror(errno));
			prov_sleep_us(100000);
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
		fprintf(stderr, "%s: control socket path too long\n", prov.ops->name);
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(s, 16)) {
		fprintf(stderr, "%s: control socket %s: %s\n", prov.ops->name, path,
			strerror(errno));
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
		fprintf(stderr, "%s: control socket path too long\n", prov.ops->name);
		return 1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prov.ops->name, path,
			strerror(errno));
		if (s >= 0)
			close(s);
		return 1;
	}
	if (write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(s, "\n", 1) != 1) {
		fprintf(stderr, "%s: cannot send to %s: %s\n", prov.ops->name, path,
			strerror(errno));
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
		fprintf(stderr, "%s: no reply from %s\n", prov.ops->name, path);
		return 1;
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s\n", buf);
	return 0;
}

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

static void on_usr1(int sig)
{
	(void)sig; /* only interrupts blocking calls */
}

/* ---------------------------------------------------------------- run */

const char prov_options_usage[] =
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
    "                      slow US, error-rate P, quota N, and the tool's own)\n"
    "  --pid-file PATH     written once every queue is attached\n"
    "  --log-file PATH     log here instead of stderr\n"
    "  --cmd CMD           client mode: send CMD to --ctl, print the reply\n";

int prov_option(int opt, const char *arg, const char **bad)
{
	unsigned long long v = 0;
	double r;

	switch (opt) {
	case PROV_OPT_SEPARATE:
		atomic_store(&complete_fetch, 0);
		return 0;
	case PROV_OPT_STANDBY:
		prov.standby = true;
		return 0;
	case PROV_OPT_SERVICE:
		if (parse_service(arg))
			*bad = "--service-us wants CLASS=US";
		break;
	case PROV_OPT_CRASH:
		if (prov_parse_uint(arg, UINT64_MAX, &v))
			*bad = "--crash-after wants a number";
		prov.crash_after = v;
		break;
	case PROV_OPT_HANG:
		if (prov_parse_uint(arg, UINT64_MAX, &v))
			*bad = "--hang-after wants a number";
		prov.hang_after = v;
		break;
	case PROV_OPT_SLOW:
		if (prov_parse_uint(arg, 60000000ULL, &v))
			*bad = "--slow wants microseconds";
		atomic_store(&slow_us, (unsigned int)v);
		break;
	case PROV_OPT_ERRRATE:
		if (parse_rate(arg, &r))
			*bad = "--error-rate wants 0..1";
		else
			atomic_store(&error_rate, r);
		break;
	case PROV_OPT_CTL:
		prov.ctl_path = arg;
		return 0;
	case PROV_OPT_PID:
		prov.pid_file = arg;
		return 0;
	case PROV_OPT_LOG:
		prov.log_file = arg;
		return 0;
	case PROV_OPT_CMD:
		prov.cmd = arg;
		return 0;
	default:
		return 1;
	}
	return *bad ? -1 : 0;
}

int prov_client(void)
{
	if (!prov.ctl_path) {
		fprintf(stderr, "%s: --cmd needs --ctl PATH\n", prov.ops->name);
		return 2;
	}
	return client(prov.ctl_path, prov.cmd);
}

int prov_open_log(void)
{
	int fd;

	log_fp = stderr;
	if (!prov.log_file)
		return 0;
	fd = open(prov.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	log_fp = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!log_fp) {
		fprintf(stderr, "%s: cannot open log %s: %s\n", prov.ops->name, prov.log_file,
			strerror(errno));
		log_fp = stderr;
		return -1;
	}
	return 0;
}

int prov_run(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigset_t set;
	pthread_t ctl_thread;
	int ctl_sock = -1, sig = 0, ret = 1;
	unsigned int i;

	/* Signals: TERM/INT for the main thread only (sigwait), USR1 to wake
	 * workers, PIPE ignored (control clients that go away). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: ioctls return EINTR */
	signal(SIGPIPE, SIG_IGN);

	if (prov.crash_after || prov.hang_after || atomic_load(&slow_us) ||
	    atomic_load(&error_rate) > 0.0)
		prov_log("fault: crash-after %" PRIu64 " hang-after %" PRIu64
			 " slow %u us error-rate %g",
			 prov.crash_after, prov.hang_after, atomic_load(&slow_us),
			 atomic_load(&error_rate));
	if (prov.ctl_path) {
		ctl_sock = ctl_listen(prov.ctl_path);
		if (ctl_sock < 0 ||
		    pthread_create(&ctl_thread, NULL, ctl_main, (void *)(intptr_t)ctl_sock)) {
			prov_log("cannot start the control socket %s", prov.ctl_path);
			goto out;
		}
		pthread_detach(ctl_thread);
	}
	for (i = 0; i < prov.nqueues; i++)
		if (attach(&prov.queues[i]) || start_workers(&prov.queues[i]))
			goto out;
	if (prov.pid_file && write_pid_file(prov.pid_file)) {
		prov_log("cannot write pid file %s: %s", prov.pid_file, strerror(errno));
		goto out;
	}

	while (sigwait(&set, &sig) == EINTR)
		;
	prov_log("signal %d: stopping", sig);
	ret = 0;
out:
	atomic_store(&stopping, true);
	pthread_mutex_lock(&fault_lock);
	pthread_cond_broadcast(&fault_cond);
	pthread_mutex_unlock(&fault_lock);
	for (i = 0; i < prov.nqueues; i++)
		stop_workers(&prov.queues[i]);
	for (i = 0; i < prov.nqueues; i++)
		detach(&prov.queues[i]);
	if (prov.pid_file && ret == 0)
		unlink(prov.pid_file);
	if (prov.ctl_path && ctl_sock >= 0)
		unlink(prov.ctl_path);
	prov_log("exit %d", ret);
	/* The control thread may still use the cards: leave them to exit(). */
	return ret;
}
