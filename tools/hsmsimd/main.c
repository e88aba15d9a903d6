// SPDX-License-Identifier: GPL-2.0
/*
 * hsmsimd - emulated HSM coprocessor serving one or more hsmgroup queues.
 *
 * One process: one master key (--mk-file), one card object (lib/card, with the
 * session table) for every --queue, served by the provider daemon
 * (tools/provider: per queue a /dev/hsmgroup-backend file and
 * min(max_inflight, 64) workers, the control socket, faults).  Its own
 * control commands: zeroise, import-mk PATH.  See hsmsimd --help.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "provider.h"

static struct {
	const char *mk_file;
	unsigned int max_inflight, speed, quota, key_cache, pin_max;
	const char *pin_count_file;
} cfg = {.max_inflight = 4,
	 .speed = 100,
	 .key_cache = HSMG_CARD_KEY_CACHE_DEFAULT,
	 .pin_max = HSMG_CARD_PIN_MAX_FAILURES_DEFAULT};

static struct hsmg_card *card;
/* Readers: requests on the card; writer: a master key change (control). */
static pthread_rwlock_t card_rw = PTHREAD_RWLOCK_INITIALIZER;
static bool zeroised; /* under card_rw: the card has no master key */

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: hsmsimd --queue AA.DDDD [--queue ...] --mk-file PATH [options]\n"
	       "       hsmsimd --ctl PATH --cmd CMD\n"
	       "  --queue AA.DDDD     serve adapter AA, domain DDDD (hex, each 0..ff); repeatable\n"
	       "  --mk-file PATH      32-byte master key; created (0600, random) when missing\n"
	       "  --max-inflight N    requests served at once per queue (default 4)\n"
	       "  --speed N           relative speed announced, 1..10000 (default 100);\n"
	       "                      service times are scaled by 100/N\n"
	       "  --quota N           session quota per queue (0 = unlimited)\n"
	       "  --key-cache N       parsed private keys kept, 0..4096 (default 64; 0 = off)\n"
	       "  --pin-max-failures N  failed logins of a token's user or SO before the card\n"
	       "                      locks that PIN, 1..1000 (default 10)\n"
	       "  --pin-count-file PATH  where the card keeps its count of failed logins\n"
	       "                      across restarts (default: MK-FILE.AA.DDDD.pincount,\n"
	       "                      AA.DDDD the first --queue)\n");
	fputs(prov_options_usage, f);
	fputs("  control commands of hsmsimd: zeroise, import-mk PATH\n", f);
}

/* ------------------------------------------------------------ master key */

static int load_mk(const char *path, uint8_t mk[HSMG_CARD_MK_LEN], bool *created)
{
	struct stat st;
	ssize_t n;
	int fd;

	*created = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (RAND_priv_bytes(mk, HSMG_CARD_MK_LEN) != 1 ||
			    write(fd, mk, HSMG_CARD_MK_LEN) != HSMG_CARD_MK_LEN || fsync(fd)) {
				close(fd);
				unlink(path);
				OPENSSL_cleanse(mk, HSMG_CARD_MK_LEN);
				fprintf(stderr, "hsmsimd: cannot write %s\n", path);
				return -1;
			}
			close(fd);
			*created = true;
			return 0;
		}
		if (errno != EEXIST) {
			fprintf(stderr, "hsmsimd: cannot create %s: %s\n", path, strerror(errno));
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC); /* lost a creation race */
	}
	if (fd < 0) {
		fprintf(stderr, "hsmsimd: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || st.st_size != HSMG_CARD_MK_LEN) {
		close(fd);
		fprintf(stderr, "hsmsimd: %s is not a %d-byte master key file\n", path,
			HSMG_CARD_MK_LEN);
		return -1;
	}
	n = read(fd, mk, HSMG_CARD_MK_LEN);
	close(fd);
	if (n != HSMG_CARD_MK_LEN) {
		OPENSSL_cleanse(mk, HSMG_CARD_MK_LEN);
		fprintf(stderr, "hsmsimd: short read of %s\n", path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- serving */

static void process(struct prov_queue *q, const struct hsmg_be_req *req, const void *payload,
		    void *ans, struct hsmg_card_result *res)
{
	pthread_rwlock_rdlock(&card_rw);
	if (zeroised && (req->type == HSMG_BE_REQ_CRYPTO || req->type == HSMG_BE_REQ_LOGIN))
		/* No master key: not done; the kernel sends it elsewhere. */
		res->status = HSMG_BE_RETRY;
	else
		hsmg_card_process(card, q->index, req, payload, ans, HSMG_MAX_MSG_SIZE, res);
	pthread_rwlock_unlock(&card_rw);
}

static void status(FILE *f)
{
	struct hsmg_card_cache_stats kc = {0};

	hsmg_card_key_cache_stats(card, &kc);
	fprintf(f,
		",\"quota\":%u,\"sessions\":%u,\"key_cache\":{\"capacity\":%u,\"entries\":%u,"
		"\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 "}",
		hsmg_card_quota(card), hsmg_card_sessions(card, -1), kc.capacity, kc.entries,
		kc.hits, kc.misses);
}

/* Tell the kernel the MKVP of every attached queue; the states in @f. */
static void announce_mkvp(const uint8_t mkvp[HSMG_MKVP_LEN], FILE *f)
{
	unsigned int i;

	for (i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];

		if (!q->attached)
			continue;
		fprintf(f, "%s\"%02x.%04x\":\"%s\"", i ? "," : "", q->adapter, q->domain,
			prov_set_mkvp(q, mkvp) ? "error" : prov_state_name(q->state));
	}
}

/*
 * zeroise: the kernel first (its requests go elsewhere), then the card
 * forgets its master key.  import-mk PATH: the card takes the 32-byte key
 * of PATH, then the kernel learns the new MKVP (back in the group when it is
 * the group's key).
 */
static char *ctl_master_key(const char *cmd, const char *arg)
{
	static const uint8_t zero[HSMG_MKVP_LEN];
	uint8_t mk[HSMG_CARD_MK_LEN], mkvp[HSMG_MKVP_LEN];
	char *out = NULL;
	size_t len = 0;
	struct stat st;
	FILE *f;
	int fd, ret;

	if (!strcmp(cmd, "zeroise")) {
		f = open_memstream(&out, &len);
		if (!f)
			return NULL;
		fputs("{\"ok\":true,\"states\":{", f);
		announce_mkvp(zero, f);
		pthread_rwlock_wrlock(&card_rw);
		ret = hsmg_card_set_mk(card, NULL);
		zeroised = true;
		pthread_rwlock_unlock(&card_rw);
		prov_log("master key zeroised (control socket)%s", ret ? ": failed" : "");
		fputs("}}", f);
		fclose(f);
		return out;
	}
	if (!*arg)
		return strdup("{\"ok\":false,\"error\":\"usage: import-mk PATH\"}");
	fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size != HSMG_CARD_MK_LEN ||
	    read(fd, mk, sizeof(mk)) != HSMG_CARD_MK_LEN) {
		if (fd >= 0)
			close(fd);
		OPENSSL_cleanse(mk, sizeof(mk));
		return strdup(
		    "{\"ok\":false,\"error\":\"not a readable 32-byte master key file\"}");
	}
	close(fd);
	pthread_rwlock_wrlock(&card_rw);
	ret = hsmg_card_set_mk(card, mk);
	if (!ret)
		zeroised = false;
	hsmg_card_mkvp(card, mkvp);
	pthread_rwlock_unlock(&card_rw);
	OPENSSL_cleanse(mk, sizeof(mk));
	if (ret)
		return strdup("{\"ok\":false,\"error\":\"key derivation failed\"}");
	prov_log("master key imported from %s: MKVP %02x%02x%02x%02x...", arg, mkvp[0], mkvp[1],
		 mkvp[2], mkvp[3]);
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"ok\":true,\"mkvp\":\"%02x%02x%02x%02x%02x%02x%02x%02x\",\"states\":{",
		mkvp[0], mkvp[1], mkvp[2], mkvp[3], mkvp[4], mkvp[5], mkvp[6], mkvp[7]);
	announce_mkvp(mkvp, f);
	fputs("}}", f);
	fclose(f);
	return out;
}

static char *command(const char *cmd, const char *arg)
{
	if (!strcmp(cmd, "zeroise") || !strcmp(cmd, "import-mk"))
		return ctl_master_key(cmd, arg);
	return NULL;
}

static const struct prov_ops ops = {
    .name = "hsmsimd",
    .process = process,
    .command = command,
    .status = status,
};

/* ---------------------------------------------------------------- main */

/* The card's count of failed logins: beside its master key, 0600, one
 * file per card (named by its first queue: cards may share a key file). */
static int set_pin_policy(void)
{
	char def[4096];
	const char *path = cfg.pin_count_file;

	if (!path) {
		if (snprintf(def, sizeof(def), "%s.%02x.%04x.pincount", cfg.mk_file,
			     prov.queues[0].adapter, prov.queues[0].domain) >= (int)sizeof(def)) {
			fprintf(stderr, "hsmsimd: --mk-file path too long\n");
			return -1;
		}
		path = def;
	}
	errno = 0;
	if (hsmg_card_set_pin_policy(card, cfg.pin_max, path)) {
		fprintf(stderr, "hsmsimd: %s: not a readable count of failed logins (%s)\n", path,
			errno ? strerror(errno) : "bad contents");
		return -1;
	}
	return 0;
}

enum {
	OPT_QUEUE = 1000,
	OPT_MK,
	OPT_INFLIGHT,
	OPT_SPEED,
	OPT_QUOTA,
	OPT_KEYCACHE,
	OPT_PINMAX,
	OPT_PINFILE,
	OPT_HELP,
};

static const struct option opts[] = {
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"mk-file", required_argument, NULL, OPT_MK},
    {"max-inflight", required_argument, NULL, OPT_INFLIGHT},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"quota", required_argument, NULL, OPT_QUOTA},
    {"key-cache", required_argument, NULL, OPT_KEYCACHE},
    {"pin-max-failures", required_argument, NULL, OPT_PINMAX},
    {"pin-count-file", required_argument, NULL, OPT_PINFILE},
    PROV_OPTIONS,
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv)
{
	unsigned long long v = 0;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (o) {
		case OPT_QUEUE:
			if (!prov_parse_queue(optarg))
				bad = "--queue wants AA.DDDD (hex, 0..ff each, no duplicates)";
			break;
		case OPT_MK:
			cfg.mk_file = optarg;
			break;
		case OPT_INFLIGHT:
			if (prov_parse_uint(optarg, HSMG_MAX_INFLIGHT, &v) || !v)
				bad = "--max-inflight wants 1..1024";
			cfg.max_inflight = (unsigned int)v;
			break;
		case OPT_SPEED:
			if (prov_parse_uint(optarg, 10000, &v) || !v)
				bad = "--speed wants 1..10000";
			cfg.speed = (unsigned int)v;
			break;
		case OPT_QUOTA:
			if (prov_parse_uint(optarg, UINT_MAX, &v))
				bad = "--quota wants a number";
			cfg.quota = (unsigned int)v;
			break;
		case OPT_KEYCACHE:
			if (prov_parse_uint(optarg, HSMG_CARD_KEY_CACHE_MAX, &v))
				bad = "--key-cache wants 0..4096";
			cfg.key_cache = (unsigned int)v;
			break;
		case OPT_PINMAX:
			if (prov_parse_uint(optarg, 1000, &v) || !v)
				bad = "--pin-max-failures wants 1..1000";
			cfg.pin_max = (unsigned int)v;
			break;
		case OPT_PINFILE:
			cfg.pin_count_file = optarg;
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
			fprintf(stderr, "hsmsimd: %s (got '%s')\n", bad, optarg);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsmsimd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t mk[HSMG_CARD_MK_LEN], mkvp[HSMG_MKVP_LEN];
	const char *mk_file;
	unsigned int i;
	bool created;

	prov.ops = &ops;
	if (parse_args(argc, argv))
		return 2;
	if (prov.cmd)
		return prov_client();
	if (!prov.nqueues || !cfg.mk_file) {
		fprintf(stderr, "hsmsimd: need at least one --queue and --mk-file\n");
		usage(stderr);
		return 2;
	}
	mk_file = cfg.mk_file;
	if (prov_open_log())
		return 1;
	if (load_mk(mk_file, mk, &created))
		return 1;
	card = hsmg_card_new(mk, prov.nqueues, cfg.quota);
	OPENSSL_cleanse(mk, sizeof(mk));
	if (card && hsmg_card_set_key_cache(card, cfg.key_cache)) {
		hsmg_card_free(card);
		card = NULL;
	}
	if (!card) {
		fprintf(stderr, "hsmsimd: cannot set up the card\n");
		return 1;
	}
	if (set_pin_policy())
		return 1;
	hsmg_card_mkvp(card, mkvp);
	for (i = 0; i < prov.nqueues; i++) {
		struct prov_queue *q = &prov.queues[i];

		q->card = card;
		q->index = i;
		q->max_inflight = cfg.max_inflight;
		q->speed = cfg.speed;
		memcpy(q->mkvp, mkvp, HSMG_MKVP_LEN);
	}
	prov_log("start: %u queue(s), master key %s %s, MKVP %02x%02x%02x%02x..., max_inflight %u, "
		 "speed %u, quota %u, key cache %u%s",
		 prov.nqueues, created ? "created in" : "from", cfg.mk_file, mkvp[0], mkvp[1],
		 mkvp[2], mkvp[3], cfg.max_inflight, cfg.speed, cfg.quota, cfg.key_cache,
		 prov.standby ? ", standby" : "");
	return prov_run();
}
