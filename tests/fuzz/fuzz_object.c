// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_object - libFuzzer target of the token objects' serialized form
 * (shim_obj_deserialize in libp11shim/object.c): what the PKCS#11 module
 * reads back from the attrs column of the token store, which any process
 * with write access to the database can change.
 *
 * An input that decodes must serialize into a form that decodes again into
 * the same form, and the object must survive what C_GetAttributeValue,
 * C_FindObjects, C_GetObjectSize, C_CopyObject and C_SetAttributeValue do
 * with it (rules lookups on any class, any attribute size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_object: check failed: %s (line %d)\n", #c,           \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Attribute types always asked for besides the object's own. */
static const CK_ATTRIBUTE_TYPE extra[] = {
    CKA_CLASS,	   CKA_VALUE,	      CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE_EXPONENT,
    SHIM_CKA_BLOB, CKA_VENDOR_DEFINED};
#define NEXTRA (sizeof(extra) / sizeof(extra[0]))

static void exercise(struct shim_object *o)
{
	CK_ULONG n = o->n + NEXTRA, i, nm = 0;
	CK_ATTRIBUTE *t = calloc(n, sizeof(*t)), *m = calloc(n, sizeof(*m));
	struct shim_object *d;

	CHECK(t && m);
	(void)shim_obj_class(o);
	(void)shim_obj_is_token(o);
	(void)shim_obj_is_private(o);
	CHECK(shim_obj_size(o) >= 8);
	for (i = 0; i < n; i++)
		t[i].type = i < o->n ? o->attrs[i].type : extra[i - o->n];
	/* C_GetAttributeValue: sizes first, then values in exact buffers. */
	(void)shim_obj_get_attrs(o, t, n, NULL, 0);
	for (i = 0; i < n; i++) {
		if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			continue;
		t[i].pValue = malloc(t[i].ulValueLen ? t[i].ulValueLen : 1);
		CHECK(t[i].pValue);
	}
	(void)shim_obj_get_attrs(o, t, n, NULL, 0);
	for (i = 0; i < n; i++)
		if (t[i].pValue && t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION && i < o->n)
			m[nm++] = t[i];
	/* Every value it shows, it matches (C_FindObjects). */
	CHECK(shim_obj_match(o, m, nm));
	/* C_CopyObject and C_SetAttributeValue with its own values. */
	d = shim_obj_dup(o);
	if (d) {
		(void)shim_obj_modify(d, m, nm, SHIM_TMPL_COPY);
		(void)shim_obj_modify(d, m, nm, SHIM_TMPL_SET);
		shim_obj_free(d);
	}
	for (i = 0; i < n; i++)
		free(t[i].pValue);
	free(t);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_object *o, *o2;
	uint8_t *b1, *b2, *copy;
	size_t l1, l2;

	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	if (shim_obj_deserialize(copy, size, &o) != CKR_OK) {
		free(copy);
		return 0;
	}
	free(copy);
	exercise(o);
	CHECK(shim_obj_serialize(o, &b1, &l1) == CKR_OK);
	CHECK(shim_obj_deserialize(b1, l1, &o2) == CKR_OK);
	CHECK(o2->n == o->n);
	CHECK(shim_obj_serialize(o2, &b2, &l2) == CKR_OK);
	CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
	shim_obj_blob_free(b1, l1);
	shim_obj_blob_free(b2, l2);
	shim_obj_free(o2);
	shim_obj_free(o);
	return 0;
}
