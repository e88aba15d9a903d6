// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_card - libFuzzer target of hsmsimd's request processing
 * (lib/card/card.c) with a fixed master key.
 *
 * Input: 4 bytes of request context, then the payload:
 *   [0] request type (low 2 bits: CRYPTO, LOGIN, LOGOUT, PING; bit 7: an
 *       unknown type)
 *   [1] session id (0..7; 7 is a strict session logged in with a bound key;
 *       the card's quota is 4 sessions per queue)
 *   [2] session flags (HSMG_SESSION_*, low 4 bits, so one unknown bit)
 *   [3] local queue (bit 0); bit 7 set: a small answer buffer of
 *       ((bits 1..6) * 16) bytes
 * A CRYPTO payload that parses as a request has every 1-byte %HSMG_TAG_KEY,
 * %HSMG_TAG_KEY2, %HSMG_TAG_PUBKEY and %HSMG_TAG_STATE replaced by a real
 * blob, public key or state (made at start-up, picked by that byte), so
 * the fuzzer gets past the blob authentication and into the operations.
 *
 * Checked: no crash, no leak, no sanitizer report; an OK answer fits its
 * buffer, a LOGIN answer is a pin-blob, a CRYPTO answer is a valid response
 * with the request's op and mechanism and no output when rv != CKR_OK.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "card.h"
#include "hsmg_msg.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_card: check failed: %s (line %d)\n", #c, __LINE__);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define STRICT_SESSION 7
#define MAX_ITEMS      16

struct item {
	uint8_t *val;
	uint32_t len;
};

static struct hsmg_card *card;
static bool trace; /* FUZZ_CARD_TRACE set: one line per input (corpus checks) */
static struct item keys[MAX_ITEMS], pubs[MAX_ITEMS], states[MAX_ITEMS];
static unsigned int nkeys, npubs, nstates;
static uint8_t ans[HSMG_MAX_MSG_SIZE];
static uint8_t req_buf[HSMG_MAX_MSG_SIZE];

static const uint8_t mk[HSMG_CARD_MK_LEN] = "hsmgroup fuzz master key 0123456";

static void add(struct item *tab, unsigned int *n, const struct hsmg_msg_view *v, uint32_t tag)
{
	const void *val;
	uint32_t len;

	if (*n >= MAX_ITEMS || !hsmg_msg_get(v, tag, &val, &len))
		return;
	tab[*n].val = malloc(len);
	CHECK(tab[*n].val);
	memcpy(tab[*n].val, val, len);
	tab[*n].len = len;
	(*n)++;
}

static uint32_t login(uint64_t session, uint32_t sflags)
{
	static const char pin[] = "fuzz-pin";
	uint8_t p[sizeof(struct hsmg_be_login) + sizeof(pin)];
	struct hsmg_be_login lg = {.pin_len = sizeof(pin) - 1};
	struct hsmg_be_req r = {.type = HSMG_BE_REQ_LOGIN,
				.session = session,
				.session_flags = sflags,
				.len = (uint32_t)(sizeof(lg) + lg.pin_len)};
	struct hsmg_card_result res;
	unsigned int q;

	memcpy(p, &lg, sizeof(lg));
	memcpy(p + sizeof(lg), pin, lg.pin_len);
	for (q = 0; q < 2; q++) {
		hsmg_card_process(card, q, &r, p, ans, sizeof(ans), &res);
		if (res.status != HSMG_BE_OK)
			return res.status;
	}
	return HSMG_BE_OK;
}

/* Send one request at start-up and keep its key, public key and state. */
static void setup_req(uint64_t session, uint32_t sflags, uint32_t op, uint64_t mech,
		      const struct hsmg_msg_key_attrs *attrs, const void *param, size_t plen,
		      const struct item *key)
{
	struct hsmg_be_req r = {
	    .type = HSMG_BE_REQ_CRYPTO, .session = session, .session_flags = sflags};
	struct hsmg_card_result res;
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	ssize_t n;

	hsmg_msg_init(&b, req_buf, sizeof(req_buf), HSMG_MSG_REQUEST, op, mech);
	if (attrs)
		hsmg_msg_put(&b, HSMG_TAG_ATTRS, attrs, sizeof(*attrs));
	if (param)
		hsmg_msg_put(&b, HSMG_TAG_PARAM, param, plen);
	if (key)
		hsmg_msg_put(&b, HSMG_TAG_KEY, key->val, key->len);
	n = hsmg_msg_finish(&b);
	CHECK(n > 0);
	r.len = (uint32_t)n;
	hsmg_card_process(card, 0, &r, req_buf, ans, sizeof(ans), &res);
	CHECK(res.status == HSMG_BE_OK);
	CHECK(hsmg_msg_parse_type(&v, ans, res.len, HSMG_MSG_RESPONSE) == 0);
	if (v.hdr.rv != CKR_OK) {
		fprintf(stderr, "fuzz_card: setup op %u mech %#llx: rv %#llx\n", op,
			(unsigned long long)mech, (unsigned long long)v.hdr.rv);
		abort();
	}
	add(keys, &nkeys, &v, HSMG_TAG_OUT_KEY);
	add(pubs, &npubs, &v, HSMG_TAG_OUT_PUBKEY);
	add(states, &nstates, &v, HSMG_TAG_OUT_STATE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hsmg_msg_key_attrs aes = {
	    .key_type = CKK_AES, .value_len = 32, .flags = HSMG_KEY_EXTRACTABLE};
	struct hsmg_msg_key_attrs aes16 = {
	    .key_type = CKK_AES, .value_len = 16, .flags = HSMG_KEY_EXTRACTABLE | HSMG_KEY_TOKEN};
	struct hsmg_msg_key_attrs gen = {.key_type = CKK_GENERIC_SECRET, .value_len = 32};
	struct hsmg_msg_key_attrs ec = {
	    .key_type = CKK_EC, .curve = HSMG_CURVE_P256, .flags = HSMG_KEY_EXTRACTABLE};
	struct hsmg_msg_key_attrs ec384 = {.key_type = CKK_EC, .curve = HSMG_CURVE_P384};
	struct hsmg_msg_key_attrs rsa = {
	    .key_type = CKK_RSA, .value_len = 2048, .flags = HSMG_KEY_EXTRACTABLE};
	uint8_t iv[16] = {0};

	trace = getenv("FUZZ_CARD_TRACE") != NULL;
	card = hsmg_card_new(mk, 2, 4);
	CHECK(card);
	CHECK(login(STRICT_SESSION, HSMG_SESSION_STRICT | HSMG_SESSION_RW) == HSMG_BE_OK);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, &aes, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, &aes16, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEY, CKM_GENERIC_SECRET_KEY_GEN, &gen, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, &ec, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, &ec384, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa, NULL, 0,
		  NULL);
	/* A key bound to the strict session's pin-blob. */
	setup_req(STRICT_SESSION, HSMG_SESSION_STRICT | HSMG_SESSION_RW, HSMG_MSG_OP_GENERATE_KEY,
		  CKM_AES_KEY_GEN, &aes, NULL, 0, NULL);
	/* States of each multi-part kind. */
	setup_req(0, 0, HSMG_MSG_OP_DIGEST_INIT, CKM_SHA256, NULL, NULL, 0, NULL);
	setup_req(0, 0, HSMG_MSG_OP_ENCRYPT_INIT, CKM_AES_CBC_PAD, NULL, iv, sizeof(iv), &keys[0]);
	setup_req(0, 0, HSMG_MSG_OP_DECRYPT_INIT, CKM_AES_CBC_PAD, NULL, iv, sizeof(iv), &keys[0]);
	setup_req(0, 0, HSMG_MSG_OP_SIGN_INIT, CKM_SHA256_HMAC, NULL, NULL, 0, &keys[2]);
	setup_req(0, 0, HSMG_MSG_OP_SIGN_INIT, CKM_ECDSA_SHA256, NULL, NULL, 0, &keys[3]);
	setup_req(0, 0, HSMG_MSG_OP_SIGN_INIT, CKM_AES_CMAC, NULL, NULL, 0, &keys[0]);
	return 0;
}

static const struct item *pick(const struct item *tab, unsigned int n, uint8_t sel)
{
	return n ? &tab[sel % n] : NULL;
}

/* Rebuild a parsed request with 1-byte references replaced; the length. */
static size_t substitute(const struct hsmg_msg_view *v)
{
	struct hsmg_msg_builder b;
	const struct item *it;
	uint32_t tag;
	ssize_t n;

	hsmg_msg_init(&b, req_buf, sizeof(req_buf), HSMG_MSG_REQUEST, v->hdr.op, v->hdr.mechanism);
	for (tag = HSMG_TAG_REQ_FIRST; tag <= HSMG_TAG_REQ_LAST; tag++) {
		if (!v->tlv[tag].present)
			continue;
		it = NULL;
		if (v->tlv[tag].len == 1) {
			uint8_t sel = v->tlv[tag].val[0];

			if (tag == HSMG_TAG_KEY || tag == HSMG_TAG_KEY2)
				it = pick(keys, nkeys, sel);
			else if (tag == HSMG_TAG_PUBKEY)
				it = pick(pubs, npubs, sel);
			else if (tag == HSMG_TAG_STATE)
				it = pick(states, nstates, sel);
		}
		if (it)
			hsmg_msg_put(&b, tag, it->val, it->len);
		else
			hsmg_msg_put(&b, tag, v->tlv[tag].val, v->tlv[tag].len);
	}
	n = hsmg_msg_finish(&b);
	return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsmg_be_req r = {.tag = 1};
	struct hsmg_card_result res;
	struct hsmg_msg_view v, rv;
	const uint8_t *payload;
	size_t ans_cap = sizeof(ans), len;
	uint8_t *copy;
	unsigned int q;

	if (size < 4 || size - 4 > HSMG_MAX_MSG_SIZE)
		return 0;
	r.type = data[0] & 0x80 ? 4 + data[0] : data[0] & 3;
	r.session = data[1] % 8;
	r.session_flags = data[2] & 0xf;
	q = data[3] & 1;
	if (data[3] & 0x80)
		ans_cap = ((data[3] >> 1) & 0x3f) * 16;
	len = size - 4;
	payload = data + 4;

	if (r.type == HSMG_BE_REQ_CRYPTO &&
	    hsmg_msg_parse_type(&v, payload, len, HSMG_MSG_REQUEST) == 0) {
		/* RSA key generation takes a second: not worth the fuzzer's time. */
		if (v.hdr.op == HSMG_MSG_OP_GENERATE_KEYPAIR &&
		    v.hdr.mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
			return 0;
		len = substitute(&v);
		if (!len)
			return 0;
		payload = req_buf;
	}
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(len ? len : 1);
	CHECK(copy);
	memcpy(copy, payload, len);
	r.len = (uint32_t)len;
	memset(ans, 0x5a, ans_cap < 64 ? ans_cap : 64);
	hsmg_card_process(card, q, &r, copy, ans, ans_cap, &res);
	free(copy);

	if (trace)
		fprintf(stderr, "fuzz_card: type %u session %llu status %u rv %#llx len %u\n",
			r.type, (unsigned long long)r.session, res.status,
			(unsigned long long)res.rv, res.len);
	if (res.status != HSMG_BE_OK)
		goto out;
	CHECK(res.len <= ans_cap);
	if (r.type == HSMG_BE_REQ_LOGIN)
		CHECK(res.len == HSMG_PIN_BLOB_LEN);
	if (r.type == HSMG_BE_REQ_CRYPTO) {
		CHECK(hsmg_msg_parse_type(&rv, ans, res.len, HSMG_MSG_RESPONSE) == 0);
		CHECK(rv.hdr.rv == res.rv);
		if (rv.hdr.rv != CKR_OK)
			CHECK(rv.hdr.ntlv == 0);
	}
out:
	/* Keep the strict session (and its bound key) usable for the next input
	 * (unless the quota is full: then it stays logged out for a while). */
	if (r.session == STRICT_SESSION && r.type != HSMG_BE_REQ_CRYPTO)
		login(STRICT_SESSION, HSMG_SESSION_STRICT | HSMG_SESSION_RW);
	return 0;
}
