// SPDX-License-Identifier: GPL-2.0
/*
 * store - the token store's interface: choose an implementation, then
 * call through its operations (see store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "store.h"

static const struct shim_store_ops *const impls[] = {
    &shim_store_sqlite,
    &shim_store_postgresql,
};

static unsigned int timeout_ms = SHIM_STORE_TIMEOUT_MS;

void shim_store_set_timeout(unsigned int ms)
{
	timeout_ms = ms ? ms : SHIM_STORE_TIMEOUT_MS;
}

unsigned int shim_store_timeout(void)
{
	return timeout_ms;
}

static bool lookup_notify;

void shim_store_set_lookup_notify(bool on)
{
	lookup_notify = on;
}

bool shim_store_lookup_notify(void)
{
	return lookup_notify;
}

CK_RV shim_store_open(const char *location, const uint8_t mkvp[HSMG_MKVP_LEN],
		      struct shim_store **out)
{
	const char *colon = strchr(location, ':'), *slash = strchr(location, '/');

	size_t kw = strspn(location, "abcdefghijklmnopqrstuvwxyz_");

	/* libpq's URIs and keyword/value strings ("host=... dbname=...") are
	 * passed whole. */
	if (!strncmp(location, "postgresql://", 13) || !strncmp(location, "postgres://", 11) ||
	    (kw && location[kw + strspn(location + kw, " ")] == '='))
		return shim_store_postgresql.open(location, mkvp, out);
	/* "NAME:" before any '/': an implementation by name. */
	if (colon && (!slash || colon < slash)) {
		size_t n = (size_t)(colon - location);

		for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
			if (strlen(impls[i]->name) == n && !memcmp(impls[i]->name, location, n))
				return impls[i]->open(colon + 1, mkvp, out);
		shim_err("token store %.*s: no such store (known: sqlite, postgresql)", (int)n,
			 location);
		return CKR_ARGUMENTS_BAD;
	}
	return shim_store_sqlite.open(location, mkvp, out);
}

void shim_store_close(struct shim_store *s)
{
	if (s)
		s->ops->close(s);
}

void shim_store_abandon(struct shim_store *s)
{
	if (s)
		s->ops->abandon(s);
}

bool shim_store_initialized(struct shim_store *s, uint8_t label[32])
{
	return s->ops->initialized(s, label);
}

CK_RV shim_store_init_token(struct shim_store *s, const uint8_t label[32],
			    const struct shim_pin_record *so)
{
	return s->ops->init_token(s, label, so);
}

CK_RV shim_store_get_pin(struct shim_store *s, CK_USER_TYPE user, struct shim_pin_record *r,
			 uint32_t *failures)
{
	return s->ops->get_pin(s, user, r, failures);
}

CK_RV shim_store_put_pin(struct shim_store *s, CK_USER_TYPE user, const struct shim_pin_record *r)
{
	return s->ops->put_pin(s, user, r);
}

CK_RV shim_store_pin_failed(struct shim_store *s, CK_USER_TYPE user, uint32_t *failures)
{
	return s->ops->pin_failed(s, user, failures);
}

CK_RV shim_store_pin_reset(struct shim_store *s, CK_USER_TYPE user)
{
	return s->ops->pin_reset(s, user);
}

CK_RV shim_store_get_cardpin(struct shim_store *s, struct shim_cardpin_record *r)
{
	return s->ops->get_cardpin(s, r);
}

CK_RV shim_store_put_cardpin(struct shim_store *s, const struct shim_cardpin_record *r)
{
	return s->ops->put_cardpin(s, r);
}

CK_RV shim_store_put_user_pin(struct shim_store *s, const struct shim_pin_record *r,
			      const struct shim_cardpin_record *cp)
{
	return s->ops->put_user_pin(s, r, cp);
}

CK_RV shim_store_get_meta(struct shim_store *s, const char *name, uint8_t *val, size_t cap,
			  size_t *len)
{
	return s->ops->get_meta(s, name, val, cap, len);
}

CK_RV shim_store_put_meta(struct shim_store *s, const char *name, const uint8_t *val, size_t len)
{
	return s->ops->put_meta(s, name, val, len);
}

CK_RV shim_store_obj_insert(struct shim_store *s, bool priv, const uint8_t *blob, size_t len,
			    int64_t *id)
{
	return s->ops->obj_insert(s, priv, blob, len, id);
}

CK_RV shim_store_obj_update(struct shim_store *s, int64_t id, bool priv, const uint8_t *blob,
			    size_t len)
{
	return s->ops->obj_update(s, id, priv, blob, len);
}

CK_RV shim_store_obj_delete(struct shim_store *s, int64_t id)
{
	return s->ops->obj_delete(s, id);
}

CK_RV shim_store_obj_get(struct shim_store *s, int64_t id, uint8_t **blob, size_t *len)
{
	return s->ops->obj_get(s, id, blob, len);
}

CK_RV shim_store_obj_foreach(struct shim_store *s, bool with_private, shim_store_obj_fn fn,
			     void *ctx)
{
	return s->ops->obj_foreach(s, with_private, fn, ctx);
}

CK_RV shim_store_export(struct shim_store *s, struct shim_store_image *img)
{
	memset(img, 0, sizeof(*img));
	return s->ops->export_token(s, img);
}

CK_RV shim_store_import(struct shim_store *s, const struct shim_store_image *img)
{
	return s->ops->import_token(s, img);
}

static void rows_free(struct shim_store_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		OPENSSL_clear_free(r[i].val, r[i].len);
	free(r);
}

void shim_store_image_free(struct shim_store_image *img)
{
	rows_free(img->meta, img->nmeta);
	rows_free(img->pins, img->npins);
	rows_free(img->objs, img->nobjs);
	memset(img, 0, sizeof(*img));
}

CK_RV shim_store_image_add(struct shim_store_row **list, size_t *n, const struct shim_store_row *r,
			   const void *val)
{
	struct shim_store_row *l = realloc(*list, (*n + 1) * sizeof(*l));

	if (!l)
		return CKR_HOST_MEMORY;
	*list = l;
	l[*n] = *r;
	l[*n].val = malloc(r->len ? r->len : 1);
	if (!l[*n].val)
		return CKR_HOST_MEMORY;
	if (r->len)
		memcpy(l[*n].val, val, r->len);
	(*n)++;
	return CKR_OK;
}

static bool rows_same(const char *what, const struct shim_store_row *a, size_t na,
		      const struct shim_store_row *b, size_t nb, char *why, size_t cap)
{
	size_t i;

	for (i = 0; i < na && i < nb; i++) {
		if (a[i].key != b[i].key || strcmp(a[i].name, b[i].name)) {
			snprintf(why, cap, "%s: %lld %s against %lld %s", what, (long long)a[i].key,
				 a[i].name, (long long)b[i].key, b[i].name);
			return false;
		}
		if (a[i].priv != b[i].priv || a[i].failures != b[i].failures ||
		    a[i].len != b[i].len || (a[i].len && memcmp(a[i].val, b[i].val, a[i].len))) {
			snprintf(why, cap, "%s %lld%s%s differs", what, (long long)a[i].key,
				 a[i].name[0] ? " " : "", a[i].name);
			return false;
		}
	}
	if (na != nb) {
		snprintf(why, cap, "%s: %zu rows against %zu", what, na, nb);
		return false;
	}
	return true;
}

bool shim_store_image_same(const struct shim_store_image *a, const struct shim_store_image *b,
			   char *why, size_t cap)
{
	return rows_same("value", a->meta, a->nmeta, b->meta, b->nmeta, why, cap) &&
	       rows_same("PIN of user", a->pins, a->npins, b->pins, b->npins, why, cap) &&
	       rows_same("object", a->objs, a->nobjs, b->objs, b->nobjs, why, cap);
}
