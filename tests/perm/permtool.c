// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-permtool - small client for tests/perm/run.
 *
 *   hsmg-permtool open        open /dev/hsmgroup read-write; exit 0, or print
 *                             the errno name and exit 1
 *   hsmg-permtool login PIN   open a session on the first group, log it in
 *                             with PIN, print "blob <pin-blob in hex>", stay
 *                             logged in until stdin ends, then exit 0
 *   hsmg-permtool sessions FILES N [hold]
 *                             open FILES client files and N sessions on each
 *                             (not logged in); print "sessions <opened>" and
 *                             "stop <errno name>" at the first failure; with
 *                             "hold", keep them until stdin ends; exit 0 when
 *                             all were opened, else 1
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "client.h"

static int fail(const char *what, int err)
{
	printf("%s: %s\n", what, strerrorname_np(err) ?: "E?");
	return 1;
}

int main(int argc, char **argv)
{
	struct hsmg_session_open so = {.argsz = sizeof(so), .flags = HSMG_SESSION_RW};
	struct hsmg_login lg = {.argsz = sizeof(lg)};
	uint32_t group;
	char buf[64];
	int fd, ret, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "open")) {
		fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail("open", errno);
		printf("open: ok\n");
		close(fd);
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "sessions")) {
		int files = atoi(argv[2]), n = atoi(argv[3]), f, k, opened = 0;

		for (f = 0; f < files; f++) {
			fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				break;
			if (!f && hsmg_client_first_group(fd, &group))
				return fail("group", EINVAL);
			so.group_id = group;
			for (k = 0; k < n; k++) {
				if (ioctl(fd, HSMG_IOC_SESSION_OPEN, &so))
					break;
				opened++;
			}
			if (k < n)
				break;
		}
		printf("sessions %d\n", opened);
		if (opened != files * n)
			return fail("stop", errno);
		if (argc == 5 && !strcmp(argv[4], "hold"))
			while (read(0, buf, sizeof(buf)) > 0)
				;
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "login")) {
		fprintf(stderr, "usage: hsmg-permtool open | login PIN | sessions FILES N\n");
		return 2;
	}
	fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open", errno);
	ret = hsmg_client_first_group(fd, &group);
	if (ret)
		return fail("group", -ret);
	so.group_id = group;
	if (ioctl(fd, HSMG_IOC_SESSION_OPEN, &so))
		return fail("session", errno);
	lg.session_id = so.session_id;
	lg.pin_len = strlen(argv[2]);
	lg.pin = (uintptr_t)argv[2];
	if (ioctl(fd, HSMG_IOC_LOGIN, &lg))
		return fail("login", errno);
	printf("blob ");
	for (i = 0; i < HSMG_PIN_BLOB_LEN; i++)
		printf("%02x", lg.pin_blob[i]);
	printf("\n");
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}
