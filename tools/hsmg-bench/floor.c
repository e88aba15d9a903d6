// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-bench: the floors every request through the kernel pays at least,
 * measured in the same run as the rest:
 *   syscall   getppid(2), a system call that does nothing
 *   ioctl     HSMG_IOC_GET_INFO on /dev/hsmgroup, the no-op ioctl
 *   pingpong  1 byte each way over a socketpair between the worker and a
 *             child process of its own: two process wake-ups, the cost a
 *             userspace card (hsmsimd) cannot avoid
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/hsmgroup.h>

#include "bench.h"

static int dev_fd = -1;

static int floor_supported(enum op op, char *why, size_t len)
{
	int f;

	if (op != OP_IOCTL)
		return 0;
	f = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
	if (f < 0) {
		snprintf(why, len, "%s: %s", HSMG_CLIENT_DEVICE, strerror(errno));
		return -1;
	}
	close(f);
	return 0;
}

static int floor_proc_init(const bool *ops)
{
	if (!ops[OP_IOCTL])
		return 0;
	dev_fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		fprintf(stderr, "hsmg-bench: worker: %s: %s\n", HSMG_CLIENT_DEVICE,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void floor_proc_fini(void)
{
	if (dev_fd >= 0)
		close(dev_fd);
	dev_fd = -1;
}

/* The echo side: only async-signal-safe calls (the parent may have threads). */
static void __attribute__((noreturn)) echo_child(int s)
{
	char c;

	/*
	 * Sibling threads fork their own echo children: drop every inherited
	 * descriptor but ours, or a sibling's socket end stays open here and
	 * its child never sees EOF.
	 */
	if (s > 0)
		close_range(0, (unsigned int)s - 1, 0);
	close_range((unsigned int)s + 1, ~0U, 0);
	for (;;) {
		ssize_t n = read(s, &c, 1);

		if (n == 1) {
			if (write(s, &c, 1) != 1)
				_exit(1);
		} else if (n == 0 || errno != EINTR) {
			_exit(0);
		}
	}
}

static int floor_op_prepare(struct worker *w, enum op op)
{
	int sv[2];
	pid_t pid;

	w->ping_fd = -1;
	w->ping_pid = 0;
	if (op != OP_PINGPONG)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return bench_fail(w, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return bench_fail(w, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		echo_child(sv[1]);
	}
	close(sv[1]);
	w->ping_fd = sv[0];
	w->ping_pid = pid;
	return 0;
}

static int floor_op_run(struct worker *w, enum op op)
{
	struct hsmg_info info = {.argsz = sizeof(info)};
	char c = 'p';

	switch (op) {
	case OP_SYSCALL:
		syscall(SYS_getppid);
		return 0;
	case OP_IOCTL:
		if (ioctl(dev_fd, HSMG_IOC_GET_INFO, &info))
			return bench_fail(w, "GET_INFO: %s", strerror(errno));
		return 0;
	case OP_PINGPONG:
		if (write(w->ping_fd, &c, 1) != 1)
			return bench_fail(w, "ping: %s", strerror(errno));
		if (read(w->ping_fd, &c, 1) != 1)
			return bench_fail(w, "pong: %s", strerror(errno));
		return 0;
	default:
		return bench_fail(w, "not a floor");
	}
}

static void floor_op_done(struct worker *w, enum op op)
{
	if (w->ping_fd >= 0)
		close(w->ping_fd); /* EOF ends the child */
	if (w->ping_pid > 0)
		waitpid(w->ping_pid, NULL, 0);
	w->ping_fd = -1;
	w->ping_pid = 0;
}

static const char *floor_describe(void)
{
	return "syscall, no-op ioctl, socketpair ping-pong";
}

const struct target_ops floor_target = {
    .name = "floor",
    .supported = floor_supported,
    .proc_init = floor_proc_init,
    .proc_fini = floor_proc_fini,
    .op_prepare = floor_op_prepare,
    .op_run = floor_op_run,
    .op_done = floor_op_done,
    .describe = floor_describe,
};
