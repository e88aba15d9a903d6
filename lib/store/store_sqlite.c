// SPDX-License-Identifier: GPL-2.0
/*
 * store_sqlite - the token store in SQLite, the embedded default (see
 * store.h for the interface): one database per token (group), named
 * after the group's MKVP: <token_dir>/token-<64 hex digits of the MKVP>.db.
 * WAL mode, a busy timeout, so several processes share it; every change is
 * one transaction, so a crash leaves either the old or the new state.
 *
 * Schema version 1 (PRAGMA user_version = 1):
 *   meta(name TEXT PRIMARY KEY, value BLOB)     "mkvp", "label", "cardpin"
 *                                               cardpin: a VHSM token's sealed
 *                                               card-PIN (cardpin.h)
 *   pins(user INTEGER PRIMARY KEY, record BLOB, failures INTEGER)
 *                                               user = CKU_SO / CKU_USER
 *   objects(id INTEGER PRIMARY KEY AUTOINCREMENT, private INTEGER,
 *           attrs BLOB)                         attrs: shim_obj_serialize()
 * AUTOINCREMENT: an id (and so an object handle) is never reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

/* @base first: the interface's handle points here. */
struct sq_store {
	struct shim_store base;
	sqlite3 *db;
	char path[PATH_MAX];
	struct sq_store *abandoned_next; /* list of abandoned stores */
};

/* Stores dropped in a forked child: kept reachable, so that leak checkers
 * (valgrind, LSan) see a deliberate leak as still reachable. */
static struct sq_store *abandoned;

#define BUSY_TIMEOUT_MS 10000
#define SQ_SCHEMA	1

static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE IF NOT EXISTS pins(user INTEGER PRIMARY KEY, record BLOB NOT NULL,"
    " failures INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS objects(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " private INTEGER NOT NULL, attrs BLOB NOT NULL);"
    "PRAGMA user_version = 1;";

static CK_RV db_err(struct sq_store *s, const char *what)
{
	shim_err("token store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return CKR_DEVICE_ERROR;
}

static CK_RV exec(struct sq_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		shim_err("token store %s: %s", s->path, msg ? msg : "?");
		sqlite3_free(msg);
		return CKR_DEVICE_ERROR;
	}
	return CKR_OK;
}

static CK_RV prepare(struct sq_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(s, "prepare");
	return CKR_OK;
}

/* Run a statement that returns no row; finalizes it. */
static CK_RV step_done(struct sq_store *s, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return db_err(s, "step");
	return CKR_OK;
}

static CK_RV begin(struct sq_store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

static CK_RV end(struct sq_store *s, CK_RV rv)
{
	if (rv == CKR_OK)
		return exec(s, "COMMIT");
	exec(s, "ROLLBACK");
	return rv;
}

static CK_RV check_mkvp(struct sq_store *s, const uint8_t mkvp[HSMG_MKVP_LEN])
{
	sqlite3_stmt *st;
	CK_RV rv;
	int r;

	rv = prepare(s, "SELECT value FROM meta WHERE name = 'mkvp'", &st);
	if (rv != CKR_OK)
		return rv;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != HSMG_MKVP_LEN ||
		    memcmp(sqlite3_column_blob(st, 0), mkvp, HSMG_MKVP_LEN)) {
			shim_err("token store %s belongs to another master key", s->path);
			rv = CKR_DEVICE_ERROR;
		}
		sqlite3_finalize(st);
		return rv;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return db_err(s, "read mkvp");
	rv = prepare(s, "INSERT INTO meta(name, value) VALUES('mkvp', ?)", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_blob(st, 1, mkvp, HSMG_MKVP_LEN, SQLITE_STATIC);
	return step_done(s, st);
}

/* Take the bits for others off @path (when this user owns it); false when
 * others may still read or write it. */
static bool no_others(const char *path, int fd)
{
	struct stat st;

	if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) || !(st.st_mode & 0007))
		return true;
	if (!(fd >= 0 ? fchmod(fd, st.st_mode & 07770) : chmod(path, st.st_mode & 07770)))
		return true;
	shim_warn("token store %s is open to every user (mode %04o) and cannot be changed "
		  "here: chmod o-rwx it",
		  path, (unsigned int)(st.st_mode & 07777));
	return false;
}

/*
 * The token store is for the members of group hsmgroup only, whatever the
 * umask: the directory 2770 (its files take its group), the database 0660,
 * SQLite's -wal and -shm (made with the database's mode) likewise.  A
 * store made wider before is narrowed where this user owns it, and
 * reported where not.
 */
static void store_modes(const char *dir, const char *path)
{
	const char *sfx[] = {"-wal", "-shm"};
	char side[PATH_MAX + 8];
	size_t i;
	int fd;

	if (!mkdir(dir, 02770))
		chmod(dir, 02770); /* mkdir honours the umask */
	else if (errno != EEXIST)
		shim_warn("token dir %s: %s", dir, strerror(errno));
	else
		no_others(dir, -1);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd >= 0) {
		fchmod(fd, 0660);
		close(fd);
	} else {
		no_others(path, -1);
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
		if (!access(side, F_OK))
			no_others(side, -1);
	}
}

static CK_RV sq_open(const char *dir, const uint8_t mkvp[HSMG_MKVP_LEN], struct shim_store **out)
{
	struct sq_store *s;
	sqlite3_stmt *st;
	char hex[2 * HSMG_MKVP_LEN + 1];
	int version = -1, i, n;
	CK_RV rv;

	s = calloc(1, sizeof(*s));
	if (!s)
		return CKR_HOST_MEMORY;
	for (i = 0; i < HSMG_MKVP_LEN; i++)
		sprintf(hex + 2 * i, "%02x", mkvp[i]);
	n = snprintf(s->path, sizeof(s->path), "%s/token-%s.db", dir, hex);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		free(s);
		return CKR_GENERAL_ERROR;
	}
	store_modes(dir, s->path);
	if (sqlite3_open_v2(s->path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		shim_err("token store %s: %s", s->path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite3_close(s->db);
		free(s);
		return CKR_DEVICE_ERROR;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	rv = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		     " PRAGMA foreign_keys = ON;");
	if (rv == CKR_OK)
		rv = begin(s);
	if (rv == CKR_OK) {
		rv = prepare(s, "PRAGMA user_version", &st);
		if (rv == CKR_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				version = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		if (rv == CKR_OK && version == 0)
			rv = exec(s, schema_v1);
		else if (rv == CKR_OK && version != SQ_SCHEMA) {
			shim_err("token store %s: schema %d, this module knows %d", s->path,
				 version, SQ_SCHEMA);
			rv = CKR_DEVICE_ERROR;
		}
		if (rv == CKR_OK)
			rv = check_mkvp(s, mkvp);
		rv = end(s, rv);
	}
	if (rv != CKR_OK) {
		sqlite3_close(s->db);
		free(s);
		return rv;
	}
	s->base.ops = &shim_store_sqlite;
	*out = &s->base;
	return CKR_OK;
}

static void sq_close(struct shim_store *h)
{
	struct sq_store *s = (struct sq_store *)h;

	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

static void sq_abandon(struct shim_store *h)
{
	struct sq_store *s = (struct sq_store *)h;

	/* Deliberately leaks the connection: closing it could checkpoint or
	 * unlink files the parent is using. */
	if (s) {
		s->abandoned_next = abandoned;
		abandoned = s;
	}
}

static bool sq_initialized(struct shim_store *h, uint8_t label[32])
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	bool ok = false;

	memset(label, ' ', 32);
	if (prepare(s,
		    "SELECT value, (SELECT count(*) FROM pins WHERE user = 0)"
		    " FROM meta WHERE name = 'label'",
		    &st) != CKR_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1) == 1 &&
	    sqlite3_column_bytes(st, 0) == 32) {
		memcpy(label, sqlite3_column_blob(st, 0), 32);
		ok = true;
	}
	sqlite3_finalize(st);
	return ok;
}

static CK_RV put_pin_locked(struct sq_store *s, CK_USER_TYPE user, const struct shim_pin_record *r)
{
	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, "INSERT OR REPLACE INTO pins(user, record, failures) VALUES(?, ?, 0)", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)user);
	sqlite3_bind_blob(st, 2, r, (int)shim_pin_record_size(r), SQLITE_STATIC);
	return step_done(s, st);
}

static CK_RV sq_init_token(struct shim_store *h, const uint8_t label[32],
			   const struct shim_pin_record *so)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = begin(s);
	if (rv != CKR_OK)
		return rv;
	rv = exec(s, "DELETE FROM objects; DELETE FROM pins;"
		     " DELETE FROM meta WHERE name NOT IN ('mkvp', 'label');");
	if (rv == CKR_OK)
		rv = prepare(s, "INSERT OR REPLACE INTO meta(name, value) VALUES('label', ?)", &st);
	if (rv == CKR_OK) {
		sqlite3_bind_blob(st, 1, label, 32, SQLITE_STATIC);
		rv = step_done(s, st);
	}
	if (rv == CKR_OK)
		rv = put_pin_locked(s, CKU_SO, so);
	return end(s, rv);
}

static CK_RV sq_get_pin(struct shim_store *h, CK_USER_TYPE user, struct shim_pin_record *r,
			uint32_t *failures)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;
	int step;

	rv = prepare(s, "SELECT record, failures FROM pins WHERE user = ?", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)user);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && shim_pin_record_load(r, sqlite3_column_blob(st, 0),
						       (size_t)sqlite3_column_bytes(st, 0))) {
		if (failures)
			*failures = (uint32_t)sqlite3_column_int64(st, 1);
		rv = CKR_OK;
	} else if (step == SQLITE_ROW || step == SQLITE_DONE) {
		rv = CKR_USER_PIN_NOT_INITIALIZED;
	} else {
		rv = db_err(s, "read pin");
	}
	sqlite3_finalize(st);
	return rv;
}

static CK_RV sq_put_pin(struct shim_store *h, CK_USER_TYPE user, const struct shim_pin_record *r)
{
	struct sq_store *s = (struct sq_store *)h;

	CK_RV rv = begin(s);

	if (rv != CKR_OK)
		return rv;
	return end(s, put_pin_locked(s, user, r));
}

static CK_RV sq_pin_failed(struct shim_store *h, CK_USER_TYPE user, uint32_t *failures)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = begin(s);
	if (rv != CKR_OK)
		return rv;
	rv = prepare(s, "UPDATE pins SET failures = failures + 1 WHERE user = ?", &st);
	if (rv == CKR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)user);
		rv = step_done(s, st);
	}
	if (rv == CKR_OK)
		rv = prepare(s, "SELECT failures FROM pins WHERE user = ?", &st);
	if (rv == CKR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)user);
		if (sqlite3_step(st) == SQLITE_ROW)
			*failures = (uint32_t)sqlite3_column_int64(st, 0);
		else
			rv = CKR_USER_PIN_NOT_INITIALIZED;
		sqlite3_finalize(st);
	}
	return end(s, rv);
}

static CK_RV sq_pin_reset(struct shim_store *h, CK_USER_TYPE user)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, "UPDATE pins SET failures = 0 WHERE user = ? AND failures != 0", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)user);
	return step_done(s, st);
}

static CK_RV sq_get_cardpin(struct shim_store *h, struct shim_cardpin_record *r)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;
	int step;

	rv = prepare(s, "SELECT value FROM meta WHERE name = 'cardpin'", &st);
	if (rv != CKR_OK)
		return rv;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == sizeof(*r)) {
		memcpy(r, sqlite3_column_blob(st, 0), sizeof(*r));
	} else if (step == SQLITE_ROW) {
		shim_err("token store %s: card-PIN record of a wrong size", s->path);
		rv = CKR_DEVICE_ERROR;
	} else if (step == SQLITE_DONE) {
		rv = CKR_USER_PIN_NOT_INITIALIZED;
	} else {
		rv = db_err(s, "read card-PIN");
	}
	sqlite3_finalize(st);
	return rv;
}

static CK_RV put_cardpin_locked(struct sq_store *s, const struct shim_cardpin_record *r)
{
	sqlite3_stmt *st;
	CK_RV rv;

	if (!r)
		return exec(s, "DELETE FROM meta WHERE name = 'cardpin'");
	rv = prepare(s, "INSERT OR REPLACE INTO meta(name, value) VALUES('cardpin', ?)", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_blob(st, 1, r, sizeof(*r), SQLITE_STATIC);
	return step_done(s, st);
}

static CK_RV sq_put_cardpin(struct shim_store *h, const struct shim_cardpin_record *r)
{
	struct sq_store *s = (struct sq_store *)h;

	CK_RV rv = begin(s);

	if (rv != CKR_OK)
		return rv;
	return end(s, put_cardpin_locked(s, r));
}

static CK_RV sq_put_user_pin(struct shim_store *h, const struct shim_pin_record *r,
			     const struct shim_cardpin_record *cp)
{
	struct sq_store *s = (struct sq_store *)h;

	CK_RV rv = begin(s);

	if (rv != CKR_OK)
		return rv;
	rv = put_pin_locked(s, CKU_USER, r);
	if (rv == CKR_OK)
		rv = put_cardpin_locked(s, cp);
	return end(s, rv);
}

static CK_RV sq_get_meta(struct shim_store *h, const char *name, uint8_t *val, size_t cap,
			 size_t *len)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;
	int step;

	rv = prepare(s, "SELECT value FROM meta WHERE name = ?", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) <= cap) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		if (*len)
			memcpy(val, sqlite3_column_blob(st, 0), *len);
	} else if (step == SQLITE_ROW) {
		rv = CKR_BUFFER_TOO_SMALL;
	} else if (step == SQLITE_DONE) {
		rv = CKR_DATA_INVALID;
	} else {
		rv = db_err(s, "read meta");
	}
	sqlite3_finalize(st);
	return rv;
}

static CK_RV sq_put_meta(struct shim_store *h, const char *name, const uint8_t *val, size_t len)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s,
		     val ? "INSERT OR REPLACE INTO meta(name, value) VALUES(?, ?)"
			 : "DELETE FROM meta WHERE name = ?",
		     &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (val)
		sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
	return step_done(s, st);
}

static CK_RV sq_obj_insert(struct shim_store *h, bool priv, const uint8_t *blob, size_t len,
			   int64_t *id)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, "INSERT INTO objects(private, attrs) VALUES(?, ?)", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int(st, 1, priv);
	sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
	rv = step_done(s, st);
	if (rv == CKR_OK)
		*id = sqlite3_last_insert_rowid(s->db);
	return rv;
}

static CK_RV sq_obj_update(struct shim_store *h, int64_t id, bool priv, const uint8_t *blob,
			   size_t len)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, "UPDATE objects SET private = ?, attrs = ? WHERE id = ?", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int(st, 1, priv);
	sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rv = step_done(s, st);
	if (rv == CKR_OK && sqlite3_changes(s->db) != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	return rv;
}

static CK_RV sq_obj_delete(struct shim_store *h, int64_t id)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, "DELETE FROM objects WHERE id = ?", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, id);
	rv = step_done(s, st);
	if (rv == CKR_OK && sqlite3_changes(s->db) != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
	return rv;
}

static CK_RV sq_obj_get(struct shim_store *h, int64_t id, uint8_t **blob, size_t *len)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;
	int step, n;

	rv = prepare(s, "SELECT attrs FROM objects WHERE id = ?", &st);
	if (rv != CKR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		n = sqlite3_column_bytes(st, 0);
		*blob = malloc(n ? (size_t)n : 1);
		if (!*blob) {
			rv = CKR_HOST_MEMORY;
		} else {
			/* An empty BLOB reads as NULL: no memcpy from it. */
			if (n)
				memcpy(*blob, sqlite3_column_blob(st, 0), (size_t)n);
			*len = (size_t)n;
		}
	} else if (step == SQLITE_DONE) {
		rv = CKR_OBJECT_HANDLE_INVALID;
	} else {
		rv = db_err(s, "read object");
	}
	sqlite3_finalize(st);
	return rv;
}

static CK_RV sq_obj_foreach(struct shim_store *h, bool with_private, shim_store_obj_fn fn,
			    void *ctx)
{
	struct sq_store *s = (struct sq_store *)h;

	sqlite3_stmt *st;
	CK_RV rv;
	int step;

	rv = prepare(s,
		     with_private ? "SELECT id, attrs FROM objects ORDER BY id"
				  : "SELECT id, attrs FROM objects WHERE private = 0 ORDER BY id",
		     &st);
	if (rv != CKR_OK)
		return rv;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rv = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
			(size_t)sqlite3_column_bytes(st, 1));
		if (rv != CKR_OK)
			break;
	}
	if (rv == CKR_OK && step != SQLITE_DONE)
		rv = db_err(s, "list objects");
	sqlite3_finalize(st);
	return rv;
}

/* Append the rows of @sql (key or name, value, priv/failures) to @list. */
static CK_RV export_rows(struct sq_store *s, const char *sql, int kind,
			 struct shim_store_row **list, size_t *n)
{
	struct shim_store_row r;
	sqlite3_stmt *st = NULL;
	int step = SQLITE_DONE;
	CK_RV rv;

	rv = prepare(s, sql, &st);
	while (rv == CKR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		if (kind == 0)
			snprintf(r.name, sizeof(r.name), "%s",
				 (const char *)sqlite3_column_text(st, 0));
		else
			r.key = sqlite3_column_int64(st, 0);
		if (kind == 1)
			r.failures = (uint32_t)sqlite3_column_int64(st, 2);
		if (kind == 2)
			r.priv = sqlite3_column_int(st, 2) != 0;
		r.len = (size_t)sqlite3_column_bytes(st, 1);
		rv = shim_store_image_add(list, n, &r, sqlite3_column_blob(st, 1));
	}
	if (rv == CKR_OK && step != SQLITE_DONE)
		rv = db_err(s, "export");
	sqlite3_finalize(st);
	return rv;
}

static CK_RV sq_export(struct shim_store *h, struct shim_store_image *img)
{
	struct sq_store *s = (struct sq_store *)h;
	CK_RV rv;

	rv = exec(s, "BEGIN");
	if (rv != CKR_OK)
		return rv;
	rv = export_rows(s, "SELECT name, value FROM meta WHERE name <> 'mkvp' ORDER BY name", 0,
			 &img->meta, &img->nmeta);
	if (rv == CKR_OK)
		rv = export_rows(s, "SELECT user, record, failures FROM pins ORDER BY user", 1,
				 &img->pins, &img->npins);
	if (rv == CKR_OK)
		rv = export_rows(s, "SELECT id, attrs, private FROM objects ORDER BY id", 2,
				 &img->objs, &img->nobjs);
	rv = end(s, rv);
	if (rv != CKR_OK)
		shim_store_image_free(img);
	return rv;
}

static CK_RV import_row(struct sq_store *s, const char *sql, const struct shim_store_row *r,
			int kind)
{
	sqlite3_stmt *st;
	CK_RV rv;

	rv = prepare(s, sql, &st);
	if (rv != CKR_OK)
		return rv;
	if (kind == 0)
		sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, r->key);
	sqlite3_bind_blob(st, 2, r->val, (int)r->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, kind == 1 ? (sqlite3_int64)r->failures : r->priv);
	return step_done(s, st);
}

static CK_RV sq_import(struct shim_store *h, const struct shim_store_image *img)
{
	struct sq_store *s = (struct sq_store *)h;
	sqlite3_stmt *st;
	CK_RV rv;
	size_t i;

	rv = begin(s);
	if (rv != CKR_OK)
		return rv;
	rv = prepare(s,
		     "SELECT (SELECT count(*) FROM meta WHERE name <> 'mkvp')"
		     " + (SELECT count(*) FROM pins) + (SELECT count(*) FROM objects)",
		     &st);
	if (rv == CKR_OK) {
		if (sqlite3_step(st) != SQLITE_ROW)
			rv = db_err(s, "count");
		else if (sqlite3_column_int64(st, 0))
			rv = CKR_TOKEN_WRITE_PROTECTED;
		sqlite3_finalize(st);
	}
	for (i = 0; rv == CKR_OK && i < img->nmeta; i++)
		rv = import_row(s, "INSERT INTO meta(name, value) VALUES(?, ?)", &img->meta[i], 0);
	for (i = 0; rv == CKR_OK && i < img->npins; i++)
		rv = import_row(s, "INSERT INTO pins(user, record, failures) VALUES(?, ?, ?)",
				&img->pins[i], 1);
	for (i = 0; rv == CKR_OK && i < img->nobjs; i++)
		rv = import_row(s, "INSERT INTO objects(id, attrs, private) VALUES(?, ?, ?)",
				&img->objs[i], 2);
	return end(s, rv);
}

const struct shim_store_ops shim_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .abandon = sq_abandon,
    .initialized = sq_initialized,
    .init_token = sq_init_token,
    .get_pin = sq_get_pin,
    .put_pin = sq_put_pin,
    .pin_failed = sq_pin_failed,
    .pin_reset = sq_pin_reset,
    .get_cardpin = sq_get_cardpin,
    .put_cardpin = sq_put_cardpin,
    .put_user_pin = sq_put_user_pin,
    .get_meta = sq_get_meta,
    .put_meta = sq_put_meta,
    .obj_insert = sq_obj_insert,
    .obj_update = sq_obj_update,
    .obj_delete = sq_obj_delete,
    .obj_get = sq_obj_get,
    .obj_foreach = sq_obj_foreach,
    .export_token = sq_export,
    .import_token = sq_import,
};
