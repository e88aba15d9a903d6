// SPDX-License-Identifier: GPL-2.0
/*
 * core - the card object, its sessions and pin-blobs, and the dispatch of
 * each request (see card_int.h for the cut between core and backend).
 */
#include "card_int.h"

static bool sess_on(const struct sess *s, unsigned int queue)
{
	return s->queues[queue / 64] & (1ULL << (queue % 64));
}

static void sess_mark(struct sess *s, unsigned int queue, bool on)
{
	if (sess_on(s, queue) == on)
		return;
	s->queues[queue / 64] ^= 1ULL << (queue % 64);
	if (on)
		s->nlogged++;
	else
		s->nlogged--;
}

/* --------------------------------------------------------------- card */

/* The index of @type in the mechanism table, or -1. */
static ptrdiff_t mech_index(uint64_t type)
{
	const struct hsmg_mech *m = hsmg_mech_find(type);

	return m ? m - hsmg_mech_at(0) : -1;
}

/* Which entries of the mechanism table the backend does. */
static int mech_load(struct hsmg_card *card)
{
	size_t n = hsmg_mech_count(), got, i;
	uint64_t *types = calloc(n, sizeof(*types));
	ptrdiff_t k;

	card->mech_ok = calloc(n, sizeof(*card->mech_ok));
	if (!types || !card->mech_ok) {
		free(types);
		return -1;
	}
	got = card->be->mechanisms(card->bs, types, n);
	for (i = 0; i < got && i < n; i++) {
		k = mech_index(types[i]);
		if (k >= 0)
			card->mech_ok[k] = true;
	}
	free(types);
	return 0;
}

static bool mech_ok(const struct hsmg_card *card, uint64_t type)
{
	ptrdiff_t k = mech_index(type);

	return k >= 0 && card->mech_ok[k];
}

size_t hsmg_card_mechanisms(const struct hsmg_card *card, uint64_t *types, size_t max)
{
	size_t i, k = 0, n = hsmg_mech_count();

	for (i = 0; i < n; i++) {
		if (!card->mech_ok[i])
			continue;
		if (k < max)
			types[k] = hsmg_mech_at(i)->type;
		k++;
	}
	return k;
}

struct hsmg_card *hsmg_card_new(const uint8_t mk[HSMG_CARD_MK_LEN], unsigned int nqueues,
				unsigned int quota)
{
	return hsmg_card_new_backend(&hsmg_card_backend_openssl, NULL, mk, nqueues, quota);
}

struct hsmg_card *hsmg_card_new_backend(const struct hsmg_card_backend *be, const void *arg,
					const uint8_t mk[HSMG_CARD_MK_LEN], unsigned int nqueues,
					unsigned int quota)
{
	struct hsmg_card *card;

	if (nqueues < 1 || nqueues > HSMG_CARD_MAX_QUEUES)
		return NULL;
	card = calloc(1, sizeof(*card));
	if (!card)
		return NULL;
	card->nqueues = nqueues;
	card->quota = quota;
	pthread_mutex_init(&card->lock, NULL);
	pthread_mutex_init(&card->pin_lock, NULL);
	card->pin_max = HSMG_CARD_PIN_MAX_FAILURES_DEFAULT;
	card->be = be;
	card->bs = card->be->create(arg);
	if (!card->bs || mech_load(card) ||
	    hsmg_card_set_key_cache(card, HSMG_CARD_KEY_CACHE_DEFAULT)) {
		hsmg_card_free(card);
		return NULL;
	}
	/* The master key's secrets, derived as a change of master key does. */
	if (hsmg_card_set_mk(card, mk)) {
		hsmg_card_free(card);
		return NULL;
	}
	return card;
}

static void sess_free(struct sess *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void hsmg_card_free(struct hsmg_card *card)
{
	unsigned int i;
	struct sess *s, *n;

	if (!card)
		return;
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = n) {
			n = s->next;
			sess_free(s);
		}
	}
	if (card->bs)
		card->be->destroy(card->bs);
	free(card->mech_ok);
	free(card->pinc);
	free(card->pinc_path);
	pthread_mutex_destroy(&card->pin_lock);
	pthread_mutex_destroy(&card->lock);
	OPENSSL_cleanse(card, sizeof(*card));
	free(card);
}

void hsmg_card_mkvp(const struct hsmg_card *card, uint8_t mkvp[HSMG_MKVP_LEN])
{
	memcpy(mkvp, card->mkvp, HSMG_MKVP_LEN);
}

void hsmg_card_set_quota(struct hsmg_card *card, unsigned int quota)
{
	__atomic_store_n(&card->quota, quota, __ATOMIC_RELAXED);
}

unsigned int hsmg_card_quota(const struct hsmg_card *card)
{
	return __atomic_load_n(&card->quota, __ATOMIC_RELAXED);
}

/* ----------------------------------------------------------- sessions */

static unsigned int bucket_of(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (unsigned int)(id % SESS_BUCKETS);
}

/* Called with the lock held. */
static struct sess **sess_slot(struct hsmg_card *card, uint64_t id)
{
	struct sess **pp = &card->buckets[bucket_of(id)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

void card_login_lookup(struct hsmg_card *card, unsigned int queue, uint64_t id,
		       struct login_view *lv)
{
	struct sess *s;

	memset(lv, 0, sizeof(*lv));
	if (!id)
		return;
	pthread_mutex_lock(&card->lock);
	s = *sess_slot(card, id);
	if (s && sess_on(s, queue)) {
		lv->logged_in = true;
		lv->login_flags = s->login_flags;
		lv->has_cardpin = s->has_cardpin;
		memcpy(lv->pin_blob, s->pin_blob, sizeof(lv->pin_blob));
		memcpy(lv->cardpin_blob, s->cardpin_blob, sizeof(lv->cardpin_blob));
		lv->auth = s->auth;
	}
	pthread_mutex_unlock(&card->lock);
}

unsigned int hsmg_card_sessions(struct hsmg_card *card, int queue)
{
	unsigned int n;

	pthread_mutex_lock(&card->lock);
	if (queue < 0)
		n = card->nsess;
	else if ((unsigned int)queue < card->nqueues)
		n = card->qsess[queue];
	else
		n = 0;
	pthread_mutex_unlock(&card->lock);
	return n;
}

size_t hsmg_card_session_ids(struct hsmg_card *card, uint64_t *ids, size_t max)
{
	size_t n = 0;
	unsigned int i;
	struct sess *s;

	pthread_mutex_lock(&card->lock);
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = s->next) {
			if (n < max)
				ids[n] = s->id;
			n++;
		}
	}
	pthread_mutex_unlock(&card->lock);
	return n;
}

/*
 * Called with the lock held: log *@pp out of @queue, free it when unused.
 * Returns true when it was freed (*@pp is its successor now).
 */
static bool sess_logout_locked(struct hsmg_card *card, struct sess **pp, unsigned int queue)
{
	struct sess *s = *pp;

	if (!sess_on(s, queue))
		return false;
	sess_mark(s, queue, false);
	card->qsess[queue]--;
	if (s->nlogged)
		return false;
	*pp = s->next;
	card->nsess--;
	sess_free(s);
	return true;
}

void hsmg_card_drop_queue(struct hsmg_card *card, unsigned int queue)
{
	unsigned int i;
	struct sess **pp;

	if (queue >= card->nqueues)
		return;
	pthread_mutex_lock(&card->lock);
	for (i = 0; i < SESS_BUCKETS; i++) {
		pp = &card->buckets[i];
		while (*pp) {
			struct sess *s = *pp;

			if (!sess_logout_locked(card, pp, queue))
				pp = &s->next;
		}
	}
	pthread_mutex_unlock(&card->lock);
}

int hsmg_card_set_mk(struct hsmg_card *card, const uint8_t *mk)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	struct sess *s, *n;
	unsigned int i;

	if (card->be->set_master_key(card->bs, mk, HSMG_CARD_MK_LEN, mkvp))
		return -1;
	pthread_mutex_lock(&card->lock);
	/* Logins were made under the old key: they end with it. */
	for (i = 0; i < SESS_BUCKETS; i++) {
		for (s = card->buckets[i]; s; s = n) {
			n = s->next;
			sess_free(s);
		}
		card->buckets[i] = NULL;
	}
	card->nsess = 0;
	memset(card->qsess, 0, sizeof(card->qsess));
	memcpy(card->mkvp, mkvp, HSMG_MKVP_LEN);
	pthread_mutex_unlock(&card->lock);
	return 0;
}

int hsmg_card_set_key_cache(struct hsmg_card *card, unsigned int entries)
{
	if (!card->be->set_key_cache)
		return entries ? -1 : 0;
	return card->be->set_key_cache(card->bs, entries);
}

void hsmg_card_key_cache_stats(struct hsmg_card *card, struct hsmg_card_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (card->be->key_cache_stats)
		card->be->key_cache_stats(card->bs, st);
}

static void put_u32(uint8_t *p, size_t *off, uint32_t v)
{
	memcpy(p + *off, &v, 4);
	*off += 4;
}

static int make_pin_blob(const struct hsmg_card *card, uint64_t session, uint32_t flags,
			 const uint8_t *pin, uint32_t pin_len, const uint8_t *cardpin,
			 uint32_t cardpin_len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	uint8_t buf[8 + 8 + 4 + 4 + HSMG_MAX_PIN_LEN + 4 + HSMG_MAX_PIN_LEN];
	size_t off = 0;
	int ret;

	memcpy(buf, "pin-blob", 8);
	off = 8;
	memcpy(buf + off, &session, 8);
	off += 8;
	put_u32(buf, &off, flags);
	put_u32(buf, &off, pin_len);
	memcpy(buf + off, pin, pin_len);
	off += pin_len;
	put_u32(buf, &off, cardpin_len);
	if (cardpin_len)
		memcpy(buf + off, cardpin, cardpin_len);
	off += cardpin_len;
	ret = card->be->pin_mac(card->bs, buf, off, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static int make_cardpin_blob(const struct hsmg_card *card, const uint8_t *cardpin,
			     uint32_t cardpin_len, uint8_t out[HSMG_PIN_BLOB_LEN])
{
	uint8_t buf[8 + 4 + HSMG_MAX_PIN_LEN];
	size_t off = 8;
	int ret;

	memcpy(buf, "card-pin", 8);
	put_u32(buf, &off, cardpin_len);
	memcpy(buf + off, cardpin, cardpin_len);
	off += cardpin_len;
	ret = card->be->pin_mac(card->bs, buf, off, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static void do_login(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		     const uint8_t *payload, uint8_t *ans, size_t ans_cap,
		     struct hsmg_card_result *res)
{
	struct hsmg_be_login lg;
	struct card_auth auth;
	struct sess *s, **pp;
	uint8_t pin_blob[HSMG_PIN_BLOB_LEN], cp_blob[HSMG_PIN_BLOB_LEN];
	const uint8_t *pin, *cardpin, *record;
	unsigned int quota;
	bool user_vhsm;

	memset(&auth, 0, sizeof(auth));
	res->status = HSMG_BE_BADREQ;
	if (!req->session || req->len < sizeof(lg) || ans_cap < HSMG_PIN_BLOB_LEN)
		return;
	memcpy(&lg, payload, sizeof(lg));
	if ((lg.flags & ~HSMG_LOGIN_ALL_FLAGS) || lg.pin_len < 1 || lg.pin_len > HSMG_MAX_PIN_LEN ||
	    lg.cardpin_len > 16 || (lg.cardpin_len && lg.cardpin_len < 8) ||
	    lg.record_len > HSMG_AUTH_RECORD_MAX ||
	    (uint64_t)sizeof(lg) + lg.pin_len + lg.cardpin_len + lg.record_len != req->len)
		return;
	user_vhsm = (req->session_flags & HSMG_SESSION_VHSM) && !(lg.flags & HSMG_LOGIN_SO);
	if (user_vhsm && !lg.cardpin_len)
		return;
	pin = payload + sizeof(lg);
	cardpin = pin + lg.pin_len;
	record = cardpin + lg.cardpin_len;
	/* With a record, the PIN must match it (counted), and the session
	 * gets what it proves. */
	if (lg.record_len) {
		res->status =
		    card_auth_login(card, lg.flags, pin, lg.pin_len, record, lg.record_len, &auth);
		if (res->status != HSMG_BE_OK)
			goto out;
	}
	if (make_pin_blob(card, req->session, lg.flags, pin, lg.pin_len, cardpin, lg.cardpin_len,
			  pin_blob) ||
	    (lg.cardpin_len && make_cardpin_blob(card, cardpin, lg.cardpin_len, cp_blob))) {
		res->status = HSMG_BE_FAILED;
		goto out;
	}

	pthread_mutex_lock(&card->lock);
	pp = sess_slot(card, req->session);
	s = *pp;
	if (!s || !sess_on(s, queue)) {
		quota = hsmg_card_quota(card);
		if (quota && card->qsess[queue] >= quota) {
			pthread_mutex_unlock(&card->lock);
			res->status = HSMG_BE_QUOTA;
			goto out;
		}
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&card->lock);
			res->status = HSMG_BE_RETRY;
			goto out;
		}
		s->id = req->session;
		*pp = s;
		card->nsess++;
	}
	if (!sess_on(s, queue)) {
		sess_mark(s, queue, true);
		card->qsess[queue]++;
	}
	s->login_flags = lg.flags;
	s->has_cardpin = lg.cardpin_len != 0;
	memcpy(s->pin_blob, pin_blob, sizeof(pin_blob));
	if (s->has_cardpin)
		memcpy(s->cardpin_blob, cp_blob, sizeof(cp_blob));
	else
		memset(s->cardpin_blob, 0, sizeof(s->cardpin_blob));
	s->auth = auth;
	pthread_mutex_unlock(&card->lock);

	memcpy(ans, pin_blob, HSMG_PIN_BLOB_LEN);
	res->len = HSMG_PIN_BLOB_LEN;
	res->status = HSMG_BE_OK;
out:
	OPENSSL_cleanse(&lg, sizeof(lg));
	OPENSSL_cleanse(&auth, sizeof(auth));
	OPENSSL_cleanse(pin_blob, sizeof(pin_blob));
	OPENSSL_cleanse(cp_blob, sizeof(cp_blob));
}

static void do_logout(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		      struct hsmg_card_result *res)
{
	struct sess **pp;

	if (!req->session || req->len) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	pthread_mutex_lock(&card->lock);
	pp = sess_slot(card, req->session);
	if (*pp)
		sess_logout_locked(card, pp, queue);
	pthread_mutex_unlock(&card->lock);
	res->status = HSMG_BE_OK;
}

#define T(x) (1U << HSMG_TAG_##x)

/* Request tags each op accepts; anything else is CKR_ARGUMENTS_BAD. */
static uint32_t allowed_tags(uint32_t op)
{
	switch (op) {
	case HSMG_MSG_OP_RANDOM:
		return T(PARAM);
	case HSMG_MSG_OP_GENERATE_KEY:
	case HSMG_MSG_OP_GENERATE_KEYPAIR:
		return T(ATTRS) | T(PARAM);
	case HSMG_MSG_OP_ENCRYPT:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_DECRYPT:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_ENCRYPT_INIT:
	case HSMG_MSG_OP_DECRYPT_INIT:
	case HSMG_MSG_OP_SIGN_INIT:
		return T(KEY) | T(PARAM);
	case HSMG_MSG_OP_ENCRYPT_UPDATE:
	case HSMG_MSG_OP_DECRYPT_UPDATE:
	case HSMG_MSG_OP_ENCRYPT_FINAL:
	case HSMG_MSG_OP_DECRYPT_FINAL:
	case HSMG_MSG_OP_SIGN_UPDATE:
	case HSMG_MSG_OP_SIGN_FINAL:
		return T(KEY) | T(STATE) | T(DATA);
	case HSMG_MSG_OP_SIGN:
		return T(KEY) | T(PARAM) | T(DATA);
	case HSMG_MSG_OP_VERIFY:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM) | T(DATA) | T(SIGNATURE);
	case HSMG_MSG_OP_VERIFY_INIT:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(PARAM);
	case HSMG_MSG_OP_VERIFY_UPDATE:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(STATE) | T(DATA);
	case HSMG_MSG_OP_VERIFY_FINAL:
		return T(KEY) | T(PUBKEY) | T(ATTRS) | T(STATE) | T(DATA) | T(SIGNATURE);
	case HSMG_MSG_OP_DIGEST:
	case HSMG_MSG_OP_DIGEST_INIT:
		return T(DATA) | T(PARAM);
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return T(STATE) | T(DATA);
	case HSMG_MSG_OP_WRAP:
		return T(KEY) | T(KEY2) | T(PARAM);
	case HSMG_MSG_OP_UNWRAP:
		return T(KEY) | T(PARAM) | T(DATA) | T(ATTRS);
	case HSMG_MSG_OP_DERIVE:
		return T(KEY) | T(PARAM) | T(ATTRS);
	case HSMG_MSG_OP_IMPORT_KEY:
		return T(ATTRS) | T(DATA) | T(PARAM);
	case HSMG_MSG_OP_EXPORT_PUBKEY:
	case HSMG_MSG_OP_EXPORT_KEY:
		return T(KEY);
	case HSMG_MSG_OP_AUTH_RECORD:
		return T(PARAM) | T(DATA);
	case HSMG_MSG_OP_REBIND:
		return T(KEY);
	case HSMG_MSG_OP_CARDPIN:
		return T(PARAM) | T(DATA);
	default:
		return ~0U;
	}
}

/* Ops whose header names a mechanism (the others send 0, which is also
 * CKM_RSA_PKCS_KEY_PAIR_GEN). */
static bool op_has_mechanism(uint32_t op)
{
	return op != HSMG_MSG_OP_RANDOM && op != HSMG_MSG_OP_IMPORT_KEY &&
	       op != HSMG_MSG_OP_EXPORT_PUBKEY && op != HSMG_MSG_OP_EXPORT_KEY &&
	       op != HSMG_MSG_OP_AUTH_RECORD && op != HSMG_MSG_OP_REBIND &&
	       op != HSMG_MSG_OP_CARDPIN;
}

static CK_RV dispatch(struct req_ctx *c)
{
	uint32_t op = c->v->hdr.op, present = 0, t;

	for (t = 1; t <= HSMG_TAG_MAX; t++)
		if (c->v->tlv[t].present)
			present |= 1U << t;
	if (present & ~allowed_tags(op))
		return CKR_ARGUMENTS_BAD;
	if (op_has_mechanism(op) && !mech_ok(c->card, c->v->hdr.mechanism))
		return CKR_MECHANISM_INVALID;
	switch (op) {
	case HSMG_MSG_OP_RANDOM:
		return c->card->be->random_op(c);
	case HSMG_MSG_OP_GENERATE_KEY:
		return c->card->be->generate_key(c);
	case HSMG_MSG_OP_GENERATE_KEYPAIR:
		return c->card->be->generate_keypair(c);
	case HSMG_MSG_OP_ENCRYPT:
	case HSMG_MSG_OP_ENCRYPT_INIT:
	case HSMG_MSG_OP_ENCRYPT_UPDATE:
	case HSMG_MSG_OP_ENCRYPT_FINAL:
		return c->card->be->cipher(c, true, card_part_of(op));
	case HSMG_MSG_OP_DECRYPT:
	case HSMG_MSG_OP_DECRYPT_INIT:
	case HSMG_MSG_OP_DECRYPT_UPDATE:
	case HSMG_MSG_OP_DECRYPT_FINAL:
		return c->card->be->cipher(c, false, card_part_of(op));
	case HSMG_MSG_OP_SIGN:
	case HSMG_MSG_OP_SIGN_INIT:
	case HSMG_MSG_OP_SIGN_UPDATE:
	case HSMG_MSG_OP_SIGN_FINAL:
		return c->card->be->sign_verify(c, true, card_part_of(op));
	case HSMG_MSG_OP_VERIFY:
	case HSMG_MSG_OP_VERIFY_INIT:
	case HSMG_MSG_OP_VERIFY_UPDATE:
	case HSMG_MSG_OP_VERIFY_FINAL:
		return c->card->be->sign_verify(c, false, card_part_of(op));
	case HSMG_MSG_OP_DIGEST:
		return c->card->be->digest(c);
	case HSMG_MSG_OP_DIGEST_INIT:
	case HSMG_MSG_OP_DIGEST_UPDATE:
	case HSMG_MSG_OP_DIGEST_FINAL:
		return c->card->be->digest_part(c, op);
	case HSMG_MSG_OP_WRAP:
		return c->card->be->wrap(c);
	case HSMG_MSG_OP_UNWRAP:
		return c->card->be->unwrap(c);
	case HSMG_MSG_OP_DERIVE:
		return c->card->be->derive(c);
	case HSMG_MSG_OP_IMPORT_KEY:
		return c->card->be->import(c);
	case HSMG_MSG_OP_EXPORT_PUBKEY:
		return c->card->be->export_pubkey(c);
	case HSMG_MSG_OP_EXPORT_KEY:
		return c->card->be->export_key(c);
	case HSMG_MSG_OP_AUTH_RECORD:
		return card_op_auth_record(c);
	case HSMG_MSG_OP_REBIND:
		return card_op_rebind(c);
	case HSMG_MSG_OP_CARDPIN:
		return card_op_cardpin(c);
	default:
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
}

static void do_crypto(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		      const void *payload, uint8_t *ans, size_t ans_cap,
		      struct hsmg_card_result *res)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	struct req_ctx c = {card, queue, req, &v, &b};
	ssize_t n;
	CK_RV rv;
	int err;

	err = hsmg_msg_parse_type(&v, payload, req->len, HSMG_MSG_REQUEST);
	if (err && hsmg_msg_err_is_header(err)) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	if (hsmg_msg_init(&b, ans, ans_cap, HSMG_MSG_RESPONSE, v.hdr.op, v.hdr.mechanism)) {
		res->status = HSMG_BE_FAILED; /* answer buffer below a header */
		return;
	}
	rv = err ? CKR_ARGUMENTS_BAD : dispatch(&c);
	/* An output did not fit the answer (or the message size limit). */
	if (b.err == -HSMG_MSG_ENOSPC || b.err == -HSMG_MSG_E2BIG)
		rv = CKR_DATA_LEN_RANGE;
	else if (rv == CKR_OK && b.err)
		rv = CKR_DEVICE_ERROR;
	if (rv != CKR_OK) {
		/* Drop partial outputs (possibly plaintext) before answering. */
		OPENSSL_cleanse(ans, b.len < ans_cap ? b.len : ans_cap);
		hsmg_msg_init(&b, ans, ans_cap, HSMG_MSG_RESPONSE, v.hdr.op, v.hdr.mechanism);
		hsmg_msg_set_rv(&b, rv);
	}
	n = hsmg_msg_finish(&b);
	if (n < 0) {
		res->status = HSMG_BE_FAILED;
		return;
	}
	res->status = HSMG_BE_OK;
	res->len = (uint32_t)n;
	res->rv = rv;
}

void hsmg_card_process(struct hsmg_card *card, unsigned int queue, const struct hsmg_be_req *req,
		       const void *payload, void *ans, size_t ans_cap, struct hsmg_card_result *res)
{
	memset(res, 0, sizeof(*res));
	if (queue >= card->nqueues || req->len > HSMG_MAX_MSG_SIZE || (req->len && !payload)) {
		res->status = HSMG_BE_BADREQ;
		return;
	}
	switch (req->type) {
	case HSMG_BE_REQ_CRYPTO:
		do_crypto(card, queue, req, payload, ans, ans_cap, res);
		break;
	case HSMG_BE_REQ_LOGIN:
		do_login(card, queue, req, payload, ans, ans_cap, res);
		break;
	case HSMG_BE_REQ_LOGOUT:
		do_logout(card, queue, req, res);
		break;
	case HSMG_BE_REQ_PING:
		res->status = HSMG_BE_OK;
		break;
	default:
		res->status = HSMG_BE_BADREQ;
		break;
	}
}
