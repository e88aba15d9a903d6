// SPDX-License-Identifier: GPL-2.0
/*
 * objmgr - handles, visibility and the object calls (see objmgr.h).
 */
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "module.h"
#include "object.h"
#include "objmgr.h"
#include "session.h"
#include "slot.h"
#include "store.h"

static bool visible(const struct shim_session *s, const struct shim_object *o)
{
	return !shim_obj_is_private(o) || shim_session_user(s);
}

CK_RV shim_obj_get(struct shim_session *s, CK_OBJECT_HANDLE h, struct shim_object **out)
{
	struct shim_store *st;
	struct shim_object *o;
	uint8_t *blob;
	size_t len;
	CK_RV rv;

	if (h == CK_INVALID_HANDLE)
		return CKR_OBJECT_HANDLE_INVALID;
	if (h & 1) {
		for (o = s->slot->objects; o; o = o->next) {
			if (o->handle == h) {
				if (!visible(s, o))
					return CKR_OBJECT_HANDLE_INVALID;
				*out = o;
				return CKR_OK;
			}
		}
		return CKR_OBJECT_HANDLE_INVALID;
	}
	if (h / 2 > INT64_MAX)
		return CKR_OBJECT_HANDLE_INVALID;
	rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = shim_store_obj_get(st, (int64_t)(h / 2), &blob, &len);
	if (rv != CKR_OK)
		return rv;
	rv = shim_obj_deserialize(blob, len, &o);
	shim_obj_blob_free(blob, len);
	if (rv != CKR_OK)
		return rv;
	o->rowid = (int64_t)(h / 2);
	o->handle = h;
	if (!visible(s, o)) {
		shim_obj_free(o);
		return CKR_OBJECT_HANDLE_INVALID;
	}
	*out = o;
	return CKR_OK;
}

void shim_obj_put(struct shim_object *o)
{
	if (o && o->rowid)
		shim_obj_free(o);
}

static CK_RV check_access(struct shim_session *s, const struct shim_object *o)
{
	if (shim_obj_is_token(o) && !shim_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (shim_obj_is_private(o) && !shim_session_user(s))
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

CK_RV shim_obj_add(struct shim_session *s, struct shim_object *o, CK_OBJECT_HANDLE *h)
{
	struct shim_store *st;
	uint8_t *blob;
	size_t len;
	int64_t id;
	CK_RV rv;

	rv = check_access(s, o);
	if (rv != CKR_OK)
		goto fail;
	if (!shim_obj_is_token(o)) {
		o->handle = shim_g.next_object;
		shim_g.next_object += 2;
		o->owner = s->handle;
		o->rowid = 0;
		o->next = s->slot->objects;
		s->slot->objects = o;
		*h = o->handle;
		return CKR_OK;
	}
	rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = shim_obj_serialize(o, &blob, &len);
	if (rv != CKR_OK)
		goto fail;
	rv = shim_store_obj_insert(st, shim_obj_is_private(o), blob, len, &id);
	shim_obj_blob_free(blob, len);
	if (rv == CKR_OK)
		*h = (CK_OBJECT_HANDLE)id * 2;
fail:
	shim_obj_free(o);
	return rv;
}

static void remove_session_obj(struct shim_slot *slot, struct shim_object *o)
{
	struct shim_object **pp;

	for (pp = &slot->objects; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			shim_obj_free(o);
			return;
		}
	}
}

void shim_obj_remove(struct shim_session *s, CK_OBJECT_HANDLE h)
{
	struct shim_store *st;
	struct shim_object *o;

	if (h & 1) {
		for (o = s->slot->objects; o; o = o->next) {
			if (o->handle == h) {
				remove_session_obj(s->slot, o);
				return;
			}
		}
	} else if (shim_slot_store(s->slot, &st) == CKR_OK) {
		shim_store_obj_delete(st, (int64_t)(h / 2));
	}
}

/* Write a changed token object back. */
static CK_RV obj_save(struct shim_session *s, struct shim_object *o)
{
	struct shim_store *st;
	uint8_t *blob;
	size_t len;
	CK_RV rv;

	if (!o->rowid)
		return CKR_OK;
	rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = shim_obj_serialize(o, &blob, &len);
	if (rv != CKR_OK)
		return rv;
	rv = shim_store_obj_update(st, o->rowid, shim_obj_is_private(o), blob, len);
	shim_obj_blob_free(blob, len);
	return rv;
}

/* ------------------------------------------------------------ PKCS#11 */

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
		     CK_OBJECT_HANDLE_PTR phObject)
{
	struct shim_session *s;
	struct shim_object *o;
	CK_ULONG cls, key_type = CK_UNAVAILABLE_INFORMATION;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate || !ulCount || !phObject) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = shim_tmpl_check(pTemplate, ulCount);
	if (rv != CKR_OK)
		goto out;
	if (!shim_tmpl_ulong(pTemplate, ulCount, CKA_CLASS, &cls)) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto out;
	}
	switch (cls) {
	case CKO_DATA:
	case CKO_CERTIFICATE:
		break;
	case CKO_PUBLIC_KEY:
		if (!shim_tmpl_ulong(pTemplate, ulCount, CKA_KEY_TYPE, &key_type)) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto out;
		}
		break;
	case CKO_SECRET_KEY:
	case CKO_PRIVATE_KEY:
		/* The value goes through the card's IMPORT_KEY, never to the store. */
		rv = shim_key_import(s, cls, pTemplate, ulCount, phObject);
		goto out;
	default:
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	rv = shim_obj_from_template(cls, key_type, pTemplate, ulCount, SHIM_TMPL_CREATE, &o);
	if (rv == CKR_OK)
		rv = shim_obj_add(s, o, phObject);
out:
	shim_session_leave(s);
	return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
		   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
	struct shim_object *o = NULL, *c;
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if ((!pTemplate && ulCount) || !phNewObject) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = shim_obj_get(s, hObject, &o);
	if (rv != CKR_OK)
		goto out;
	if (!shim_obj_bool(o, CKA_COPYABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	c = shim_obj_dup(o);
	if (!c) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	rv = shim_obj_modify(c, pTemplate, ulCount, SHIM_TMPL_COPY);
	if (rv != CKR_OK) {
		shim_obj_free(c);
		goto out;
	}
	rv = shim_obj_add(s, c, phNewObject);
out:
	shim_obj_put(o);
	shim_leave();
	return rv;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	struct shim_object *o = NULL;
	struct shim_session *s;
	struct shim_store *st;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK)
		rv = shim_obj_get(s, hObject, &o);
	if (rv != CKR_OK)
		goto out;
	if (o->rowid && !shim_session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
	} else if (!shim_obj_bool(o, CKA_DESTROYABLE, true)) {
		rv = CKR_ACTION_PROHIBITED;
	} else if (o->rowid) {
		rv = shim_slot_store(s->slot, &st);
		if (rv == CKR_OK)
			rv = shim_store_obj_delete(st, o->rowid);
	} else {
		remove_session_obj(s->slot, o);
		o = NULL;
	}
out:
	shim_obj_put(o);
	shim_leave();
	return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	struct shim_object *o = NULL;
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK && !pulSize)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		rv = shim_obj_get(s, hObject, &o);
	if (rv == CKR_OK)
		*pulSize = shim_obj_size(o);
	shim_obj_put(o);
	shim_leave();
	return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct shim_object *o = NULL;
	struct shim_session *s;
	uint8_t *val = NULL;
	size_t vlen = 0;
	CK_RV rv;

	rv = shim_session_enter(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		rv = shim_obj_get(s, hObject, &o);
	if (rv == CKR_OK && shim_obj_wants_value(o, pTemplate, ulCount)) {
		/* A non-sensitive secret key's value: only the card has it.
		 * The lock is dropped meanwhile: look the object up again. */
		rv = shim_key_export_value(s, o, &val, &vlen);
		o = NULL;
		if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_KEY_UNEXTRACTABLE)
			rv = CKR_OK; /* an older blob: the value stays sensitive */
		if (rv == CKR_OK)
			rv = shim_obj_get(s, hObject, &o);
	}
	if (rv == CKR_OK)
		rv = shim_obj_get_attrs(o, pTemplate, ulCount, val, vlen);
	shim_obj_put(o);
	if (val)
		explicit_bzero(val, vlen);
	free(val);
	shim_session_leave(s);
	return rv;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct shim_object *o = NULL;
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK && !pTemplate && ulCount)
		rv = CKR_ARGUMENTS_BAD;
	if (rv == CKR_OK)
		rv = shim_obj_get(s, hObject, &o);
	if (rv != CKR_OK)
		goto out;
	if (o->rowid && !shim_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else if (!shim_obj_bool(o, CKA_MODIFIABLE, true))
		rv = CKR_ATTRIBUTE_READ_ONLY;
	else
		rv = shim_obj_modify(o, pTemplate, ulCount, SHIM_TMPL_SET);
	if (rv == CKR_OK)
		rv = obj_save(s, o);
out:
	shim_obj_put(o);
	shim_leave();
	return rv;
}

struct find_ctx {
	struct shim_find *f;
	const CK_ATTRIBUTE *t;
	CK_ULONG n;
	size_t cap;
};

static CK_RV find_push(struct find_ctx *c, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_HANDLE *nh;

	if (c->f->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		nh = realloc(c->f->handles, c->cap * sizeof(*nh));
		if (!nh)
			return CKR_HOST_MEMORY;
		c->f->handles = nh;
	}
	c->f->handles[c->f->n++] = h;
	return CKR_OK;
}

static CK_RV find_token_obj(void *ctx, int64_t id, const uint8_t *blob, size_t len)
{
	struct find_ctx *c = ctx;
	struct shim_object *o;
	CK_RV rv;
	bool m;

	if (shim_obj_deserialize(blob, len, &o) != CKR_OK) {
		shim_warn("token object %lld does not decode, skipped", (long long)id);
		return CKR_OK;
	}
	m = shim_obj_match(o, c->t, c->n);
	shim_obj_free(o);
	rv = m ? find_push(c, (CK_OBJECT_HANDLE)id * 2) : CKR_OK;
	return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct find_ctx c = {0};
	struct shim_session *s;
	struct shim_object *o;
	struct shim_store *st;
	CK_ULONG i;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (s->find.active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!pTemplate && ulCount) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		if (!pTemplate[i].pValue && pTemplate[i].ulValueLen) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
	}
	c.f = &s->find;
	c.t = pTemplate;
	c.n = ulCount;
	for (o = s->slot->objects; o && rv == CKR_OK; o = o->next)
		if (visible(s, o) && shim_obj_match(o, pTemplate, ulCount))
			rv = find_push(&c, o->handle);
	if (rv == CKR_OK)
		rv = shim_slot_store(s->slot, &st);
	if (rv == CKR_OK)
		rv = shim_store_obj_foreach(st, shim_session_user(s), find_token_obj, &c);
	if (rv != CKR_OK) {
		free(s->find.handles);
		memset(&s->find, 0, sizeof(s->find));
		goto out;
	}
	s->find.active = true;
	s->find.pos = 0;
out:
	shim_leave();
	return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
		    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct shim_session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv != CKR_OK)
		goto out;
	if (!s->find.active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (!phObject || !pulObjectCount) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	while (n < ulMaxObjectCount && s->find.pos < s->find.n)
		phObject[n++] = s->find.handles[s->find.pos++];
	*pulObjectCount = n;
out:
	shim_leave();
	return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct shim_session *s;
	CK_RV rv;

	rv = shim_enter();
	if (rv != CKR_OK)
		return rv;
	rv = shim_session_get(hSession, &s);
	if (rv == CKR_OK && !s->find.active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	if (rv == CKR_OK) {
		free(s->find.handles);
		memset(&s->find, 0, sizeof(s->find));
	}
	shim_leave();
	return rv;
}
