// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-storewriter - writer and checker of the token store's crash test
 * (tests/crash/run).  It links the PKCS#11 module's own objects (the real
 * token store: SQLite, WAL, under HSMGROUP_TOKEN_DIR, or PostgreSQL when
 * HSMGROUP_TOKEN_STORE names one) with the unit tests'
 * mock transport (one emulated card with a fixed master key in-process), so
 * it runs on the host and a killed writer leaves exactly what the store
 * wrote.
 *
 *   hsmg-storewriter init              C_InitToken, set the user PIN
 *   hsmg-storewriter write NAME LOG    create token objects NAME-0, NAME-1, ...
 *                                      until killed; see the log format below
 *   hsmg-storewriter check LOG...      PRAGMA integrity_check on every store
 *                                      file, then every object a LOG says was
 *                                      committed must be there, with its value
 *
 * Log (one line per event, written with write(2) on an O_APPEND file and
 * fsync()ed before the writer goes on): "c LABEL" after C_CreateObject or
 * C_GenerateKey returned CKR_OK for the object labelled LABEL; "D LABEL"
 * before a C_DestroyObject of it (from then on it may be gone), "d LABEL"
 * after it returned CKR_OK (it must be gone).  A line cut short by the kill
 * has no newline and is ignored: its operation is not known to be committed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <p11-kit/pkcs11.h>

#include "mock_transport.h"
#include "transport.h"

#define SO_PIN	  "crash-so-pin"
#define USER_PIN  "crash-user-pin"
#define PIN(p)	  (CK_UTF8CHAR_PTR)(p), (CK_ULONG)strlen(p)
#define MAX_OBJS  200000
#define VALUE_LEN 100

static CK_FUNCTION_LIST *fl;

static void die(const char *what, CK_RV rv)
{
	fprintf(stderr, "storewriter: %s: CK_RV 0x%lx\n", what, (unsigned long)rv);
	exit(1);
}

static void setup(void)
{
	const char *dir = getenv("HSMGROUP_TOKEN_DIR");
	CK_RV rv;

	if (!dir) {
		fprintf(stderr, "storewriter: set HSMGROUP_TOKEN_DIR\n");
		exit(2);
	}
	setenv("HSMGROUP_CONFIG", "/nonexistent/pkcs11.conf", 1);
	setenv("HSMGROUP_PIN_ITERATIONS", "1000", 1);
	shim_transport_override(&mock_transport_ops);
	mock_nonline = 1;
	rv = C_GetFunctionList(&fl);
	if (rv == CKR_OK)
		rv = fl->C_Initialize(NULL);
	if (rv != CKR_OK)
		die("C_Initialize", rv);
}

static CK_SLOT_ID slot(void)
{
	CK_SLOT_ID s[4];
	CK_ULONG n = 4;
	CK_RV rv = fl->C_GetSlotList(CK_TRUE, s, &n);

	if (rv != CKR_OK || n < 1)
		die("C_GetSlotList", rv);
	return s[0];
}

static CK_SESSION_HANDLE user_session(void)
{
	CK_SESSION_HANDLE h;
	CK_RV rv = fl->C_OpenSession(slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);

	if (rv != CKR_OK)
		die("C_OpenSession", rv);
	rv = fl->C_Login(h, CKU_USER, PIN(USER_PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login", rv);
	return h;
}

static int cmd_init(void)
{
	CK_UTF8CHAR label[32];
	CK_SESSION_HANDLE h;
	CK_RV rv;

	memset(label, ' ', sizeof(label));
	memcpy(label, "crash", 5);
	rv = fl->C_InitToken(slot(), PIN(SO_PIN), label);
	if (rv != CKR_OK)
		die("C_InitToken", rv);
	rv = fl->C_OpenSession(slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (rv == CKR_OK)
		rv = fl->C_Login(h, CKU_SO, PIN(SO_PIN));
	if (rv == CKR_OK)
		rv = fl->C_InitPIN(h, PIN(USER_PIN));
	if (rv != CKR_OK)
		die("init PIN", rv);
	fl->C_Finalize(NULL);
	return 0;
}

/* The value of data object @label: derived from the label, so torn writes show. */
static void value_of(const char *label, unsigned char v[VALUE_LEN])
{
	unsigned int h = 2166136261u, i;

	for (i = 0; label[i]; i++)
		h = (h ^ (unsigned char)label[i]) * 16777619u;
	for (i = 0; i < VALUE_LEN; i++) {
		h = h * 1103515245u + 12345u;
		v[i] = (unsigned char)(h >> 16);
	}
}

static void log_line(int fd, char kind, const char *label)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%c %s\n", kind, label);

	if (write(fd, line, n) != n || fsync(fd)) {
		perror("storewriter: log");
		exit(1);
	}
}

static CK_RV create_data(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *o)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	unsigned char v[VALUE_LEN];
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},   {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)}, {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_VALUE, v, sizeof(v)},
	};

	value_of(label, v);
	return fl->C_CreateObject(h, t, sizeof(t) / sizeof(t[0]), o);
}

static CK_RV generate_key(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *o)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_ENCRYPT, &yes, sizeof(yes)},
	};

	return fl->C_GenerateKey(h, &m, t, sizeof(t) / sizeof(t[0]), o);
}

static int cmd_write(const char *name, const char *logpath)
{
	static CK_OBJECT_HANDLE handles[MAX_OBJS];
	CK_SESSION_HANDLE h;
	char label[64];
	unsigned int i;
	int fd;
	CK_RV rv;

	fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("storewriter: log");
		return 1;
	}
	h = user_session();
	for (i = 0; i < MAX_OBJS; i++) {
		/* A fresh name per run: earlier runs of this writer used others. */
		snprintf(label, sizeof(label), "%s-%u-%u", name, (unsigned int)getpid(), i);
		rv = i % 4 == 3 ? generate_key(h, label, &handles[i])
				: create_data(h, label, &handles[i]);
		if (rv != CKR_OK)
			die("create", rv);
		log_line(fd, 'c', label);
		/* Now and then destroy an earlier object of this run. */
		if (i % 5 == 4) {
			unsigned int k = i - 3;

			snprintf(label, sizeof(label), "%s-%u-%u", name, (unsigned int)getpid(), k);
			log_line(fd, 'D', label);
			rv = fl->C_DestroyObject(h, handles[k]);
			if (rv != CKR_OK)
				die("C_DestroyObject", rv);
			log_line(fd, 'd', label);
		}
	}
	return 0;
}

/* ---- check ---- */

enum want { W_PRESENT, W_EITHER, W_ABSENT };

struct expect {
	char label[128];
	enum want want;
	size_t seq; /* the line's place in the logs: the last line of a label wins */
	bool seen;
};

static struct expect *exp_v;
static size_t exp_n, exp_cap;

static int expect_cmp(const void *a, const void *b)
{
	const struct expect *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int expect_cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct expect *)a)->label, ((const struct expect *)b)->label);
}

/* exp_v is sorted by label once every log is read (expect_index()). */
static struct expect *expect_find(const char *label)
{
	struct expect key = {.seq = 0};

	snprintf(key.label, sizeof(key.label), "%s", label);
	return bsearch(&key, exp_v, exp_n, sizeof(*exp_v), expect_cmp_label);
}

static void read_log(const char *path)
{
	char line[128];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		struct expect *e;

		if (n < 3 || line[n - 1] != '\n')
			continue; /* cut short by the kill */
		line[n - 1] = '\0';
		if (exp_n == exp_cap) {
			exp_cap = exp_cap ? 2 * exp_cap : 1024;
			exp_v = realloc(exp_v, exp_cap * sizeof(*exp_v));
			if (!exp_v)
				exit(1);
		}
		e = &exp_v[exp_n];
		memset(e, 0, sizeof(*e));
		snprintf(e->label, sizeof(e->label), "%s", line + 2);
		e->want = line[0] == 'c' ? W_PRESENT : line[0] == 'D' ? W_EITHER : W_ABSENT;
		e->seq = exp_n++;
	}
	fclose(f);
}

/*
 * One entry per label, the state of its last log line, sorted by label: the
 * logs of a fast store hold hundreds of thousands of lines, too many for a
 * linear search per line or per object.
 */
static void expect_index(void)
{
	size_t i, out = 0;

	if (!exp_n)
		return;
	qsort(exp_v, exp_n, sizeof(*exp_v), expect_cmp);
	for (i = 1; i <= exp_n; i++) {
		if (i < exp_n && !strcmp(exp_v[i].label, exp_v[i - 1].label))
			continue;
		exp_v[out++] = exp_v[i - 1];
	}
	exp_n = out;
}

/* PRAGMA integrity_check on every token-*.db of the directory. */
static int integrity(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int bad = 0, files = 0;

	if (!dp) {
		perror(dir);
		return 1;
	}
	while ((d = readdir(dp))) {
		char path[1024];
		sqlite3 *db;
		sqlite3_stmt *st;
		size_t n = strlen(d->d_name);

		if (strncmp(d->d_name, "token-", 6) || n < 4 || strcmp(d->d_name + n - 3, ".db"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		files++;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "check: %s: %s\n", path, sqlite3_errmsg(db));
			bad = 1;
		} else {
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *r = (const char *)sqlite3_column_text(st, 0);

				if (!r || strcmp(r, "ok")) {
					fprintf(stderr, "check: %s: integrity: %s\n", path,
						r ? r : "?");
					bad = 1;
				}
			}
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	closedir(dp);
	if (!files) {
		fprintf(stderr, "check: no token store in %s\n", dir);
		return 1;
	}
	return bad;
}

static int cmd_check(int nlogs, char **logs)
{
	CK_OBJECT_HANDLE objs[256];
	CK_SESSION_HANDLE h;
	CK_ULONG n, i;
	size_t k, present = 0, lost = 0, resurrected = 0, torn = 0, objects = 0;
	int j;
	CK_RV rv;

	/* SQLite's own check; PostgreSQL (HSMGROUP_TOKEN_STORE) keeps its own. */
	if (!getenv("HSMGROUP_TOKEN_STORE") && integrity(getenv("HSMGROUP_TOKEN_DIR")))
		return 1;
	for (j = 0; j < nlogs; j++)
		read_log(logs[j]);
	expect_index();
	setup();
	h = user_session();
	rv = fl->C_FindObjectsInit(h, NULL, 0);
	if (rv != CKR_OK)
		die("C_FindObjectsInit", rv);
	for (;;) {
		rv = fl->C_FindObjects(h, objs, 256, &n);
		if (rv != CKR_OK)
			die("C_FindObjects", rv);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			char label[64] = {0};
			unsigned char v[VALUE_LEN + 1], want[VALUE_LEN];
			CK_OBJECT_CLASS cls;
			CK_ATTRIBUTE a[] = {{CKA_LABEL, label, sizeof(label) - 1},
					    {CKA_CLASS, &cls, sizeof(cls)}};
			CK_ATTRIBUTE va = {CKA_VALUE, v, sizeof(v)};
			struct expect *e;

			objects++;
			rv = fl->C_GetAttributeValue(h, objs[i], a, 2);
			if (rv != CKR_OK)
				die("C_GetAttributeValue", rv);
			label[a[0].ulValueLen] = '\0';
			e = expect_find(label);
			if (e)
				e->seen = true;
			if (cls != CKO_DATA)
				continue;
			rv = fl->C_GetAttributeValue(h, objs[i], &va, 1);
			value_of(label, want);
			if (rv != CKR_OK || va.ulValueLen != VALUE_LEN ||
			    memcmp(v, want, VALUE_LEN)) {
				fprintf(stderr, "check: %s: value differs\n", label);
				torn++;
			}
		}
	}
	fl->C_FindObjectsFinal(h);
	for (k = 0; k < exp_n; k++) {
		struct expect *e = &exp_v[k];

		if (e->want == W_PRESENT && !e->seen) {
			fprintf(stderr, "check: LOST committed object %s\n", e->label);
			lost++;
		} else if (e->want == W_ABSENT && e->seen) {
			fprintf(stderr, "check: destroyed object %s is back\n", e->label);
			resurrected++;
		}
		present += e->seen;
	}
	printf("check: %s; %zu objects in the store, %zu logged, %zu lost, %zu "
	       "destroyed-but-present, %zu with a wrong value\n",
	       getenv("HSMGROUP_TOKEN_STORE") ? "PostgreSQL" : "integrity ok", objects, exp_n, lost,
	       resurrected, torn);
	fl->C_Finalize(NULL);
	return lost || resurrected || torn ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "init")) {
		setup();
		return cmd_init();
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		setup();
		return cmd_write(argv[2], argv[3]);
	}
	if (argc >= 3 && !strcmp(argv[1], "check"))
		return cmd_check(argc - 2, argv + 2);
	fprintf(stderr, "usage: hsmg-storewriter init | write NAME LOG | check LOG...\n");
	return 2;
}
