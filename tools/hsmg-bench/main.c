// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-bench - latency and throughput of PKCS#11 modules, of the hsmgroup
 * ioctls, and of the kernel floors, side by side in one run.
 *
 * The parent process prepares (picks the slot, creates a scratch token,
 * asks which operations the target can do), then forks --procs worker
 * processes of --threads threads each and only coordinates: every worker
 * process initializes its targets itself (its own C_Initialize, its own
 * /dev/hsmgroup client) and makes its keys before the first timed call;
 * every thread has its own session.  The operations run one after the
 * other, all workers at once: the parent releases them with a futex in a
 * shared mapping, each worker warms up until a common deadline, measures
 * until the next one (or --count calls), and writes its counters and its
 * latency histogram into its slot of the mapping, which the parent merges.
 * Nothing else is shared during the timed loop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"

#define MAX_WORKERS 4096
#define GO_QUIT	    UINT32_MAX
#define ERR_LEN	    160

struct bench_cfg cfg = {
    .slot = -1,
    .so_pin = "12345678",
    .threads = 1,
    .procs = 1,
    .duration_s = 5,
    .warmup_s = 1,
    .key_cache = -1,
};

const char *const op_names[OP_NR] = {
    [OP_NULL] = "null",	      [OP_GETINFO] = "getinfo",	  [OP_RANDOM] = "random",
    [OP_ECDSA] = "ecdsa",     [OP_ECVERIFY] = "ecverify", [OP_RSA] = "rsa",
    [OP_GCM] = "gcm",	      [OP_SHA256] = "sha256",	  [OP_AESKEYGEN] = "aeskeygen",
    [OP_SYSCALL] = "syscall", [OP_IOCTL] = "ioctl",	  [OP_PINGPONG] = "pingpong",
    [OP_TOKSIGN] = "toksign", [OP_FIND] = "find",	  [OP_FINDID] = "findid",
    [OP_CREATE] = "create",   [OP_FIRSTUSE] = "firstuse",
};

static const char *const op_what_tab[TGT_NR][OP_NR] = {
    [TGT_P11] =
	{
	    [OP_NULL] = "C_GetSessionInfo (the null call)",
	    [OP_GETINFO] = "C_GetInfo",
	    [OP_RANDOM] = "C_GenerateRandom 32 B",
	    [OP_ECDSA] = "C_SignInit+C_Sign CKM_ECDSA P-256, 32 B hash",
	    [OP_ECVERIFY] = "C_VerifyInit+C_Verify CKM_ECDSA P-256, public key object",
	    [OP_RSA] = "C_SignInit+C_Sign CKM_SHA256_RSA_PKCS 2048, 32 B",
	    [OP_GCM] = "C_EncryptInit+C_Encrypt CKM_AES_GCM 1 KiB",
	    [OP_SHA256] = "C_DigestInit+C_Digest CKM_SHA256 1 KiB",
	    [OP_AESKEYGEN] = "C_GenerateKey AES-256 (C_DestroyObject untimed)",
	    [OP_TOKSIGN] = "C_SignInit+C_Sign CKM_ECDSA P-256 with a token key found before",
	    [OP_FIND] = "C_FindObjectsInit+C_FindObjects+Final, a token key by CKA_LABEL",
	    [OP_FINDID] = "C_FindObjectsInit+C_FindObjects+Final, a token key by CKA_ID",
	    [OP_CREATE] = "C_CreateObject token data object 100 B (C_DestroyObject untimed)",
	    [OP_FIRSTUSE] =
		"find + C_EncryptInit+C_Encrypt AES-GCM 1 KiB, another process's new key",
	},
    [TGT_RAW] =
	{
	    [OP_NULL] = "SUBMIT class NULL (RANDOM 1 B)",
	    [OP_RANDOM] = "SUBMIT RANDOM 32 B",
	    [OP_ECDSA] = "SUBMIT SIGN CKM_ECDSA P-256, 32 B hash",
	    [OP_ECVERIFY] = "SUBMIT VERIFY CKM_ECDSA P-256 with the public point",
	    [OP_RSA] = "SUBMIT SIGN CKM_SHA256_RSA_PKCS 2048, 32 B",
	    [OP_GCM] = "SUBMIT ENCRYPT CKM_AES_GCM 1 KiB",
	    [OP_SHA256] = "SUBMIT DIGEST CKM_SHA256 1 KiB",
	    [OP_AESKEYGEN] = "SUBMIT GENERATE_KEY AES-256",
	},
    [TGT_FLOOR] =
	{
	    [OP_SYSCALL] = "getppid() system call",
	    [OP_IOCTL] = "HSMG_IOC_GET_INFO, the no-op ioctl",
	    [OP_PINGPONG] = "socketpair 1 B ping-pong with a child process",
	},
};

static const struct target_ops *const targets[TGT_NR] = {
    [TGT_P11] = &p11_target,
    [TGT_RAW] = &raw_target,
    [TGT_FLOOR] = &floor_target,
};

const char *op_what(enum target t, enum op op)
{
	return op_what_tab[t][op];
}

/* One worker's results of the current run, in the shared mapping. */
struct slot {
	_Atomic uint64_t progress; /* calls done (for the progress bar) */
	uint64_t ops;		   /* successful timed calls */
	uint64_t errors;	   /* failed calls, warm-up included */
	int64_t t_first, t_last;   /* measured window */
	char err[ERR_LEN];	   /* first error */
	struct hist h;
};

struct ctl {
	_Atomic uint32_t go; /* k + 1: run k may start; GO_QUIT: exit */
	_Atomic uint32_t nready;
	_Atomic uint32_t init_turn; /* worker process whose setup runs now */
	_Atomic uint32_t ndone;	    /* cumulative over the runs */
	_Atomic uint32_t stop;	    /* SIGINT: end the current run early */
	int64_t start_ns, warm_end_ns, end_ns;
	char fatal[ERR_LEN];
	struct slot slot[];
};

/* One row of the output. */
struct run {
	enum target tgt;
	enum op op;
	bool skipped;
	char why[ERR_LEN]; /* skip reason or first error */
	uint64_t ops, errors;
	double elapsed_s;
	struct hist *h;
};

static struct ctl *ctl;
static struct run runs[TGT_NR * OP_NR];
static unsigned int nruns;
/* Runs the workers execute (not skipped), in order: indexes into runs[]. */
static unsigned int sched[TGT_NR * OP_NR];
static unsigned int nsched;
static unsigned int nworkers;
static pid_t *pids;
static bool progress_bar, json, csv;
static int argc_saved;
static char **argv_saved;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int bench_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	if (!w->err[0])
		snprintf(w->err, sizeof(w->err), "error");
	return -1;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- workers */

struct thread_arg {
	struct worker w;
	pthread_t tid;
	char init_err[TGT_NR][ERR_LEN]; /* thread_init failure per target */
};

static void run_one(struct worker *w, struct slot *s, const struct target_ops *t, enum op op)
{
	uint64_t warm_end = (uint64_t)ctl->warm_end_ns, end = (uint64_t)ctl->end_ns;
	struct timespec start = {
	    .tv_sec = ctl->start_ns / 1000000000,
	    .tv_nsec = ctl->start_ns % 1000000000,
	};
	uint64_t t0, t1, n = 0;

	/* Every worker starts at the same instant. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &start, NULL) == EINTR)
		;
	/* Warm-up: untimed, but its errors count. */
	t0 = bench_now_ns();
	while (t0 < warm_end && !atomic_load_explicit(&ctl->stop, memory_order_relaxed)) {
		w->seq++;
		if (t->op_run(w, op))
			s->errors++;
		if (t->op_after && t->op_after(w, op))
			s->errors++;
		t0 = bench_now_ns();
	}
	/* Measured: one clock read per call unless op_after runs in between. */
	s->t_first = (int64_t)t0;
	for (;;) {
		if (cfg.count ? n >= cfg.count : t0 >= end)
			break;
		if (atomic_load_explicit(&ctl->stop, memory_order_relaxed))
			break;
		w->seq++;
		if (t->op_run(w, op)) {
			t1 = bench_now_ns();
			s->errors++;
		} else {
			t1 = bench_now_ns();
			hist_add(&s->h, t1 - t0);
			s->ops++;
		}
		n++;
		if (t->op_after) {
			if (t->op_after(w, op))
				s->errors++;
			t1 = bench_now_ns();
		}
		atomic_store_explicit(&s->progress, n, memory_order_relaxed);
		t0 = t1;
	}
	s->t_last = (int64_t)t0;
}

static void *worker_thread(void *arg)
{
	struct thread_arg *ta = arg;
	struct worker *w = &ta->w;
	bool used[TGT_NR] = {0};

	for (unsigned int k = 0; k < nsched; k++)
		used[runs[sched[k]].tgt] = true;
	for (int t = 0; t < TGT_NR; t++) {
		if (!used[t] || !targets[t]->thread_init)
			continue;
		w->err[0] = 0;
		if (targets[t]->thread_init(w))
			snprintf(ta->init_err[t], ERR_LEN, "%s", w->err);
	}
	atomic_fetch_add(&ctl->nready, 1);

	for (unsigned int k = 0; k < nsched; k++) {
		struct run *r = &runs[sched[k]];
		const struct target_ops *t = targets[r->tgt];
		struct slot *s = &ctl->slot[w->index];
		uint32_t go;

		while ((go = atomic_load(&ctl->go)) < k + 1)
			futex_wait(&ctl->go, go);
		if (go == GO_QUIT)
			break;
		atomic_store(&s->progress, 0);
		s->ops = s->errors = 0;
		s->t_first = s->t_last = 0;
		s->err[0] = 0;
		hist_reset(&s->h);
		w->err[0] = 0;
		w->seq = 0;
		if (ta->init_err[r->tgt][0]) {
			snprintf(w->err, sizeof(w->err), "%s", ta->init_err[r->tgt]);
			s->errors = 1;
		} else if (t->op_prepare && t->op_prepare(w, r->op)) {
			s->errors = 1;
		} else {
			run_one(w, s, t, r->op);
		}
		if (t->op_done)
			t->op_done(w, r->op);
		snprintf(s->err, sizeof(s->err), "%s", w->err);
		atomic_fetch_add(&ctl->ndone, 1);
	}
	/* Stay until the parent has merged everything: an early exit looks like a crash. */
	for (uint32_t go; (go = atomic_load(&ctl->go)) != GO_QUIT;)
		futex_wait(&ctl->go, go);
	for (int t = 0; t < TGT_NR; t++)
		if (used[t] && targets[t]->thread_fini && !ta->init_err[t][0])
			targets[t]->thread_fini(w);
	return NULL;
}

static void __attribute__((noreturn)) worker_proc(unsigned int p)
{
	bool ops[TGT_NR][OP_NR] = {{0}}, used[TGT_NR] = {0};
	struct thread_arg *ta;
	unsigned int i, started = 0;

	signal(SIGINT, SIG_IGN); /* the parent ends the run */
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned int k = 0; k < nsched; k++) {
		ops[runs[sched[k]].tgt][runs[sched[k]].op] = true;
		used[runs[sched[k]].tgt] = true;
	}
	/*
	 * One process at a time: SoftHSM's file store does not survive several
	 * processes initializing, logging in and creating keys at once (its
	 * token file can end up empty).  Untimed, so it costs only setup time.
	 */
	for (uint32_t turn; (turn = atomic_load(&ctl->init_turn)) != p;) {
		if (turn == GO_QUIT)
			_exit(0); /* the parent gave up before our turn */
		futex_wait(&ctl->init_turn, turn);
	}
	for (int t = 0; t < TGT_NR; t++) {
		if (used[t] && targets[t]->proc_init && targets[t]->proc_init(ops[t])) {
			snprintf(ctl->fatal, sizeof(ctl->fatal), "worker %u: %s setup failed", p,
				 targets[t]->name);
			_exit(3);
		}
	}
	atomic_fetch_add(&ctl->init_turn, 1);
	futex_wake_all(&ctl->init_turn);
	ta = calloc(cfg.threads, sizeof(*ta));
	if (!ta)
		_exit(3);
	for (i = 0; i < cfg.threads; i++) {
		ta[i].w.proc = p;
		ta[i].w.index = p * cfg.threads + i;
		ta[i].w.ping_fd = -1;
		for (size_t j = 0; j < sizeof(ta[i].w.data); j++)
			ta[i].w.data[j] = (uint8_t)(j * 131 + ta[i].w.index * 7 + 1);
		if (pthread_create(&ta[i].tid, NULL, worker_thread, &ta[i])) {
			snprintf(ctl->fatal, sizeof(ctl->fatal), "worker %u: pthread_create failed",
				 p);
			_exit(3);
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(ta[i].tid, NULL);
	for (int t = TGT_NR - 1; t >= 0; t--)
		if (used[t] && targets[t]->proc_fini)
			targets[t]->proc_fini();
	free(ta);
	_exit(0);
}

/* ----------------------------------------------------------------- parent */

/* First SIGINT/SIGTERM: end the current run and report; second: give up at once. */
static void on_sigint(int sig)
{
	if (ctl && !atomic_exchange(&ctl->stop, 1))
		return;
	for (unsigned int p = 0; pids && p < cfg.procs; p++)
		if (pids[p] > 0)
			kill(pids[p], SIGKILL);
	_exit(128 + sig);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A worker process ended before the parent told it to: fatal. */
static int check_children(void)
{
	int st;

	for (unsigned int p = 0; p < cfg.procs; p++) {
		if (pids[p] <= 0)
			continue;
		if (waitpid(pids[p], &st, WNOHANG) == pids[p]) {
			pids[p] = 0;
			fprintf(stderr, "%shsmg-bench: worker process %u %s %d%s%s\n",
				progress_bar ? "\r\033[K" : "", p,
				WIFSIGNALED(st) ? "killed by signal" : "exited with status",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
				ctl->fatal[0] ? ": " : "", ctl->fatal);
			return -1;
		}
	}
	return 0;
}

/*
 * Tell the workers to quit and give them 10 s to finalize their modules
 * (a SoftHSM killed while writing can leave its token file empty), then
 * SIGKILL what is left.
 */
static void stop_children(void)
{
	uint64_t limit = bench_now_ns() + 10000000000ULL;
	bool left = true;

	atomic_store(&ctl->go, GO_QUIT);
	futex_wake_all(&ctl->go);
	atomic_store(&ctl->init_turn, GO_QUIT);
	futex_wake_all(&ctl->init_turn);
	while (left && bench_now_ns() < limit) {
		left = false;
		for (unsigned int p = 0; p < cfg.procs; p++) {
			if (pids[p] <= 0)
				continue;
			if (waitpid(pids[p], NULL, WNOHANG) == pids[p])
				pids[p] = 0;
			else
				left = true;
		}
		if (left)
			sleep_ms(5);
	}
	for (unsigned int p = 0; p < cfg.procs; p++)
		if (pids[p] > 0) {
			kill(pids[p], SIGKILL);
			waitpid(pids[p], NULL, 0);
			pids[p] = 0;
		}
}

static const char *tgt_label(enum target t)
{
	if (t == TGT_P11)
		return cfg.name;
	return targets[t]->label ? targets[t]->label() : targets[t]->name;
}

static void draw_progress(unsigned int k, const struct run *r, uint64_t start)
{
	double now = (double)bench_now_ns(), frac;
	uint64_t calls = 0;
	char bar[31];
	int fill;

	for (unsigned int i = 0; i < nworkers; i++)
		calls += atomic_load_explicit(&ctl->slot[i].progress, memory_order_relaxed);
	if (cfg.count)
		frac = (double)calls / ((double)cfg.count * nworkers);
	else
		frac = (now - (double)start) / ((double)ctl->end_ns - (double)start);
	frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
	fill = (int)(frac * 30);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(30 - fill));
	bar[30] = 0;
	printf("\r\033[K[%s] %u/%u %s %s %" PRIu64 " calls%s", bar, k + 1, nsched,
	       tgt_label(r->tgt), op_names[r->op], calls,
	       now < (double)ctl->warm_end_ns ? " (warm-up)" : "");
	fflush(stdout);
}

/* Run everything; 0, or -1 when a worker died (results so far stay). */
static int coordinate(void)
{
	uint64_t warm = (uint64_t)(cfg.warmup_s * 1e9), dur = (uint64_t)(cfg.duration_s * 1e9);
	int ret = 0;

	while (atomic_load(&ctl->nready) < nworkers) {
		if (check_children())
			return -1;
		sleep_ms(1);
	}
	for (unsigned int k = 0; k < nsched && !atomic_load(&ctl->stop); k++) {
		struct run *r = &runs[sched[k]];
		uint64_t start = bench_now_ns();
		unsigned int polls = 0;
		int64_t first = INT64_MAX, last = 0;

		/* 10 ms for every worker to see the go before the common deadlines. */
		ctl->start_ns = (int64_t)(start + 10000000ULL);
		ctl->warm_end_ns = (int64_t)(start + 10000000ULL + warm);
		ctl->end_ns = (int64_t)(start + 10000000ULL + warm + dur);
		atomic_store(&ctl->go, k + 1);
		futex_wake_all(&ctl->go);
		while (atomic_load(&ctl->ndone) < (k + 1) * nworkers) {
			if (check_children())
				return -1;
			/* A worker stuck in a call: give up two minutes after the deadline. */
			if (!cfg.count &&
			    bench_now_ns() > (uint64_t)ctl->end_ns + 120000000000ULL) {
				fprintf(stderr,
					"%shsmg-bench: %s %s: workers stuck 120 s past the end\n",
					progress_bar ? "\r\033[K" : "", tgt_label(r->tgt),
					op_names[r->op]);
				return -1;
			}
			sleep_ms(polls < 20 ? 1 : 20);
			if (progress_bar && ++polls % 5 == 0)
				draw_progress(k, r, start);
		}
		r->h = malloc(sizeof(*r->h));
		if (!r->h)
			return -1;
		hist_reset(r->h);
		for (unsigned int i = 0; i < nworkers; i++) {
			struct slot *s = &ctl->slot[i];

			hist_merge(r->h, &s->h);
			r->ops += s->ops;
			r->errors += s->errors;
			if (s->err[0] && !r->why[0])
				snprintf(r->why, sizeof(r->why), "%s", s->err);
			if (s->t_first && s->t_first < first)
				first = s->t_first;
			if (s->t_last > last)
				last = s->t_last;
		}
		r->elapsed_s = last > first ? (double)(last - first) / 1e9 : 0;
	}
	if (progress_bar) {
		printf("\r\033[K");
		fflush(stdout);
	}
	atomic_store(&ctl->go, GO_QUIT);
	futex_wake_all(&ctl->go);
	for (unsigned int p = 0; p < cfg.procs; p++) {
		int st;

		if (pids[p] <= 0)
			continue;
		if (waitpid(pids[p], &st, 0) == pids[p] && (!WIFEXITED(st) || WEXITSTATUS(st))) {
			fprintf(stderr, "hsmg-bench: worker process %u ended badly (status 0x%x)\n",
				p, st);
			ret = -1;
		}
		pids[p] = 0;
	}
	return ret;
}

/* ----------------------------------------------------------------- output */

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static double ops_per_s(const struct run *r)
{
	return r->elapsed_s > 0 ? (double)r->ops / r->elapsed_s : 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *status(const struct run *r)
{
	if (r->skipped)
		return "skipped";
	if (!r->h)
		return "not run";
	return r->errors ? "errors" : "ok";
}

static void print_json(uint64_t total_errors)
{
	struct utsname u;

	uname(&u);
	printf("{\"tool\":\"hsmg-bench\",\"argv\":[");
	for (int i = 0; i < argc_saved; i++) {
		const char *a = argv_saved[i];

		if (i)
			putchar(',');
		/* Never print a PIN. */
		if (i > 0 &&
		    (!strcmp(argv_saved[i - 1], "--pin") ||
		     !strcmp(argv_saved[i - 1], "--so-pin") || !strcmp(argv_saved[i - 1], "-p")))
			a = "***";
		else if (!strncmp(a, "--pin=", 6))
			a = "--pin=***";
		else if (!strncmp(a, "--so-pin=", 9))
			a = "--so-pin=***";
		else if (!strncmp(a, "-p", 2) && a[2])
			a = "-p***";
		json_str(a);
	}
	printf("],\"host\":");
	json_str(u.nodename);
	printf(",\"kernel\":");
	json_str(u.release);
	printf(",\"cpus\":%ld,\"procs\":%u,\"threads\":%u,\"clients\":%u,",
	       sysconf(_SC_NPROCESSORS_ONLN), cfg.procs, cfg.threads, nworkers);
	if (cfg.count)
		printf("\"count\":%" PRIu64 ",", cfg.count);
	else
		printf("\"duration_s\":%g,", cfg.duration_s);
	printf("\"warmup_s\":%g,\"targets\":{", cfg.warmup_s);
	for (int t = 0, n = 0; t < TGT_NR; t++) {
		if (!cfg.want[t])
			continue;
		printf("%s", n++ ? "," : "");
		json_str(tgt_label((enum target)t));
		printf(":");
		json_str(targets[t]->describe ? targets[t]->describe() : "");
	}
	printf("},\"results\":[");
	for (unsigned int i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];

		printf("%s{\"target\":", i ? "," : "");
		json_str(tgt_label(r->tgt));
		printf(",\"op\":\"%s\",\"what\":", op_names[r->op]);
		json_str(op_what(r->tgt, r->op));
		printf(",\"status\":\"%s\"", status(r));
		if (r->why[0]) {
			printf(",\"%s\":", r->skipped ? "reason" : "first_error");
			json_str(r->why);
		}
		if (r->h) {
			const struct hist *h = r->h;

			printf(
			    ",\"ops\":%" PRIu64 ",\"errors\":%" PRIu64
			    ",\"elapsed_s\":%.6f,\"ops_per_s\":%.1f,\"lat_us\":{\"min\":%.3f,"
			    "\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,"
			    "\"max\":%.3f}",
			    r->ops, r->errors, r->elapsed_s, ops_per_s(r),
			    h->count ? us(h->min_ns) : 0,
			    h->count ? us(h->sum_ns) / (double)h->count : 0,
			    us(hist_percentile(h, 50)), us(hist_percentile(h, 90)),
			    us(hist_percentile(h, 99)), us(hist_percentile(h, 99.9)),
			    us(h->max_ns));
		}
		printf("}");
	}
	printf("],\"errors\":%" PRIu64 "}\n", total_errors);
}

static void print_csv(void)
{
	printf("target,op,status,procs,threads,clients,ops,errors,elapsed_s,ops_per_s,"
	       "min_us,mean_us,p50_us,p90_us,p99_us,p99_9_us,max_us,what,note\n");
	for (unsigned int i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];
		const struct hist *h = r->h;
		char note[ERR_LEN];

		/* No commas or quotes inside fields. */
		snprintf(note, sizeof(note), "%s", r->why);
		for (char *c = note; *c; c++)
			if (*c == ',' || *c == '"')
				*c = ';';
		printf("%s,%s,%s,%u,%u,%u,", tgt_label(r->tgt), op_names[r->op], status(r),
		       cfg.procs, cfg.threads, nworkers);
		if (h)
			printf("%" PRIu64 ",%" PRIu64
			       ",%.6f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,",
			       r->ops, r->errors, r->elapsed_s, ops_per_s(r),
			       h->count ? us(h->min_ns) : 0,
			       h->count ? us(h->sum_ns) / (double)h->count : 0,
			       us(hist_percentile(h, 50)), us(hist_percentile(h, 90)),
			       us(hist_percentile(h, 99)), us(hist_percentile(h, 99.9)),
			       us(h->max_ns));
		else
			printf(",,,,,,,,,,,");
		printf("\"%s\",\"%s\"\n", op_what(r->tgt, r->op), note);
	}
}

static void print_table(void)
{
	int tw = 6;

	printf("# hsmg-bench: %u process%s x %u thread%s = %u client%s, ", cfg.procs,
	       cfg.procs == 1 ? "" : "es", cfg.threads, cfg.threads == 1 ? "" : "s", nworkers,
	       nworkers == 1 ? "" : "s");
	if (cfg.count)
		printf("%" PRIu64 " calls per client", cfg.count);
	else
		printf("%g s per op", cfg.duration_s);
	printf(" after %g s warm-up\n", cfg.warmup_s);
	for (int t = 0; t < TGT_NR; t++) {
		int l;

		if (!cfg.want[t])
			continue;
		printf("# %s: %s\n", tgt_label((enum target)t),
		       targets[t]->describe ? targets[t]->describe() : "");
		l = (int)strlen(tgt_label((enum target)t));
		if (l > tw)
			tw = l;
	}
	printf("%-*s %-10s %11s %12s %7s %9s %9s %9s %9s %9s\n", tw, "target", "op", "ops", "ops/s",
	       "errors", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
	for (unsigned int i = 0; i < nruns; i++) {
		const struct run *r = &runs[i];
		const struct hist *h = r->h;

		printf("%-*s %-10s ", tw, tgt_label(r->tgt), op_names[r->op]);
		if (!h) {
			printf("%s%s%s\n", status(r), r->why[0] ? ": " : "", r->why);
			continue;
		}
		printf("%11" PRIu64 " %12.1f %7" PRIu64 " %9.2f %9.2f %9.2f %9.2f %9.2f\n", r->ops,
		       ops_per_s(r), r->errors, us(hist_percentile(h, 50)),
		       us(hist_percentile(h, 90)), us(hist_percentile(h, 99)),
		       us(hist_percentile(h, 99.9)), us(h->max_ns));
	}
	for (unsigned int i = 0; i < nruns; i++)
		if (runs[i].errors)
			printf("# errors: %s %s: %" PRIu64 ", first: %s\n", tgt_label(runs[i].tgt),
			       op_names[runs[i].op], runs[i].errors,
			       runs[i].why[0] ? runs[i].why : "?");
}

/* --self-test: the histogram's invariants (tests/bench/run calls it). */
static int self_test(void)
{
	static struct hist h;
	unsigned int prev = 0;
	int bad = 0;

	for (uint64_t v = 0; v < (1ULL << 42); v = v < 4096 ? v + 1 : v + v / 97 + 1) {
		unsigned int i = hist_index(v);
		uint64_t low = hist_bucket_low(i), w = hist_bucket_width(i);

		/* Monotonic, the value inside its bucket, width at most 1/128 of it. */
		if (i < prev || i >= HIST_NBUCKETS ||
		    (v < (1ULL << (HIST_MAX_BIT + 1)) && (v < low || v >= low + w)) ||
		    (v >= HIST_SUB && w * HIST_SUB > low)) {
			fprintf(stderr,
				"self-test: value %" PRIu64 " bucket %u [%" PRIu64 ", +%" PRIu64
				")\n",
				v, i, low, w);
			bad = 1;
			break;
		}
		prev = i;
	}
	/* 1..100000 ns uniformly: percentiles within a bucket width (0.8 %). */
	hist_reset(&h);
	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(&h, v);
	for (int half = 2; half < 200; half++) {
		double p = half / 2.0;
		double got = (double)hist_percentile(&h, p), want = p * 1000;

		if (got < want * 0.99 - 1 || got > want * 1.01 + 1) {
			fprintf(stderr, "self-test: p%.1f = %.0f, expected about %.0f\n", p, got,
				want);
			bad = 1;
		}
	}
	if (hist_percentile(&h, 0) != 1 || hist_percentile(&h, 100) != 100000 || h.count != 100000)
		bad = 1;
	/* Merging equals adding. */
	{
		static struct hist a, b;

		hist_reset(&a);
		hist_reset(&b);
		for (uint64_t v = 1; v <= 100000; v++)
			hist_add(v % 3 ? &a : &b, v);
		hist_merge(&a, &b);
		if (memcmp(&a, &h, sizeof(a))) {
			fprintf(stderr, "self-test: merge differs from adding\n");
			bad = 1;
		}
	}
	printf("self-test: %s\n", bad ? "FAILED" : "ok");
	return bad;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: hsmg-bench [--module PATH] [--raw] [--floor] [options]\n"
	       "targets (any combination, measured in this order: floor, raw, module):\n"
	       "  --module PATH    a PKCS#11 module (dlopen + C_GetFunctionList)\n"
	       "  --raw            /dev/hsmgroup ioctls with codec-built messages (no shim)\n"
	       "  --raw-local      the same messages to an emulated card in the worker process\n"
	       "                   (hsmsimd's card code; no kernel, no wake-ups; runs anywhere)\n"
	       "  --key-cache N    raw-local: the card keeps N parsed keys (0 = off; default 64)\n"
	       "  --floor          syscall, no-op ioctl (HSMG_IOC_GET_INFO), socketpair ping-pong\n"
	       "PKCS#11 target:\n"
	       "  --slot N         slot id (default: the first with an initialized token)\n"
	       "  --token LABEL    the slot whose token has this label (--init: label to set)\n"
	       "  --pin PIN        log in as user (keys are CKA_PRIVATE then)\n"
	       "  --init           initialize a scratch token first (C_InitToken, C_InitPIN;\n"
	       "                   SoftHSM: SOFTHSM2_CONF must name a scratch config)\n"
	       "  --so-pin PIN     SO PIN for --init (default 12345678)\n"
	       "  --name NAME      label of the module in the output (default: file name)\n"
	       "raw target:\n"
	       "  --group G        group id (default: the first); --pin logs every session in\n"
	       "load:\n"
	       "  --ops LIST       comma list of: null getinfo random ecdsa rsa gcm sha256\n"
	       "                   aeskeygen syscall ioctl pingpong, the token store's\n"
	       "                   toksign find findid create firstuse, or 'all', or 'none'\n"
	       "                   (default: null,random,ecdsa,rsa,gcm,sha256,aeskeygen)\n"
	       "  --threads T      threads per process, each with its own session (default 1)\n"
	       "  --procs P        processes, each with its own C_Initialize / client (default 1)\n"
	       "  --duration S     seconds measured per op (default 5)\n"
	       "  --count N        calls measured per thread per op instead of a duration\n"
	       "  --warmup S       seconds of untimed calls first (default 1)\n"
	       "output:\n"
	       "  --json | --csv   machine-readable output instead of the table\n"
	       "  --no-progress    no progress bar (there is one only on a terminal)\n"
	       "  --allow-errors   exit 0 even when calls failed\n"
	       "exit status: 0 ok, 1 calls failed, 2 usage, 3 setup failed\n");
}

static int parse_ops(const char *list, bool *sel)
{
	char *dup = strdup(list), *save = NULL, *tok;
	int ret = 0;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int o;

		if (!strcmp(tok, "none"))
			continue;
		if (!strcmp(tok, "all")) {
			for (o = 0; o < OP_NR; o++)
				sel[o] = true;
			continue;
		}
		for (o = 0; o < OP_NR; o++)
			if (!strcmp(tok, op_names[o]))
				break;
		if (o == OP_NR) {
			fprintf(stderr, "hsmg-bench: unknown op '%s'\n", tok);
			ret = -1;
			break;
		}
		sel[o] = true;
	}
	free(dup);
	return ret;
}

static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi || isnan(v))
		return -1;
	*out = v;
	return 0;
}

static char name_buf[64];

static int parse_args(int argc, char **argv, bool *sel, bool *floor_on)
{
	static const struct option lo[] = {
	    {"module", required_argument, NULL, 'm'},
	    {"raw", no_argument, NULL, 'r'},
	    {"floor", no_argument, NULL, 'F'},
	    {"slot", required_argument, NULL, 's'},
	    {"token", required_argument, NULL, 'T'},
	    {"pin", required_argument, NULL, 'p'},
	    {"so-pin", required_argument, NULL, 'S'},
	    {"init", no_argument, NULL, 'I'},
	    {"name", required_argument, NULL, 'n'},
	    {"group", required_argument, NULL, 'g'},
	    {"ops", required_argument, NULL, 'o'},
	    {"threads", required_argument, NULL, 't'},
	    {"procs", required_argument, NULL, 'P'},
	    {"duration", required_argument, NULL, 'd'},
	    {"count", required_argument, NULL, 'c'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'C'},
	    {"no-progress", no_argument, NULL, 'q'},
	    {"allow-errors", no_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {"self-test", no_argument, NULL, 'X'},
	    {"raw-local", no_argument, NULL, 'L'},
	    {"key-cache", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	bool ops_given = false, no_progress = false;
	double v;
	int c, li;

	while ((li = -1, c = getopt_long(argc, argv, "m:rFs:p:t:P:d:c:w:jqh", lo, &li)) != -1) {
		switch (c) {
		case 'm':
			cfg.module = optarg;
			cfg.want[TGT_P11] = true;
			break;
		case 'r':
			cfg.want[TGT_RAW] = true;
			break;
		case 'L':
			cfg.want[TGT_RAW] = true;
			cfg.raw_local = true;
			break;
		case 'K':
			if (num(optarg, 0, 4096, &v) || v != floor(v))
				goto bad;
			cfg.key_cache = (int)v;
			break;
		case 'F':
			*floor_on = true;
			break;
		case 's':
			if (num(optarg, 0, 1e15, &v))
				goto bad;
			cfg.slot = (long)v;
			break;
		case 'T':
			cfg.token = optarg;
			break;
		case 'p':
			cfg.pin = optarg;
			break;
		case 'S':
			cfg.so_pin = optarg;
			break;
		case 'I':
			cfg.init = true;
			break;
		case 'n':
			cfg.name = optarg;
			break;
		case 'g':
			if (num(optarg, 1, UINT32_MAX, &v))
				goto bad;
			cfg.group = (uint32_t)v;
			break;
		case 'o':
			if (parse_ops(optarg, sel))
				return -1;
			ops_given = true;
			break;
		case 't':
		case 'P':
			if (num(optarg, 1, MAX_WORKERS, &v) || v != floor(v))
				goto bad;
			if (c == 't')
				cfg.threads = (unsigned int)v;
			else
				cfg.procs = (unsigned int)v;
			break;
		case 'd':
			if (num(optarg, 0.001, 86400, &cfg.duration_s))
				goto bad;
			break;
		case 'c':
			if (num(optarg, 1, 1e15, &v) || v != floor(v))
				goto bad;
			cfg.count = (uint64_t)v;
			break;
		case 'w':
			if (num(optarg, 0, 3600, &cfg.warmup_s))
				goto bad;
			break;
		case 'j':
			json = true;
			break;
		case 'C':
			csv = true;
			break;
		case 'q':
			no_progress = true;
			break;
		case 'E':
			cfg.allow_errors = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'X':
			exit(self_test());
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsmg-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (json && csv) {
		fprintf(stderr, "hsmg-bench: --json or --csv, not both\n");
		return -1;
	}
	if ((unsigned long)cfg.threads * cfg.procs > MAX_WORKERS) {
		fprintf(stderr, "hsmg-bench: at most %d threads x processes\n", MAX_WORKERS);
		return -1;
	}
	if (!ops_given) {
		for (int o = OP_NULL; o <= OP_AESKEYGEN; o++)
			sel[o] = o != OP_GETINFO;
	}
	if (*floor_on)
		sel[OP_SYSCALL] = sel[OP_IOCTL] = sel[OP_PINGPONG] = true;
	if (sel[OP_SYSCALL] || sel[OP_IOCTL] || sel[OP_PINGPONG])
		*floor_on = true;
	cfg.want[TGT_FLOOR] = *floor_on;
	if (!cfg.want[TGT_P11] && !cfg.want[TGT_RAW] && !*floor_on && !cfg.init) {
		fprintf(stderr,
			"hsmg-bench: nothing to measure: give --module, --raw or --floor\n");
		usage(stderr);
		return -1;
	}
	if (cfg.init && !cfg.module) {
		fprintf(stderr, "hsmg-bench: --init needs --module\n");
		return -1;
	}
	if (cfg.module && !cfg.name) {
		const char *b = strrchr(cfg.module, '/');
		char *dot;

		snprintf(name_buf, sizeof(name_buf), "%s", b ? b + 1 : cfg.module);
		dot = strstr(name_buf, ".so");
		if (dot)
			*dot = 0;
		cfg.name = name_buf;
	}
	progress_bar = !no_progress && isatty(STDOUT_FILENO);
	return 0;
bad:
	if (li >= 0)
		fprintf(stderr, "hsmg-bench: bad value '%s' for --%s\n", optarg, lo[li].name);
	else
		fprintf(stderr, "hsmg-bench: bad value '%s' for -%c\n", optarg, c);
	return -1;
}

int main(int argc, char **argv)
{
	bool sel[OP_NR] = {0}, floor_on = false;
	uint64_t total_errors = 0;
	size_t map_len;
	int ret = 0, t;

	argc_saved = argc;
	argv_saved = argv;
	if (parse_args(argc, argv, sel, &floor_on))
		return 2;

	/* Prepare the targets and decide the runs. */
	static const enum target order[] = {TGT_FLOOR, TGT_RAW, TGT_P11};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		t = order[i];
		if (!cfg.want[t])
			continue;
		if (targets[t]->parent_init && targets[t]->parent_init())
			return 3;
		for (int o = 0; o < OP_NR; o++) {
			struct run *r;

			if (!sel[o] || !op_what((enum target)t, (enum op)o))
				continue;
			r = &runs[nruns];
			r->tgt = (enum target)t;
			r->op = (enum op)o;
			if (targets[t]->supported &&
			    targets[t]->supported((enum op)o, r->why, sizeof(r->why)))
				r->skipped = true;
			else
				sched[nsched++] = nruns;
			nruns++;
		}
		/* The workers initialize the module themselves. */
		if (targets[t]->parent_fini)
			targets[t]->parent_fini();
	}

	nworkers = cfg.procs * cfg.threads;
	map_len = sizeof(struct ctl) + (size_t)nworkers * sizeof(struct slot);
	ctl = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(cfg.procs, sizeof(*pids));
	if (ctl == MAP_FAILED || !pids) {
		fprintf(stderr, "hsmg-bench: out of memory\n");
		return 3;
	}
	if (nsched) {
		struct sigaction sa = {.sa_handler = on_sigint};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		fflush(NULL);
		for (unsigned int p = 0; p < cfg.procs; p++) {
			pids[p] = fork();
			if (pids[p] < 0) {
				fprintf(stderr, "hsmg-bench: fork: %s\n", strerror(errno));
				stop_children();
				return 3;
			}
			if (pids[p] == 0)
				worker_proc(p);
		}
		if (coordinate()) {
			stop_children();
			ret = 3;
		}
	}

	for (unsigned int i = 0; i < nruns; i++)
		total_errors += runs[i].errors;
	if (json)
		print_json(total_errors);
	else if (csv)
		print_csv();
	else
		print_table();
	fflush(stdout);
	if (!ret && total_errors && !cfg.allow_errors)
		ret = 1;
	if (!ret && atomic_load(&ctl->stop))
		ret = 1;
	return ret;
}
