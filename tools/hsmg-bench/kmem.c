// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-kmem - kernel memory hsmgroup takes per session and per request in
 * flight, from /proc/slabinfo (root) before and after:
 *
 *   hsmg-kmem sessions N GROUP     open N sessions on one client
 *   hsmg-kmem requests N GROUP     N threads each hold one request in flight
 *                                  (against a holding card, e.g. hsmgroup_noop
 *                                  with a long delay_us: it waits until
 *                                  /sys/module/hsmgroup_noop/parameters/held
 *                                  reaches N, or for HELD_FILE if set)
 *
 * Prints one JSON object: what, n, bytes (sum of active objects x object
 * size over all slab caches, after minus before), per_item, and the caches
 * that grew most.  The threads and files exist before the first snapshot,
 * so only what the ioctls allocate is counted.  SLUB counts objects in
 * per-CPU slabs as active: each cache is exact to about one slab per CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/hsmgroup.h>

#include "client.h"

#define MAX_CACHES 512
#define HELD_FILE  "/sys/module/hsmgroup_noop/parameters/held"

struct cache {
	char name[64];
	long long bytes;
};

struct snap {
	struct cache c[MAX_CACHES];
	int n;
	long long total;
};

static int snapshot(struct snap *s)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512];

	if (!f) {
		fprintf(stderr, "hsmg-kmem: /proc/slabinfo: %s\n", strerror(errno));
		return -1;
	}
	s->n = 0;
	s->total = 0;
	while (fgets(line, sizeof(line), f)) {
		char name[64], *p, *end;
		long long active, size;
		size_t len;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		/* name <active_objs> <num_objs> <objsize> ... */
		len = strcspn(line, " \t");
		if (!len || len >= sizeof(name))
			continue;
		memcpy(name, line, len);
		name[len] = 0;
		p = line + len;
		errno = 0;
		active = strtoll(p, &end, 10);
		if (end == p)
			continue;
		p = end;
		(void)strtoll(p, &end, 10); /* num_objs */
		if (end == p)
			continue;
		p = end;
		size = strtoll(p, &end, 10);
		if (end == p || errno)
			continue;
		if (s->n < MAX_CACHES) {
			snprintf(s->c[s->n].name, sizeof(s->c[0].name), "%s", name);
			s->c[s->n].bytes = active * size;
			s->n++;
		}
		s->total += active * size;
	}
	fclose(f);
	return 0;
}

/* Print the delta as JSON: the 5 caches that grew most. */
static void report(const char *what, long n, const struct snap *a, const struct snap *b)
{
	long long d = b->total - a->total;
	int used[5] = {-1, -1, -1, -1, -1};

	printf("{\"what\":\"%s\",\"n\":%ld,\"bytes\":%lld,\"per_item\":%.1f,\"grew\":{", what, n, d,
	       (double)d / (double)n);
	for (int k = 0; k < 5; k++) {
		long long best = 0;

		for (int i = 0; i < b->n; i++) {
			long long g = b->c[i].bytes - (i < a->n ? a->c[i].bytes : 0);
			int taken = 0;

			for (int j = 0; j < k; j++)
				taken |= used[j] == i;
			if (!taken && g > best && i < a->n && !strcmp(a->c[i].name, b->c[i].name)) {
				best = g;
				used[k] = i;
			}
		}
		if (used[k] < 0)
			break;
		printf("%s\"%s\":%lld", k ? "," : "", b->c[used[k]].name,
		       b->c[used[k]].bytes - a->c[used[k]].bytes);
	}
	printf("}}\n");
}

static void nap_ms(long ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

static int sessions(int fd, long n, uint32_t group)
{
	static struct snap a, b;

	if (snapshot(&a))
		return 1;
	for (long i = 0; i < n; i++) {
		uint32_t sid;
		int err = hsmg_client_session_open(fd, group, 0, &sid);

		if (err) {
			fprintf(stderr, "hsmg-kmem: SESSION_OPEN %ld: %s\n", i, strerror(-err));
			return 1;
		}
	}
	if (snapshot(&b))
		return 1;
	report("session", n, &a, &b);
	return 0;
}

static int dev_fd;
static uint32_t req_group;
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go, failed;

static void *holder(void *arg)
{
	uint8_t req[64] = {0}, resp[64];
	struct hsmg_client_req r = {
	    .group_id = req_group,
	    .op_class = HSMG_OP_NULL,
	    .req = req,
	    .req_len = sizeof(req),
	    .resp = resp,
	    .resp_cap = sizeof(resp),
	};

	(void)arg;
	pthread_mutex_lock(&go_lock);
	while (!go)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
	if (hsmg_client_submit(dev_fd, &r))
		__atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
	return NULL;
}

static long read_held(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		char buf[32], *end;

		if (fgets(buf, sizeof(buf), f)) {
			errno = 0;
			v = strtol(buf, &end, 10);
			if (end == buf || errno)
				v = -1;
		}
		fclose(f);
	}
	return v;
}

static int requests(int fd, long n, uint32_t group)
{
	static struct snap a, b;
	const char *held = getenv("HELD_FILE") ? getenv("HELD_FILE") : HELD_FILE;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t attr;
	long started = 0, h = -1;
	int ret = 1;

	if (!t)
		return 1;
	dev_fd = fd;
	req_group = group;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (; started < n; started++)
		if (pthread_create(&t[started], &attr, holder, NULL)) {
			fprintf(stderr, "hsmg-kmem: thread %ld: cannot start\n", started);
			break;
		}
	/* Let every thread reach its wait. */
	nap_ms(500);
	if (started == n && !snapshot(&a)) {
		pthread_mutex_lock(&go_lock);
		go = 1;
		pthread_cond_broadcast(&go_cond);
		pthread_mutex_unlock(&go_lock);
		for (int i = 0; i < 3000; i++) {
			h = read_held(held);
			if (h >= n || __atomic_load_n(&failed, __ATOMIC_RELAXED))
				break;
			nap_ms(10);
		}
		if (h >= n && !snapshot(&b)) {
			report("request", n, &a, &b);
			ret = 0;
		} else {
			fprintf(stderr, "hsmg-kmem: %ld of %ld requests held (%d failed)\n", h, n,
				failed);
		}
	}
	pthread_mutex_lock(&go_lock);
	go = 1;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	if (failed) {
		fprintf(stderr, "hsmg-kmem: %d requests failed\n", failed);
		ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	long n;
	char *end;
	unsigned long g;
	int fd, ret;

	if (argc != 4 || (strcmp(argv[1], "sessions") && strcmp(argv[1], "requests"))) {
		fprintf(stderr, "usage: hsmg-kmem sessions|requests N GROUP\n");
		return 2;
	}
	n = strtol(argv[2], &end, 10);
	if (*end || n < 1 || n > 16384) {
		fprintf(stderr, "hsmg-kmem: N must be 1..16384, got '%s'\n", argv[2]);
		return 2;
	}
	g = strtoul(argv[3], &end, 10);
	if (*end || !g || g > UINT32_MAX) {
		fprintf(stderr, "hsmg-kmem: bad group id '%s'\n", argv[3]);
		return 2;
	}
	fd = hsmg_client_open(NULL, NULL);
	if (fd < 0) {
		fprintf(stderr, "hsmg-kmem: %s: %s\n", HSMG_CLIENT_DEVICE, strerror(-fd));
		return 3;
	}
	if (!strcmp(argv[1], "sessions"))
		ret = sessions(fd, n, (uint32_t)g);
	else
		ret = requests(fd, n, (uint32_t)g);
	close(fd);
	return ret;
}
