// SPDX-License-Identifier: GPL-2.0
/*
 * config - defaults, /etc/hsmgroup/pkcs11.conf, HSMGROUP_* (see config.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/hsmgroup.h>

#include "config.h"
#include "log.h"
#include "pin.h"
#include "store.h"

enum key_kind { K_PATH, K_UINT, K_LEVEL, K_MODE, K_STORE, K_LOOKUP };

struct key_desc {
	const char *name;
	enum key_kind kind;
	size_t off;
	unsigned int min, max; /* K_UINT */
};

#define OFF(f) offsetof(struct shim_config, f)

static const struct key_desc keys[] = {
    {"token_dir", K_PATH, OFF(token_dir), 0, 0},
    {"device", K_PATH, OFF(device), 0, 0},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0},
    {"pin_min_len", K_UINT, OFF(pin_min_len), 1, HSMG_MAX_PIN_LEN},
    {"pin_max_len", K_UINT, OFF(pin_max_len), 1, HSMG_MAX_PIN_LEN},
    {"pin_max_failures", K_UINT, OFF(pin_max_failures), 1, 1000},
    {"pin_iterations", K_UINT, OFF(pin_iterations), 1000, SHIM_PIN_MAX_ITERATIONS},
    {"session_mode", K_MODE, OFF(session_flags), 0, 0},
    {"timeout_ms", K_UINT, OFF(timeout_ms), 0, 3600000},
    {"local_verify", K_UINT, OFF(local_verify), 0, 1},
    {"token_store", K_STORE, OFF(token_store), 0, 0},
    {"store_timeout_ms", K_UINT, OFF(store_timeout_ms), 100, 600000},
    {"store_lookup", K_LOOKUP, OFF(store_lookup_notify), 0, 0},
};

static void set_key(struct shim_config *c, const struct key_desc *k, const char *val,
		    const char *where)
{
	char *p = (char *)c + k->off;
	unsigned long v;
	char *end;
	int lvl;

	switch (k->kind) {
	case K_PATH:
		if (!*val || strlen(val) >= PATH_MAX) {
			shim_warn("%s: %s: bad path, ignored", where, k->name);
			return;
		}
		strcpy(p, val);
		return;
	case K_UINT:
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || end == val || *end || v < k->min || v > k->max) {
			shim_warn("%s: %s: want %u..%u, ignored", where, k->name, k->min, k->max);
			return;
		}
		*(unsigned int *)p = (unsigned int)v;
		return;
	case K_LEVEL:
		lvl = shim_log_parse_level(val);
		if (lvl < 0) {
			shim_warn("%s: %s: unknown level, ignored", where, k->name);
			return;
		}
		*(int *)p = lvl;
		return;
	case K_STORE:
		if (strlen(val) >= SHIM_STORE_LOC_MAX) {
			shim_warn("%s: %s: longer than %d, ignored", where, k->name,
				  SHIM_STORE_LOC_MAX - 1);
			return;
		}
		/* "sqlite" alone: the default, the SQLite store in token_dir. */
		strcpy(p, strcmp(val, "sqlite") ? val : "");
		return;
	case K_LOOKUP:
		if (!strcmp(val, "strict") || !strcmp(val, "notify"))
			*(bool *)p = !strcmp(val, "notify");
		else
			shim_warn("%s: %s: want strict or notify, ignored", where, k->name);
		return;
	case K_MODE:
		if (shim_config_parse_mode(val, (uint32_t *)p))
			shim_warn("%s: %s: want none, strict, vhsm or strict,vhsm, ignored", where,
				  k->name);
		return;
	}
}

int shim_config_parse_mode(const char *val, uint32_t *flags)
{
	uint32_t f = 0;
	const char *p = val, *e;
	size_t n;

	if (!strcasecmp(val, "none")) {
		*flags = 0;
		return 0;
	}
	/* "strict", "vhsm", or both separated by ',', '+' or blanks. */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, ",+ \t");
		n = (size_t)(e - p);
		if (n == 6 && !strncasecmp(p, "strict", 6))
			f |= HSMG_SESSION_STRICT;
		else if (n == 4 && !strncasecmp(p, "vhsm", 4))
			f |= HSMG_SESSION_VHSM;
		else
			return -1;
		while (*e == ' ' || *e == '\t')
			e++;
		if (!*e)
			break;
		p = *e == ',' || *e == '+' ? e + 1 : e;
	}
	*flags = f;
	return 0;
}

const char *shim_config_mode_name(uint32_t flags)
{
	switch (flags & (HSMG_SESSION_STRICT | HSMG_SESSION_VHSM)) {
	case HSMG_SESSION_STRICT:
		return "strict";
	case HSMG_SESSION_VHSM:
		return "vhsm";
	case HSMG_SESSION_STRICT | HSMG_SESSION_VHSM:
		return "strict,vhsm";
	default:
		return "none";
	}
}

static struct shim_token_config ignored_tok;

static void set_token_key(struct shim_token_config *t, const struct key_desc *k, const char *val,
			  const char *where)
{
	static struct shim_config tmp;

	if (k->kind == K_STORE) {
		/* A value set_key() refuses leaves the marker. */
		strcpy(tmp.token_store, "\n");
		set_key(&tmp, k, val, where);
		if (strcmp(tmp.token_store, "\n")) {
			strcpy(t->store, tmp.token_store);
			t->has_store = true;
		}
		return;
	}
	tmp.session_flags = t->session_flags;
	set_key(&tmp, k, val, where);
	t->session_flags = tmp.session_flags;
}

const char *shim_config_token_store(const struct shim_config *c, const char *serial)
{
	const char *loc = c->token_store;
	unsigned int i;

	if (!c->env_token_store)
		for (i = 0; i < c->ntokens; i++)
			if (!strcasecmp(c->tokens[i].serial, serial) && c->tokens[i].has_store)
				loc = c->tokens[i].store;
	return *loc ? loc : c->token_dir;
}

uint32_t shim_config_session_flags(const struct shim_config *c, const char *serial)
{
	unsigned int i;

	if (!c->env_session_mode)
		for (i = 0; i < c->ntokens; i++)
			if (!strcasecmp(c->tokens[i].serial, serial))
				return c->tokens[i].session_flags;
	return c->session_flags;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static void load_file(struct shim_config *c, const char *path)
{
	char line[PATH_MAX + 64], *name, *val, *eq;
	unsigned int lineno = 0;
	struct shim_token_config *tok = NULL;
	size_t i;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			shim_warn("config %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		name = trim(line);
		if (!*name || *name == '#')
			continue;
		if (*name == '[') {
			char serial[17];
			size_t j;

			tok = NULL;
			if (sscanf(name, "[token %16[0-9A-Fa-f]]", serial) != 1 ||
			    strlen(serial) != 16) {
				shim_warn("config %s:%u: want [token SERIAL], section ignored",
					  path, lineno);
				tok = &ignored_tok;
				continue;
			}
			for (j = 0; j < 16; j++)
				serial[j] = (char)toupper((unsigned char)serial[j]);
			for (j = 0; j < c->ntokens; j++)
				if (!strcmp(c->tokens[j].serial, serial))
					tok = &c->tokens[j];
			if (!tok && c->ntokens < SHIM_MAX_TOKEN_CFG) {
				tok = &c->tokens[c->ntokens++];
				strcpy(tok->serial, serial);
				tok->session_flags = c->session_flags;
			}
			if (!tok) {
				shim_warn("config %s:%u: too many token sections", path, lineno);
				tok = &ignored_tok;
			}
			continue;
		}
		eq = strchr(name, '=');
		if (!eq) {
			shim_warn("config %s:%u: no '=', ignored", path, lineno);
			continue;
		}
		*eq = 0;
		name = trim(name);
		val = trim(eq + 1);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(name, keys[i].name))
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			shim_warn("config %s:%u: unknown key %s", path, lineno, name);
			continue;
		}
		if (tok) {
			if (keys[i].kind != K_MODE && keys[i].kind != K_STORE) {
				shim_warn("config %s:%u: %s is not a token setting", path, lineno,
					  name);
				continue;
			}
			set_token_key(tok, &keys[i], val, path);
			continue;
		}
		set_key(c, &keys[i], val, path);
	}
	fclose(f);
}

static void load_env(struct shim_config *c)
{
	char var[64];
	const char *val;
	size_t i, j;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		strcpy(var, "HSMGROUP_");
		for (j = 0; keys[i].name[j]; j++)
			var[9 + j] = (char)toupper((unsigned char)keys[i].name[j]);
		var[9 + j] = 0;
		val = secure_getenv(var);
		if (val) {
			set_key(c, &keys[i], val, var);
			if (keys[i].kind == K_MODE)
				c->env_session_mode = true;
			if (keys[i].kind == K_STORE)
				c->env_token_store = true;
		}
	}
}

int shim_config_load(struct shim_config *c)
{
	const char *path, *lv;

	memset(c, 0, sizeof(*c));
	strcpy(c->token_dir, SHIM_DEFAULT_TOKEN_DIR);
	strcpy(c->device, HSMG_CLIENT_DEVICE);
	c->log_level = LOG_WARNING;
	c->pin_min_len = 4;
	c->pin_max_len = HSMG_MAX_PIN_LEN;
	c->pin_max_failures = 10;
	c->pin_iterations = 200000;
	c->session_flags = 0;
	c->timeout_ms = 0;
	c->local_verify = 1;
	c->store_timeout_ms = SHIM_STORE_TIMEOUT_MS;

	/* The level first, so that the file's own warnings honour it. */
	lv = secure_getenv("HSMGROUP_LOG_LEVEL");
	if (lv && shim_log_parse_level(lv) >= 0)
		shim_log_set_level(shim_log_parse_level(lv));
	path = secure_getenv("HSMGROUP_CONFIG");
	load_file(c, path && *path ? path : SHIM_DEFAULT_CONFIG);
	load_env(c);
	if (c->pin_min_len > c->pin_max_len) {
		shim_warn("config: pin_min_len above pin_max_len, using 4..64");
		c->pin_min_len = 4;
		c->pin_max_len = HSMG_MAX_PIN_LEN;
	}
	shim_log_set_level(c->log_level);
	return 0;
}
