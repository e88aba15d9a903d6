// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation of clients: session handles are per open file; an open file
 * passed to another process (SCM_RIGHTS, fork, dup) carries its sessions
 * with it, they stay usable by whoever holds the file and end when the last
 * reference to the file is closed; access rights are checked at open() only.
 * Run in the test guest by tests/perm/run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define PIN "perm-pin-1234"

FIXTURE(perm)
{
	struct tgroup g;
};

FIXTURE_SETUP(perm)
{
	HSMG_REQUIRE_DEVICES();
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
}

FIXTURE_TEARDOWN(perm)
{
	tgroup_destroy(&self->g);
}

/* One echo request on @sid; 0 or -errno. */
static int echo(int cfd, uint32_t group, uint32_t sid)
{
	char req[16] = "perm-echo", resp[16];
	uint32_t rlen = sizeof(resp);
	int ret;

	ret = hsmg_submit(cfd, group, sid, 0, HSMG_OP_DIGEST, req, sizeof(req), resp, &rlen, NULL);
	if (!ret && (rlen != sizeof(req) || memcmp(req, resp, rlen)))
		ret = -EPROTO;
	return ret;
}

/* Whether every member of @g fetched a LOGOUT of coprocessor session @cop. */
static bool all_saw_logout(struct tgroup *g, uint64_t cop)
{
	unsigned int i;

	for (i = 0; i < g->nq; i++)
		if (!tq_saw(g->q[i], HSMG_BE_REQ_LOGOUT, cop))
			return false;
	return true;
}

static bool wait_logout(struct tgroup *g, uint64_t cop, unsigned int ms)
{
	uint64_t end = hsmg_now_ms() + ms;

	while (!all_saw_logout(g, cop)) {
		if (hsmg_now_ms() > end)
			return false;
		hsmg_sleep_ms(10);
	}
	return true;
}

/* Open and log in one session on a new client file. */
static int logged_in_client(struct tgroup *g, uint32_t *sid, uint64_t *cop)
{
	struct hsmg_login l;
	int cfd = hsmg_open_client();
	int ret;

	if (cfd < 0)
		return cfd;
	ret = hsmg_session_open(cfd, g->group_id, HSMG_SESSION_RW, sid);
	if (!ret)
		ret = hsmg_login(cfd, *sid, PIN, NULL, &l);
	if (ret) {
		close(cfd);
		return ret;
	}
	*cop = tq_session_of_last_login(g->q[0]);
	return cfd;
}

static int send_fd(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Child side of a conversation: one byte in, one result byte out. */
static char wait_byte(int sock)
{
	char b = 0;

	return read(sock, &b, 1) == 1 ? b : 0;
}

static void put_byte(int sock, char b)
{
	if (write(sock, &b, 1) != 1)
		_exit(3);
}

/*
 * Handles are per open file: another file's handle numbers name that file's
 * own sessions or nothing (ENOENT), for every call that takes a session.
 */
TEST_F(perm, handles_are_per_file)
{
	uint32_t a1, b1, b2, rlen;
	struct hsmg_login l;
	char buf[8] = "x";
	int fa, fb;

	fa = hsmg_open_client();
	fb = hsmg_open_client();
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_OK(hsmg_session_open(fa, self->g.group_id, 0, &a1));
	ASSERT_OK(hsmg_session_open(fb, self->g.group_id, 0, &b1));
	ASSERT_OK(hsmg_session_open(fb, self->g.group_id, 0, &b2));
	ASSERT_EQ(a1, b1); /* handles are virtual: both files start at the same one */
	ASSERT_NE(b1, b2);
	ASSERT_OK(hsmg_login(fb, b1, PIN, NULL, &l));
	ASSERT_OK(hsmg_login(fb, b2, PIN, NULL, &l));

	/* fa has no session b2: every call refuses it. */
	rlen = sizeof(buf);
	ASSERT_ERR(ENOENT, hsmg_submit(fa, self->g.group_id, b2, 0, HSMG_OP_NULL, buf, 1, buf,
				       &rlen, NULL));
	ASSERT_ERR(ENOENT, hsmg_login(fa, b2, PIN, NULL, &l));
	ASSERT_ERR(ENOENT, hsmg_logout(fa, b2));
	ASSERT_ERR(ENOENT, hsmg_session_close(fa, b2));
	/* fa's handle a1 (== b1) is fa's own session, not logged in. */
	ASSERT_ERR(EINVAL, hsmg_logout(fa, a1));
	/* fb's sessions are untouched. */
	ASSERT_OK(echo(fb, self->g.group_id, b2));
	ASSERT_OK(hsmg_logout(fb, b1));
	ASSERT_OK(hsmg_session_close(fb, b2));
	ASSERT_OK(hsmg_session_close(fa, a1));
	close(fa);
	close(fb);
}

/*
 * SCM_RIGHTS: the receiver can use the sessions of the file it received,
 * also after the sender closed its descriptor and exited; the sessions end
 * (logged out on every member) when the receiver closes the last reference.
 */
TEST_F(perm, scm_rights_moves_sessions)
{
	int sv[2], status, cfd;
	uint64_t cop;
	uint32_t sid;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		uint32_t csid;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0 || read(sv[1], &csid, sizeof(csid)) != sizeof(csid))
			_exit(2);
		for (;;) {
			char cmd = wait_byte(sv[1]);

			if (cmd == 'e') /* echo on the received session */
				put_byte(sv[1], echo(fd, self->g.group_id, csid) ? 'n' : 'y');
			else if (cmd == 'c') /* close the received file */
				put_byte(sv[1], close(fd) ? 'n' : 'y');
			else
				_exit(0);
		}
	}
	close(sv[1]);
	/* Opened after the fork: the child gets it only through the socket. */
	cfd = logged_in_client(&self->g, &sid, &cop);
	ASSERT_LE(0, cfd);
	ASSERT_OK(send_fd(sv[0], cfd));
	ASSERT_EQ(sizeof(sid), write(sv[0], &sid, sizeof(sid)));
	/* The sender lets go of its descriptor: the file lives on in the child. */
	ASSERT_EQ(0, close(cfd));
	put_byte(sv[0], 'e');
	ASSERT_EQ('y', wait_byte(sv[0]));
	hsmg_sleep_ms(50);
	ASSERT_FALSE(all_saw_logout(&self->g, cop));
	/* The receiver closes the last reference: the session ends everywhere. */
	put_byte(sv[0], 'c');
	ASSERT_EQ('y', wait_byte(sv[0]));
	ASSERT_TRUE(wait_logout(&self->g, cop, 5000));
	put_byte(sv[0], 'q');
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
}

/*
 * fork: parent and child share the open file; either can use and even
 * close the other's sessions (one client); the sessions end when the last
 * process holding the file closes it, here the child at exit.
 */
TEST_F(perm, fork_shares_the_client)
{
	int sv[2], status, cfd;
	uint32_t sid, child_sid;
	uint64_t cop;
	pid_t pid;

	cfd = logged_in_client(&self->g, &sid, &cop);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint32_t s2 = 0;

		close(sv[0]);
		if (echo(cfd, self->g.group_id, sid) ||
		    hsmg_session_open(cfd, self->g.group_id, 0, &s2))
			_exit(2);
		if (write(sv[1], &s2, sizeof(s2)) != sizeof(s2))
			_exit(3);
		/* Wait until the parent closed its descriptor, use it again. */
		if (wait_byte(sv[1]) != 'e')
			_exit(4);
		put_byte(sv[1], echo(cfd, self->g.group_id, sid) ? 'n' : 'y');
		wait_byte(sv[1]);
		_exit(0); /* closes the last reference */
	}
	close(sv[1]);
	ASSERT_EQ(sizeof(child_sid), read(sv[0], &child_sid, sizeof(child_sid)));
	/* The child's new session is on the same client: the parent closes it. */
	ASSERT_OK(hsmg_session_close(cfd, child_sid));
	ASSERT_EQ(0, close(cfd));
	put_byte(sv[0], 'e');
	ASSERT_EQ('y', wait_byte(sv[0]));
	ASSERT_FALSE(all_saw_logout(&self->g, cop));
	put_byte(sv[0], 'q');
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_TRUE(wait_logout(&self->g, cop, 5000));
	close(sv[0]);
}

/* dup: closing one descriptor of two ends nothing; closing the last does. */
TEST_F(perm, dup_last_close_ends_sessions)
{
	uint64_t cop;
	uint32_t sid;
	int cfd, cfd2;

	cfd = logged_in_client(&self->g, &sid, &cop);
	ASSERT_LE(0, cfd);
	cfd2 = dup(cfd);
	ASSERT_LE(0, cfd2);
	ASSERT_EQ(0, close(cfd));
	ASSERT_OK(echo(cfd2, self->g.group_id, sid));
	hsmg_sleep_ms(50);
	ASSERT_FALSE(all_saw_logout(&self->g, cop));
	ASSERT_EQ(0, close(cfd2));
	ASSERT_TRUE(wait_logout(&self->g, cop, 5000));
}

/*
 * Rights are checked at open(): a process that dropped to an unprivileged
 * uid cannot open the client device (mode 0660, not in its group) but keeps
 * using a file it already holds.  Whoever is handed the file is the client.
 */
TEST_F(perm, rights_checked_at_open)
{
	int sv[2], status, cfd;
	uint64_t cop;
	uint32_t sid;
	pid_t pid;

	cfd = logged_in_client(&self->g, &sid, &cop);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		gid_t none[1] = {65534};
		int fd;

		close(sv[0]);
		if (setgroups(1, none) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
		put_byte(sv[1], fd < 0 && errno == EACCES ? 'y' : 'n');
		fd = open(HSMG_BACKEND_DEVICE, O_RDWR | O_CLOEXEC);
		put_byte(sv[1], fd < 0 && (errno == EACCES || errno == EPERM) ? 'y' : 'n');
		put_byte(sv[1], echo(cfd, self->g.group_id, sid) ? 'n' : 'y');
		_exit(0);
	}
	close(sv[1]);
	EXPECT_EQ('y', wait_byte(sv[0]))
	{
		TH_LOG("nobody opened %s", HSMG_CLIENT_DEVICE);
	}
	EXPECT_EQ('y', wait_byte(sv[0]))
	{
		TH_LOG("nobody opened %s", HSMG_BACKEND_DEVICE);
	}
	EXPECT_EQ('y', wait_byte(sv[0]))
	{
		TH_LOG("the inherited file did not work");
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	close(cfd);
	ASSERT_TRUE(wait_logout(&self->g, cop, 5000));
}

TEST_HARNESS_MAIN
