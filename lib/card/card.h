/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card - the coprocessor card's request processing, without any I/O:
 * given the master key, a backend request header (struct hsmg_be_req) and
 * its payload, produce a transport status and an answer.  hsmsimd feeds it
 * from /dev/hsmgroup-backend; tests/unit/test_card.c calls it directly.
 *
 * Secrets derived from the 32-byte master key MK (HKDF-SHA256, no salt,
 * info = label):
 *   "hsmsimd v1 mkvp"       -> X; MKVP = SHA-256(X).  MK never leaves the card.
 *   "hsmsimd v1 key-wrap"   -> AES-256-GCM key of key blobs
 *   "hsmsimd v1 state-wrap" -> AES-256-GCM key of state blobs
 *   "hsmsimd v1 pin-blob"   -> HMAC-SHA256 key of pin-blobs
 *
 * Sessions (HSMG_BE_REQ_LOGIN/LOGOUT).  The session table belongs to the
 * card object (one per hsmsimd process) and records, per session id, the
 * local queues it is logged in on:
 *   pin-blob     = HMAC(pin key, "pin-blob" || u64 session || u32 login flags
 *                  || u32 pin_len || pin || u32 cardpin_len || cardpin)
 *   card-PIN blob = HMAC(pin key, "card-pin" || u32 cardpin_len || cardpin)
 * Equal on every card with the same master key.  LOGIN of a session already
 * logged in on that queue replaces its entry (idempotent re-login); LOGOUT of
 * an unknown session is a no-op success.  The session quota is PER QUEUE
 * (matching max_sessions of the attach): a LOGIN that would make a queue
 * hold more than the quota answers HSMG_BE_QUOTA.  Malformed LOGIN payloads,
 * session id 0, or a VHSM user session without a card-PIN: HSMG_BE_BADREQ.
 *
 * Key blob (opaque to the host; "HSKB" v1), 128-byte header used as AAD:
 *   magic, version, kind (AES / EC private / RSA private / generic secret),
 *   struct hsmg_msg_key_attrs, binding bits, secret length, session
 *   pin-blob (or zeros), card-PIN blob (or zeros), 12-byte random IV; then
 *   AES-256-GCM(secret), 16-byte tag.  Secret: AES or generic secret key
 *   bytes; EC: the private scalar (order length: 32/48/66) followed by the
 *   uncompressed public point (curve in attrs.curve); RSA: the PKCS#1
 *   RSAPrivateKey DER (modulus bits in attrs.value_len).  Any decode or
 *   authentication failure (tampered, truncated, other master key, a kind
 *   that does not match its attributes): CKR_KEY_HANDLE_INVALID.
 *
 * Binding (reference 003: EP11 strict session and VHSM modes):
 *   - a key generated in a logged-in user session with HSMG_SESSION_STRICT,
 *     without HSMG_KEY_TOKEN, is bound to that session's pin-blob;
 *   - a key generated in a logged-in user session with HSMG_SESSION_VHSM is
 *     bound to the card-PIN blob (session and token keys alike);
 *   - public (not logged in) and SO sessions bind nothing (as EP11).
 *   Using a bound key in a request whose session is not logged in on this
 *   queue: CKR_USER_NOT_LOGGED_IN.  Logged in, but another pin-blob or
 *   card-PIN: CKR_KEY_HANDLE_INVALID.
 *
 * State blob ("HSSB" v1): header (magic, version, kind, mechanism, session
 * id of the request, IV) as AAD, AES-256-GCM(state), tag.  Kinds: digest
 * (a hashstate.c state), encrypt / decrypt (SHA-256 of the key blob + an
 * aesmode.c struct aes_state), sign / verify (SHA-256 of the key blob or
 * public key + hash, HMAC-inner or CMAC state + PSS/MAC-length params).
 * Fixed size per kind: nothing of the data accumulates.  Bound to the
 * kind, the mechanism in the request header, the request's session id
 * and (keyed kinds) the key; any mismatch or tamper:
 * CKR_SAVED_STATE_INVALID.
 */
#ifndef HSMSIMD_CARD_H
#define HSMSIMD_CARD_H

#include <stddef.h>
#include <stdint.h>

#include <linux/hsmgroup.h>
#include "hsmgroup_msg.h"

/** HSMG_CARD_MK_LEN - master key length. */
#define HSMG_CARD_MK_LEN 32
/** HSMG_CARD_MAX_QUEUES - most queues one card object serves. */
#define HSMG_CARD_MAX_QUEUES 256

struct hsmg_card;

/**
 * struct hsmg_card_result - outcome of hsmg_card_process().
 * @status: enum hsmg_be_status for the completion.
 * @len: answer bytes (only for HSMG_BE_OK).
 * @rv: CKR_* of a crypto answer (0 otherwise); for statistics.
 */
struct hsmg_card_result {
	uint32_t status;
	uint32_t len;
	uint64_t rv;
};

/* Create a card for @nqueues queues (1..HSMG_CARD_MAX_QUEUES) with per-queue
 * session @quota (0 = unlimited).  NULL on failure. */
struct hsmg_card *hsmg_card_new(const uint8_t mk[HSMG_CARD_MK_LEN], unsigned int nqueues,
				unsigned int quota);
/* The same with the crypto backend @be (backend.h) made from @arg;
 * hsmg_card_new() uses OpenSSL's. */
struct hsmg_card_backend;
struct hsmg_card *hsmg_card_new_backend(const struct hsmg_card_backend *be, const void *arg,
					const uint8_t mk[HSMG_CARD_MK_LEN], unsigned int nqueues,
					unsigned int quota);
/* The mechanisms (CKM_*) the card does: at most @max into @types; returns
 * how many it does. */
size_t hsmg_card_mechanisms(const struct hsmg_card *card, uint64_t *types, size_t max);
/* Wipe every secret and session and free. */
void hsmg_card_free(struct hsmg_card *card);

void hsmg_card_mkvp(const struct hsmg_card *card, uint8_t mkvp[HSMG_MKVP_LEN]);
void hsmg_card_set_quota(struct hsmg_card *card, unsigned int quota);
unsigned int hsmg_card_quota(const struct hsmg_card *card);

/**
 * hsmg_card_process() - serve one request on local queue @queue.
 * @req: header as fetched; @payload: @req->len bytes.
 * @ans: answer buffer of @ans_cap bytes (HSMG_MAX_MSG_SIZE to never fail
 *	for size; a smaller buffer makes big answers CKR_DATA_LEN_RANGE).
 * Thread-safe; any number of threads may call it at once.
 */
void hsmg_card_process(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		       const void *payload, void *ans, size_t ans_cap,
		       struct hsmg_card_result *res);

/* Live sessions: distinct ids (@queue < 0) or those logged in on @queue. */
unsigned int hsmg_card_sessions(struct hsmg_card *card, int queue);
/* Copy up to @max distinct live session ids; returns how many exist. */
size_t hsmg_card_session_ids(struct hsmg_card *card, uint64_t *ids, size_t max);
/* Log every session out of @queue (the queue detached). */
void hsmg_card_drop_queue(struct hsmg_card *card, unsigned int queue);
/** HSMG_CARD_KEY_CACHE_DEFAULT - parsed private keys a new card keeps. */
#define HSMG_CARD_KEY_CACHE_DEFAULT 64
/** HSMG_CARD_KEY_CACHE_MAX - most entries hsmg_card_set_key_cache() takes. */
#define HSMG_CARD_KEY_CACHE_MAX 4096

/**
 * struct hsmg_card_cache_stats - the parsed-key cache of a card.
 * @capacity: entries it may hold (0: no cache).
 * @entries: entries held now.
 * @hits: requests whose private key came parsed from the cache.
 * @misses: requests that unsealed and parsed their key (while a cache exists).
 */
struct hsmg_card_cache_stats {
	unsigned int capacity;
	unsigned int entries;
	uint64_t hits;
	uint64_t misses;
};

/*
 * Keep up to @entries parsed private keys (EC, RSA), least recently used
 * out first: a request naming a key blob byte for byte identical to one
 * that opened before skips unsealing and parsing it (binding, kind and
 * usage are checked on every request).  0 turns the cache off.  Every
 * entry is dropped (and the counters start again) now, every entry on a
 * master key change, and by hsmg_card_free().
 * 0, or -1 (@entries above HSMG_CARD_KEY_CACHE_MAX, or no memory).
 */
int hsmg_card_set_key_cache(struct hsmg_card *card, unsigned int entries);
void hsmg_card_key_cache_stats(struct hsmg_card *card, struct hsmg_card_cache_stats *st);

/*
 * Replace the master key: @mk, or NULL to zeroise (no master key, MKVP all
 * zero, every secret wiped).  Every session ends.  The caller keeps other
 * threads out of hsmg_card_process() meanwhile.  0, or -1 (nothing changed).
 */
int hsmg_card_set_mk(struct hsmg_card *card, const uint8_t *mk);

/*
 * The card's rule for failed logins with an authentication record: at
 * @max_failures (1..1000; 10 by default) failed logins of a token and user
 * the card refuses its logins (HSMG_BE_PIN_LOCKED) until a new PIN is set.
 * @path: a file (the card's, 0600) that keeps the count across restarts,
 * read now (a missing file is an empty count) and written at each change;
 * NULL keeps the count in memory only.  0, or -1 (bad value, or a file
 * that cannot be read: nothing changed).
 */
#define HSMG_CARD_PIN_MAX_FAILURES_DEFAULT 10
int hsmg_card_set_pin_policy(struct hsmg_card *card, unsigned int max_failures, const char *path);
/* The card's count of failed logins of @token and @user (HSMG_AUTH_*). */
unsigned int hsmg_card_pin_failures(struct hsmg_card *card, const uint8_t token[16],
				    unsigned int user);

#endif
