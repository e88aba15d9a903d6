// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-members - print the member queues of a group, or wait for a
 * restarted card to serve again.
 *
 *   hsmg-members [--group G] [--json]
 *	one line per member: queue_id apqn state requests errors sessions
 *	inflight pending (or one JSON object per line with --json).
 *   hsmg-members [--group G] --wait-served APQN [--old-queue Q]
 *		  [--since-ns NS] [--timeout-ms MS] [--interval-ms MS]
 *	poll LIST_MEMBERS until APQN shows a queue id other than Q (0, the
 *	id of a detached member, by default: the attach) and then has served
 *	more requests than before that attach; prints
 *	"attach_ms=A served_ms=S queue_id=Q requests=N", the times counted
 *	from NS (CLOCK_REALTIME nanoseconds, default: now).  Exit 1 when
 *	the timeout passes first.
 *   hsmg-members [--group G] --wait-rejoin APQN [--since-ns NS] ...
 *	the same for a queue that stays attached (held in mismatch, e.g. a
 *	zeroised card whose master key is being restored): prints
 *	"back_ms=B online_ms=O served_ms=S requests=N", the times when it
 *	left mismatch, went online, and answered a request after that.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: hsmg-members [--group G] [--json]\n"
		"       hsmg-members [--group G] --wait-served AA.DDDD [--old-queue Q]\n"
		"                    [--since-ns NS] [--timeout-ms MS] [--interval-ms MS]\n"
		"       hsmg-members [--group G] --wait-rejoin AA.DDDD [--since-ns NS] ...\n");
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_apqn(const char *s, unsigned int *adapter, unsigned int *domain)
{
	char end;

	/* Adapter and domain are hexadecimal, like zcrypt APQNs (03.0021). */
	if (sscanf(s, "%x.%x%c", adapter, domain, &end) != 2 || *adapter > 255 || *domain > 255)
		return -EINVAL;
	return 0;
}

static void print_members(struct hsmg_member_info *m, unsigned int n, bool json)
{
	for (unsigned int i = 0; i < n; i++) {
		if (json)
			printf("{\"queue_id\":%u,\"apqn\":\"%02x.%04x\",\"state\":\"%s\","
			       "\"requests\":%llu,\"errors\":%llu,\"sessions\":%u,"
			       "\"inflight\":%u,\"pending\":%u,\"speed\":%u}\n",
			       m[i].queue_id, m[i].adapter, m[i].domain,
			       hsmg_client_state_name(m[i].state),
			       (unsigned long long)m[i].requests, (unsigned long long)m[i].errors,
			       m[i].sessions, m[i].inflight, m[i].pending, m[i].speed);
		else
			printf("%u %02x.%04x %s requests=%llu errors=%llu sessions=%u inflight=%u "
			       "pending=%u\n",
			       m[i].queue_id, m[i].adapter, m[i].domain,
			       hsmg_client_state_name(m[i].state),
			       (unsigned long long)m[i].requests, (unsigned long long)m[i].errors,
			       m[i].sessions, m[i].inflight, m[i].pending);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"group", required_argument, NULL, 'g'},
	    {"json", no_argument, NULL, 'j'},
	    {"wait-served", required_argument, NULL, 'w'},
	    {"old-queue", required_argument, NULL, 'o'},
	    {"since-ns", required_argument, NULL, 's'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"interval-ms", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {"wait-rejoin", required_argument, NULL, 'r'},
	    {},
	};
	int64_t back_ns = 0, online_ns = 0;
	uint64_t online_requests = 0;
	bool rejoin = false;
	uint32_t group = 0, old_queue = 0;
	unsigned int adapter = 0, domain = 0, timeout_ms = 30000, interval_ms = 10;
	int64_t since = 0, attach_ns = 0;
	uint64_t old_requests = 0;
	const char *wait_apqn = NULL;
	bool json = false;
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "g:jw:o:s:t:i:hr:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rejoin = true;
			wait_apqn = optarg;
			if (parse_apqn(optarg, &adapter, &domain))
				usage();
			break;
		case 'g':
			group = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			wait_apqn = optarg;
			if (parse_apqn(optarg, &adapter, &domain))
				usage();
			break;
		case 'o':
			old_queue = strtoul(optarg, NULL, 0);
			break;
		case 's':
			since = strtoll(optarg, NULL, 0);
			break;
		case 't':
			timeout_ms = strtoul(optarg, NULL, 0);
			break;
		case 'i':
			interval_ms = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!since)
		since = now_ns();

	fd = hsmg_client_open(NULL, NULL);
	if (fd < 0) {
		fprintf(stderr, "hsmg-members: open %s: %s\n", HSMG_CLIENT_DEVICE, strerror(-fd));
		return 1;
	}
	if (!group) {
		ret = hsmg_client_first_group(fd, &group);
		if (ret) {
			fprintf(stderr, "hsmg-members: no group: %s\n", strerror(-ret));
			return 1;
		}
	}

	for (;;) {
		struct hsmg_member_info *m;
		unsigned int n;
		int64_t t = now_ns();

		ret = hsmg_client_members(fd, group, &m, &n);
		if (ret) {
			fprintf(stderr, "hsmg-members: LIST_MEMBERS group %u: %s\n", group,
				strerror(-ret));
			return 1;
		}
		if (!wait_apqn) {
			print_members(m, n, json);
			free(m);
			return 0;
		}
		for (unsigned int i = 0; rejoin && i < n; i++) {
			if (m[i].adapter != adapter || m[i].domain != domain)
				continue;
			if (!back_ns && m[i].state != HSMG_QS_MISMATCH)
				back_ns = t;
			if (back_ns && !online_ns && m[i].state == HSMG_QS_ONLINE) {
				/* Served: a request answered after it went online. */
				online_ns = t;
				online_requests = m[i].requests;
			} else if (online_ns && m[i].requests > online_requests) {
				printf("back_ms=%" PRId64 " online_ms=%" PRId64
				       " served_ms=%" PRId64 " requests=%llu\n",
				       (back_ns - since) / 1000000, (online_ns - since) / 1000000,
				       (t - since) / 1000000, (unsigned long long)m[i].requests);
				free(m);
				return 0;
			}
		}
		if (rejoin)
			goto next;
		/*
		 * The member record of an APQN outlives its attachments (queue id 0
		 * while detached) and its counters may carry on: served means more
		 * requests than the record had before the new attach.
		 */
		for (unsigned int i = 0; i < n && !attach_ns; i++)
			if (m[i].adapter == adapter && m[i].domain == domain &&
			    m[i].queue_id == old_queue)
				old_requests = m[i].requests;
		for (unsigned int i = 0; i < n; i++) {
			if (m[i].adapter != adapter || m[i].domain != domain ||
			    m[i].queue_id == old_queue)
				continue;
			if (!attach_ns)
				attach_ns = t;
			/* (a counter that restarted at 0 is below the old one) */
			if (m[i].requests < old_requests)
				old_requests = 0;
			if (m[i].requests > old_requests && m[i].state == HSMG_QS_ONLINE) {
				printf("attach_ms=%" PRId64 " served_ms=%" PRId64
				       " queue_id=%u requests=%llu\n",
				       (attach_ns - since) / 1000000, (t - since) / 1000000,
				       m[i].queue_id, (unsigned long long)m[i].requests);
				free(m);
				return 0;
			}
		}
	next:
		free(m);
		if (t - since > (int64_t)timeout_ms * 1000000) {
			fprintf(stderr, "hsmg-members: %s did not serve within %u ms (%s)\n",
				wait_apqn, timeout_ms, attach_ns ? "attached" : "never attached");
			return 1;
		}
		usleep(interval_ms * 1000);
	}
}
