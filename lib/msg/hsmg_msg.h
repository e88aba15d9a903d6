/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsmg_msg - the one codec of the hsmgroup message format
 * (lib/msg/hsmgroup_msg.h), used by the PKCS#11 shim, hsmsimd and the
 * test clients.
 *
 * Building a request:
 *
 *	uint8_t buf[4096];
 *	struct hsmg_msg_builder b;
 *	uint32_t n = 32;
 *
 *	hsmg_msg_init(&b, buf, sizeof(buf), HSMG_MSG_REQUEST, HSMG_MSG_OP_RANDOM, 0);
 *	hsmg_msg_put(&b, HSMG_TAG_PARAM, &n, sizeof(n));
 *	len = hsmg_msg_finish(&b);          // < 0: -HSMG_MSG_E*, else length
 *
 * Errors are sticky: after the first failing call every later call fails
 * with the same error, so checking hsmg_msg_finish() alone is enough.
 *
 * Parsing a message (validates everything before returning 0):
 *
 *	struct hsmg_msg_view v;
 *	const void *val;
 *	uint32_t vlen;
 *
 *	if (hsmg_msg_parse(&v, buf, len) == 0 &&
 *	    hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, &val, &vlen)) ...
 *
 * The view points into the caller's buffer (which may be unaligned); it is
 * valid as long as the buffer is.  No function allocates memory.
 */
#ifndef HSMG_MSG_H
#define HSMG_MSG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/hsmgroup.h>
#include "hsmgroup_msg.h"

/* Error codes, returned negated (-HSMG_MSG_E...). */
enum hsmg_msg_err {
	HSMG_MSG_OK = 0,
	/* Header errors: the message cannot be answered at all. */
	HSMG_MSG_ETRUNC = 1,   /* shorter than the header */
	HSMG_MSG_EMAGIC = 2,   /* wrong magic */
	HSMG_MSG_EVERSION = 3, /* unsupported version */
	HSMG_MSG_ETYPE = 4,    /* type is not request/response (or not the expected one) */
	HSMG_MSG_ELENGTH = 5,  /* length field != buffer length, unaligned or too large */
	/* Body errors: the header is usable, the rest is not. */
	HSMG_MSG_ERESERVED = 6, /* flags, reserved or request rv not zero */
	HSMG_MSG_ECOUNT = 7,	/* ntlv above the maximum or not the real count */
	HSMG_MSG_EOVERFLOW = 8, /* a TLV runs past the end of the message */
	HSMG_MSG_ETAG = 9,	/* tag 0, unknown, or not allowed in this direction */
	HSMG_MSG_EDUP = 10,	/* a tag appears twice */
	HSMG_MSG_EPAD = 11,	/* non-zero padding */
	/* Builder errors. */
	HSMG_MSG_ENOSPC = 12, /* the caller's buffer is too small */
	HSMG_MSG_E2BIG = 13,  /* the message would exceed HSMG_MAX_MSG_SIZE */
	HSMG_MSG_EINVAL = 14, /* bad argument (NULL buffer, bad type, misuse) */
	HSMG_MSG_NERR
};

/**
 * hsmg_msg_strerror() - short English text for a (negated or not) error.
 */
const char *hsmg_msg_strerror(int err);

/**
 * hsmg_msg_err_is_header() - true for errors that leave no usable header
 * (a card answers them with %HSMG_BE_BADREQ instead of a response).
 */
bool hsmg_msg_err_is_header(int err);

/**
 * hsmg_msg_padded() - @len rounded up to %HSMG_MSG_ALIGN (no overflow for
 * any @len below 2^32 - 8; callers only pass lengths below the limits).
 */
static inline uint64_t hsmg_msg_padded(uint64_t len)
{
	return (len + HSMG_MSG_ALIGN - 1) & ~(uint64_t)(HSMG_MSG_ALIGN - 1);
}

/**
 * hsmg_msg_tlv_size() - bytes one TLV with @len value bytes takes.
 */
static inline uint64_t hsmg_msg_tlv_size(uint64_t len)
{
	return HSMG_MSG_TLV_HDR_SIZE + hsmg_msg_padded(len);
}

/* Builder state; treat as opaque. */
struct hsmg_msg_builder {
	uint8_t *buf;
	size_t cap; /* min(buffer size, HSMG_MAX_MSG_SIZE) */
	size_t len; /* bytes used */
	uint32_t ntlv;
	uint32_t tags; /* bit per tag already put */
	uint16_t type;
	int err;	   /* sticky, 0 or -HSMG_MSG_E* */
	size_t open_off;   /* offset of an open put_begin TLV, 0 if none */
	uint32_t open_max; /* its reserved length */
};

/**
 * hsmg_msg_init() - start a message in @buf (@cap bytes, any alignment).
 * @type: HSMG_MSG_REQUEST or HSMG_MSG_RESPONSE; @op: enum hsmg_msg_op;
 * @mechanism: CKM_* value.
 * Returns 0 or -HSMG_MSG_E*.
 */
int hsmg_msg_init(struct hsmg_msg_builder *b, void *buf, size_t cap, uint16_t type, uint32_t op,
		  uint64_t mechanism);

/**
 * hsmg_msg_set_rv() - set the CKR_* result of a response (only responses).
 */
int hsmg_msg_set_rv(struct hsmg_msg_builder *b, uint64_t rv);

/**
 * hsmg_msg_put() - append TLV @tag with @len bytes from @val (@val may be
 * NULL when @len is 0).  Enforces the same rules as the parser: known tag
 * for the direction, no duplicate, at most %HSMG_MSG_MAX_TLVS, size limits.
 */
int hsmg_msg_put(struct hsmg_msg_builder *b, uint32_t tag, const void *val, size_t len);

/**
 * hsmg_msg_put_u32() - append a TLV holding one host-order __u32.
 */
int hsmg_msg_put_u32(struct hsmg_msg_builder *b, uint32_t tag, uint32_t v);

/**
 * hsmg_msg_put_begin() - append TLV @tag with room for up to @max_len bytes
 * and return where to write its value (NULL on error, see b->err).  Close
 * it with hsmg_msg_put_end() before any other call on @b.
 */
void *hsmg_msg_put_begin(struct hsmg_msg_builder *b, uint32_t tag, size_t max_len);

/**
 * hsmg_msg_put_end() - set the final length (<= the reserved one) of the TLV
 * opened by hsmg_msg_put_begin(); the bytes after it are zeroed.
 */
int hsmg_msg_put_end(struct hsmg_msg_builder *b, size_t len);

/**
 * hsmg_msg_finish() - write length and count; returns the message length
 * (> 0) or -HSMG_MSG_E*.  The builder may be reused after hsmg_msg_init().
 */
ssize_t hsmg_msg_finish(struct hsmg_msg_builder *b);

/* One parsed TLV. */
struct hsmg_msg_item {
	const uint8_t *val; /* into the parsed buffer; NULL when absent */
	uint32_t len;
	bool present;
};

/* A validated message. */
struct hsmg_msg_view {
	struct hsmg_msg_hdr hdr; /* copied, so aligned */
	struct hsmg_msg_item tlv[HSMG_TAG_MAX + 1];
};

/**
 * hsmg_msg_parse() - validate the whole message in @buf (@len bytes, any
 * alignment) and fill @v.  On error @v->hdr is still filled when the error
 * is not a header error (see hsmg_msg_err_is_header()), so a card can
 * answer with the request's op.
 * Returns 0 or -HSMG_MSG_E*.
 */
int hsmg_msg_parse(struct hsmg_msg_view *v, const void *buf, size_t len);

/**
 * hsmg_msg_parse_type() - hsmg_msg_parse() that also requires @type
 * (else -HSMG_MSG_ETYPE).
 */
int hsmg_msg_parse_type(struct hsmg_msg_view *v, const void *buf, size_t len, uint16_t type);

/**
 * hsmg_msg_get() - look up @tag; true when present (@val/@len set, @val
 * may point to an empty value).  Either output pointer may be NULL.
 */
bool hsmg_msg_get(const struct hsmg_msg_view *v, uint32_t tag, const void **val, uint32_t *len);

/**
 * hsmg_msg_get_fixed() - copy TLV @tag into @dst if it exists and is
 * exactly @len bytes.  Returns 0, -ENOENT when absent, -EINVAL when the
 * size differs.
 */
int hsmg_msg_get_fixed(const struct hsmg_msg_view *v, uint32_t tag, void *dst, size_t len);

/**
 * hsmg_msg_op_name() - "ENCRYPT", "DIGEST_UPDATE", ... or "?" (for logs).
 */
const char *hsmg_msg_op_name(uint32_t op);

#endif /* HSMG_MSG_H */
