// SPDX-License-Identifier: GPL-2.0
/*
 * p11 - the PKCS#11 crypto backend of the card (p11card.h, backend.h):
 * the vendor library and token, the token's sessions, the group key and
 * the check value the secrets come from, the token's mechanisms, the
 * cache of unwrapped key handles, and the token's health.  The
 * operations are in p11_ops.c.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

#include "card_int.h"
#include "p11_int.h"
#include "p11card.h"

const char *p11_mech_name(CK_MECHANISM_TYPE m)
{
	static __thread char buf[32];
	const char *n = hsmg_mech_name(m);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "CKM 0x%lx", (unsigned long)m);
	return buf;
}

/* ------------------------------------------------------------ libraries */

/* A vendor library, loaded and initialized once per process. */
struct p11_mod {
	struct p11_mod *next;
	char *path;
	void *dl;
	CK_FUNCTION_LIST *fl;
	unsigned int refs;
	bool finalize; /* we initialized it */
};

static pthread_mutex_t mods_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_mod *mods;

static void errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static struct p11_mod *mod_get(const char *path, char *err, size_t elen)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_C_GetFunctionList gfl;
	struct p11_mod *m;
	CK_RV rv;

	pthread_mutex_lock(&mods_lock);
	for (m = mods; m; m = m->next) {
		if (!strcmp(m->path, path)) {
			m->refs++;
			goto out;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		errf(err, elen, "out of memory");
		goto fail;
	}
	/* Never unloaded: vendor libraries leave threads and handlers behind. */
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!m->dl) {
		errf(err, elen, "cannot load the PKCS#11 library %s: %s", path, dlerror());
		goto fail;
	}
	gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!gfl || gfl(&m->fl) != CKR_OK || !m->fl) {
		errf(err, elen, "%s is not a PKCS#11 library (no C_GetFunctionList)", path);
		goto fail;
	}
	rv = m->fl->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		errf(err, elen, "%s: C_Initialize: %s", path, hsmg_rv_name(rv));
		goto fail;
	}
	m->finalize = rv == CKR_OK;
	m->refs = 1;
	m->next = mods;
	mods = m;
out:
	pthread_mutex_unlock(&mods_lock);
	return m;
fail:
	if (m) {
		if (m->dl)
			dlclose(m->dl);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&mods_lock);
	return NULL;
}

static void mod_put(struct p11_mod *m)
{
	struct p11_mod **pp;

	if (!m)
		return;
	pthread_mutex_lock(&mods_lock);
	if (--m->refs) {
		pthread_mutex_unlock(&mods_lock);
		return;
	}
	for (pp = &mods; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&mods_lock);
	if (m->finalize)
		m->fl->C_Finalize(NULL);
	dlclose(m->dl);
	free(m->path);
	free(m);
}

/* ------------------------------------------------------------- health */

/* Does @rv say the token (or our sessions with it) failed, rather than
 * the request? */
bool p11_rv_is_failure(CK_RV rv)
{
	switch (rv) {
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_MEMORY:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_GENERAL_ERROR:
	case CKR_FUNCTION_FAILED:
	case CKR_HOST_MEMORY:
	case CKR_OBJECT_HANDLE_INVALID: /* a cached key the token lost */
	case CKR_KEY_HANDLE_INVALID:
		return true;
	default:
		return false;
	}
}

/* A token call answered @rv: a failure marks the token failed and
 * becomes CKR_DEVICE_ERROR; anything else is the request's answer. */
CK_RV p11_check(struct p11_be *be, CK_RV rv)
{
	CK_RV none = CKR_OK;

	if (rv == CKR_OK || !p11_rv_is_failure(rv))
		return rv;
	atomic_compare_exchange_strong(&be->failed, &none, rv);
	return CKR_DEVICE_ERROR;
}

/* ----------------------------------------------------------- sessions */

CK_RV p11_sess_get(struct p11_be *be, CK_SESSION_HANDLE *s)
{
	unsigned int i;

	pthread_mutex_lock(&be->lock);
	for (;;) {
		if (atomic_load(&be->failed) != CKR_OK || !be->nsess) {
			pthread_mutex_unlock(&be->lock);
			return CKR_DEVICE_ERROR;
		}
		for (i = 0; i < be->nsess; i++) {
			if (!be->busy[i]) {
				be->busy[i] = true;
				*s = be->sess[i];
				pthread_mutex_unlock(&be->lock);
				return CKR_OK;
			}
		}
		pthread_cond_wait(&be->cond, &be->lock);
	}
}

void p11_sess_put(struct p11_be *be, CK_SESSION_HANDLE s)
{
	unsigned int i;

	pthread_mutex_lock(&be->lock);
	for (i = 0; i < be->nsess; i++) {
		if (be->sess[i] == s && be->busy[i]) {
			be->busy[i] = false;
			break;
		}
	}
	pthread_cond_signal(&be->cond);
	pthread_mutex_unlock(&be->lock);
}

/* Close every session (the token forgets its session objects). */
static void sess_close_all(struct p11_be *be)
{
	unsigned int i;

	pthread_mutex_lock(&be->lock);
	/* Wait for the requests still holding one (they fail fast now). */
	for (;;) {
		for (i = 0; i < be->nsess && !be->busy[i]; i++)
			;
		if (i == be->nsess)
			break;
		pthread_cond_wait(&be->cond, &be->lock);
	}
	for (i = 0; i < be->nsess; i++)
		be->fl->C_CloseSession(be->sess[i]);
	be->nsess = 0;
	pthread_mutex_unlock(&be->lock);
}

/* ------------------------------------------------------ the handle cache */

static void hc_clear_locked(struct p11_be *be)
{
	memset(be->hc, 0, be->hc_cap * sizeof(*be->hc));
}

int p11_set_key_cache(void *bs, unsigned int entries)
{
	struct p11_be *be = bs;
	struct p11_hent *n = NULL;

	if (entries > HSMG_CARD_KEY_CACHE_MAX)
		return -1;
	/* Unwrapped keys need a cache entry while in use: at least one per session. */
	if (entries < P11_MAX_SESSIONS)
		entries = P11_MAX_SESSIONS;
	n = calloc(entries, sizeof(*n));
	if (!n)
		return -1;
	if (ossl_set_key_cache(&be->sec, entries)) {
		free(n);
		return -1;
	}
	pthread_mutex_lock(&be->hc_lock);
	/* The handles of the old cache die with the token's sessions or stay
	 * until then: session objects cost the token nothing persistent. */
	free(be->hc);
	be->hc = n;
	be->hc_cap = entries;
	be->hc_hits = be->hc_misses = 0;
	pthread_mutex_unlock(&be->hc_lock);
	return 0;
}

void p11_key_cache_stats(void *bs, struct hsmg_card_cache_stats *st)
{
	struct p11_be *be = bs;
	unsigned int i;

	pthread_mutex_lock(&be->hc_lock);
	st->capacity = be->hc_cap;
	for (i = 0; i < be->hc_cap; i++)
		st->entries += be->hc[i].handle != CK_INVALID_HANDLE;
	st->hits = be->hc_hits;
	st->misses = be->hc_misses;
	pthread_mutex_unlock(&be->hc_lock);
}

/*
 * The handle of the key whose blob hashes to @id: a hit takes a reference
 * (*@ent, give it back with p11_hc_put()).  CK_INVALID_HANDLE on a miss.
 */
CK_OBJECT_HANDLE p11_hc_get(struct p11_be *be, const uint8_t id[32], struct p11_hent **ent)
{
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	unsigned int i;

	*ent = NULL;
	pthread_mutex_lock(&be->hc_lock);
	for (i = 0; i < be->hc_cap; i++) {
		struct p11_hent *e = &be->hc[i];

		if (e->handle != CK_INVALID_HANDLE && e->gen == be->gen && !memcmp(e->id, id, 32)) {
			e->used = ++be->hc_clock;
			e->refs++;
			h = e->handle;
			*ent = e;
			be->hc_hits++;
			break;
		}
	}
	if (!*ent)
		be->hc_misses++;
	pthread_mutex_unlock(&be->hc_lock);
	return h;
}

/*
 * Keep @h (just unwrapped for blob @id) with a reference taken (*@ent).
 * When every entry is in use, *@ent is NULL and the caller destroys @h
 * after its request.  *@evict: a handle the caller destroys now
 * (CK_INVALID_HANDLE: none).
 */
void p11_hc_add(struct p11_be *be, const uint8_t id[32], CK_OBJECT_HANDLE h, struct p11_hent **ent,
		CK_OBJECT_HANDLE *evict)
{
	struct p11_hent *victim = NULL;
	unsigned int i;

	*ent = NULL;
	*evict = CK_INVALID_HANDLE;
	pthread_mutex_lock(&be->hc_lock);
	for (i = 0; i < be->hc_cap; i++) {
		struct p11_hent *e = &be->hc[i];

		if (e->refs)
			continue;
		if (e->handle == CK_INVALID_HANDLE || e->gen != be->gen) {
			victim = e;
			break;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	if (victim) {
		if (victim->handle != CK_INVALID_HANDLE && victim->gen == be->gen)
			*evict = victim->handle;
		memcpy(victim->id, id, 32);
		victim->handle = h;
		victim->gen = be->gen;
		victim->used = ++be->hc_clock;
		victim->refs = 1;
		*ent = victim;
	}
	pthread_mutex_unlock(&be->hc_lock);
}

/* Give back a reference; @bad: the handle failed (drop the entry). */
void p11_hc_put(struct p11_be *be, struct p11_hent *ent, bool bad)
{
	if (!ent)
		return;
	pthread_mutex_lock(&be->hc_lock);
	ent->refs--;
	if (bad && !ent->refs)
		ent->handle = CK_INVALID_HANDLE;
	pthread_mutex_unlock(&be->hc_lock);
}

/* ---------------------------------------------------- the token, the key */

static void trim(char *s, size_t n)
{
	while (n && s[n - 1] == ' ')
		n--;
	s[n] = '\0';
}

static int find_slot(struct p11_be *be, char *err, size_t elen)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO ti;
	char label[33], serial[17];
	CK_RV rv;
	int ret = -1;

	rv = be->fl->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && n) {
		slots = calloc(n, sizeof(*slots));
		if (!slots)
			rv = CKR_HOST_MEMORY;
		else
			rv = be->fl->C_GetSlotList(CK_TRUE, slots, &n);
	}
	if (rv != CKR_OK) {
		errf(err, elen, "%s: C_GetSlotList: %s", be->module, hsmg_rv_name(rv));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (be->fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		memcpy(label, ti.label, 32);
		trim(label, 32);
		memcpy(serial, ti.serialNumber, 16);
		trim(serial, 16);
		if (strcmp(label, be->token) && strcmp(serial, be->token))
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED) || !(ti.flags & CKF_USER_PIN_INITIALIZED)) {
			errf(err, elen, "%s: token %s has no user PIN yet", be->module, be->token);
			goto out;
		}
		be->slot = slots[i];
		ret = 0;
		goto out;
	}
	errf(err, elen, "%s: no token labelled or numbered %s (of %lu present)", be->module,
	     be->token, (unsigned long)n);
out:
	free(slots);
	return ret;
}

static CK_RV get_bool(struct p11_be *be, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		      CK_ATTRIBUTE_TYPE t, CK_BBOOL *v)
{
	CK_ATTRIBUTE a = {t, v, sizeof(*v)};

	*v = CK_FALSE;
	return be->fl->C_GetAttributeValue(s, o, &a, 1);
}

/* The group key: exactly one AES-256 key with the label, wrap and unwrap,
 * not extractable. */
static int find_group_key(struct p11_be *be, CK_SESSION_HANDLE s, char *err, size_t elen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE q[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, (void *)be->wrap_label, strlen(be->wrap_label)},
	};
	CK_OBJECT_HANDLE o[2];
	CK_KEY_TYPE kt = 0;
	CK_ULONG n = 0, vlen = 0;
	CK_ATTRIBUTE a[] = {{CKA_KEY_TYPE, &kt, sizeof(kt)}, {CKA_VALUE_LEN, &vlen, sizeof(vlen)}};
	CK_BBOOL wrap, unwrap, extractable, trusted;
	CK_RV rv;

	rv = be->fl->C_FindObjectsInit(s, q, 2);
	if (rv == CKR_OK) {
		rv = be->fl->C_FindObjects(s, o, 2, &n);
		be->fl->C_FindObjectsFinal(s);
	}
	if (rv != CKR_OK) {
		errf(err, elen, "token %s: looking for the group key: %s", be->token,
		     hsmg_rv_name(rv));
		return -1;
	}
	if (n > 1) {
		errf(err, elen,
		     "token %s: more than one secret key is labelled %s (the group key "
		     "must be one)",
		     be->token, be->wrap_label);
		return -1;
	}
	if (!n) {
		errf(err, elen, "token %s: no group key: no secret key is labelled %s", be->token,
		     be->wrap_label);
		return -1;
	}
	rv = be->fl->C_GetAttributeValue(s, o[0], a, 2);
	if (rv == CKR_OK)
		rv = get_bool(be, s, o[0], CKA_WRAP, &wrap);
	if (rv == CKR_OK)
		rv = get_bool(be, s, o[0], CKA_UNWRAP, &unwrap);
	if (rv == CKR_OK)
		rv = get_bool(be, s, o[0], CKA_EXTRACTABLE, &extractable);
	if (rv != CKR_OK) {
		errf(err, elen, "token %s: the group key %s: %s", be->token, be->wrap_label,
		     hsmg_rv_name(rv));
		return -1;
	}
	if (kt != CKK_AES || vlen != 32 || !wrap || !unwrap || extractable) {
		errf(err, elen,
		     "token %s: the group key %s must be AES-256 with CKA_WRAP and CKA_UNWRAP, "
		     "not extractable",
		     be->token, be->wrap_label);
		return -1;
	}
	/* A trusted group key lets keys be wrappable only under trusted keys. */
	be->trusted = get_bool(be, s, o[0], CKA_TRUSTED, &trusted) == CKR_OK && trusted;
	be->gkey = o[0];
	return 0;
}

static bool has_mech(const struct p11_be *be, CK_MECHANISM_TYPE m, CK_FLAGS need)
{
	unsigned int i;

	for (i = 0; i < be->nmech; i++)
		if (be->mech[i] == m)
			return (be->mech_flags[i] & need) == need;
	return false;
}

bool p11_has_mech(const struct p11_be *be, CK_MECHANISM_TYPE m, CK_FLAGS need)
{
	return has_mech(be, m, need);
}

static int load_mechs(struct p11_be *be, char *err, size_t elen)
{
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, i;
	CK_RV rv;

	rv = be->fl->C_GetMechanismList(be->slot, NULL, &n);
	if (rv == CKR_OK && n) {
		be->mech = calloc(n, sizeof(*be->mech));
		be->mech_flags = calloc(n, sizeof(*be->mech_flags));
		if (!be->mech || !be->mech_flags)
			rv = CKR_HOST_MEMORY;
		else
			rv = be->fl->C_GetMechanismList(be->slot, be->mech, &n);
	}
	if (rv != CKR_OK) {
		errf(err, elen, "token %s: C_GetMechanismList: %s", be->token, hsmg_rv_name(rv));
		return -1;
	}
	be->nmech = (unsigned int)n;
	for (i = 0; i < n; i++)
		if (be->fl->C_GetMechanismInfo(be->slot, be->mech[i], &mi) == CKR_OK)
			be->mech_flags[i] = mi.flags;
	/* How keys are wrapped, and how the check value is made. */
	if (has_mech(be, CKM_AES_KEY_WRAP_PAD, CKF_WRAP | CKF_UNWRAP))
		be->wrap_mech = CKM_AES_KEY_WRAP_PAD;
	else if (has_mech(be, CKM_AES_CBC_PAD, CKF_WRAP | CKF_UNWRAP))
		be->wrap_mech = CKM_AES_CBC_PAD;
	if (has_mech(be, CKM_AES_KEY_WRAP_PAD, CKF_WRAP))
		be->check_mech = CKM_AES_KEY_WRAP_PAD;
	else if (has_mech(be, CKM_AES_KEY_WRAP, CKF_WRAP))
		be->check_mech = CKM_AES_KEY_WRAP;
	if (!be->wrap_mech || !be->check_mech) {
		errf(err, elen,
		     "token %s: wraps with neither CKM_AES_KEY_WRAP_PAD nor CKM_AES_CBC_PAD "
		     "(and CKM_AES_KEY_WRAP): it cannot keep keys as blobs",
		     be->token);
		return -1;
	}
	return 0;
}

/*
 * The check value: a fixed AES-256 value, as a session key, wrapped under
 * the group key with a deterministic mechanism.  Equal on every token with
 * the same group key; nothing of the group key itself.
 */
static int check_value(struct p11_be *be, CK_SESSION_HANDLE s, uint8_t out[P11_CHECK_MAX],
		       size_t *out_len, char *err, size_t elen)
{
	static const char fixed[32] = "hsmp11d v1 group key check value";
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_VALUE, (void *)fixed, sizeof(fixed)},
	    {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_EXTRACTABLE, &t, sizeof(t)},
	    {CKA_SENSITIVE, &f, sizeof(f)},
	};
	CK_MECHANISM m = {be->check_mech, NULL, 0};
	CK_OBJECT_HANDLE v;
	CK_ULONG n = P11_CHECK_MAX;
	CK_RV rv;

	rv = be->fl->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &v);
	if (rv != CKR_OK) {
		errf(err, elen, "token %s: making the check value: C_CreateObject: %s", be->token,
		     hsmg_rv_name(rv));
		return -1;
	}
	rv = be->fl->C_WrapKey(s, &m, be->gkey, v, out, &n);
	be->fl->C_DestroyObject(s, v);
	if (rv != CKR_OK) {
		errf(err, elen, "token %s: the group key %s does not wrap (%s): %s", be->token,
		     be->wrap_label, p11_mech_name(be->check_mech), hsmg_rv_name(rv));
		return -1;
	}
	*out_len = n;
	return 0;
}

/*
 * Open the sessions, log in, find the group key and compute its check
 * value into @be->check.  0, or -1 with the reason.
 */
static int token_open(struct p11_be *be, char *err, size_t elen)
{
	CK_SESSION_HANDLE s;
	unsigned int i;
	CK_RV rv;

	pthread_mutex_lock(&be->lock);
	for (i = 0; i < be->want_sess; i++) {
		rv = be->fl->C_OpenSession(be->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
					   NULL, &s);
		if (rv != CKR_OK) {
			pthread_mutex_unlock(&be->lock);
			errf(err, elen, "token %s: C_OpenSession: %s", be->token, hsmg_rv_name(rv));
			return -1;
		}
		be->sess[i] = s;
		be->busy[i] = false;
		be->nsess = i + 1;
	}
	pthread_mutex_unlock(&be->lock);
	s = be->sess[0];
	rv = be->fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)be->pin, be->pin_len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		errf(err, elen, "token %s: C_Login: %s%s", be->token, hsmg_rv_name(rv),
		     rv == CKR_PIN_INCORRECT ? " (the PIN in the PIN file is wrong)" : "");
		return -1;
	}
	if (find_group_key(be, s, err, elen))
		return -1;
	return check_value(be, s, be->check, &be->check_len, err, elen);
}

/* ------------------------------------------------------------ instance */

static void p11_destroy(void *bs)
{
	struct p11_be *be = bs;

	if (!be)
		return;
	if (be->fl)
		sess_close_all(be);
	mod_put(be->mod);
	ossl_set_key_cache(&be->sec, 0);
	pthread_mutex_destroy(&be->sec.pkc_lock);
	pthread_mutex_destroy(&be->lock);
	pthread_mutex_destroy(&be->hc_lock);
	pthread_cond_destroy(&be->cond);
	free(be->hc);
	free(be->mech);
	free(be->mech_flags);
	free(be->sess);
	free(be->busy);
	if (be->pin)
		OPENSSL_clear_free(be->pin, be->pin_len);
	free(be->module);
	free(be->token);
	free(be->wrap_label);
	OPENSSL_cleanse(be, sizeof(*be));
	free(be);
}

static void *p11_create(const void *arg)
{
	const struct hsmg_p11_conf *conf = arg;
	struct p11_be *be;
	char *err = conf ? conf->err : NULL;
	size_t elen = conf ? conf->err_len : 0;

	if (!conf || !conf->module || !conf->token || !conf->pin || !conf->wrap_label) {
		errf(err, elen, "a PKCS#11 card needs a module, a token, a PIN and a group key");
		return NULL;
	}
	if (conf->sessions < 1 || conf->sessions > P11_MAX_SESSIONS) {
		errf(err, elen, "sessions must be 1..%u", P11_MAX_SESSIONS);
		return NULL;
	}
	be = calloc(1, sizeof(*be));
	if (!be) {
		errf(err, elen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&be->sec.pkc_lock, NULL);
	pthread_mutex_init(&be->lock, NULL);
	pthread_mutex_init(&be->hc_lock, NULL);
	pthread_cond_init(&be->cond, NULL);
	atomic_init(&be->failed, CKR_OK);
	be->want_sess = conf->sessions;
	be->module = strdup(conf->module);
	be->token = strdup(conf->token);
	be->wrap_label = strdup(conf->wrap_label);
	be->pin_len = strlen(conf->pin);
	be->pin = OPENSSL_memdup(conf->pin, be->pin_len + 1);
	be->sess = calloc(be->want_sess, sizeof(*be->sess));
	be->busy = calloc(be->want_sess, sizeof(*be->busy));
	if (!be->module || !be->token || !be->wrap_label || !be->pin || !be->sess || !be->busy) {
		errf(err, elen, "out of memory");
		goto fail;
	}
	be->mod = mod_get(be->module, err, elen);
	if (!be->mod)
		goto fail;
	be->fl = be->mod->fl;
	if (find_slot(be, err, elen) || load_mechs(be, err, elen) || token_open(be, err, elen))
		goto fail;
	return be;
fail:
	p11_destroy(be);
	return NULL;
}

/* The secrets of the core come from the check value, as from a master
 * key: "hsmp11d v1" || check value is the input of the same HKDF. */
static int p11_set_master_key(void *bs, const uint8_t *mk, size_t mk_len,
			      uint8_t mkvp[HSMG_MKVP_LEN])
{
	struct p11_be *be = bs;
	uint8_t ikm[10 + P11_CHECK_MAX];
	int ret;

	(void)mk_len;
	if (!mk)
		return ossl_set_master_key(&be->sec, NULL, 0, mkvp);
	memcpy(ikm, "hsmp11d v1", 10);
	memcpy(ikm + 10, be->check, be->check_len);
	ret = ossl_set_master_key(&be->sec, ikm, 10 + be->check_len, mkvp);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return ret;
}

static int p11_random(void *bs, void *out, size_t len)
{
	return ossl_random(&((struct p11_be *)bs)->sec, out, len);
}

static int p11_seal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		    const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		    uint8_t *tag, size_t tag_len)
{
	return ossl_seal(&((struct p11_be *)bs)->sec, use, iv, iv_len, aad, aad_len, in, len, out,
			 tag, tag_len);
}

static int p11_unseal(void *bs, enum hsmg_card_seal use, const uint8_t *iv, size_t iv_len,
		      const void *aad, size_t aad_len, const void *in, size_t len, void *out,
		      const uint8_t *tag, size_t tag_len)
{
	return ossl_unseal(&((struct p11_be *)bs)->sec, use, iv, iv_len, aad, aad_len, in, len, out,
			   tag, tag_len);
}

static int p11_pin_mac(void *bs, const void *data, size_t len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	return ossl_pin_mac(&((struct p11_be *)bs)->sec, data, len, out);
}

/* ------------------------------------------------------------- the API */

struct hsmg_card *hsmg_card_new_p11(const struct hsmg_p11_conf *conf, unsigned int nqueues,
				    unsigned int quota)
{
	static const uint8_t derive[HSMG_CARD_MK_LEN]; /* "derive from the token" */
	struct hsmg_card *card;

	if (conf && conf->err && conf->err_len)
		conf->err[0] = '\0';
	card = hsmg_card_new_backend(&hsmg_card_backend_p11, conf, derive, nqueues, quota);
	if (!card && conf && conf->err && conf->err_len && !conf->err[0])
		errf(conf->err, conf->err_len, "cannot make the card (out of memory?)");
	return card;
}

static struct p11_be *p11_of(struct hsmg_card *card)
{
	return card->be == &hsmg_card_backend_p11 ? card->bs : NULL;
}

CK_RV hsmg_card_p11_health(struct hsmg_card *card)
{
	struct p11_be *be = p11_of(card);

	return be ? atomic_load(&be->failed) : CKR_OK;
}

void hsmg_card_p11_fail(struct hsmg_card *card, CK_RV rv)
{
	struct p11_be *be = p11_of(card);
	CK_RV none = CKR_OK;

	if (be)
		atomic_compare_exchange_strong(&be->failed, &none, rv ? rv : CKR_DEVICE_ERROR);
}

/* The MKVP a check value gives (as p11_set_master_key() derives it). */
static int check_mkvp(const uint8_t *check, size_t len, uint8_t mkvp[HSMG_MKVP_LEN])
{
	uint8_t ikm[10 + P11_CHECK_MAX], x[KEYLEN];
	unsigned int n = 0;
	int ret;

	memcpy(ikm, "hsmp11d v1", 10);
	memcpy(ikm + 10, check, len);
	ret = card_hkdf(ikm, 10 + len, "hsmsimd v1 mkvp", x, sizeof(x)) ||
		      EVP_Digest(x, sizeof(x), mkvp, &n, EVP_sha256(), NULL) != 1
		  ? -1
		  : 0;
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(x, sizeof(x));
	return ret;
}

int hsmg_card_p11_reset(struct hsmg_card *card, uint8_t mkvp[HSMG_MKVP_LEN], char *err,
			size_t err_len)
{
	struct p11_be *be = p11_of(card);
	uint8_t old[P11_CHECK_MAX];
	size_t old_len;
	int ret;

	if (!be) {
		errf(err, err_len, "not a PKCS#11 card");
		return -1;
	}
	/* New requests fail fast meanwhile; the running ones end first. */
	hsmg_card_p11_fail(card, CKR_DEVICE_ERROR);
	sess_close_all(be);
	pthread_mutex_lock(&be->hc_lock);
	be->gen++; /* every cached handle died with the sessions */
	hc_clear_locked(be);
	pthread_mutex_unlock(&be->hc_lock);
	memcpy(old, be->check, sizeof(old));
	old_len = be->check_len;
	if (token_open(be, err, err_len)) {
		sess_close_all(be);
		return -1;
	}
	if (old_len != be->check_len || !card_ct_equal(old, be->check, old_len)) {
		errf(err, err_len,
		     "token %s: the key labelled %s is another key now: not this group", be->token,
		     be->wrap_label);
		ret = check_mkvp(be->check, be->check_len, mkvp) ? -1 : 1;
		memcpy(be->check, old, sizeof(old));
		be->check_len = old_len;
		sess_close_all(be);
		OPENSSL_cleanse(old, sizeof(old));
		return ret;
	}
	OPENSSL_cleanse(old, sizeof(old));
	atomic_store(&be->failed, CKR_OK);
	return 0;
}

const struct hsmg_card_backend hsmg_card_backend_p11 = {
    .name = "pkcs11",
    .create = p11_create,
    .destroy = p11_destroy,
    .set_master_key = p11_set_master_key,
    .random = p11_random,
    .seal = p11_seal,
    .unseal = p11_unseal,
    .pin_mac = p11_pin_mac,
    .mechanisms = p11_mechanisms,
    .set_key_cache = p11_set_key_cache,
    .key_cache_stats = p11_key_cache_stats,
    .secret_ok = p11_secret_ok,
    .put_pubkey = p11_put_pubkey,
    .pkey_of = p11_pkey_of,
    .generate_key = p11_op_generate_key,
    .generate_keypair = p11_op_generate_keypair,
    .cipher = p11_op_cipher,
    .sign_verify = p11_op_sign_verify,
    .digest = card_op_digest,
    .digest_part = card_op_digest_part,
    .random_op = p11_op_random,
    .wrap = p11_op_unsupported,
    .unwrap = p11_op_unsupported,
    .derive = p11_op_unsupported,
    .import = p11_op_unsupported,
    .export_pubkey = card_op_export_pubkey,
    .export_key = p11_op_export_key,
};
