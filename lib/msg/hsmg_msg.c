// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg_msg - builder and parser of the hsmgroup message format.
 *
 * The parser treats its input as hostile: every length is checked against
 * the bytes that remain before it is used, arithmetic is done in 64 bits on
 * values bounded by HSMG_MAX_MSG_SIZE, and nothing is read outside
 * [buf, buf + len).
 */
#include <errno.h>
#include <string.h>

#include "hsmg_msg.h"

_Static_assert(sizeof(struct hsmg_msg_hdr) == HSMG_MSG_HDR_SIZE, "hdr size");
_Static_assert(sizeof(struct hsmg_msg_tlv) == HSMG_MSG_TLV_HDR_SIZE, "tlv size");
_Static_assert(sizeof(struct hsmg_msg_key_attrs) == 32, "attrs size");
_Static_assert(sizeof(struct hsmg_msg_gcm_param) == 16, "gcm param size");
_Static_assert(sizeof(struct hsmg_msg_ctr_param) == 24, "ctr param size");
_Static_assert(sizeof(struct hsmg_msg_pss_param) == 24, "pss param size");
_Static_assert(sizeof(struct hsmg_msg_oaep_param) == 32, "oaep param size");
_Static_assert(sizeof(struct hsmg_msg_ecdh_param) == 16, "ecdh param size");
_Static_assert(sizeof(struct hsmg_msg_rsa_pub) == 8, "rsa pub size");
_Static_assert(sizeof(struct hsmg_msg_rsa_priv) == 32, "rsa priv size");
_Static_assert(HSMG_TAG_MAX < 32, "tag bitmap");
_Static_assert(HSMG_MAX_MSG_SIZE % HSMG_MSG_ALIGN == 0, "max size aligned");

static const char *const errstr[HSMG_MSG_NERR] = {
    [HSMG_MSG_OK] = "ok",
    [HSMG_MSG_ETRUNC] = "message shorter than its header",
    [HSMG_MSG_EMAGIC] = "bad magic",
    [HSMG_MSG_EVERSION] = "unsupported version",
    [HSMG_MSG_ETYPE] = "bad message type",
    [HSMG_MSG_ELENGTH] = "length field does not match the message",
    [HSMG_MSG_ERESERVED] = "flags or reserved fields not zero",
    [HSMG_MSG_ECOUNT] = "bad TLV count",
    [HSMG_MSG_EOVERFLOW] = "TLV runs past the end of the message",
    [HSMG_MSG_ETAG] = "unknown or misplaced tag",
    [HSMG_MSG_EDUP] = "duplicate tag",
    [HSMG_MSG_EPAD] = "non-zero padding",
    [HSMG_MSG_ENOSPC] = "buffer too small",
    [HSMG_MSG_E2BIG] = "message too large",
    [HSMG_MSG_EINVAL] = "invalid argument",
};

const char *hsmg_msg_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= HSMG_MSG_NERR)
		return "unknown error";
	return errstr[err];
}

bool hsmg_msg_err_is_header(int err)
{
	if (err < 0)
		err = -err;
	return err >= HSMG_MSG_ETRUNC && err <= HSMG_MSG_ELENGTH;
}

static const char *const opnames[HSMG_MSG_OP_MAX + 1] = {
    [HSMG_MSG_OP_RANDOM] = "RANDOM",
    [HSMG_MSG_OP_GENERATE_KEY] = "GENERATE_KEY",
    [HSMG_MSG_OP_GENERATE_KEYPAIR] = "GENERATE_KEYPAIR",
    [HSMG_MSG_OP_ENCRYPT] = "ENCRYPT",
    [HSMG_MSG_OP_ENCRYPT_INIT] = "ENCRYPT_INIT",
    [HSMG_MSG_OP_ENCRYPT_UPDATE] = "ENCRYPT_UPDATE",
    [HSMG_MSG_OP_ENCRYPT_FINAL] = "ENCRYPT_FINAL",
    [HSMG_MSG_OP_DECRYPT] = "DECRYPT",
    [HSMG_MSG_OP_DECRYPT_INIT] = "DECRYPT_INIT",
    [HSMG_MSG_OP_DECRYPT_UPDATE] = "DECRYPT_UPDATE",
    [HSMG_MSG_OP_DECRYPT_FINAL] = "DECRYPT_FINAL",
    [HSMG_MSG_OP_SIGN] = "SIGN",
    [HSMG_MSG_OP_SIGN_INIT] = "SIGN_INIT",
    [HSMG_MSG_OP_SIGN_UPDATE] = "SIGN_UPDATE",
    [HSMG_MSG_OP_SIGN_FINAL] = "SIGN_FINAL",
    [HSMG_MSG_OP_VERIFY] = "VERIFY",
    [HSMG_MSG_OP_VERIFY_INIT] = "VERIFY_INIT",
    [HSMG_MSG_OP_VERIFY_UPDATE] = "VERIFY_UPDATE",
    [HSMG_MSG_OP_VERIFY_FINAL] = "VERIFY_FINAL",
    [HSMG_MSG_OP_DIGEST] = "DIGEST",
    [HSMG_MSG_OP_DIGEST_INIT] = "DIGEST_INIT",
    [HSMG_MSG_OP_DIGEST_UPDATE] = "DIGEST_UPDATE",
    [HSMG_MSG_OP_DIGEST_FINAL] = "DIGEST_FINAL",
    [HSMG_MSG_OP_WRAP] = "WRAP",
    [HSMG_MSG_OP_UNWRAP] = "UNWRAP",
    [HSMG_MSG_OP_DERIVE] = "DERIVE",
    [HSMG_MSG_OP_IMPORT_KEY] = "IMPORT_KEY",
    [HSMG_MSG_OP_EXPORT_PUBKEY] = "EXPORT_PUBKEY",
    [HSMG_MSG_OP_EXPORT_KEY] = "EXPORT_KEY",
    [HSMG_MSG_OP_AUTH_RECORD] = "AUTH_RECORD",
    [HSMG_MSG_OP_REBIND] = "REBIND",
    [HSMG_MSG_OP_CARDPIN] = "CARDPIN",
};

const char *hsmg_msg_op_name(uint32_t op)
{
	if (op > HSMG_MSG_OP_MAX || !opnames[op])
		return "?";
	return opnames[op];
}

static bool tag_allowed(uint16_t type, uint32_t tag)
{
	if (type == HSMG_MSG_REQUEST)
		return tag >= HSMG_TAG_REQ_FIRST && tag <= HSMG_TAG_REQ_LAST;
	if (type == HSMG_MSG_RESPONSE)
		return tag >= HSMG_TAG_RESP_FIRST && tag <= HSMG_TAG_RESP_LAST;
	return false;
}

/* ---------------------------------------------------------------- builder */

static int fail(struct hsmg_msg_builder *b, int err)
{
	if (!b->err)
		b->err = -err;
	return b->err;
}

int hsmg_msg_init(struct hsmg_msg_builder *b, void *buf, size_t cap, uint16_t type, uint32_t op,
		  uint64_t mechanism)
{
	struct hsmg_msg_hdr h;

	memset(b, 0, sizeof(*b));
	if (!buf || (type != HSMG_MSG_REQUEST && type != HSMG_MSG_RESPONSE))
		return fail(b, HSMG_MSG_EINVAL);
	b->buf = buf;
	b->cap = cap < HSMG_MAX_MSG_SIZE ? cap : HSMG_MAX_MSG_SIZE;
	b->type = type;
	if (b->cap < HSMG_MSG_HDR_SIZE)
		return fail(b, HSMG_MSG_ENOSPC);
	memset(&h, 0, sizeof(h));
	h.magic = HSMG_MSG_MAGIC;
	h.version = HSMG_MSG_VERSION;
	h.type = type;
	h.op = op;
	h.mechanism = mechanism;
	memcpy(b->buf, &h, sizeof(h));
	b->len = HSMG_MSG_HDR_SIZE;
	return 0;
}

int hsmg_msg_set_rv(struct hsmg_msg_builder *b, uint64_t rv)
{
	if (b->err)
		return b->err;
	if (b->type != HSMG_MSG_RESPONSE || b->open_off)
		return fail(b, HSMG_MSG_EINVAL);
	memcpy(b->buf + offsetof(struct hsmg_msg_hdr, rv), &rv, sizeof(rv));
	return 0;
}

void *hsmg_msg_put_begin(struct hsmg_msg_builder *b, uint32_t tag, size_t max_len)
{
	struct hsmg_msg_tlv t;
	uint8_t *val;

	if (b->err)
		return NULL;
	if (b->open_off) {
		fail(b, HSMG_MSG_EINVAL);
		return NULL;
	}
	if (!tag_allowed(b->type, tag)) {
		fail(b, HSMG_MSG_ETAG);
		return NULL;
	}
	if (b->tags & (1U << tag)) {
		fail(b, HSMG_MSG_EDUP);
		return NULL;
	}
	if (b->ntlv >= HSMG_MSG_MAX_TLVS) {
		fail(b, HSMG_MSG_ECOUNT);
		return NULL;
	}
	if (max_len > HSMG_MAX_MSG_SIZE ||
	    b->len + hsmg_msg_tlv_size(max_len) > HSMG_MAX_MSG_SIZE) {
		fail(b, HSMG_MSG_E2BIG);
		return NULL;
	}
	if (b->len + hsmg_msg_tlv_size(max_len) > b->cap) {
		fail(b, HSMG_MSG_ENOSPC);
		return NULL;
	}
	t.tag = tag;
	t.len = (uint32_t)max_len;
	memcpy(b->buf + b->len, &t, sizeof(t));
	val = b->buf + b->len + HSMG_MSG_TLV_HDR_SIZE;
	b->open_off = b->len;
	b->open_max = (uint32_t)max_len;
	b->tags |= 1U << tag;
	b->ntlv++;
	b->len += hsmg_msg_tlv_size(max_len);
	return val;
}

int hsmg_msg_put_end(struct hsmg_msg_builder *b, size_t len)
{
	uint8_t *val;
	uint32_t l32;

	if (b->err)
		return b->err;
	if (!b->open_off || len > b->open_max)
		return fail(b, HSMG_MSG_EINVAL);
	val = b->buf + b->open_off + HSMG_MSG_TLV_HDR_SIZE;
	/* Zero everything after the value: shrink space and the padding. */
	memset(val + len, 0, hsmg_msg_padded(b->open_max) - len);
	l32 = (uint32_t)len;
	memcpy(b->buf + b->open_off + offsetof(struct hsmg_msg_tlv, len), &l32, sizeof(l32));
	b->len = b->open_off + hsmg_msg_tlv_size(len);
	b->open_off = 0;
	b->open_max = 0;
	return 0;
}

int hsmg_msg_put(struct hsmg_msg_builder *b, uint32_t tag, const void *val, size_t len)
{
	void *dst;

	if (b->err)
		return b->err;
	if (len && !val)
		return fail(b, HSMG_MSG_EINVAL);
	dst = hsmg_msg_put_begin(b, tag, len);
	if (!dst)
		return b->err;
	if (len)
		memmove(dst, val, len);
	return hsmg_msg_put_end(b, len);
}

int hsmg_msg_put_u32(struct hsmg_msg_builder *b, uint32_t tag, uint32_t v)
{
	return hsmg_msg_put(b, tag, &v, sizeof(v));
}

ssize_t hsmg_msg_finish(struct hsmg_msg_builder *b)
{
	uint32_t len32;

	if (b->err)
		return b->err;
	if (b->open_off)
		return fail(b, HSMG_MSG_EINVAL);
	len32 = (uint32_t)b->len;
	memcpy(b->buf + offsetof(struct hsmg_msg_hdr, length), &len32, sizeof(len32));
	memcpy(b->buf + offsetof(struct hsmg_msg_hdr, ntlv), &b->ntlv, sizeof(b->ntlv));
	return (ssize_t)b->len;
}

/* ----------------------------------------------------------------- parser */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return acc == 0;
}

static int parse(struct hsmg_msg_view *v, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t off, end, plen;
	struct hsmg_msg_tlv t;
	uint32_t i, seen = 0;

	memset(v, 0, sizeof(*v));
	if (!p || len < HSMG_MSG_HDR_SIZE)
		return -HSMG_MSG_ETRUNC;
	memcpy(&v->hdr, p, sizeof(v->hdr));
	if (v->hdr.magic != HSMG_MSG_MAGIC)
		return -HSMG_MSG_EMAGIC;
	if (v->hdr.version != HSMG_MSG_VERSION)
		return -HSMG_MSG_EVERSION;
	if (v->hdr.type != HSMG_MSG_REQUEST && v->hdr.type != HSMG_MSG_RESPONSE)
		return -HSMG_MSG_ETYPE;
	if (len > HSMG_MAX_MSG_SIZE || v->hdr.length != len || len % HSMG_MSG_ALIGN)
		return -HSMG_MSG_ELENGTH;
	/* From here on the header is usable: a card can answer. */
	if (v->hdr.flags || v->hdr.rsvd || (v->hdr.type == HSMG_MSG_REQUEST && v->hdr.rv))
		return -HSMG_MSG_ERESERVED;
	if (v->hdr.ntlv > HSMG_MSG_MAX_TLVS)
		return -HSMG_MSG_ECOUNT;

	end = len;
	off = HSMG_MSG_HDR_SIZE;
	for (i = 0; i < v->hdr.ntlv; i++) {
		if (end - off < HSMG_MSG_TLV_HDR_SIZE)
			return off == end ? -HSMG_MSG_ECOUNT : -HSMG_MSG_EOVERFLOW;
		memcpy(&t, p + off, sizeof(t));
		off += HSMG_MSG_TLV_HDR_SIZE;
		plen = hsmg_msg_padded(t.len);
		if (t.len > end - off || plen > end - off)
			return -HSMG_MSG_EOVERFLOW;
		if (t.tag > HSMG_TAG_MAX || !tag_allowed(v->hdr.type, t.tag))
			return -HSMG_MSG_ETAG;
		if (seen & (1U << t.tag))
			return -HSMG_MSG_EDUP;
		if (!all_zero(p + off + t.len, plen - t.len))
			return -HSMG_MSG_EPAD;
		seen |= 1U << t.tag;
		v->tlv[t.tag].val = p + off;
		v->tlv[t.tag].len = t.len;
		v->tlv[t.tag].present = true;
		off += plen;
	}
	/* Bytes after the last TLV: the count is too small. */
	if (off != end)
		return -HSMG_MSG_ECOUNT;
	return 0;
}

int hsmg_msg_parse(struct hsmg_msg_view *v, const void *buf, size_t len)
{
	int ret = parse(v, buf, len);

	/* Never leave half a view behind: no TLV is visible after an error. */
	if (ret)
		memset(v->tlv, 0, sizeof(v->tlv));
	return ret;
}

int hsmg_msg_parse_type(struct hsmg_msg_view *v, const void *buf, size_t len, uint16_t type)
{
	int ret = hsmg_msg_parse(v, buf, len);

	if ((ret == 0 || !hsmg_msg_err_is_header(ret)) && v->hdr.type != type) {
		memset(v->tlv, 0, sizeof(v->tlv));
		return -HSMG_MSG_ETYPE;
	}
	return ret;
}

bool hsmg_msg_get(const struct hsmg_msg_view *v, uint32_t tag, const void **val, uint32_t *len)
{
	if (tag > HSMG_TAG_MAX || !v->tlv[tag].present)
		return false;
	if (val)
		*val = v->tlv[tag].val;
	if (len)
		*len = v->tlv[tag].len;
	return true;
}

int hsmg_msg_get_fixed(const struct hsmg_msg_view *v, uint32_t tag, void *dst, size_t len)
{
	const void *val;
	uint32_t vlen;

	if (!hsmg_msg_get(v, tag, &val, &vlen))
		return -ENOENT;
	if (vlen != len)
		return -EINVAL;
	memcpy(dst, val, len);
	return 0;
}
