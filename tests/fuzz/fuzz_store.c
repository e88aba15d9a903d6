// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_store - libFuzzer target of what the token store (lib/store/store.c)
 * and the objects in it (object.c) decode from a database that another
 * process, a crash or a hostile user with write access may have left: any
 * label, PIN record, failure count, MKVP and object row, with any SQLite
 * type (BLOB, TEXT, NULL, INTEGER).
 *
 * The input is a list of rows to write with a separate SQLite connection
 * before the store reads them back:
 *   [0]   flags: bit 0 reopen the store (its MKVP check runs)
 *   then records: kind (1 byte), length (1 byte), value
 *   kind & 7:  0 label, 1 SO PIN record, 2 user PIN record, 3 public object,
 *              4 private object, 5 MKVP, 6 failure count (of the SO PIN if
 *              bit 3 is clear, else of the user PIN)
 *   kind >> 6: 0 BLOB, 1 TEXT, 2 NULL, 3 INTEGER (of the first 8 bytes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "object.h"
#include "store.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_store: check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const uint8_t mkvp[HSMG_MKVP_LEN] = "hsmgroup fuzz mkvp 0123456789abc";
static char dir[64], path[256];
static struct shim_store *store;
static sqlite3 *w;

static void exec_sql(const char *sql)
{
	CHECK(sqlite3_exec(w, sql, NULL, NULL, NULL) == SQLITE_OK);
}

static void reopen(void)
{
	if (store)
		shim_store_close(store);
	store = NULL;
	if (shim_store_open(dir, mkvp, &store) != CKR_OK)
		store = NULL;
}

static void cleanup(void)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char f[300];
	size_t i;

	sqlite3_close(w);
	if (store)
		shim_store_close(store);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		unlink(f);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char hex[2 * HSMG_MKVP_LEN + 1];
	int i;

	snprintf(dir, sizeof(dir), "%s/hsmg-fuzz-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir));
	for (i = 0; i < HSMG_MKVP_LEN; i++)
		sprintf(hex + 2 * i, "%02x", mkvp[i]);
	snprintf(path, sizeof(path), "%s/token-%s.db", dir, hex);
	reopen();
	CHECK(store);
	CHECK(sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	sqlite3_busy_timeout(w, 10000);
	exec_sql("PRAGMA synchronous = OFF");
	atexit(cleanup);
	return 0;
}

/* Write one row; a constraint (NOT NULL) may refuse it, which is fine. */
static void put_row(uint8_t kind, const uint8_t *val, size_t len)
{
	static const char *const sql[] = {
	    "INSERT OR REPLACE INTO meta(name, value) VALUES('label', ?)",
	    "INSERT OR REPLACE INTO pins(user, record, failures) VALUES(0, ?, 0)",
	    "INSERT OR REPLACE INTO pins(user, record, failures) VALUES(1, ?, 0)",
	    "INSERT INTO objects(private, attrs) VALUES(0, ?)",
	    "INSERT INTO objects(private, attrs) VALUES(1, ?)",
	    "INSERT OR REPLACE INTO meta(name, value) VALUES('mkvp', ?)",
	    "UPDATE pins SET failures = ? WHERE user = 0",
	    "UPDATE pins SET failures = ? WHERE user = 1",
	};
	unsigned int k = kind & 7;
	sqlite3_stmt *st;
	int64_t i64 = 0;

	if (k == 7)
		return;
	if (k == 6 && (kind & 8))
		k = 7;
	CHECK(sqlite3_prepare_v2(w, sql[k], -1, &st, NULL) == SQLITE_OK);
	switch (kind >> 6) {
	case 0:
		sqlite3_bind_blob(st, 1, val, (int)len, SQLITE_TRANSIENT);
		break;
	case 1:
		sqlite3_bind_text(st, 1, (const char *)val, (int)len, SQLITE_TRANSIENT);
		break;
	case 2:
		sqlite3_bind_null(st, 1);
		break;
	default:
		memcpy(&i64, val, len < 8 ? len : 8);
		sqlite3_bind_int64(st, 1, i64);
		break;
	}
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

struct walk {
	unsigned int n;
};

static CK_RV each(void *ctx, int64_t id, const uint8_t *blob, size_t len)
{
	struct walk *wk = ctx;
	struct shim_object *o;
	uint8_t *got = NULL;
	size_t glen = 0;
	CK_ATTRIBUTE t = {CKA_CLASS, NULL, 0};

	wk->n++;
	CHECK(shim_store_obj_get(store, id, &got, &glen) == CKR_OK);
	CHECK(glen == len && (!len || memcmp(got, blob, len) == 0));
	if (shim_obj_deserialize(got, glen, &o) == CKR_OK) {
		(void)shim_obj_match(o, &t, 1);
		(void)shim_obj_get_attrs(o, &t, 1, NULL, 0);
		(void)shim_obj_is_private(o);
		shim_obj_free(o);
	}
	shim_obj_blob_free(got, glen);
	return CKR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_pin_record r;
	struct walk wk = {0};
	uint8_t label[32];
	uint32_t failures;
	size_t off = 1, len;
	CK_RV rv;

	if (!size || !store)
		return 0;
	exec_sql("BEGIN IMMEDIATE; DELETE FROM objects; DELETE FROM pins;"
		 " DELETE FROM meta WHERE name = 'label'");
	while (off + 2 <= size) {
		len = data[off + 1];
		if (len > size - off - 2)
			len = size - off - 2;
		put_row(data[off], data + off + 2, len);
		off += 2 + len;
	}
	exec_sql("COMMIT");

	if (data[0] & 1)
		reopen();
	if (store) {
		(void)shim_store_initialized(store, label);
		for (int user = 0; user < 3; user++) {
			rv = shim_store_get_pin(store, (CK_USER_TYPE)user, &r, &failures);
			CHECK(rv == CKR_OK || rv == CKR_USER_PIN_NOT_INITIALIZED);
		}
		CHECK(shim_store_obj_foreach(store, true, each, &wk) == CKR_OK);
		CHECK(shim_store_obj_foreach(store, false, each, &wk) == CKR_OK);
	}
	/* Put the right MKVP back for the next input. */
	if (!store || (data[0] & 1)) {
		exec_sql("INSERT OR REPLACE INTO meta(name, value) VALUES('mkvp', NULL);"
			 "DELETE FROM meta WHERE name = 'mkvp'");
		reopen();
		CHECK(store);
	}
	return 0;
}
