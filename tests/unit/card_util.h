/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card_util - helpers shared by the per-mechanism card tests
 * (test_card_*.c): send a request to an in-process card, import and
 * generate keys, run a multi-part operation part by part alternating
 * between two cards of one master key (the failover property).
 * Header-only; every test program includes it once.
 */
#ifndef CARD_UTIL_H
#define CARD_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "card.h"
#include "hsmg_msg.h"

/* Not every test program uses every helper. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

static const uint8_t mk_a[HSMG_CARD_MK_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t mk_b[HSMG_CARD_MK_LEN] = "fedcba9876543210fedcba9876543210";

static uint8_t ans[HSMG_MAX_MSG_SIZE];
static uint8_t reqbuf[HSMG_MAX_MSG_SIZE];

struct tlv {
	uint32_t tag;
	const void *val;
	size_t len;
};

#define NT(t)	(sizeof(t) / sizeof((t)[0]))
#define SESSION 42

static struct hsmg_card *new_card(const uint8_t *mk)
{
	struct hsmg_card *c = hsmg_card_new(mk, 1, 0);

	ck_assert_ptr_nonnull(c);
	return c;
}

/* Send one request (session SESSION, no login); returns the rv and leaves
 * the parsed response in @v (pointing into ans). */
static CK_RV crypto(struct hsmg_card *c, uint32_t op, uint64_t mech, const struct tlv *t, size_t nt,
		    struct hsmg_msg_view *v)
{
	struct hsmg_be_req r = {.tag = 1, .type = HSMG_BE_REQ_CRYPTO, .session = SESSION};
	struct hsmg_card_result res;
	struct hsmg_msg_builder b;
	struct hsmg_msg_view local;
	ssize_t n;
	size_t i;

	if (!v)
		v = &local;
	hsmg_msg_init(&b, reqbuf, sizeof(reqbuf), HSMG_MSG_REQUEST, op, mech);
	for (i = 0; i < nt; i++)
		if (t[i].tag)
			hsmg_msg_put(&b, t[i].tag, t[i].val, t[i].len);
	n = hsmg_msg_finish(&b);
	ck_assert_int_gt(n, 0);
	r.len = (uint32_t)n;
	hsmg_card_process(c, 0, &r, reqbuf, ans, sizeof(ans), &res);
	ck_assert_uint_eq(res.status, HSMG_BE_OK);
	ck_assert_int_eq(hsmg_msg_parse_type(v, ans, res.len, HSMG_MSG_RESPONSE), 0);
	ck_assert_uint_eq(v->hdr.op, op);
	if (v->hdr.rv != CKR_OK)
		ck_assert_uint_eq(v->hdr.ntlv, 0);
	return v->hdr.rv;
}

/* Copy TLV @tag of @v into a new malloc'd buffer; its length in *@len. */
static uint8_t *take(const struct hsmg_msg_view *v, uint32_t tag, size_t *len)
{
	const void *val;
	uint32_t n;
	uint8_t *p;

	ck_assert_msg(hsmg_msg_get(v, tag, &val, &n), "tag %u missing", tag);
	p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, val, n);
	*len = n;
	return p;
}

struct blob {
	uint8_t *p;
	size_t len;
	uint8_t *pub; /* key pairs */
	size_t pub_len;
};

static void blob_free(struct blob *b)
{
	free(b->p);
	free(b->pub);
	memset(b, 0, sizeof(*b));
}

static struct hsmg_msg_key_attrs attrs(uint64_t type, uint32_t len, uint32_t curve, uint32_t usage,
				       uint32_t flags)
{
	struct hsmg_msg_key_attrs a = {
	    .key_type = type, .value_len = len, .curve = curve, .usage = usage, .flags = flags};
	return a;
}

/* Key from a response (OUT_KEY, and OUT_PUBKEY when present). */
static struct blob blob_of(const struct hsmg_msg_view *v)
{
	struct blob b = {0};

	b.p = take(v, HSMG_TAG_OUT_KEY, &b.len);
	if (hsmg_msg_get(v, HSMG_TAG_OUT_PUBKEY, NULL, NULL))
		b.pub = take(v, HSMG_TAG_OUT_PUBKEY, &b.pub_len);
	return b;
}

static CK_RV import_key(struct hsmg_card *c, struct hsmg_msg_key_attrs a, uint32_t fmt,
			const void *val, size_t len, struct blob *out)
{
	struct tlv t[] = {
	    {HSMG_TAG_ATTRS, &a, sizeof(a)}, {HSMG_TAG_DATA, val, len}, {HSMG_TAG_PARAM, &fmt, 4}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, HSMG_MSG_OP_IMPORT_KEY, 0, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = blob_of(&v);
	return rv;
}

static struct blob import_ok(struct hsmg_card *c, struct hsmg_msg_key_attrs a, const void *val,
			     size_t len)
{
	struct blob b = {0};

	ck_assert_uint_eq(import_key(c, a, HSMG_IMPORT_FMT_RAW, val, len, &b), CKR_OK);
	return b;
}

static CK_RV gen_key(struct hsmg_card *c, uint64_t mech, struct hsmg_msg_key_attrs a,
		     const void *param, size_t plen, struct blob *out)
{
	struct tlv t[] = {{HSMG_TAG_ATTRS, &a, sizeof(a)},
			  {plen ? HSMG_TAG_PARAM : 0, param, plen}};
	struct hsmg_msg_view v;
	uint32_t op = (mech == CKM_AES_KEY_GEN || mech == CKM_GENERIC_SECRET_KEY_GEN)
			  ? HSMG_MSG_OP_GENERATE_KEY
			  : HSMG_MSG_OP_GENERATE_KEYPAIR;
	CK_RV rv = crypto(c, op, mech, t, NT(t), &v);

	if (rv == CKR_OK)
		*out = blob_of(&v);
	return rv;
}

/* Single-part op with KEY, optional PARAM, DATA (and SIGNATURE for
 * verify); output (malloc'd) in @out and @olen when wanted. */
static CK_RV single(struct hsmg_card *c, uint32_t op, uint64_t mech, const struct blob *k,
		    const void *param, size_t plen, const void *data, size_t len, const void *sig,
		    size_t sig_len, uint8_t **out, size_t *olen)
{
	struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len},
			  {plen ? HSMG_TAG_PARAM : 0, param, plen},
			  {HSMG_TAG_DATA, data, len},
			  {sig ? HSMG_TAG_SIGNATURE : 0, sig, sig_len}};
	struct hsmg_msg_view v;
	CK_RV rv = crypto(c, op, mech, t, NT(t), &v);

	if (rv == CKR_OK && out)
		*out = take(&v, HSMG_TAG_OUT_DATA, olen);
	return rv;
}

/*
 * Multi-part: INIT on cards[0], then parts of the sizes in @splits (0
 * ends the list; the rest of @data goes to FINAL), each on the next card
 * in turn (failover), FINAL with the rest and @sig.  Output (all OUT_DATA
 * concatenated, malloc'd) in @out and @olen.  @base_op is ENCRYPT, DECRYPT,
 * SIGN or VERIFY.  Checks that the state never grows with the data.
 */
static CK_RV multi(struct hsmg_card *cards[2], uint32_t base_op, uint64_t mech,
		   const struct blob *k, const void *param, size_t plen, const uint8_t *data,
		   size_t len, const size_t *splits, const void *sig, size_t sig_len, uint8_t **out,
		   size_t *olen)
{
	struct hsmg_msg_view v;
	uint8_t *state = NULL, *acc = malloc(len + 64), *part;
	size_t st_len = 0, first_st = 0, off = 0, n = 0, plen_out, i = 0, turn = 1;
	CK_RV rv;

	ck_assert_ptr_nonnull(acc);
	{
		struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len},
				  {plen ? HSMG_TAG_PARAM : 0, param, plen}};

		rv = crypto(cards[0], base_op + 1, mech, t, NT(t), &v);
		if (rv != CKR_OK)
			goto out;
		state = take(&v, HSMG_TAG_OUT_STATE, &st_len);
		first_st = st_len;
	}
	for (i = 0; splits && splits[i] && off + splits[i] <= len; i++) {
		struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len},
				  {HSMG_TAG_STATE, state, st_len},
				  {HSMG_TAG_DATA, data + off, splits[i]}};

		rv = crypto(cards[turn++ % 2], base_op + 2, mech, t, NT(t), &v);
		if (rv != CKR_OK)
			goto out;
		free(state);
		state = take(&v, HSMG_TAG_OUT_STATE, &st_len);
		ck_assert_uint_eq(st_len, first_st);
		if (hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, NULL, NULL)) {
			part = take(&v, HSMG_TAG_OUT_DATA, &plen_out);
			memcpy(acc + n, part, plen_out);
			n += plen_out;
			free(part);
		}
		off += splits[i];
	}
	{
		struct tlv t[] = {{HSMG_TAG_KEY, k->p, k->len},
				  {HSMG_TAG_STATE, state, st_len},
				  {off < len ? HSMG_TAG_DATA : 0, data + off, len - off},
				  {sig ? HSMG_TAG_SIGNATURE : 0, sig, sig_len}};

		rv = crypto(cards[turn % 2], base_op + 3, mech, t, NT(t), &v);
		if (rv != CKR_OK)
			goto out;
		if (hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, NULL, NULL)) {
			part = take(&v, HSMG_TAG_OUT_DATA, &plen_out);
			memcpy(acc + n, part, plen_out);
			n += plen_out;
			free(part);
		}
	}
out:
	free(state);
	if (rv == CKR_OK && out) {
		*out = acc;
		*olen = n;
	} else {
		free(acc);
	}
	return rv;
}

static void hex2bin(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = 0;
	unsigned int x;

	for (; hex[0] && hex[1]; hex += 2) {
		ck_assert(sscanf(hex, "%2x", &x) == 1);
		out[n++] = (uint8_t)x;
	}
	*len = n;
}

static void check_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[512];
	size_t n;

	hex2bin(hex, want, &n);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(got, want, n);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245U + 12345U;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static const size_t odd_splits[] = {1, 7, 15, 16, 17, 33, 100, 0};

#endif
