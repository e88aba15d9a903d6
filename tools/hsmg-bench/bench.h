/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmg-bench - shared definitions of the benchmark's parts:
 *   main.c   options, worker processes and threads, timing, merge, output
 *   p11.c    the PKCS#11 target (any module, dlopen)
 *   raw.c    the raw target (hsmgroup ioctls with codec-built messages)
 *   floor.c  the floors (syscall, no-op ioctl, socketpair ping-pong)
 *   hist.c   the latency histogram
 */
#ifndef HSMG_BENCH_H
#define HSMG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* What a benchmark row measures. */
enum target {
	TGT_P11,   /* a PKCS#11 module */
	TGT_RAW,   /* /dev/hsmgroup ioctls directly */
	TGT_FLOOR, /* kernel and IPC floors */
	TGT_NR,
};

enum op {
	OP_NULL,
	OP_GETINFO,
	OP_RANDOM,
	OP_ECDSA,
	OP_ECVERIFY,
	OP_RSA,
	OP_GCM,
	OP_SHA256,
	OP_AESKEYGEN,
	OP_SYSCALL,
	OP_IOCTL,
	OP_PINGPONG,
	/* the token store (PKCS#11 only): a token key, lookups, writes */
	OP_TOKSIGN,
	OP_FIND,
	OP_FINDID,
	OP_CREATE,
	OP_FIRSTUSE,
	OP_NR,
};

#define BENCH_DATA_LEN	 1024 /* GCM and SHA-256 input */
#define BENCH_GCM_IV_LEN 12
#define BENCH_GCM_TAG	 16
#define BENCH_MAX_OUT	 4096
#define BENCH_EC_SIG	 64 /* P-256 r || s */

/* Options, set before the workers start (read-only in them). */
struct bench_cfg {
	const char *module; /* PKCS#11 module path or NULL */
	const char *name;   /* label of the PKCS#11 target in the output */
	long slot;	    /* -1: pick */
	CK_SLOT_ID slot_id; /* the slot picked (p11) */
	const char *token;  /* token label to pick (and --init label) */
	const char *pin;    /* user PIN or NULL: no login */
	const char *so_pin; /* for --init */
	bool init;
	uint32_t group;	      /* raw: group id, 0 = first */
	unsigned int threads; /* per process */
	unsigned int procs;
	double duration_s;
	uint64_t count; /* per worker, 0 = duration mode */
	double warmup_s;
	bool allow_errors;
	bool raw_local;	   /* raw target: in-process card instead of the kernel */
	int key_cache;	   /* raw-local: the card's parsed-key cache, -1 = its default */
	bool want[TGT_NR]; /* targets used by the selected ops */
};

extern struct bench_cfg cfg;

/* Per-thread state of a worker (one process may run several). */
struct worker {
	unsigned int proc;  /* 0..procs-1 */
	unsigned int index; /* global worker index */
	uint64_t seq;	    /* per-op counter (IVs, data) */
	/* p11 */
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE last_key; /* aeskeygen, create, firstuse: destroyed after the timed call */
	/* raw */
	uint32_t session_id;
	uint8_t *req, *resp; /* BENCH raw buffers */
	/* floor */
	int ping_fd;
	int ping_pid;
	/* first error of the current op, "" when none */
	char err[160];
	uint8_t data[BENCH_DATA_LEN];
	uint8_t out[BENCH_MAX_OUT];
};

/* Record the first error of the current op (printf-style); returns -1. */
int bench_fail(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ckr_name(CK_RV rv);
uint64_t bench_now_ns(void);

/*
 * A target: proc_init once per worker process (before its threads start),
 * thread_init per thread, op_prepare / op_run (timed) / op_after (untimed,
 * after every op_run; a failure there counts as an error of the op too) /
 * op_done per op; the fini calls undo the inits.  Any of them may be NULL.
 * Every function returns 0 or -1 after bench_fail() (or a message on
 * stderr for the proc functions).  supported() is asked in the parent
 * before any worker starts: 0 = run, else fill @why and the op is skipped.
 */
struct target_ops {
	const char *name;
	const char *(*label)(void); /* name in the output, if not @name */
	int (*parent_init)(void);
	int (*supported)(enum op op, char *why, size_t len);
	void (*parent_fini)(void);
	int (*proc_init)(const bool *ops);
	void (*proc_fini)(void);
	int (*thread_init)(struct worker *w);
	void (*thread_fini)(struct worker *w);
	int (*op_prepare)(struct worker *w, enum op op);
	int (*op_run)(struct worker *w, enum op op);
	int (*op_after)(struct worker *w, enum op op);
	void (*op_done)(struct worker *w, enum op op);
	/* Text describing the target for the header (after parent_init). */
	const char *(*describe)(void);
};

extern const struct target_ops p11_target, raw_target, floor_target;

/* What each op does on each target; NULL = not available there. */
extern const char *const op_names[OP_NR];
const char *op_what(enum target t, enum op op);

#endif /* HSMG_BENCH_H */
