// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-bench: the raw target.  The same operations as the PKCS#11 target,
 * as hsmgroup messages built with the one codec (lib/msg/hsmg_msg.h) and sent
 * with HSMG_IOC_SUBMIT on /dev/hsmgroup, without the shim: raw vs PKCS#11
 * through hsmgroup-pkcs11.so is the shim's cost, raw vs the floors the
 * kernel's and the card's.
 *
 * Every worker process is one client (its own open file); every thread has
 * its own session (logged in when --pin is given).  The keys are generated
 * once per process on the card (blobs, untimed).  The "null" request is the
 * smallest valid message, RANDOM of 1 byte, sent as op class HSMG_OP_NULL
 * (the class picks the scheduler weight and the emulated card's service
 * time; the kernel does not read the message); a provider that echoes the
 * request back (the planned in-kernel no-op provider) is accepted too.
 *
 * --raw-local sends the same messages to an emulated card inside the worker
 * process (hsmsimd's card code, one queue, a random master key) instead of
 * the kernel: raw minus raw-local is what the kernel and the two process
 * wake-ups cost; it also runs on a host without the module.  Sessions are
 * not used there (session 0, --pin ignored).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench.h"
#include "card.h"
#include "client.h"
#include "hsmg_msg.h"

#define RAW_BUF	     (16 * 1024)
#define RAW_MAX_BLOB HSMG_MSG_MAX_KEY_BLOB

static char desc[256];
static uint32_t group_id;

/* Per worker process. */
static int fd = -1;
static uint32_t setup_sid;
static uint8_t ec_blob[RAW_MAX_BLOB], rsa_blob[RAW_MAX_BLOB], aes_blob[RAW_MAX_BLOB];
static uint32_t ec_len, rsa_len, aes_len;
/* ecverify: the EC pair's public point, a hash and its signature. */
static uint8_t ec_pub[65], ec_hash[32], ec_sig[BENCH_EC_SIG];
static char key_err[OP_NR][128];
/* --raw-local: the card in this process. */
static struct hsmg_card *card;

static int open_dev(struct hsmg_info *info)
{
	int f = hsmg_client_open(NULL, info);

	if (f < 0)
		fprintf(stderr, "hsmg-bench: %s: %s\n", HSMG_CLIENT_DEVICE, strerror(-f));
	return f;
}

static int first_group(int f, uint32_t *gid, struct hsmg_group_info *out)
{
	struct hsmg_group_info *g;
	unsigned int n;
	int err = hsmg_client_groups(f, &g, &n);

	if (err) {
		fprintf(stderr, "hsmg-bench: LIST_GROUPS: %s\n", strerror(-err));
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (*gid && g[i].group_id != *gid)
			continue;
		*gid = g[i].group_id;
		*out = g[i];
		free(g);
		return 0;
	}
	free(g);
	if (*gid)
		fprintf(stderr, "hsmg-bench: no group %u\n", *gid);
	else
		fprintf(stderr, "hsmg-bench: no group (no card attached?)\n");
	return -1;
}

static int raw_parent_init(void)
{
	struct hsmg_info info;
	struct hsmg_group_info g;
	int f;

	if (cfg.raw_local) {
		snprintf(desc, sizeof(desc),
			 "in-process emulated card (hsmsimd's card code), "
			 "no kernel, no session");
		return 0;
	}
	f = open_dev(&info);
	if (f < 0)
		return -1;
	group_id = cfg.group;
	if (first_group(f, &group_id, &g)) {
		close(f);
		return -1;
	}
	close(f);
	snprintf(desc, sizeof(desc), "%s (ABI %u), group %u: %u members, %u online",
		 HSMG_CLIENT_DEVICE, info.abi_version, group_id, g.nmembers, g.nonline);
	return 0;
}

static const char *raw_describe(void)
{
	return desc;
}

static int raw_supported(enum op op, char *why, size_t len)
{
	if (op == OP_GETINFO) {
		snprintf(why, len, "no card request; PKCS#11 only");
		return -1;
	}
	return 0;
}

/* --raw-local: what the card answers to a fetched request. */
static int submit_local(uint32_t op_class, const void *req, size_t req_len, void *resp,
			uint32_t *resp_len)
{
	struct hsmg_be_req br = {
	    .type = HSMG_BE_REQ_CRYPTO,
	    .op_class = op_class,
	    .len = (uint32_t)req_len,
	};
	struct hsmg_card_result res;

	hsmg_card_process(card, 0, &br, req, resp, *resp_len, &res);
	if (res.status != HSMG_BE_OK)
		return res.status == HSMG_BE_BADREQ ? -EPROTO : -EIO;
	*resp_len = res.len;
	return 0;
}

/* SUBMIT @req (@req_len bytes); 0 or -errno, *@resp_len set. */
static int submit(uint32_t sid, uint32_t op_class, const void *req, size_t req_len, void *resp,
		  uint32_t *resp_len)
{
	struct hsmg_client_req r = {
	    .group_id = group_id,
	    .session_id = sid,
	    .op_class = op_class,
	    .req = req,
	    .req_len = (uint32_t)req_len,
	    .resp = resp,
	    .resp_cap = *resp_len,
	};
	int err;

	if (card)
		return submit_local(op_class, req, req_len, resp, resp_len);
	err = hsmg_client_submit(fd, &r);
	if (!err)
		*resp_len = r.resp_len;
	return err;
}

static const char *err_text(long err, char *buf, size_t len)
{
	if (err < 0)
		snprintf(buf, len, "SUBMIT: %s", strerror((int)-err));
	else
		snprintf(buf, len, "card: %s", ckr_name((CK_RV)err));
	return buf;
}

/*
 * Send the request built in @b, check the answer is a valid response to @op
 * with @mech and rv CKR_OK, and return its view.  Returns 0, -errno, a
 * positive CKR value, or -EBADMSG for a malformed or mismatched answer.
 */
static long call(struct hsmg_msg_builder *b, uint32_t sid, uint32_t op, uint64_t mech,
		 uint32_t op_class, uint8_t *resp, struct hsmg_msg_view *v)
{
	ssize_t len = hsmg_msg_finish(b);
	uint32_t rlen = RAW_BUF;
	int ret;

	if (len < 0)
		return -EINVAL;
	ret = submit(sid, op_class, b->buf, (size_t)len, resp, &rlen);
	if (ret)
		return ret;
	if (hsmg_msg_parse_type(v, resp, rlen, HSMG_MSG_RESPONSE))
		return -EBADMSG;
	if (v->hdr.op != op || v->hdr.mechanism != mech)
		return -EBADMSG;
	if (v->hdr.rv != CKR_OK)
		return v->hdr.rv > 0x7fffffff ? -EBADMSG : (long)v->hdr.rv;
	return 0;
}

static long gen_key(uint32_t op, uint64_t mech, const struct hsmg_msg_key_attrs *a, uint8_t *blob,
		    uint32_t *blob_len, uint8_t *req, uint8_t *resp)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	const void *val;
	uint32_t n;
	long ret;

	hsmg_msg_init(&b, req, RAW_BUF, HSMG_MSG_REQUEST, op, mech);
	hsmg_msg_put(&b, HSMG_TAG_ATTRS, a, sizeof(*a));
	ret = call(&b, setup_sid, op, mech, HSMG_OP_KEYGEN, resp, &v);
	if (ret)
		return ret;
	if (!hsmg_msg_get(&v, HSMG_TAG_OUT_KEY, &val, &n) || n == 0 || n > RAW_MAX_BLOB)
		return -EBADMSG;
	memcpy(blob, val, n);
	*blob_len = n;
	if (mech == CKM_EC_KEY_PAIR_GEN) {
		if (!hsmg_msg_get(&v, HSMG_TAG_OUT_PUBKEY, &val, &n) || n != sizeof(ec_pub))
			return -EBADMSG;
		memcpy(ec_pub, val, n);
	}
	return 0;
}

/* The signature ecverify checks, made with the EC pair's blob. */
static long sign_once(uint8_t *req, uint8_t *resp)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	const void *val;
	uint32_t n;
	long ret;

	memset(ec_hash, 0x5a, sizeof(ec_hash));
	hsmg_msg_init(&b, req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_SIGN, CKM_ECDSA);
	hsmg_msg_put(&b, HSMG_TAG_KEY, ec_blob, ec_len);
	hsmg_msg_put(&b, HSMG_TAG_DATA, ec_hash, sizeof(ec_hash));
	ret = call(&b, setup_sid, HSMG_MSG_OP_SIGN, CKM_ECDSA, HSMG_OP_SIGN, resp, &v);
	if (ret)
		return ret;
	if (!hsmg_msg_get(&v, HSMG_TAG_OUT_DATA, &val, &n) || n != sizeof(ec_sig))
		return -EBADMSG;
	memcpy(ec_sig, val, n);
	return 0;
}

static int open_session(uint32_t *sid)
{
	int err;

	if (card) {
		*sid = 0;
		return 0;
	}
	err = hsmg_client_session_open(fd, group_id, HSMG_SESSION_RW, sid);
	if (err || !cfg.pin)
		return err;
	return hsmg_client_login(
	    fd, *sid, 0,
	    &(struct hsmg_client_creds){.pin = cfg.pin, .pin_len = (uint32_t)strlen(cfg.pin)},
	    NULL);
}

static int raw_proc_init(const bool *ops)
{
	struct hsmg_msg_key_attrs ec = {
	    .key_type = CKK_EC, .curve = HSMG_CURVE_P256, .usage = HSMG_KEY_USE_SIGN};
	struct hsmg_msg_key_attrs rsa = {
	    .key_type = CKK_RSA, .value_len = 2048, .usage = HSMG_KEY_USE_SIGN};
	struct hsmg_msg_key_attrs aes = {.key_type = CKK_AES,
					 .value_len = 32,
					 .usage = HSMG_KEY_USE_ENCRYPT | HSMG_KEY_USE_DECRYPT};
	uint8_t *req = malloc(RAW_BUF), *resp = malloc(RAW_BUF);
	char e[96];
	long ret;

	if (!req || !resp)
		goto fail;
	if (cfg.raw_local) {
		uint8_t mk[HSMG_CARD_MK_LEN];

		if (RAND_bytes(mk, sizeof(mk)) != 1)
			goto fail;
		card = hsmg_card_new(mk, 1, 0);
		explicit_bzero(mk, sizeof(mk));
		if (card && cfg.key_cache >= 0 &&
		    hsmg_card_set_key_cache(card, (unsigned int)cfg.key_cache)) {
			hsmg_card_free(card);
			card = NULL;
		}
		if (!card) {
			fprintf(stderr, "hsmg-bench: worker: cannot create the local card\n");
			goto fail;
		}
	} else {
		fd = open_dev(NULL);
		if (fd < 0)
			goto fail;
	}
	ret = open_session(&setup_sid);
	if (ret) {
		fprintf(stderr, "hsmg-bench: worker: setup session: %s\n", strerror((int)-ret));
		goto fail;
	}
	if ((ops[OP_ECDSA] || ops[OP_ECVERIFY]) &&
	    (ret = gen_key(HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_EC_KEY_PAIR_GEN, &ec, ec_blob, &ec_len,
			   req, resp))) {
		snprintf(key_err[OP_ECDSA], sizeof(key_err[0]), "EC P-256 key pair: %s",
			 err_text(ret, e, sizeof(e)));
		memcpy(key_err[OP_ECVERIFY], key_err[OP_ECDSA], sizeof(key_err[0]));
	} else if (ops[OP_ECVERIFY] && (ret = sign_once(req, resp))) {
		snprintf(key_err[OP_ECVERIFY], sizeof(key_err[0]), "the signature to verify: %s",
			 err_text(ret, e, sizeof(e)));
	}
	if (ops[OP_RSA] && (ret = gen_key(HSMG_MSG_OP_GENERATE_KEYPAIR, CKM_RSA_PKCS_KEY_PAIR_GEN,
					  &rsa, rsa_blob, &rsa_len, req, resp)))
		snprintf(key_err[OP_RSA], sizeof(key_err[0]), "RSA-2048 key pair: %s",
			 err_text(ret, e, sizeof(e)));
	if (ops[OP_GCM] && (ret = gen_key(HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN, &aes, aes_blob,
					  &aes_len, req, resp)))
		snprintf(key_err[OP_GCM], sizeof(key_err[0]), "AES-256 key: %s",
			 err_text(ret, e, sizeof(e)));
	explicit_bzero(resp, RAW_BUF);
	free(req);
	free(resp);
	return 0;
fail:
	free(req);
	free(resp);
	return -1;
}

static void raw_proc_fini(void)
{
	explicit_bzero(ec_blob, sizeof(ec_blob));
	explicit_bzero(rsa_blob, sizeof(rsa_blob));
	explicit_bzero(aes_blob, sizeof(aes_blob));
	/* Closing the file closes and logs out every session. */
	if (fd >= 0)
		close(fd);
	fd = -1;
	if (card)
		hsmg_card_free(card);
	card = NULL;
}

static int raw_thread_init(struct worker *w)
{
	int ret;

	w->req = malloc(RAW_BUF);
	w->resp = malloc(RAW_BUF);
	if (!w->req || !w->resp)
		return bench_fail(w, "out of memory");
	ret = open_session(&w->session_id);
	if (ret)
		return bench_fail(w, "session open/login: %s", strerror(-ret));
	return 0;
}

static void raw_thread_fini(struct worker *w)
{
	if (w->session_id && fd >= 0)
		hsmg_client_session_close(fd, w->session_id);
	if (w->resp)
		explicit_bzero(w->resp, RAW_BUF);
	free(w->req);
	free(w->resp);
	w->req = w->resp = NULL;
}

static int raw_op_prepare(struct worker *w, enum op op)
{
	if (key_err[op][0])
		return bench_fail(w, "%s", key_err[op]);
	return 0;
}

/* Check a successful answer carries OUT_DATA of exactly @want bytes. */
static int want_out(struct worker *w, const struct hsmg_msg_view *v, uint32_t want,
		    const char *what)
{
	uint32_t n = 0;

	if (!hsmg_msg_get(v, HSMG_TAG_OUT_DATA, NULL, &n) || n != want)
		return bench_fail(w, "%s: %u bytes out, expected %u", what, n, want);
	return 0;
}

static int fail_call(struct worker *w, const char *what, long ret)
{
	char e[96];

	if (ret == -EBADMSG)
		return bench_fail(w, "%s: malformed or mismatched answer", what);
	return bench_fail(w, "%s: %s", what, err_text(ret, e, sizeof(e)));
}

/* The null request: RANDOM of one byte, class NULL; an echo is fine too. */
static int raw_null(struct worker *w)
{
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint32_t rlen = RAW_BUF;
	ssize_t len;
	int ret;

	hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_RANDOM, 0);
	hsmg_msg_put_u32(&b, HSMG_TAG_PARAM, 1);
	len = hsmg_msg_finish(&b);
	if (len < 0)
		return bench_fail(w, "null: %s", hsmg_msg_strerror((int)len));
	ret = submit(w->session_id, HSMG_OP_NULL, w->req, (size_t)len, w->resp, &rlen);
	if (ret)
		return fail_call(w, "null", ret);
	if (rlen == (uint32_t)len && !memcmp(w->req, w->resp, rlen))
		return 0;
	if (hsmg_msg_parse_type(&v, w->resp, rlen, HSMG_MSG_RESPONSE) ||
	    v.hdr.op != HSMG_MSG_OP_RANDOM)
		return fail_call(w, "null", -EBADMSG);
	if (v.hdr.rv != CKR_OK)
		return fail_call(w, "null", (long)v.hdr.rv);
	return 0;
}

static int raw_op_run(struct worker *w, enum op op)
{
	struct hsmg_gcm {
		struct hsmg_msg_gcm_param p;
		uint8_t iv[BENCH_GCM_IV_LEN];
	} gp = {.p = {.iv_bytes = BENCH_GCM_IV_LEN, .tag_nbits = BENCH_GCM_TAG * 8}};
	struct hsmg_msg_key_attrs aes = {.key_type = CKK_AES,
					 .value_len = 32,
					 .usage = HSMG_KEY_USE_ENCRYPT | HSMG_KEY_USE_DECRYPT};
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	long ret;

	w->data[0] = (uint8_t)w->seq;
	switch (op) {
	case OP_NULL:
		return raw_null(w);
	case OP_RANDOM:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_RANDOM, 0);
		hsmg_msg_put_u32(&b, HSMG_TAG_PARAM, 32);
		ret = call(&b, w->session_id, HSMG_MSG_OP_RANDOM, 0, HSMG_OP_RANDOM, w->resp, &v);
		return ret ? fail_call(w, "RANDOM", ret) : want_out(w, &v, 32, "RANDOM");
	case OP_ECDSA:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_SIGN, CKM_ECDSA);
		hsmg_msg_put(&b, HSMG_TAG_KEY, ec_blob, ec_len);
		hsmg_msg_put(&b, HSMG_TAG_DATA, w->data, 32);
		ret =
		    call(&b, w->session_id, HSMG_MSG_OP_SIGN, CKM_ECDSA, HSMG_OP_SIGN, w->resp, &v);
		return ret ? fail_call(w, "SIGN ECDSA", ret) : want_out(w, &v, 64, "SIGN ECDSA");
	case OP_ECVERIFY:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_VERIFY, CKM_ECDSA);
		hsmg_msg_put(&b, HSMG_TAG_PUBKEY, ec_pub, sizeof(ec_pub));
		hsmg_msg_put(&b, HSMG_TAG_DATA, ec_hash, sizeof(ec_hash));
		hsmg_msg_put(&b, HSMG_TAG_SIGNATURE, ec_sig, sizeof(ec_sig));
		ret = call(&b, w->session_id, HSMG_MSG_OP_VERIFY, CKM_ECDSA, HSMG_OP_VERIFY,
			   w->resp, &v);
		return ret ? fail_call(w, "VERIFY ECDSA", ret) : 0;
	case OP_RSA:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_SIGN,
			      CKM_SHA256_RSA_PKCS);
		hsmg_msg_put(&b, HSMG_TAG_KEY, rsa_blob, rsa_len);
		hsmg_msg_put(&b, HSMG_TAG_DATA, w->data, 32);
		ret = call(&b, w->session_id, HSMG_MSG_OP_SIGN, CKM_SHA256_RSA_PKCS, HSMG_OP_SIGN,
			   w->resp, &v);
		return ret ? fail_call(w, "SIGN RSA", ret) : want_out(w, &v, 256, "SIGN RSA");
	case OP_GCM:
		memcpy(gp.iv, &w->index, sizeof(w->index));
		memcpy(gp.iv + 4, &w->seq, sizeof(w->seq));
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_ENCRYPT,
			      CKM_AES_GCM);
		hsmg_msg_put(&b, HSMG_TAG_KEY, aes_blob, aes_len);
		hsmg_msg_put(&b, HSMG_TAG_PARAM, &gp, sizeof(gp));
		hsmg_msg_put(&b, HSMG_TAG_DATA, w->data, BENCH_DATA_LEN);
		ret = call(&b, w->session_id, HSMG_MSG_OP_ENCRYPT, CKM_AES_GCM, HSMG_OP_SYMMETRIC,
			   w->resp, &v);
		return ret ? fail_call(w, "ENCRYPT GCM", ret)
			   : want_out(w, &v, BENCH_DATA_LEN + BENCH_GCM_TAG, "ENCRYPT GCM");
	case OP_SHA256:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_DIGEST,
			      CKM_SHA256);
		hsmg_msg_put(&b, HSMG_TAG_DATA, w->data, BENCH_DATA_LEN);
		ret = call(&b, w->session_id, HSMG_MSG_OP_DIGEST, CKM_SHA256, HSMG_OP_DIGEST,
			   w->resp, &v);
		return ret ? fail_call(w, "DIGEST", ret) : want_out(w, &v, 32, "DIGEST");
	case OP_AESKEYGEN:
		hsmg_msg_init(&b, w->req, RAW_BUF, HSMG_MSG_REQUEST, HSMG_MSG_OP_GENERATE_KEY,
			      CKM_AES_KEY_GEN);
		hsmg_msg_put(&b, HSMG_TAG_ATTRS, &aes, sizeof(aes));
		ret = call(&b, w->session_id, HSMG_MSG_OP_GENERATE_KEY, CKM_AES_KEY_GEN,
			   HSMG_OP_KEYGEN, w->resp, &v);
		if (ret)
			return fail_call(w, "GENERATE_KEY", ret);
		if (!hsmg_msg_get(&v, HSMG_TAG_OUT_KEY, NULL, NULL))
			return bench_fail(w, "GENERATE_KEY: no key blob");
		return 0;
	default:
		return bench_fail(w, "op not available in raw mode");
	}
}

static const char *raw_name(void)
{
	return cfg.raw_local ? "rawlocal" : "raw";
}

const struct target_ops raw_target = {
    .name = "raw",
    .label = raw_name,
    .parent_init = raw_parent_init,
    .supported = raw_supported,
    .proc_init = raw_proc_init,
    .proc_fini = raw_proc_fini,
    .thread_init = raw_thread_init,
    .thread_fini = raw_thread_fini,
    .op_prepare = raw_op_prepare,
    .op_run = raw_op_run,
    .describe = raw_describe,
};
