// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-load - load client for /dev/hsmgroup that checks every answer.
 *
 * N client processes (each its own open of /dev/hsmgroup) with T threads
 * each.  Every client generates an EC P-256 key pair and an AES-256 key on
 * the card, then loops: ECDSA-sign a random digest on the card and verify
 * the signature here with OpenSSL from the public key the card returned;
 * AES-GCM encrypt random data on the card, decrypt it on the card, compare.
 * Any ioctl error, non-CKR_OK return value or wrong result is an error.
 * Each client reports its counters to the parent through a pipe; the parent
 * prints a summary and exits 1 when there was any error.  SIGTERM or SIGINT
 * ends the run early: the clients finish their current operation and report.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "client.h"
#include "loadops.h"

#define MAX_MEMBERS	  32
#define MAX_LOGGED_ERRORS 8
#define GCM_MAX_DATA	  1024

static struct {
	unsigned int clients;
	unsigned int threads;
	unsigned int duration_s;
	uint64_t ops;
	uint32_t group;
	bool login;
	bool quiet;
} opt = {.clients = 1, .threads = 1};

/**
 * struct member_count - requests one member answered.
 * @queue_id: the member.
 * @count: answers.
 * @first_ns: CLOCK_REALTIME of the first answer.
 * @last_ns: CLOCK_REALTIME of the last answer.
 */
struct member_count {
	uint32_t queue_id;
	uint32_t pad;
	uint64_t count;
	int64_t first_ns;
	int64_t last_ns;
};

/* What one client sends its parent; also each thread's private tally. */
struct load_stats {
	uint64_t ops;	    /* logical operations finished correctly */
	uint64_t errors;    /* application-visible errors */
	uint64_t submits;   /* SUBMIT calls that returned 0 */
	uint64_t failovers; /* submits with attempts > 1 */
	uint64_t signs;	    /* signatures verified locally */
	uint64_t gcm;	    /* encrypt+decrypt round trips compared */
	uint64_t lat_max_us;
	uint64_t lat_sum_us;
	uint32_t nmembers;
	uint32_t setup_ok;
	struct member_count members[MAX_MEMBERS];
};

/* Set by SIGTERM/SIGINT: stop taking new work. */
static volatile sig_atomic_t stopping;
/* The parent's children, for forwarding the stop. */
static pid_t *child_pids;
static unsigned int nchildren;

static void on_stop(int sig)
{
	int saved = errno;

	stopping = 1;
	for (unsigned int i = 0; i < nchildren; i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGTERM);
	errno = saved;
}

static void catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void count_member(struct load_stats *st, uint32_t queue_id, uint64_t count, int64_t first,
			 int64_t last)
{
	struct member_count *m = NULL;

	for (uint32_t i = 0; i < st->nmembers; i++)
		if (st->members[i].queue_id == queue_id)
			m = &st->members[i];
	if (!m) {
		if (st->nmembers == MAX_MEMBERS)
			return;
		m = &st->members[st->nmembers++];
		memset(m, 0, sizeof(*m));
		m->queue_id = queue_id;
		m->first_ns = first;
	}
	m->count += count;
	if (first < m->first_ns)
		m->first_ns = first;
	if (last > m->last_ns)
		m->last_ns = last;
}

static void merge_stats(struct load_stats *to, const struct load_stats *from)
{
	to->ops += from->ops;
	to->errors += from->errors;
	to->submits += from->submits;
	to->failovers += from->failovers;
	to->signs += from->signs;
	to->gcm += from->gcm;
	to->lat_sum_us += from->lat_sum_us;
	if (from->lat_max_us > to->lat_max_us)
		to->lat_max_us = from->lat_max_us;
	for (uint32_t i = 0; i < from->nmembers; i++)
		count_member(to, from->members[i].queue_id, from->members[i].count,
			     from->members[i].first_ns, from->members[i].last_ns);
}

/* ---- one client: a process with its own open file ---------------------- */

struct client {
	int index;
	int fd;
	uint32_t group;
	uint32_t session;
	struct load_keys keys;
	EVP_PKEY *pub; /* the card's EC public key, for local verify */
	atomic_uint_fast64_t ops_left;
	uint64_t deadline_us;
	atomic_int logged_errors;
	pthread_mutex_t lock;
	struct load_stats total;
};

struct worker {
	struct client *c;
	int index;
	struct load_stats st;
};

static void report_error(struct client *c, struct load_stats *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_error(struct client *c, struct load_stats *st, const char *fmt, ...)
{
	va_list ap;

	st->errors++;
	if (atomic_fetch_add(&c->logged_errors, 1) >= MAX_LOGGED_ERRORS)
		return;
	fprintf(stderr, "hsmg-load: client %d: ", c->index);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The submit path used by loadops.c: one SUBMIT, counted.  Returns 0 or
 * -errno (counted as an error by the caller's report).
 */
int load_submit(void *ctx, uint32_t op_class, const void *req, size_t req_len, void *resp,
		size_t resp_cap, size_t *resp_len)
{
	struct worker *w = ctx;
	struct hsmg_client_req res = {
	    .group_id = w->c->group,
	    .session_id = w->c->session,
	    .op_class = op_class,
	    .req = req,
	    .req_len = (uint32_t)req_len,
	    .resp = resp,
	    .resp_cap = (uint32_t)resp_cap,
	};
	uint64_t t0 = mono_us(), lat;
	int ret;

	ret = hsmg_client_submit(w->c->fd, &res);
	if (ret)
		return ret;
	lat = mono_us() - t0;
	w->st.submits++;
	w->st.lat_sum_us += lat;
	if (lat > w->st.lat_max_us)
		w->st.lat_max_us = lat;
	if (res.attempts > 1)
		w->st.failovers++;
	{
		int64_t t = now_ns();

		count_member(&w->st, res.member, 1, t, t);
	}
	*resp_len = res.resp_len;
	return 0;
}

static EVP_PKEY *load_ec_public(const uint8_t *pub, size_t len)
{
	const unsigned char *p = pub;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[3];

	/* Either an X.509 SubjectPublicKeyInfo or a raw uncompressed point. */
	if (len > 0 && pub[0] == 0x30) {
		pkey = d2i_PUBKEY(NULL, &p, len);
		if (pkey)
			return pkey;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx)
		return NULL;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Verify a raw r||s (PKCS#11 CKM_ECDSA) or DER signature of @dig. */
static bool verify_ecdsa(EVP_PKEY *pub, const uint8_t dig[32], const uint8_t *sig, size_t len)
{
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx;
	bool ok = false;
	int der_len;

	if (len == 64) {
		ECDSA_SIG *s = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);

		if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv)) {
			BN_free(r);
			BN_free(sv);
			ECDSA_SIG_free(s);
			return false;
		}
		der_len = i2d_ECDSA_SIG(s, &der);
		ECDSA_SIG_free(s);
		if (der_len <= 0)
			return false;
	} else {
		der = OPENSSL_memdup(sig, len);
		der_len = len;
		if (!der)
			return false;
	}
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	if (ctx && EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_verify(ctx, der, der_len, dig, 32) == 1)
		ok = true;
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* Reserve @n ops of the client's budget (--ops) or check the deadline. */
static bool worker_take(struct worker *w, unsigned int n)
{
	struct client *c = w->c;

	if (stopping)
		return false;
	if (opt.ops) {
		uint_fast64_t left = atomic_load(&c->ops_left);

		do {
			if (left < n)
				return false;
		} while (!atomic_compare_exchange_weak(&c->ops_left, &left, left - n));
		return true;
	}
	return mono_us() < c->deadline_us;
}

static void one_sign(struct worker *w)
{
	uint8_t dig[32], sig[LOAD_MAX_SIG];
	size_t sig_len = sizeof(sig);
	int ret;

	RAND_bytes(dig, sizeof(dig));
	ret = load_sign(w, &w->c->keys, dig, sig, &sig_len);
	if (ret) {
		report_error(w->c, &w->st, "sign: %s", load_strerror(ret));
		return;
	}
	if (!verify_ecdsa(w->c->pub, dig, sig, sig_len)) {
		report_error(w->c, &w->st, "sign: signature (%zu bytes) does not verify", sig_len);
		return;
	}
	w->st.signs++;
	w->st.ops++;
}

static void one_gcm(struct worker *w)
{
	static uint8_t zero[GCM_MAX_DATA];
	uint8_t pt[GCM_MAX_DATA], back[GCM_MAX_DATA], ct[GCM_MAX_DATA + LOAD_GCM_OVERHEAD];
	size_t pt_len, ct_len = sizeof(ct), back_len = sizeof(back);
	uint16_t r;
	int ret;

	RAND_bytes((uint8_t *)&r, sizeof(r));
	pt_len = 1 + r % GCM_MAX_DATA;
	RAND_bytes(pt, pt_len);
	ret = load_gcm_encrypt(w, &w->c->keys, pt, pt_len, ct, &ct_len);
	if (ret) {
		report_error(w->c, &w->st, "gcm encrypt: %s", load_strerror(ret));
		return;
	}
	w->st.ops++;
	/*
	 * A card that echoed the data would pass the round trip.  ct is IV,
	 * AAD (both random), then the ciphertext: compare that part, and only
	 * from 8 bytes on (a shorter ciphertext equals its plaintext by chance
	 * often enough to fail a load run now and then).
	 */
	if (pt_len >= 8 && ct_len >= LOAD_GCM_IV + LOAD_GCM_AAD + pt_len &&
	    !memcmp(ct + LOAD_GCM_IV + LOAD_GCM_AAD, pt, pt_len) && memcmp(pt, zero, pt_len)) {
		report_error(w->c, &w->st, "gcm encrypt: ciphertext equals plaintext");
		return;
	}
	ret = load_gcm_decrypt(w, &w->c->keys, ct, ct_len, back, &back_len);
	if (ret) {
		report_error(w->c, &w->st, "gcm decrypt: %s", load_strerror(ret));
		return;
	}
	if (back_len != pt_len || memcmp(back, pt, pt_len)) {
		report_error(w->c, &w->st, "gcm decrypt: %zu bytes back, %zu expected, %s",
			     back_len, pt_len,
			     back_len == pt_len ? "content differs" : "length differs");
		return;
	}
	w->st.gcm++;
	w->st.ops++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* A signature is one op, a GCM round trip two (encrypt, decrypt). */
	while (worker_take(w, 1)) {
		one_sign(w);
		if (!worker_take(w, 2))
			break;
		one_gcm(w);
	}
	pthread_mutex_lock(&w->c->lock);
	merge_stats(&w->c->total, &w->st);
	pthread_mutex_unlock(&w->c->lock);
	return NULL;
}

static int client_setup(struct client *c, struct worker *w0)
{
	uint8_t pub[LOAD_MAX_PUB];
	size_t pub_len = sizeof(pub);
	int ret;

	c->fd = hsmg_client_open(NULL, NULL);
	if (c->fd < 0) {
		report_error(c, &w0->st, "open %s: %s", HSMG_CLIENT_DEVICE, strerror(-c->fd));
		return -1;
	}
	c->group = opt.group;
	if (!c->group) {
		ret = hsmg_client_first_group(c->fd, &c->group);
		if (ret) {
			report_error(c, &w0->st, "no group: %s", strerror(-ret));
			return -1;
		}
	}
	if (opt.login) {
		char pin[32];
		uint32_t members = 0;

		ret = hsmg_client_session_open(c->fd, c->group, HSMG_SESSION_RW, &c->session);
		if (ret) {
			report_error(c, &w0->st, "SESSION_OPEN: %s", strerror(-ret));
			return -1;
		}
		snprintf(pin, sizeof(pin), "load-pin-%04d", c->index);
		ret = hsmg_client_login(
		    c->fd, c->session, 0,
		    &(struct hsmg_client_creds){.pin = pin, .pin_len = (uint32_t)strlen(pin)},
		    &members);
		explicit_bzero(pin, sizeof(pin));
		if (ret) {
			report_error(c, &w0->st, "LOGIN: %s", strerror(-ret));
			return -1;
		}
	}
	ret = load_gen_ec(w0, &c->keys, pub, &pub_len);
	if (ret) {
		report_error(c, &w0->st, "EC key pair generation: %s", load_strerror(ret));
		return -1;
	}
	c->pub = load_ec_public(pub, pub_len);
	if (!c->pub) {
		report_error(c, &w0->st, "the card's EC public key (%zu bytes) does not parse",
			     pub_len);
		return -1;
	}
	ret = load_gen_aes(w0, &c->keys);
	if (ret) {
		report_error(c, &w0->st, "AES key generation: %s", load_strerror(ret));
		return -1;
	}
	return 0;
}

static void client_main(int index, int out)
{
	struct client c = {.index = index, .fd = -1};
	struct worker *w = calloc(opt.threads, sizeof(*w));
	pthread_t *tids = calloc(opt.threads, sizeof(*tids));
	const char *p;
	size_t left;

	pthread_mutex_init(&c.lock, NULL);
	atomic_init(&c.ops_left, opt.ops);
	atomic_init(&c.logged_errors, 0);
	if (!w || !tids) {
		fprintf(stderr, "hsmg-load: out of memory\n");
		_exit(1);
	}
	for (unsigned int i = 0; i < opt.threads; i++) {
		w[i].c = &c;
		w[i].index = i;
	}
	c.deadline_us = mono_us() + (uint64_t)opt.duration_s * 1000000;
	if (client_setup(&c, &w[0]) == 0) {
		c.total.setup_ok = 1;
		for (unsigned int i = 0; i < opt.threads; i++)
			if (pthread_create(&tids[i], NULL, worker_main, &w[i])) {
				report_error(&c, &w[i].st, "pthread_create failed");
				tids[i] = 0;
			}
		for (unsigned int i = 0; i < opt.threads; i++)
			if (tids[i])
				pthread_join(tids[i], NULL);
	} else {
		merge_stats(&c.total, &w[0].st);
	}
	load_keys_free(&c.keys);
	EVP_PKEY_free(c.pub);
	/* Closing the file logs the session out everywhere. */
	if (c.fd >= 0)
		close(c.fd);

	for (p = (const char *)&c.total, left = sizeof(c.total); left;) {
		ssize_t n = write(out, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		left -= n;
	}
	_exit(0);
}

/* ---- parent -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: hsmg-load [--clients N] [--threads T] (--duration S | --ops N)\n"
		"                 [--group G] [--login] [--quiet]\n"
		"  --clients N   client processes, each its own open of " HSMG_CLIENT_DEVICE
		" (1)\n"
		"  --threads T   threads per client (1)\n"
		"  --duration S  run S seconds\n"
		"  --ops N       at most N card operations per client (sign, encrypt, decrypt)\n"
		"  --group G     group id (default: the first group)\n"
		"  --login       open a session per client and log it in with a test PIN\n");
	exit(2);
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	const struct member_count *x = a, *y = b;

	return (x->queue_id > y->queue_id) - (x->queue_id < y->queue_id);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"clients", required_argument, NULL, 'c'},
	    {"threads", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'd'},
	    {"ops", required_argument, NULL, 'n'},
	    {"group", required_argument, NULL, 'g'},
	    {"login", no_argument, NULL, 'l'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct load_stats total = {0};
	unsigned int lost = 0, setup_failed = 0;
	int64_t start_ns = now_ns();
	uint64_t t0 = mono_us(), elapsed_us;
	pid_t *pids;
	int *fds, c;

	while ((c = getopt_long(argc, argv, "c:t:d:n:g:lqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.clients = strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt.threads = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			opt.duration_s = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			opt.ops = strtoull(optarg, NULL, 0);
			break;
		case 'g':
			opt.group = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			opt.login = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !opt.clients || opt.clients > 1024 || !opt.threads ||
	    opt.threads > 256 || (!opt.duration_s == !opt.ops))
		usage();

	pids = calloc(opt.clients, sizeof(*pids));
	fds = calloc(opt.clients, sizeof(*fds));
	if (!pids || !fds)
		return 1;
	fflush(NULL);
	child_pids = pids;
	catch_stop();
	for (unsigned int i = 0; i < opt.clients; i++) {
		int p[2];

		if (pipe(p)) {
			perror("hsmg-load: pipe");
			return 1;
		}
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("hsmg-load: fork");
			return 1;
		}
		if (pids[i] == 0) {
			nchildren = 0;
			close(p[0]);
			for (unsigned int j = 0; j < i; j++)
				close(fds[j]);
			client_main(i, p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
		nchildren = i + 1;
	}
	for (unsigned int i = 0; i < opt.clients; i++) {
		struct load_stats st;
		int status;

		if (read_full(fds[i], &st, sizeof(st))) {
			fprintf(stderr, "hsmg-load: client %u died without a report\n", i);
			lost++;
		} else {
			merge_stats(&total, &st);
			if (!st.setup_ok)
				setup_failed++;
		}
		close(fds[i]);
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
	}
	elapsed_us = mono_us() - t0;
	nchildren = 0;
	free(pids);
	free(fds);

	qsort(total.members, total.nmembers, sizeof(total.members[0]), cmp_member);
	printf("load: clients=%u threads=%u%s elapsed_ms=%" PRIu64 "\n", opt.clients, opt.threads,
	       opt.login ? " login" : "", elapsed_us / 1000);
	printf("load: ops=%" PRIu64 " signs_verified=%" PRIu64 " gcm_roundtrips=%" PRIu64
	       " submits=%" PRIu64 " errors=%" PRIu64 " failovers=%" PRIu64
	       " lost_clients=%u setup_failed=%u\n",
	       total.ops, total.signs, total.gcm, total.submits, total.errors + lost,
	       total.failovers, lost, setup_failed);
	printf("load: latency_max_ms=%.1f latency_avg_ms=%.2f ops_per_s=%.1f\n",
	       total.lat_max_us / 1000.0,
	       total.submits ? total.lat_sum_us / 1000.0 / total.submits : 0.0,
	       elapsed_us ? total.ops * 1e6 / elapsed_us : 0.0);
	for (uint32_t i = 0; i < total.nmembers; i++)
		printf("load: member queue_id=%u requests=%" PRIu64 " first_ms=%" PRId64
		       " last_ms=%" PRId64 " first_ns=%" PRId64 "\n",
		       total.members[i].queue_id, total.members[i].count,
		       (total.members[i].first_ns - start_ns) / 1000000,
		       (total.members[i].last_ns - start_ns) / 1000000, total.members[i].first_ns);
	if (total.errors + lost + setup_failed > 0 || total.ops == 0) {
		printf("load: FAIL (%" PRIu64 " errors, %u lost clients, %u failed setups, %" PRIu64
		       " ops)\n",
		       total.errors + lost, lost, setup_failed, total.ops);
		return 1;
	}
	printf("load: PASS\n");
	return 0;
}
