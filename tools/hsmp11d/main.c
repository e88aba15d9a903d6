// SPDX-License-Identifier: GPL-2.0
/*
 * hsmp11d - queue provider over vendor PKCS#11 tokens: each queue of its
 * configuration is one token of a vendor's PKCS#11 library, served as a
 * card of the group (lib/card/p11card.h: keys as blobs wrapped under the
 * group key every member token holds) by the provider daemon
 * (lib/provider).  A token that fails (an error that says so, or a call
 * that does not return within request_timeout_ms) answers its requests
 * FAILED, so the kernel sends them to the other members, and is started
 * again (sessions, login, group key) in the background until it serves.
 * See hsmp11d --help and hsmp11d(8).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmg_mech.h"
#include "p11card.h"
#include "provider.h"

#define DEFAULT_CONFIG "/etc/hsmgroup/hsmp11d.conf"
#define PIN_MAX	       256

/* One queue: a token and what hsmp11d knows of it (prov_queue.priv). */
struct member {
	char *module, *token, *pin_file, *wrap_label, *pin_count_file;
	unsigned int sessions;
	int line; /* of its section, for messages */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CK_RV down_rv;	      /* under @lock: what took it down (0: serving) */
	char reason[512];     /* under @lock: why it is not serving */
	uint64_t fault_until; /* under @lock: an injected failure holds until (ns) */
	CK_RV fault_rv;
	_Atomic uint64_t hang_until;	   /* injected: crypto requests wait until (ns) */
	uint8_t group_mkvp[HSMG_MKVP_LEN]; /* the MKVP it started with */
	bool other_key;			   /* the kernel was told another MKVP (the key changed) */
	atomic_uint_least64_t failures, resets;
};

static struct {
	const char *config;
	/* Defaults of every [queue] section, and the process's. */
	char *module, *wrap_label, *state_dir;
	unsigned int max_inflight, speed, sessions, quota, pin_max, timeout_ms, keygen_ms;
	bool check;
} cfg = {
    .max_inflight = 4,
    .speed = 100,
    .sessions = 0, /* as max_inflight */
    .pin_max = HSMG_CARD_PIN_MAX_FAILURES_DEFAULT,
    .timeout_ms = 10000,
    .keygen_ms = 120000,
};

static atomic_bool stopping;

static struct member *mb_of(struct prov_queue *q)
{
	return q->priv;
}

/* ---------------------------------------------------------- configuration */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hsmp11d [--config PATH] [--check] [options]\n"
		"       hsmp11d --ctl PATH --cmd CMD\n"
		"  --config PATH       the queues and their tokens (default " DEFAULT_CONFIG ")\n"
		"  --check             read the configuration, open every token, print each\n"
		"                      queue's MKVP and mechanisms, and exit\n");
	fputs(prov_options_usage, f);
	fputs("  control commands of hsmp11d: token-error AA.DDDD [MS], token-hang AA.DDDD MS,\n"
	      "  token-ok AA.DDDD, mechanisms\n",
	      f);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

__attribute__((format(printf, 2, 3))) static int conf_err(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hsmp11d: %s:%d: ", cfg.config, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

static int set_uint(int line, const char *key, const char *v, unsigned long long min,
		    unsigned long long max, unsigned int *dst)
{
	unsigned long long n;

	if (prov_parse_uint(v, max, &n) || n < min)
		return conf_err(line, "%s wants %llu..%llu (got '%s')", key, min, max, v);
	*dst = (unsigned int)n;
	return 0;
}

/* One "key = value" of a [queue] section (@q) or of the defaults. */
static int conf_key(int line, struct prov_queue *q, const char *key, const char *v)
{
	struct member *m = q ? mb_of(q) : NULL;

	if (!strcmp(key, "module"))
		return set_str(m ? &m->module : &cfg.module, v);
	if (!strcmp(key, "wrap_key"))
		return set_str(m ? &m->wrap_label : &cfg.wrap_label, v);
	if (!strcmp(key, "max_inflight"))
		return set_uint(line, key, v, 1, PROV_MAX_WORKERS,
				m ? &q->max_inflight : &cfg.max_inflight);
	if (!strcmp(key, "speed"))
		return set_uint(line, key, v, 1, 10000, m ? &q->speed : &cfg.speed);
	if (!strcmp(key, "sessions"))
		return set_uint(line, key, v, 1, 64, m ? &m->sessions : &cfg.sessions);
	if (m && !strcmp(key, "token"))
		return set_str(&m->token, v);
	if (m && !strcmp(key, "pin_file"))
		return set_str(&m->pin_file, v);
	if (m && !strcmp(key, "pin_count_file"))
		return set_str(&m->pin_count_file, v);
	if (!m && !strcmp(key, "state_dir"))
		return set_str(&cfg.state_dir, v);
	if (!m && !strcmp(key, "quota"))
		return set_uint(line, key, v, 0, UINT_MAX, &cfg.quota);
	if (!m && !strcmp(key, "pin_max_failures"))
		return set_uint(line, key, v, 1, 1000, &cfg.pin_max);
	if (!m && !strcmp(key, "request_timeout_ms"))
		return set_uint(line, key, v, 100, 600000, &cfg.timeout_ms);
	if (!m && !strcmp(key, "keygen_timeout_ms"))
		return set_uint(line, key, v, 100, 3600000, &cfg.keygen_ms);
	return conf_err(line, "unknown key '%s'%s", key,
			m ? " in a [queue] section" : " before the first [queue] section");
}

static int read_config(void)
{
	struct prov_queue *q = NULL;
	char buf[1024], *l, *eq;
	int line = 0, ret = 0;
	FILE *f = fopen(cfg.config, "re");

	if (!f) {
		fprintf(stderr, "hsmp11d: cannot read %s: %s\n", cfg.config, strerror(errno));
		return -1;
	}
	while (!ret && fgets(buf, sizeof(buf), f)) {
		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			ret = conf_err(line, "line too long");
			break;
		}
		l = trim(buf);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			struct member *m;

			if (!end || end[1] || strncmp(l, "[queue ", 7)) {
				ret = conf_err(line, "a section is [queue AA.DDDD]");
				break;
			}
			*end = '\0';
			q = prov_parse_queue(trim(l + 7));
			m = calloc(1, sizeof(*m));
			if (!q || !m) {
				free(m);
				ret = conf_err(line,
					       "[queue %s]: a queue is AA.DDDD (hex, 0..ff each), "
					       "named once",
					       trim(l + 7));
				break;
			}
			m->line = line;
			pthread_mutex_init(&m->lock, NULL);
			pthread_cond_init(&m->cond, NULL);
			q->priv = m;
			q->max_inflight = 0; /* the defaults below, unless set */
			q->speed = 0;
			continue;
		}
		eq = strchr(l, '=');
		if (!eq) {
			ret = conf_err(line, "expected key = value");
			break;
		}
		*eq = '\0';
		ret = conf_key(line, q, trim(l), trim(eq + 1));
	}
	fclose(f);
	if (ret)
		return -1;
	if (!prov.nqueues) {
		fprintf(stderr, "hsmp11d: %s names no [queue AA.DDDD]\n", cfg.config);
		return -1;
	}
	for (unsigned int i = 0; i < prov.nqueues; i++) {
		struct prov_queue *qq = &prov.queues[i];
		struct member *m = mb_of(qq);

		if (!m->module && cfg.module && set_str(&m->module, cfg.module))
			return -1;
		if (!m->wrap_label && cfg.wrap_label && set_str(&m->wrap_label, cfg.wrap_label))
			return -1;
		if (!qq->max_inflight)
			qq->max_inflight = cfg.max_inflight;
		if (!qq->speed)
			qq->speed = cfg.speed;
		if (!m->sessions)
			m->sessions = cfg.sessions ? cfg.sessions : qq->max_inflight;
		if (!m->module || !m->token || !m->pin_file || !m->wrap_label)
			return conf_err(m->line,
					"[queue %02x.%04x] needs module, token, pin_file "
					"and wrap_key (here or before the first section)",
					qq->adapter, qq->domain);
	}
	return 0;
}

/*
 * The user PIN from @path: a regular file of this user, mode 0600 or
 * stricter, the PIN on its first line.  @pin gets it (the caller wipes).
 */
static int read_pin(const char *path, char pin[PIN_MAX])
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		fprintf(stderr, "hsmp11d: PIN file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "hsmp11d: PIN file %s is not a regular file\n", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"hsmp11d: PIN file %s has mode %04o: others may read it; it must be "
			"0600 (chmod 600 %s)\n",
			path, (unsigned int)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr,
			"hsmp11d: PIN file %s belongs to uid %u, not to uid %u that runs "
			"hsmp11d\n",
			path, (unsigned int)st.st_uid, (unsigned int)geteuid());
		close(fd);
		return -1;
	}
	n = read(fd, pin, PIN_MAX - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "hsmp11d: PIN file %s: %s\n", path, strerror(errno));
		return -1;
	}
	pin[n] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
	if (!pin[0]) {
		fprintf(stderr, "hsmp11d: PIN file %s is empty\n", path);
		return -1;
	}
	return 0;
}

/* The card of @q: its token opened, logged in, its group key found. */
static int open_member(struct prov_queue *q)
{
	struct member *m = mb_of(q);
	char pin[PIN_MAX], err[512], def[PATH_MAX];
	struct hsmg_p11_conf pc = {
	    .module = m->module,
	    .token = m->token,
	    .pin = pin,
	    .wrap_label = m->wrap_label,
	    .sessions = m->sessions,
	    .err = err,
	    .err_len = sizeof(err),
	};
	const char *count = m->pin_count_file;

	if (access(m->module, R_OK)) {
		fprintf(stderr, "hsmp11d: queue %02x.%04x: module %s: %s\n", q->adapter, q->domain,
			m->module, strerror(errno));
		return -1;
	}
	if (read_pin(m->pin_file, pin))
		return -1;
	q->card = hsmg_card_new_p11(&pc, 1, cfg.quota);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (!q->card) {
		fprintf(stderr, "hsmp11d: queue %02x.%04x: %s\n", q->adapter, q->domain, err);
		return -1;
	}
	q->index = 0;
	hsmg_card_mkvp(q->card, q->mkvp);
	memcpy(m->group_mkvp, q->mkvp, HSMG_MKVP_LEN);
	if (!count && cfg.state_dir) {
		snprintf(def, sizeof(def), "%s/hsmp11d-%02x.%04x.pincount", cfg.state_dir,
			 q->adapter, q->domain);
		count = def;
	}
	errno = 0;
	if (hsmg_card_set_pin_policy(q->card, cfg.pin_max, count)) {
		fprintf(stderr,
			"hsmp11d: queue %02x.%04x: %s: not a readable count of failed "
			"logins (%s)\n",
			q->adapter, q->domain, count, errno ? strerror(errno) : "bad contents");
		return -1;
	}
	return 0;
}

/* Queues that name the same group key must hold the same one. */
static int check_groups(void)
{
	for (unsigned int i = 0; i < prov.nqueues; i++) {
		for (unsigned int k = 0; k < i; k++) {
			struct prov_queue *a = &prov.queues[k], *b = &prov.queues[i];

			if (strcmp(mb_of(a)->wrap_label, mb_of(b)->wrap_label) ||
			    !memcmp(a->mkvp, b->mkvp, HSMG_MKVP_LEN))
				continue;
			fprintf(
			    stderr,
			    "hsmp11d: queue %02x.%04x (token %s) and queue %02x.%04x (token %s) "
			    "hold different keys labelled %s (MKVP %02x%02x%02x%02x... and "
			    "%02x%02x%02x%02x...): clone one group key to every member\n",
			    a->adapter, a->domain, mb_of(a)->token, b->adapter, b->domain,
			    mb_of(b)->token, mb_of(a)->wrap_label, a->mkvp[0], a->mkvp[1],
			    a->mkvp[2], a->mkvp[3], b->mkvp[0], b->mkvp[1], b->mkvp[2], b->mkvp[3]);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- serving */

static void set_down(struct prov_queue *q, CK_RV rv, const char *why)
{
	struct member *m = mb_of(q);

	pthread_mutex_lock(&m->lock);
	if (!m->down_rv) {
		m->down_rv = rv ? rv : CKR_DEVICE_ERROR;
		snprintf(m->reason, sizeof(m->reason), "%s", why);
		atomic_fetch_add(&m->failures, 1);
		prov_log("queue %02x.%04x (token %s): failed: %s; its requests go to the other "
			 "members",
			 q->adapter, q->domain, m->token, why);
	}
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void process(struct prov_queue *q, const struct hsmg_be_req *req, const void *payload,
		    void *ans, struct hsmg_card_result *res)
{
	struct member *m = mb_of(q);
	uint64_t until = atomic_load(&m->hang_until), now;
	CK_RV rv;

	/* An injected hang: the request waits as in a vendor call that does
	 * not return (the watchdog sees it). */
	while (req->type == HSMG_BE_REQ_CRYPTO && (now = prov_now_ns()) < until &&
	       !atomic_load(&stopping))
		prov_sleep_us((until - now) / 1000 < 100000 ? (until - now) / 1000 : 100000);
	pthread_mutex_lock(&m->lock);
	if (m->fault_until && prov_now_ns() < m->fault_until)
		hsmg_card_p11_fail(q->card, m->fault_rv);
	pthread_mutex_unlock(&m->lock);
	rv = hsmg_card_p11_health(q->card);
	if (rv == CKR_OK) {
		hsmg_card_process(q->card, q->index, req, payload, ans, HSMG_MAX_MSG_SIZE, res);
		rv = hsmg_card_p11_health(q->card);
		if (rv == CKR_OK)
			return;
		/* This request found the token failed: nothing of it goes out. */
		OPENSSL_cleanse(ans, res->len);
	}
	res->status = HSMG_BE_FAILED;
	res->len = 0;
	res->rv = 0;
	set_down(q, rv, hsmg_rv_name(rv));
}

/*
 * Per queue: the watchdog of its requests (a token call that has not
 * returned within request_timeout_ms fails the token) and the recovery of
 * a failed token (every 200 ms, until it serves again).
 */
static void *member_main(void *arg)
{
	struct prov_queue *q = arg;
	struct member *m = mb_of(q);
	char err[512], last[512] = "";
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct timespec ts;
	int r;

	while (!atomic_load(&stopping)) {
		uint64_t now = prov_now_ns();
		bool down, held;

		for (unsigned int i = 0; i < PROV_MAX_WORKERS; i++) {
			uint64_t since = atomic_load(&q->workers[i].busy_since_ns);
			unsigned int ms = atomic_load(&q->workers[i].busy_class) == HSMG_OP_KEYGEN
					      ? cfg.keygen_ms
					      : cfg.timeout_ms;

			if (since && now - since > (uint64_t)ms * 1000000ULL) {
				char why[128];

				snprintf(why, sizeof(why),
					 "a token call has not returned for %u ms", ms);
				hsmg_card_p11_fail(q->card, CKR_DEVICE_ERROR);
				set_down(q, CKR_DEVICE_ERROR, why);
				break;
			}
		}
		pthread_mutex_lock(&m->lock);
		down = m->down_rv || hsmg_card_p11_health(q->card) != CKR_OK;
		held = m->fault_until && now < m->fault_until;
		if (!down || held) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&m->cond, &m->lock, &ts);
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		pthread_mutex_unlock(&m->lock);
		r = hsmg_card_p11_reset(q->card, mkvp, err, sizeof(err));
		if (!r) {
			pthread_mutex_lock(&m->lock);
			m->down_rv = 0;
			m->fault_until = 0;
			m->reason[0] = '\0';
			pthread_mutex_unlock(&m->lock);
			atomic_fetch_add(&m->resets, 1);
			last[0] = '\0';
			prov_log(
			    "queue %02x.%04x (token %s): serving again (sessions opened, logged "
			    "in, group key checked)",
			    q->adapter, q->domain, m->token);
			/* Back with the group's key: the kernel takes it back. */
			if (m->other_key && !prov_set_mkvp(q, m->group_mkvp))
				m->other_key = false;
			continue;
		}
		/* Another key under the label: the kernel holds the queue in
		 * mismatch, as a card whose master key changed. */
		if (r == 1 && (!m->other_key || memcmp(mkvp, q->mkvp, HSMG_MKVP_LEN)) &&
		    !prov_set_mkvp(q, mkvp))
			m->other_key = true;
		if (strcmp(err, last)) {
			prov_log("queue %02x.%04x (token %s): not back yet: %s", q->adapter,
				 q->domain, m->token, err);
			snprintf(last, sizeof(last), "%s", err);
			pthread_mutex_lock(&m->lock);
			snprintf(m->reason, sizeof(m->reason), "%s", err);
			pthread_mutex_unlock(&m->lock);
		}
		prov_sleep_us(200000);
	}
	return NULL;
}

/* ------------------------------------------------------------- control */

static void status(FILE *f)
{
	unsigned int sessions = 0;

	for (unsigned int i = 0; i < prov.nqueues; i++)
		sessions += hsmg_card_sessions(prov.queues[i].card, -1);
	fprintf(f, ",\"quota\":%u,\"sessions\":%u,\"request_timeout_ms\":%u", cfg.quota, sessions,
		cfg.timeout_ms);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void queue_status(FILE *f, struct prov_queue *q)
{
	struct member *m = mb_of(q);
	struct hsmg_card_cache_stats kc = {0};
	CK_RV rv = hsmg_card_p11_health(q->card);

	hsmg_card_key_cache_stats(q->card, &kc);
	fputs(",\"module\":", f);
	json_str(f, m->module);
	fputs(",\"token\":", f);
	json_str(f, m->token);
	fprintf(f, ",\"health\":\"%s\",\"reason\":", rv == CKR_OK ? "ok" : hsmg_rv_name(rv));
	pthread_mutex_lock(&m->lock);
	json_str(f, m->reason);
	pthread_mutex_unlock(&m->lock);
	fprintf(f,
		",\"failures\":%" PRIu64 ",\"resets\":%" PRIu64 ",\"mechanisms\":%zu"
		",\"key_cache\":{\"capacity\":%u,\"entries\":%u,\"hits\":%" PRIu64
		",\"misses\":%" PRIu64 "}",
		(uint64_t)atomic_load(&m->failures), (uint64_t)atomic_load(&m->resets),
		hsmg_card_mechanisms(q->card, NULL, 0), kc.capacity, kc.entries, kc.hits,
		kc.misses);
}

static struct prov_queue *queue_named(const char *s, const char **rest)
{
	size_t n = strcspn(s, " ");
	char name[8];

	if (n != 7)
		return NULL;
	memcpy(name, s, 7);
	name[7] = '\0';
	*rest = s + n + strspn(s + n, " ");
	for (unsigned int i = 0; i < prov.nqueues; i++) {
		char have[16];

		snprintf(have, sizeof(have), "%02x.%04x", prov.queues[i].adapter,
			 prov.queues[i].domain);
		if (!strcasecmp(have, name))
			return &prov.queues[i];
	}
	return NULL;
}

static char *mechanisms(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fputs("{\"queues\":[", f);
	for (unsigned int i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];
		uint64_t types[128];
		size_t n = hsmg_card_mechanisms(q->card, types, 128);

		fprintf(f, "%s{\"queue\":\"%02x.%04x\",\"mechanisms\":[", i ? "," : "", q->adapter,
			q->domain);
		for (size_t k = 0; k < n && k < 128; k++)
			fprintf(f, "%s\"%s\"", k ? "," : "", hsmg_mech_name(types[k]));
		fputs("]}", f);
	}
	fputs("]}", f);
	fclose(f);
	return out;
}

static char *command(const char *cmd, const char *arg)
{
	unsigned long long ms = 0;
	struct prov_queue *q;
	struct member *m;
	const char *rest = "";

	if (!strcmp(cmd, "mechanisms"))
		return mechanisms();
	if (strcmp(cmd, "token-error") && strcmp(cmd, "token-hang") && strcmp(cmd, "token-ok"))
		return NULL;
	q = queue_named(arg, &rest);
	if (!q)
		return strdup("{\"ok\":false,\"error\":\"name a queue of this process: "
			      "AA.DDDD\"}");
	m = mb_of(q);
	if (*rest && prov_parse_uint(rest, 3600000, &ms))
		return strdup("{\"ok\":false,\"error\":\"the duration is milliseconds\"}");
	if (!strcmp(cmd, "token-hang")) {
		if (!ms)
			return strdup("{\"ok\":false,\"error\":\"usage: token-hang AA.DDDD MS\"}");
		atomic_store(&m->hang_until, prov_now_ns() + ms * 1000000ULL);
		prov_log("fault: queue %02x.%04x: token calls hang for %llu ms", q->adapter,
			 q->domain, ms);
		return strdup("{\"ok\":true}");
	}
	pthread_mutex_lock(&m->lock);
	if (!strcmp(cmd, "token-ok")) {
		m->fault_until = 0;
		atomic_store(&m->hang_until, 0);
	} else {
		m->fault_rv = CKR_DEVICE_ERROR;
		m->fault_until = prov_now_ns() + (ms ? ms : 3600000ULL) * 1000000ULL;
		hsmg_card_p11_fail(q->card, CKR_DEVICE_ERROR);
	}
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	prov_log("fault: queue %02x.%04x: %s", q->adapter, q->domain,
		 strcmp(cmd, "token-ok") ? "the token answers CKR_DEVICE_ERROR" : "faults cleared");
	return strdup("{\"ok\":true}");
}

static const struct prov_ops ops = {
    .name = "hsmp11d",
    .process = process,
    .command = command,
    .status = status,
    .queue_status = queue_status,
};

/* ---------------------------------------------------------------- main */

enum { OPT_CONFIG = 1000, OPT_CHECK, OPT_HELP };

static const struct option opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"check", no_argument, NULL, OPT_CHECK},
    PROV_OPTIONS,
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv)
{
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (o) {
		case OPT_CONFIG:
			cfg.config = optarg;
			break;
		case OPT_CHECK:
			cfg.check = true;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			if (prov_option(o, optarg, &bad) == 1) {
				usage(stderr);
				return -1;
			}
		}
		if (bad) {
			fprintf(stderr, "hsmp11d: %s (got '%s')\n", bad, optarg);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsmp11d: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void print_check(void)
{
	for (unsigned int i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];
		uint64_t types[128];
		size_t n = hsmg_card_mechanisms(q->card, types, 128);

		printf("queue %02x.%04x token %s: MKVP ", q->adapter, q->domain, mb_of(q)->token);
		for (int k = 0; k < HSMG_MKVP_LEN; k++)
			printf("%02x", q->mkvp[k]);
		printf(", %zu mechanisms:", n);
		for (size_t k = 0; k < n && k < 128; k++)
			printf(" %s", hsmg_mech_name(types[k]));
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	unsigned int i;
	int ret;

	prov.ops = &ops;
	cfg.config = DEFAULT_CONFIG;
	cfg.state_dir = strdup("/var/lib/hsmp11d");
	if (!cfg.state_dir || parse_args(argc, argv))
		return 2;
	if (prov.cmd)
		return prov_client();
	if (read_config())
		return 2;
	if (prov_open_log())
		return 1;
	for (i = 0; i < prov.nqueues; i++)
		if (open_member(&prov.queues[i]))
			return 1;
	if (check_groups())
		return 1;
	if (cfg.check) {
		print_check();
		return 0;
	}
	for (i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];
		struct member *m = mb_of(q);

		prov_log("queue %02x.%04x: token %s of %s, group key %s, MKVP "
			 "%02x%02x%02x%02x..., %zu mechanisms, max_inflight %u, speed %u",
			 q->adapter, q->domain, m->token, m->module, m->wrap_label, q->mkvp[0],
			 q->mkvp[1], q->mkvp[2], q->mkvp[3], hsmg_card_mechanisms(q->card, NULL, 0),
			 q->max_inflight, q->speed);
		if (pthread_create(&m->thread, NULL, member_main, q)) {
			prov_log("cannot start the recovery thread");
			return 1;
		}
		m->thread_started = true;
	}
	ret = prov_run();
	atomic_store(&stopping, true);
	for (i = 0; i < prov.nqueues; i++) {
		struct member *m = mb_of(&prov.queues[i]);

		pthread_mutex_lock(&m->lock);
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		if (m->thread_started)
			pthread_join(m->thread, NULL);
	}
	return ret;
}
