// SPDX-License-Identifier: GPL-2.0
/*
 * procfd - counting this process's open files (procfd.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procfd.h"

int procfd_count(const char *match)
{
	char path[300], target[256];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;
	int count = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strstr(target, match))
			count++;
	}
	closedir(d);
	return count;
}
