// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_msg - libFuzzer target of the message codec (lib/msg/hsmg_msg.c).
 *
 * Any input: hsmg_msg_parse() must not read outside it.  An input that
 * parses must rebuild, through the builder, into the same bytes (the format
 * is canonical: tags in the input's order, zero padding), and the parse of
 * the rebuilt message must give the same view.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsmg_msg.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* Rebuild a parsed message with the builder; the TLV order is the input's. */
static void rebuild(const struct hsmg_msg_view *v, const uint8_t *in, size_t len)
{
	static uint8_t out[HSMG_MAX_MSG_SIZE];
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v2;
	size_t off = HSMG_MSG_HDR_SIZE;
	uint32_t i, tag, tlen;
	ssize_t n;

	CHECK(hsmg_msg_init(&b, out, sizeof(out), v->hdr.type, v->hdr.op, v->hdr.mechanism) == 0);
	if (v->hdr.type == HSMG_MSG_RESPONSE)
		CHECK(hsmg_msg_set_rv(&b, v->hdr.rv) == 0);
	for (i = 0; i < v->hdr.ntlv; i++) {
		memcpy(&tag, in + off, 4);
		memcpy(&tlen, in + off + 4, 4);
		CHECK(tag <= HSMG_TAG_MAX && v->tlv[tag].present && v->tlv[tag].len == tlen);
		CHECK(v->tlv[tag].val == in + off + HSMG_MSG_TLV_HDR_SIZE);
		if (i & 1) {
			/* The other way of putting a value. */
			size_t extra = len + 8 <= HSMG_MAX_MSG_SIZE ? 8 : 0;
			void *p = hsmg_msg_put_begin(&b, tag, tlen + extra);

			CHECK(p);
			memcpy(p, v->tlv[tag].val, tlen);
			memset((uint8_t *)p + tlen, 0xa5, extra);
			CHECK(hsmg_msg_put_end(&b, tlen) == 0);
		} else {
			CHECK(hsmg_msg_put(&b, tag, v->tlv[tag].val, tlen) == 0);
		}
		off += hsmg_msg_tlv_size(tlen);
	}
	CHECK(off == len);
	n = hsmg_msg_finish(&b);
	CHECK(n == (ssize_t)len);
	CHECK(memcmp(out, in, len) == 0);
	CHECK(hsmg_msg_parse_type(&v2, out, (size_t)n, v->hdr.type) == 0);
	CHECK(memcmp(&v2.hdr, &v->hdr, sizeof(v->hdr)) == 0);
	for (tag = 0; tag <= HSMG_TAG_MAX; tag++) {
		CHECK(v2.tlv[tag].present == v->tlv[tag].present);
		CHECK(v2.tlv[tag].len == v->tlv[tag].len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsmg_msg_view v;
	uint8_t *copy;
	uint32_t tag;
	const void *val;
	uint32_t vlen;
	uint8_t fixed[64];
	int err;

	if (size > HSMG_MAX_MSG_SIZE + 64)
		return 0;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	err = hsmg_msg_parse(&v, copy, size);
	CHECK(err <= 0 && -err < HSMG_MSG_NERR);
	CHECK(hsmg_msg_strerror(err) != NULL);
	if (err == 0) {
		CHECK(v.hdr.length == size);
		for (tag = 0; tag <= HSMG_TAG_MAX + 1; tag++) {
			bool got = hsmg_msg_get(&v, tag, &val, &vlen);

			CHECK(!got || (tag <= HSMG_TAG_MAX && vlen == v.tlv[tag].len));
			if (got && vlen <= sizeof(fixed))
				CHECK(hsmg_msg_get_fixed(&v, tag, fixed, vlen) == 0);
		}
		CHECK(hsmg_msg_op_name(v.hdr.op) != NULL);
		CHECK(hsmg_msg_parse_type(&v, copy, size, v.hdr.type) == 0);
		rebuild(&v, copy, size);
	} else if (!hsmg_msg_err_is_header(err)) {
		CHECK(hsmg_msg_op_name(v.hdr.op) != NULL);
	}
	free(copy);
	return 0;
}
