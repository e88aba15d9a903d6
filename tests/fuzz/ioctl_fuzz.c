// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-ioctl-fuzz - random and mutated ioctl sequences on /dev/hsmgroup and
 * /dev/hsmgroup-backend from several processes, for the test guest (as root).
 *
 *   hsmg-ioctl-fuzz [-n CALLS] [-t SECONDS] [-p PROCS] [-s SEED] [-u MODULE.ko]
 *
 * Each process runs two fuzzing threads and a card thread.  The fuzzing
 * threads share pools of client and backend fds and pick at random: open or
 * close an fd (also while the other thread is inside an ioctl on it), attach
 * and detach queues (two master keys, a few APQNs, so groups, mismatches and
 * -EEXIST happen), open/close/login/logout sessions, submit mutated
 * messages with short timeouts, fetch and complete with random tags,
 * statuses and lengths, and plain garbage: random argsz, flags, reserved
 * fields, ids, ioctl numbers, and pointers (NULL, unmapped, kernel
 * addresses, huge lengths, read-only memory for out-fields).  The card
 * thread serves fetched requests with random completions (good answers,
 * RETRY, FAILED, BADREQ, QUOTA, none at all), detaching and re-attaching
 * now and then.  Now and then a process forks a child that submits and is
 * killed with SIGKILL mid-call.
 *
 * With -u (unload churn), each process instead opens a device, makes one to
 * three calls (session open/login/submit, attach/fetch/detach) and closes
 * it again, busy 120 ms of every 200, while the parent unloads hsmgroup
 * whenever nothing holds it and loads MODULE.ko again (with the parameters
 * in $HSMG_VM_MODPARAMS) after a random pause: open, the first ioctls,
 * release, netlink and sysfs readers (run by tests/fuzz/run-vm) race module
 * exit and init.  Opens fail with ENOENT or ENODEV while the module is gone.
 * Prints "ioctl-fuzz: U unloads"; fails when the module cannot be loaded
 * again.
 *
 * Stops after CALLS ioctls in total or SECONDS; every process still alive
 * then is killed with SIGKILL (exercising release while blocked).  The
 * kernel log is judged by the caller (tests/fuzz/run-vm); this program only
 * fails (exit 1) when a process does not die or the devices are missing
 * (exit 77: skip).  Prints "ioctl-fuzz: N calls, R results (errno spread)".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/hsmgroup.h>

#include "hsmg_msg.h"

#define NFD	 6
#define NSESS	 32
#define NGROUPS	 8
#define BUF_SIZE (256 * 1024)
#define NERRNO	 140

struct shared {
	uint64_t calls;	      /* every process adds its ioctls */
	uint64_t ok;	      /* ioctls that returned 0 */
	uint64_t err[NERRNO]; /* by errno */
};

static struct shared *sh;
static uint64_t max_calls = 200000;
static time_t deadline;
static bool churn;	    /* -u */
static const char *ko_path; /* -u MODULE.ko */

static int cli[NFD], be[NFD]; /* -1 = empty; shared by the threads */
static uint32_t sess[NSESS];  /* session ids seen */
static uint32_t groups[NGROUPS] = {1, 2};
static uint8_t *unmapped, *rdonly; /* a hole and a read-only page */

static __thread uint64_t rs; /* xorshift state per thread */

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(uint32_t percent)
{
	return below(100) < percent;
}

static bool done(void)
{
	return __atomic_load_n(&sh->calls, __ATOMIC_RELAXED) >= max_calls || time(NULL) >= deadline;
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int r = ioctl(fd, cmd, arg);

	__atomic_add_fetch(&sh->calls, 1, __ATOMIC_RELAXED);
	if (r == 0)
		__atomic_add_fetch(&sh->ok, 1, __ATOMIC_RELAXED);
	else if (errno > 0 && errno < NERRNO)
		__atomic_add_fetch(&sh->err[errno], 1, __ATOMIC_RELAXED);
	return r;
}

/* ------------------------------------------------------------ garbage */

/* A user pointer: mostly @good, sometimes something the kernel must refuse. */
static uint64_t ptr(void *good)
{
	switch (below(16)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)unmapped;
	case 2:
		return 0xffff888000000000ULL + (rnd() & 0xfffff000);
	case 3:
		return rnd();
	case 4:
		return (uintptr_t)rdonly; /* the kernel cannot write out-fields */
	case 5:
		return (uintptr_t)good + BUF_SIZE - 8; /* runs past the end */
	default:
		return (uintptr_t)good;
	}
}

/* ptr() for a small buffer the kernel writes: never inside this process's
 * other memory. */
static uint64_t small_ptr(void *good)
{
	switch (below(8)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)unmapped;
	case 2:
		return 0xffff888000000000ULL + (rnd() & 0xfffff000);
	case 3:
		return (uintptr_t)rdonly;
	default:
		return (uintptr_t)good;
	}
}

/* A length: mostly @good, sometimes 0, huge, or off by a little. */
static uint32_t len(uint32_t good)
{
	switch (below(14)) {
	case 0:
		return 0;
	case 1:
		return UINT32_MAX;
	case 2:
		return HSMG_MAX_MSG_SIZE + 1 + below(64);
	case 3:
		return 2 * HSMG_MAX_MSG_SIZE + 8;
	case 4:
		return good + 1;
	case 5:
		return good ? good - 1 : 0;
	case 6:
		return (uint32_t)rnd();
	default:
		return good;
	}
}

/* argsz of a call whose v1 size is @v1. */
static uint32_t argsz(uint32_t v1)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return v1 - 4;
	case 2:
		return v1 + 8; /* larger: the tail (zero here) must be checked */
	case 3:
		return 4096 + 8;
	case 4:
		return (uint32_t)rnd();
	default:
		return v1;
	}
}

static uint32_t flags(uint32_t all)
{
	if (chance(80))
		return (uint32_t)rnd() & all;
	return (uint32_t)rnd();
}

static uint32_t id(const uint32_t *pool, size_t n)
{
	if (chance(85))
		return pool[below((uint32_t)n)];
	return chance(50) ? below(4) : (uint32_t)rnd();
}

static int fd_of(int *pool)
{
	int fd = pool[below(NFD)], i;

	for (i = 0; fd < 0 && i < NFD && chance(90); i++)
		fd = pool[i];
	if (chance(3))
		fd = chance(50) ? cli[below(NFD)] : be[below(NFD)]; /* the wrong device */
	return fd;
}

/* Argument buffer: a struct at the start of a zeroed area, so that an
 * argsz above the struct reads zeros (now and then garbage). */
struct arg {
	uint8_t pad[8192];
};

static void *arg_zero(struct arg *a)
{
	memset(a, 0, sizeof(*a));
	if (chance(5))
		for (size_t i = 0; i < sizeof(a->pad); i += 8)
			a->pad[i] = (uint8_t)rnd();
	return a->pad;
}

/* ------------------------------------------------------------ messages */

/* A request message: valid, or a valid one with a few bytes changed. */
static uint32_t make_msg(uint8_t *buf, size_t cap)
{
	struct hsmg_msg_builder b;
	uint32_t n = 16 + below(64), op = 1 + below(HSMG_MSG_OP_MAX + 1);
	uint8_t data[64];
	ssize_t l;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rnd();
	hsmg_msg_init(&b, buf, cap, HSMG_MSG_REQUEST, chance(50) ? HSMG_MSG_OP_RANDOM : op,
		      chance(50) ? 0x250 : rnd() & 0xffff);
	if (chance(60))
		hsmg_msg_put_u32(&b, HSMG_TAG_PARAM, n);
	if (chance(40))
		hsmg_msg_put(&b, HSMG_TAG_DATA, data, below(sizeof(data)));
	l = hsmg_msg_finish(&b);
	if (l <= 0)
		return 0;
	for (uint32_t k = chance(70) ? 0 : below(4) + 1; k; k--)
		buf[below((uint32_t)l)] = (uint8_t)rnd();
	return (uint32_t)l;
}

/* ------------------------------------------------------------ client calls */

static void note_group(uint32_t g)
{
	if (g)
		groups[below(NGROUPS)] = g;
}

static void do_get_info(int fd, struct arg *a)
{
	struct hsmg_info *p = arg_zero(a);

	p->argsz = argsz(HSMG_INFO_SIZE_V1);
	p->flags = flags(0);
	xioctl(fd, HSMG_IOC_GET_INFO, chance(90) ? (void *)p : (void *)(uintptr_t)ptr(p));
}

static void do_list(int fd, struct arg *a, uint8_t *buf)
{
	if (chance(50)) {
		struct hsmg_group_list *p = arg_zero(a);

		p->argsz = argsz(HSMG_GROUP_LIST_SIZE_V1);
		p->flags = flags(0);
		p->count = chance(70) ? below(NGROUPS + 1) : (uint32_t)rnd();
		p->elem_size = chance(80) ? HSMG_GROUP_INFO_SIZE_V1 : len(HSMG_GROUP_INFO_SIZE_V1);
		p->groups = ptr(buf);
		if (!xioctl(fd, HSMG_IOC_LIST_GROUPS, p) && p->groups == (uintptr_t)buf &&
		    p->count && p->count <= NGROUPS && p->elem_size >= sizeof(uint32_t))
			note_group(((struct hsmg_group_info *)buf)[below(p->count)].group_id);
	} else {
		struct hsmg_member_list *p = arg_zero(a);

		p->argsz = argsz(HSMG_MEMBER_LIST_SIZE_V1);
		p->flags = flags(0);
		p->group_id = id(groups, NGROUPS);
		p->count = chance(70) ? below(16) : (uint32_t)rnd();
		p->elem_size =
		    chance(80) ? HSMG_MEMBER_INFO_SIZE_V1 : len(HSMG_MEMBER_INFO_SIZE_V1);
		p->reserved = chance(95) ? 0 : 1;
		p->members = ptr(buf);
		xioctl(fd, HSMG_IOC_LIST_MEMBERS, p);
	}
}

static void do_session(int fd, struct arg *a, uint8_t *buf)
{
	switch (below(4)) {
	case 0: {
		struct hsmg_session_open *p = arg_zero(a);

		p->argsz = argsz(HSMG_SESSION_OPEN_SIZE_V1);
		p->flags = flags(HSMG_SESSION_ALL_FLAGS);
		p->group_id = id(groups, NGROUPS);
		p->reserved[0] = chance(95) ? 0 : rnd();
		if (!xioctl(fd, HSMG_IOC_SESSION_OPEN, p))
			sess[below(NSESS)] = p->session_id;
		break;
	}
	case 1: {
		struct hsmg_session_close *p = arg_zero(a);

		p->argsz = argsz(HSMG_SESSION_CLOSE_SIZE_V1);
		p->flags = flags(0);
		p->session_id = id(sess, NSESS);
		xioctl(fd, HSMG_IOC_SESSION_CLOSE, p);
		break;
	}
	case 2: {
		struct hsmg_login *p = arg_zero(a);
		static const char pin[] = "0123456789abcdef0123456789abcdef";

		p->argsz = argsz(HSMG_LOGIN_SIZE_V1);
		p->flags = flags(HSMG_LOGIN_ALL_FLAGS);
		p->session_id = id(sess, NSESS);
		p->pin_len = chance(80) ? 4 + below(12) : len(HSMG_MAX_PIN_LEN);
		memcpy(buf, pin, sizeof(pin));
		p->pin = ptr(buf);
		p->cardpin_len = chance(70) ? 0 : chance(50) ? 8 + below(9) : len(16);
		p->cardpin = ptr(buf);
		/* An authentication record: mostly a sane head (the cards
		 * judge the rest), sometimes anything, any length. */
		if (chance(40)) {
			struct hsmg_auth_record_hdr h = {
			    .magic =
				chance(90) ? HSMG_AUTH_RECORD_MAGIC : (uint32_t)below(1U << 31),
			    .version = chance(90) ? 1 : (uint16_t)below(4),
			    .user = (uint16_t)below(3)};

			memset(h.token, (int)below(4), sizeof(h.token));
			memcpy(buf + 64, &h, sizeof(h));
			p->record = ptr(buf + 64);
			p->record_len = chance(80) ? 116 : len(HSMG_AUTH_RECORD_MAX + 8);
		}
		xioctl(fd, HSMG_IOC_LOGIN, p);
		break;
	}
	default: {
		struct hsmg_logout *p = arg_zero(a);

		p->argsz = argsz(HSMG_LOGOUT_SIZE_V1);
		p->flags = flags(0);
		p->session_id = id(sess, NSESS);
		xioctl(fd, HSMG_IOC_LOGOUT, p);
		break;
	}
	}
}

static void do_submit(int fd, struct arg *a, uint8_t *buf)
{
	struct hsmg_submit *p = arg_zero(a);
	uint32_t l = make_msg(buf, 4096);

	p->argsz = argsz(HSMG_SUBMIT_SIZE_V1);
	p->flags = flags(HSMG_SUBMIT_ALL_FLAGS);
	p->group_id = id(groups, NGROUPS);
	p->session_id = chance(50) ? 0 : id(sess, NSESS);
	p->op_class = chance(90) ? below(HSMG_OP_NR) : (uint32_t)rnd();
	p->weight = chance(80) ? below(100) : (uint32_t)rnd();
	p->timeout_ms = chance(95) ? 1 + below(200) : (uint32_t)rnd() % 2000;
	p->req_len = chance(80) ? l : len(l);
	p->req = ptr(buf);
	p->resp_len = chance(80) ? 65536 : len(4096);
	p->resp = ptr(buf + 65536);
	p->reserved0 = chance(97) ? 0 : 1;
	xioctl(fd, HSMG_IOC_SUBMIT, p);
}

/* ------------------------------------------------------------ backend calls */

static const uint8_t mkvp_a[HSMG_MKVP_LEN] = "ioctl-fuzz master key A ........";
static const uint8_t mkvp_b[HSMG_MKVP_LEN] = "ioctl-fuzz master key B ........";

static int attach(int fd, struct arg *a, bool valid, uint32_t adapter, uint32_t domain)
{
	struct hsmg_be_attach *p = arg_zero(a);

	p->argsz = valid ? HSMG_BE_ATTACH_SIZE_V1 : argsz(HSMG_BE_ATTACH_SIZE_V1);
	p->flags = valid ? 0 : flags(HSMG_ATTACH_ALL_FLAGS);
	p->adapter = adapter;
	p->domain = domain;
	p->capabilities = valid || chance(80) ? (1ULL << HSMG_OP_NR) - 1 : rnd();
	p->max_inflight = valid || chance(80) ? 1 + below(64) : (uint32_t)rnd();
	p->speed = valid || chance(80) ? 1 + below(1000) : (uint32_t)rnd();
	p->max_sessions = chance(80) ? 0 : below(8);
	memcpy(p->mkvp, valid || chance(70) ? mkvp_a : mkvp_b, HSMG_MKVP_LEN);
	if (!valid && chance(3))
		memset(p->mkvp, 0, HSMG_MKVP_LEN);
	p->reserved[1] = valid || chance(95) ? 0 : 1;
	if (xioctl(fd, HSMG_IOC_BE_ATTACH, p))
		return -1;
	note_group(p->group_id);
	return 0;
}

/* Answer one fetched request at random. */
static void complete(int fd, struct arg *a, const struct hsmg_be_req *r, const uint8_t *payload,
		     uint8_t *ans, bool sane)
{
	struct hsmg_be_complete *p = arg_zero(a);
	struct hsmg_be_completion c[2];
	struct hsmg_msg_builder b;
	uint32_t n = 1;
	ssize_t l;

	memset(c, 0, sizeof(c));
	c[0].tag = sane || chance(80) ? r->tag : rnd();
	c[0].status = sane || chance(70) ? below(5) : (uint32_t)rnd();
	if (chance(60))
		c[0].status = HSMG_BE_OK;
	l = 0;
	if (r->type == HSMG_BE_REQ_LOGIN) {
		memset(ans, 0x11, HSMG_PIN_BLOB_LEN);
		l = HSMG_PIN_BLOB_LEN;
	} else if (r->type == HSMG_BE_REQ_CRYPTO && r->len >= sizeof(struct hsmg_msg_hdr)) {
		struct hsmg_msg_hdr h;

		memcpy(&h, payload, sizeof(h));
		hsmg_msg_init(&b, ans, 4096, HSMG_MSG_RESPONSE, h.op, h.mechanism);
		hsmg_msg_set_rv(&b, chance(80) ? 0 : rnd() & 0xff);
		if (chance(50))
			hsmg_msg_put(&b, HSMG_TAG_OUT_DATA, payload, below(64));
		l = hsmg_msg_finish(&b);
		if (l < 0)
			l = 0;
		if (chance(10))
			ans[below(64)] ^= (uint8_t)rnd();
	}
	c[0].len = sane || chance(80) ? (uint32_t)l : len((uint32_t)l);
	c[0].data = sane ? (uintptr_t)ans : ptr(ans);
	if (!sane && chance(20)) {
		c[1] = c[0]; /* the same tag twice, or another request's */
		n = 2;
	}
	p->argsz = sane ? HSMG_BE_COMPLETE_SIZE_V1 : argsz(HSMG_BE_COMPLETE_SIZE_V1);
	p->flags = sane ? 0 : flags(0);
	p->count = sane || chance(80) ? n : (uint32_t)rnd();
	p->entries = sane ? (uintptr_t)c : ptr(c);
	if (chance(30)) {
		/* and fetch in the same call, never sleeping; what comes is
		 * left unanswered (the kernel times it out) */
		static __thread uint8_t fbuf[8192];
		static __thread struct hsmg_be_fetch f;

		memset(&f, 0, sizeof(f));
		f.argsz = sane || chance(90) ? HSMG_BE_FETCH_SIZE_V1 : argsz(HSMG_BE_FETCH_SIZE_V1);
		f.flags = HSMG_FETCH_NONBLOCK;
		f.max_reqs = sane || chance(80) ? 1 + below(4) : (uint32_t)rnd();
		f.buf_len = sizeof(fbuf);
		f.buf = sane || chance(90) ? (uintptr_t)fbuf : small_ptr(fbuf);
		f.reserved[0] = sane || chance(95) ? 0 : 1;
		p->flags |= HSMG_COMPLETE_FETCH;
		p->fetch = sane || chance(90) ? (uintptr_t)&f : small_ptr(&f);
		if (!sane && chance(10))
			p->count = 0;
	} else if (!sane && chance(3)) {
		p->fetch = rnd() | 1; /* without the flag: -EINVAL */
	}
	xioctl(fd, HSMG_IOC_BE_COMPLETE, p);
}

/* Fetch (without waiting unless the file blocks) and answer what came. */
static void fetch_and_answer(int fd, struct arg *a, uint8_t *buf, bool sane)
{
	struct hsmg_be_fetch *p = arg_zero(a);
	uint32_t off = 0, i;

	p->argsz = sane ? HSMG_BE_FETCH_SIZE_V1 : argsz(HSMG_BE_FETCH_SIZE_V1);
	p->flags = sane || chance(90) ? HSMG_FETCH_NONBLOCK : flags(HSMG_FETCH_ALL_FLAGS);
	p->max_reqs = sane || chance(80) ? 1 + below(HSMG_MAX_BATCH) : (uint32_t)rnd();
	p->buf_len = sane || chance(80) ? BUF_SIZE - 4096 : len(BUF_SIZE);
	p->buf = sane ? (uintptr_t)buf : ptr(buf);
	if (xioctl(fd, HSMG_IOC_BE_FETCH, p) || p->buf != (uintptr_t)buf)
		return;
	for (i = 0; i < p->nreqs && off + sizeof(struct hsmg_be_req) <= p->used; i++) {
		struct hsmg_be_req r;

		memcpy(&r, buf + off, sizeof(r));
		off += sizeof(r);
		if (r.len > p->used - off)
			break;
		/* Some requests are never answered: the kernel times them out. */
		if (chance(90))
			complete(fd, a, &r, buf + off, buf + BUF_SIZE - 4096, sane);
		off += (uint32_t)hsmg_msg_padded(r.len);
	}
}

/* ------------------------------------------------------------ threads */

struct worker {
	pthread_t th;
	struct arg a;
	uint8_t *buf;
	uint32_t base; /* APQN range of this process */
	uint64_t seed; /* of the thread's random state */
};

static int open_dev(bool client)
{
	int fl = O_RDWR | O_CLOEXEC | (chance(70) ? O_NONBLOCK : 0);

	return open(client ? HSMG_CLIENT_DEVICE : HSMG_BACKEND_DEVICE, fl);
}

static void swap_fd(int *pool, bool client)
{
	int i = (int)below(NFD), old = pool[i], fd;

	fd = chance(60) ? open_dev(client) : -1;
	pool[i] = fd;
	if (old >= 0)
		close(old); /* possibly while the other thread is in an ioctl on it */
}

static void random_ioctl(struct worker *w)
{
	unsigned long nr = below(0x48), size = below(256);
	unsigned long cmd = _IOC(below(4), HSMG_IOC_MAGIC, nr, size);
	uint8_t *p = arg_zero(&w->a);

	for (unsigned long i = 0; i < size && chance(50); i++)
		p[i] = (uint8_t)rnd();
	if (chance(20))
		cmd = rnd();
	xioctl(fd_of(chance(50) ? cli : be), cmd,
	       chance(80) ? (void *)p : (void *)(uintptr_t)ptr(p));
}

/* A child that submits and is killed mid-call (client release while waiting). */
static void killed_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct arg a;
		uint8_t *buf = malloc(BUF_SIZE);
		int fd = open(HSMG_CLIENT_DEVICE, O_RDWR);

		if (buf && fd >= 0)
			for (int i = 0; i < 50; i++) {
				do_session(fd, &a, buf);
				do_submit(fd, &a, buf);
			}
		_exit(0);
	}
	if (pid > 0) {
		usleep(below(20000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void *fuzz_thread(void *arg)
{
	struct worker *w = arg;

	rs = w->seed;
	while (!done()) {
		uint32_t what = below(100);

		if (what < 4)
			swap_fd(cli, true);
		else if (what < 7)
			swap_fd(be, false);
		else if (what < 13)
			do_get_info(fd_of(cli), &w->a);
		else if (what < 21)
			do_list(fd_of(cli), &w->a, w->buf);
		else if (what < 41)
			do_session(fd_of(cli), &w->a, w->buf);
		else if (what < 61)
			do_submit(fd_of(cli), &w->a, w->buf);
		else if (what < 68)
			attach(fd_of(be), &w->a, false, w->base + below(3), below(3));
		else if (what < 80)
			fetch_and_answer(fd_of(be), &w->a, w->buf, false);
		else if (what < 84)
			xioctl(fd_of(be), HSMG_IOC_BE_DETACH, NULL);
		else if (what < 85 && chance(10))
			killed_child();
		else
			random_ioctl(w);
	}
	return NULL;
}

/* The card: one queue that serves with random answers, re-attaching now and then. */
static void *card_thread(void *arg)
{
	struct worker *w = arg;
	int fd = -1;

	rs = w->seed;
	while (!done()) {
		struct pollfd pfd;

		if (fd < 0) {
			fd = open(HSMG_BACKEND_DEVICE, O_RDWR | O_CLOEXEC);
			if (fd < 0 || attach(fd, &w->a, true, w->base + 8, 0)) {
				if (fd >= 0)
					close(fd);
				fd = -1;
				usleep(10000);
				continue;
			}
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 20) > 0)
			fetch_and_answer(fd, &w->a, w->buf, !chance(5));
		if (chance(1)) {
			if (chance(50))
				xioctl(fd, HSMG_IOC_BE_DETACH, NULL);
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* -u: short-lived fds, so that the module can be unloaded between them. */
static void *churn_thread(void *arg)
{
	struct worker *w = arg;

	uint64_t skew = w->seed % 30;

	rs = w->seed;
	while (!done()) {
		struct timespec now;
		bool client = chance(60);
		int fd, n = 1 + (int)below(3);

		/* Busy 120 ms of every 200 (each thread a little skewed), so
		 * that nothing holds the module for a while and it can go. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (((uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 + skew) % 200 >=
		    120) {
			usleep(2000);
			continue;
		}
		fd = open_dev(client);
		if (fd < 0) {
			usleep(below(2000)); /* the module is (being) unloaded */
			continue;
		}
		while (n--) {
			if (client)
				chance(50) ? do_session(fd, &w->a, w->buf)
					   : do_submit(fd, &w->a, w->buf);
			else if (attach(fd, &w->a, chance(70), w->base + below(3), 0) == 0)
				fetch_and_answer(fd, &w->a, w->buf, true);
			else
				xioctl(fd, HSMG_IOC_BE_DETACH, NULL);
		}
		close(fd);
	}
	return NULL;
}

static void process(unsigned int idx, uint64_t seed)
{
	struct worker w[3];
	int i;

	for (i = 0; i < NFD; i++) {
		cli[i] = -1;
		be[i] = -1;
	}
	rs = seed * 0x9e3779b97f4a7c15ULL + idx + 1;
	if (!churn)
		cli[0] = open_dev(true);
	for (i = 0; i < 3; i++) {
		w[i].buf = malloc(BUF_SIZE);
		w[i].base = 0x20 + 16 * idx;
		if (!w[i].buf)
			_exit(1);
		memset(w[i].buf, 0, BUF_SIZE);
	}
	for (i = 0; i < 3; i++) {
		w[i].seed = rnd() | 1;
		pthread_create(&w[i].th, NULL,
			       churn	? churn_thread
			       : i == 2 ? card_thread
					: fuzz_thread,
			       &w[i]);
	}
	for (i = 0; i < 3; i++)
		pthread_join(w[i].th, NULL);
	_exit(0);
}

static unsigned long unloads;
static bool load_failed;

/* -u: unload hsmgroup if nothing holds it, then load it again.  -1: cannot load. */
static int unload_reload(void)
{
	const char *params = getenv("HSMG_VM_MODPARAMS");
	int fd, r;

	if (syscall(SYS_delete_module, "hsmgroup", O_NONBLOCK)) {
		usleep(1000 + below(4000));
		return 0;
	}
	unloads++;
	usleep(below(30000));
	fd = open(ko_path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -1 : (int)syscall(SYS_finit_module, fd, params ? params : "", 0);
	if (r) {
		printf("ioctl-fuzz: loading %s again: %s\n", ko_path, strerror(errno));
		load_failed = true;
	}
	if (fd >= 0)
		close(fd);
	return r ? -1 : 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: hsmg-ioctl-fuzz [-n CALLS] [-t SECONDS] [-p PROCS] [-s SEED] [-u MODULE.ko]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int procs = 4, secs = 60, i, alive;
	uint64_t seed = (uint64_t)time(NULL);
	pid_t pids[64];
	int c;

	while ((c = getopt(argc, argv, "n:t:p:s:u:")) != -1) {
		switch (c) {
		case 'n':
			max_calls = strtoull(optarg, NULL, 0);
			break;
		case 't':
			secs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			procs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'u':
			churn = true;
			ko_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (!procs || procs > 64)
		usage();
	if (!churn &&
	    (access(HSMG_CLIENT_DEVICE, R_OK | W_OK) || access(HSMG_BACKEND_DEVICE, R_OK | W_OK))) {
		printf("ioctl-fuzz: SKIP: %s or %s missing (module not loaded?)\n",
		       HSMG_CLIENT_DEVICE, HSMG_BACKEND_DEVICE);
		return 77;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rdonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || unmapped == MAP_FAILED || rdonly == MAP_FAILED)
		return 1;
	munmap(unmapped, 4096);
	printf("ioctl-fuzz: seed %llu, %u processes, at most %llu calls or %u s%s\n",
	       (unsigned long long)seed, procs, (unsigned long long)max_calls, secs,
	       churn ? ", unload churn" : "");
	fflush(stdout);
	deadline = time(NULL) + secs;
	rs = seed | 1; /* the unloader's pauses */
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			process(i, seed);
		if (pids[i] < 0)
			return 1;
	}
	/* Wait until the budget is spent, then kill whatever still runs. */
	while (!done()) {
		alive = 0;
		for (i = 0; i < procs; i++)
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == 0)
				alive++;
			else
				pids[i] = 0;
		if (!alive)
			break;
		if (!churn)
			usleep(100000);
		else if (unload_reload() < 0)
			break;
	}
	for (i = 0; i < procs; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (alive = 0, i = 0; i < procs; i++) {
		time_t t0 = time(NULL);

		while (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == 0) {
			if (time(NULL) - t0 > 20) {
				printf("ioctl-fuzz: process %d does not die after SIGKILL\n",
				       pids[i]);
				alive++;
				break;
			}
			usleep(50000);
		}
	}
	printf("ioctl-fuzz: %llu calls, %llu returned 0; errors:", (unsigned long long)sh->calls,
	       (unsigned long long)sh->ok);
	for (i = 0; i < NERRNO; i++)
		if (sh->err[i])
			printf(" %s %llu", strerrorname_np((int)i) ? strerrorname_np((int)i) : "?",
			       (unsigned long long)sh->err[i]);
	printf("\n");
	if (churn)
		printf("ioctl-fuzz: %lu unloads\n", unloads);
	return alive || load_failed ? 1 : 0;
}
