/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The card operations of hsmg-load, built with the message codec
 * (lib/msg/hsmg_msg.h).  Each returns 0, a negative errno of the SUBMIT
 * ioctl, a positive CKR_* value the card returned, or LOAD_E_* for an
 * answer that is not what the format promises.
 */
#ifndef HSMG_TEST_LOADOPS_H
#define HSMG_TEST_LOADOPS_H

#include <stddef.h>
#include <stdint.h>

#define LOAD_MAX_SIG  256
#define LOAD_MAX_PUB  256
#define LOAD_MAX_BLOB 2048
/* What load_gcm_encrypt() adds: IV, AAD and tag travel with the ciphertext. */
#define LOAD_GCM_IV	  12
#define LOAD_GCM_AAD	  16
#define LOAD_GCM_TAG	  16
#define LOAD_GCM_OVERHEAD (LOAD_GCM_IV + LOAD_GCM_AAD + LOAD_GCM_TAG)

/* Answers that break the format: below any -errno. */
#define LOAD_E_DECODE	(-100000) /* minus hsmg_msg error */
#define LOAD_E_MISMATCH (-200000) /* op/mechanism not echoed, TLV missing or too big */

/**
 * struct load_keys - one client's key blobs.
 * @ec_priv: EC P-256 private key blob.
 * @ec_priv_len: its length.
 * @aes: AES-256 key blob.
 * @aes_len: its length.
 */
struct load_keys {
	uint8_t ec_priv[LOAD_MAX_BLOB];
	size_t ec_priv_len;
	uint8_t aes[LOAD_MAX_BLOB];
	size_t aes_len;
};

/* Provided by the caller (load.c): one counted SUBMIT; 0 or -errno. */
int load_submit(void *ctx, uint32_t op_class, const void *req, size_t req_len, void *resp,
		size_t resp_cap, size_t *resp_len);

long load_gen_ec(void *ctx, struct load_keys *k, uint8_t *pub, size_t *pub_len);
long load_gen_aes(void *ctx, struct load_keys *k);
long load_sign(void *ctx, const struct load_keys *k, const uint8_t dig[32], uint8_t *sig,
	       size_t *sig_len);
long load_gcm_encrypt(void *ctx, const struct load_keys *k, const uint8_t *pt, size_t pt_len,
		      uint8_t *ct, size_t *ct_len);
long load_gcm_decrypt(void *ctx, const struct load_keys *k, const uint8_t *ct, size_t ct_len,
		      uint8_t *pt, size_t *pt_len);
void load_keys_free(struct load_keys *k);
const char *load_strerror(long err);

#endif /* HSMG_TEST_LOADOPS_H */
