// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-chaos - checked PKCS#11 load through hsmgroup-pkcs11.so for
 * tests/chaos/run: every mechanism family, every answer verified.
 *
 *   hsmg-chaos --module SO --setup --pin PIN --so-pin PIN
 *	initialise the token (label "chaos"), set the user PIN and generate
 *	the token key pairs "chaos-rsa" (RSA-2048) and "chaos-ec" (P-256).
 *   hsmg-chaos --module SO --pin PIN [--procs N] [--threads T] [--seed S]
 *	      [--duration S] [--hold-ms MS] [--pace-ms MS] [--families F,F...]
 *	N processes (each dlopens the module after the fork, its own
 *	C_Initialize, one logged-in PKCS#11 session per thread) with T
 *	threads each run, until SIGTERM or the duration ends (each thread
 *	resting --pace-ms between operations: the cards need CPU too), a random
 *	(seeded: --seed, process and thread index) mix of:
 *	  rsa     CKM_SHA256_RSA_PKCS single or multi-part, verified by OpenSSL
 *	  ec      CKM_ECDSA_SHA256 single or multi-part, verified by OpenSSL
 *	  cbc     AES-256-CBC-PAD multi-part encrypt and decrypt with an
 *		  imported key, both compared with OpenSSL
 *	  gcm     AES-256-GCM with AAD, compared with OpenSSL, decrypted in parts
 *	  digest  SHA-256 in parts / SHA-512 at once, compared with OpenSSL
 *	  hmac    CKM_SHA256_HMAC in parts with an imported key, vs OpenSSL
 *	  wrap    a freshly generated extractable AES session key wrapped
 *		  (CKM_AES_KEY_WRAP_PAD), unwrapped by OpenSSL, used on the card
 *		  and compared, unwrapped on the card and used again
 *	  random  C_GenerateRandom, never all zero, never a repeat
 *	  eckey   a fresh P-256 session key pair: sign on the card, verify
 *		  with its public key in OpenSSL, destroy
 *	(--families picks some of them).
 *	Any CK_RV other than CKR_OK or any wrong result is an error, except
 *	during an outage: the parent sets an outage flag shared with every
 *	client on SIGUSR1 and clears it on SIGUSR2 (tests/chaos/run sends
 *	them around "no member online").  An operation that overlaps an
 *	outage may fail with CKR_DEVICE_ERROR (the request waited the hold
 *	time) or CKR_TOKEN_NOT_PRESENT (the slot shows no token), nothing
 *	else; a CKR_DEVICE_ERROR that came before 3/4 of --hold-ms passed (it
 *	did not wait; 3/4: the guest's clock and the kernel's jiffies drift
 *	apart in a TCG guest) is an error too.  The parent prints the totals
 *	and exits 1 on any error or client lost.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "p11load.h"

#define MAX_LOGGED  10
#define MAX_DATA    4096
#define CHAOS_WRONG 0x8000c4a0UL /* a wrong result (vendor-range CK_RV) */

enum fam { F_RSA, F_EC, F_CBC, F_GCM, F_DIGEST, F_HMAC, F_WRAP, F_RANDOM, F_ECKEY, F_NR };
static const char *const fam_name[F_NR] = {"rsa",  "ec",   "cbc",    "gcm",  "digest",
					   "hmac", "wrap", "random", "eckey"};

static struct {
	const char *module, *pin, *so_pin;
	unsigned int procs, threads, duration_s, hold_ms, pace_ms;
	unsigned int fams[F_NR], nfams;
	uint64_t seed;
	bool setup;
} opt = {.procs = 2, .threads = 2, .duration_s = 300, .seed = 1};

/* Shared with every client (MAP_SHARED before the forks). */
struct shared {
	atomic_int outage;
	atomic_uint epoch; /* changes at every outage begin and end */
};
static struct shared *sh;

struct stats {
	uint64_t ops[F_NR];
	uint64_t errors;
	uint64_t outage_deverr, outage_notpresent;
	uint64_t deverr_min_ms; /* shortest op that ended in an outage CKR_DEVICE_ERROR */
	uint64_t lat_max_ms;
	uint32_t setup_ok;
};

static volatile sig_atomic_t stopping;
static pid_t *kids;
static unsigned int nkids;

static atomic_int logged;
static int proc_index;

/* ---- helpers ------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	return (uint64_t)now_ms();
}

/* xorshift64*: the load is the same for the same seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void rnd_bytes(uint64_t *s, uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rnd(s);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static size_t rnd_len(uint64_t *s, size_t max)
{
	return 1 + rnd(s) % max;
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&logged, 1) >= MAX_LOGGED)
		return;
	fprintf(stderr, "hsmg-chaos[%d]: ", proc_index);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* What went wrong in the current operation (per thread). */
static __thread char why[160];

#define CK(call, ...)                                                                              \
	do {                                                                                       \
		CK_RV rv_ = p11->call(__VA_ARGS__);                                                \
		if (rv_ != CKR_OK) {                                                               \
			snprintf(why, sizeof(why), "%s: 0x%lx", #call, (unsigned long)rv_);        \
			return rv_;                                                                \
		}                                                                                  \
	} while (0)

static CK_RV wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static CK_RV wrong(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return CHAOS_WRONG;
}

/* ---- the process's keys -------------------------------------------------- */

struct keys {
	CK_OBJECT_HANDLE rsa, ec, aes, hmac, kek;
	uint8_t aes_val[32], hmac_val[32], kek_val[32];
	EVP_PKEY *rsa_pub, *ec_pub;
};

static CK_RV find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
		      CK_OBJECT_HANDLE *h)
{
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
			    {CKA_LABEL, (void *)label, strlen(label)}};
	CK_ULONG n = 0;

	CK(C_FindObjectsInit, s, t, 2);
	CK(C_FindObjects, s, h, 1, &n);
	CK(C_FindObjectsFinal, s);
	if (n != 1)
		return wrong("token object %s not found (run --setup)", label);
	return CKR_OK;
}

/* CKA_EC_POINT: DER OCTET STRING around the point, or the bare point. */
static EVP_PKEY *ec_pub_from_point(const uint8_t *pt, size_t len)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];

	if (len == 67 && pt[0] == 0x04 && pt[1] == 65) {
		pt += 2;
		len -= 2;
	}
	if (len != 65 || pt[0] != 0x04)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx)
		return NULL;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static CK_RV ec_pub_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, EVP_PKEY **out)
{
	uint8_t pt[160];
	CK_ATTRIBUTE a = {CKA_EC_POINT, pt, sizeof(pt)};

	CK(C_GetAttributeValue, s, pub, &a, 1);
	*out = ec_pub_from_point(pt, a.ulValueLen);
	if (!*out)
		return wrong("CKA_EC_POINT (%lu bytes) does not parse",
			     (unsigned long)a.ulValueLen);
	return CKR_OK;
}

static CK_RV rsa_pub_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, EVP_PKEY **out)
{
	uint8_t n[512], e[16];
	CK_ATTRIBUTE a[] = {{CKA_MODULUS, n, sizeof(n)}, {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	*out = NULL;
	CK(C_GetAttributeValue, s, pub, a, 2);
	bn = BN_bin2bn(n, a[0].ulValueLen, NULL);
	be = BN_bin2bn(e, a[1].ulValueLen, NULL);
	if (bld && bn && be && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		*out = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return *out ? CKR_OK : wrong("RSA public key does not parse");
}

static CK_RV import_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const uint8_t *val, size_t len,
			   CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	bool aes = kt == CKK_AES;
	CK_ATTRIBUTE a[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},  {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_VALUE, (void *)val, len},   {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_ENCRYPT, aes ? &t : &f, 1}, {CKA_DECRYPT, aes ? &t : &f, 1},
	    {CKA_WRAP, aes ? &t : &f, 1},    {CKA_UNWRAP, aes ? &t : &f, 1},
	    {CKA_SIGN, aes ? &f : &t, 1},    {CKA_VERIFY, aes ? &f : &t, 1},
	    {CKA_SENSITIVE, &t, sizeof(t)},
	};

	CK(C_CreateObject, s, a, sizeof(a) / sizeof(a[0]), h);
	return CKR_OK;
}

static CK_RV keys_load(CK_SESSION_HANDLE s, struct keys *k, uint64_t *seed)
{
	CK_OBJECT_HANDLE pub;
	CK_RV rv;

	if ((rv = find_one(s, CKO_PRIVATE_KEY, "chaos-rsa", &k->rsa)) ||
	    (rv = find_one(s, CKO_PUBLIC_KEY, "chaos-rsa", &pub)) ||
	    (rv = rsa_pub_of(s, pub, &k->rsa_pub)))
		return rv;
	if ((rv = find_one(s, CKO_PRIVATE_KEY, "chaos-ec", &k->ec)) ||
	    (rv = find_one(s, CKO_PUBLIC_KEY, "chaos-ec", &pub)) ||
	    (rv = ec_pub_of(s, pub, &k->ec_pub)))
		return rv;
	/* Test keys with known values: OpenSSL computes what the card must. */
	rnd_bytes(seed, k->aes_val, sizeof(k->aes_val));
	rnd_bytes(seed, k->hmac_val, sizeof(k->hmac_val));
	rnd_bytes(seed, k->kek_val, sizeof(k->kek_val));
	if ((rv = import_secret(s, CKK_AES, k->aes_val, 32, &k->aes)) ||
	    (rv = import_secret(s, CKK_GENERIC_SECRET, k->hmac_val, 32, &k->hmac)) ||
	    (rv = import_secret(s, CKK_AES, k->kek_val, 32, &k->kek)))
		return rv;
	return CKR_OK;
}

/* ---- OpenSSL references -------------------------------------------------- */

static bool ossl_verify(EVP_PKEY *pub, const char *md, const uint8_t *msg, size_t len,
			const uint8_t *sig, size_t sig_len, bool raw_ecdsa)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	int der_len = (int)sig_len;

	if (raw_ecdsa) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r, *sv;

		if (sig_len != 64 || !es) {
			ECDSA_SIG_free(es);
			EVP_MD_CTX_free(ctx);
			return false;
		}
		r = BN_bin2bn(sig, 32, NULL);
		sv = BN_bin2bn(sig + 32, 32, NULL);
		if (!r || !sv || !ECDSA_SIG_set0(es, r, sv)) {
			BN_free(r);
			BN_free(sv);
			ECDSA_SIG_free(es);
			EVP_MD_CTX_free(ctx);
			return false;
		}
		der_len = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (der_len <= 0) {
			EVP_MD_CTX_free(ctx);
			return false;
		}
		sig = der;
	}
	if (ctx && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pub, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, der_len, msg, len) == 1)
		ok = true;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* AES-256 CBC (PKCS#7 padding) or GCM encryption; returns the length. */
static int ossl_encrypt(const EVP_CIPHER *c, const uint8_t key[32], const uint8_t *iv,
			const uint8_t *aad, int aad_len, const uint8_t *in, int len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	ok = ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
	     (!aad_len || EVP_EncryptUpdate(ctx, NULL, &m, aad, aad_len) == 1) &&
	     EVP_EncryptUpdate(ctx, out, &n, in, len) == 1 &&
	     EVP_EncryptFinal_ex(ctx, out + n, &m) == 1;
	n += m;
	if (ok && EVP_CIPHER_CTX_get_mode(ctx) == EVP_CIPH_GCM_MODE)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1, n += 16;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? n : -1;
}

static int ossl_unwrap_pad(const uint8_t kek[32], const uint8_t *in, int len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	if (!ctx)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, kek, NULL) == 1 &&
	     EVP_DecryptUpdate(ctx, out, &n, in, len) == 1 &&
	     EVP_DecryptFinal_ex(ctx, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? n + m : -1;
}

/* ---- the operations ------------------------------------------------------ */

struct worker {
	CK_SESSION_HANDLE s;
	struct keys *k;
	uint64_t seed;
	int index;
	uint8_t last_random[64];
	struct stats st;
};

/* Sign @msg with @mech in one call or in random parts. */
static CK_RV card_sign(struct worker *w, CK_MECHANISM *m, CK_OBJECT_HANDLE key, const uint8_t *msg,
		       size_t len, uint8_t *sig, CK_ULONG *sig_len)
{
	CK(C_SignInit, w->s, m, key);
	if (rnd(&w->seed) & 1) {
		CK(C_Sign, w->s, (CK_BYTE_PTR)msg, len, sig, sig_len);
		return CKR_OK;
	}
	for (size_t off = 0; off < len;) {
		size_t part = rnd_len(&w->seed, len - off);

		CK(C_SignUpdate, w->s, (CK_BYTE_PTR)msg + off, part);
		off += part;
	}
	CK(C_SignFinal, w->s, sig, sig_len);
	return CKR_OK;
}

static CK_RV op_rsa(struct worker *w)
{
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t msg[MAX_DATA], sig[512];
	CK_ULONG sig_len = sizeof(sig);
	size_t len = rnd_len(&w->seed, sizeof(msg));
	CK_RV rv;

	rnd_bytes(&w->seed, msg, len);
	rv = card_sign(w, &m, w->k->rsa, msg, len, sig, &sig_len);
	if (rv)
		return rv;
	if (!ossl_verify(w->k->rsa_pub, "SHA256", msg, len, sig, sig_len, false))
		return wrong("RSA signature (%lu bytes) does not verify", (unsigned long)sig_len);
	return CKR_OK;
}

static CK_RV op_ec(struct worker *w)
{
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	uint8_t msg[MAX_DATA], sig[132];
	CK_ULONG sig_len = sizeof(sig);
	size_t len = rnd_len(&w->seed, sizeof(msg));
	CK_RV rv;

	rnd_bytes(&w->seed, msg, len);
	rv = card_sign(w, &m, w->k->ec, msg, len, sig, &sig_len);
	if (rv)
		return rv;
	if (!ossl_verify(w->k->ec_pub, "SHA256", msg, len, sig, sig_len, true))
		return wrong("ECDSA signature (%lu bytes) does not verify", (unsigned long)sig_len);
	return CKR_OK;
}

static CK_RV op_cbc(struct worker *w)
{
	uint8_t iv[16], pt[MAX_DATA], ct[MAX_DATA + 32], ref[MAX_DATA + 32], back[MAX_DATA + 32];
	CK_MECHANISM m = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
	size_t len = rnd_len(&w->seed, sizeof(pt)), ct_len = 0, back_len = 0;
	CK_ULONG n;
	int ref_len;

	rnd_bytes(&w->seed, iv, sizeof(iv));
	rnd_bytes(&w->seed, pt, len);
	CK(C_EncryptInit, w->s, &m, w->k->aes);
	for (size_t off = 0; off < len;) {
		size_t part = rnd_len(&w->seed, len - off);

		n = sizeof(ct) - ct_len;
		CK(C_EncryptUpdate, w->s, pt + off, part, ct + ct_len, &n);
		ct_len += n;
		off += part;
	}
	n = sizeof(ct) - ct_len;
	CK(C_EncryptFinal, w->s, ct + ct_len, &n);
	ct_len += n;
	ref_len = ossl_encrypt(EVP_aes_256_cbc(), w->k->aes_val, iv, NULL, 0, pt, (int)len, ref);
	if (ref_len < 0 || (size_t)ref_len != ct_len || memcmp(ref, ct, ct_len))
		return wrong("AES-CBC-PAD: %zu bytes from the card differ from OpenSSL's %d",
			     ct_len, ref_len);
	CK(C_DecryptInit, w->s, &m, w->k->aes);
	for (size_t off = 0; off < ct_len;) {
		size_t part = rnd_len(&w->seed, ct_len - off);

		n = sizeof(back) - back_len;
		CK(C_DecryptUpdate, w->s, ct + off, part, back + back_len, &n);
		back_len += n;
		off += part;
	}
	n = sizeof(back) - back_len;
	CK(C_DecryptFinal, w->s, back + back_len, &n);
	back_len += n;
	if (back_len != len || memcmp(back, pt, len))
		return wrong("AES-CBC-PAD: decryption gave %zu bytes, not the %zu encrypted",
			     back_len, len);
	return CKR_OK;
}

static CK_RV op_gcm(struct worker *w)
{
	uint8_t iv[12], aad[32], pt[MAX_DATA], ct[MAX_DATA + 16], ref[MAX_DATA + 32];
	uint8_t back[MAX_DATA + 16];
	CK_GCM_PARAMS gp = {.iv_ptr = iv, .iv_len = 12, .iv_bits = 96, .tag_bits = 128};
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	size_t len = rnd_len(&w->seed, sizeof(pt)), aad_len = rnd(&w->seed) % sizeof(aad);
	size_t back_len = 0;
	CK_ULONG n = sizeof(ct);
	int ref_len;

	rnd_bytes(&w->seed, iv, sizeof(iv));
	rnd_bytes(&w->seed, aad, sizeof(aad));
	rnd_bytes(&w->seed, pt, len);
	gp.aad_ptr = aad_len ? aad : NULL;
	gp.aad_len = aad_len;
	CK(C_EncryptInit, w->s, &m, w->k->aes);
	CK(C_Encrypt, w->s, pt, len, ct, &n);
	ref_len = ossl_encrypt(EVP_aes_256_gcm(), w->k->aes_val, iv, aad, (int)aad_len, pt,
			       (int)len, ref);
	if (ref_len < 0 || (CK_ULONG)ref_len != n || memcmp(ref, ct, n))
		return wrong("AES-GCM: %lu bytes from the card differ from OpenSSL's %d",
			     (unsigned long)n, ref_len);
	CK(C_DecryptInit, w->s, &m, w->k->aes);
	for (size_t off = 0, ct_len = n; off < ct_len;) {
		size_t part = rnd_len(&w->seed, ct_len - off);

		n = sizeof(back) - back_len;
		CK(C_DecryptUpdate, w->s, ct + off, part, back + back_len, &n);
		back_len += n;
		off += part;
	}
	n = sizeof(back) - back_len;
	CK(C_DecryptFinal, w->s, back + back_len, &n);
	back_len += n;
	if (back_len != len || memcmp(back, pt, len))
		return wrong("AES-GCM: decryption gave %zu bytes, not the %zu encrypted", back_len,
			     len);
	return CKR_OK;
}

static CK_RV op_digest(struct worker *w)
{
	bool big = rnd(&w->seed) % 4 == 0;
	CK_MECHANISM m = {big ? CKM_SHA512 : CKM_SHA256, NULL, 0};
	uint8_t msg[MAX_DATA], d[64], ref[64];
	size_t len = rnd_len(&w->seed, sizeof(msg));
	CK_ULONG n = sizeof(d);
	unsigned int ref_len = 0;

	rnd_bytes(&w->seed, msg, len);
	CK(C_DigestInit, w->s, &m);
	if (big) {
		CK(C_Digest, w->s, msg, len, d, &n);
	} else {
		for (size_t off = 0; off < len;) {
			size_t part = rnd_len(&w->seed, len - off);

			CK(C_DigestUpdate, w->s, msg + off, part);
			off += part;
		}
		CK(C_DigestFinal, w->s, d, &n);
	}
	if (!EVP_Digest(msg, len, ref, &ref_len, big ? EVP_sha512() : EVP_sha256(), NULL) ||
	    ref_len != n || memcmp(ref, d, n))
		return wrong("SHA-%s of %zu bytes differs from OpenSSL's", big ? "512" : "256",
			     len);
	return CKR_OK;
}

static CK_RV op_hmac(struct worker *w)
{
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	uint8_t msg[MAX_DATA], mac[64], ref[64];
	CK_ULONG n = sizeof(mac);
	size_t len = rnd_len(&w->seed, sizeof(msg)), ref_len = 0;
	CK_RV rv;

	rnd_bytes(&w->seed, msg, len);
	rv = card_sign(w, &m, w->k->hmac, msg, len, mac, &n);
	if (rv)
		return rv;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, w->k->hmac_val, 32, msg, len, ref,
		       sizeof(ref), &ref_len) ||
	    ref_len != n || memcmp(ref, mac, n))
		return wrong("HMAC-SHA256 of %zu bytes differs from OpenSSL's", len);
	return CKR_OK;
}

static CK_RV op_wrap(struct worker *w)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = 32;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE gen[] = {
	    {CKA_VALUE_LEN, &vlen, sizeof(vlen)}, {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_ENCRYPT, &t, sizeof(t)},	  {CKA_DECRYPT, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &t, sizeof(t)},	  {CKA_SENSITIVE, &t, sizeof(t)},
	};
	CK_ATTRIBUTE unw[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_DECRYPT, &t, sizeof(t)},
	};
	CK_MECHANISM mgen = {CKM_AES_KEY_GEN, NULL, 0}, mkw = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	uint8_t iv[16], pt[512], ct[512 + 16], ref[512 + 32], back[512 + 16], wrapped[64];
	uint8_t val[64];
	CK_MECHANISM mcbc = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE, key2 = CK_INVALID_HANDLE;
	CK_ULONG wlen = sizeof(wrapped), n = sizeof(ct), bn = sizeof(back);
	size_t len = rnd_len(&w->seed, sizeof(pt));
	int vl, rl;
	CK_RV rv;

	rnd_bytes(&w->seed, iv, sizeof(iv));
	rnd_bytes(&w->seed, pt, len);
	CK(C_GenerateKey, w->s, &mgen, gen, sizeof(gen) / sizeof(gen[0]), &key);
	rv = p11->C_WrapKey(w->s, &mkw, w->k->kek, key, wrapped, &wlen);
	if (rv) {
		snprintf(why, sizeof(why), "C_WrapKey: 0x%lx", (unsigned long)rv);
		goto out;
	}
	vl = ossl_unwrap_pad(w->k->kek_val, wrapped, (int)wlen, val);
	if (vl != 32) {
		rv = wrong("AES-KWP: OpenSSL cannot unwrap the %lu bytes the card wrapped",
			   (unsigned long)wlen);
		goto out;
	}
	rv = p11->C_EncryptInit(w->s, &mcbc, key);
	if (!rv)
		rv = p11->C_Encrypt(w->s, pt, len, ct, &n);
	if (rv) {
		snprintf(why, sizeof(why), "encrypt with the generated key: 0x%lx",
			 (unsigned long)rv);
		goto out;
	}
	rl = ossl_encrypt(EVP_aes_256_cbc(), val, iv, NULL, 0, pt, (int)len, ref);
	if (rl < 0 || (CK_ULONG)rl != n || memcmp(ref, ct, n)) {
		rv = wrong("the generated key encrypts other than its wrapped value");
		goto out;
	}
	rv = p11->C_UnwrapKey(w->s, &mkw, w->k->kek, wrapped, wlen, unw,
			      sizeof(unw) / sizeof(unw[0]), &key2);
	if (!rv)
		rv = p11->C_DecryptInit(w->s, &mcbc, key2);
	if (!rv)
		rv = p11->C_Decrypt(w->s, ct, n, back, &bn);
	if (rv) {
		snprintf(why, sizeof(why), "unwrap + decrypt: 0x%lx", (unsigned long)rv);
		goto out;
	}
	if (bn != len || memcmp(back, pt, len))
		rv = wrong("the unwrapped key decrypts %lu bytes, not the %zu encrypted",
			   (unsigned long)bn, len);
out:
	OPENSSL_cleanse(val, sizeof(val));
	/* Session objects: destroyed here; an error leaves them to C_Finalize. */
	if (key2 != CK_INVALID_HANDLE)
		p11->C_DestroyObject(w->s, key2);
	if (key != CK_INVALID_HANDLE)
		p11->C_DestroyObject(w->s, key);
	return rv;
}

static CK_RV op_random(struct worker *w)
{
	static const uint8_t zero[64];
	uint8_t buf[1024];
	size_t len = 16 + rnd(&w->seed) % (sizeof(buf) - 16);

	CK(C_GenerateRandom, w->s, buf, len);
	if (!memcmp(buf, zero, 16))
		return wrong("C_GenerateRandom: 16 zero bytes");
	if (!memcmp(buf, w->last_random, 16))
		return wrong("C_GenerateRandom: the same bytes twice");
	memcpy(w->last_random, buf, 16);
	return CKR_OK;
}

static CK_RV op_eckey(struct worker *w)
{
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
			       {CKA_TOKEN, &f, sizeof(f)},
			       {CKA_VERIFY, &t, sizeof(t)}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &f, sizeof(f)}, {CKA_SIGN, &t, sizeof(t)}};
	CK_MECHANISM mg = {CKM_EC_KEY_PAIR_GEN, NULL, 0}, ms = {CKM_ECDSA_SHA256, NULL, 0};
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	uint8_t msg[256], sig[132];
	CK_ULONG sig_len = sizeof(sig);
	size_t len = rnd_len(&w->seed, sizeof(msg));
	EVP_PKEY *pk = NULL;
	CK_RV rv;

	rnd_bytes(&w->seed, msg, len);
	CK(C_GenerateKeyPair, w->s, &mg, pubt, 3, privt, 2, &pub, &priv);
	rv = ec_pub_of(w->s, pub, &pk);
	if (!rv)
		rv = card_sign(w, &ms, priv, msg, len, sig, &sig_len);
	if (!rv && !ossl_verify(pk, "SHA256", msg, len, sig, sig_len, true))
		rv = wrong("a fresh P-256 key's signature does not verify");
	EVP_PKEY_free(pk);
	p11->C_DestroyObject(w->s, priv);
	p11->C_DestroyObject(w->s, pub);
	return rv;
}

static CK_RV (*const ops[F_NR])(struct worker *) = {
    [F_RSA] = op_rsa,	[F_EC] = op_ec,		[F_CBC] = op_cbc,
    [F_GCM] = op_gcm,	[F_DIGEST] = op_digest, [F_HMAC] = op_hmac,
    [F_WRAP] = op_wrap, [F_RANDOM] = op_random, [F_ECKEY] = op_eckey,
};

/* ---- clients --------------------------------------------------------------- */

static uint64_t deadline_ms;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->st.deverr_min_ms = UINT64_MAX;
	while (!stopping && mono_ms() < deadline_ms) {
		enum fam f = (enum fam)opt.fams[rnd(&w->seed) % opt.nfams];
		unsigned int e0 = atomic_load(&sh->epoch);
		int o0 = atomic_load(&sh->outage);
		uint64_t t0 = mono_ms(), ms;
		CK_RV rv;
		bool in_outage;

		why[0] = '\0';
		rv = ops[f](w);
		ms = mono_ms() - t0;
		if (ms > w->st.lat_max_ms)
			w->st.lat_max_ms = ms;
		if (opt.pace_ms)
			usleep(opt.pace_ms * 1000);
		if (rv == CKR_OK) {
			w->st.ops[f]++;
			continue;
		}
		in_outage = o0 || atomic_load(&sh->outage) || atomic_load(&sh->epoch) != e0;
		if (in_outage && rv == CKR_DEVICE_ERROR && ms >= opt.hold_ms * 3 / 4) {
			w->st.outage_deverr++;
			if (ms < w->st.deverr_min_ms)
				w->st.deverr_min_ms = ms;
		} else if (in_outage && rv == CKR_TOKEN_NOT_PRESENT) {
			w->st.outage_notpresent++;
			usleep(20000); /* nothing to do until a member returns */
		} else {
			w->st.errors++;
			note("thread %d: %s: %s (%s, after %" PRIu64 " ms)", w->index, fam_name[f],
			     why, in_outage ? "during the outage" : "a member was online", ms);
			if (in_outage)
				usleep(20000);
		}
	}
	return NULL;
}

static CK_RV first_slot(CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;

	CK(C_GetSlotList, CK_TRUE, slots, &n);
	if (!n)
		return wrong("no slot with a token");
	*slot = slots[0];
	return CKR_OK;
}

static CK_RV load_module(void)
{
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	char err[512];

	if (p11_load(opt.module, err, sizeof(err)))
		return wrong("%s", err);
	CK(C_Initialize, &init);
	return CKR_OK;
}

static void client_main(int index, int out)
{
	struct worker *w = calloc(opt.threads, sizeof(*w));
	pthread_t *tids = calloc(opt.threads, sizeof(*tids));
	struct stats total = {.deverr_min_ms = UINT64_MAX};
	uint64_t seed = opt.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)index * 7919 + 1;
	struct keys k = {0};
	CK_SLOT_ID slot;
	CK_RV rv;

	proc_index = index;
	if (!w || !tids)
		_exit(1);
	rv = load_module();
	if (!rv)
		rv = first_slot(&slot);
	for (unsigned int i = 0; !rv && i < opt.threads; i++) {
		w[i].k = &k;
		w[i].index = (int)i;
		w[i].seed = seed ^ ((uint64_t)(i + 1) << 40);
		rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					&w[i].s);
		if (rv)
			snprintf(why, sizeof(why), "C_OpenSession: 0x%lx", (unsigned long)rv);
	}
	if (!rv) {
		rv = p11->C_Login(w[0].s, CKU_USER, (CK_UTF8CHAR_PTR)opt.pin, strlen(opt.pin));
		if (rv)
			snprintf(why, sizeof(why), "C_Login: 0x%lx", (unsigned long)rv);
	}
	if (!rv)
		rv = keys_load(w[0].s, &k, &seed);
	if (rv) {
		note("setup: %s", why);
		total.errors++;
	} else {
		total.setup_ok = 1;
		for (unsigned int i = 0; i < opt.threads; i++)
			if (pthread_create(&tids[i], NULL, worker_main, &w[i])) {
				total.errors++;
				tids[i] = 0;
			}
		for (unsigned int i = 0; i < opt.threads; i++) {
			if (!tids[i])
				continue;
			pthread_join(tids[i], NULL);
			for (int f = 0; f < F_NR; f++)
				total.ops[f] += w[i].st.ops[f];
			total.errors += w[i].st.errors;
			total.outage_deverr += w[i].st.outage_deverr;
			total.outage_notpresent += w[i].st.outage_notpresent;
			if (w[i].st.deverr_min_ms < total.deverr_min_ms)
				total.deverr_min_ms = w[i].st.deverr_min_ms;
			if (w[i].st.lat_max_ms > total.lat_max_ms)
				total.lat_max_ms = w[i].st.lat_max_ms;
		}
	}
	if (p11) {
		/* Logout and close are checked: they must work after any chaos. */
		if (total.setup_ok && (rv = p11->C_Logout(w[0].s)) != CKR_OK) {
			note("C_Logout at the end: 0x%lx", (unsigned long)rv);
			total.errors++;
		}
		if ((rv = p11->C_CloseAllSessions(slot)) != CKR_OK && total.setup_ok) {
			note("C_CloseAllSessions at the end: 0x%lx", (unsigned long)rv);
			total.errors++;
		}
		p11->C_Finalize(NULL);
	}
	EVP_PKEY_free(k.rsa_pub);
	EVP_PKEY_free(k.ec_pub);
	OPENSSL_cleanse(&k, sizeof(k));
	if (write(out, &total, sizeof(total)) != (ssize_t)sizeof(total))
		_exit(1);
	_exit(0);
}

/* ---- setup ----------------------------------------------------------------- */

static int do_setup(void)
{
	static const char label[32] = "chaos                           ";
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ULONG bits = 2048;
	uint8_t e[] = {1, 0, 1};
	CK_ATTRIBUTE rpub[] = {{CKA_TOKEN, &t, 1},
			       {CKA_VERIFY, &t, 1},
			       {CKA_MODULUS_BITS, &bits, sizeof(bits)},
			       {CKA_PUBLIC_EXPONENT, e, sizeof(e)},
			       {CKA_LABEL, "chaos-rsa", 9}};
	CK_ATTRIBUTE rpriv[] = {{CKA_TOKEN, &t, 1},	  {CKA_PRIVATE, &t, 1},
				{CKA_SIGN, &t, 1},	  {CKA_SENSITIVE, &t, 1},
				{CKA_EXTRACTABLE, &f, 1}, {CKA_LABEL, "chaos-rsa", 9}};
	CK_ATTRIBUTE epub[] = {{CKA_TOKEN, &t, 1},
			       {CKA_VERIFY, &t, 1},
			       {CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
			       {CKA_LABEL, "chaos-ec", 8}};
	CK_ATTRIBUTE epriv[] = {{CKA_TOKEN, &t, 1},	  {CKA_PRIVATE, &t, 1},
				{CKA_SIGN, &t, 1},	  {CKA_SENSITIVE, &t, 1},
				{CKA_EXTRACTABLE, &f, 1}, {CKA_LABEL, "chaos-ec", 8}};
	CK_MECHANISM mr = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0}, me = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE h1, h2;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot;
	CK_RV rv;

	if ((rv = load_module()) || (rv = first_slot(&slot)))
		goto fail;
#define SETUP(call, ...)                                                                           \
	do {                                                                                       \
		rv = p11->call(__VA_ARGS__);                                                       \
		if (rv) {                                                                          \
			snprintf(why, sizeof(why), "%s: 0x%lx", #call, (unsigned long)rv);         \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)
	SETUP(C_InitToken, slot, (CK_UTF8CHAR_PTR)opt.so_pin, strlen(opt.so_pin),
	      (CK_UTF8CHAR_PTR)label);
	SETUP(C_OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	SETUP(C_Login, s, CKU_SO, (CK_UTF8CHAR_PTR)opt.so_pin, strlen(opt.so_pin));
	SETUP(C_InitPIN, s, (CK_UTF8CHAR_PTR)opt.pin, strlen(opt.pin));
	SETUP(C_Logout, s);
	SETUP(C_Login, s, CKU_USER, (CK_UTF8CHAR_PTR)opt.pin, strlen(opt.pin));
	SETUP(C_GenerateKeyPair, s, &mr, rpub, 5, rpriv, 6, &h1, &h2);
	SETUP(C_GenerateKeyPair, s, &me, epub, 4, epriv, 6, &h1, &h2);
	SETUP(C_Logout, s);
	SETUP(C_CloseSession, s);
	SETUP(C_Finalize, NULL);
#undef SETUP
	printf("chaos: token initialised, keys chaos-rsa (RSA-2048) and chaos-ec (P-256)\n");
	return 0;
fail:
	fprintf(stderr, "hsmg-chaos: setup: %s\n", why);
	return 1;
}

/* ---- parent ---------------------------------------------------------------- */

static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGUSR1 || sig == SIGUSR2) {
		atomic_store(&sh->outage, sig == SIGUSR1);
		atomic_fetch_add(&sh->epoch, 1);
	} else {
		stopping = 1;
		for (unsigned int i = 0; i < nkids; i++)
			if (kids[i] > 0)
				kill(kids[i], SIGTERM);
	}
	errno = saved;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int parse_families(char *list)
{
	char *save = NULL;

	opt.nfams = 0;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned int f;

		for (f = 0; f < F_NR && strcmp(t, fam_name[f]); f++)
			;
		if (f == F_NR || opt.nfams == F_NR)
			return -1;
		opt.fams[opt.nfams++] = f;
	}
	return opt.nfams ? 0 : -1;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: hsmg-chaos --module SO --setup --pin PIN --so-pin PIN\n"
	    "       hsmg-chaos --module SO --pin PIN [--procs N] [--threads T] [--seed S]\n"
	    "                  [--duration S] [--hold-ms MS] [--pace-ms MS] [--families F,F...]\n"
	    "  families: rsa ec cbc gcm digest hmac wrap random eckey (default: all)\n"
	    "  SIGUSR1: an outage begins, SIGUSR2: it ends, SIGTERM: stop and report\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"module", 1, NULL, 'm'},  {"pin", 1, NULL, 'p'},	   {"so-pin", 1, NULL, 'P'},
	    {"setup", 0, NULL, 'S'},   {"procs", 1, NULL, 'n'},	   {"threads", 1, NULL, 't'},
	    {"seed", 1, NULL, 's'},    {"duration", 1, NULL, 'd'}, {"hold-ms", 1, NULL, 'H'},
	    {"pace-ms", 1, NULL, 'r'}, {"families", 1, NULL, 'f'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	struct stats total = {.deverr_min_ms = UINT64_MAX};
	unsigned int lost = 0, setup_failed = 0;
	uint64_t t0 = mono_ms(), all = 0;
	int *fds, c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			opt.module = optarg;
			break;
		case 'p':
			opt.pin = optarg;
			break;
		case 'P':
			opt.so_pin = optarg;
			break;
		case 'S':
			opt.setup = true;
			break;
		case 'n':
			opt.procs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt.threads = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			opt.duration_s = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'H':
			opt.hold_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			opt.pace_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'f':
			if (parse_families(optarg))
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !opt.module || !opt.pin || (opt.setup && !opt.so_pin) || !opt.procs ||
	    opt.procs > 256 || !opt.threads || opt.threads > 64 || !opt.duration_s)
		usage();
	if (opt.setup)
		return do_setup();
	for (unsigned int f = 0; !opt.nfams && f < F_NR; f++)
		opt.fams[f] = f;
	if (!opt.nfams)
		opt.nfams = F_NR;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kids = calloc(opt.procs, sizeof(*kids));
	fds = calloc(opt.procs, sizeof(*fds));
	if (sh == MAP_FAILED || !kids || !fds)
		return 1;
	atomic_init(&sh->outage, 0);
	atomic_init(&sh->epoch, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	deadline_ms = t0 + (uint64_t)opt.duration_s * 1000;
	fflush(NULL);
	for (unsigned int i = 0; i < opt.procs; i++) {
		int p[2];

		if (pipe(p)) {
			perror("hsmg-chaos: pipe");
			return 1;
		}
		kids[i] = fork();
		if (kids[i] < 0) {
			perror("hsmg-chaos: fork");
			return 1;
		}
		if (kids[i] == 0) {
			/* The parent's SIGTERM handler forwards; ours only stops. */
			nkids = 0;
			close(p[0]);
			for (unsigned int j = 0; j < i; j++)
				close(fds[j]);
			client_main((int)i, p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
		nkids = i + 1;
	}
	for (unsigned int i = 0; i < opt.procs; i++) {
		struct stats st;

		if (read_full(fds[i], &st, sizeof(st))) {
			fprintf(stderr, "hsmg-chaos: client %u died without a report\n", i);
			lost++;
		} else {
			for (int f = 0; f < F_NR; f++)
				total.ops[f] += st.ops[f];
			total.errors += st.errors;
			total.outage_deverr += st.outage_deverr;
			total.outage_notpresent += st.outage_notpresent;
			if (st.deverr_min_ms < total.deverr_min_ms)
				total.deverr_min_ms = st.deverr_min_ms;
			if (st.lat_max_ms > total.lat_max_ms)
				total.lat_max_ms = st.lat_max_ms;
			if (!st.setup_ok)
				setup_failed++;
		}
		close(fds[i]);
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	nkids = 0;
	for (int f = 0; f < F_NR; f++)
		all += total.ops[f];
	printf("chaos: procs=%u threads=%u seed=%" PRIu64 " elapsed_ms=%" PRIu64 "\n", opt.procs,
	       opt.threads, opt.seed, mono_ms() - t0);
	printf("chaos: ops=%" PRIu64 " errors=%" PRIu64 " lost_clients=%u setup_failed=%u"
	       " latency_max_ms=%" PRIu64 "\n",
	       all, total.errors + lost, lost, setup_failed, total.lat_max_ms);
	printf("chaos: outage_device_error=%" PRIu64 " outage_token_not_present=%" PRIu64
	       " outage_device_error_min_ms=%" PRIu64 "\n",
	       total.outage_deverr, total.outage_notpresent,
	       total.outage_deverr ? total.deverr_min_ms : 0);
	printf("chaos: verified");
	for (int f = 0; f < F_NR; f++)
		printf(" %s=%" PRIu64, fam_name[f], total.ops[f]);
	printf("\n");
	if (total.errors + lost + setup_failed || !all) {
		printf("chaos: FAIL\n");
		return 1;
	}
	printf("chaos: PASS\n");
	return 0;
}
