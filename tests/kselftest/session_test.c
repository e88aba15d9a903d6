// SPDX-License-Identifier: GPL-2.0
/*
 * HSMG_IOC_SESSION_OPEN, _SESSION_CLOSE, _LOGIN, _LOGOUT: handles per open
 * file, login on every member with one pin-blob, VHSM card-PIN rules,
 * quotas, logout on close of the session and of the file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN	"12345678"
#define CARDPIN "cardpin-0123"

FIXTURE(session)
{
	int cfd;
	struct tgroup g;
};

FIXTURE_SETUP(session)
{
	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
}

FIXTURE_TEARDOWN(session)
{
	if (self->cfd >= 0)
		close(self->cfd);
	tgroup_destroy(&self->g);
}

static void fill_open(struct hsmg_session_open *o, uint32_t group, uint32_t flags)
{
	memset(o, 0, sizeof(*o));
	o->argsz = sizeof(*o);
	o->flags = flags;
	o->group_id = group;
}

static void fill_login(struct hsmg_login *l, uint32_t sid, const char *pin, const char *cardpin)
{
	memset(l, 0, sizeof(*l));
	l->argsz = sizeof(*l);
	l->session_id = sid;
	l->pin_len = pin ? strlen(pin) : 0;
	l->pin = (uintptr_t)pin;
	l->cardpin_len = cardpin ? strlen(cardpin) : 0;
	l->cardpin = (uintptr_t)cardpin;
}

/* The coprocessor session id the members saw at the last login. */
static uint64_t cop_session(struct tq *q)
{
	return tq_session_of_last_login(q);
}

/* ---- SESSION_OPEN ---- */

TEST_F(session, open_good)
{
	struct hsmg_session_open o;
	uint32_t ids[8];
	int i, j;

	for (i = 0; i < 8; i++) {
		fill_open(&o, self->g.group_id, i & 1 ? HSMG_SESSION_RW : 0);
		o.session_id = 0xdeadbeef; /* output only */
		ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SESSION_OPEN, &o);
		EXPECT_NE(0, o.session_id);
		ids[i] = o.session_id;
		for (j = 0; j < i; j++)
			EXPECT_NE(ids[j], ids[i]);
	}
	for (i = 0; i < 8; i++)
		ASSERT_OK(hsmg_session_close(self->cfd, ids[i]));
}

TEST_F(session, open_all_flags)
{
	uint32_t f, sid;

	for (f = 0; f <= HSMG_SESSION_ALL_FLAGS; f++) {
		ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, f, &sid));
		ASSERT_OK(hsmg_session_close(self->cfd, sid));
	}
}

TEST_F(session, open_bad_flags)
{
	struct hsmg_session_open o;
	unsigned int bit;

	for (bit = 3; bit < 32; bit++) {
		fill_open(&o, self->g.group_id, 1U << bit);
		ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
	}
}

TEST_F(session, open_reserved)
{
	struct hsmg_session_open o;

	fill_open(&o, self->g.group_id, 0);
	o.reserved[0] = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
	fill_open(&o, self->g.group_id, 0);
	o.reserved[1] = 1ULL << 63;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
}

TEST_F(session, open_unknown_group)
{
	struct hsmg_session_open o;

	fill_open(&o, 0, 0);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
	fill_open(&o, 0xfffffffe, HSMG_SESSION_RW);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
}

TEST_F(session, open_argsz)
{
	struct {
		struct hsmg_session_open o;
		uint8_t tail[24];
	} big;

	memset(&big, 0, sizeof(big));
	fill_open(&big.o, self->g.group_id, 0);
	big.o.argsz = HSMG_SESSION_OPEN_SIZE_V1 - 8;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &big);
	big.o.argsz = sizeof(big);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SESSION_OPEN, &big);
	EXPECT_NE(0, big.o.session_id);
	big.tail[23] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SESSION_OPEN, &big);
}

TEST_F(session, open_check_order)
{
	struct {
		struct hsmg_session_open o;
		uint8_t tail[8];
	} big;
	struct hsmg_session_open o;

	memset(&big, 0, sizeof(big));
	fill_open(&big.o, 0, 1U << 31);
	big.o.argsz = sizeof(big);
	big.o.reserved[0] = 1;
	big.tail[0] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SESSION_OPEN, &big);
	fill_open(&o, 0, 1U << 31);
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
	fill_open(&o, 0, 0);
	o.reserved[1] = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
}

TEST_F(session, open_efault)
{
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SESSION_OPEN, NULL);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SESSION_OPEN, (void *)-4096L);
}

/* A client holds at most HSMG_MAX_SESSIONS; closing one makes room. */
TEST_F_TIMEOUT(session, open_emfile, 300)
{
	struct hsmg_session_open o;
	uint32_t i, last = 0;

	for (i = 0; i < HSMG_MAX_SESSIONS; i++) {
		fill_open(&o, self->g.group_id, 0);
		ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SESSION_OPEN, &o);
		last = o.session_id;
	}
	fill_open(&o, self->g.group_id, 0);
	ASSERT_IOCTL_ERR(EMFILE, self->cfd, HSMG_IOC_SESSION_OPEN, &o);
	/* Another client is not affected. */
	{
		int fd2 = hsmg_open_client();
		uint32_t sid;

		ASSERT_LE(0, fd2);
		ASSERT_OK(hsmg_session_open(fd2, self->g.group_id, 0, &sid));
		close(fd2);
	}
	ASSERT_OK(hsmg_session_close(self->cfd, last));
	fill_open(&o, self->g.group_id, 0);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SESSION_OPEN, &o);
}

/* ---- SESSION_CLOSE ---- */

TEST_F(session, close_good_and_twice)
{
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_session_close(self->cfd, sid));
	ASSERT_ERR(ENOENT, hsmg_session_close(self->cfd, sid));
	ASSERT_ERR(ENOENT, hsmg_session_close(self->cfd, 0));
	ASSERT_ERR(ENOENT, hsmg_session_close(self->cfd, 0xffffffff));
}

TEST_F(session, close_bad_args)
{
	struct {
		struct hsmg_session_close c;
		uint8_t tail[8];
	} big;
	struct hsmg_session_close c;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	c = (struct hsmg_session_close){.argsz = sizeof(c), .flags = 1, .session_id = sid};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_CLOSE, &c);
	c = (struct hsmg_session_close){.argsz = sizeof(c), .session_id = sid, .reserved = 1};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_CLOSE, &c);
	c = (struct hsmg_session_close){.argsz = 12, .session_id = sid};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_CLOSE, &c);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_SESSION_CLOSE, NULL);
	memset(&big, 0, sizeof(big));
	big.c = (struct hsmg_session_close){.argsz = sizeof(big), .flags = 1, .session_id = sid};
	big.tail[7] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_SESSION_CLOSE, &big);
	/* flags/reserved before the unknown id */
	c = (struct hsmg_session_close){.argsz = sizeof(c), .flags = 4, .session_id = 0};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_CLOSE, &c);
	c = (struct hsmg_session_close){.argsz = sizeof(c), .session_id = 0, .reserved = 9};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_SESSION_CLOSE, &c);
	/* zero tail accepted; the session is still there until now */
	big.tail[7] = 0;
	big.c.flags = 0;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_SESSION_CLOSE, &big);
}

/* Session ids are per open file: another client's ids do not exist here. */
TEST_F(session, other_client_session)
{
	int fd2 = hsmg_open_client();
	struct hsmg_login l;
	uint32_t sid2;

	ASSERT_LE(0, fd2);
	ASSERT_OK(hsmg_session_open(fd2, self->g.group_id, 0, &sid2));
	/* self->cfd holds no session at all */
	ASSERT_ERR(ENOENT, hsmg_session_close(self->cfd, sid2));
	ASSERT_ERR(ENOENT, hsmg_login(self->cfd, sid2, PIN, NULL, &l));
	ASSERT_ERR(ENOENT, hsmg_logout(self->cfd, sid2));
	/* still alive on its own file */
	ASSERT_OK(hsmg_login(fd2, sid2, PIN, NULL, &l));
	ASSERT_ERR(ENOENT, hsmg_logout(self->cfd, sid2));
	ASSERT_OK(hsmg_logout(fd2, sid2));
	ASSERT_OK(hsmg_session_close(fd2, sid2));
	close(fd2);
}

/*
 * A login of one thread races with the close of its session by another:
 * the PIN sits on a page that faults into userfaultfd, so the login stops
 * in copy_from_user() (after it took its reference to the session) while
 * the session is closed.  The login must then fail with ENOENT and log in
 * nowhere; it once logged in a session nobody could close, which was freed
 * while still on its group's list (an oops at the next member attach).
 */
struct uffd_login {
	int cfd;
	uint32_t sid;
	char *pin;
	int ret;
};

static void *uffd_login_thread(void *arg)
{
	struct uffd_login *ul = arg;
	struct hsmg_login l;

	memset(&l, 0, sizeof(l));
	l.argsz = sizeof(l);
	l.session_id = ul->sid;
	l.pin_len = strlen(PIN);
	l.pin = (uintptr_t)ul->pin;
	ul->ret = hsmg_ioctl(ul->cfd, HSMG_IOC_LOGIN, &l);
	return NULL;
}

TEST_F(session, close_during_login)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg;
	struct uffdio_copy cp;
	struct uffd_msg msg;
	struct hsmg_member_info mi;
	struct uffd_login ul;
	struct pollfd pfd;
	pthread_t t;
	char *page, *src;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		HSMG_SKIP("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	reg = (struct uffdio_register){.range = {.start = (uintptr_t)page, .len = pg},
				       .mode = UFFDIO_REGISTER_MODE_MISSING};
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	ul = (struct uffd_login){.cfd = self->cfd, .pin = page, .ret = 1};
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &ul.sid));
	ASSERT_EQ(0, pthread_create(&t, NULL, uffd_login_thread, &ul));

	/* The login thread is inside copy_from_user() of its PIN. */
	pfd = (struct pollfd){.fd = uffd, .events = POLLIN};
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_OK(hsmg_session_close(self->cfd, ul.sid));

	/* Let the login go on. */
	src = aligned_alloc(pg, pg);
	ASSERT_NE(NULL, src);
	memset(src, 0, pg);
	memcpy(src, PIN, strlen(PIN));
	cp = (struct uffdio_copy){.dst = (uintptr_t)page, .src = (uintptr_t)src, .len = pg};
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ(0, pthread_join(t, NULL));
	free(src);
	munmap(page, pg);
	close(uffd);

	ASSERT_ERR(ENOENT, ul.ret);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));
	EXPECT_EQ(0, tq_count(self->g.q[1], HSMG_BE_REQ_LOGIN));
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, self->g.q[0]->queue_id, &mi));
	EXPECT_EQ(0, mi.sessions);
	/* A member attaching now logs in no session of the closed handle. */
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	EXPECT_EQ(0, tq_count(self->g.q[2], HSMG_BE_REQ_LOGIN));
}

/* ---- LOGIN ---- */

TEST_F(session, login_good)
{
	uint8_t blob[HSMG_PIN_BLOB_LEN];
	struct hsmg_member_info mi;
	struct hsmg_login l;
	struct tq_event ev[2];
	uint32_t sid, k;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id,
				    HSMG_SESSION_RW | HSMG_SESSION_STRICT, &sid));
	fill_login(&l, sid, PIN, NULL);
	l.members = 99; /* output only */
	memset(l.pin_blob, 0x11, sizeof(l.pin_blob));
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(2, l.members);
	tq_pin_blob(0xA5, PIN, strlen(PIN), blob);
	EXPECT_EQ(0, memcmp(blob, l.pin_blob, sizeof(blob)));

	/* Every member saw one LOGIN with the same coprocessor session. */
	for (k = 0; k < 2; k++) {
		const struct hsmg_be_login *bl = (const void *)ev[k].data;

		ASSERT_OK(tq_find_event(self->g.q[k], HSMG_BE_REQ_LOGIN, 0, &ev[k]));
		EXPECT_NE(0, ev[k].session);
		EXPECT_EQ(HSMG_SESSION_RW | HSMG_SESSION_STRICT, ev[k].session_flags);
		EXPECT_EQ(sizeof(*bl) + strlen(PIN), ev[k].len);
		EXPECT_EQ(0, bl->flags);
		EXPECT_EQ(strlen(PIN), bl->pin_len);
		EXPECT_EQ(0, bl->cardpin_len);
		EXPECT_EQ(0, bl->record_len);
		EXPECT_EQ(0, memcmp(ev[k].data + sizeof(*bl), PIN, strlen(PIN)));
		EXPECT_EQ(1, tq_count(self->g.q[k], HSMG_BE_REQ_LOGIN));
		ASSERT_OK(
		    hsmg_get_member(self->cfd, self->g.group_id, self->g.q[k]->queue_id, &mi));
		EXPECT_EQ(1, mi.sessions);
	}
	EXPECT_EQ(ev[0].session, ev[1].session);

	ASSERT_OK(hsmg_logout(self->cfd, sid));
	for (k = 0; k < 2; k++) {
		ASSERT_OK(tq_wait_count(self->g.q[k], HSMG_BE_REQ_LOGOUT, 1, 5000));
		EXPECT_TRUE(tq_saw(self->g.q[k], HSMG_BE_REQ_LOGOUT, ev[0].session));
		ASSERT_OK(
		    hsmg_get_member(self->cfd, self->g.group_id, self->g.q[k]->queue_id, &mi));
		EXPECT_EQ(0, mi.sessions);
	}
}

/* Coprocessor session ids differ between sessions (unique for the module). */
TEST_F(session, cop_session_unique)
{
	uint32_t s1, s2;
	uint64_t c1, c2;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &s1));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &s2));
	ASSERT_OK(hsmg_login(self->cfd, s1, PIN, NULL, NULL));
	c1 = cop_session(self->g.q[0]);
	ASSERT_OK(hsmg_login(self->cfd, s2, PIN, NULL, NULL));
	c2 = cop_session(self->g.q[0]);
	EXPECT_NE(0, c1);
	EXPECT_NE(c1, c2);
	/* logout and login again: fine */
	ASSERT_OK(hsmg_logout(self->cfd, s1));
	ASSERT_OK(hsmg_login(self->cfd, s1, PIN, NULL, NULL));
}

TEST_F(session, login_so)
{
	struct hsmg_login l;
	struct tq_event ev;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_RW, &sid));
	fill_login(&l, sid, "so-pin-1", NULL);
	l.flags = HSMG_LOGIN_SO;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(2, l.members);
	ASSERT_OK(tq_find_event(self->g.q[1], HSMG_BE_REQ_LOGIN, 0, &ev));
	EXPECT_EQ(HSMG_LOGIN_SO, ((struct hsmg_be_login *)ev.data)->flags);
}

TEST_F(session, login_twice_ebusy)
{
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	ASSERT_ERR(EBUSY, hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	ASSERT_ERR(EBUSY, hsmg_login(self->cfd, sid, "otherpin", NULL, NULL));
	EXPECT_EQ(1, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));
}

TEST_F(session, login_pin_len)
{
	char pin[HSMG_MAX_PIN_LEN + 2];
	struct hsmg_login l;
	uint32_t sid;

	memset(pin, 'p', sizeof(pin));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	fill_login(&l, sid, PIN, NULL);
	l.pin_len = 0;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid, PIN, NULL);
	l.pin = (uintptr_t)pin;
	l.pin_len = HSMG_MAX_PIN_LEN + 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &l);
	l.pin_len = 0xffffffff;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));
	/* The longest PIN and a 1-byte PIN are fine. */
	l.pin_len = HSMG_MAX_PIN_LEN;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	fill_login(&l, sid, "1", NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
}

TEST_F(session, login_efault)
{
	uint8_t *pg = hsmg_guard_page();
	long psz = sysconf(_SC_PAGESIZE);
	struct hsmg_login l;
	uint32_t sid, vsid;

	ASSERT_NE(NULL, pg);
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_VHSM, &vsid));
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, NULL);
	fill_login(&l, sid, PIN, NULL);
	l.pin = 0;
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, &l);
	/* PIN running into the PROT_NONE page */
	memcpy(pg + psz - 4, "1234", 4);
	l.pin = (uintptr_t)(pg + psz - 4);
	l.pin_len = 8;
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, &l);
	l.pin_len = 4;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	/* card-PIN */
	fill_login(&l, vsid, PIN, CARDPIN);
	l.cardpin = 0;
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, &l);
	l.cardpin = (uintptr_t)(pg + psz - 4);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, &l);
	/* a failed login leaves the session logged out */
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, vsid));
	hsmg_guard_page_free(pg);
}

TEST_F(session, login_bad_args)
{
	struct {
		struct hsmg_login l;
		uint8_t tail[16];
	} big;
	struct hsmg_login l;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	fill_login(&l, sid, PIN, NULL);
	l.flags = 2;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid, PIN, NULL);
	l.reserved0 = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid, PIN, NULL);
	l.reserved = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid, PIN, NULL);
	l.argsz = HSMG_LOGIN_SIZE_V1 - 16;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, 0, PIN, NULL);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid + 1000, PIN, NULL);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LOGIN, &l);
	memset(&big, 0, sizeof(big));
	fill_login(&big.l, sid, PIN, NULL);
	big.l.argsz = sizeof(big);
	big.tail[3] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &big);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));
	big.tail[3] = 0;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &big);
	EXPECT_EQ(2, big.l.members);
}

/* size, flags, reserved, ids, buffers. */
TEST_F(session, login_check_order)
{
	struct {
		struct hsmg_login l;
		uint8_t tail[8];
	} big;
	struct hsmg_login l;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	memset(&big, 0, sizeof(big));
	fill_login(&big.l, 0, NULL, NULL);
	big.l.argsz = sizeof(big);
	big.l.flags = 0x100;
	big.tail[0] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &big);
	/* reserved before the unknown session */
	fill_login(&l, 0, PIN, NULL);
	l.reserved0 = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	/* the unknown session before the PIN buffer checks */
	fill_login(&l, 0, NULL, NULL);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, 0, PIN, NULL);
	l.pin_len = HSMG_MAX_PIN_LEN + 1;
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, 0, PIN, NULL);
	l.pin = 8;
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LOGIN, &l);
	/* pin_len over the limit before reading the PIN */
	fill_login(&l, sid, NULL, NULL);
	l.pin = 8;
	l.pin_len = HSMG_MAX_PIN_LEN + 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &l);
}

/* ---- VHSM card-PIN rules ---- */

TEST_F(session, vhsm_cardpin)
{
	char cp[32];
	struct hsmg_login l;
	struct tq_event ev;
	uint32_t sid, plain;
	const struct hsmg_be_login *bl = (const void *)ev.data;

	memset(cp, 'c', sizeof(cp));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id,
				    HSMG_SESSION_VHSM | HSMG_SESSION_RW, &sid));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_RW, &plain));

	/* required for VHSM, 8..16 bytes */
	fill_login(&l, sid, PIN, NULL);
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	fill_login(&l, sid, PIN, NULL);
	l.cardpin = (uintptr_t)cp;
	l.cardpin_len = 7;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	l.cardpin_len = 17;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	/* must be 0 otherwise */
	fill_login(&l, plain, PIN, CARDPIN);
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));

	/* 8 and 16 are fine; the card gets PIN then card-PIN */
	fill_login(&l, sid, PIN, NULL);
	l.cardpin = (uintptr_t)cp;
	l.cardpin_len = 8;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(2, l.members);
	ASSERT_OK(tq_find_event(self->g.q[0], HSMG_BE_REQ_LOGIN, 0, &ev));
	EXPECT_EQ(HSMG_SESSION_VHSM | HSMG_SESSION_RW, ev.session_flags);
	EXPECT_EQ(sizeof(*bl) + strlen(PIN) + 8, ev.len);
	EXPECT_EQ(strlen(PIN), bl->pin_len);
	EXPECT_EQ(8, bl->cardpin_len);
	EXPECT_EQ(0, memcmp(ev.data + sizeof(*bl), PIN, strlen(PIN)));
	EXPECT_EQ(0, memcmp(ev.data + sizeof(*bl) + strlen(PIN), cp, 8));
	ASSERT_OK(hsmg_logout(self->cfd, sid));

	l.cardpin_len = 16;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	/* the plain session logs in without a card-PIN */
	ASSERT_OK(hsmg_login(self->cfd, plain, PIN, NULL, NULL));
}

/* ---- authentication records: the PIN judged by the cards, counted ---- */

struct rec {
	struct hsmg_auth_record_hdr h;
	uint8_t sealed[92];
};

static void fill_rec(struct rec *r, uint16_t user, uint8_t token)
{
	memset(r, 0x3c, sizeof(*r));
	r->h.magic = HSMG_AUTH_RECORD_MAGIC;
	r->h.version = 1;
	r->h.user = user;
	memset(r->h.token, token, sizeof(r->h.token));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The record goes to every member after the PIN; its head is checked. */
TEST_F(session, login_record)
{
	uint8_t huge[HSMG_AUTH_RECORD_MAX + 1];
	struct hsmg_login l;
	struct tq_event ev;
	struct rec r;
	uint32_t sid, k;
	const struct hsmg_be_login *bl = (const void *)ev.data;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_RW, &sid));
	fill_rec(&r, HSMG_AUTH_USER, 7);
	fill_login(&l, sid, PIN, NULL);
	l.record = (uintptr_t)&r;
	l.record_len = sizeof(r);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(2, l.members);
	for (k = 0; k < 2; k++) {
		ASSERT_OK(tq_find_event(self->g.q[k], HSMG_BE_REQ_LOGIN, 0, &ev));
		EXPECT_EQ(sizeof(*bl) + strlen(PIN) + sizeof(r), ev.len);
		EXPECT_EQ(sizeof(r), bl->record_len);
		EXPECT_EQ(0, memcmp(ev.data + sizeof(*bl) + strlen(PIN), &r, sizeof(r)));
	}
	ASSERT_OK(hsmg_logout(self->cfd, sid));

	/* too long, short of a head, not a record, another user, unreadable */
	memset(huge, 0, sizeof(huge));
	memcpy(huge, &r, sizeof(r));
	l.record = (uintptr_t)huge;
	l.record_len = sizeof(huge);
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGIN, &l);
	l.record = (uintptr_t)&r;
	l.record_len = sizeof(r.h) - 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	l.record_len = sizeof(r);
	r.h.magic ^= 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	r.h.magic ^= 1;
	r.h.version = 2;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	r.h.version = 1;
	r.h.user = HSMG_AUTH_SO;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGIN, &l);
	l.flags = HSMG_LOGIN_SO;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	l.flags = 0;
	r.h.user = HSMG_AUTH_USER;
	l.record = 8;
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_EQ(2, tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN));
}

/*
 * A member that finds the PIN wrong fails the login (-EACCES), one that
 * locked it wins (-EKEYEXPIRED); nothing stays logged in; the next login
 * of that token and user waits (at least 0.1 s after one failure, 0.2 s
 * after two), one of another token does not count with it.
 */
TEST_F(session, login_record_wrong_pin)
{
	struct hsmg_login l;
	struct rec r, other;
	uint32_t sid, k;
	double t0;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_RW, &sid));
	fill_rec(&r, HSMG_AUTH_USER, 9);
	fill_rec(&other, HSMG_AUTH_USER, 10);
	fill_login(&l, sid, PIN, NULL);
	l.record = (uintptr_t)&r;
	l.record_len = sizeof(r);
	tq_set_login_status(self->g.q[1], HSMG_BE_PIN_INCORRECT);
	ASSERT_IOCTL_ERR(EACCES, self->cfd, HSMG_IOC_LOGIN, &l);
	for (k = 0; k < 2; k++) {
		struct hsmg_member_info mi;

		ASSERT_OK(
		    hsmg_get_member(self->cfd, self->g.group_id, self->g.q[k]->queue_id, &mi));
		EXPECT_EQ(0, mi.sessions);
		EXPECT_EQ(HSMG_QS_ONLINE, mi.state); /* a wrong PIN is no card fault */
	}
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, sid));

	t0 = now_ms();
	tq_set_login_status(self->g.q[0], HSMG_BE_PIN_LOCKED);
	ASSERT_IOCTL_ERR(EKEYEXPIRED, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_LE(95, now_ms() - t0);
	t0 = now_ms();
	ASSERT_IOCTL_ERR(EKEYEXPIRED, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_LE(195, now_ms() - t0);

	/* another token: its own count; the right PIN resets the count */
	tq_set_login_status(self->g.q[0], HSMG_BE_OK);
	tq_set_login_status(self->g.q[1], HSMG_BE_OK);
	l.record = (uintptr_t)&other;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	l.record = (uintptr_t)&r;
	t0 = now_ms();
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_LE(395, now_ms() - t0);
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	tq_set_login_status(self->g.q[1], HSMG_BE_PIN_INCORRECT);
	ASSERT_IOCTL_ERR(EACCES, self->cfd, HSMG_IOC_LOGIN, &l);
	t0 = now_ms();
	ASSERT_IOCTL_ERR(EACCES, self->cfd, HSMG_IOC_LOGIN, &l);
	EXPECT_LE(95, now_ms() - t0);
	EXPECT_GT(195, now_ms() - t0); /* counted from 0 again, not from 3 */
}

/*
 * More tokens with failed logins than the group keeps (1024): the oldest
 * entry makes room, no login is refused for it (-EAGAIN was the answer of
 * a full table before).
 */
TEST_F(session, login_record_many_tokens)
{
	struct hsmg_login l;
	struct rec r;
	uint32_t sid, i;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, HSMG_SESSION_RW, &sid));
	tq_set_login_status(self->g.q[0], HSMG_BE_PIN_INCORRECT);
	fill_login(&l, sid, PIN, NULL);
	l.record = (uintptr_t)&r;
	l.record_len = sizeof(r);
	for (i = 0; i < 1100; i++) {
		fill_rec(&r, HSMG_AUTH_USER, 0x20);
		memcpy(r.h.token, &i, sizeof(i));
		ASSERT_IOCTL_ERR(EACCES, self->cfd, HSMG_IOC_LOGIN, &l);
	}
}

/* A PIN status on a crypto request is a card's protocol error. */
TEST_F(session, pin_status_on_crypto)
{
	uint8_t req[8] = {1}, resp[64];
	uint32_t rlen = sizeof(resp), k;

	for (k = 0; k < 2; k++)
		tq_set_crypto_status(self->g.q[k], HSMG_BE_PIN_INCORRECT);
	ASSERT_ERR(EPROTO, hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_SIGN, req,
				       sizeof(req), resp, &rlen, NULL));
}

/* ---- pin-blob agreement and quotas ---- */

/* Members returning different pin-blobs: -EKEYREJECTED, nothing logged in. */
TEST_F(session, login_blob_mismatch)
{
	struct hsmg_member_info mi;
	uint64_t cop;
	uint32_t sid, k;

	tq_set_pin_seed(self->g.q[1], 0x5A);
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_ERR(EKEYREJECTED, hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	cop = cop_session(self->g.q[0]);
	ASSERT_NE(0, cop);
	/* nothing stays logged in: every member that accepted is logged out */
	for (k = 0; k < 2; k++) {
		ASSERT_OK(tq_wait_count(self->g.q[k], HSMG_BE_REQ_LOGOUT, 1, 5000));
		EXPECT_TRUE(tq_saw(self->g.q[k], HSMG_BE_REQ_LOGOUT, cop));
		ASSERT_OK(
		    hsmg_get_member(self->cfd, self->g.group_id, self->g.q[k]->queue_id, &mi));
		EXPECT_EQ(0, mi.sessions);
	}
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, sid));
	/* agreeing again, the same session logs in */
	tq_set_pin_seed(self->g.q[1], 0xA5);
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
}

/* The attach-time session quota of a member: -EDQUOT. */
TEST_F(session, quota_attach)
{
	struct tgroup g;
	uint32_t s1, s2;

	ASSERT_OK(tgroup_create(&g, 2, 1));
	ASSERT_OK(hsmg_session_open(self->cfd, g.group_id, 0, &s1));
	ASSERT_OK(hsmg_session_open(self->cfd, g.group_id, 0, &s2));
	ASSERT_OK(hsmg_login(self->cfd, s1, PIN, NULL, NULL));
	ASSERT_ERR(EDQUOT, hsmg_login(self->cfd, s2, PIN, NULL, NULL));
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, s2));
	ASSERT_OK(hsmg_logout(self->cfd, s1));
	ASSERT_OK(hsmg_login(self->cfd, s2, PIN, NULL, NULL));
	tgroup_destroy(&g);
}

/* A card answering HSMG_BE_QUOTA: -EDQUOT, nothing stays logged in. */
TEST_F(session, quota_card)
{
	uint32_t s1, s2;
	uint64_t cop;

	tq_set_card_quota(self->g.q[1], 1);
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &s1));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &s2));
	ASSERT_OK(hsmg_login(self->cfd, s1, PIN, NULL, NULL));
	ASSERT_ERR(EDQUOT, hsmg_login(self->cfd, s2, PIN, NULL, NULL));
	cop = cop_session(self->g.q[0]);
	/* if the other member logged s2 in, it was logged out again */
	if (tq_saw(self->g.q[0], HSMG_BE_REQ_LOGIN, cop) &&
	    tq_count(self->g.q[0], HSMG_BE_REQ_LOGIN) == 2) {
		ASSERT_OK(tq_wait_count(self->g.q[0], HSMG_BE_REQ_LOGOUT, 1, 5000));
		EXPECT_TRUE(tq_saw(self->g.q[0], HSMG_BE_REQ_LOGOUT, cop));
	}
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, s2));
	ASSERT_OK(hsmg_logout(self->cfd, s1));
	ASSERT_OK(hsmg_login(self->cfd, s2, PIN, NULL, NULL));
}

/* ---- LOGOUT ---- */

TEST_F(session, logout_states)
{
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	ASSERT_ERR(EINVAL, hsmg_logout(self->cfd, sid));
	ASSERT_ERR(ENOENT, hsmg_logout(self->cfd, 0));
	ASSERT_ERR(ENOENT, hsmg_logout(self->cfd, sid + 77));
	ASSERT_OK(hsmg_session_close(self->cfd, sid));
	ASSERT_ERR(ENOENT, hsmg_logout(self->cfd, sid));
}

TEST_F(session, logout_bad_args)
{
	struct {
		struct hsmg_logout l;
		uint8_t tail[8];
	} big;
	struct hsmg_logout l;
	uint32_t sid;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	l = (struct hsmg_logout){.argsz = sizeof(l), .flags = 1, .session_id = sid};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGOUT, &l);
	l = (struct hsmg_logout){.argsz = sizeof(l), .session_id = sid, .reserved = 1};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGOUT, &l);
	l = (struct hsmg_logout){.argsz = 8, .session_id = sid};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGOUT, &l);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LOGOUT, NULL);
	/* order: flags before the unknown session */
	l = (struct hsmg_logout){.argsz = sizeof(l), .flags = 1, .session_id = 0};
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LOGOUT, &l);
	memset(&big, 0, sizeof(big));
	big.l = (struct hsmg_logout){.argsz = sizeof(big), .flags = 1, .session_id = 0};
	big.tail[1] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LOGOUT, &big);
	EXPECT_EQ(0, tq_count(self->g.q[0], HSMG_BE_REQ_LOGOUT));
	big.l.flags = 0;
	big.l.session_id = sid;
	big.tail[1] = 0;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LOGOUT, &big);
}

/* Closing a logged-in session logs it out on every member. */
TEST_F(session, close_logs_out)
{
	uint32_t sid, k;
	uint64_t cop;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	cop = cop_session(self->g.q[0]);
	ASSERT_OK(hsmg_session_close(self->cfd, sid));
	for (k = 0; k < 2; k++) {
		ASSERT_OK(tq_wait_count(self->g.q[k], HSMG_BE_REQ_LOGOUT, 1, 5000));
		EXPECT_TRUE(tq_saw(self->g.q[k], HSMG_BE_REQ_LOGOUT, cop));
	}
}

/* Closing the client file logs out each of its logged-in sessions. */
TEST_F(session, file_close_logs_out)
{
	int fd2 = hsmg_open_client();
	uint32_t sid[4], k, i;
	uint64_t cop[2];

	ASSERT_LE(0, fd2);
	for (i = 0; i < 4; i++)
		ASSERT_OK(hsmg_session_open(fd2, self->g.group_id, 0, &sid[i]));
	ASSERT_OK(hsmg_login(fd2, sid[0], PIN, NULL, NULL));
	cop[0] = cop_session(self->g.q[0]);
	ASSERT_OK(hsmg_login(fd2, sid[2], PIN, NULL, NULL));
	cop[1] = cop_session(self->g.q[0]);
	ASSERT_NE(cop[0], cop[1]);
	close(fd2);
	for (k = 0; k < 2; k++) {
		ASSERT_OK(tq_wait_count(self->g.q[k], HSMG_BE_REQ_LOGOUT, 2, 5000));
		EXPECT_TRUE(tq_saw(self->g.q[k], HSMG_BE_REQ_LOGOUT, cop[0]));
		EXPECT_TRUE(tq_saw(self->g.q[k], HSMG_BE_REQ_LOGOUT, cop[1]));
	}
	hsmg_sleep_ms(200);
	for (k = 0; k < 2; k++)
		EXPECT_EQ(2, tq_count(self->g.q[k], HSMG_BE_REQ_LOGOUT));
}

/* A killed client process is logged out like a closed one. */
TEST_F(session, killed_client_logs_out)
{
	int pfd[2], status;
	uint64_t cop = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd2 = hsmg_open_client();
		uint32_t sid;

		if (fd2 < 0 || hsmg_session_open(fd2, self->g.group_id, 0, &sid) ||
		    hsmg_login(fd2, sid, PIN, NULL, NULL))
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	{
		char c;

		ASSERT_EQ(1, read(pfd[0], &c, 1));
	}
	close(pfd[0]);
	cop = cop_session(self->g.q[0]);
	ASSERT_NE(0, cop);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_OK(tq_wait_count(self->g.q[0], HSMG_BE_REQ_LOGOUT, 1, 5000));
	ASSERT_OK(tq_wait_count(self->g.q[1], HSMG_BE_REQ_LOGOUT, 1, 5000));
	EXPECT_TRUE(tq_saw(self->g.q[0], HSMG_BE_REQ_LOGOUT, cop));
	EXPECT_TRUE(tq_saw(self->g.q[1], HSMG_BE_REQ_LOGOUT, cop));
}

/* A member joining later is logged in for the live session. */
TEST_F(session, late_member_logged_in)
{
	uint8_t req[8] = "latejoin", resp[8];
	uint32_t sid, rlen, i;
	uint64_t cop;
	struct tq *q;

	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	cop = cop_session(self->g.q[0]);
	ASSERT_OK(tgroup_add(&self->g, 0, 0));
	q = self->g.q[2];
	/* eagerly at join, or on demand before its first request */
	for (i = 0; i < 20 && !tq_count(q, HSMG_BE_REQ_CRYPTO); i++) {
		rlen = sizeof(resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, sid, 0, HSMG_OP_NULL, req,
				      sizeof(req), resp, &rlen, NULL));
	}
	if (tq_count(q, HSMG_BE_REQ_CRYPTO)) {
		struct tq_event ev;

		ASSERT_OK(tq_find_event(q, HSMG_BE_REQ_LOGIN, 0, &ev));
		EXPECT_EQ(cop, ev.session);
	}
	ASSERT_OK(tq_wait_count(q, HSMG_BE_REQ_LOGIN, 1, 5000));
	EXPECT_TRUE(tq_saw(q, HSMG_BE_REQ_LOGIN, cop));
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	ASSERT_OK(tq_wait_count(q, HSMG_BE_REQ_LOGOUT, 1, 5000));
}

/*
 * A member that was offline at login is logged in for the live session when
 * it attaches again, before it goes online.
 */
TEST_F(session, rejoin_logs_in)
{
	struct hsmg_login l;
	struct tq *q1 = self->g.q[1];
	uint32_t sid;
	uint64_t cop;

	ASSERT_OK(tq_detach(q1));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q1->queue_id, HSMG_QS_OFFLINE, 5000));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, &l));
	EXPECT_EQ(1, l.members);
	cop = cop_session(self->g.q[0]);
	EXPECT_FALSE(tq_saw(q1, HSMG_BE_REQ_LOGIN, cop));
	tq_clear_log(q1);
	ASSERT_OK(tq_reattach(q1, NULL));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q1->queue_id, HSMG_QS_ONLINE, 5000));
	EXPECT_TRUE(tq_saw(q1, HSMG_BE_REQ_LOGIN, cop));
	/* logout reaches both */
	ASSERT_OK(hsmg_logout(self->cfd, sid));
	ASSERT_OK(tq_wait_count(q1, HSMG_BE_REQ_LOGOUT, 1, 5000));
	EXPECT_TRUE(tq_saw(q1, HSMG_BE_REQ_LOGOUT, cop));
	EXPECT_TRUE(tq_saw(self->g.q[0], HSMG_BE_REQ_LOGOUT, cop));
}

/* A member joining with a different pin-blob is not used for the session. */
TEST_F(session, rejoin_blob_mismatch)
{
	uint8_t req[8] = "rejoinmm", resp[8];
	struct tq *q1 = self->g.q[1];
	struct hsmg_submit s;
	uint32_t sid, rlen, i;

	ASSERT_OK(tq_detach(q1));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q1->queue_id, HSMG_QS_OFFLINE, 5000));
	ASSERT_OK(hsmg_session_open(self->cfd, self->g.group_id, 0, &sid));
	ASSERT_OK(hsmg_login(self->cfd, sid, PIN, NULL, NULL));
	tq_set_pin_seed(q1, 0x3C);
	ASSERT_OK(tq_reattach(q1, NULL));
	hsmg_sleep_ms(500);
	for (i = 0; i < 10; i++) {
		rlen = sizeof(resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, sid, 0, HSMG_OP_SIGN, req,
				      sizeof(req), resp, &rlen, &s));
		EXPECT_EQ(self->g.q[0]->queue_id, s.member);
	}
	EXPECT_EQ(0, tq_count(q1, HSMG_BE_REQ_CRYPTO));
}

TEST_HARNESS_MAIN
