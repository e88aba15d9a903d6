// SPDX-License-Identifier: GPL-2.0
/*
 * store_pg - the token store in PostgreSQL (see store.h for the interface
 * and docs/multihost.md for the deployment): every host whose cards share
 * a master key serves the same token from one database.  One database holds
 * any number of tokens, each keyed by its group's MKVP.
 *
 * Location: a libpq URI ("postgresql://...", "postgres://...") or
 * "postgresql:" and a keyword/value connection string.  A password in it is
 * refused (it would sit in pkcs11.conf or the environment): libpq reads it
 * from a passfile (passfile=..., PGPASSFILE, ~/.pgpass).  Multi-host URIs
 * with target_session_attrs=read-write follow a primary switch: a lost
 * connection is opened again, on whichever host is the primary then.
 *
 * Schema version 1 (hsmg_schema.version; created on first use under an
 * advisory lock, or by `hsmgroupctl token schema`):
 *   hsmg_tokens(mkvp PK, version)   version: +1 at every change of objects
 *   hsmg_meta(mkvp, name, value)    "label", "cardpin", "rebind"
 *   hsmg_pins(mkvp, ckuser, record, failures)
 *   hsmg_objects(mkvp, id, private, attrs)
 *                                   id from the sequence hsmg_object_ids:
 *                                   unique across hosts, never reused
 * A trigger on hsmg_objects bumps the token's version and sends
 * NOTIFY hsmgroup '<mkvp hex> <id>' at commit.
 *
 * Seeing changes made elsewhere: objects read by id (every key use) come
 * from a per-process cache, which the notifications keep current without a
 * round trip (the connection LISTENs; pending notifications are read from
 * the socket, non-blocking, before each lookup).  A listing (C_FindObjects)
 * asks the token's version first (one round trip, a statement prepared
 * once per connection) and reloads the list when it changed, so an object
 * committed on another host is found at once; with store_lookup = notify it
 * trusts the notifications instead (no round trip: another host's commit is
 * found once its notification is here, a network delay later).
 *
 * When the database is unreachable (every call bounded by
 * shim_store_set_timeout(), default 5 s; reconnection tried at most once a
 * second): objects already in the cache stay usable, everything else fails
 * with CKR_DEVICE_ERROR; one line is logged when the store goes and one
 * when it is back.  After a reconnection the cache is dropped (changes may
 * have been missed).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "log.h"
#include "store.h"

#define PG_SCHEMA	1
#define PG_RETRY_MS	1000
#define PG_CHANNEL	"hsmgroup"
#define PG_SCHEMA_KEY	"7218094417" /* advisory lock of schema changes */
#define PG_MAX_PREPARED 48

struct pg_obj {
	int64_t id;
	bool priv;
	uint8_t *blob;
	size_t len;
};

/* @base first: the interface's handle points here. */
struct pg_store {
	struct shim_store base;
	pthread_mutex_t lock;
	PGconn *conn;
	char *conninfo;
	char name[160]; /* for logs: dbname@host, never the password */
	uint8_t mkvp[HSMG_MKVP_LEN];
	char hex[2 * HSMG_MKVP_LEN + 1];
	bool down; /* the outage was logged */
	bool tx;   /* in a transaction: no reconnection */
	/* Statements prepared on this connection, "hsmgN" = prep[N]. */
	const char *prep[PG_MAX_PREPARED];
	int nprep;
	int64_t retry_at; /* no reconnection before (monotonic ms) */
	/* Objects by id, sorted; @full: every object of the token, as of
	 * token version @version. */
	struct pg_obj *objs;
	size_t nobjs, cap;
	bool full;
	int64_t version;
	/* Label and initialized state last read, for C_GetTokenInfo while the
	 * database is away. */
	bool init_known, init;
	uint8_t label[32];
	struct pg_store *abandoned_next;
};

static struct pg_store *abandoned;

static const char schema_v1[] =
    "CREATE TABLE hsmg_schema(version integer NOT NULL);"
    "CREATE TABLE hsmg_tokens(mkvp bytea PRIMARY KEY CHECK (length(mkvp) = 32),"
    " version bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE hsmg_meta(mkvp bytea NOT NULL REFERENCES hsmg_tokens ON DELETE CASCADE,"
    " name text NOT NULL, value bytea NOT NULL, PRIMARY KEY (mkvp, name));"
    "CREATE TABLE hsmg_pins(mkvp bytea NOT NULL REFERENCES hsmg_tokens ON DELETE CASCADE,"
    " ckuser bigint NOT NULL, record bytea NOT NULL, failures bigint NOT NULL DEFAULT 0,"
    " PRIMARY KEY (mkvp, ckuser));"
    "CREATE SEQUENCE hsmg_object_ids;"
    "CREATE TABLE hsmg_objects(mkvp bytea NOT NULL REFERENCES hsmg_tokens ON DELETE CASCADE,"
    " id bigint NOT NULL DEFAULT nextval('hsmg_object_ids') CHECK (id > 0),"
    " private boolean NOT NULL, attrs bytea NOT NULL, PRIMARY KEY (mkvp, id));"
    "ALTER SEQUENCE hsmg_object_ids OWNED BY hsmg_objects.id;"
    "CREATE FUNCTION hsmg_objects_changed() RETURNS trigger LANGUAGE plpgsql AS $f$"
    " DECLARE m bytea; i bigint;"
    " BEGIN"
    "  IF TG_OP = 'DELETE' THEN m := OLD.mkvp; i := OLD.id;"
    "  ELSE m := NEW.mkvp; i := NEW.id; END IF;"
    "  UPDATE hsmg_tokens SET version = version + 1 WHERE mkvp = m;"
    "  PERFORM pg_notify('" PG_CHANNEL "', encode(m, 'hex') || ' ' || i);"
    "  IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN"
    "   PERFORM pg_notify('" PG_CHANNEL "', encode(m, 'hex') || ' ' || OLD.id);"
    "  END IF;"
    "  RETURN NULL;"
    " END $f$;"
    "CREATE TRIGGER hsmg_objects_changed AFTER INSERT OR UPDATE OR DELETE ON hsmg_objects"
    " FOR EACH ROW EXECUTE FUNCTION hsmg_objects_changed();"
    "INSERT INTO hsmg_schema VALUES (1);";

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Integer column of a binary result (int2, int4 or int8). */
static int64_t col_int(const PGresult *r, int row, int col)
{
	const char *p = PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t v = 0;

	for (int i = 0; i < len && i < 8; i++)
		v = v << 8 | (uint8_t)p[i];
	if (len == 2)
		return (int16_t)v;
	if (len == 4)
		return (int32_t)v;
	return (int64_t)v;
}

static bool col_bool(const PGresult *r, int row, int col)
{
	return PQgetlength(r, row, col) == 1 && PQgetvalue(r, row, col)[0];
}

static void drop_cache(struct pg_store *s)
{
	for (size_t i = 0; i < s->nobjs; i++)
		OPENSSL_clear_free(s->objs[i].blob, s->objs[i].len);
	s->nobjs = 0;
	s->full = false;
}

/* Lost: close the connection (the server rolls back what was open); the
 * cache stays, unverified, for keys already loaded. */
static void lost(struct pg_store *s, const char *why)
{
	if (!s->down)
		shim_err("token store %s: unreachable (%s); reads it needs and every write fail "
			 "until it is back",
			 s->name, why);
	s->down = true;
	PQfinish(s->conn);
	s->conn = NULL;
	s->retry_at = now_ms() + PG_RETRY_MS;
}

/* Wait until the socket is ready for @events or @deadline; false at the
 * deadline or on an error. */
static bool wait_sock(PGconn *c, short events, int64_t deadline)
{
	struct pollfd p = {.fd = PQsocket(c), .events = events};
	int64_t left;
	int r;

	if (p.fd < 0)
		return false;
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static PGresult *run_on(struct pg_store *s, const char *sql, int n, const char *const *vals,
			const int *lens, const int *fmts, int64_t deadline, const char **why);

/* The server's notices go to the log, never to stderr. */
static void notice(void *arg, const char *msg)
{
	struct pg_store *s = arg;

	shim_info("token store %s: %.*s", s->name, (int)strcspn(msg, "\n"), msg);
}

/* Connect, LISTEN; CKR_DEVICE_ERROR (logged once) when it fails. */
static CK_RV connect_db(struct pg_store *s)
{
	static const char *const kw[] = {
	    "application_name",	   "connect_timeout",  "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname",     NULL};
	unsigned int tmo = shim_store_timeout();
	char ct[16];
	const char *vals[] = {"hsmgroup", ct, "1", "10", "3", "3", s->conninfo, NULL};
	int64_t deadline = now_ms() + tmo;
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	const char *why = NULL;
	PGresult *r;

	if (s->conn)
		return CKR_OK;
	if (s->tx || now_ms() < s->retry_at)
		return CKR_DEVICE_ERROR;
	/* libpq's own bound, in seconds, at least 2 */
	snprintf(ct, sizeof(ct), "%u", tmo < 2000 ? 2 : (tmo + 999) / 1000);
	s->nprep = 0;
	s->conn = PQconnectStartParams(kw, vals, 1);
	if (!s->conn) {
		lost(s, "out of memory");
		return CKR_DEVICE_ERROR;
	}
	PQsetNoticeProcessor(s->conn, notice, s);
	while (PQstatus(s->conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
	       ps != PGRES_POLLING_FAILED) {
		if (!wait_sock(s->conn, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
			lost(s, "connection timed out");
			return CKR_DEVICE_ERROR;
		}
		ps = PQconnectPoll(s->conn);
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
		msg[strcspn(msg, "\n")] = 0;
		lost(s, msg);
		return CKR_DEVICE_ERROR;
	}
	r = run_on(s, "LISTEN " PG_CHANNEL, 0, NULL, NULL, NULL, deadline, &why);
	if (!r)
		return CKR_DEVICE_ERROR;
	PQclear(r);
	/* Notifications may have been missed while away. */
	drop_cache(s);
	if (s->down)
		shim_log_event("token store %s: reachable again", s->name);
	s->down = false;
	return CKR_OK;
}

static void cache_del(struct pg_store *s, int64_t id);

/* Read pending notifications without blocking; drop the objects they name
 * from the cache.  Notices a closed connection. */
static void poll_changes(struct pg_store *s)
{
	PGnotify *n;
	size_t hl = 2 * HSMG_MKVP_LEN;

	if (!s->conn)
		return;
	if (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK) {
		lost(s, "connection closed");
		return;
	}
	while ((n = PQnotifies(s->conn))) {
		if (!strncmp(n->extra, s->hex, hl) && n->extra[hl] == ' ') {
			int64_t id = strtoll(n->extra + hl + 1, NULL, 10);

			s->full = false;
			cache_del(s, id);
		}
		PQfreemem(n);
	}
}

/*
 * Wait for the result of what was sent until @deadline; NULL and *@why set
 * when it failed.  A connection that fails or times out is closed (lost()).
 */
static PGresult *await_result(struct pg_store *s, const char *sql, int64_t deadline,
			      const char **why)
{
	PGresult *res = NULL, *r;
	int f;

	while ((f = PQflush(s->conn)) == 1) {
		if (!wait_sock(s->conn, POLLIN | POLLOUT, deadline))
			break;
		if (!PQconsumeInput(s->conn))
			break;
	}
	while (f == 0 && PQisBusy(s->conn)) {
		if (!wait_sock(s->conn, POLLIN, deadline) || !PQconsumeInput(s->conn)) {
			f = -1;
			break;
		}
	}
	if (f != 0) {
		lost(s, now_ms() >= deadline ? "timed out" : "connection lost");
		*why = "unreachable";
		return NULL;
	}
	while ((r = PQgetResult(s->conn))) {
		PQclear(res);
		res = r;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		PQclear(res);
		lost(s, "connection lost");
		*why = "unreachable";
		return NULL;
	}
	if (!res ||
	    (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)) {
		*why = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "no result";
		if (!*why)
			*why = "error";
		shim_err("token store %s: %.60s...: %s", s->name, sql, *why);
		PQclear(res);
		*why = "failed";
		return NULL;
	}
	return res;
}

/* Send one statement (binary results) and wait for its result. */
static PGresult *run_on(struct pg_store *s, const char *sql, int n, const char *const *vals,
			const int *lens, const int *fmts, int64_t deadline, const char **why)
{
	if (!PQsendQueryParams(s->conn, sql, n, NULL, vals, lens, fmts, 1)) {
		lost(s, "send failed");
		*why = "unreachable";
		return NULL;
	}
	return await_result(s, sql, deadline, why);
}

/*
 * The same with a statement prepared once per connection (parsed and
 * planned by the server once: the lookups on the hot path).  @sql is a
 * string literal: its address names it.
 */
static PGresult *run_prepared(struct pg_store *s, const char *sql, int n, const char *const *vals,
			      const int *lens, const int *fmts, int64_t deadline, const char **why)
{
	char name[16];
	PGresult *r;
	int i;

	for (i = 0; i < s->nprep && s->prep[i] != sql; i++)
		;
	snprintf(name, sizeof(name), "hsmg%d", i);
	if (i == s->nprep) {
		if (i == PG_MAX_PREPARED)
			return run_on(s, sql, n, vals, lens, fmts, deadline, why);
		if (!PQsendPrepare(s->conn, name, sql, n, NULL)) {
			lost(s, "send failed");
			*why = "unreachable";
			return NULL;
		}
		r = await_result(s, sql, deadline, why);
		if (!r)
			return NULL;
		PQclear(r);
		s->prep[s->nprep++] = sql;
	}
	if (!PQsendQueryPrepared(s->conn, name, n, vals, lens, fmts, 1)) {
		lost(s, "send failed");
		*why = "unreachable";
		return NULL;
	}
	return await_result(s, sql, deadline, why);
}

/* Run a statement with parameters: $1 is always the token's MKVP (bytea),
 * the others text.  NULL (logged) on failure: CKR_DEVICE_ERROR. */
static PGresult *q(struct pg_store *s, const char *sql, int n, const char *const *txt)
{
	const char *vals[8] = {(const char *)s->mkvp};
	int lens[8] = {HSMG_MKVP_LEN}, fmts[8] = {1};
	const char *why;

	if (connect_db(s) != CKR_OK)
		return NULL;
	for (int i = 0; i < n && i < 7; i++)
		vals[i + 1] = txt[i];
	return run_prepared(s, sql, n + 1, vals, lens, fmts, now_ms() + shim_store_timeout(), &why);
}

/* Like q() with $2 a binary value (bytea) and $3.. text. */
static PGresult *qb(struct pg_store *s, const char *sql, const void *bin, size_t len, int n,
		    const char *const *txt)
{
	const char *vals[8] = {(const char *)s->mkvp, bin};
	int lens[8] = {HSMG_MKVP_LEN, (int)len}, fmts[8] = {1, 1};
	const char *why;

	if (connect_db(s) != CKR_OK)
		return NULL;
	for (int i = 0; i < n && i < 6; i++)
		vals[i + 2] = txt[i];
	return run_prepared(s, sql, n + 2, vals, lens, fmts, now_ms() + shim_store_timeout(), &why);
}

static CK_RV qdo(struct pg_store *s, const char *sql, int n, const char *const *txt)
{
	PGresult *r = q(s, sql, n, txt);

	if (!r)
		return CKR_DEVICE_ERROR;
	PQclear(r);
	return CKR_OK;
}

static CK_RV begin(struct pg_store *s)
{
	const char *why;
	PGresult *r;

	if (connect_db(s) != CKR_OK)
		return CKR_DEVICE_ERROR;
	r = run_on(s, "BEGIN", 0, NULL, NULL, NULL, now_ms() + shim_store_timeout(), &why);
	if (!r)
		return CKR_DEVICE_ERROR;
	PQclear(r);
	s->tx = true;
	return CKR_OK;
}

static CK_RV end(struct pg_store *s, CK_RV rv)
{
	const char *why;
	PGresult *r;

	s->tx = false;
	if (!s->conn)
		return rv == CKR_OK ? CKR_DEVICE_ERROR : rv;
	r = run_on(s, rv == CKR_OK ? "COMMIT" : "ROLLBACK", 0, NULL, NULL, NULL,
		   now_ms() + shim_store_timeout(), &why);
	if (!r)
		return rv == CKR_OK ? CKR_DEVICE_ERROR : rv;
	/* A COMMIT of an aborted transaction reports ROLLBACK. */
	if (rv == CKR_OK && strcmp(PQcmdStatus(r), "COMMIT"))
		rv = CKR_DEVICE_ERROR;
	PQclear(r);
	return rv;
}

static void lock(struct pg_store *s)
{
	pthread_mutex_lock(&s->lock);
}

static CK_RV unlock_rv(struct pg_store *s, CK_RV rv)
{
	pthread_mutex_unlock(&s->lock);
	return rv;
}

/* Create the schema when missing, refuse one this module does not know. */
static CK_RV schema(struct pg_store *s)
{
	PGresult *r;
	CK_RV rv;
	int64_t v = -1;
	const char *why;

	rv = begin(s);
	if (rv != CKR_OK)
		return rv;
	r = run_on(s, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_KEY ")", 0, NULL, NULL, NULL,
		   now_ms() + shim_store_timeout(), &why);
	if (!r)
		return end(s, CKR_DEVICE_ERROR);
	PQclear(r);
	r = run_on(s, "SELECT to_regclass('hsmg_schema') IS NOT NULL", 0, NULL, NULL, NULL,
		   now_ms() + shim_store_timeout(), &why);
	if (!r)
		return end(s, CKR_DEVICE_ERROR);
	if (!col_bool(r, 0, 0)) {
		PQclear(r);
		r = PQexec(s->conn, schema_v1);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			shim_err("token store %s: creating the schema: %s", s->name,
				 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
			rv = CKR_DEVICE_ERROR;
		} else {
			shim_info("token store %s: schema %d created", s->name, PG_SCHEMA);
		}
		PQclear(r);
		return end(s, rv);
	}
	PQclear(r);
	r = run_on(s, "SELECT max(version) FROM hsmg_schema", 0, NULL, NULL, NULL,
		   now_ms() + shim_store_timeout(), &why);
	if (!r)
		return end(s, CKR_DEVICE_ERROR);
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = col_int(r, 0, 0);
	PQclear(r);
	if (v != PG_SCHEMA) {
		shim_err("token store %s: schema %lld, this module knows %d", s->name, (long long)v,
			 PG_SCHEMA);
		rv = CKR_DEVICE_ERROR;
	}
	return end(s, rv);
}

/* A password in the location would sit in a file or an environment that
 * others may read: refuse it. */
static bool has_password(const char *conninfo)
{
	PQconninfoOption *o, *opts = PQconninfoParse(conninfo, NULL);
	bool found = false;

	if (!opts)
		return false; /* the connection reports the syntax error */
	for (o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			found = true;
	PQconninfoFree(opts);
	return found;
}

static void describe(struct pg_store *s)
{
	PQconninfoOption *o, *opts = PQconninfoParse(s->conninfo, NULL);
	const char *db = NULL, *host = NULL;

	for (o = opts; o && o->keyword; o++) {
		if (!strcmp(o->keyword, "dbname") && o->val)
			db = o->val;
		if (!strcmp(o->keyword, "host") && o->val)
			host = o->val;
	}
	snprintf(s->name, sizeof(s->name), "postgresql %s@%s", db ? db : "(default)",
		 host ? host : "(default)");
	PQconninfoFree(opts);
}

static CK_RV pg_open(const char *location, const uint8_t mkvp[HSMG_MKVP_LEN],
		     struct shim_store **out)
{
	struct pg_store *s;
	CK_RV rv;
	int i;

	if (has_password(location)) {
		shim_err("token store: a password in token_store is refused: put it in a passfile "
			 "(passfile=..., PGPASSFILE or ~/.pgpass, mode 0600)");
		return CKR_ARGUMENTS_BAD;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	s->conninfo = strdup(location);
	if (!s->conninfo) {
		free(s);
		return CKR_HOST_MEMORY;
	}
	pthread_mutex_init(&s->lock, NULL);
	memcpy(s->mkvp, mkvp, HSMG_MKVP_LEN);
	for (i = 0; i < HSMG_MKVP_LEN; i++)
		sprintf(s->hex + 2 * i, "%02x", mkvp[i]);
	s->version = -1;
	describe(s);
	rv = schema(s);
	if (rv == CKR_OK)
		rv = qdo(s, "INSERT INTO hsmg_tokens(mkvp) VALUES ($1) ON CONFLICT DO NOTHING", 0,
			 NULL);
	if (rv != CKR_OK) {
		PQfinish(s->conn);
		pthread_mutex_destroy(&s->lock);
		free(s->conninfo);
		free(s);
		return rv;
	}
	s->base.ops = &shim_store_postgresql;
	*out = &s->base;
	return CKR_OK;
}

static void pg_close(struct shim_store *h)
{
	struct pg_store *s = (struct pg_store *)h;

	if (!s)
		return;
	PQfinish(s->conn);
	drop_cache(s);
	free(s->objs);
	pthread_mutex_destroy(&s->lock);
	free(s->conninfo);
	free(s);
}

static void pg_abandon(struct shim_store *h)
{
	struct pg_store *s = (struct pg_store *)h;

	/* The connection is the parent's: PQfinish() would end its session. */
	if (s) {
		s->abandoned_next = abandoned;
		abandoned = s;
	}
}

static bool pg_initialized(struct shim_store *h, uint8_t label[32])
{
	struct pg_store *s = (struct pg_store *)h;
	PGresult *r;
	bool ok;

	lock(s);
	memset(label, ' ', 32);
	r = q(s,
	      "SELECT value, (SELECT count(*) FROM hsmg_pins WHERE mkvp = $1 AND ckuser = 0)"
	      " FROM hsmg_meta WHERE mkvp = $1 AND name = 'label'",
	      0, NULL);
	if (r) {
		s->init = PQntuples(r) == 1 && col_int(r, 0, 1) == 1 && PQgetlength(r, 0, 0) == 32;
		if (s->init)
			memcpy(s->label, PQgetvalue(r, 0, 0), 32);
		s->init_known = true;
		PQclear(r);
	}
	/* Away: what was last read. */
	ok = s->init_known && s->init;
	if (ok)
		memcpy(label, s->label, 32);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static CK_RV put_pin_locked(struct pg_store *s, CK_USER_TYPE user, const struct shim_pin_record *r)
{
	char u[24];
	const char *t[] = {u};
	PGresult *res;

	snprintf(u, sizeof(u), "%lu", (unsigned long)user);
	res = qb(s,
		 "INSERT INTO hsmg_pins(mkvp, ckuser, record, failures) VALUES ($1, $3, $2, 0)"
		 " ON CONFLICT (mkvp, ckuser) DO UPDATE SET record = $2, failures = 0",
		 r, shim_pin_record_size(r), 1, t);
	if (!res)
		return CKR_DEVICE_ERROR;
	PQclear(res);
	return CKR_OK;
}

static CK_RV put_meta_locked(struct pg_store *s, const char *name, const void *val, size_t len)
{
	const char *t[] = {name};
	PGresult *r;

	if (!val)
		return qdo(s, "DELETE FROM hsmg_meta WHERE mkvp = $1 AND name = $2", 1, t);
	r = qb(s,
	       "INSERT INTO hsmg_meta(mkvp, name, value) VALUES ($1, $3, $2)"
	       " ON CONFLICT (mkvp, name) DO UPDATE SET value = $2",
	       val, len, 1, t);
	if (!r)
		return CKR_DEVICE_ERROR;
	PQclear(r);
	return CKR_OK;
}

static CK_RV pg_init_token(struct shim_store *h, const uint8_t label[32],
			   const struct shim_pin_record *so)
{
	struct pg_store *s = (struct pg_store *)h;
	CK_RV rv;

	lock(s);
	rv = begin(s);
	if (rv != CKR_OK)
		return unlock_rv(s, rv);
	rv = qdo(s, "DELETE FROM hsmg_objects WHERE mkvp = $1", 0, NULL);
	if (rv == CKR_OK)
		rv = qdo(s, "DELETE FROM hsmg_pins WHERE mkvp = $1", 0, NULL);
	if (rv == CKR_OK)
		rv = qdo(s, "DELETE FROM hsmg_meta WHERE mkvp = $1", 0, NULL);
	if (rv == CKR_OK)
		rv = put_meta_locked(s, "label", label, 32);
	if (rv == CKR_OK)
		rv = put_pin_locked(s, CKU_SO, so);
	rv = end(s, rv);
	drop_cache(s);
	return unlock_rv(s, rv);
}

static CK_RV pg_get_pin(struct shim_store *h, CK_USER_TYPE user, struct shim_pin_record *r,
			uint32_t *failures)
{
	struct pg_store *s = (struct pg_store *)h;
	char u[24];
	const char *t[] = {u};
	PGresult *res;
	CK_RV rv = CKR_USER_PIN_NOT_INITIALIZED;

	snprintf(u, sizeof(u), "%lu", (unsigned long)user);
	lock(s);
	res = q(s, "SELECT record, failures FROM hsmg_pins WHERE mkvp = $1 AND ckuser = $2", 1, t);
	if (!res)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	if (PQntuples(res) == 1 &&
	    shim_pin_record_load(r, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0))) {
		if (failures)
			*failures = (uint32_t)col_int(res, 0, 1);
		rv = CKR_OK;
	}
	if (PQntuples(res) == 1)
		OPENSSL_cleanse(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return unlock_rv(s, rv);
}

static CK_RV pg_put_pin(struct shim_store *h, CK_USER_TYPE user, const struct shim_pin_record *r)
{
	struct pg_store *s = (struct pg_store *)h;

	lock(s);
	return unlock_rv(s, put_pin_locked(s, user, r));
}

static CK_RV pg_pin_failed(struct shim_store *h, CK_USER_TYPE user, uint32_t *failures)
{
	struct pg_store *s = (struct pg_store *)h;
	char u[24];
	const char *t[] = {u};
	PGresult *res;
	CK_RV rv = CKR_USER_PIN_NOT_INITIALIZED;

	snprintf(u, sizeof(u), "%lu", (unsigned long)user);
	lock(s);
	/* One statement: atomic across hosts. */
	res = q(s,
		"UPDATE hsmg_pins SET failures = failures + 1 WHERE mkvp = $1 AND ckuser = $2"
		" RETURNING failures",
		1, t);
	if (!res)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	if (PQntuples(res) == 1) {
		*failures = (uint32_t)col_int(res, 0, 0);
		rv = CKR_OK;
	}
	PQclear(res);
	return unlock_rv(s, rv);
}

static CK_RV pg_pin_reset(struct shim_store *h, CK_USER_TYPE user)
{
	struct pg_store *s = (struct pg_store *)h;
	char u[24];
	const char *t[] = {u};

	snprintf(u, sizeof(u), "%lu", (unsigned long)user);
	lock(s);
	return unlock_rv(s, qdo(s,
				"UPDATE hsmg_pins SET failures = 0 WHERE mkvp = $1 AND ckuser = $2"
				" AND failures <> 0",
				1, t));
}

static CK_RV get_meta_locked(struct pg_store *s, const char *name, uint8_t *val, size_t cap,
			     size_t *len)
{
	const char *t[] = {name};
	PGresult *r;
	CK_RV rv = CKR_OK;

	r = q(s, "SELECT value FROM hsmg_meta WHERE mkvp = $1 AND name = $2", 1, t);
	if (!r)
		return CKR_DEVICE_ERROR;
	if (PQntuples(r) != 1) {
		rv = CKR_DATA_INVALID;
	} else if ((size_t)PQgetlength(r, 0, 0) > cap) {
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		*len = (size_t)PQgetlength(r, 0, 0);
		memcpy(val, PQgetvalue(r, 0, 0), *len);
	}
	PQclear(r);
	return rv;
}

static CK_RV pg_get_cardpin(struct shim_store *h, struct shim_cardpin_record *r)
{
	struct pg_store *s = (struct pg_store *)h;
	size_t len = 0;
	CK_RV rv;

	lock(s);
	rv = get_meta_locked(s, "cardpin", (uint8_t *)r, sizeof(*r), &len);
	if (rv == CKR_DATA_INVALID)
		rv = CKR_USER_PIN_NOT_INITIALIZED;
	else if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && len != sizeof(*r))) {
		shim_err("token store %s: card-PIN record of a wrong size", s->name);
		rv = CKR_DEVICE_ERROR;
	}
	return unlock_rv(s, rv);
}

static CK_RV pg_put_cardpin(struct shim_store *h, const struct shim_cardpin_record *r)
{
	struct pg_store *s = (struct pg_store *)h;

	lock(s);
	return unlock_rv(s, put_meta_locked(s, "cardpin", r, sizeof(*r)));
}

static CK_RV pg_put_user_pin(struct shim_store *h, const struct shim_pin_record *r,
			     const struct shim_cardpin_record *cp)
{
	struct pg_store *s = (struct pg_store *)h;
	CK_RV rv;

	lock(s);
	rv = begin(s);
	if (rv != CKR_OK)
		return unlock_rv(s, rv);
	rv = put_pin_locked(s, CKU_USER, r);
	if (rv == CKR_OK)
		rv = put_meta_locked(s, "cardpin", cp, sizeof(*cp));
	return unlock_rv(s, end(s, rv));
}

static CK_RV pg_get_meta(struct shim_store *h, const char *name, uint8_t *val, size_t cap,
			 size_t *len)
{
	struct pg_store *s = (struct pg_store *)h;

	lock(s);
	return unlock_rv(s, get_meta_locked(s, name, val, cap, len));
}

static CK_RV pg_put_meta(struct shim_store *h, const char *name, const uint8_t *val, size_t len)
{
	struct pg_store *s = (struct pg_store *)h;

	lock(s);
	return unlock_rv(s, put_meta_locked(s, name, val, len));
}

/* Index of @id in the cache, or where it would go. */
static size_t find(const struct pg_store *s, int64_t id)
{
	size_t lo = 0, hi = s->nobjs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->objs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Put a copy of an object into the cache (replacing one with its id). */
static CK_RV cache_put(struct pg_store *s, int64_t id, bool priv, const void *blob, size_t len)
{
	size_t i = find(s, id);
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return CKR_HOST_MEMORY;
	if (len)
		memcpy(copy, blob, len);
	if (i < s->nobjs && s->objs[i].id == id) {
		OPENSSL_clear_free(s->objs[i].blob, s->objs[i].len);
	} else {
		if (s->nobjs == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct pg_obj *n = realloc(s->objs, cap * sizeof(*n));

			if (!n) {
				free(copy);
				return CKR_HOST_MEMORY;
			}
			s->objs = n;
			s->cap = cap;
		}
		memmove(&s->objs[i + 1], &s->objs[i], (s->nobjs - i) * sizeof(s->objs[0]));
		s->nobjs++;
	}
	s->objs[i] = (struct pg_obj){id, priv, copy, len};
	return CKR_OK;
}

static void cache_del(struct pg_store *s, int64_t id)
{
	size_t i = find(s, id);

	if (i < s->nobjs && s->objs[i].id == id) {
		OPENSSL_clear_free(s->objs[i].blob, s->objs[i].len);
		memmove(&s->objs[i], &s->objs[i + 1], (s->nobjs - i - 1) * sizeof(s->objs[0]));
		s->nobjs--;
	}
}

static CK_RV pg_obj_insert(struct shim_store *h, bool priv, const uint8_t *blob, size_t len,
			   int64_t *id)
{
	struct pg_store *s = (struct pg_store *)h;
	const char *t[] = {priv ? "t" : "f"};
	PGresult *r;

	lock(s);
	r = qb(s, "INSERT INTO hsmg_objects(mkvp, attrs, private) VALUES ($1, $2, $3) RETURNING id",
	       blob, len, 1, t);
	if (!r)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	*id = col_int(r, 0, 0);
	PQclear(r);
	s->full = false;
	cache_put(s, *id, priv, blob, len);
	return unlock_rv(s, CKR_OK);
}

static CK_RV pg_obj_update(struct shim_store *h, int64_t id, bool priv, const uint8_t *blob,
			   size_t len)
{
	struct pg_store *s = (struct pg_store *)h;
	char i[24];
	const char *t[] = {priv ? "t" : "f", i};
	PGresult *r;
	CK_RV rv = CKR_OK;

	snprintf(i, sizeof(i), "%lld", (long long)id);
	lock(s);
	r = qb(s, "UPDATE hsmg_objects SET private = $3, attrs = $2 WHERE mkvp = $1 AND id = $4",
	       blob, len, 2, t);
	if (!r)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	if (strcmp(PQcmdTuples(r), "1"))
		rv = CKR_OBJECT_HANDLE_INVALID;
	PQclear(r);
	s->full = false;
	if (rv == CKR_OK)
		cache_put(s, id, priv, blob, len);
	else
		cache_del(s, id);
	return unlock_rv(s, rv);
}

static CK_RV pg_obj_delete(struct shim_store *h, int64_t id)
{
	struct pg_store *s = (struct pg_store *)h;
	char i[24];
	const char *t[] = {i};
	PGresult *r;
	CK_RV rv = CKR_OK;

	snprintf(i, sizeof(i), "%lld", (long long)id);
	lock(s);
	r = q(s, "DELETE FROM hsmg_objects WHERE mkvp = $1 AND id = $2", 1, t);
	if (!r)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	if (strcmp(PQcmdTuples(r), "1"))
		rv = CKR_OBJECT_HANDLE_INVALID;
	PQclear(r);
	s->full = false;
	cache_del(s, id);
	return unlock_rv(s, rv);
}

static CK_RV copy_out(const struct pg_obj *o, uint8_t **blob, size_t *len)
{
	*blob = malloc(o->len ? o->len : 1);
	if (!*blob)
		return CKR_HOST_MEMORY;
	if (o->len)
		memcpy(*blob, o->blob, o->len);
	*len = o->len;
	return CKR_OK;
}

static CK_RV pg_obj_get(struct shim_store *h, int64_t id, uint8_t **blob, size_t *len)
{
	struct pg_store *s = (struct pg_store *)h;
	char i[24];
	const char *t[] = {i};
	PGresult *r;
	size_t k;
	CK_RV rv;

	lock(s);
	poll_changes(s);
	k = find(s, id);
	if (k < s->nobjs && s->objs[k].id == id)
		return unlock_rv(s, copy_out(&s->objs[k], blob, len));
	if (s->full && s->conn)
		return unlock_rv(s, CKR_OBJECT_HANDLE_INVALID);
	snprintf(i, sizeof(i), "%lld", (long long)id);
	r = q(s, "SELECT private, attrs FROM hsmg_objects WHERE mkvp = $1 AND id = $2", 1, t);
	if (!r)
		return unlock_rv(s, CKR_DEVICE_ERROR);
	if (PQntuples(r) != 1) {
		PQclear(r);
		return unlock_rv(s, CKR_OBJECT_HANDLE_INVALID);
	}
	rv = cache_put(s, id, col_bool(r, 0, 0), PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
	PQclear(r);
	if (rv == CKR_OK) {
		k = find(s, id);
		rv = copy_out(&s->objs[k], blob, len);
	}
	return unlock_rv(s, rv);
}

/* Make the cache hold every object of the token as of now. */
static CK_RV refresh(struct pg_store *s)
{
	PGresult *r;
	int64_t v;
	CK_RV rv = CKR_OK;

	poll_changes(s);
	/* store_lookup = notify: the notifications alone keep the list. */
	if (s->full && s->conn && shim_store_lookup_notify())
		return CKR_OK;
	r = q(s, "SELECT version FROM hsmg_tokens WHERE mkvp = $1", 0, NULL);
	if (!r)
		return CKR_DEVICE_ERROR;
	v = PQntuples(r) == 1 ? col_int(r, 0, 0) : -1;
	PQclear(r);
	if (s->full && v == s->version)
		return CKR_OK;
	/* One statement, one snapshot: the version goes with the rows. */
	r = q(s,
	      "SELECT t.version, o.id, o.private, o.attrs FROM hsmg_tokens t"
	      " LEFT JOIN hsmg_objects o ON o.mkvp = t.mkvp WHERE t.mkvp = $1 ORDER BY o.id",
	      0, NULL);
	if (!r)
		return CKR_DEVICE_ERROR;
	drop_cache(s);
	for (int i = 0; i < PQntuples(r) && rv == CKR_OK; i++) {
		s->version = col_int(r, i, 0);
		if (!PQgetisnull(r, i, 1))
			rv = cache_put(s, col_int(r, i, 1), col_bool(r, i, 2), PQgetvalue(r, i, 3),
				       (size_t)PQgetlength(r, i, 3));
	}
	PQclear(r);
	s->full = rv == CKR_OK;
	return rv;
}

static CK_RV pg_obj_foreach(struct shim_store *h, bool with_private, shim_store_obj_fn fn,
			    void *ctx)
{
	struct pg_store *s = (struct pg_store *)h;
	struct pg_obj *list;
	size_t n = 0, i;
	CK_RV rv;

	lock(s);
	rv = refresh(s);
	if (rv != CKR_OK)
		return unlock_rv(s, rv);
	/* The callback may come back to the store: call it on a copy. */
	list = calloc(s->nobjs ? s->nobjs : 1, sizeof(*list));
	if (!list)
		return unlock_rv(s, CKR_HOST_MEMORY);
	for (i = 0; i < s->nobjs && rv == CKR_OK; i++) {
		if (s->objs[i].priv && !with_private)
			continue;
		list[n].id = s->objs[i].id;
		rv = copy_out(&s->objs[i], &list[n].blob, &list[n].len);
		if (rv == CKR_OK)
			n++;
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n && rv == CKR_OK; i++)
		rv = fn(ctx, list[i].id, list[i].blob, list[i].len);
	for (i = 0; i < n; i++)
		OPENSSL_clear_free(list[i].blob, list[i].len);
	free(list);
	return rv;
}

static CK_RV export_rows(struct pg_store *s, const char *sql, int kind,
			 struct shim_store_row **list, size_t *n)
{
	struct shim_store_row row;
	PGresult *r = q(s, sql, 0, NULL);
	CK_RV rv = CKR_OK;

	if (!r)
		return CKR_DEVICE_ERROR;
	for (int i = 0; i < PQntuples(r) && rv == CKR_OK; i++) {
		memset(&row, 0, sizeof(row));
		if (kind == 0)
			snprintf(row.name, sizeof(row.name), "%.*s", PQgetlength(r, i, 0),
				 PQgetvalue(r, i, 0));
		else
			row.key = col_int(r, i, 0);
		if (kind == 1)
			row.failures = (uint32_t)col_int(r, i, 2);
		if (kind == 2)
			row.priv = col_bool(r, i, 2);
		row.len = (size_t)PQgetlength(r, i, 1);
		rv = shim_store_image_add(list, n, &row, PQgetvalue(r, i, 1));
		OPENSSL_cleanse(PQgetvalue(r, i, 1), row.len);
	}
	PQclear(r);
	return rv;
}

static CK_RV pg_export(struct shim_store *h, struct shim_store_image *img)
{
	struct pg_store *s = (struct pg_store *)h;
	const char *why;
	PGresult *r;
	CK_RV rv;

	lock(s);
	rv = begin(s);
	if (rv != CKR_OK)
		return unlock_rv(s, rv);
	r = run_on(s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, NULL,
		   NULL, now_ms() + shim_store_timeout(), &why);
	rv = r ? CKR_OK : CKR_DEVICE_ERROR;
	PQclear(r);
	if (rv == CKR_OK)
		rv = export_rows(s,
				 "SELECT name, value FROM hsmg_meta WHERE mkvp = $1 ORDER BY name",
				 0, &img->meta, &img->nmeta);
	if (rv == CKR_OK)
		rv = export_rows(s,
				 "SELECT ckuser, record, failures FROM hsmg_pins WHERE mkvp = $1"
				 " ORDER BY ckuser",
				 1, &img->pins, &img->npins);
	if (rv == CKR_OK)
		rv = export_rows(s,
				 "SELECT id, attrs, private FROM hsmg_objects WHERE mkvp = $1"
				 " ORDER BY id",
				 2, &img->objs, &img->nobjs);
	rv = end(s, rv);
	if (rv != CKR_OK)
		shim_store_image_free(img);
	return unlock_rv(s, rv);
}

static CK_RV import_row(struct pg_store *s, const char *sql, const struct shim_store_row *r,
			int kind)
{
	char k[40], x[24];
	const char *t[] = {k, x};
	PGresult *res;

	if (kind == 0)
		snprintf(k, sizeof(k), "%s", r->name);
	else
		snprintf(k, sizeof(k), "%lld", (long long)r->key);
	if (kind == 1)
		snprintf(x, sizeof(x), "%u", r->failures);
	else
		snprintf(x, sizeof(x), "%s", r->priv ? "t" : "f");
	res = qb(s, sql, r->val, r->len, kind == 0 ? 1 : 2, t);
	if (!res)
		return CKR_DEVICE_ERROR;
	PQclear(res);
	return CKR_OK;
}

static CK_RV pg_import(struct shim_store *h, const struct shim_store_image *img)
{
	struct pg_store *s = (struct pg_store *)h;
	PGresult *r;
	CK_RV rv;
	size_t i;

	lock(s);
	rv = begin(s);
	if (rv != CKR_OK)
		return unlock_rv(s, rv);
	/* The token's row locked: no other writer of this token meanwhile. */
	r = q(s,
	      "SELECT (SELECT count(*) FROM hsmg_meta WHERE mkvp = $1)"
	      " + (SELECT count(*) FROM hsmg_pins WHERE mkvp = $1)"
	      " + (SELECT count(*) FROM hsmg_objects WHERE mkvp = $1)"
	      " FROM hsmg_tokens WHERE mkvp = $1 FOR UPDATE",
	      0, NULL);
	if (!r)
		rv = CKR_DEVICE_ERROR;
	else if (PQntuples(r) != 1 || col_int(r, 0, 0))
		rv = CKR_TOKEN_WRITE_PROTECTED;
	PQclear(r);
	for (i = 0; rv == CKR_OK && i < img->nmeta; i++)
		rv = import_row(s, "INSERT INTO hsmg_meta(mkvp, value, name) VALUES ($1, $2, $3)",
				&img->meta[i], 0);
	for (i = 0; rv == CKR_OK && i < img->npins; i++)
		rv = import_row(s,
				"INSERT INTO hsmg_pins(mkvp, record, ckuser, failures)"
				" VALUES ($1, $2, $3, $4)",
				&img->pins[i], 1);
	for (i = 0; rv == CKR_OK && i < img->nobjs; i++)
		rv = import_row(s,
				"INSERT INTO hsmg_objects(mkvp, attrs, id, private)"
				" VALUES ($1, $2, $3, $4)",
				&img->objs[i], 2);
	/* New ids continue above the imported ones. */
	if (rv == CKR_OK && img->nobjs)
		rv = qdo(
		    s,
		    "SELECT setval('hsmg_object_ids', greatest((SELECT max(id) FROM"
		    " hsmg_objects WHERE mkvp = $1), (SELECT last_value FROM hsmg_object_ids)))",
		    0, NULL);
	rv = end(s, rv);
	drop_cache(s);
	return unlock_rv(s, rv);
}

const struct shim_store_ops shim_store_postgresql = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .abandon = pg_abandon,
    .initialized = pg_initialized,
    .init_token = pg_init_token,
    .get_pin = pg_get_pin,
    .put_pin = pg_put_pin,
    .pin_failed = pg_pin_failed,
    .pin_reset = pg_pin_reset,
    .get_cardpin = pg_get_cardpin,
    .put_cardpin = pg_put_cardpin,
    .put_user_pin = pg_put_user_pin,
    .get_meta = pg_get_meta,
    .put_meta = pg_put_meta,
    .obj_insert = pg_obj_insert,
    .obj_update = pg_obj_update,
    .obj_delete = pg_obj_delete,
    .obj_get = pg_obj_get,
    .obj_foreach = pg_obj_foreach,
    .export_token = pg_export,
    .import_token = pg_import,
};
