// SPDX-License-Identifier: GPL-2.0
/*
 * auth - authentication records and the card's count of failed logins.
 *
 * A record (HSMG_MSG_AUTH_RECORD_LEN bytes) is the clear head struct
 * hsmg_auth_record_hdr (token, user) and, sealed under the master key with
 * the head as authenticated data, the token's secret T (32 bytes) and the
 * PIN's check value, a MAC under the master key of the token, the user and
 * the PIN.  Only a card of the group can test a PIN against a record, and
 * each test goes through a login, which the card counts: no copy of the
 * record, however edited, gives a PIN or T.  A login that matches puts T
 * into the session; keys made in a user's session are bound to a MAC of T
 * (card_auth_user_bind), so they work only in sessions that logged in with
 * that token's user PIN.
 *
 * A token's id is derived from its secret (token_of): whoever makes a
 * record with a new secret gets a new id, so the ids, and the counts kept
 * per id, belong to the secrets.
 *
 * The count: per token and user, failed logins since the last that
 * worked; at the card's maximum (hsmg_card_set_pin_policy) the PIN is
 * locked until the SO sets a new user PIN (or, for the SO, the token is
 * made again).  With a file, the count is written there (0600, replaced
 * atomically) at each change and read at start: it survives restarts of
 * the card.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card_int.h"

#define REC_SECRET 32
#define REC_PLAIN  (REC_SECRET + 32)
#define REC_LEN	   (sizeof(struct hsmg_auth_record_hdr) + IVLEN + REC_PLAIN + TAGLEN)
_Static_assert(REC_LEN == HSMG_MSG_AUTH_RECORD_LEN, "record length");

#define PINC_MAGIC 0x43505348U /* "HSPC" */
#define PINC_MAX   4096

struct pinc_file_hdr {
	uint32_t magic;
	uint32_t count;
};

/* ---------------------------------------------------------- the count */

static struct pin_count *pinc_find(struct hsmg_card *card, const uint8_t token[16], uint16_t user)
{
	unsigned int i;

	for (i = 0; i < card->npinc; i++)
		if (card->pinc[i].user == user && !memcmp(card->pinc[i].token, token, 16))
			return &card->pinc[i];
	return NULL;
}

/* Write the count to the card's file, if it has one.  pin_lock held. */
static void pinc_save(struct hsmg_card *card)
{
	struct pinc_file_hdr h = {PINC_MAGIC, card->npinc};
	char tmp[4096 + 8];
	size_t n = card->npinc * sizeof(*card->pinc);
	int fd, ok;

	if (!card->pinc_path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", card->pinc_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		card->pinc_errors++;
		return;
	}
	ok = write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
	     (!n || write(fd, card->pinc, n) == (ssize_t)n) && !fsync(fd);
	if (close(fd) || !ok || rename(tmp, card->pinc_path)) {
		unlink(tmp);
		card->pinc_errors++;
	}
}

int hsmg_card_set_pin_policy(struct hsmg_card *card, unsigned int max_failures, const char *path)
{
	struct pinc_file_hdr h;
	struct pin_count *tab = NULL;
	char *p = NULL;
	int fd, ret = -1;

	if (max_failures < 1 || max_failures > 1000)
		return -1;
	if (path) {
		p = strdup(path);
		if (!p || strlen(path) > 4096)
			goto out;
		tab = calloc(PINC_MAX, sizeof(*tab));
		if (!tab)
			goto out;
		memset(&h, 0, sizeof(h));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t want;
			int ok = read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
				 h.magic == PINC_MAGIC && h.count <= PINC_MAX;

			want = ok ? (ssize_t)(h.count * sizeof(*tab)) : 0;
			ok = ok && (!want || read(fd, tab, (size_t)want) == want);
			close(fd);
			if (!ok)
				goto out; /* unreadable: refuse rather than forget */
		} else if (errno != ENOENT) {
			goto out;
		}
	}
	pthread_mutex_lock(&card->pin_lock);
	card->pin_max = max_failures;
	if (path) {
		free(card->pinc);
		free(card->pinc_path);
		card->pinc = tab;
		card->npinc = h.count;
		card->pinc_path = p;
		tab = NULL;
		p = NULL;
	}
	pthread_mutex_unlock(&card->pin_lock);
	ret = 0;
out:
	free(tab);
	free(p);
	return ret;
}

unsigned int hsmg_card_pin_failures(struct hsmg_card *card, const uint8_t token[16],
				    unsigned int user)
{
	struct pin_count *pc;
	unsigned int n;

	pthread_mutex_lock(&card->pin_lock);
	pc = pinc_find(card, token, (uint16_t)user);
	n = pc ? pc->failures : 0;
	pthread_mutex_unlock(&card->pin_lock);
	return n;
}

/* Is the PIN of @token/@user locked?  pin_lock held. */
static bool pinc_locked(struct hsmg_card *card, const uint8_t token[16], uint16_t user)
{
	struct pin_count *pc = pinc_find(card, token, user);

	return pc && pc->failures >= card->pin_max;
}

/* One more failure (false: the table is full; the login is refused as
 * locked rather than not counted).  pin_lock held. */
static bool pinc_fail(struct hsmg_card *card, const uint8_t token[16], uint16_t user)
{
	struct pin_count *pc = pinc_find(card, token, user);

	if (!pc) {
		if (!card->pinc) {
			card->pinc = calloc(PINC_MAX, sizeof(*card->pinc));
			if (!card->pinc)
				return false;
		}
		if (card->npinc >= PINC_MAX)
			return false;
		pc = &card->pinc[card->npinc++];
		memcpy(pc->token, token, 16);
		pc->user = user;
		pc->failures = 0;
	}
	if (pc->failures < UINT16_MAX)
		pc->failures++;
	pinc_save(card);
	return true;
}

/* Forget the count of @token/@user.  pin_lock held. */
static void pinc_clear(struct hsmg_card *card, const uint8_t token[16], uint16_t user)
{
	struct pin_count *pc = pinc_find(card, token, user);

	if (!pc)
		return;
	*pc = card->pinc[--card->npinc];
	pinc_save(card);
}

/* --------------------------------------------------------- the records */

/* The check value of @pin for @token/@user (a MAC under the master key). */
static int pin_check(const struct hsmg_card *card, const uint8_t token[16], uint16_t user,
		     const uint8_t *pin, uint32_t pin_len, uint8_t out[32])
{
	uint8_t buf[8 + 16 + 2 + 4 + HSMG_MAX_PIN_LEN];
	size_t off = 8;
	int ret;

	if (pin_len < 1 || pin_len > HSMG_MAX_PIN_LEN)
		return -1;
	memcpy(buf, "auth-pin", 8);
	memcpy(buf + off, token, 16);
	off += 16;
	memcpy(buf + off, &user, 2);
	off += 2;
	memcpy(buf + off, &pin_len, 4);
	off += 4;
	memcpy(buf + off, pin, pin_len);
	off += pin_len;
	ret = card->be->pin_mac(card->bs, buf, off, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

int card_auth_user_bind(const struct hsmg_card *card, const uint8_t token[16],
			const uint8_t secret[32], uint8_t out[HSMG_PIN_BLOB_LEN])
{
	uint8_t buf[8 + 16 + 32];
	int ret;

	memcpy(buf, "user-key", 8);
	memcpy(buf + 8, token, 16);
	memcpy(buf + 24, secret, 32);
	ret = card->be->pin_mac(card->bs, buf, sizeof(buf), out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

/*
 * The id of the token whose secret is @secret: the card derives it, so that
 * a record with a new secret never carries an existing token's id (and
 * cannot reset that token's count of failed logins).
 */
static int token_of(const struct hsmg_card *card, const uint8_t secret[32], uint8_t token[16])
{
	uint8_t buf[8 + 32], mac[HSMG_PIN_BLOB_LEN];
	int ret;

	memcpy(buf, "token-id", 8);
	memcpy(buf + 8, secret, 32);
	ret = card->be->pin_mac(card->bs, buf, sizeof(buf), mac);
	memcpy(token, mac, 16);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(mac, sizeof(mac));
	return ret;
}

/* Seal a record of @token/@user for @pin carrying @secret into @out. */
static int rec_make(const struct hsmg_card *card, const uint8_t token[16], uint16_t user,
		    const uint8_t secret[32], const uint8_t *pin, uint32_t pin_len,
		    uint8_t out[REC_LEN])
{
	struct hsmg_auth_record_hdr h = {HSMG_AUTH_RECORD_MAGIC, 1, user, {0}};
	uint8_t plain[REC_PLAIN], *iv = out + sizeof(h);
	int ret = -1;

	memcpy(h.token, token, 16);
	memcpy(out, &h, sizeof(h));
	memcpy(plain, secret, REC_SECRET);
	if (!pin_check(card, token, user, pin, pin_len, plain + REC_SECRET) &&
	    !card->be->random(card->bs, iv, IVLEN))
		ret = card->be->seal(card->bs, HSMG_SEAL_KEY, iv, IVLEN, out, sizeof(h), plain,
				     REC_PLAIN, iv + IVLEN, iv + IVLEN + REC_PLAIN, TAGLEN);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (ret)
		OPENSSL_cleanse(out, REC_LEN);
	return ret;
}

uint32_t card_auth_login(struct hsmg_card *card, uint32_t flags, const uint8_t *pin,
			 uint32_t pin_len, const uint8_t *rec, uint32_t rec_len,
			 struct card_auth *out)
{
	struct hsmg_auth_record_hdr h;
	uint8_t plain[REC_PLAIN], check[32];
	const uint8_t *iv = rec + sizeof(h);
	uint16_t user = (flags & HSMG_LOGIN_SO) ? HSMG_AUTH_SO : HSMG_AUTH_USER;
	uint32_t status = HSMG_BE_BADREQ;
	bool match;

	memset(out, 0, sizeof(*out));
	if (rec_len != REC_LEN)
		return HSMG_BE_BADREQ;
	memcpy(&h, rec, sizeof(h));
	if (h.magic != HSMG_AUTH_RECORD_MAGIC || h.version != 1 || h.user != user)
		return HSMG_BE_BADREQ;
	pthread_mutex_lock(&card->pin_lock);
	if (pinc_locked(card, h.token, user)) {
		status = HSMG_BE_PIN_LOCKED;
		goto out;
	}
	/* Not this group's record, or edited: no PIN was tried. */
	if (card->be->unseal(card->bs, HSMG_SEAL_KEY, iv, IVLEN, rec, sizeof(h), iv + IVLEN,
			     REC_PLAIN, plain, iv + IVLEN + REC_PLAIN, TAGLEN))
		goto out;
	if (pin_check(card, h.token, user, pin, pin_len, check)) {
		status = HSMG_BE_FAILED;
		goto out;
	}
	match = card_ct_equal(check, plain + REC_SECRET, 32);
	if (!match) {
		status =
		    pinc_fail(card, h.token, user) ? HSMG_BE_PIN_INCORRECT : HSMG_BE_PIN_LOCKED;
		goto out;
	}
	pinc_clear(card, h.token, user);
	out->user = user;
	memcpy(out->token, h.token, 16);
	memcpy(out->secret, plain, REC_SECRET);
	if (card_auth_user_bind(card, h.token, plain, out->user_bind)) {
		OPENSSL_cleanse(out, sizeof(*out));
		status = HSMG_BE_FAILED;
		goto out;
	}
	out->valid = true;
	status = HSMG_BE_OK;
out:
	pthread_mutex_unlock(&card->pin_lock);
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(check, sizeof(check));
	return status;
}

CK_RV card_op_auth_record(struct req_ctx *c)
{
	struct hsmg_msg_auth_param p;
	struct login_view lv;
	const void *param, *pin;
	uint32_t plen, pin_len;
	uint8_t secret[32], *out;
	bool same_token, keep;
	CK_RV rv = CKR_OK;

	if (!hsmg_msg_get(c->v, HSMG_TAG_PARAM, &param, &plen) || plen != sizeof(p) ||
	    !hsmg_msg_get(c->v, HSMG_TAG_DATA, &pin, &pin_len))
		return CKR_ARGUMENTS_BAD;
	memcpy(&p, param, sizeof(p));
	if (p.rsvd || (p.user != HSMG_AUTH_USER && p.user != HSMG_AUTH_SO))
		return CKR_ARGUMENTS_BAD;
	if (pin_len < 1 || pin_len > HSMG_MAX_PIN_LEN)
		return CKR_PIN_LEN_RANGE;
	card_login_lookup(c->card, c->queue, c->req->session, &lv);
	same_token = lv.logged_in && lv.auth.valid && !memcmp(lv.auth.token, p.token, 16);
	if (p.user == HSMG_AUTH_SO)
		keep = same_token && lv.auth.user == HSMG_AUTH_SO;
	else
		keep = same_token;
	if (keep)
		memcpy(secret, lv.auth.secret, sizeof(secret));
	else if (c->card->be->random(c->card->bs, secret, sizeof(secret)) ||
		 token_of(c->card, secret, p.token))
		rv = CKR_DEVICE_ERROR;
	OPENSSL_cleanse(&lv, sizeof(lv));
	if (rv != CKR_OK)
		goto out;
	out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, REC_LEN);
	if (!out) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	if (rec_make(c->card, p.token, (uint16_t)p.user, secret, pin, pin_len, out)) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	if (hsmg_msg_put_end(c->b, REC_LEN)) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	/*
	 * A PIN set by someone logged in to the token unlocks it (the SO's
	 * C_InitPIN for the user).  A new token's SO record does not: anyone
	 * can make one, for any token id.
	 */
	if (keep) {
		pthread_mutex_lock(&c->card->pin_lock);
		pinc_clear(c->card, p.token, (uint16_t)p.user);
		pthread_mutex_unlock(&c->card->pin_lock);
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return rv;
}

/* ------------------------------------------------------ VHSM card-PIN */

#define CP_PT	  (1 + 16) /* length byte, card-PIN padded to 16 */
#define CP_SEALED (IVLEN + CP_PT + TAGLEN)
_Static_assert(CP_SEALED == HSMG_MSG_CARDPIN_SEALED_LEN, "sealed card-PIN length");

/* What a sealed card-PIN is bound to: the token and its secret (through
 * the user binding, which only a user's login with the PIN yields). */
static void cardpin_aad(const struct card_auth *a, uint8_t aad[8 + 16 + HSMG_PIN_BLOB_LEN])
{
	memcpy(aad, "card-pin", 8);
	memcpy(aad + 8, a->token, 16);
	memcpy(aad + 24, a->user_bind, HSMG_PIN_BLOB_LEN);
}

CK_RV card_op_cardpin(struct req_ctx *c)
{
	uint8_t aad[8 + 16 + HSMG_PIN_BLOB_LEN], pt[CP_PT], *out;
	struct login_view lv;
	const uint8_t *in;
	const void *param, *data;
	uint32_t plen, len, dir;
	CK_RV rv = CKR_OK;

	if (!hsmg_msg_get(c->v, HSMG_TAG_PARAM, &param, &plen) || plen != sizeof(dir) ||
	    !hsmg_msg_get(c->v, HSMG_TAG_DATA, &data, &len))
		return CKR_ARGUMENTS_BAD;
	memcpy(&dir, param, sizeof(dir));
	in = data;
	if (dir == HSMG_CARDPIN_SEAL ? len < 8 || len > 16
				     : dir != HSMG_CARDPIN_OPEN || len != CP_SEALED)
		return dir > HSMG_CARDPIN_OPEN ? CKR_ARGUMENTS_BAD : CKR_DATA_LEN_RANGE;
	card_login_lookup(c->card, c->queue, c->req->session, &lv);
	if (!lv.logged_in || !lv.auth.valid || lv.auth.user != HSMG_AUTH_USER ||
	    (lv.login_flags & HSMG_LOGIN_SO)) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	cardpin_aad(&lv.auth, aad);
	memset(pt, 0, sizeof(pt));
	if (dir == HSMG_CARDPIN_SEAL) {
		out = hsmg_msg_put_begin(c->b, HSMG_TAG_OUT_DATA, CP_SEALED);
		pt[0] = (uint8_t)len;
		memcpy(pt + 1, in, len);
		if (!out)
			rv = CKR_DEVICE_MEMORY;
		else if (c->card->be->random(c->card->bs, out, IVLEN) ||
			 c->card->be->seal(c->card->bs, HSMG_SEAL_KEY, out, IVLEN, aad, sizeof(aad),
					   pt, CP_PT, out + IVLEN, out + IVLEN + CP_PT, TAGLEN))
			rv = CKR_DEVICE_ERROR;
		else if (hsmg_msg_put_end(c->b, CP_SEALED))
			rv = CKR_DEVICE_MEMORY;
	} else if (c->card->be->unseal(c->card->bs, HSMG_SEAL_KEY, in, IVLEN, aad, sizeof(aad),
				       in + IVLEN, CP_PT, pt, in + IVLEN + CP_PT, TAGLEN) ||
		   pt[0] < 8 || pt[0] > 16) {
		rv = CKR_ENCRYPTED_DATA_INVALID; /* another token's, or altered */
	} else if (hsmg_msg_put(c->b, HSMG_TAG_OUT_DATA, pt + 1, pt[0])) {
		rv = CKR_DEVICE_MEMORY;
	}
out:
	OPENSSL_cleanse(&lv, sizeof(lv));
	OPENSSL_cleanse(aad, sizeof(aad));
	OPENSSL_cleanse(pt, sizeof(pt));
	return rv;
}
