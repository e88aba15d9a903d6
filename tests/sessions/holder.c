// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-holder - hold sessions on /dev/hsmgroup, driven line by line on
 * stdin, for tests/sessions/run.  One reply line per command on stdout:
 * "ok ..." or "err <errno name> <message>".
 *
 *   open [rw|strict]...  open a session on the group, reply "ok SID"
 *   login SID PIN        HSMG_IOC_LOGIN, reply "ok members=N"
 *   logout SID           HSMG_IOC_LOGOUT
 *   close SID            HSMG_IOC_SESSION_CLOSE
 *   pid                  reply "ok PID"
 *   quit                 close the device and exit 0
 *
 * Option: --group G (default: the first group).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static void reply_err(int err, const char *what)
{
	printf("err %s %s: %s\n", strerrorname_np(-err) ?: "E?", what, strerror(-err));
}

int main(int argc, char **argv)
{
	uint32_t group = 0;
	char line[512];
	int fd, ret;

	if (argc == 3 && !strcmp(argv[1], "--group")) {
		group = strtoul(argv[2], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: hsmg-holder [--group G]  (commands on stdin)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = hsmg_client_open(NULL, NULL);
	if (fd < 0) {
		fprintf(stderr, "hsmg-holder: open %s: %s\n", HSMG_CLIENT_DEVICE, strerror(-fd));
		return 1;
	}
	if (!group) {
		ret = hsmg_client_first_group(fd, &group);
		if (ret) {
			fprintf(stderr, "hsmg-holder: no group: %s\n", strerror(-ret));
			return 1;
		}
	}

	while (fgets(line, sizeof(line), stdin)) {
		char *save = NULL, *cmd = strtok_r(line, " \t\n", &save);
		char *arg1 = strtok_r(NULL, " \t\n", &save);
		char *arg2 = strtok_r(NULL, " \t\n", &save);
		uint32_t sid = arg1 ? strtoul(arg1, NULL, 0) : 0;

		if (!cmd)
			continue;
		if (!strcmp(cmd, "open")) {
			uint32_t flags = 0;

			for (char *a = arg1; a; a = arg2, arg2 = strtok_r(NULL, " \t\n", &save)) {
				if (!strcmp(a, "rw"))
					flags |= HSMG_SESSION_RW;
				else if (!strcmp(a, "strict"))
					flags |= HSMG_SESSION_STRICT;
			}
			ret = hsmg_client_session_open(fd, group, flags, &sid);
			if (ret)
				reply_err(ret, "SESSION_OPEN");
			else
				printf("ok %u\n", sid);
		} else if (!strcmp(cmd, "login") && arg1 && arg2) {
			uint32_t members = 0;

			ret = hsmg_client_login(fd, sid, 0,
						&(struct hsmg_client_creds){
						    .pin = arg2, .pin_len = (uint32_t)strlen(arg2)},
						&members);
			explicit_bzero(arg2, strlen(arg2));
			if (ret)
				reply_err(ret, "LOGIN");
			else
				printf("ok members=%u\n", members);
		} else if (!strcmp(cmd, "logout") && arg1) {
			ret = hsmg_client_logout(fd, sid);
			if (ret)
				reply_err(ret, "LOGOUT");
			else
				printf("ok\n");
		} else if (!strcmp(cmd, "close") && arg1) {
			ret = hsmg_client_session_close(fd, sid);
			if (ret)
				reply_err(ret, "SESSION_CLOSE");
			else
				printf("ok\n");
		} else if (!strcmp(cmd, "pid")) {
			printf("ok %d\n", (int)getpid());
		} else if (!strcmp(cmd, "quit")) {
			break;
		} else {
			printf("err EINVAL unknown command or missing argument\n");
		}
	}
	explicit_bzero(line, sizeof(line));
	close(fd);
	return 0;
}
