// SPDX-License-Identifier: GPL-2.0
/*
 * test_store - the token store's contract (lib/store/store.h), the same
 * cases over both implementations: SQLite in a temporary directory and
 * PostgreSQL in a throwaway server this test starts (scripts/pg-server,
 * Debian's postgresql-15, a role without superuser rights, its password in
 * a passfile).  Then what only a shared store has: two handles on one
 * token as two hosts see it, concurrent writers in two processes, a copy
 * SQLite -> PostgreSQL -> SQLite verified row by row, the database stopped
 * and started under a handle, a primary switching to its standby, and a
 * schema newer than this code.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "config.h"
#include "store.h"

static char tmp[64];
static char pgdir[96], sbdir[96];
static char pg[512]; /* the server's connection string, "postgresql:..." */
static bool pg_up;
static int mkvp_seq;

/* Each test its own token (MKVP), so that tests share one database. */
static void new_mkvp(uint8_t mkvp[HSMG_MKVP_LEN])
{
	memset(mkvp, 0x5a, HSMG_MKVP_LEN);
	mkvp[0] = (uint8_t)getpid();
	mkvp[1] = (uint8_t)(getpid() >> 8);
	mkvp[2] = (uint8_t)++mkvp_seq;
	mkvp[3] = (uint8_t)(time(NULL) & 0xff);
}

static int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void pg_start(void)
{
	char cmd[256];
	FILE *f;

	snprintf(pgdir, sizeof(pgdir), "%s/pg", tmp);
	snprintf(cmd, sizeof(cmd), "scripts/pg-server start %s", pgdir);
	f = popen(cmd, "r");
	if (!f || !fgets(pg, sizeof(pg), f)) {
		fprintf(stderr, "test_store: the PostgreSQL server did not start\n");
		if (f)
			pclose(f);
		return;
	}
	pg[strcspn(pg, "\n")] = 0;
	pg_up = pclose(f) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void suite_setup(void)
{
	strcpy(tmp, "/tmp/hsmg-store-test.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("test_store: mkdtemp");
		exit(EXIT_FAILURE);
	}
	chmod(tmp, 0755); /* the server runs as user postgres */
	pg_start();
}

static void suite_teardown(void)
{
	if (pg_up)
		sh("scripts/pg-server stop %s >/dev/null 2>&1", pgdir);
	if (sbdir[0])
		sh("scripts/pg-server stop %s >/dev/null 2>&1", sbdir);
	nftw(tmp, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Implementation @i: 0 SQLite, 1 PostgreSQL. */
static const char *loc(int i)
{
	static char sq[96];

	if (i == 0) {
		snprintf(sq, sizeof(sq), "%s/sqlite", tmp);
		return sq;
	}
	ck_assert_msg(pg_up, "no PostgreSQL server (scripts/pg-server start failed)");
	return pg;
}

static struct shim_store *open_at(const char *where, const uint8_t *mkvp)
{
	struct shim_store *s = NULL;

	ck_assert_int_eq(shim_store_open(where, mkvp, &s), CKR_OK);
	return s;
}

static void pin_rec(struct shim_pin_record *r, uint8_t fill)
{
	memset(r, 0, sizeof(*r));
	r->version = SHIM_PIN_V2_CARD;
	memset(r->card, fill, sizeof(r->card));
}

static void init_token(struct shim_store *s)
{
	struct shim_pin_record so;
	uint8_t label[32];

	memset(label, ' ', sizeof(label));
	memcpy(label, "store test", 10);
	pin_rec(&so, 0x11);
	ck_assert_int_eq(shim_store_init_token(s, label, &so), CKR_OK);
}

struct seen {
	int64_t ids[512];
	size_t n;
};

static CK_RV note(void *ctx, int64_t id, const uint8_t *blob, size_t len)
{
	struct seen *s = ctx;

	(void)blob;
	(void)len;
	if (s->n < 512)
		s->ids[s->n++] = id;
	return CKR_OK;
}

static bool listed(struct shim_store *s, bool priv, int64_t id, size_t *count)
{
	struct seen v = {.n = 0};
	bool found = false;

	ck_assert_int_eq(shim_store_obj_foreach(s, priv, note, &v), CKR_OK);
	for (size_t i = 0; i < v.n; i++)
		found |= v.ids[i] == id;
	if (count)
		*count = v.n;
	return found;
}

START_TEST(contract)
{
	uint8_t mkvp[HSMG_MKVP_LEN], label[32], val[64], *blob;
	struct shim_pin_record r, got;
	struct shim_cardpin_record cp, cpgot;
	struct shim_store *s;
	int64_t a, b, c;
	uint32_t failures = 99;
	size_t len;

	new_mkvp(mkvp);
	s = open_at(loc(_i), mkvp);
	ck_assert(!shim_store_initialized(s, label));
	ck_assert_int_eq(shim_store_get_pin(s, CKU_USER, &got, &failures),
			 CKR_USER_PIN_NOT_INITIALIZED);
	init_token(s);
	ck_assert(shim_store_initialized(s, label));
	ck_assert(!memcmp(label, "store test  ", 12));
	/* PINs and their counts. */
	ck_assert_int_eq(shim_store_get_pin(s, CKU_SO, &got, &failures), CKR_OK);
	ck_assert_uint_eq(failures, 0);
	ck_assert_uint_eq(got.card[0], 0x11);
	pin_rec(&r, 0x22);
	ck_assert_int_eq(shim_store_put_pin(s, CKU_USER, &r), CKR_OK);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(shim_store_pin_failed(s, CKU_USER, &failures), CKR_OK);
		ck_assert_uint_eq(failures, (uint32_t)i);
	}
	ck_assert_int_eq(shim_store_get_pin(s, CKU_USER, &got, &failures), CKR_OK);
	ck_assert_uint_eq(failures, 3);
	ck_assert(!memcmp(&got, &r, sizeof(r)));
	ck_assert_int_eq(shim_store_pin_reset(s, CKU_USER), CKR_OK);
	ck_assert_int_eq(shim_store_get_pin(s, CKU_USER, &got, &failures), CKR_OK);
	ck_assert_uint_eq(failures, 0);
	/* The card-PIN. */
	ck_assert_int_eq(shim_store_get_cardpin(s, &cpgot), CKR_USER_PIN_NOT_INITIALIZED);
	memset(&cp, 0x33, sizeof(cp));
	ck_assert_int_eq(shim_store_put_cardpin(s, &cp), CKR_OK);
	ck_assert_int_eq(shim_store_get_cardpin(s, &cpgot), CKR_OK);
	ck_assert(!memcmp(&cp, &cpgot, sizeof(cp)));
	ck_assert_int_eq(shim_store_put_user_pin(s, &r, NULL), CKR_OK);
	ck_assert_int_eq(shim_store_get_cardpin(s, &cpgot), CKR_USER_PIN_NOT_INITIALIZED);
	/* Values. */
	ck_assert_int_eq(shim_store_get_meta(s, "rebind", val, sizeof(val), &len),
			 CKR_DATA_INVALID);
	ck_assert_int_eq(shim_store_put_meta(s, "rebind", (const uint8_t *)"12345", 5), CKR_OK);
	ck_assert_int_eq(shim_store_get_meta(s, "rebind", val, 4, &len), CKR_BUFFER_TOO_SMALL);
	ck_assert_int_eq(shim_store_get_meta(s, "rebind", val, sizeof(val), &len), CKR_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(shim_store_put_meta(s, "rebind", NULL, 0), CKR_OK);
	ck_assert_int_eq(shim_store_get_meta(s, "rebind", val, sizeof(val), &len),
			 CKR_DATA_INVALID);
	/* Objects: ids positive, increasing, never reused. */
	ck_assert_int_eq(shim_store_obj_insert(s, false, (const uint8_t *)"public", 6, &a), CKR_OK);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"private", 7, &b), CKR_OK);
	ck_assert_int_gt(a, 0);
	ck_assert_int_gt(b, a);
	ck_assert(listed(s, false, a, &len) && len == 1);
	ck_assert(listed(s, true, b, &len) && len == 2);
	ck_assert_int_eq(shim_store_obj_update(s, b, true, (const uint8_t *)"changed!", 8), CKR_OK);
	ck_assert_int_eq(shim_store_obj_get(s, b, &blob, &len), CKR_OK);
	ck_assert_uint_eq(len, 8);
	ck_assert(!memcmp(blob, "changed!", 8));
	free(blob);
	ck_assert_int_eq(shim_store_obj_delete(s, b), CKR_OK);
	ck_assert_int_eq(shim_store_obj_delete(s, b), CKR_OBJECT_HANDLE_INVALID);
	ck_assert_int_eq(shim_store_obj_get(s, b, &blob, &len), CKR_OBJECT_HANDLE_INVALID);
	ck_assert_int_eq(shim_store_obj_update(s, b, true, (const uint8_t *)"x", 1),
			 CKR_OBJECT_HANDLE_INVALID);
	ck_assert_int_eq(shim_store_obj_insert(s, false, (const uint8_t *)"", 0, &c), CKR_OK);
	ck_assert_int_gt(c, b);
	ck_assert_int_eq(shim_store_obj_get(s, c, &blob, &len), CKR_OK);
	ck_assert_uint_eq(len, 0);
	free(blob);
	ck_assert(!listed(s, true, b, &len) && len == 2);
	/* C_InitToken empties the token. */
	init_token(s);
	ck_assert(!listed(s, true, a, &len) && len == 0);
	ck_assert_int_eq(shim_store_get_pin(s, CKU_USER, &got, &failures),
			 CKR_USER_PIN_NOT_INITIALIZED);
	shim_store_close(s);
	/* And it all persists. */
	s = open_at(loc(_i), mkvp);
	ck_assert(shim_store_initialized(s, label));
	shim_store_close(s);
}
END_TEST

/* Poll @s until object @id reads as @want (NULL: gone); false after 10 s. */
static bool reads_as(struct shim_store *s, int64_t id, const char *want)
{
	uint8_t *blob;
	size_t len;
	CK_RV rv;

	for (int i = 0; i < 1000; i++) {
		rv = shim_store_obj_get(s, id, &blob, &len);
		if (rv == CKR_OK) {
			bool same = want && len == strlen(want) && !memcmp(blob, want, len);

			free(blob);
			if (same)
				return true;
		} else if (rv == CKR_OBJECT_HANDLE_INVALID && !want) {
			return true;
		}
		usleep(10000);
	}
	return false;
}

/* Two handles on one token: two hosts (or processes) as each sees the
 * other's commits. */
START_TEST(two_hosts)
{
	uint8_t mkvp[HSMG_MKVP_LEN], label[32];
	struct shim_store *a, *b;
	int64_t id;
	uint32_t failures;

	new_mkvp(mkvp);
	a = open_at(loc(_i), mkvp);
	b = open_at(loc(_i), mkvp);
	ck_assert(!shim_store_initialized(b, label));
	init_token(a);
	ck_assert(shim_store_initialized(b, label));
	/* A key made on A: found on B at once (C_FindObjects), used there. */
	ck_assert(!listed(b, true, 0, NULL));
	ck_assert_int_eq(shim_store_obj_insert(a, true, (const uint8_t *)"key one", 7, &id),
			 CKR_OK);
	ck_assert(listed(b, true, id, NULL));
	ck_assert(reads_as(b, id, "key one"));
	/* Changed and destroyed on A: B's listing at once, its reads follow. */
	ck_assert_int_eq(shim_store_obj_update(a, id, true, (const uint8_t *)"key 1bis", 8),
			 CKR_OK);
	ck_assert(reads_as(b, id, "key 1bis"));
	ck_assert_int_eq(shim_store_obj_delete(a, id), CKR_OK);
	ck_assert(!listed(b, true, id, NULL));
	ck_assert(reads_as(b, id, NULL));
	ck_assert_int_eq(shim_store_obj_delete(b, id), CKR_OBJECT_HANDLE_INVALID);
	/* One failure count for both. */
	ck_assert_int_eq(shim_store_pin_failed(a, CKU_SO, &failures), CKR_OK);
	ck_assert_int_eq(shim_store_pin_failed(b, CKU_SO, &failures), CKR_OK);
	ck_assert_uint_eq(failures, 2);
	shim_store_close(a);
	shim_store_close(b);
}
END_TEST

#define WRITES 40

/* Two processes create and destroy objects and count failures at once: no
 * object lost or doubled, ids unique, every failure counted. */
START_TEST(concurrent_writers)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_store *s;
	struct seen v = {.n = 0};
	uint32_t failures;
	pid_t kids[2];
	int st;

	new_mkvp(mkvp);
	s = open_at(loc(_i), mkvp);
	init_token(s);
	shim_store_close(s);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (kids[k] == 0) {
			struct shim_store *c = NULL;
			int64_t id, prev = 0;
			char body[32];
			int bad = 0;

			if (shim_store_open(loc(_i), mkvp, &c) != CKR_OK)
				_exit(10);
			for (int i = 0; i < WRITES; i++) {
				snprintf(body, sizeof(body), "w%d-%d", k, i);
				if (shim_store_obj_insert(c, i & 1, (const uint8_t *)body,
							  strlen(body), &id) != CKR_OK)
					bad++;
				/* Every other one destroyed again. */
				if (i & 1 && shim_store_obj_delete(c, id) != CKR_OK)
					bad++;
				if (id <= prev)
					bad++;
				prev = id;
				if (shim_store_pin_failed(c, CKU_SO, &failures) != CKR_OK)
					bad++;
			}
			shim_store_close(c);
			_exit(bad ? 11 : 0);
		}
	}
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
		ck_assert_msg(WIFEXITED(st) && !WEXITSTATUS(st), "writer %d: status %d", k, st);
	}
	s = open_at(loc(_i), mkvp);
	ck_assert_int_eq(shim_store_obj_foreach(s, true, note, &v), CKR_OK);
	ck_assert_uint_eq(v.n, WRITES); /* 2 writers x WRITES/2 kept */
	for (size_t i = 1; i < v.n; i++)
		ck_assert_int_gt(v.ids[i], v.ids[i - 1]);
	ck_assert_int_eq(shim_store_pin_failed(s, CKU_SO, &failures), CKR_OK);
	ck_assert_uint_eq(failures, 2 * WRITES + 1);
	shim_store_close(s);
}
END_TEST

static void fill_token(struct shim_store *s, int64_t ids[3])
{
	struct shim_pin_record r;
	struct shim_cardpin_record cp;

	init_token(s);
	pin_rec(&r, 0x44);
	memset(&cp, 0x55, sizeof(cp));
	ck_assert_int_eq(shim_store_put_user_pin(s, &r, &cp), CKR_OK);
	ck_assert_int_eq(shim_store_pin_failed(s, CKU_USER, &(uint32_t){0}), CKR_OK);
	ck_assert_int_eq(shim_store_put_meta(s, "rebind", (const uint8_t *)"\1\2", 2), CKR_OK);
	ck_assert_int_eq(shim_store_obj_insert(s, false, (const uint8_t *)"pub", 3, &ids[0]),
			 CKR_OK);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"priv", 4, &ids[1]),
			 CKR_OK);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"gone", 4, &ids[2]),
			 CKR_OK);
	ck_assert_int_eq(shim_store_obj_delete(s, ids[2]), CKR_OK);
}

/* SQLite -> PostgreSQL -> SQLite: equal row by row, ids kept, new ids
 * above them, a store that holds the token refused. */
START_TEST(copy_between_stores)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_store_image a, b, c;
	struct shim_store *sq, *p, *back;
	char why[160], dir2[128];
	int64_t ids[3], id;

	new_mkvp(mkvp);
	sq = open_at(loc(0), mkvp);
	fill_token(sq, ids);
	ck_assert_int_eq(shim_store_export(sq, &a), CKR_OK);
	ck_assert_uint_eq(a.nobjs, 2);
	ck_assert_uint_eq(a.npins, 2);
	ck_assert_uint_eq(a.nmeta, 3); /* cardpin, label, rebind */
	p = open_at(loc(1), mkvp);
	ck_assert_int_eq(shim_store_import(p, &a), CKR_OK);
	ck_assert_int_eq(shim_store_import(p, &a), CKR_TOKEN_WRITE_PROTECTED);
	ck_assert_int_eq(shim_store_export(p, &b), CKR_OK);
	ck_assert_msg(shim_store_image_same(&a, &b, why, sizeof(why)), "%s", why);
	ck_assert_int_eq(b.objs[1].key, ids[1]);
	ck_assert(b.objs[1].priv);
	ck_assert_int_eq(shim_store_obj_insert(p, false, (const uint8_t *)"new", 3, &id), CKR_OK);
	ck_assert_int_gt(id, ids[1]);
	ck_assert_int_eq(shim_store_obj_delete(p, id), CKR_OK);
	snprintf(dir2, sizeof(dir2), "%s/sqlite-back", tmp);
	back = open_at(dir2, mkvp);
	ck_assert_int_eq(shim_store_import(back, &b), CKR_OK);
	ck_assert_int_eq(shim_store_export(back, &c), CKR_OK);
	ck_assert_msg(shim_store_image_same(&a, &c, why, sizeof(why)), "%s", why);
	/* A difference is found. */
	c.objs[0].val[0] ^= 1;
	ck_assert(!shim_store_image_same(&a, &c, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "object"));
	shim_store_image_free(&a);
	shim_store_image_free(&b);
	shim_store_image_free(&c);
	shim_store_close(sq);
	shim_store_close(p);
	shim_store_close(back);
}
END_TEST

/* Retry @fn-like writes until the store is back (reconnection is tried at
 * most once a second). */
static CK_RV insert_retry(struct shim_store *s, const char *body, int64_t *id)
{
	CK_RV rv = CKR_DEVICE_ERROR;

	for (int i = 0; i < 100 && rv != CKR_OK; i++) {
		rv = shim_store_obj_insert(s, true, (const uint8_t *)body, strlen(body), id);
		if (rv != CKR_OK)
			usleep(100000);
	}
	return rv;
}

/* The database stopped under a handle: loaded keys go on, the rest fails
 * cleanly; started again: reconnected, nothing committed lost. */
START_TEST(pg_outage)
{
	uint8_t mkvp[HSMG_MKVP_LEN], *blob;
	struct shim_store *s, *other;
	int64_t loaded, id, during;
	size_t len, n;

	new_mkvp(mkvp);
	s = open_at(loc(1), mkvp);
	init_token(s);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"hot key", 7, &loaded),
			 CKR_OK);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"cold key", 8, &id),
			 CKR_OK);
	/* Another process's handle: only the hot key is loaded in it. */
	other = open_at(loc(1), mkvp);
	ck_assert(reads_as(other, loaded, "hot key"));
	ck_assert(shim_store_initialized(other, (uint8_t[32]){0}));
	ck_assert_int_eq(sh("scripts/pg-server stop %s --immediate", pgdir), 0);
	ck_assert_int_eq(shim_store_obj_get(other, loaded, &blob, &len), CKR_OK);
	ck_assert(len == 7 && !memcmp(blob, "hot key", 7));
	free(blob);
	ck_assert_int_eq(shim_store_obj_get(other, id, &blob, &len), CKR_DEVICE_ERROR);
	ck_assert_int_eq(shim_store_obj_foreach(other, true, note, &(struct seen){.n = 0}),
			 CKR_DEVICE_ERROR);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"x", 1, &during),
			 CKR_DEVICE_ERROR);
	ck_assert_int_eq(shim_store_pin_failed(s, CKU_SO, &(uint32_t){0}), CKR_DEVICE_ERROR);
	/* Still answered while away: the label last read. */
	ck_assert(shim_store_initialized(other, (uint8_t[32]){0}));
	ck_assert_int_eq(sh("scripts/pg-server restart %s", pgdir), 0);
	ck_assert_int_eq(insert_retry(s, "after", &during), CKR_OK);
	ck_assert(reads_as(other, id, "cold key"));
	ck_assert(listed(other, true, during, &n));
	ck_assert_uint_eq(n, 3);
	shim_store_close(s);
	shim_store_close(other);
}
END_TEST

/* Poll @s's listing until object @id is (or is not) in it; false after
 * 10 s. */
static bool listed_soon(struct shim_store *s, int64_t id, bool want)
{
	for (int i = 0; i < 1000; i++) {
		if (listed(s, true, id, NULL) == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* store_lookup = notify: listings follow the notifications, no round trip. */
START_TEST(pg_lookup_notify)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_store *a, *b;
	int64_t id;

	new_mkvp(mkvp);
	shim_store_set_lookup_notify(true);
	a = open_at(loc(1), mkvp);
	b = open_at(loc(1), mkvp);
	init_token(a);
	ck_assert(!listed(b, true, 1, NULL));
	ck_assert_int_eq(shim_store_obj_insert(a, true, (const uint8_t *)"n", 1, &id), CKR_OK);
	ck_assert(listed_soon(b, id, true));
	ck_assert_int_eq(shim_store_obj_delete(a, id), CKR_OK);
	ck_assert(listed_soon(b, id, false));
	ck_assert(reads_as(b, id, NULL));
	shim_store_set_lookup_notify(false);
	shim_store_close(a);
	shim_store_close(b);
}
END_TEST

/* A primary switching to its standby: a multi-host location with
 * target_session_attrs=read-write follows it. */
START_TEST(pg_primary_switch)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_store *s;
	char cmd[256], sb[512], multi[1024], pport[16] = "", sport[16] = "";
	int64_t before, after;
	size_t n;
	FILE *f;

	new_mkvp(mkvp);
	snprintf(sbdir, sizeof(sbdir), "%s/standby", tmp);
	snprintf(cmd, sizeof(cmd), "scripts/pg-server standby %s %s", sbdir, pgdir);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(sb, sizeof(sb), f));
	ck_assert_int_eq(pclose(f), 0);
	snprintf(cmd, sizeof(cmd), "%s/port", pgdir);
	f = fopen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(pport, sizeof(pport), f));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/port", sbdir);
	f = fopen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(sport, sizeof(sport), f));
	fclose(f);
	pport[strcspn(pport, "\n")] = 0;
	sport[strcspn(sport, "\n")] = 0;
	snprintf(multi, sizeof(multi),
		 "postgresql:host=%s/sock,%s/sock port=%s,%s dbname=hsmg user=hsmg "
		 "passfile=%s/passfile target_session_attrs=read-write",
		 pgdir, sbdir, pport, sport, pgdir);
	s = open_at(multi, mkvp);
	init_token(s);
	ck_assert_int_eq(shim_store_obj_insert(s, true, (const uint8_t *)"before", 6, &before),
			 CKR_OK);
	/* The primary goes (a fast stop sends the standby all it has), the
	 * standby is promoted. */
	ck_assert_int_eq(sh("scripts/pg-server stop %s", pgdir), 0);
	ck_assert_int_eq(sh("scripts/pg-server promote %s", sbdir), 0);
	ck_assert_int_eq(insert_retry(s, "after", &after), CKR_OK);
	ck_assert_int_gt(after, before);
	ck_assert(listed(s, true, before, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert(reads_as(s, before, "before"));
	shim_store_close(s);
	/* Back to one primary for the tests after this one. */
	ck_assert_int_eq(sh("scripts/pg-server stop %s", sbdir), 0);
	ck_assert_int_eq(sh("scripts/pg-server restart %s", pgdir), 0);
	sbdir[0] = 0;
}
END_TEST

START_TEST(pg_refusals)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct shim_store *s = NULL;
	char bad[700];

	new_mkvp(mkvp);
	/* A password in the location. */
	snprintf(bad, sizeof(bad), "%s password=secret", loc(1));
	ck_assert_int_eq(shim_store_open(bad, mkvp, &s), CKR_ARGUMENTS_BAD);
	ck_assert_int_eq(shim_store_open("postgresql://hsmg:secret@localhost/hsmg", mkvp, &s),
			 CKR_ARGUMENTS_BAD);
	/* No such server: an error, bounded by the timeout. */
	ck_assert_int_eq(shim_store_open("postgresql:host=/nonexistent dbname=hsmg", mkvp, &s),
			 CKR_DEVICE_ERROR);
	ck_assert_int_eq(shim_store_open("nosuch:thing", mkvp, &s), CKR_ARGUMENTS_BAD);
	/* A keyword/value string without "postgresql:" is PostgreSQL too. */
	s = open_at(loc(1) + strlen("postgresql:"), mkvp);
	ck_assert_ptr_eq(s->ops, &shim_store_postgresql);
	shim_store_close(s);
	s = NULL;
	/* A schema newer than this code. */
	ck_assert_int_eq(
	    sh("scripts/pg-server psql %s -q -c 'UPDATE hsmg_schema SET version = 2'", pgdir), 0);
	ck_assert_int_eq(shim_store_open(loc(1), mkvp, &s), CKR_DEVICE_ERROR);
	ck_assert_int_eq(
	    sh("scripts/pg-server psql %s -q -c 'UPDATE hsmg_schema SET version = 1'", pgdir), 0);
	s = open_at(loc(1), mkvp);
	shim_store_close(s);
}
END_TEST

/* token_store in pkcs11.conf: global, per token, "sqlite", the
 * environment over all. */
START_TEST(config_token_store)
{
	char path[128], big[1100];
	struct shim_config *c = calloc(1, sizeof(*c));
	FILE *f;

	ck_assert_ptr_nonnull(c);
	snprintf(path, sizeof(path), "%s/pkcs11.conf", tmp);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"token_dir = /var/tok\ntoken_store = postgresql://db/hsmg\nstore_timeout_ms = 700\n"
		"store_lookup = notify\n[token 0011223344556677]\ntoken_store = sqlite\n"
		"[token AABBCCDDEEFF0011]\ntoken_store = sqlite:/srv/t\n"
		"[token 1111111111111111]\ntoken_store = %s\n",
		big);
	fclose(f);
	setenv("HSMGROUP_CONFIG", path, 1);
	unsetenv("HSMGROUP_TOKEN_STORE");
	shim_config_load(c);
	ck_assert_str_eq(shim_config_token_store(c, "FFFFFFFFFFFFFFFF"), "postgresql://db/hsmg");
	ck_assert_str_eq(shim_config_token_store(c, "0011223344556677"), "/var/tok");
	ck_assert_str_eq(shim_config_token_store(c, "aabbccddeeff0011"), "sqlite:/srv/t");
	/* Too long: refused, the global one stays. */
	ck_assert_str_eq(shim_config_token_store(c, "1111111111111111"), "postgresql://db/hsmg");
	ck_assert_uint_eq(c->store_timeout_ms, 700);
	ck_assert(c->store_lookup_notify);
	setenv("HSMGROUP_TOKEN_STORE", "host=/run/pg dbname=x", 1);
	shim_config_load(c);
	ck_assert_str_eq(shim_config_token_store(c, "0011223344556677"), "host=/run/pg dbname=x");
	unsetenv("HSMGROUP_TOKEN_STORE");
	unsetenv("HSMGROUP_CONFIG");
	free(c);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("store");
	TCase *both = tcase_create("both"), *pgonly = tcase_create("postgresql");
	SRunner *sr;
	int failed;

	if (access("/usr/lib/postgresql/15/bin/initdb", X_OK)) {
		printf("test_store: SKIP: no PostgreSQL 15 (scripts/install-deps installs it)\n");
		return 77;
	}
	/* One server for all tests (no fork per test: it is started here). */
	setenv("CK_FORK", "no", 1);
	suite_setup();
	tcase_set_timeout(both, 120);
	tcase_set_timeout(pgonly, 120);
	tcase_add_loop_test(both, contract, 0, 2);
	tcase_add_loop_test(both, two_hosts, 0, 2);
	tcase_add_loop_test(both, concurrent_writers, 0, 2);
	tcase_add_test(both, copy_between_stores);
	tcase_add_test(both, config_token_store);
	tcase_add_test(pgonly, pg_refusals);
	tcase_add_test(pgonly, pg_outage);
	tcase_add_test(pgonly, pg_lookup_notify);
	tcase_add_test(pgonly, pg_primary_switch);
	suite_add_tcase(su, both);
	suite_add_tcase(su, pgonly);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	suite_teardown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
