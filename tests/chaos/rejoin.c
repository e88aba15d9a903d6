// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-rejoin - measure how long a member takes to serve again, for
 * tests/chaos/run.  Start it while the member is down (killed, hung,
 * detached, or not attached yet), then bring the member back:
 *
 *   hsmg-rejoin --apqn AA.DDDD [--since-ns NS] [--timeout-ms MS]
 *		 [--interval-ms MS] [--group G]
 *
 * It reads the member's record (HSMG_IOC_LIST_MEMBERS) at start and polls
 * until the member is online and has answered a request well since then:
 * its request counter grew by more than its error counter (timed-out and
 * failed attempts count in both; a new attach may restart the counters, then
 * they count from 0).  A member online at the start must attach anew, unless
 * --same (a hung card resumed: the same attachment serves again).  Prints
 * "attach_ms=A online_ms=O served_ms=S served_ns=T queue_id=Q requests=N",
 * times from NS (CLOCK_REALTIME ns, default: start), T absolute: A when a
 * new queue id appeared (-1: same attachment), O when the member was first
 * seen online.  Exit 1 on timeout, 2 on usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: hsmg-rejoin --apqn AA.DDDD [--since-ns NS] [--timeout-ms MS]\n"
			"                   [--interval-ms MS] [--group G] [--same]\n");
	exit(2);
}

/* The member record of the APQN: the attached one when there are several. */
static const struct hsmg_member_info *find(const struct hsmg_member_info *m, unsigned int n,
					   unsigned int a, unsigned int d)
{
	const struct hsmg_member_info *r = NULL;

	for (unsigned int i = 0; i < n; i++)
		if (m[i].adapter == a && m[i].domain == d && (!r || m[i].queue_id))
			r = &m[i];
	return r;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"apqn", 1, NULL, 'a'},	  {"since-ns", 1, NULL, 's'},
	    {"timeout-ms", 1, NULL, 't'}, {"interval-ms", 1, NULL, 'i'},
	    {"group", 1, NULL, 'g'},	  {"same", 0, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	unsigned int a = 256, d = 256, timeout_ms = 30000, interval_ms = 5, n;
	int64_t since = 0, attach_ns = -1, online_ns = -1;
	uint32_t group = 0, base_qid = 0;
	uint64_t base_req = 0, base_err = 0;
	bool base_online = false, first = true, same_ok = false;
	char end;
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (sscanf(optarg, "%x.%x%c", &a, &d, &end) != 2 || a > 255 || d > 255)
				usage();
			break;
		case 's':
			since = strtoll(optarg, NULL, 0);
			break;
		case 't':
			timeout_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			interval_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'g':
			group = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			same_ok = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || a > 255)
		usage();
	if (!since)
		since = now_ns();
	fd = hsmg_client_open(NULL, NULL);
	if (fd < 0 || (!group && hsmg_client_first_group(fd, &group))) {
		fprintf(stderr, "hsmg-rejoin: no hsmgroup device or group\n");
		return 1;
	}
	for (;;) {
		const struct hsmg_member_info *r;
		struct hsmg_member_info *m;
		int64_t t = now_ns();

		ret = hsmg_client_members(fd, group, &m, &n);
		if (ret) {
			fprintf(stderr, "hsmg-rejoin: LIST_MEMBERS: %d\n", ret);
			return 1;
		}
		r = find(m, n, a, d);
		if (first) {
			first = false;
			if (r) {
				base_qid = r->queue_id;
				base_req = r->requests;
				base_err = r->errors;
				base_online = r->state == HSMG_QS_ONLINE && r->queue_id && !same_ok;
			}
			if (base_online)
				fprintf(stderr,
					"hsmg-rejoin: %02x.%04x is online already; waiting"
					" for a new attachment\n",
					a, d);
		} else if (r) {
			bool same = r->queue_id == base_qid;

			if (!same && r->queue_id && attach_ns < 0) {
				attach_ns = t;
				if (r->requests < base_req)
					base_req = base_err = 0;
			}
			if (r->state == HSMG_QS_ONLINE && (!same || !base_online) && online_ns < 0)
				online_ns = t;
			if (online_ns >= 0 && r->state == HSMG_QS_ONLINE &&
			    r->requests - base_req > r->errors - base_err) {
				printf("attach_ms=%" PRId64 " online_ms=%" PRId64
				       " served_ms=%" PRId64 " served_ns=%" PRId64
				       " queue_id=%u requests=%llu\n",
				       attach_ns < 0 ? -1 : (attach_ns - since) / 1000000,
				       (online_ns - since) / 1000000, (t - since) / 1000000, t,
				       r->queue_id, (unsigned long long)r->requests);
				free(m);
				return 0;
			}
		}
		free(m);
		if (t - since > (int64_t)timeout_ms * 1000000) {
			fprintf(stderr, "hsmg-rejoin: %02x.%04x did not serve within %u ms\n", a, d,
				timeout_ms);
			return 1;
		}
		usleep(interval_ms * 1000);
	}
}
