/* SPDX-License-Identifier: GPL-2.0 */
/*
 * object - PKCS#11 objects as attribute lists, and the attribute rules of
 * the standard: which attributes each class has, which are read-only, which
 * change only one way, which are never revealed, the defaults.
 *
 * Keys exist outside the card only as blobs wrapped under the group's
 * master key: a key object holds its blob in the internal attribute
 * SHIM_CKA_BLOB, never shown to applications.  CKA_VALUE of a secret or
 * private key is therefore CKR_ATTRIBUTE_SENSITIVE, except for secret keys
 * made not sensitive and extractable: their value is read from the card
 * on each request (and never stored).  Key values given
 * to C_CreateObject are imported by the card (keys.c) and never stored.
 * Public keys are stored in clear with their standard attributes
 * (CKA_MODULUS/CKA_PUBLIC_EXPONENT; CKA_EC_PARAMS and CKA_EC_POINT as a DER
 * OCTET STRING); private keys keep CKA_MODULUS/CKA_PUBLIC_EXPONENT or
 * CKA_EC_PARAMS readable for clients such as libp11.
 *
 * Token objects are serialized (shim_obj_serialize) into the token store;
 * session objects live in memory.
 */
#ifndef SHIM_OBJECT_H
#define SHIM_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* Internal attribute: the card's key blob (or for EC public keys nothing). */
#define SHIM_CKA_BLOB (CKA_VENDOR_DEFINED | 0x48534d01UL)

struct shim_attr {
	CK_ATTRIBUTE_TYPE type;
	CK_ULONG len;
	uint8_t *val; /* malloc'd, NULL when len is 0 */
};

struct shim_object {
	struct shim_object *next; /* session object list */
	CK_OBJECT_HANDLE handle;
	int64_t rowid;		 /* token objects: row in the store; else 0 */
	CK_SESSION_HANDLE owner; /* session objects: the session that made it */
	size_t n, cap;
	struct shim_attr *attrs;
};

/* Why a template is being checked. */
enum shim_tmpl_use {
	SHIM_TMPL_CREATE,   /* C_CreateObject */
	SHIM_TMPL_GENERATE, /* key (pair) generation: the card makes the key */
	SHIM_TMPL_UNWRAP,   /* C_UnwrapKey, C_DeriveKey: the value comes from the card */
	SHIM_TMPL_COPY,	    /* C_CopyObject */
	SHIM_TMPL_SET,	    /* C_SetAttributeValue */
};

struct shim_object *shim_obj_new(void);
/* Wipe every value and free. */
void shim_obj_free(struct shim_object *o);

struct shim_attr *shim_obj_attr(const struct shim_object *o, CK_ATTRIBUTE_TYPE type);
CK_RV shim_obj_set(struct shim_object *o, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len);
CK_RV shim_obj_set_bool(struct shim_object *o, CK_ATTRIBUTE_TYPE type, bool v);
CK_RV shim_obj_set_ulong(struct shim_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
bool shim_obj_bool(const struct shim_object *o, CK_ATTRIBUTE_TYPE type, bool def);
/* Value of a CK_ULONG attribute or @def. */
CK_ULONG shim_obj_ulong(const struct shim_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG def);
CK_OBJECT_CLASS shim_obj_class(const struct shim_object *o);
bool shim_obj_is_token(const struct shim_object *o);
bool shim_obj_is_private(const struct shim_object *o);

/* Serialized form for the token store; *@buf is malloc'd (free with
 * shim_obj_blob_free, which wipes it). */
CK_RV shim_obj_serialize(const struct shim_object *o, uint8_t **buf, size_t *len);
void shim_obj_blob_free(uint8_t *buf, size_t len);
CK_RV shim_obj_deserialize(const uint8_t *buf, size_t len, struct shim_object **out);
struct shim_object *shim_obj_dup(const struct shim_object *o);

/* Template checks shared by every use: pointers, known type, value size. */
CK_RV shim_tmpl_check(const CK_ATTRIBUTE *t, CK_ULONG n);
/* Look up @type in a template (NULL when absent). */
const CK_ATTRIBUTE *shim_tmpl_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
/* CK_BBOOL / CK_ULONG value of @type in a template; false when absent. */
bool shim_tmpl_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, bool *v);
bool shim_tmpl_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *v);

/*
 * Build a new object of class @cls (and key type @key_type for keys) from
 * template @t for @use (CREATE or GENERATE): apply the rules, then the
 * defaults.  For GENERATE the caller then sets the token-made attributes
 * (shim_obj_mark_generated).
 */
CK_RV shim_obj_from_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type, const CK_ATTRIBUTE *t,
			     CK_ULONG n, enum shim_tmpl_use use, struct shim_object **out);
/* CKA_LOCAL, CKA_KEY_GEN_MECHANISM, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE. */
CK_RV shim_obj_mark_generated(struct shim_object *o, CK_MECHANISM_TYPE mech);

/* Apply @t to @o for SET or COPY after checking every rule (nothing is
 * changed when a rule fails). */
CK_RV shim_obj_modify(struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n,
		      enum shim_tmpl_use use);

/*
 * May the clear value (CKA_VALUE) of @o be read?  Secret keys that are not
 * sensitive and extractable (PKCS#11: other keys' values are sensitive);
 * the value itself comes from the card (shim_key_export_value).
 */
bool shim_obj_value_readable(const struct shim_object *o);
/* Does C_GetAttributeValue(@t) on @o need that value from the card (a
 * CKA_VALUE entry with room for it)? */
bool shim_obj_wants_value(const struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n);
/*
 * C_GetAttributeValue on one object (the length-query convention).
 * @value/@value_len: the clear CKA_VALUE of a readable key as the card gave
 * it, or NULL: then a length query of it gets CKA_VALUE_LEN, anything else
 * CKR_ATTRIBUTE_SENSITIVE.
 */
CK_RV shim_obj_get_attrs(const struct shim_object *o, CK_ATTRIBUTE *t, CK_ULONG n,
			 const uint8_t *value, size_t value_len);
/* Does @o match every attribute of @t (C_FindObjectsInit)?  Internal and
 * sensitive attributes never match. */
bool shim_obj_match(const struct shim_object *o, const CK_ATTRIBUTE *t, CK_ULONG n);
/* Approximate size for C_GetObjectSize. */
CK_ULONG shim_obj_size(const struct shim_object *o);

/* A key value attribute (CKA_VALUE of keys, the RSA private parts): given
 * only to C_CreateObject, imported by the card, never stored or shown. */
bool shim_obj_is_key_value(CK_ATTRIBUTE_TYPE type);

#endif
