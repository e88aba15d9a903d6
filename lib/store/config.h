/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config - settings of the module: built-in defaults, then the file
 * (HSMGROUP_CONFIG, default /etc/hsmgroup/pkcs11.conf; a missing file is
 * fine), then the environment.  Every key "name" of the file has the
 * environment variable HSMGROUP_NAME (upper case):
 *
 *   token_dir        directory of the token databases (/var/lib/hsmgroup)
 *   device           client device (/dev/hsmgroup)
 *   log_level        err|warning|notice|info|debug (warning)
 *   pin_min_len      shortest PIN accepted (4)
 *   pin_max_len      longest PIN accepted (64, at most HSMG_MAX_PIN_LEN)
 *   pin_max_failures failed logins that lock a PIN (10): the cards count
 *                    them (hsmsimd --pin-max-failures) and so does the
 *                    token store, whose count every host sharing it sees
 *                    (PostgreSQL); it also sets the CKF_*_PIN_* flags
 *   pin_iterations   PBKDF2-SHA256 iterations of old (version 1) PIN
 *                    records, read at their migration (200000, 1000 to
 *                    10000000, SHIM_PIN_MAX_ITERATIONS)
 *   session_mode     none|strict|vhsm|strict,vhsm: coprocessor session
 *                    mode of every token without its own setting (none);
 *                    see "Session modes" below
 *   timeout_ms       per-request timeout, 0 = the kernel's default (0)
 *   token_store      where the tokens are kept (sqlite): "sqlite" (a SQLite
 *                    database per token in token_dir), "sqlite:DIR", or
 *                    PostgreSQL: a libpq URI ("postgresql://host/db?...",
 *                    several hosts with target_session_attrs=read-write
 *                    for a replicated cluster) or a keyword/value
 *                    connection string ("host=... dbname=...", also after
 *                    "postgresql:"); never a password
 *                    (refused): libpq reads it from a passfile
 *                    (passfile=..., PGPASSFILE, ~/.pgpass); see
 *                    docs/multihost.md
 *   store_timeout_ms the longest a call waits for a PostgreSQL store
 *                    before it fails with CKR_DEVICE_ERROR (5000, 100 to
 *                    600000)
 *   store_lookup     strict|notify (strict): a C_FindObjects on a
 *                    PostgreSQL store asks whether anything changed first
 *                    (one round trip), or trusts the change notifications
 *                    (none; a commit elsewhere is seen once its
 *                    notification arrived)
 *   local_verify     1: single-part C_Verify with a public key object
 *                    (RSA PKCS#1 v1.5 and PSS, ECDSA) is done in the module
 *                    with the card's code, no card involved; 0: every
 *                    verify goes to a card (1)
 *
 * File syntax: "name = value" lines, '#' starts a comment line.  A line
 * "[token SERIAL]" (SERIAL = the 16 hex digits of the token's serial
 * number, i.e. the first 8 bytes of the group's MKVP) starts a section
 * whose "session_mode" and "token_store" apply to that token only
 * (HSMGROUP_SESSION_MODE and HSMGROUP_TOKEN_STORE still override every
 * token).
 *
 * Session modes (EP11 strict session and VHSM modes; apply to user
 * sessions only, public and SO sessions are never bound):
 *   strict       each PKCS#11 session has its own coprocessor session; the
 *                card binds session keys to that session's pin-blob
 *   vhsm         user logins also carry the token's card-PIN (set with
 *                `hsmgroupctl token cardpin`, kept sealed in the token
 *                store); the card binds every key to it
 *   strict,vhsm  both ("vhsm,strict", "strict+vhsm" and blanks also work)
 */
#ifndef SHIM_CONFIG_H
#define SHIM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define SHIM_DEFAULT_CONFIG    "/etc/hsmgroup/pkcs11.conf"
#define SHIM_DEFAULT_TOKEN_DIR "/var/lib/hsmgroup"

#define SHIM_MAX_TOKEN_CFG 32
#define SHIM_STORE_LOC_MAX 1024

struct shim_token_config {
	char serial[17];
	uint32_t session_flags;
	bool has_store;
	char store[SHIM_STORE_LOC_MAX];
};

struct shim_config {
	char token_dir[PATH_MAX];
	char device[PATH_MAX];
	int log_level;
	unsigned int pin_min_len;
	unsigned int pin_max_len;
	unsigned int pin_max_failures;
	unsigned int pin_iterations;
	uint32_t session_flags; /* HSMG_SESSION_STRICT and/or HSMG_SESSION_VHSM */
	unsigned int timeout_ms;
	unsigned int local_verify;	      /* 0 or 1 */
	char token_store[SHIM_STORE_LOC_MAX]; /* "" = SQLite in token_dir */
	unsigned int store_timeout_ms;
	bool store_lookup_notify; /* store_lookup = notify */
	bool env_session_mode;	  /* HSMGROUP_SESSION_MODE given: wins */
	bool env_token_store;	  /* HSMGROUP_TOKEN_STORE given: wins */
	unsigned int ntokens;
	struct shim_token_config tokens[SHIM_MAX_TOKEN_CFG];
};

/* Session flags of the token with serial @serial. */
uint32_t shim_config_session_flags(const struct shim_config *c, const char *serial);

/* The store location of the token with serial @serial (a directory of
 * the SQLite store, or what shim_store_open() takes). */
const char *shim_config_token_store(const struct shim_config *c, const char *serial);

/* Parse a session_mode value into HSMG_SESSION_STRICT / HSMG_SESSION_VHSM
 * bits; -1 (and *@flags untouched) when it is not a mode. */
int shim_config_parse_mode(const char *val, uint32_t *flags);
/* "none", "strict", "vhsm" or "strict,vhsm". */
const char *shim_config_mode_name(uint32_t flags);

/* Fill @c; bad values are logged and the default kept.  Returns 0. */
int shim_config_load(struct shim_config *c);

#endif
