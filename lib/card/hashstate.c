// SPDX-License-Identifier: GPL-2.0
/*
 * hashstate - serialize OpenSSL's low-level hash contexts.  The EVP API has
 * no way to export a digest state, so this file uses the SHA*_CTX structs,
 * deprecated in OpenSSL 3 but still shipped; the deprecation warnings are
 * silenced here and only here.  Every context is wiped after use.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

#include "hashstate.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Field-by-field packing keeps the format independent of struct padding. */
struct packer {
	uint8_t *p;
	size_t off;
};

static void put(struct packer *k, const void *v, size_t n)
{
	memcpy(k->p + k->off, v, n);
	k->off += n;
}

static void get(struct packer *k, void *v, size_t n)
{
	memcpy(v, k->p + k->off, n);
	k->off += n;
}

#define SHA1_STATE_LEN	 (24 * 4)
#define SHA256_STATE_LEN (28 * 4)
#define SHA512_STATE_LEN (8 * 8 + 2 * 8 + SHA512_CBLOCK + 2 * 4)

enum family { FAM_NONE, FAM_SHA1, FAM_SHA256, FAM_SHA512 };

static enum family family_of(unsigned long mech)
{
	switch (mech) {
	case CKM_SHA_1:
		return FAM_SHA1;
	case CKM_SHA224:
	case CKM_SHA256:
		return FAM_SHA256;
	case CKM_SHA384:
	case CKM_SHA512:
		return FAM_SHA512;
	default:
		return FAM_NONE;
	}
}

size_t hs_md_len(unsigned long mech)
{
	switch (mech) {
	case CKM_SHA_1:
		return 20;
	case CKM_SHA224:
		return 28;
	case CKM_SHA256:
		return 32;
	case CKM_SHA384:
		return 48;
	case CKM_SHA512:
		return 64;
	default:
		return 0;
	}
}

size_t hs_state_len(unsigned long mech)
{
	switch (family_of(mech)) {
	case FAM_SHA1:
		return SHA1_STATE_LEN;
	case FAM_SHA256:
		return SHA256_STATE_LEN;
	case FAM_SHA512:
		return SHA512_STATE_LEN;
	default:
		return 0;
	}
}

union ctx {
	SHA_CTX s1;
	SHA256_CTX s256;
	SHA512_CTX s512;
};

static void pack(enum family f, const union ctx *c, uint8_t *st)
{
	struct packer k = {st, 0};

	switch (f) {
	case FAM_SHA1:
		put(&k, &c->s1.h0, 4);
		put(&k, &c->s1.h1, 4);
		put(&k, &c->s1.h2, 4);
		put(&k, &c->s1.h3, 4);
		put(&k, &c->s1.h4, 4);
		put(&k, &c->s1.Nl, 4);
		put(&k, &c->s1.Nh, 4);
		put(&k, c->s1.data, sizeof(c->s1.data));
		put(&k, &c->s1.num, 4);
		break;
	case FAM_SHA256:
		put(&k, c->s256.h, sizeof(c->s256.h));
		put(&k, &c->s256.Nl, 4);
		put(&k, &c->s256.Nh, 4);
		put(&k, c->s256.data, sizeof(c->s256.data));
		put(&k, &c->s256.num, 4);
		put(&k, &c->s256.md_len, 4);
		break;
	case FAM_SHA512:
		put(&k, c->s512.h, sizeof(c->s512.h));
		put(&k, &c->s512.Nl, 8);
		put(&k, &c->s512.Nh, 8);
		put(&k, c->s512.u.p, sizeof(c->s512.u.p));
		put(&k, &c->s512.num, 4);
		put(&k, &c->s512.md_len, 4);
		break;
	default:
		break;
	}
}

/* Decode and sanity-check; the state was authenticated, but a state from a
 * different mechanism of the same family must still not decode. */
static int unpack(unsigned long mech, union ctx *c, const uint8_t *st, size_t stlen)
{
	enum family f = family_of(mech);
	struct packer k = {(uint8_t *)st, 0};

	if (f == FAM_NONE || stlen != hs_state_len(mech))
		return -1;
	memset(c, 0, sizeof(*c));
	switch (f) {
	case FAM_SHA1:
		get(&k, &c->s1.h0, 4);
		get(&k, &c->s1.h1, 4);
		get(&k, &c->s1.h2, 4);
		get(&k, &c->s1.h3, 4);
		get(&k, &c->s1.h4, 4);
		get(&k, &c->s1.Nl, 4);
		get(&k, &c->s1.Nh, 4);
		get(&k, c->s1.data, sizeof(c->s1.data));
		get(&k, &c->s1.num, 4);
		return c->s1.num < SHA_CBLOCK ? 0 : -1;
	case FAM_SHA256:
		get(&k, c->s256.h, sizeof(c->s256.h));
		get(&k, &c->s256.Nl, 4);
		get(&k, &c->s256.Nh, 4);
		get(&k, c->s256.data, sizeof(c->s256.data));
		get(&k, &c->s256.num, 4);
		get(&k, &c->s256.md_len, 4);
		return c->s256.num < SHA256_CBLOCK && c->s256.md_len == hs_md_len(mech) ? 0 : -1;
	case FAM_SHA512:
		get(&k, c->s512.h, sizeof(c->s512.h));
		get(&k, &c->s512.Nl, 8);
		get(&k, &c->s512.Nh, 8);
		get(&k, c->s512.u.p, sizeof(c->s512.u.p));
		get(&k, &c->s512.num, 4);
		get(&k, &c->s512.md_len, 4);
		return c->s512.num < SHA512_CBLOCK && c->s512.md_len == hs_md_len(mech) ? 0 : -1;
	default:
		return -1;
	}
}

int hs_init(unsigned long mech, uint8_t st[HS_MAX_STATE], size_t *stlen)
{
	enum family f = family_of(mech);
	union ctx c;
	int ok;

	memset(&c, 0, sizeof(c));
	switch (mech) {
	case CKM_SHA_1:
		ok = SHA1_Init(&c.s1);
		break;
	case CKM_SHA224:
		ok = SHA224_Init(&c.s256);
		break;
	case CKM_SHA256:
		ok = SHA256_Init(&c.s256);
		break;
	case CKM_SHA384:
		ok = SHA384_Init(&c.s512);
		break;
	case CKM_SHA512:
		ok = SHA512_Init(&c.s512);
		break;
	default:
		return -1;
	}
	if (ok != 1)
		return -1;
	pack(f, &c, st);
	*stlen = hs_state_len(mech);
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

int hs_update(unsigned long mech, uint8_t *st, size_t stlen, const void *data, size_t len)
{
	enum family f = family_of(mech);
	union ctx c;
	int ok = 0;

	if (unpack(mech, &c, st, stlen))
		goto out;
	switch (f) {
	case FAM_SHA1:
		ok = SHA1_Update(&c.s1, data, len);
		break;
	case FAM_SHA256:
		ok = SHA256_Update(&c.s256, data, len); /* also SHA-224 */
		break;
	case FAM_SHA512:
		ok = SHA512_Update(&c.s512, data, len); /* also SHA-384 */
		break;
	default:
		break;
	}
	if (ok == 1)
		pack(f, &c, st);
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return ok == 1 ? 0 : -1;
}

int hs_final(unsigned long mech, const uint8_t *st, size_t stlen, uint8_t md[HS_MAX_MD],
	     size_t *mdlen)
{
	union ctx c;
	int ok = 0;

	if (unpack(mech, &c, st, stlen))
		goto out;
	switch (mech) {
	case CKM_SHA_1:
		ok = SHA1_Final(md, &c.s1);
		break;
	case CKM_SHA224:
		ok = SHA224_Final(md, &c.s256);
		break;
	case CKM_SHA256:
		ok = SHA256_Final(md, &c.s256);
		break;
	case CKM_SHA384:
		ok = SHA384_Final(md, &c.s512);
		break;
	case CKM_SHA512:
		ok = SHA512_Final(md, &c.s512);
		break;
	default:
		break;
	}
	if (ok == 1)
		*mdlen = hs_md_len(mech);
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return ok == 1 ? 0 : -1;
}

#pragma GCC diagnostic pop
