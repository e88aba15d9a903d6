// SPDX-License-Identifier: GPL-2.0
/*
 * store - the token store's interface: choose an implementation, then
 * call through its operations (see store.h).
 */
#include <string.h>

#include "log.h"
#include "store.h"

static const struct shim_store_ops *const impls[] = {
    &shim_store_sqlite,
};

CK_RV shim_store_open(const char *location, const uint8_t mkvp[HSMG_MKVP_LEN],
		      struct shim_store **out)
{
	const char *colon = strchr(location, ':'), *slash = strchr(location, '/');

	/* "NAME:" before any '/': an implementation by name. */
	if (colon && (!slash || colon < slash)) {
		size_t n = (size_t)(colon - location);

		for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
			if (strlen(impls[i]->name) == n && !memcmp(impls[i]->name, location, n))
				return impls[i]->open(colon + 1, mkvp, out);
		shim_err("token store %.*s: no such store (known: sqlite)", (int)n, location);
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
