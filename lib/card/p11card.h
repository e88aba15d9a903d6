/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p11card - a card whose crypto is a vendor token reached through the
 * vendor's PKCS#11 library (hsmp11d serves one per queue).
 *
 * The group key is an AES-256 key object on every member token, with
 * CKA_WRAP and CKA_UNWRAP, not extractable, put there by the vendor's own
 * means (cloning, Security World, cluster sync) and named by its label.
 * The token wraps a fixed value under it (CKM_AES_KEY_WRAP_PAD, else
 * CKM_AES_KEY_WRAP: deterministic, so equal on every token holding the
 * same key); HKDF of that check value gives the MKVP and the working
 * secrets of the card core (seals of key and state blobs, pin-blob MACs)
 * exactly as the master key does on the emulated card.  A token without
 * the key, or with a differing one, never joins the group.
 *
 * Keys: generated in the token as session objects (sensitive, extractable
 * only under a trusted key where the token has CKA_WRAP_WITH_TRUSTED),
 * wrapped under the group key with CKM_AES_KEY_WRAP_PAD (else
 * CKM_AES_CBC_PAD with a random IV; the mechanism is recorded in the
 * blob) and destroyed; the wrapped value (plus the public key of a pair)
 * is the secret of an ordinary key blob, so the blob header (kind,
 * attributes, usage, binding) is authenticated with it.  At use the blob
 * is unwrapped into a session object (not a token object, sensitive, not
 * extractable, usage as the blob says) whose handle is kept in a bounded
 * LRU cache keyed by the blob's bytes: a hot key costs one token call.
 * No clear key leaves the token; nothing is written to its storage.
 *
 * Digests are computed by the card process (nothing secret); multi-part
 * signatures hash in the state blob and have the token sign the hash, so
 * they continue on another member.  Verification with a public key runs
 * on the host too.
 */
#ifndef HSMG_LIB_CARD_P11CARD_H
#define HSMG_LIB_CARD_P11CARD_H

#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include <p11-kit/pkcs11.h>

struct hsmg_card;

/**
 * struct hsmg_p11_conf - one member token.
 * @module: path of the vendor's PKCS#11 library.
 * @token: the token's label or serial number.
 * @pin: the user PIN (copied; the caller wipes its own).
 * @wrap_label: CKA_LABEL of the group key on the token.
 * @sessions: token sessions kept open (the most requests in flight).
 * @err, @err_len: receives the reason when hsmg_card_new_p11() fails.
 */
struct hsmg_p11_conf {
	const char *module;
	const char *token;
	const char *pin;
	const char *wrap_label;
	unsigned int sessions;
	char *err;
	size_t err_len;
};

/* A card over the token @conf names, serving @nqueues queues with session
 * @quota; NULL with the reason in @conf->err. */
struct hsmg_card *hsmg_card_new_p11(const struct hsmg_p11_conf *conf, unsigned int nqueues,
				    unsigned int quota);

/*
 * The token's health: CKR_OK, or the return value of the call that found
 * it failed (CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
 * CKR_SESSION_HANDLE_INVALID, ...).  Requests on a failed token answer
 * CKR_DEVICE_ERROR until hsmg_card_p11_reset() succeeds.
 */
CK_RV hsmg_card_p11_health(struct hsmg_card *card);
/* Mark the token failed with @rv (a caller that saw a call hang). */
void hsmg_card_p11_fail(struct hsmg_card *card, CK_RV rv);
/*
 * Start again with the token: close its sessions, open new ones, log in,
 * find the group key and check that its check value is unchanged, empty
 * the handle cache.  0; 1 when the token's key under the group key's label
 * is another key now (@mkvp: the MKVP it gives; the card stays failed);
 * -1 with the reason in @err.
 */
int hsmg_card_p11_reset(struct hsmg_card *card, uint8_t mkvp[HSMG_MKVP_LEN], char *err,
			size_t err_len);

#endif /* HSMG_LIB_CARD_P11CARD_H */
