// SPDX-License-Identifier: GPL-2.0
/*
 * Events on the client device: read() returns the event sequence number
 * once it moved past what the file read last, poll() reports it; -EINVAL
 * for short buffers, -EAGAIN when O_NONBLOCK and nothing is new, -EINTR on
 * a signal; attach and detach wake readers; a blocked reader keeps the
 * module loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "fixture.h"

/* Generous caps: the guest is emulated and may be busy. */
#define EVENT_WAIT_MS 10000
#define QUIET_MS      500
#define SETTLE_TRIES  40

static int open_events(bool nonblock)
{
	int fd = open(HSMG_CLIENT_DEVICE, O_RDONLY | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));

	return fd < 0 ? -errno : fd;
}

/* Poll @fd for input, 1 if readable, 0 if not within @ms, -errno. */
static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n && (p.revents & POLLIN);
}

/*
 * Read until nothing new comes for QUIET_MS (events of earlier tests and of
 * the setup may still be on their way); *@last = the last value read, if
 * any.  0, or -ETIMEDOUT when the module never went quiet.
 */
static int settle(int fd, uint64_t *last)
{
	uint64_t v;
	int i, r;

	for (i = 0; i < SETTLE_TRIES; i++) {
		r = readable(fd, QUIET_MS);
		if (r <= 0)
			return r;
		if (read(fd, &v, sizeof(v)) == sizeof(v) && last)
			*last = v;
	}
	return -ETIMEDOUT;
}

/* Wait for an event (POLLIN) and read it; 0 or -errno. */
static int next_event(int fd, uint64_t *v)
{
	int r = readable(fd, EVENT_WAIT_MS);

	if (r < 0)
		return r;
	if (!r)
		return -ETIMEDOUT;
	if (read(fd, v, sizeof(*v)) != sizeof(*v))
		return -errno;
	return 0;
}

FIXTURE(events)
{
	int efd; /* O_NONBLOCK */
	struct tgroup g;
};

FIXTURE_SETUP(events)
{
	HSMG_REQUIRE_DEVICES();
	memset(&self->g, 0, sizeof(self->g));
	self->efd = open_events(true);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(events)
{
	tgroup_destroy(&self->g);
	if (self->efd >= 0)
		close(self->efd);
}

TEST_F(events, feature_reported)
{
	struct hsmg_info info = {.argsz = sizeof(info)};

	ASSERT_IOCTL_OK(self->efd, HSMG_IOC_GET_INFO, &info);
	EXPECT_NE(0, info.features & HSMG_FEAT_EVENTS);
}

/* A buffer shorter than the __u64 is refused, before anything else. */
TEST_F(events, short_buffer_einval)
{
	uint8_t buf[8];

	errno = 0;
	ASSERT_EQ(-1, read(self->efd, buf, 4));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, read(self->efd, buf, 0));
	ASSERT_EQ(EINVAL, errno);
}

/* Nothing new: O_NONBLOCK read gives -EAGAIN, poll reports no input. */
TEST_F(events, nothing_new)
{
	struct pollfd p = {.fd = self->efd, .events = POLLIN};
	uint64_t v;

	ASSERT_OK(settle(self->efd, NULL));
	errno = 0;
	ASSERT_EQ(-1, read(self->efd, &v, sizeof(v)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, p.revents);
}

/*
 * An attach is an event: poll reports input, read gives a larger number
 * (into a larger buffer: still 8 bytes), then nothing is new again.
 */
TEST_F(events, attach_wakes_poll)
{
	uint64_t before = 0, v = 0, buf[2];
	ssize_t n;

	ASSERT_OK(tgroup_create(&self->g, 1, 0));
	ASSERT_OK(next_event(self->efd, &before));
	ASSERT_OK(settle(self->efd, &before));

	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	ASSERT_EQ(1, readable(self->efd, EVENT_WAIT_MS));
	memset(buf, 0, sizeof(buf));
	n = read(self->efd, buf, sizeof(buf));
	ASSERT_EQ(8, n);
	v = buf[0];
	EXPECT_LT(before, v);
	EXPECT_EQ(0, buf[1]);
	/* The attach may come in more than one batch (attach, then online). */
	ASSERT_OK(settle(self->efd, &v));
	EXPECT_LT(before, v);
	errno = 0;
	ASSERT_EQ(-1, read(self->efd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
}

/* Another file sees the same events; reading one does not affect it. */
TEST_F(events, files_independent)
{
	uint64_t a, b;
	int fd2;

	fd2 = open_events(true);
	ASSERT_LE(0, fd2);
	ASSERT_OK(tgroup_create(&self->g, 1, 0));
	ASSERT_OK(next_event(self->efd, &a));
	ASSERT_OK(next_event(fd2, &b));
	close(fd2);
}

struct reader {
	int fd;
	ssize_t ret;
	int err;
	uint64_t v;
	bool done;
};

static void *blocking_read(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	n = read(r->fd, &r->v, sizeof(r->v));
	r->err = n < 0 ? errno : 0;
	__atomic_store_n(&r->ret, n, __ATOMIC_SEQ_CST);
	__atomic_store_n(&r->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Wait (capped) until the reader thread returned; false on the cap. */
static bool reader_done(struct reader *r, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;

	while (!__atomic_load_n(&r->done, __ATOMIC_SEQ_CST)) {
		if (hsmg_now_ms() >= end)
			return false;
		hsmg_sleep_ms(10);
	}
	return true;
}

/* A read blocked in another thread returns when a queue detaches. */
TEST_F(events, detach_wakes_blocked_read)
{
	struct reader r = {0};
	uint64_t before = 0;
	pthread_t th;

	r.fd = open_events(false);
	ASSERT_LE(0, r.fd);
	ASSERT_OK(tgroup_create(&self->g, 1, 0));
	ASSERT_OK(next_event(r.fd, &before));
	ASSERT_OK(settle(r.fd, &before));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_read, &r));
	/* Give it time to block (the detach wakes it either way). */
	hsmg_sleep_ms(200);
	ASSERT_OK(tq_detach(self->g.q[0]));
	ASSERT_TRUE(reader_done(&r, EVENT_WAIT_MS))
	{
		TH_LOG("the detach did not wake the reader");
	}
	pthread_join(th, NULL);
	ASSERT_EQ(8, r.ret)
	{
		TH_LOG("read: %s", strerror(r.err));
	}
	EXPECT_LT(before, r.v);
	close(r.fd);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* A blocked read is interrupted by a signal (no SA_RESTART): -EINTR. */
TEST_F(events, signal_interrupts_read)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	struct reader r = {0};
	uint64_t end;
	pthread_t th;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	r.fd = open_events(false);
	ASSERT_LE(0, r.fd);
	ASSERT_OK(settle(r.fd, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_read, &r));
	/* A signal before the thread sleeps is lost: send until it returns. */
	end = hsmg_now_ms() + EVENT_WAIT_MS;
	while (!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST) && hsmg_now_ms() < end) {
		hsmg_sleep_ms(100);
		pthread_kill(th, SIGUSR1);
	}
	ASSERT_TRUE(reader_done(&r, 1000));
	pthread_join(th, NULL);
	ASSERT_EQ(-1, r.ret);
	ASSERT_EQ(EINTR, r.err);
	close(r.fd);
}

/* A reader blocked in read() holds the module: unload is refused. */
TEST_F(events, blocked_reader_holds_module)
{
	struct reader r = {0};
	pthread_t th;

	r.fd = open_events(false);
	ASSERT_LE(0, r.fd);
	ASSERT_OK(settle(r.fd, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_read, &r));
	hsmg_sleep_ms(200);
	errno = 0;
	ASSERT_EQ(-1, syscall(SYS_delete_module, "hsmgroup", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	/* An attach wakes it; the module keeps working. */
	ASSERT_OK(tgroup_create(&self->g, 1, 0));
	ASSERT_TRUE(reader_done(&r, EVENT_WAIT_MS));
	pthread_join(th, NULL);
	ASSERT_EQ(8, r.ret);
	close(r.fd);
}

TEST_HARNESS_MAIN
