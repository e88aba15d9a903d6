// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroupctl token cardpin - set the card-PIN of a VHSM token (see
 * token.h, hsmgroupctl(8)).
 *
 * The user PIN and the card-PIN are read from a file (--pin-file FILE, "-"
 * for stdin: the user PIN on the first line, the card-PIN on the second),
 * from the terminal without echo, or, when stdin is not a terminal, from
 * stdin as two lines: never from the command line.  Both are kept in
 * locked memory and wiped before the tool exits.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cardpin.h"
#include "client.h"
#include "hsmg_msg.h"
#include "config.h"
#include "log.h"
#include "out.h"
#include "pin.h"
#include "store.h"
#include "token.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* Longest line read: a PIN of HSMG_MAX_PIN_LEN, the newline, one byte to
 * see that it is longer. */
#define LINE_MAX_LEN (HSMG_MAX_PIN_LEN + 2)

struct secrets {
	char pin[LINE_MAX_LEN + 1];
	char cardpin[LINE_MAX_LEN + 1];
	char again[LINE_MAX_LEN + 1];
	uint8_t old[SHIM_CARDPIN_MAX];
};

static void token_usage_error(const char *msg)
{
	fprintf(stderr, "hsmgroupctl: %s (see hsmgroupctl --help)\n", msg);
	exit(EXIT_USAGE);
}

/* --group G or --serial SERIAL at argv[*@i] (which then moves past it):
 * true when it was one of them. */
static bool token_arg(int argc, char **argv, int *i, uint32_t *group, const char **serial)
{
	char *end;

	if (!strcmp(argv[*i], "--group") && *i + 1 < argc) {
		errno = 0;
		*group = (uint32_t)strtoul(argv[++*i], &end, 0);
		if (errno || !*group || *end || argv[*i][0] == '-')
			token_usage_error("--group wants a group id");
		return true;
	}
	if (!strcmp(argv[*i], "--serial") && *i + 1 < argc) {
		*serial = argv[++*i];
		return true;
	}
	return false;
}

/* One line of @f into @buf without its newline; -1 at EOF, -2 too long. */
static int read_line(FILE *f, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, (int)size, f))
		return -1;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	else if (n == size - 1 && !feof(f))
		return -2;
	if (n && buf[n - 1] == '\r')
		buf[--n] = 0;
	return 0;
}

/* Prompt on the terminal @tty with echo off. */
static int prompt(FILE *tty, const char *what, char *buf, size_t size)
{
	struct termios old, quiet;
	int fd = fileno(tty), ret;
	bool restore = false;

	fputs(what, stderr);
	fflush(stderr);
	if (!tcgetattr(fd, &old)) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = !tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	ret = read_line(tty, buf, size);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	return ret;
}

static int read_secrets(const char *pin_file, const char *serial, struct secrets *s)
{
	bool interactive = !pin_file && isatty(STDIN_FILENO);
	FILE *f = stdin;
	char what[96];
	int r1, r2, r3 = 0;

	if (pin_file && strcmp(pin_file, "-")) {
		f = fopen(pin_file, "re");
		if (!f) {
			fprintf(stderr, "hsmgroupctl: --pin-file %s: %s\n", pin_file,
				strerror(errno));
			return -1;
		}
	}
	if (interactive) {
		snprintf(what, sizeof(what), "User PIN of token %s: ", serial);
		r1 = prompt(f, what, s->pin, sizeof(s->pin));
		r2 = r1 ? r1
			: prompt(f, "New card-PIN (8 to 16 characters): ", s->cardpin,
				 sizeof(s->cardpin));
		r3 = r2 ? r2 : prompt(f, "Repeat the card-PIN: ", s->again, sizeof(s->again));
	} else {
		r1 = read_line(f, s->pin, sizeof(s->pin));
		r2 = r1 ? r1 : read_line(f, s->cardpin, sizeof(s->cardpin));
	}
	if (f != stdin)
		fclose(f);
	if (r1 == -1 || r2 == -1 || r3 == -1) {
		fprintf(stderr, "hsmgroupctl: token cardpin: %s\n",
			interactive ? "no input"
				    : "want two lines: the user PIN, then the card-PIN");
		return -1;
	}
	if (r1 == -2 || r2 == -2 || r3 == -2) {
		fprintf(stderr, "hsmgroupctl: token cardpin: a PIN longer than %d characters\n",
			HSMG_MAX_PIN_LEN);
		return -1;
	}
	if (interactive && strcmp(s->cardpin, s->again)) {
		fprintf(stderr, "hsmgroupctl: token cardpin: the two card-PINs differ, nothing "
				"changed\n");
		return -1;
	}
	return 0;
}

/* A login of the token's user on its group, as the PKCS#11 module does. */
struct user_login {
	int fd;
	uint32_t group, sid;
	bool card; /* with a card record: the cards hold the token's secret */
};

static void user_logout(struct user_login *ul)
{
	if (ul->fd >= 0)
		close(ul->fd); /* logs out and closes the session */
	ul->fd = -1;
}

/*
 * The user PIN, checked as the PKCS#11 module checks it: a card record by
 * a login on group @group (the cards count a wrong one; the session stays
 * open in @ul), an old PBKDF2 record here.
 */
static CK_RV check_user_pin(const struct shim_config *cfg, struct shim_store *st, uint32_t group,
			    const char *pin, struct user_login *ul)
{
	struct shim_pin_record r;
	struct hsmg_client_creds cr = {pin, (uint32_t)strlen(pin), NULL, 0, NULL, 0};
	uint32_t failures;
	int err;
	CK_RV rv;

	*ul = (struct user_login){.fd = -1, .group = group};
	rv = shim_pin_fetch(cfg, st, CKU_USER, &r, &failures);
	if (rv != CKR_OK || r.version != SHIM_PIN_V2_CARD) {
		OPENSSL_cleanse(&r, sizeof(r));
		return rv != CKR_OK ? rv
				    : shim_pin_verify(cfg, st, CKU_USER, (const CK_UTF8CHAR *)pin,
						      strlen(pin));
	}
	cr.record = r.card;
	cr.record_len = SHIM_PIN_CARD_LEN;
	ul->card = true;
	ul->fd = hsmg_client_open(HSMG_CLIENT_DEVICE, NULL);
	if (ul->fd < 0) {
		fprintf(stderr, "hsmgroupctl: cannot open %s: %s\n", HSMG_CLIENT_DEVICE,
			strerror(-ul->fd));
		return CKR_DEVICE_ERROR;
	}
	err = hsmg_client_session_open(ul->fd, group, HSMG_SESSION_RW, &ul->sid);
	if (!err)
		err = hsmg_client_login(ul->fd, ul->sid, 0, &cr, NULL);
	OPENSSL_cleanse(&r, sizeof(r));
	if (err)
		user_logout(ul);
	switch (err) {
	case 0:
		return CKR_OK;
	case -EACCES:
		return CKR_PIN_INCORRECT;
	case -EKEYEXPIRED:
		return CKR_PIN_LOCKED;
	default:
		fprintf(stderr, "hsmgroupctl: the login on group %u failed: %s\n", group,
			strerror(-err));
		return CKR_DEVICE_ERROR;
	}
}

/* HSMG_MSG_OP_CARDPIN in the user's session: @in to @out (@cap bytes). */
static CK_RV cardpin_call(const struct user_login *ul, uint32_t dir, const void *in, size_t len,
			  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t req[256], resp[256];
	struct hsmg_client_req r = {
	    .group_id = ul->group, .session_id = ul->sid, .op_class = HSMG_OP_KEYGEN};
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	const void *val;
	uint32_t n;
	ssize_t rl;
	CK_RV rv = CKR_DEVICE_ERROR;

	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_CARDPIN, 0);
	hsmg_msg_put(&b, HSMG_TAG_PARAM, &dir, sizeof(dir));
	hsmg_msg_put(&b, HSMG_TAG_DATA, in, (uint32_t)len);
	rl = hsmg_msg_finish(&b);
	r.req = req;
	r.req_len = rl > 0 ? (uint32_t)rl : 0;
	r.resp = resp;
	r.resp_cap = sizeof(resp);
	if (rl > 0 && !hsmg_client_submit(ul->fd, &r) &&
	    !hsmg_msg_parse_type(&v, resp, r.resp_len, HSMG_MSG_RESPONSE)) {
		rv = (CK_RV)v.hdr.rv;
		if (rv == CKR_OK && (!hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, &val, &n) || n > cap))
			rv = CKR_DEVICE_ERROR;
		if (rv == CKR_OK) {
			memcpy(out, val, n);
			*out_len = n;
		}
	}
	OPENSSL_cleanse(req, sizeof(req));
	OPENSSL_cleanse(resp, sizeof(resp));
	return rv;
}

/* The card-PIN of @rec: opened by the cards (version 2) or with the PIN. */
static CK_RV cardpin_open(const struct user_login *ul, const struct shim_cardpin_record *rec,
			  const char *pin, uint8_t *out, size_t *out_len)
{
	uint8_t sealed[SHIM_CARDPIN_SEALED_LEN];

	if (rec->version != SHIM_CARDPIN_V2_CARD)
		return shim_cardpin_open(rec, (const CK_UTF8CHAR *)pin, strlen(pin), out, out_len);
	if (!ul->card)
		return CKR_DEVICE_ERROR;
	shim_cardpin_to_sealed(rec, sealed);
	return cardpin_call(ul, HSMG_CARDPIN_OPEN, sealed, sizeof(sealed), out, SHIM_CARDPIN_MAX,
			    out_len);
}

/* Seal @cardpin: by the cards (a token with card records), else under the
 * user PIN as before (the token's first login moves it to the cards). */
static CK_RV cardpin_seal(const struct shim_config *cfg, const struct user_login *ul,
			  const char *pin, const char *cardpin, size_t len,
			  struct shim_cardpin_record *rec)
{
	uint8_t sealed[SHIM_CARDPIN_SEALED_LEN];
	size_t n = 0;
	CK_RV rv;

	if (!ul->card)
		return shim_cardpin_seal(cfg, (const CK_UTF8CHAR *)pin, strlen(pin),
					 (const uint8_t *)cardpin, len, rec);
	memset(rec, 0, sizeof(*rec));
	rv = cardpin_call(ul, HSMG_CARDPIN_SEAL, cardpin, len, sealed, sizeof(sealed), &n);
	if (rv == CKR_OK && n != sizeof(sealed))
		rv = CKR_DEVICE_ERROR;
	if (rv == CKR_OK)
		shim_cardpin_from_sealed(rec, sealed);
	return rv;
}

static int cmd_cardpin(int argc, char **argv, bool json)
{
	const char *pin_file = NULL, *serial_arg = NULL;
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_cardpin_record rec;
	struct user_login ul = {.fd = -1};
	struct shim_config *cfg = NULL;
	struct shim_store *st = NULL;
	struct secrets *s = NULL;
	uint32_t group = 0, id;
	uint8_t label[32];
	char serial[17], msg[160];
	size_t cplen, oldlen = 0;
	bool replace = false, had = false;
	const char *result;
	int ret = EXIT_RUNTIME, i;
	CK_RV rv;

	for (i = 0; i < argc; i++) {
		if (token_arg(argc, argv, &i, &group, &serial_arg))
			continue;
		if (!strcmp(argv[i], "--pin-file") && i + 1 < argc) {
			pin_file = argv[++i];
		} else if (!strcmp(argv[i], "--replace")) {
			replace = true;
		} else {
			snprintf(msg, sizeof(msg),
				 "token cardpin takes [--group G | --serial SERIAL] "
				 "[--pin-file FILE|-] [--replace], got '%s' (PINs are never "
				 "arguments)",
				 argv[i]);
			token_usage_error(msg);
		}
	}
	if (ctl_group_lookup(group, serial_arg, &id, mkvp))
		return EXIT_RUNTIME;
	for (i = 0; i < 8; i++)
		sprintf(serial + 2 * i, "%02X", mkvp[i]);

	/* Secrets and the config (it holds nothing secret) in locked memory. */
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		fprintf(stderr, "hsmgroupctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (mlock(s, sizeof(*s)))
		fprintf(stderr, "hsmgroupctl: warning: cannot lock the PINs in memory: %s\n",
			strerror(errno));
	madvise(s, sizeof(*s), MADV_DONTDUMP);
	if (read_secrets(pin_file, serial, s))
		goto out;
	cplen = strlen(s->cardpin);
	if (shim_cardpin_check_len(s->cardpin, cplen) != CKR_OK) {
		fprintf(stderr,
			"hsmgroupctl: token cardpin: the card-PIN must be %d to %d characters, "
			"got %zu; nothing changed\n",
			SHIM_CARDPIN_MIN, SHIM_CARDPIN_MAX, cplen);
		ret = EXIT_USAGE;
		goto out;
	}

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "hsmgroupctl: out of memory\n");
		goto out;
	}
	shim_config_load(cfg);
	shim_store_set_timeout(cfg->store_timeout_ms);
	shim_log_stderr("hsmgroupctl"); /* the store's reasons */
	rv = shim_store_open(shim_config_token_store(cfg, serial), mkvp, &st);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmgroupctl: token %s: cannot open its store %s\n", serial,
			shim_config_token_store(cfg, serial));
		goto out;
	}
	if (!shim_store_initialized(st, label)) {
		fprintf(stderr,
			"hsmgroupctl: token %s (group %u) is not initialized (C_InitToken, then "
			"C_InitPIN first)\n",
			serial, id);
		goto out;
	}
	rv = check_user_pin(cfg, st, id, s->pin, &ul);
	switch (rv) {
	case CKR_OK:
		break;
	case CKR_PIN_INCORRECT:
		fprintf(stderr,
			"hsmgroupctl: token %s: wrong user PIN (it counts toward the lockout), "
			"nothing changed\n",
			serial);
		goto out;
	case CKR_PIN_LOCKED:
		fprintf(stderr, "hsmgroupctl: token %s: the user PIN is locked\n", serial);
		goto out;
	case CKR_USER_PIN_NOT_INITIALIZED:
		fprintf(stderr, "hsmgroupctl: token %s has no user PIN yet (C_InitPIN first)\n",
			serial);
		goto out;
	default:
		fprintf(stderr, "hsmgroupctl: token %s: cannot check the user PIN (0x%lx)\n",
			serial, (unsigned long)rv);
		goto out;
	}

	/* A card-PIN already set: keys are bound to it. */
	if (shim_store_get_cardpin(st, &rec) == CKR_OK) {
		had = cardpin_open(&ul, &rec, s->pin, s->old, &oldlen) == CKR_OK;
		if (had && oldlen == cplen && !CRYPTO_memcmp(s->old, s->cardpin, cplen)) {
			result = "unchanged";
			goto done;
		}
		if (had && !replace) {
			fprintf(stderr,
				"hsmgroupctl: token %s already has another card-PIN; keys made in "
				"VHSM mode are bound to it and become unusable when it changes. "
				"Nothing changed (use --replace to change it anyway)\n",
				serial);
			goto out;
		}
	}
	rv = cardpin_seal(cfg, &ul, s->pin, s->cardpin, cplen, &rec);
	if (rv == CKR_OK)
		rv = shim_store_put_cardpin(st, &rec);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmgroupctl: token %s: storing the card-PIN failed (0x%lx)\n",
			serial, (unsigned long)rv);
		goto out;
	}
	result = had ? "replaced" : "set";
done:
	if (json) {
		j_obj(NULL);
		j_u64("group", id);
		j_str("serial", serial);
		j_str("cardpin", result);
		j_str("session_mode",
		      shim_config_mode_name(shim_config_session_flags(cfg, serial)));
		j_end();
		j_newline();
	} else {
		printf("token %s (group %u): card-PIN %s; user logins in VHSM mode use it from "
		       "the next login\n",
		       serial, id, result);
		if (!(shim_config_session_flags(cfg, serial) & HSMG_SESSION_VHSM))
			printf("note: this token's session_mode is %s, not vhsm (see "
			       "hsmgroup-pkcs11(7))\n",
			       shim_config_mode_name(shim_config_session_flags(cfg, serial)));
	}
	ret = 0;
out:
	user_logout(&ul);
	OPENSSL_cleanse(&rec, sizeof(rec));
	shim_store_close(st);
	free(cfg);
	OPENSSL_cleanse(s, sizeof(*s));
	munlock(s, sizeof(*s));
	munmap(s, sizeof(*s));
	return ret;
}

/*
 * One path of a token store: its mode and group, and whether it is for
 * group hsmgroup only (nothing for others; the group hsmgroup, when
 * @hgid is known).  Prints one line (or a JSON object); false on a
 * warning.
 */
static bool perm_line(const char *path, gid_t hgid, bool have_hgid, bool json)
{
	struct group *g;
	struct stat st;
	char grp[64];
	bool ok;

	if (stat(path, &st))
		return true; /* -wal/-shm come and go */
	g = getgrgid(st.st_gid);
	snprintf(grp, sizeof(grp), "%s", g ? g->gr_name : "?");
	ok = !(st.st_mode & 0007) && (!have_hgid || st.st_gid == hgid);
	if (json) {
		j_obj(NULL);
		j_str("path", path);
		j_u64("mode", st.st_mode & 07777);
		j_str("group", grp);
		j_bool("ok", ok);
		j_end();
	} else {
		printf("%04o %-10s %s%s\n", (unsigned int)(st.st_mode & 07777), grp, path,
		       ok ? "" : "   <- open to users outside group hsmgroup");
	}
	if (!ok)
		fprintf(stderr,
			"hsmgroupctl: warning: %s is %s: a user who can read a token store can "
			"use its keys only with the PIN, but should not read it at all "
			"(chmod o-rwx; chgrp hsmgroup)\n",
			path, st.st_mode & 0007 ? "open to other users" : "not in group hsmgroup");
	return ok;
}

/* token check: the modes of a token's store. */
static int cmd_check(int argc, char **argv, bool json)
{
	const char *serial_arg = NULL, *sfx[] = {"", "-wal", "-shm"};
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_config *cfg;
	char path[PATH_MAX], msg[160];
	uint32_t group = 0, id;
	struct group *hg;
	bool ok = true;
	size_t k;
	int i, n;

	for (i = 0; i < argc; i++) {
		if (!token_arg(argc, argv, &i, &group, &serial_arg)) {
			snprintf(msg, sizeof(msg),
				 "token check takes [--group G | --serial SERIAL], got '%s'",
				 argv[i]);
			token_usage_error(msg);
		}
	}
	if (ctl_group_lookup(group, serial_arg, &id, mkvp))
		return EXIT_RUNTIME;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "hsmgroupctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	shim_config_load(cfg);
	for (i = 0; i < 8; i++)
		sprintf(msg + 2 * i, "%02X", mkvp[i]);
	if (strncmp(shim_config_token_store(cfg, msg), "postgres", 8) == 0) {
		/* Nothing on this host's disk: the database's grants decide. */
		if (json) {
			j_obj(NULL);
			j_u64("group", id);
			j_str("store", "postgresql");
			j_bool("ok", true);
			j_end();
			j_newline();
		} else {
			printf(
			    "token %s is kept in PostgreSQL: no file here to check; who may read "
			    "it is the database's grants (docs/multihost.md)\n",
			    msg);
		}
		free(cfg);
		return 0;
	}
	hg = getgrnam("hsmgroup");
	if (!hg)
		fprintf(stderr, "hsmgroupctl: warning: there is no group hsmgroup\n");
	if (json) {
		j_obj(NULL);
		j_u64("group", id);
		j_arr("paths");
	}
	ok = perm_line(cfg->token_dir, hg ? hg->gr_gid : 0, hg != NULL, json);
	for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
		n = snprintf(path, sizeof(path), "%s/token-", cfg->token_dir);
		for (i = 0; i < HSMG_MKVP_LEN && n > 0 && (size_t)n < sizeof(path) - 3; i++)
			n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", mkvp[i]);
		snprintf(path + n, sizeof(path) - (size_t)n, ".db%s", sfx[k]);
		if (!perm_line(path, hg ? hg->gr_gid : 0, hg != NULL, json))
			ok = false;
	}
	if (json) {
		j_end();
		j_bool("ok", ok);
		j_end();
		j_newline();
	}
	free(cfg);
	return ok ? 0 : EXIT_RUNTIME;
}

int cmd_token(int argc, char **argv, bool json)
{
	if (argc > 0 && !strcmp(argv[0], "cardpin"))
		return cmd_cardpin(argc - 1, argv + 1, json);
	if (argc > 0 && !strcmp(argv[0], "check"))
		return cmd_check(argc - 1, argv + 1, json);
	if (argc > 0 && !strcmp(argv[0], "migrate"))
		return cmd_migrate(argc - 1, argv + 1, json);
	token_usage_error(argc ? "unknown token command (cardpin, check, migrate)"
			       : "token needs a command (cardpin, check, migrate)");
	return EXIT_USAGE;
}
