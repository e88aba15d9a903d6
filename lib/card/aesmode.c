// SPDX-License-Identifier: GPL-2.0
/*
 * aesmode - serializable AES mode states (see aesmode.h).  GHASH is the
 * plain bit-serial multiplication of NIST SP 800-38D, algorithm 1: slow
 * next to a table or PCLMUL version, but simple to check and fast enough
 * for an emulated card.  Temporary buffers that held plaintext or
 * keystream are wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aesmode.h"
#include "hsmg_msg.h"

#define BATCH 64 /* CTR blocks per ECB call */

static const EVP_CIPHER *cipher_of(const char *mode, size_t keylen)
{
	if (!strcmp(mode, "ecb"))
		return keylen == 16   ? EVP_aes_128_ecb()
		       : keylen == 24 ? EVP_aes_192_ecb()
		       : keylen == 32 ? EVP_aes_256_ecb()
				      : NULL;
	if (!strcmp(mode, "cbc"))
		return keylen == 16   ? EVP_aes_128_cbc()
		       : keylen == 24 ? EVP_aes_192_cbc()
		       : keylen == 32 ? EVP_aes_256_cbc()
				      : NULL;
	if (!strcmp(mode, "kw"))
		return keylen == 16   ? EVP_aes_128_wrap()
		       : keylen == 24 ? EVP_aes_192_wrap()
		       : keylen == 32 ? EVP_aes_256_wrap()
				      : NULL;
	if (!strcmp(mode, "kwp"))
		return keylen == 16   ? EVP_aes_128_wrap_pad()
		       : keylen == 24 ? EVP_aes_192_wrap_pad()
		       : keylen == 32 ? EVP_aes_256_wrap_pad()
				      : NULL;
	return NULL;
}

/* ECB or CBC over whole blocks, no padding.  CBC: @iv is the chaining value
 * in and out.  @in and @out may be the same. */
static int blocks(const char *mode, bool enc, const uint8_t *key, size_t keylen, uint8_t *iv,
		  const uint8_t *in, uint8_t *out, size_t n)
{
	const EVP_CIPHER *c = cipher_of(mode, keylen);
	uint8_t last[AES_BLOCK];
	EVP_CIPHER_CTX *ctx;
	int l, ret = -1;

	if (!n)
		return 0;
	if (!c || n * AES_BLOCK > INT32_MAX)
		return -1;
	if (iv && !enc)
		memcpy(last, in + (n - 1) * AES_BLOCK, AES_BLOCK);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &l, in, (int)(n * AES_BLOCK)) == 1 &&
	    (size_t)l == n * AES_BLOCK)
		ret = 0;
	EVP_CIPHER_CTX_free(ctx);
	if (ret == 0 && iv)
		memcpy(iv, enc ? out + (n - 1) * AES_BLOCK : last, AES_BLOCK);
	return ret;
}

static int ecb1(const uint8_t *key, size_t keylen, const uint8_t in[AES_BLOCK],
		uint8_t out[AES_BLOCK])
{
	return blocks("ecb", true, key, keylen, NULL, in, out, 1);
}

/* ------------------------------------------------------------- CTR */

/* Add one to the low @bits bits of @cb (big-endian), wrapping in them. */
static void ctr_inc(uint8_t cb[AES_BLOCK], uint32_t bits)
{
	int i, rem = (int)bits;

	for (i = AES_BLOCK - 1; i >= 0 && rem > 0; i--, rem -= 8) {
		if (rem >= 8) {
			if (++cb[i])
				return;
		} else {
			uint8_t mask = (uint8_t)((1U << rem) - 1);

			cb[i] = (uint8_t)((cb[i] & ~mask) | ((cb[i] + 1) & mask));
			return;
		}
	}
}

static CK_RV ctr_xor(struct aes_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
		     uint8_t *out, size_t len)
{
	uint64_t limit = st->ctr_bits >= 64 ? 0 : 1ULL << st->ctr_bits;
	uint8_t ctrs[BATCH * AES_BLOCK], ks[BATCH * AES_BLOCK];
	CK_RV rv = CKR_OK;
	size_t i, n, nb;
	bool partial;

	while (len) {
		if (st->ks_off) {
			/* Rest of the block whose counter is in iv. */
			if (ecb1(key, keylen, st->iv, ks)) {
				rv = CKR_DEVICE_ERROR;
				break;
			}
			n = AES_BLOCK - st->ks_off;
			if (n > len)
				n = len;
			for (i = 0; i < n; i++)
				out[i] = in[i] ^ ks[st->ks_off + i];
			st->ks_off = (uint8_t)(st->ks_off + n);
			if (st->ks_off == AES_BLOCK) {
				st->ks_off = 0;
				ctr_inc(st->iv, st->ctr_bits);
			}
			in += n;
			out += n;
			len -= n;
			continue;
		}
		nb = len / AES_BLOCK;
		partial = nb == 0;
		if (partial)
			nb = 1;
		if (nb > BATCH)
			nb = BATCH;
		for (i = 0; i < nb; i++) {
			if (limit && st->blocks >= limit) {
				rv = CKR_DATA_LEN_RANGE;
				goto out;
			}
			memcpy(ctrs + i * AES_BLOCK, st->iv, AES_BLOCK);
			st->blocks++;
			if (!partial)
				ctr_inc(st->iv, st->ctr_bits);
		}
		if (blocks("ecb", true, key, keylen, NULL, ctrs, ks, nb)) {
			rv = CKR_DEVICE_ERROR;
			break;
		}
		n = partial ? len : nb * AES_BLOCK;
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ ks[i];
		if (partial)
			st->ks_off = (uint8_t)len;
		in += n;
		out += n;
		len -= n;
	}
out:
	OPENSSL_cleanse(ks, sizeof(ks));
	return rv;
}

/* ------------------------------------------------------------ GHASH */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* y = (y ^ x) * h in GF(2^128), GCM bit order. */
static void ghash_block(uint8_t y[AES_BLOCK], const uint8_t h[AES_BLOCK], const uint8_t *x)
{
	uint64_t zh = 0, zl = 0, vh = be64(h), vl = be64(h + 8), xh, xl, bit;
	uint8_t t[AES_BLOCK];
	int i;

	for (i = 0; i < AES_BLOCK; i++)
		t[i] = y[i] ^ x[i];
	xh = be64(t);
	xl = be64(t + 8);
	for (i = 0; i < 128; i++) {
		bit = i < 64 ? (xh >> (63 - i)) & 1 : (xl >> (127 - i)) & 1;
		zh ^= vh & (0 - bit);
		zl ^= vl & (0 - bit);
		bit = vl & 1;
		vl = (vl >> 1) | (vh << 63);
		vh = (vh >> 1) ^ (0xe100000000000000ULL & (0 - bit));
	}
	put_be64(y, zh);
	put_be64(y + 8, zl);
	OPENSSL_cleanse(t, sizeof(t));
}

/* Hash @len bytes, zero-padding the last partial block. */
static void ghash_padded(uint8_t y[AES_BLOCK], const uint8_t h[AES_BLOCK], const uint8_t *p,
			 size_t len)
{
	uint8_t last[AES_BLOCK];

	for (; len >= AES_BLOCK; p += AES_BLOCK, len -= AES_BLOCK)
		ghash_block(y, h, p);
	if (len) {
		memset(last, 0, sizeof(last));
		memcpy(last, p, len);
		ghash_block(y, h, last);
	}
}

/* Hash ciphertext as a stream (partial block kept in gbuf). */
static void ghash_stream(struct aes_state *st, const uint8_t h[AES_BLOCK], const uint8_t *p,
			 size_t len)
{
	size_t n;

	if (st->ngbuf) {
		n = AES_BLOCK - st->ngbuf;
		if (n > len)
			n = len;
		memcpy(st->gbuf + st->ngbuf, p, n);
		st->ngbuf = (uint8_t)(st->ngbuf + n);
		p += n;
		len -= n;
		if (st->ngbuf < AES_BLOCK)
			return;
		ghash_block(st->y, h, st->gbuf);
		st->ngbuf = 0;
	}
	for (; len >= AES_BLOCK; p += AES_BLOCK, len -= AES_BLOCK)
		ghash_block(st->y, h, p);
	memcpy(st->gbuf, p, len);
	st->ngbuf = (uint8_t)len;
}

static CK_RV gcm_tag(struct aes_state *st, const uint8_t *key, size_t keylen,
		     uint8_t tag[AES_BLOCK])
{
	uint8_t h[AES_BLOCK], lens[AES_BLOCK], zero[AES_BLOCK] = {0};
	int i;

	if (ecb1(key, keylen, zero, h))
		return CKR_DEVICE_ERROR;
	if (st->ngbuf) {
		memset(st->gbuf + st->ngbuf, 0, AES_BLOCK - st->ngbuf);
		ghash_block(st->y, h, st->gbuf);
		st->ngbuf = 0;
	}
	put_be64(lens, st->aad_len * 8);
	put_be64(lens + 8, st->ct_len * 8);
	ghash_block(st->y, h, lens);
	if (ecb1(key, keylen, st->j0, tag))
		return CKR_DEVICE_ERROR;
	for (i = 0; i < AES_BLOCK; i++)
		tag[i] ^= st->y[i];
	OPENSSL_cleanse(h, sizeof(h));
	return CKR_OK;
}

/* ------------------------------------------------------------ modes */

static bool is_block_mode(uint64_t mech)
{
	return mech == CKM_AES_ECB || mech == CKM_AES_CBC || mech == CKM_AES_CBC_PAD;
}

CK_RV aes_init(struct aes_state *st, uint64_t mech, bool enc, const uint8_t *key, size_t keylen,
	       const uint8_t *param, size_t plen)
{
	struct hsmg_msg_gcm_param gp;
	struct hsmg_msg_ctr_param cp;
	uint8_t h[AES_BLOCK], zero[AES_BLOCK] = {0}, lens[AES_BLOCK];

	memset(st, 0, sizeof(*st));
	st->mech = mech;
	st->enc = enc;
	if (keylen != 16 && keylen != 24 && keylen != 32)
		return CKR_KEY_SIZE_RANGE;
	switch (mech) {
	case CKM_AES_ECB:
		return plen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
		if (plen != AES_BLOCK)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(st->iv, param, AES_BLOCK);
		return CKR_OK;
	case CKM_AES_CTR:
		if (plen != sizeof(cp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&cp, param, sizeof(cp));
		if (cp.rsvd || cp.ctr_nbits < 1 || cp.ctr_nbits > 128)
			return CKR_MECHANISM_PARAM_INVALID;
		st->ctr_bits = cp.ctr_nbits;
		memcpy(st->iv, cp.cb, AES_BLOCK);
		return CKR_OK;
	case CKM_AES_GCM:
		if (plen < sizeof(gp))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&gp, param, sizeof(gp));
		if (gp.rsvd || gp.iv_bytes < 1 || gp.iv_bytes > HSMG_MSG_GCM_MAX_IV ||
		    gp.tag_nbits < 32 || gp.tag_nbits > 128 || gp.tag_nbits % 8 ||
		    (uint64_t)sizeof(gp) + gp.iv_bytes + gp.aad_bytes != plen)
			return CKR_MECHANISM_PARAM_INVALID;
		param += sizeof(gp);
		st->tag_len = (uint8_t)(gp.tag_nbits / 8);
		st->ctr_bits = 32;
		if (ecb1(key, keylen, zero, h))
			return CKR_DEVICE_ERROR;
		if (gp.iv_bytes == 12) {
			memcpy(st->j0, param, 12);
			st->j0[15] = 1;
		} else {
			ghash_padded(st->j0, h, param, gp.iv_bytes);
			memset(lens, 0, 8);
			put_be64(lens + 8, (uint64_t)gp.iv_bytes * 8);
			ghash_block(st->j0, h, lens);
		}
		memcpy(st->iv, st->j0, AES_BLOCK);
		ctr_inc(st->iv, 32);
		ghash_padded(st->y, h, param + gp.iv_bytes, gp.aad_bytes);
		st->aad_len = gp.aad_bytes;
		OPENSSL_cleanse(h, sizeof(h));
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

bool aes_check(const struct aes_state *st, uint64_t mech, bool enc)
{
	if (st->mech != mech || st->enc != enc || st->nbuf > AES_BLOCK || st->ks_off >= AES_BLOCK ||
	    st->ngbuf >= AES_BLOCK)
		return false;
	if (mech == CKM_AES_GCM)
		return st->tag_len >= 4 && st->tag_len <= 16 && st->nbuf <= st->tag_len;
	if (mech == CKM_AES_CTR)
		return st->ctr_bits >= 1 && st->ctr_bits <= 128;
	return is_block_mode(mech);
}

size_t aes_update_max(size_t len)
{
	return len + AES_BLOCK;
}

/* ECB/CBC: encrypt or decrypt the whole blocks of buf || in, keep the rest
 * (CBC_PAD decryption keeps one whole block for the final). */
static CK_RV block_update(struct aes_state *st, const uint8_t *key, size_t keylen,
			  const uint8_t *in, size_t len, uint8_t *out, size_t *olen)
{
	size_t total = st->nbuf + len, n = total / AES_BLOCK * AES_BLOCK, take;
	const char *mode = st->mech == CKM_AES_ECB ? "ecb" : "cbc";
	uint8_t *tmp;
	int r;

	if (st->mech == CKM_AES_CBC_PAD && !st->enc && n && n == total)
		n -= AES_BLOCK;
	*olen = 0;
	if (!n) {
		memcpy(st->buf + st->nbuf, in, len);
		st->nbuf = (uint8_t)total;
		return CKR_OK;
	}
	tmp = malloc(n);
	if (!tmp)
		return CKR_DEVICE_MEMORY;
	take = n - st->nbuf;
	memcpy(tmp, st->buf, st->nbuf);
	memcpy(tmp + st->nbuf, in, take);
	r = blocks(mode, st->enc, key, keylen, st->mech == CKM_AES_ECB ? NULL : st->iv, tmp, out,
		   n / AES_BLOCK);
	OPENSSL_cleanse(tmp, n);
	free(tmp);
	if (r)
		return CKR_DEVICE_ERROR;
	st->nbuf = (uint8_t)(len - take);
	memcpy(st->buf, in + take, st->nbuf);
	*olen = n;
	return CKR_OK;
}

static CK_RV gcm_update(struct aes_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
			size_t len, uint8_t *out, size_t *olen)
{
	uint8_t h[AES_BLOCK], zero[AES_BLOCK] = {0}, *tmp;
	size_t total, rel;
	CK_RV rv;

	*olen = 0;
	if (ecb1(key, keylen, zero, h))
		return CKR_DEVICE_ERROR;
	if (st->enc) {
		rv = ctr_xor(st, key, keylen, in, out, len);
		if (rv == CKR_OK) {
			ghash_stream(st, h, out, len);
			st->ct_len += len;
			*olen = len;
		}
		goto out;
	}
	/* Decrypt: the last tag_len bytes seen may be the tag; hold them. */
	total = st->nbuf + len;
	if (total <= st->tag_len) {
		memcpy(st->buf + st->nbuf, in, len);
		st->nbuf = (uint8_t)total;
		rv = CKR_OK;
		goto out;
	}
	rv = CKR_DEVICE_MEMORY;
	tmp = malloc(total);
	if (!tmp)
		goto out;
	memcpy(tmp, st->buf, st->nbuf);
	memcpy(tmp + st->nbuf, in, len);
	rel = total - st->tag_len;
	ghash_stream(st, h, tmp, rel);
	rv = ctr_xor(st, key, keylen, tmp, out, rel);
	st->ct_len += rel;
	memcpy(st->buf, tmp + rel, st->tag_len);
	st->nbuf = st->tag_len;
	free(tmp);
	if (rv == CKR_OK)
		*olen = rel;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return rv;
}

CK_RV aes_update(struct aes_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
		 size_t len, uint8_t *out, size_t *olen)
{
	*olen = 0;
	if (!len)
		return CKR_OK;
	if (st->mech == CKM_AES_GCM) {
		if (st->ct_len + len < st->ct_len || st->ct_len + len > (1ULL << 36) - 32)
			return st->enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
		return gcm_update(st, key, keylen, in, len, out, olen);
	}
	if (st->mech == CKM_AES_CTR) {
		CK_RV rv = ctr_xor(st, key, keylen, in, out, len);

		if (rv == CKR_OK)
			*olen = len;
		return rv;
	}
	return block_update(st, key, keylen, in, len, out, olen);
}

CK_RV aes_final(struct aes_state *st, const uint8_t *key, size_t keylen, uint8_t *out, size_t *olen)
{
	uint8_t tag[AES_BLOCK], blk[AES_BLOCK];
	unsigned int pad, i, bad;
	CK_RV rv = CKR_OK;

	*olen = 0;
	switch (st->mech) {
	case CKM_AES_CTR:
		return CKR_OK;
	case CKM_AES_GCM:
		if (!st->enc && st->nbuf != st->tag_len)
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		rv = gcm_tag(st, key, keylen, tag);
		if (rv != CKR_OK)
			break;
		if (st->enc) {
			memcpy(out, tag, st->tag_len);
			*olen = st->tag_len;
		} else if (CRYPTO_memcmp(tag, st->buf, st->tag_len)) {
			rv = CKR_ENCRYPTED_DATA_INVALID;
		}
		break;
	case CKM_AES_ECB:
	case CKM_AES_CBC:
		if (st->nbuf)
			rv = st->enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
		break;
	case CKM_AES_CBC_PAD:
		if (st->enc) {
			pad = AES_BLOCK - st->nbuf;
			memset(st->buf + st->nbuf, (int)pad, pad);
			if (blocks("cbc", true, key, keylen, st->iv, st->buf, out, 1))
				rv = CKR_DEVICE_ERROR;
			else
				*olen = AES_BLOCK;
			break;
		}
		if (st->nbuf != AES_BLOCK) {
			rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
			break;
		}
		if (blocks("cbc", false, key, keylen, st->iv, st->buf, blk, 1)) {
			rv = CKR_DEVICE_ERROR;
			break;
		}
		pad = blk[AES_BLOCK - 1];
		bad = pad < 1 || pad > AES_BLOCK;
		for (i = 0; !bad && i < pad; i++)
			bad |= blk[AES_BLOCK - 1 - i] != pad;
		if (bad) {
			rv = CKR_ENCRYPTED_DATA_INVALID;
			break;
		}
		memcpy(out, blk, AES_BLOCK - pad);
		*olen = AES_BLOCK - pad;
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
	}
	OPENSSL_cleanse(tag, sizeof(tag));
	OPENSSL_cleanse(blk, sizeof(blk));
	return rv;
}

/* ------------------------------------------------------------- CMAC */

static void dbl(uint8_t b[AES_BLOCK])
{
	uint8_t carry = b[0] >> 7;
	int i;

	for (i = 0; i < AES_BLOCK - 1; i++)
		b[i] = (uint8_t)((b[i] << 1) | (b[i + 1] >> 7));
	b[AES_BLOCK - 1] = (uint8_t)((b[AES_BLOCK - 1] << 1) ^ (carry * 0x87));
}

void cmac_init(struct cmac_state *st)
{
	memset(st, 0, sizeof(*st));
}

CK_RV cmac_update(struct cmac_state *st, const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t len)
{
	size_t total = st->nbuf + len, n, take;
	uint8_t *tmp;
	int r;

	if (st->nbuf > AES_BLOCK)
		return CKR_SAVED_STATE_INVALID;
	if (total <= AES_BLOCK) {
		memcpy(st->buf + st->nbuf, in, len);
		st->nbuf = (uint8_t)total;
		return CKR_OK;
	}
	/* Process all whole blocks but keep the last 1..16 bytes. */
	n = (total - 1) / AES_BLOCK * AES_BLOCK;
	tmp = malloc(n);
	if (!tmp)
		return CKR_DEVICE_MEMORY;
	take = n - st->nbuf;
	memcpy(tmp, st->buf, st->nbuf);
	memcpy(tmp + st->nbuf, in, take);
	r = blocks("cbc", true, key, keylen, st->x, tmp, tmp, n / AES_BLOCK);
	OPENSSL_cleanse(tmp, n);
	free(tmp);
	if (r)
		return CKR_DEVICE_ERROR;
	st->nbuf = (uint8_t)(len - take);
	memcpy(st->buf, in + take, st->nbuf);
	return CKR_OK;
}

CK_RV cmac_final(struct cmac_state *st, const uint8_t *key, size_t keylen, uint8_t mac[AES_BLOCK])
{
	uint8_t k[AES_BLOCK] = {0}, m[AES_BLOCK];
	CK_RV rv = CKR_OK;
	int i;

	if (st->nbuf > AES_BLOCK)
		return CKR_SAVED_STATE_INVALID;
	if (ecb1(key, keylen, k, k))
		return CKR_DEVICE_ERROR;
	dbl(k); /* K1 */
	memset(m, 0, sizeof(m));
	memcpy(m, st->buf, st->nbuf);
	if (st->nbuf != AES_BLOCK) {
		m[st->nbuf] = 0x80;
		dbl(k); /* K2 */
	}
	for (i = 0; i < AES_BLOCK; i++)
		m[i] ^= k[i] ^ st->x[i];
	if (ecb1(key, keylen, m, mac))
		rv = CKR_DEVICE_ERROR;
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(m, sizeof(m));
	return rv;
}

/* --------------------------------------------------------- key wrap */

CK_RV aes_kw(uint64_t mech, bool wrap, const uint8_t *key, size_t keylen, const uint8_t *iv,
	     size_t ivlen, const uint8_t *in, size_t len, uint8_t *out, size_t *olen)
{
	bool pad = mech == CKM_AES_KEY_WRAP_PAD;
	const EVP_CIPHER *c = cipher_of(pad ? "kwp" : "kw", keylen);
	EVP_CIPHER_CTX *ctx;
	int n = 0, m = 0;
	CK_RV rv;

	if (mech != CKM_AES_KEY_WRAP && mech != CKM_AES_KEY_WRAP_PAD)
		return CKR_MECHANISM_INVALID;
	if (!c)
		return CKR_WRAPPING_KEY_SIZE_RANGE;
	if (iv && ivlen != (pad ? 4U : 8U))
		return CKR_MECHANISM_PARAM_INVALID;
	if (wrap && (pad ? len < 1 : (len < 16 || len % 8)))
		return CKR_KEY_SIZE_RANGE;
	if (!wrap && (len % 8 || len < (pad ? 16U : 24U)))
		return CKR_WRAPPED_KEY_LEN_RANGE;
	if (len > INT32_MAX - 16)
		return CKR_DATA_LEN_RANGE;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return CKR_DEVICE_MEMORY;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	rv = wrap ? CKR_DEVICE_ERROR : CKR_WRAPPED_KEY_INVALID;
	if (EVP_CipherInit_ex(ctx, c, NULL, key, iv, wrap) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + n, &m) == 1) {
		*olen = (size_t)n + (size_t)m;
		rv = CKR_OK;
	}
	EVP_CIPHER_CTX_free(ctx);
	if (rv != CKR_OK && !wrap)
		OPENSSL_cleanse(out, len);
	return rv;
}
