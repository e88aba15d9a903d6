// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroupctl token migrate - copy a token from one store to another
 * (SQLite to PostgreSQL and back; see token.h, hsmgroupctl(8),
 * docs/multihost.md).  Everything the token is (label, PIN records and
 * their failure counts, the sealed card-PIN, the other values, every
 * object with its id) is read from the source in one transaction, written
 * to the destination in one transaction (which must not hold this token
 * yet), then read back and compared row by row.  The source is left as it
 * was.  Nothing is decrypted: blobs and records are copied as they are.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "out.h"
#include "store.h"
#include "token.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static int usage(const char *msg)
{
	fprintf(stderr, "hsmgroupctl: token migrate: %s (see hsmgroupctl --help)\n", msg);
	return EXIT_USAGE;
}

static bool parse_mkvp(const char *hex, uint8_t mkvp[HSMG_MKVP_LEN])
{
	if (strlen(hex) != 2 * HSMG_MKVP_LEN)
		return false;
	for (int i = 0; i < HSMG_MKVP_LEN; i++) {
		char two[3] = {hex[2 * i], hex[2 * i + 1], 0};

		if (!isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]))
			return false;
		mkvp[i] = (uint8_t)strtoul(two, NULL, 16);
	}
	return true;
}

/* "sqlite" alone: the SQLite store in token_dir. */
static const char *location(const struct shim_config *c, const char *loc)
{
	return strcmp(loc, "sqlite") ? loc : c->token_dir;
}

int cmd_migrate(int argc, char **argv, bool json)
{
	const char *from = NULL, *to = NULL, *serial_arg = NULL, *hex = NULL;
	struct shim_store_image a = {0}, b = {0};
	struct shim_store *src = NULL, *dst = NULL;
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_config *cfg;
	uint32_t group = 0, id = 0;
	char serial[17], why[160];
	int ret = EXIT_RUNTIME, i;
	CK_RV rv;

	for (i = 0; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--from"))
			from = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--to"))
			to = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--mkvp"))
			hex = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--serial"))
			serial_arg = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--group"))
			group = (uint32_t)strtoul(argv[++i], NULL, 0);
		else
			return usage("takes --to STORE [--from STORE] [--group G | --serial SERIAL "
				     "| --mkvp HEX]");
	}
	if (!to)
		return usage("--to STORE is missing (sqlite, sqlite:DIR, postgresql://...)");
	if (hex) {
		if (!parse_mkvp(hex, mkvp))
			return usage("--mkvp wants the group's MKVP, 64 hex digits");
	} else if (ctl_group_lookup(group, serial_arg, &id, mkvp)) {
		return EXIT_RUNTIME;
	}
	for (i = 0; i < 8; i++)
		sprintf(serial + 2 * i, "%02X", mkvp[i]);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "hsmgroupctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	shim_config_load(cfg);
	shim_store_set_timeout(cfg->store_timeout_ms);
	shim_log_stderr("hsmgroupctl"); /* the stores' reasons */
	from = from ? location(cfg, from) : shim_config_token_store(cfg, serial);
	to = location(cfg, to);
	if (!strcmp(from, to)) {
		fprintf(stderr, "hsmgroupctl: token migrate: --from and --to are the same store\n");
		ret = EXIT_USAGE;
		goto out;
	}
	if (shim_store_open(from, mkvp, &src) != CKR_OK) {
		fprintf(stderr, "hsmgroupctl: token %s: cannot open the store %s\n", serial, from);
		goto out;
	}
	rv = shim_store_export(src, &a);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmgroupctl: token %s: reading it from %s failed (0x%lx)\n",
			serial, from, (unsigned long)rv);
		goto out;
	}
	if (!a.npins) {
		fprintf(stderr, "hsmgroupctl: token %s is not initialized in %s: nothing to copy\n",
			serial, from);
		goto out;
	}
	if (shim_store_open(to, mkvp, &dst) != CKR_OK) {
		fprintf(stderr, "hsmgroupctl: token %s: cannot open the store %s\n", serial, to);
		goto out;
	}
	rv = shim_store_import(dst, &a);
	if (rv == CKR_TOKEN_WRITE_PROTECTED) {
		fprintf(stderr,
			"hsmgroupctl: token %s: %s already holds this token; nothing copied (its "
			"objects would mix with the copy's)\n",
			serial, to);
		goto out;
	}
	if (rv != CKR_OK) {
		fprintf(stderr,
			"hsmgroupctl: token %s: writing it to %s failed (0x%lx); nothing "
			"copied\n",
			serial, to, (unsigned long)rv);
		goto out;
	}
	rv = shim_store_export(dst, &b);
	if (rv != CKR_OK || !shim_store_image_same(&a, &b, why, sizeof(why))) {
		fprintf(stderr, "hsmgroupctl: token %s: the copy in %s does not match: %s\n",
			serial, to, rv == CKR_OK ? why : "cannot read it back");
		goto out;
	}
	if (json) {
		j_obj(NULL);
		j_str("serial", serial);
		j_u64("values", a.nmeta);
		j_u64("pins", a.npins);
		j_u64("objects", a.nobjs);
		j_bool("verified", true);
		j_end();
		j_newline();
	} else {
		printf("token %s: copied %zu values, %zu PIN records and %zu objects; read back "
		       "and equal, row by row\n",
		       serial, a.nmeta, a.npins, a.nobjs);
		printf("to serve it from there: token_store = %s (pkcs11.conf, [token %s] for this "
		       "token only)\n",
		       strcmp(to, cfg->token_dir) ? to : "sqlite", serial);
	}
	ret = 0;
out:
	shim_store_image_free(&a);
	shim_store_image_free(&b);
	shim_store_close(src);
	shim_store_close(dst);
	free(cfg);
	return ret;
}
