// SPDX-License-Identifier: GPL-2.0
/*
 * Shared helpers of the hsmgroup kselftests: test queues and their card
 * threads, module parameters, client call wrappers.  See fixture.h.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "client.h"
#include "fixture.h"

#define PARAM_DIR      "/sys/module/hsmgroup/parameters/"
#define FETCH_BUF_LEN  (2 * HSMG_MAX_MSG_SIZE)
#define ONLINE_WAIT_MS 10000

/* ---- environment ---- */

const char *hsmg_skip_reason(void)
{
	if (access(HSMG_CLIENT_DEVICE, F_OK))
		return HSMG_CLIENT_DEVICE " missing (hsmgroup.ko not loaded?)";
	if (access(HSMG_BACKEND_DEVICE, F_OK))
		return HSMG_BACKEND_DEVICE " missing (hsmgroup.ko not loaded?)";
	if (geteuid() != 0)
		return "needs root (CAP_SYS_ADMIN for the backend device)";
	return NULL;
}

int hsmg_open_client(void)
{
	int fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int hsmg_open_backend(void)
{
	int fd = open(HSMG_BACKEND_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int hsmg_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

void hsmg_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			continue;
		p += n;
		len -= n;
	}
}

void hsmg_random_mkvp(uint8_t mkvp[HSMG_MKVP_LEN])
{
	do
		hsmg_random(mkvp, HSMG_MKVP_LEN);
	while (!mkvp[0]); /* never all zero; first byte non-zero is enough */
}

uint64_t hsmg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

void hsmg_sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void *hsmg_guard_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mprotect(p + pg, pg, PROT_NONE);
	memset(p, 0, pg);
	return p;
}

void hsmg_guard_page_free(void *p)
{
	if (p)
		munmap(p, 2 * sysconf(_SC_PAGESIZE));
}

/* ---- module parameters ---- */

static struct {
	char name[64];
	long val;
} saved_params[16];
static unsigned int nsaved;

int hsmg_param_get(const char *name, long *val)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*val = strtol(buf, NULL, 0);
	return 0;
}

long hsmg_sysfs_attr(const char *dev, const char *name)
{
	char path[192];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/hsmgroup/%s/%s", dev, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int hsmg_wait_sleeping(const pid_t *tid, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;
	char path[64], buf[256], *p;
	pid_t t;
	FILE *f;

	for (;;) {
		t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", t);
		f = t ? fopen(path, "r") : NULL;
		p = NULL;
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				p = strrchr(buf, ')');
			fclose(f);
		}
		if (p && p[1] == ' ' && p[2] == 'S')
			return 0;
		if (hsmg_now_ms() > end)
			return -ETIMEDOUT;
		hsmg_sleep_ms(5);
	}
}

static int param_write(const char *name, long val)
{
	char path[128], buf[32];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", val);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

int hsmg_param_set(const char *name, long val)
{
	unsigned int i;
	long old;
	int ret;

	ret = hsmg_param_get(name, &old);
	if (ret)
		return ret;
	for (i = 0; i < nsaved; i++)
		if (!strcmp(saved_params[i].name, name))
			break;
	if (i == nsaved && nsaved < 16) {
		snprintf(saved_params[i].name, sizeof(saved_params[i].name), "%s", name);
		saved_params[i].val = old;
		nsaved++;
	}
	return param_write(name, val);
}

void hsmg_params_restore(void)
{
	while (nsaved) {
		nsaved--;
		param_write(saved_params[nsaved].name, saved_params[nsaved].val);
	}
}

/* ---- the card thread ---- */

void tq_pin_blob(uint8_t seed, const void *pin, uint32_t pin_len, uint8_t blob[HSMG_PIN_BLOB_LEN])
{
	const uint8_t *p = pin;
	unsigned int i;

	for (i = 0; i < HSMG_PIN_BLOB_LEN; i++)
		blob[i] = seed ^ (uint8_t)(i * 7) ^ (pin_len ? p[i % pin_len] : 0);
}

static void log_event(struct tq *q, const struct hsmg_be_req *r, const uint8_t *data)
{
	struct tq_event *ev;

	if (r->type < 4)
		q->count[r->type]++;
	if (q->nlog >= TQ_LOG_MAX)
		return;
	ev = &q->log[q->nlog++];
	ev->tag = r->tag;
	ev->type = r->type;
	ev->op_class = r->op_class;
	ev->session = r->session;
	ev->session_flags = r->session_flags;
	ev->len = r->len;
	memcpy(ev->data, data, r->len < TQ_LOG_DATA ? r->len : TQ_LOG_DATA);
}

static int live_find(struct tq *q, uint64_t session)
{
	unsigned int i;

	for (i = 0; i < q->nlive; i++)
		if (q->live[i] == session)
			return i;
	return -1;
}

/*
 * Decide the answer to one request, under q->lock.  Returns false when the
 * request is held (not answered now).
 */
static bool answer(struct tq *q, const struct hsmg_be_req *r, uint8_t *data,
		   struct hsmg_be_completion *c, uint8_t *blob)
{
	c->tag = r->tag;
	c->status = HSMG_BE_OK;
	c->len = 0;
	c->data = 0;

	if (q->mode == TQ_HANG || (q->mode == TQ_HOLD && r->type == HSMG_BE_REQ_CRYPTO)) {
		if (q->nheld < TQ_HELD_MAX)
			q->held[q->nheld++] = r->tag;
		pthread_cond_broadcast(&q->cond);
		return false;
	}

	switch (r->type) {
	case HSMG_BE_REQ_CRYPTO:
		c->status = q->crypto_status;
		if (c->status == HSMG_BE_OK) {
			c->len = r->len;
			c->data = (uintptr_t)data;
		}
		break;
	case HSMG_BE_REQ_LOGIN: {
		const struct hsmg_be_login *l = (const void *)data;
		const uint8_t *pin = data + sizeof(*l);
		uint32_t pin_len = 0;

		if (r->len >= sizeof(*l) && sizeof(*l) + l->pin_len <= r->len)
			pin_len = l->pin_len;
		c->status = q->login_status;
		if (c->status == HSMG_BE_OK && q->card_quota && live_find(q, r->session) < 0 &&
		    q->nlive >= q->card_quota)
			c->status = HSMG_BE_QUOTA;
		if (c->status != HSMG_BE_OK)
			break;
		if (live_find(q, r->session) < 0 && q->nlive < TQ_MAX_LIVE)
			q->live[q->nlive++] = r->session;
		tq_pin_blob(q->pin_seed, pin, pin_len, blob);
		c->len = HSMG_PIN_BLOB_LEN;
		c->data = (uintptr_t)blob;
		break;
	}
	case HSMG_BE_REQ_LOGOUT: {
		int i = live_find(q, r->session);

		if (i >= 0)
			q->live[i] = q->live[--q->nlive];
		break;
	}
	default:
		break;
	}
	return true;
}

static void *card_thread(void *arg)
{
	struct tq *q = arg;
	uint8_t(*blobs)[HSMG_PIN_BLOB_LEN];
	struct hsmg_be_completion *cs;

	blobs = calloc(HSMG_MAX_BATCH, HSMG_PIN_BLOB_LEN);
	cs = calloc(HSMG_MAX_BATCH, sizeof(*cs));
	if (!blobs || !cs)
		goto out;

	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = q->fd, .events = POLLIN},
		    {.fd = q->stop_pipe[0], .events = POLLIN},
		};
		struct hsmg_be_fetch f = {0};
		struct hsmg_be_complete cp = {0};
		unsigned int i, n = 0, delay;
		size_t off = 0;
		int ret;

		pthread_mutex_lock(&q->lock);
		ret = q->mode == TQ_STOP;
		pthread_mutex_unlock(&q->lock);
		/* While stopped or detached, only watch the stop pipe. */
		if (ret || !q->attached)
			pfd[0].fd = -1;
		ret = poll(pfd, 2, ret ? 20 : 100);
		if (pfd[1].revents)
			break;
		if (ret < 0 || pfd[0].fd < 0)
			continue;

		f.argsz = sizeof(f);
		f.flags = HSMG_FETCH_NONBLOCK;
		f.max_reqs = q->fetch_max ? q->fetch_max : HSMG_MAX_BATCH;
		f.buf_len = q->buf_len;
		f.buf = (uintptr_t)q->buf;
		/*
		 * The mode is checked again and the fetch done under the lock,
		 * so once tq_set_mode(TQ_STOP) returns nothing submitted after
		 * it is fetched (the poll above may have started before).
		 */
		pthread_mutex_lock(&q->lock);
		if (q->mode == TQ_STOP) {
			pthread_mutex_unlock(&q->lock);
			continue;
		}
		ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_FETCH, &f);
		if (ret) {
			if (ret != -EAGAIN)
				q->fetch_err = ret;
			pthread_mutex_unlock(&q->lock);
			if (ret != -EAGAIN)
				hsmg_sleep_ms(20);
			continue;
		}
		for (i = 0; i < f.nreqs && off + HSMG_BE_REQ_SIZE <= f.used; i++) {
			struct hsmg_be_req *r = (void *)(q->buf + off);
			uint8_t *data = q->buf + off + HSMG_BE_REQ_SIZE;

			off += HSMG_BE_REQ_SIZE + ((r->len + 7) & ~7u);
			log_event(q, r, data);
			if (answer(q, r, data, &cs[n], blobs[n]))
				n++;
		}
		delay = q->delay_ms;
		pthread_cond_broadcast(&q->cond);
		pthread_mutex_unlock(&q->lock);

		if (!n)
			continue;
		if (delay)
			hsmg_sleep_ms(delay);
		cp.argsz = sizeof(cp);
		cp.count = n;
		cp.entries = (uintptr_t)cs;
		ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &cp);
		pthread_mutex_lock(&q->lock);
		if (ret)
			q->complete_err = ret;
		else
			q->stale += cp.stale;
		pthread_mutex_unlock(&q->lock);
	}
out:
	free(blobs);
	free(cs);
	return NULL;
}

void tq_init(struct tq *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->stop_pipe[0] = q->stop_pipe[1] = -1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->pin_seed = 0xA5;
}

void tq_fill_attach(struct hsmg_be_attach *a, uint32_t adapter, uint32_t domain,
		    const uint8_t *mkvp)
{
	memset(a, 0, sizeof(*a));
	a->argsz = sizeof(*a);
	a->adapter = adapter;
	a->domain = domain;
	a->capabilities = TQ_ALL_CAPS;
	a->max_inflight = 16;
	a->speed = 100;
	if (mkvp)
		memcpy(a->mkvp, mkvp, HSMG_MKVP_LEN);
}

static int tq_start(struct tq *q)
{
	if (q->running)
		return 0;
	if (!q->buf) {
		q->buf_len = FETCH_BUF_LEN;
		q->buf = malloc(q->buf_len);
		if (!q->buf)
			return -ENOMEM;
	}
	if (pipe2(q->stop_pipe, O_CLOEXEC))
		return -errno;
	if (pthread_create(&q->thread, NULL, card_thread, q))
		return -EAGAIN;
	q->running = true;
	return 0;
}

static int tq_do_attach(struct tq *q, uint32_t flags, uint64_t caps, uint32_t max_sessions)
{
	struct hsmg_be_attach a;
	int ret;

	tq_fill_attach(&a, q->adapter, q->domain, q->mkvp);
	a.flags = flags;
	if (caps)
		a.capabilities = caps;
	a.max_sessions = max_sessions;
	if (q->max_inflight)
		a.max_inflight = q->max_inflight;
	ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_ATTACH, &a);
	if (ret)
		return ret;
	q->attach_flags = flags;
	q->caps = caps;
	q->max_sessions = max_sessions;
	q->queue_id = a.queue_id;
	q->group_id = a.group_id;
	q->state = a.state;
	q->attached = true;
	return 0;
}

int tq_attach(struct tq *q, const uint8_t *mkvp, uint32_t flags, uint64_t caps,
	      uint32_t max_sessions)
{
	int tries, ret;

	if (q->fd < 0) {
		q->fd = hsmg_open_backend();
		if (q->fd < 0)
			return q->fd;
	}
	memcpy(q->mkvp, mkvp, HSMG_MKVP_LEN);
	for (tries = 0; tries < 100; tries++) {
		uint16_t r;

		hsmg_random(&r, sizeof(r));
		/* Adapters 0x40.. keep clear of the emulated cards (01, 02...). */
		q->adapter = 0x40 + (r & 0xff) % 0xc0;
		q->domain = r >> 8;
		ret = tq_do_attach(q, flags, caps, max_sessions);
		if (ret == -EEXIST)
			continue;
		if (ret)
			return ret;
		if (q->state != HSMG_QS_MISMATCH)
			return tq_start(q);
		/* An APQN another test left known in its group: try another. */
		ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_DETACH, NULL);
		q->attached = false;
		if (ret)
			return ret;
	}
	return -EEXIST;
}

int tq_reattach(struct tq *q, const uint8_t *mkvp)
{
	int ret;

	if (mkvp)
		memcpy(q->mkvp, mkvp, HSMG_MKVP_LEN);
	ret = tq_do_attach(q, q->attach_flags, q->caps, q->max_sessions);
	if (ret)
		return ret;
	return tq_start(q);
}

int tq_detach(struct tq *q)
{
	int ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_DETACH, NULL);

	if (!ret)
		q->attached = false;
	return ret;
}

void tq_close(struct tq *q)
{
	if (q->running) {
		if (write(q->stop_pipe[1], "x", 1) != 1)
			perror("stop pipe");
		pthread_join(q->thread, NULL);
		q->running = false;
	}
	if (q->stop_pipe[0] >= 0) {
		close(q->stop_pipe[0]);
		close(q->stop_pipe[1]);
		q->stop_pipe[0] = q->stop_pipe[1] = -1;
	}
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->attached = false;
}

void tq_destroy(struct tq *q)
{
	tq_close(q);
	free(q->buf);
	q->buf = NULL;
}

#define TQ_SETTER(field, type)                                                                     \
	void tq_set_##field(struct tq *q, type v)                                                  \
	{                                                                                          \
		pthread_mutex_lock(&q->lock);                                                      \
		q->field = v;                                                                      \
		pthread_mutex_unlock(&q->lock);                                                    \
	}
TQ_SETTER(mode, enum tq_mode)
TQ_SETTER(crypto_status, uint32_t)
TQ_SETTER(login_status, uint32_t)
TQ_SETTER(pin_seed, uint8_t)
TQ_SETTER(card_quota, uint32_t)

void tq_clear_log(struct tq *q)
{
	pthread_mutex_lock(&q->lock);
	q->nlog = 0;
	memset(q->count, 0, sizeof(q->count));
	pthread_mutex_unlock(&q->lock);
}

unsigned int tq_count(struct tq *q, uint32_t type)
{
	unsigned int n;

	pthread_mutex_lock(&q->lock);
	n = type < 4 ? q->count[type] : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

static int wait_until(struct tq *q, const unsigned int *what, unsigned int n, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (*what < n) {
		struct timespec ts;

		if (hsmg_now_ms() >= end) {
			ret = -ETIMEDOUT;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int tq_wait_count(struct tq *q, uint32_t type, unsigned int n, unsigned int ms)
{
	if (type >= 4)
		return -EINVAL;
	return wait_until(q, &q->count[type], n, ms);
}

int tq_wait_held(struct tq *q, unsigned int n, unsigned int ms)
{
	return wait_until(q, &q->nheld, n, ms);
}

int tq_find_event(struct tq *q, uint32_t type, unsigned int idx, struct tq_event *ev)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->nlog; i++) {
		if (q->log[i].type != type)
			continue;
		if (idx--)
			continue;
		*ev = q->log[i];
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

bool tq_saw(struct tq *q, uint32_t type, uint64_t session)
{
	unsigned int i;
	bool seen = false;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->nlog; i++)
		if (q->log[i].type == type && q->log[i].session == session)
			seen = true;
	pthread_mutex_unlock(&q->lock);
	return seen;
}

uint64_t tq_session_of_last_login(struct tq *q)
{
	uint64_t s = 0;
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->nlog; i++)
		if (q->log[i].type == HSMG_BE_REQ_LOGIN)
			s = q->log[i].session;
	pthread_mutex_unlock(&q->lock);
	return s;
}

int tq_complete_held(struct tq *q, uint32_t status)
{
	struct hsmg_be_completion cs[TQ_HELD_MAX];
	struct hsmg_be_complete cp = {0};
	unsigned int i, n;
	int ret;

	pthread_mutex_lock(&q->lock);
	n = q->nheld;
	for (i = 0; i < n; i++) {
		cs[i].tag = q->held[i];
		cs[i].status = status;
		/* The payload is gone from the buffer: answer 8 fixed bytes. */
		cs[i].len = status == HSMG_BE_OK ? 8 : 0;
		cs[i].data = (uintptr_t) "heldresp";
	}
	q->nheld = 0;
	pthread_mutex_unlock(&q->lock);
	if (!n)
		return 0;
	cp.argsz = sizeof(cp);
	cp.count = n < HSMG_MAX_BATCH ? n : HSMG_MAX_BATCH;
	cp.entries = (uintptr_t)cs;
	ret = hsmg_ioctl(q->fd, HSMG_IOC_BE_COMPLETE, &cp);
	return ret ? ret : (int)cp.stale;
}

/* ---- client calls ---- */

static int list_members(int cfd, uint32_t group_id, struct hsmg_member_info **out, uint32_t *count)
{
	struct hsmg_member_list l = {0};
	struct hsmg_member_info *m = NULL;
	int ret;

	for (;;) {
		l.argsz = sizeof(l);
		l.group_id = group_id;
		l.elem_size = sizeof(*m);
		l.members = (uintptr_t)m;
		ret = hsmg_ioctl(cfd, HSMG_IOC_LIST_MEMBERS, &l);
		if (ret == -ENOSPC || (!ret && !m && l.count)) {
			free(m);
			m = calloc(l.count + 4, sizeof(*m));
			if (!m)
				return -ENOMEM;
			l.count += 4;
			continue;
		}
		break;
	}
	if (ret) {
		free(m);
		return ret;
	}
	*out = m;
	*count = l.count;
	return 0;
}

int hsmg_get_member(int cfd, uint32_t group_id, uint32_t queue_id, struct hsmg_member_info *out)
{
	struct hsmg_member_info *m = NULL;
	uint32_t i, n = 0;
	int ret = list_members(cfd, group_id, &m, &n);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (i = 0; i < n; i++) {
		if (m[i].queue_id == queue_id) {
			*out = m[i];
			ret = 0;
			break;
		}
	}
	free(m);
	return ret;
}

int hsmg_wait_state(uint32_t group_id, uint32_t queue_id, uint32_t state, unsigned int ms)
{
	return hsmg_wait_states(group_id, queue_id, 1U << state, ms);
}

int hsmg_wait_states(uint32_t group_id, uint32_t queue_id, uint32_t mask, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;
	struct hsmg_member_info mi;
	int cfd = hsmg_open_client();
	int ret;

	if (cfd < 0)
		return cfd;
	for (;;) {
		ret = hsmg_get_member(cfd, group_id, queue_id, &mi);
		if (!ret && mi.state < 32 && (mask & (1U << mi.state)))
			break;
		if (hsmg_now_ms() >= end) {
			ret = -ETIMEDOUT;
			break;
		}
		hsmg_sleep_ms(10);
	}
	close(cfd);
	return ret;
}

int hsmg_get_group(int cfd, uint32_t group_id, struct hsmg_group_info *out)
{
	struct hsmg_group_list l = {0};
	struct hsmg_group_info *g = NULL;
	uint32_t i;
	int ret;

	for (;;) {
		l.argsz = sizeof(l);
		l.elem_size = sizeof(*g);
		l.groups = (uintptr_t)g;
		ret = hsmg_ioctl(cfd, HSMG_IOC_LIST_GROUPS, &l);
		if (ret == -ENOSPC || (!ret && !g && l.count)) {
			free(g);
			g = calloc(l.count + 4, sizeof(*g));
			if (!g)
				return -ENOMEM;
			l.count += 4;
			continue;
		}
		break;
	}
	if (!ret) {
		ret = -ENOENT;
		for (i = 0; i < l.count; i++) {
			if (g[i].group_id == group_id) {
				*out = g[i];
				ret = 0;
				break;
			}
		}
	}
	free(g);
	return ret;
}

int hsmg_session_open(int cfd, uint32_t group_id, uint32_t flags, uint32_t *sid)
{
	struct hsmg_session_open o = {.argsz = sizeof(o), .flags = flags, .group_id = group_id};
	int ret = hsmg_ioctl(cfd, HSMG_IOC_SESSION_OPEN, &o);

	if (!ret)
		*sid = o.session_id;
	return ret;
}

int hsmg_session_close(int cfd, uint32_t sid)
{
	struct hsmg_session_close c = {.argsz = sizeof(c), .session_id = sid};

	return hsmg_ioctl(cfd, HSMG_IOC_SESSION_CLOSE, &c);
}

int hsmg_login(int cfd, uint32_t sid, const char *pin, const char *cardpin, struct hsmg_login *out)
{
	struct hsmg_login l = {0};
	int ret;

	l.argsz = sizeof(l);
	l.session_id = sid;
	l.pin_len = strlen(pin);
	l.pin = (uintptr_t)pin;
	if (cardpin) {
		l.cardpin_len = strlen(cardpin);
		l.cardpin = (uintptr_t)cardpin;
	}
	ret = hsmg_ioctl(cfd, HSMG_IOC_LOGIN, &l);
	if (out)
		*out = l;
	return ret;
}

int hsmg_logout(int cfd, uint32_t sid)
{
	struct hsmg_logout l = {.argsz = sizeof(l), .session_id = sid};

	return hsmg_ioctl(cfd, HSMG_IOC_LOGOUT, &l);
}

int hsmg_submit(int cfd, uint32_t group_id, uint32_t sid, uint32_t flags, uint32_t op_class,
		const void *req, uint32_t req_len, void *resp, uint32_t *resp_len,
		struct hsmg_submit *out)
{
	struct hsmg_client_req r = {
	    .group_id = group_id,
	    .session_id = sid,
	    .op_class = op_class,
	    .flags = flags,
	    .req = req,
	    .req_len = req_len,
	    .resp = resp,
	    .resp_cap = *resp_len,
	};
	int ret = hsmg_client_submit(cfd, &r);

	*resp_len = r.resp_len;
	if (out)
		*out = (struct hsmg_submit){
		    .argsz = sizeof(*out),
		    .flags = flags,
		    .group_id = group_id,
		    .session_id = sid,
		    .op_class = op_class,
		    .req_len = req_len,
		    .req = (uintptr_t)req,
		    .resp_len = r.resp_len,
		    .member = r.member,
		    .resp = (uintptr_t)resp,
		    .attempts = r.attempts,
		};
	return ret;
}

/* ---- groups of test queues ---- */

int tgroup_add(struct tgroup *g, uint32_t flags, uint32_t max_sessions)
{
	struct tq *q;
	int ret;

	if (g->nq >= sizeof(g->q) / sizeof(g->q[0]))
		return -ENOSPC;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	tq_init(q);
	g->q[g->nq++] = q;
	ret = tq_attach(q, g->mkvp, flags, 0, max_sessions);
	if (ret)
		return ret;
	if (g->group_id && q->group_id != g->group_id)
		return -EXDEV;
	g->group_id = q->group_id;
	/* an idle standby member shows STANDBY, a serving one ONLINE */
	return hsmg_wait_states(q->group_id, q->queue_id,
				1U << HSMG_QS_ONLINE |
				    (flags & HSMG_ATTACH_STANDBY ? 1U << HSMG_QS_STANDBY : 0),
				ONLINE_WAIT_MS);
}

int tgroup_create(struct tgroup *g, unsigned int nq, uint32_t max_sessions)
{
	unsigned int i;
	int ret;

	memset(g, 0, sizeof(*g));
	hsmg_random_mkvp(g->mkvp);
	for (i = 0; i < nq; i++) {
		ret = tgroup_add(g, 0, max_sessions);
		if (ret)
			return ret;
	}
	return 0;
}

void tgroup_destroy(struct tgroup *g)
{
	unsigned int i;

	for (i = 0; i < g->nq; i++) {
		tq_destroy(g->q[i]);
		free(g->q[i]);
	}
	g->nq = 0;
}

int tgroup_wait_held(struct tgroup *g, unsigned int n, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;

	for (;;) {
		unsigned int k, held = 0;

		for (k = 0; k < g->nq; k++) {
			pthread_mutex_lock(&g->q[k]->lock);
			held += g->q[k]->nheld;
			pthread_mutex_unlock(&g->q[k]->lock);
		}
		if (held >= n)
			return 0;
		if (hsmg_now_ms() >= end)
			return -ETIMEDOUT;
		hsmg_sleep_ms(5);
	}
}
