/* SPDX-License-Identifier: GPL-2.0 */
/*
 * provider - what every queue provider (hsmsimd, hsmp11d) does around its
 * cards: one /dev/hsmgroup-backend file per queue, attach/detach, worker
 * threads that fetch, serve and complete requests, the control socket and
 * its client, fault injection, logging, the pid file and the signals.
 * A tool fills in struct prov_ops (how a request is served, its own
 * control commands and status) and its queues, then calls prov_run().
 */
#ifndef HSMG_TOOLS_PROVIDER_H
#define HSMG_TOOLS_PROVIDER_H

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "card.h"
#include "hsmg_msg.h"

#define PROV_MAX_WORKERS 64
#define PROV_MAX_QUEUES	 HSMG_CARD_MAX_QUEUES

struct prov_queue;

struct prov_worker {
	pthread_t thread;
	struct prov_queue *q;
	unsigned int seed;
	bool started;
	/* When the request in hand started (0: none) and its class (enum
	 * hsmg_op_class; HSMG_OP_NR: not a crypto request), for a watchdog. */
	_Atomic uint64_t busy_since_ns;
	_Atomic uint32_t busy_class;
};

/**
 * struct prov_queue - one queue (adapter.domain) this process serves.
 * @card, @index: the card serving it and the queue's index in that card.
 * @max_inflight, @speed: announced at attach; @max_inflight workers serve.
 * @mkvp: what the kernel last heard (attach, prov_set_mkvp()).
 * @priv: the tool's.
 */
struct prov_queue {
	struct hsmg_card *card;
	unsigned int index;
	unsigned int adapter, domain;
	unsigned int max_inflight, speed;
	int fd;
	bool attached;
	uint32_t queue_id, group_id, state;
	uint8_t mkvp[HSMG_MKVP_LEN];
	atomic_uint_least64_t requests; /* crypto requests fetched */
	atomic_uint_least64_t errors;
	unsigned int nworkers;
	struct prov_worker workers[PROV_MAX_WORKERS];
	void *priv;
};

/**
 * struct prov_ops - the tool.
 * @name: for messages ("hsmsimd").
 * @process: serve @req on @q into @ans (HSMG_MAX_MSG_SIZE bytes).
 * @command: a control command of the tool's own (@arg may be ""); the
 *	reply (malloc'd JSON), or NULL when it is not one.
 * @status: more fields of "status" (each written as ,"name":value).
 * @queue_status: more fields of one queue's entry.
 */
struct prov_ops {
	const char *name;
	void (*process)(struct prov_queue *q, const struct hsmg_be_req *req, const void *payload,
			void *ans, struct hsmg_card_result *res);
	char *(*command)(const char *cmd, const char *arg);
	void (*status)(FILE *f);
	void (*queue_status)(FILE *f, struct prov_queue *q);
};

/* The process's configuration; set before prov_run(), read-only after. */
struct prov {
	const struct prov_ops *ops;
	struct prov_queue queues[PROV_MAX_QUEUES];
	unsigned int nqueues;
	const char *ctl_path, *pid_file, *log_file, *cmd;
	bool standby;
	unsigned int service_us[HSMG_OP_NR];
	uint64_t crash_after, hang_after;
};
extern struct prov prov;

__attribute__((format(printf, 1, 2))) void prov_log(const char *fmt, ...);
void prov_sleep_us(uint64_t us);
uint64_t prov_now_ns(void);
int prov_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* A new queue AA.DDDD (hex, each 0..ff, not yet named); NULL if not. */
struct prov_queue *prov_parse_queue(const char *s);
const char *prov_state_name(uint32_t s);
/* Tell the kernel @q's card has MKVP @mkvp now (all zero: none). */
int prov_set_mkvp(struct prov_queue *q, const uint8_t mkvp[HSMG_MKVP_LEN]);

/* The options every provider takes (getopt_long codes PROV_OPT_*). */
enum {
	PROV_OPT_SEPARATE = 900,
	PROV_OPT_STANDBY,
	PROV_OPT_SERVICE,
	PROV_OPT_CRASH,
	PROV_OPT_HANG,
	PROV_OPT_SLOW,
	PROV_OPT_ERRRATE,
	PROV_OPT_CTL,
	PROV_OPT_PID,
	PROV_OPT_LOG,
	PROV_OPT_CMD,
};
#define PROV_OPTIONS                                                                               \
	{"separate-complete", no_argument, NULL, PROV_OPT_SEPARATE},                               \
	    {"standby", no_argument, NULL, PROV_OPT_STANDBY},                                      \
	    {"service-us", required_argument, NULL, PROV_OPT_SERVICE},                             \
	    {"crash-after", required_argument, NULL, PROV_OPT_CRASH},                              \
	    {"hang-after", required_argument, NULL, PROV_OPT_HANG},                                \
	    {"slow", required_argument, NULL, PROV_OPT_SLOW},                                      \
	    {"error-rate", required_argument, NULL, PROV_OPT_ERRRATE},                             \
	    {"ctl", required_argument, NULL, PROV_OPT_CTL},                                        \
	    {"pid-file", required_argument, NULL, PROV_OPT_PID},                                   \
	    {"log-file", required_argument, NULL, PROV_OPT_LOG},                                   \
	{                                                                                          \
		"cmd", required_argument, NULL, PROV_OPT_CMD                                       \
	}
/* The usage lines of those options. */
extern const char prov_options_usage[];
/* Take common option @opt; 0, 1 (not one), or -1 with what was wrong in
 * *@bad. */
int prov_option(int opt, const char *arg, const char **bad);

/* Client mode (--cmd): send it to --ctl and print the reply; exit code. */
int prov_client(void);
/* Open --log-file (stderr without it); 0 or -1 (said why). */
int prov_open_log(void);
/* Signals, control socket, attach every queue, workers, pid file; wait
 * for SIGTERM/SIGINT; stop and detach.  The exit code. */
int prov_run(void);

#endif /* HSMG_TOOLS_PROVIDER_H */
