// SPDX-License-Identifier: GPL-2.0
/*
 * test_msg - the message codec (lib/msg/hsmg_msg.c): round trips, builder
 * limits, and every rejection of malformed input.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsmg_msg.h"

#define OFF_TLV0 HSMG_MSG_HDR_SIZE

static uint8_t buf[4096];

/* A valid request with DATA "hello" and KEY of 8 bytes. */
static size_t sample(void)
{
	struct hsmg_msg_builder b;
	ssize_t n;

	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(
	    hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, HSMG_MSG_OP_ENCRYPT, 0x1087), 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, "hello", 5), 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_KEY, "12345678", 8), 0);
	n = hsmg_msg_finish(&b);
	ck_assert_int_eq(n, HSMG_MSG_HDR_SIZE + 8 + 8 + 8 + 8);
	return (size_t)n;
}

static void set_u32(size_t off, uint32_t v)
{
	memcpy(buf + off, &v, 4);
}

static void set_u64(size_t off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

static int parse(size_t len)
{
	struct hsmg_msg_view v;
	int ret = hsmg_msg_parse(&v, buf, len);
	unsigned int t;

	/* After an error no TLV may be visible. */
	if (ret)
		for (t = 0; t <= HSMG_TAG_MAX; t++)
			ck_assert(!v.tlv[t].present);
	return ret;
}

START_TEST(roundtrip_request)
{
	struct hsmg_msg_view v;
	const void *val;
	uint32_t len;
	size_t n = sample();

	ck_assert_int_eq(hsmg_msg_parse(&v, buf, n), 0);
	ck_assert_uint_eq(v.hdr.magic, HSMG_MSG_MAGIC);
	ck_assert_uint_eq(v.hdr.version, HSMG_MSG_VERSION);
	ck_assert_uint_eq(v.hdr.type, HSMG_MSG_REQUEST);
	ck_assert_uint_eq(v.hdr.op, HSMG_MSG_OP_ENCRYPT);
	ck_assert_uint_eq(v.hdr.mechanism, 0x1087);
	ck_assert_uint_eq(v.hdr.ntlv, 2);
	ck_assert(hsmg_msg_get(&v, HSMG_TAG_DATA, &val, &len));
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(val, "hello", 5);
	ck_assert(hsmg_msg_get(&v, HSMG_TAG_KEY, &val, &len));
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(val, "12345678", 8);
	ck_assert(!hsmg_msg_get(&v, HSMG_TAG_PARAM, &val, &len));
	ck_assert(!hsmg_msg_get(&v, 0, NULL, NULL));
	ck_assert(!hsmg_msg_get(&v, 1000, NULL, NULL));
	/* padding after "hello" was written as zeros */
	ck_assert_int_eq(buf[OFF_TLV0 + 8 + 5], 0);
	ck_assert_int_eq(buf[OFF_TLV0 + 8 + 7], 0);
}
END_TEST

START_TEST(roundtrip_response_all_lengths)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint8_t data[40];
	const void *val;
	uint32_t len, l;
	ssize_t n;

	for (l = 0; l < sizeof(data); l++)
		data[l] = (uint8_t)(l * 7 + 1);
	for (l = 0; l <= sizeof(data); l++) {
		hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, HSMG_MSG_OP_SIGN, 0x1044);
		ck_assert_int_eq(hsmg_msg_set_rv(&b, 0xc0), 0);
		ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_OUT_DATA, data, l), 0);
		ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_OUT_STATE, NULL, 0), 0);
		n = hsmg_msg_finish(&b);
		ck_assert_int_eq(n, HSMG_MSG_HDR_SIZE + hsmg_msg_tlv_size(l) + 8);
		ck_assert_int_eq(n % 8, 0);
		ck_assert_int_eq(hsmg_msg_parse_type(&v, buf, (size_t)n, HSMG_MSG_RESPONSE), 0);
		ck_assert_uint_eq(v.hdr.rv, 0xc0);
		ck_assert(hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, &val, &len));
		ck_assert_uint_eq(len, l);
		if (l)
			ck_assert_mem_eq(val, data, l);
		ck_assert(hsmg_msg_get(&v, HSMG_TAG_OUT_STATE, NULL, &len));
		ck_assert_uint_eq(len, 0);
		ck_assert_int_eq(hsmg_msg_parse_type(&v, buf, (size_t)n, HSMG_MSG_REQUEST),
				 -HSMG_MSG_ETYPE);
	}
}
END_TEST

START_TEST(put_begin_end_shrinks)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint8_t *p;
	const void *val;
	uint32_t len;
	ssize_t n;

	memset(buf, 0xff, sizeof(buf));
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, HSMG_MSG_OP_SIGN, 1);
	p = hsmg_msg_put_begin(&b, HSMG_TAG_OUT_DATA, 100);
	ck_assert_ptr_nonnull(p);
	/* no other call while a TLV is open */
	ck_assert_int_eq(hsmg_msg_finish(&b), -HSMG_MSG_EINVAL);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, HSMG_MSG_OP_SIGN, 1);
	p = hsmg_msg_put_begin(&b, HSMG_TAG_OUT_DATA, 100);
	memcpy(p, "abc", 3);
	ck_assert_int_eq(hsmg_msg_put_end(&b, 3), 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_OUT_KEY, "k", 1), 0);
	n = hsmg_msg_finish(&b);
	ck_assert_int_eq(n, HSMG_MSG_HDR_SIZE + 16 + 16);
	ck_assert_int_eq(hsmg_msg_parse(&v, buf, (size_t)n), 0);
	ck_assert(hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, &val, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(val, "abc", 3);
	ck_assert(hsmg_msg_get(&v, HSMG_TAG_OUT_KEY, &val, &len));
	ck_assert_uint_eq(len, 1);
	/* put_end larger than reserved */
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, HSMG_MSG_OP_SIGN, 1);
	ck_assert_ptr_nonnull(hsmg_msg_put_begin(&b, HSMG_TAG_OUT_DATA, 4));
	ck_assert_int_eq(hsmg_msg_put_end(&b, 5), -HSMG_MSG_EINVAL);
	ck_assert_int_eq(hsmg_msg_put_end(&b, 0), -HSMG_MSG_EINVAL); /* sticky */
	/* put_end without begin */
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, HSMG_MSG_OP_SIGN, 1);
	ck_assert_int_eq(hsmg_msg_put_end(&b, 0), -HSMG_MSG_EINVAL);
}
END_TEST

START_TEST(builder_rejects)
{
	struct hsmg_msg_builder b;
	uint8_t small[64];
	uint8_t *big;

	/* bad arguments */
	ck_assert_int_eq(hsmg_msg_init(&b, NULL, 100, HSMG_MSG_REQUEST, 1, 0), -HSMG_MSG_EINVAL);
	ck_assert_int_eq(hsmg_msg_init(&b, buf, sizeof(buf), 7, 1, 0), -HSMG_MSG_EINVAL);
	ck_assert_int_eq(hsmg_msg_init(&b, buf, 47, HSMG_MSG_REQUEST, 1, 0), -HSMG_MSG_ENOSPC);
	ck_assert_int_eq(hsmg_msg_finish(&b), -HSMG_MSG_ENOSPC);

	/* tags: direction, 0, unknown, duplicate */
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_OUT_DATA, "x", 1), -HSMG_MSG_ETAG);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_RESPONSE, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, "x", 1), -HSMG_MSG_ETAG);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, 0, "x", 1), -HSMG_MSG_ETAG);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_MAX + 1, "x", 1), -HSMG_MSG_ETAG);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, 77, "x", 1), -HSMG_MSG_ETAG);
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, "x", 1), 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, "y", 1), -HSMG_MSG_EDUP);
	/* sticky: a later valid put still fails, and so does finish */
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_KEY, "y", 1), -HSMG_MSG_EDUP);
	ck_assert_int_eq(hsmg_msg_finish(&b), -HSMG_MSG_EDUP);

	/* NULL value with a length */
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, NULL, 3), -HSMG_MSG_EINVAL);

	/* rv only in responses */
	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_set_rv(&b, 5), -HSMG_MSG_EINVAL);

	/* caller buffer too small */
	hsmg_msg_init(&b, small, sizeof(small), HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, "12345678", 8), 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_KEY, "1", 1), -HSMG_MSG_ENOSPC);

	/* whole message above HSMG_MAX_MSG_SIZE */
	big = malloc(HSMG_MAX_MSG_SIZE + 4096);
	ck_assert_ptr_nonnull(big);
	hsmg_msg_init(&b, big, HSMG_MAX_MSG_SIZE + 4096, HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(hsmg_msg_put(&b, HSMG_TAG_DATA, big, HSMG_MAX_MSG_SIZE), -HSMG_MSG_E2BIG);
	hsmg_msg_init(&b, big, HSMG_MAX_MSG_SIZE + 4096, HSMG_MSG_REQUEST, 1, 0);
	ck_assert_int_eq(
	    hsmg_msg_put(&b, HSMG_TAG_DATA, big + 4096, HSMG_MAX_MSG_SIZE - HSMG_MSG_HDR_SIZE - 8),
	    0);
	ck_assert_int_eq(hsmg_msg_finish(&b), HSMG_MAX_MSG_SIZE);
	free(big);
}
END_TEST

START_TEST(parse_truncated_header)
{
	size_t n = sample(), l;
	struct hsmg_msg_view v;

	for (l = 0; l < HSMG_MSG_HDR_SIZE; l++)
		ck_assert_int_eq(parse(l), -HSMG_MSG_ETRUNC);
	ck_assert_int_eq(hsmg_msg_parse(&v, NULL, n), -HSMG_MSG_ETRUNC);
	/* every other prefix of a valid message is rejected too */
	for (l = HSMG_MSG_HDR_SIZE; l < n; l++)
		ck_assert_int_eq(parse(l), -HSMG_MSG_ELENGTH);
	ck_assert_int_eq(parse(n), 0);
}
END_TEST

START_TEST(parse_bad_magic_version_type)
{
	size_t n = sample();

	buf[0] ^= 1;
	ck_assert_int_eq(parse(n), -HSMG_MSG_EMAGIC);
	n = sample();
	buf[4] = 2;
	ck_assert_int_eq(parse(n), -HSMG_MSG_EVERSION);
	n = sample();
	buf[4] = 0;
	ck_assert_int_eq(parse(n), -HSMG_MSG_EVERSION);
	n = sample();
	buf[6] = 0;
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETYPE);
	n = sample();
	buf[6] = 3;
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETYPE);
	ck_assert(hsmg_msg_err_is_header(-HSMG_MSG_ETYPE));
	ck_assert(hsmg_msg_err_is_header(-HSMG_MSG_ELENGTH));
	ck_assert(!hsmg_msg_err_is_header(-HSMG_MSG_ERESERVED));
	ck_assert(!hsmg_msg_err_is_header(-HSMG_MSG_EDUP));
}
END_TEST

START_TEST(parse_bad_length)
{
	size_t n = sample();
	uint8_t *big;
	struct hsmg_msg_view v;

	set_u32(32, (uint32_t)n + 8); /* claims more than received */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ELENGTH);
	set_u32(32, (uint32_t)n - 8); /* claims less */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ELENGTH);
	set_u32(32, 0xffffffffU);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ELENGTH);
	set_u32(32, 0);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ELENGTH);
	/* unaligned total length (matches the buffer) */
	n = sample();
	set_u32(32, (uint32_t)n + 3);
	ck_assert_int_eq(parse(n + 3), -HSMG_MSG_ELENGTH);
	/* above the maximum, even when consistent */
	big = calloc(1, HSMG_MAX_MSG_SIZE + 8);
	ck_assert_ptr_nonnull(big);
	n = sample();
	memcpy(big, buf, HSMG_MSG_HDR_SIZE);
	set_u32(32, HSMG_MAX_MSG_SIZE + 8);
	memcpy(big + 32, buf + 32, 4);
	ck_assert_int_eq(hsmg_msg_parse(&v, big, HSMG_MAX_MSG_SIZE + 8), -HSMG_MSG_ELENGTH);
	free(big);
}
END_TEST

START_TEST(parse_reserved_fields)
{
	size_t n = sample();

	set_u32(12, 1); /* flags */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ERESERVED);
	n = sample();
	set_u64(40, 1); /* reserved */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ERESERVED);
	n = sample();
	set_u64(24, 1); /* rv in a request */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ERESERVED);
}
END_TEST

START_TEST(parse_tlv_count)
{
	size_t n = sample();

	set_u32(36, 3); /* one more than there is */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
	set_u32(36, 1); /* bytes left over */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
	set_u32(36, 0);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
	set_u32(36, HSMG_MSG_MAX_TLVS + 1); /* too many */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
	set_u32(36, 0xffffffffU);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
}
END_TEST

START_TEST(parse_too_many_tlvs)
{
	/* 17 TLVs in a consistent message: rejected on the count alone. */
	uint32_t i, ntlv = HSMG_MSG_MAX_TLVS + 1;
	size_t n = HSMG_MSG_HDR_SIZE + ntlv * 8;

	sample();
	for (i = 0; i < ntlv; i++) {
		set_u32(OFF_TLV0 + i * 8, 1 + i % HSMG_TAG_REQ_LAST);
		set_u32(OFF_TLV0 + i * 8 + 4, 0);
	}
	set_u32(32, (uint32_t)n);
	set_u32(36, ntlv);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
}
END_TEST

START_TEST(parse_tlv_overflow)
{
	size_t n = sample();

	/* first TLV's length runs past the end, in several ways */
	set_u32(OFF_TLV0 + 4, 0xffffffffU);
	ck_assert_int_eq(parse(n), -HSMG_MSG_EOVERFLOW);
	set_u32(OFF_TLV0 + 4, 0xfffffff9U); /* padded length wraps in 32 bits */
	ck_assert_int_eq(parse(n), -HSMG_MSG_EOVERFLOW);
	set_u32(OFF_TLV0 + 4, (uint32_t)(n - OFF_TLV0 - 8 + 1));
	ck_assert_int_eq(parse(n), -HSMG_MSG_EOVERFLOW);
	/* a length that lands exactly at the end swallows the second TLV: count */
	set_u32(OFF_TLV0 + 4, (uint32_t)(n - OFF_TLV0 - 8));
	ck_assert_int_eq(parse(n), -HSMG_MSG_ECOUNT);
	/* second TLV's length one past the end */
	n = sample();
	set_u32(OFF_TLV0 + 16 + 4, 9);
	ck_assert_int_eq(parse(n), -HSMG_MSG_EOVERFLOW);
}
END_TEST

START_TEST(parse_padding)
{
	size_t n = sample();

	buf[OFF_TLV0 + 8 + 5] = 1; /* padding after "hello" */
	ck_assert_int_eq(parse(n), -HSMG_MSG_EPAD);
	n = sample();
	buf[OFF_TLV0 + 8 + 7] = 0x80;
	ck_assert_int_eq(parse(n), -HSMG_MSG_EPAD);
}
END_TEST

START_TEST(parse_tags)
{
	size_t n = sample();

	set_u32(OFF_TLV0 + 16, HSMG_TAG_DATA); /* duplicate */
	ck_assert_int_eq(parse(n), -HSMG_MSG_EDUP);
	set_u32(OFF_TLV0 + 16, 0);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETAG);
	set_u32(OFF_TLV0 + 16, HSMG_TAG_MAX + 1);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETAG);
	set_u32(OFF_TLV0 + 16, 0x80000001U);
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETAG);
	set_u32(OFF_TLV0 + 16, HSMG_TAG_OUT_DATA); /* response tag in a request */
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETAG);
	/* request tag in a response */
	n = sample();
	buf[6] = HSMG_MSG_RESPONSE;
	ck_assert_int_eq(parse(n), -HSMG_MSG_ETAG);
}
END_TEST

START_TEST(parse_fixed)
{
	struct hsmg_msg_view v;
	uint8_t k[8];
	size_t n = sample();

	ck_assert_int_eq(hsmg_msg_parse(&v, buf, n), 0);
	ck_assert_int_eq(hsmg_msg_get_fixed(&v, HSMG_TAG_KEY, k, 8), 0);
	ck_assert_mem_eq(k, "12345678", 8);
	ck_assert_int_eq(hsmg_msg_get_fixed(&v, HSMG_TAG_KEY, k, 4), -EINVAL);
	ck_assert_int_eq(hsmg_msg_get_fixed(&v, HSMG_TAG_STATE, k, 4), -ENOENT);
}
END_TEST

START_TEST(parse_unaligned_buffer)
{
	static uint8_t shifted[4096 + 1];
	struct hsmg_msg_view v;
	const void *val;
	uint32_t len;
	size_t n = sample();

	memcpy(shifted + 1, buf, n);
	ck_assert_int_eq(hsmg_msg_parse(&v, shifted + 1, n), 0);
	ck_assert(hsmg_msg_get(&v, HSMG_TAG_DATA, &val, &len));
	ck_assert_mem_eq(val, "hello", 5);
}
END_TEST

/* Every single-byte corruption of a valid message parses or fails cleanly
 * (under ASan/valgrind this also shows there are no stray reads). */
START_TEST(parse_byte_flips)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x08, 0x7f, 0x80, 0xff};
	size_t n = sample(), i, j;
	uint8_t saved;
	int ret;

	for (i = 0; i < n; i++) {
		saved = buf[i];
		for (j = 0; j < sizeof(vals); j++) {
			buf[i] = vals[j];
			ret = parse(n);
			ck_assert(ret <= 0 && ret > -HSMG_MSG_NERR);
		}
		buf[i] = saved;
	}
	ck_assert_int_eq(parse(n), 0);
}
END_TEST

START_TEST(names)
{
	int e;

	for (e = 0; e < HSMG_MSG_NERR; e++)
		ck_assert_ptr_nonnull(hsmg_msg_strerror(-e));
	ck_assert_str_eq(hsmg_msg_strerror(1000), "unknown error");
	ck_assert_str_eq(hsmg_msg_op_name(HSMG_MSG_OP_DIGEST_UPDATE), "DIGEST_UPDATE");
	ck_assert_str_eq(hsmg_msg_op_name(HSMG_MSG_OP_IMPORT_KEY), "IMPORT_KEY");
	ck_assert_str_eq(hsmg_msg_op_name(HSMG_MSG_OP_EXPORT_PUBKEY), "EXPORT_PUBKEY");
	ck_assert_str_eq(hsmg_msg_op_name(0), "?");
	ck_assert_str_eq(hsmg_msg_op_name(1000), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsmg_msg");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, roundtrip_request);
	tcase_add_test(tc, roundtrip_response_all_lengths);
	tcase_add_test(tc, put_begin_end_shrinks);
	tcase_add_test(tc, builder_rejects);
	tcase_add_test(tc, parse_truncated_header);
	tcase_add_test(tc, parse_bad_magic_version_type);
	tcase_add_test(tc, parse_bad_length);
	tcase_add_test(tc, parse_reserved_fields);
	tcase_add_test(tc, parse_tlv_count);
	tcase_add_test(tc, parse_too_many_tlvs);
	tcase_add_test(tc, parse_tlv_overflow);
	tcase_add_test(tc, parse_padding);
	tcase_add_test(tc, parse_tags);
	tcase_add_test(tc, parse_fixed);
	tcase_add_test(tc, parse_unaligned_buffer);
	tcase_add_test(tc, parse_byte_flips);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
