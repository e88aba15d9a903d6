// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-bench: the PKCS#11 target.  Any module, loaded by path (dlopen +
 * C_GetFunctionList).  The parent initializes the module once to pick the
 * slot (and to create a scratch token with --init), asks which mechanisms
 * exist, and finalizes it again before forking: every worker process calls
 * C_Initialize itself, logs in once, and makes the keys once (session
 * objects, outside any timed region); every worker thread has its own
 * session.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hsmg_mech.h"

static void *dl;
static CK_FUNCTION_LIST_PTR fl;
static char desc[256];

/* Per worker process: the session that owns the keys, and the keys. */
static CK_SESSION_HANDLE setup_session;
static CK_OBJECT_HANDLE ec_priv, ec_pub, rsa_priv, aes_key;
/* ecverify: a hash and its signature by ec_priv, made once per process. */
static uint8_t ec_hash[32], ec_sig[BENCH_EC_SIG];
static char key_err[OP_NR][128];

/* P-256 as CKA_EC_PARAMS: the DER OID 1.2.840.10045.3.1.7. */
static const CK_BYTE p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const CK_BYTE rsa_exp[] = {0x01, 0x00, 0x01};

const char *ckr_name(CK_RV rv)
{
	return hsmg_rv_name(rv);
}

/* Copy a blank-padded PKCS#11 string into @dst without the padding. */
static void p11_str(char *dst, size_t cap, const unsigned char *src, size_t len)
{
	while (len && (src[len - 1] == ' ' || src[len - 1] == 0))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

static void pad32(unsigned char dst[32], const char *s)
{
	size_t n = strlen(s);

	memset(dst, ' ', 32);
	memcpy(dst, s, n > 32 ? 32 : n);
}

static CK_RV initialize(void)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};

	return fl->C_Initialize(&args);
}

/*
 * SoftHSM reads its token directory from $SOFTHSM2_CONF at C_Initialize; a
 * scratch token must not land in the system's directory, and the directory
 * named there must exist.
 */
static int softhsm_scratch(void)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	char line[1024], dir[1024];
	FILE *f;

	if (!strstr(cfg.module, "softhsm"))
		return 0;
	if (!conf || !*conf) {
		fprintf(stderr, "hsmg-bench: --init with SoftHSM needs SOFTHSM2_CONF naming a "
				"scratch config (directories.tokendir = /tmp/...); "
				"scripts/bench-host writes one\n");
		return -1;
	}
	f = fopen(conf, "r");
	if (!f) {
		fprintf(stderr, "hsmg-bench: %s: %s\n", conf, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " directories.tokendir = %1023s", dir) == 1) {
			/* mkdir -p */
			for (char *p = dir + 1; *p; p++) {
				if (*p != '/')
					continue;
				*p = 0;
				mkdir(dir, 0700);
				*p = '/';
			}
			if (mkdir(dir, 0700) && errno != EEXIST) {
				fprintf(stderr, "hsmg-bench: token dir %s: %s\n", dir,
					strerror(errno));
				fclose(f);
				return -1;
			}
		}
	}
	fclose(f);
	return 0;
}

static int token_slots(CK_SLOT_ID **slots, CK_ULONG *n, CK_BBOOL present)
{
	CK_RV rv;

	*slots = NULL;
	rv = fl->C_GetSlotList(present, NULL, n);
	if (rv == CKR_OK && *n) {
		*slots = calloc(*n, sizeof(**slots));
		if (!*slots)
			return -1;
		rv = fl->C_GetSlotList(present, *slots, n);
	}
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: C_GetSlotList: %s\n", ckr_name(rv));
		free(*slots);
		*slots = NULL;
		return -1;
	}
	return 0;
}

/* Slot whose token has label @label (or the first with a token, @label NULL). */
static int find_token(const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID *slots;
	CK_ULONG n;

	if (token_slots(&slots, &n, CK_TRUE))
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		char l[33];

		if (fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		p11_str(l, sizeof(l), ti.label, sizeof(ti.label));
		if (!label || !strcmp(l, label)) {
			*slot = slots[i];
			free(slots);
			return 0;
		}
	}
	free(slots);
	return -1;
}

/*
 * SoftHSM rewrites its token file in place at every login; a process that
 * reads it at that moment (its own C_Initialize, or a p11-kit server child
 * starting) sees no token.  Look again a few times, re-initializing.
 */
static int find_token_retry(const char *label, CK_SLOT_ID *slot)
{
	for (int i = 0; i < 10; i++) {
		struct timespec ts = {.tv_nsec = 100000000};

		if (!find_token(label, slot))
			return 0;
		fl->C_Finalize(NULL);
		nanosleep(&ts, NULL);
		if (initialize() != CKR_OK)
			break;
	}
	return -1;
}

/*
 * The same for a process that already knows the slot (a worker or the
 * firstuse helper): opens a session and logs in (with a PIN), starting the
 * module again while the token looks absent or half-read.
 */
static CK_RV open_session_retry(CK_SESSION_HANDLE *s)
{
	CK_RV rv = CKR_OK;

	for (int i = 0; i < 10; i++) {
		struct timespec ts = {.tv_nsec = 100000000};

		if (i) {
			fl->C_Finalize(NULL);
			nanosleep(&ts, NULL);
			rv = initialize();
			if (rv != CKR_OK)
				return rv;
		}
		rv = fl->C_OpenSession(cfg.slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				       s);
		if (rv == CKR_OK && cfg.pin) {
			rv = fl->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)cfg.pin, strlen(cfg.pin));
			if (rv == CKR_USER_ALREADY_LOGGED_IN)
				rv = CKR_OK;
		}
		if (rv != CKR_SLOT_ID_INVALID && rv != CKR_USER_PIN_NOT_INITIALIZED &&
		    rv != CKR_TOKEN_NOT_PRESENT && rv != CKR_TOKEN_NOT_RECOGNIZED)
			break;
	}
	return rv;
}

static int init_token(void)
{
	const char *label = cfg.token ? cfg.token : "hsmg-bench";
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot = 0, *slots;
	unsigned char lab[32];
	CK_ULONG n;
	CK_RV rv;
	bool found = cfg.slot >= 0;

	if (!cfg.pin) {
		fprintf(stderr, "hsmg-bench: --init needs --pin (the user PIN to set)\n");
		return -1;
	}
	if (found) {
		slot = (CK_SLOT_ID)cfg.slot;
	} else if (!find_token(label, &slot)) {
		/* A token with this label exists: initialize it again (scratch). */
	} else {
		/* The first slot whose token is not initialized yet. */
		if (token_slots(&slots, &n, CK_TRUE))
			return -1;
		for (CK_ULONG i = 0; i < n && !found; i++) {
			CK_TOKEN_INFO ti;

			if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
			    !(ti.flags & CKF_TOKEN_INITIALIZED)) {
				slot = slots[i];
				found = true;
			}
		}
		free(slots);
		if (!found) {
			fprintf(stderr, "hsmg-bench: --init: no slot with an uninitialized token "
					"(name one with --slot)\n");
			return -1;
		}
	}
	pad32(lab, label);
	rv = fl->C_InitToken(slot, (CK_UTF8CHAR_PTR)cfg.so_pin, strlen(cfg.so_pin), lab);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: C_InitToken(slot %lu): %s\n", (unsigned long)slot,
			ckr_name(rv));
		return -1;
	}
	/* SoftHSM gives the initialized token a new slot id: look it up by label. */
	if (find_token(label, &slot)) {
		fprintf(stderr, "hsmg-bench: --init: token '%s' not found after C_InitToken\n",
			label);
		return -1;
	}
	rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv == CKR_OK) {
		rv = fl->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)cfg.so_pin, strlen(cfg.so_pin));
		if (rv == CKR_OK) {
			rv = fl->C_InitPIN(s, (CK_UTF8CHAR_PTR)cfg.pin, strlen(cfg.pin));
			fl->C_Logout(s);
		}
		fl->C_CloseSession(s);
	}
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: --init: setting the user PIN: %s\n", ckr_name(rv));
		return -1;
	}
	cfg.token = label;
	cfg.slot = -1;
	return 0;
}

static int p11_parent_init(void)
{
	CK_C_GetFunctionList get;
	CK_TOKEN_INFO ti;
	CK_INFO info;
	char manuf[33], libdesc[33], label[33], model[17];
	CK_RV rv;

	if (cfg.init && softhsm_scratch())
		return -1;
	dl = dlopen(cfg.module, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "hsmg-bench: %s\n", dlerror());
		return -1;
	}
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get) {
		fprintf(stderr, "hsmg-bench: %s: no C_GetFunctionList\n", cfg.module);
		return -1;
	}
	rv = get(&fl);
	if (rv != CKR_OK || !fl) {
		fprintf(stderr, "hsmg-bench: C_GetFunctionList: %s\n", ckr_name(rv));
		return -1;
	}
	rv = initialize();
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: C_Initialize: %s\n", ckr_name(rv));
		return -1;
	}
	if (cfg.init && init_token())
		goto fail;
	if (cfg.slot >= 0) {
		cfg.slot_id = (CK_SLOT_ID)cfg.slot;
	} else if (find_token_retry(cfg.token, &cfg.slot_id)) {
		if (cfg.token)
			fprintf(stderr, "hsmg-bench: no token labelled '%s'\n", cfg.token);
		else
			fprintf(stderr, "hsmg-bench: no slot with an initialized token\n");
		goto fail;
	}
	rv = fl->C_GetTokenInfo(cfg.slot_id, &ti);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: C_GetTokenInfo(slot %lu): %s\n",
			(unsigned long)cfg.slot_id, ckr_name(rv));
		goto fail;
	}
	rv = fl->C_GetInfo(&info);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: C_GetInfo: %s\n", ckr_name(rv));
		goto fail;
	}
	p11_str(manuf, sizeof(manuf), info.manufacturerID, sizeof(info.manufacturerID));
	p11_str(libdesc, sizeof(libdesc), info.libraryDescription, sizeof(info.libraryDescription));
	p11_str(label, sizeof(label), ti.label, sizeof(ti.label));
	p11_str(model, sizeof(model), ti.model, sizeof(ti.model));
	snprintf(desc, sizeof(desc), "%s (%s %s %u.%u), slot %lu token '%s' (%s)", cfg.module,
		 manuf, libdesc, info.libraryVersion.major, info.libraryVersion.minor,
		 (unsigned long)cfg.slot_id, label, model);
	return 0;
fail:
	fl->C_Finalize(NULL);
	return -1;
}

static const char *p11_describe(void)
{
	return desc;
}

static int p11_supported(enum op op, char *why, size_t len)
{
	/* What each operation needs of the token; names from the one table. */
	static const struct {
		enum op op;
		CK_MECHANISM_TYPE mech;
	} needs[] = {
	    {OP_ECDSA, CKM_EC_KEY_PAIR_GEN},
	    {OP_ECDSA, CKM_ECDSA},
	    {OP_ECVERIFY, CKM_EC_KEY_PAIR_GEN},
	    {OP_ECVERIFY, CKM_ECDSA},
	    {OP_RSA, CKM_RSA_PKCS_KEY_PAIR_GEN},
	    {OP_RSA, CKM_SHA256_RSA_PKCS},
	    {OP_GCM, CKM_AES_KEY_GEN},
	    {OP_GCM, CKM_AES_GCM},
	    {OP_SHA256, CKM_SHA256},
	    {OP_AESKEYGEN, CKM_AES_KEY_GEN},
	    {OP_TOKSIGN, CKM_ECDSA},
	    {OP_FIND, CKM_EC_KEY_PAIR_GEN},
	    {OP_FINDID, CKM_EC_KEY_PAIR_GEN},
	    {OP_FIRSTUSE, CKM_AES_GCM},
	};
	CK_MECHANISM_INFO mi;
	CK_TOKEN_INFO ti;

	switch (op) {
	case OP_NULL:
	case OP_GETINFO:
		return 0;
	case OP_RANDOM:
		if (fl->C_GetTokenInfo(cfg.slot_id, &ti) == CKR_OK && !(ti.flags & CKF_RNG)) {
			snprintf(why, len, "token has no RNG (CKF_RNG clear)");
			return -1;
		}
		return 0;
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		CK_RV rv;

		if (needs[i].op != op)
			continue;
		rv = fl->C_GetMechanismInfo(cfg.slot_id, needs[i].mech, &mi);
		if (rv != CKR_OK) {
			snprintf(why, len, "%s: %s", hsmg_mech_name(needs[i].mech), ckr_name(rv));
			return -1;
		}
	}
	return 0;
}

static void p11_parent_fini(void)
{
	fl->C_Finalize(NULL);
}

static CK_RV gen_ec(void)
{
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, priv = cfg.pin ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE pub_t[] = {
	    {CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid)},
	    {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_VERIFY, &t, sizeof(t)},
	};
	CK_ATTRIBUTE priv_t[] = {
	    {CKA_TOKEN, &f, sizeof(f)},	      {CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_SIGN, &t, sizeof(t)},	      {CKA_SENSITIVE, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &f, sizeof(f)},
	};
	return fl->C_GenerateKeyPair(setup_session, &m, pub_t, 3, priv_t, 5, &ec_pub, &ec_priv);
}

/* The signature ecverify checks. */
static CK_RV sign_once(void)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_ULONG len = sizeof(ec_sig);
	CK_RV rv;

	memset(ec_hash, 0x5a, sizeof(ec_hash));
	rv = fl->C_SignInit(setup_session, &m, ec_priv);
	if (rv == CKR_OK)
		rv = fl->C_Sign(setup_session, ec_hash, sizeof(ec_hash), ec_sig, &len);
	if (rv == CKR_OK && len != sizeof(ec_sig))
		rv = CKR_SIGNATURE_LEN_RANGE;
	return rv;
}

static CK_RV gen_rsa(void)
{
	CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, priv = cfg.pin ? CK_TRUE : CK_FALSE;
	CK_ULONG bits = 2048;
	CK_ATTRIBUTE pub_t[] = {
	    {CKA_MODULUS_BITS, &bits, sizeof(bits)},
	    {CKA_PUBLIC_EXPONENT, (void *)rsa_exp, sizeof(rsa_exp)},
	    {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_VERIFY, &t, sizeof(t)},
	};
	CK_ATTRIBUTE priv_t[] = {
	    {CKA_TOKEN, &f, sizeof(f)},	      {CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_SIGN, &t, sizeof(t)},	      {CKA_SENSITIVE, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &f, sizeof(f)},
	};
	CK_OBJECT_HANDLE pub;

	return fl->C_GenerateKeyPair(setup_session, &m, pub_t, 4, priv_t, 5, &pub, &rsa_priv);
}

static CK_RV gen_aes(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *key)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},	{CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_TOKEN, &f, sizeof(f)},
	    {CKA_ENCRYPT, &t, sizeof(t)},	{CKA_DECRYPT, &t, sizeof(t)},
	    {CKA_SENSITIVE, &t, sizeof(t)},	{CKA_EXTRACTABLE, &f, sizeof(f)},
	};

	return fl->C_GenerateKey(s, &m, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), key);
}

/*
 * The token store's ops: one token EC key pair per process (label and id
 * name the process), made untimed and destroyed at the end; firstuse has
 * a helper process (its own C_Initialize: its own store connection, as
 * another host has) make a token AES key before each timed call.
 */
static CK_OBJECT_HANDLE tok_priv = CK_INVALID_HANDLE, tok_pub = CK_INVALID_HANDLE;
static char tok_label[48];
static int helper_fd = -1;
static pid_t helper_pid;
static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;

static CK_RV gen_token_ec(void)
{
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE, priv = cfg.pin ? CK_TRUE : CK_FALSE;
	CK_ULONG ll = strlen(tok_label);
	CK_ATTRIBUTE pub_t[] = {
	    {CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid)},
	    {CKA_TOKEN, &t, sizeof(t)},
	    {CKA_VERIFY, &t, sizeof(t)},
	    {CKA_LABEL, tok_label, ll},
	    {CKA_ID, tok_label, ll},
	};
	CK_ATTRIBUTE priv_t[] = {
	    {CKA_TOKEN, &t, sizeof(t)},	      {CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_SIGN, &t, sizeof(t)},	      {CKA_SENSITIVE, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &f, sizeof(f)}, {CKA_LABEL, tok_label, ll},
	    {CKA_ID, tok_label, ll},
	};

	return fl->C_GenerateKeyPair(setup_session, &m, pub_t, 5, priv_t, 7, &tok_pub, &tok_priv);
}

/* What firstuse asks the helper for: the key of worker @index's call @seq. */
struct helper_req {
	uint32_t index;
	uint32_t seq;
};

static void firstuse_label(char *label, size_t len, const struct helper_req *q)
{
	snprintf(label, len, "%s-%u-%u", tok_label, q->index, q->seq);
}

/* A token AES key for each request (its label: firstuse_label()); answers
 * one byte, 0 when it was made. */
static void helper_main(int fd)
{
	struct helper_req q;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE k;
	unsigned char r;
	char label[80];
	CK_RV rv;

	/* A forked child starts the module anew (the parent's state is not
	 * its own). */
	fl->C_Finalize(NULL);
	rv = initialize();
	if (rv == CKR_OK)
		rv = open_session_retry(&s);
	while (rv == CKR_OK && read(fd, &q, sizeof(q)) == (ssize_t)sizeof(q)) {
		CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
		CK_ULONG len = 32;
		CK_BBOOL t = CK_TRUE, priv = cfg.pin ? CK_TRUE : CK_FALSE;
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_VALUE_LEN, &len, sizeof(len)},
		    {CKA_TOKEN, &t, sizeof(t)},
		    {CKA_PRIVATE, &priv, sizeof(priv)},
		    {CKA_ENCRYPT, &t, sizeof(t)},
		    {CKA_LABEL, label, 0},
		};

		firstuse_label(label, sizeof(label), &q);
		tmpl[4].ulValueLen = strlen(label);
		r = fl->C_GenerateKey(s, &m, tmpl, 5, &k) == CKR_OK ? 0 : 1;
		if (write(fd, &r, 1) != 1)
			break;
	}
	_exit(0);
}

static CK_RV start_helper(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return CKR_GENERAL_ERROR;
	helper_pid = fork();
	if (helper_pid < 0)
		return CKR_GENERAL_ERROR;
	if (!helper_pid) {
		close(sv[0]);
		helper_main(sv[1]);
	}
	close(sv[1]);
	helper_fd = sv[0];
	return CKR_OK;
}

static int p11_proc_init(const bool *ops)
{
	CK_RV rv = initialize();

	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: worker: C_Initialize: %s\n", ckr_name(rv));
		return -1;
	}
	rv = open_session_retry(&setup_session);
	if (rv != CKR_OK) {
		fprintf(stderr, "hsmg-bench: worker: C_OpenSession%s: %s\n",
			cfg.pin ? " + C_Login" : "", ckr_name(rv));
		return -1;
	}
	/* Keys once per process, untimed; a failure fails only the ops that need them. */
	if ((ops[OP_ECDSA] || ops[OP_ECVERIFY]) && (rv = gen_ec()) != CKR_OK) {
		snprintf(key_err[OP_ECDSA], sizeof(key_err[0]), "EC P-256 key pair: %s",
			 ckr_name(rv));
		memcpy(key_err[OP_ECVERIFY], key_err[OP_ECDSA], sizeof(key_err[0]));
	} else if (ops[OP_ECVERIFY] && (rv = sign_once()) != CKR_OK) {
		snprintf(key_err[OP_ECVERIFY], sizeof(key_err[0]), "the signature to verify: %s",
			 ckr_name(rv));
	}
	if (ops[OP_RSA] && (rv = gen_rsa()) != CKR_OK)
		snprintf(key_err[OP_RSA], sizeof(key_err[0]), "RSA-2048 key pair: %s",
			 ckr_name(rv));
	if (ops[OP_GCM] && (rv = gen_aes(setup_session, &aes_key)) != CKR_OK)
		snprintf(key_err[OP_GCM], sizeof(key_err[0]), "AES-256 key: %s", ckr_name(rv));
	snprintf(tok_label, sizeof(tok_label), "hsmg-bench-%d", (int)getpid());
	if ((ops[OP_TOKSIGN] || ops[OP_FIND] || ops[OP_FINDID]) && (rv = gen_token_ec()) != CKR_OK)
		for (int o = OP_TOKSIGN; o <= OP_FINDID; o++)
			snprintf(key_err[o], sizeof(key_err[0]), "token EC P-256 key pair: %s",
				 ckr_name(rv));
	if (ops[OP_FIRSTUSE] && start_helper() != CKR_OK)
		snprintf(key_err[OP_FIRSTUSE], sizeof(key_err[0]), "no helper process: %s",
			 strerror(errno));
	return 0;
}

static void p11_proc_fini(void)
{
	if (helper_fd >= 0) {
		close(helper_fd);
		waitpid(helper_pid, NULL, 0);
		helper_fd = -1;
	}
	if (tok_priv != CK_INVALID_HANDLE)
		fl->C_DestroyObject(setup_session, tok_priv);
	if (tok_pub != CK_INVALID_HANDLE)
		fl->C_DestroyObject(setup_session, tok_pub);
	tok_priv = tok_pub = CK_INVALID_HANDLE;
	if (cfg.pin)
		fl->C_Logout(setup_session);
	fl->C_CloseAllSessions(cfg.slot_id);
	fl->C_Finalize(NULL);
}

static int p11_thread_init(struct worker *w)
{
	CK_RV rv = fl->C_OpenSession(cfg.slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				     &w->session);

	if (rv != CKR_OK)
		return bench_fail(w, "C_OpenSession: %s", ckr_name(rv));
	return 0;
}

static void p11_thread_fini(struct worker *w)
{
	fl->C_CloseSession(w->session);
}

static int firstuse_prepare(struct worker *w);

static int p11_op_prepare(struct worker *w, enum op op)
{
	if (key_err[op][0])
		return bench_fail(w, "%s", key_err[op]);
	/* The first firstuse key. */
	return op == OP_FIRSTUSE ? firstuse_prepare(w) : 0;
}

static int verify(struct worker *w)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_RV rv;

	rv = fl->C_VerifyInit(w->session, &m, ec_pub);
	if (rv != CKR_OK)
		return bench_fail(w, "C_VerifyInit: %s", ckr_name(rv));
	rv = fl->C_Verify(w->session, ec_hash, sizeof(ec_hash), ec_sig, sizeof(ec_sig));
	return rv == CKR_OK ? 0 : bench_fail(w, "C_Verify: %s", ckr_name(rv));
}

static int sign(struct worker *w, CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE key, CK_ULONG want)
{
	CK_MECHANISM m = {mech, NULL, 0};
	CK_ULONG len = sizeof(w->out);
	CK_RV rv;

	w->data[0] = (uint8_t)w->seq; /* a different message each time */
	rv = fl->C_SignInit(w->session, &m, key);
	if (rv != CKR_OK)
		return bench_fail(w, "C_SignInit: %s", ckr_name(rv));
	rv = fl->C_Sign(w->session, w->data, 32, w->out, &len);
	if (rv != CKR_OK)
		return bench_fail(w, "C_Sign: %s", ckr_name(rv));
	if (len != want)
		return bench_fail(w, "C_Sign: %lu signature bytes, expected %lu",
				  (unsigned long)len, (unsigned long)want);
	return 0;
}

static int gcm(struct worker *w)
{
	CK_BYTE iv[BENCH_GCM_IV_LEN] = {0};
	CK_GCM_PARAMS p = {
	    .pIv = iv,
	    .ulIvLen = sizeof(iv),
	    .ulIvBits = sizeof(iv) * 8,
	    .ulTagBits = BENCH_GCM_TAG * 8,
	};
	CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
	CK_ULONG len = sizeof(w->out);
	CK_RV rv;

	/* Never the same IV twice under one key: worker index and sequence. */
	memcpy(iv, &w->index, sizeof(w->index));
	memcpy(iv + 4, &w->seq, sizeof(w->seq));
	rv = fl->C_EncryptInit(w->session, &m, aes_key);
	if (rv != CKR_OK)
		return bench_fail(w, "C_EncryptInit: %s", ckr_name(rv));
	rv = fl->C_Encrypt(w->session, w->data, BENCH_DATA_LEN, w->out, &len);
	if (rv != CKR_OK)
		return bench_fail(w, "C_Encrypt: %s", ckr_name(rv));
	if (len != BENCH_DATA_LEN + BENCH_GCM_TAG)
		return bench_fail(w, "C_Encrypt: %lu bytes out, expected %u", (unsigned long)len,
				  BENCH_DATA_LEN + BENCH_GCM_TAG);
	return 0;
}

static int digest(struct worker *w)
{
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_ULONG len = sizeof(w->out);
	CK_RV rv;

	rv = fl->C_DigestInit(w->session, &m);
	if (rv != CKR_OK)
		return bench_fail(w, "C_DigestInit: %s", ckr_name(rv));
	rv = fl->C_Digest(w->session, w->data, BENCH_DATA_LEN, w->out, &len);
	if (rv != CKR_OK)
		return bench_fail(w, "C_Digest: %s", ckr_name(rv));
	if (len != 32)
		return bench_fail(w, "C_Digest: %lu bytes out", (unsigned long)len);
	return 0;
}

/* Find the one object with @a; its handle into *@h. */
static int find_one(struct worker *w, CK_ATTRIBUTE *a, CK_ULONG n, CK_OBJECT_HANDLE *h)
{
	CK_ULONG got = 0;
	CK_RV rv;

	rv = fl->C_FindObjectsInit(w->session, a, n);
	if (rv != CKR_OK)
		return bench_fail(w, "C_FindObjectsInit: %s", ckr_name(rv));
	rv = fl->C_FindObjects(w->session, h, 1, &got);
	fl->C_FindObjectsFinal(w->session);
	if (rv != CKR_OK)
		return bench_fail(w, "C_FindObjects: %s", ckr_name(rv));
	return got == 1 ? 0 : bench_fail(w, "C_FindObjects: the object is not found");
}

static int find_key(struct worker *w, CK_ATTRIBUTE_TYPE by)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)}, {by, tok_label, strlen(tok_label)}};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

	if (find_one(w, a, 2, &h))
		return -1;
	return h == tok_priv ? 0 : bench_fail(w, "C_FindObjects: another object");
}

static int create(struct worker *w)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL t = CK_TRUE, priv = cfg.pin ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)},
			    {CKA_TOKEN, &t, sizeof(t)},
			    {CKA_PRIVATE, &priv, sizeof(priv)},
			    {CKA_LABEL, tok_label, strlen(tok_label)},
			    {CKA_VALUE, w->data, 100}};
	CK_RV rv;

	w->data[0] = (uint8_t)w->seq;
	w->last_key = CK_INVALID_HANDLE;
	rv = fl->C_CreateObject(w->session, a, 5, &w->last_key);
	return rv == CKR_OK ? 0 : bench_fail(w, "C_CreateObject: %s", ckr_name(rv));
}

/* The helper makes the key of this worker's next call (untimed). */
static int firstuse_prepare(struct worker *w)
{
	struct helper_req q = {w->index, (uint32_t)w->seq + 1};
	unsigned char r = 1;

	pthread_mutex_lock(&helper_lock);
	if (write(helper_fd, &q, sizeof(q)) != (ssize_t)sizeof(q) || read(helper_fd, &r, 1) != 1)
		r = 2;
	pthread_mutex_unlock(&helper_lock);
	return r ? bench_fail(w, "the helper could not make a key (%u)", r) : 0;
}

static int firstuse(struct worker *w)
{
	struct helper_req q = {w->index, (uint32_t)w->seq};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	char label[80];
	CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, label, 0}};
	CK_BYTE iv[BENCH_GCM_IV_LEN] = {0};
	CK_GCM_PARAMS p = {.pIv = iv,
			   .ulIvLen = sizeof(iv),
			   .ulIvBits = sizeof(iv) * 8,
			   .ulTagBits = BENCH_GCM_TAG * 8};
	CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
	CK_ULONG len = sizeof(w->out);
	CK_RV rv;

	firstuse_label(label, sizeof(label), &q);
	a[1].ulValueLen = strlen(label);
	w->last_key = CK_INVALID_HANDLE;
	if (find_one(w, a, 2, &w->last_key))
		return -1;
	rv = fl->C_EncryptInit(w->session, &m, w->last_key);
	if (rv != CKR_OK)
		return bench_fail(w, "C_EncryptInit: %s", ckr_name(rv));
	rv = fl->C_Encrypt(w->session, w->data, BENCH_DATA_LEN, w->out, &len);
	return rv == CKR_OK ? 0 : bench_fail(w, "C_Encrypt: %s", ckr_name(rv));
}

static int p11_op_run(struct worker *w, enum op op)
{
	CK_SESSION_INFO si;
	CK_INFO info;
	CK_RV rv;

	switch (op) {
	case OP_NULL:
		rv = fl->C_GetSessionInfo(w->session, &si);
		return rv == CKR_OK ? 0 : bench_fail(w, "C_GetSessionInfo: %s", ckr_name(rv));
	case OP_GETINFO:
		rv = fl->C_GetInfo(&info);
		return rv == CKR_OK ? 0 : bench_fail(w, "C_GetInfo: %s", ckr_name(rv));
	case OP_RANDOM:
		rv = fl->C_GenerateRandom(w->session, w->out, 32);
		return rv == CKR_OK ? 0 : bench_fail(w, "C_GenerateRandom: %s", ckr_name(rv));
	case OP_ECDSA:
		return sign(w, CKM_ECDSA, ec_priv, 64);
	case OP_ECVERIFY:
		return verify(w);
	case OP_RSA:
		return sign(w, CKM_SHA256_RSA_PKCS, rsa_priv, 256);
	case OP_GCM:
		return gcm(w);
	case OP_SHA256:
		return digest(w);
	case OP_AESKEYGEN:
		w->last_key = CK_INVALID_HANDLE;
		rv = gen_aes(w->session, &w->last_key);
		return rv == CKR_OK ? 0 : bench_fail(w, "C_GenerateKey: %s", ckr_name(rv));
	case OP_TOKSIGN:
		return sign(w, CKM_ECDSA, tok_priv, 64);
	case OP_FIND:
		return find_key(w, CKA_LABEL);
	case OP_FINDID:
		return find_key(w, CKA_ID);
	case OP_CREATE:
		return create(w);
	case OP_FIRSTUSE:
		return firstuse(w);
	default:
		return bench_fail(w, "op not available on PKCS#11");
	}
}

/* Untimed: the generated key would pile up in the session otherwise; the
 * next firstuse key is made by the helper. */
static int p11_op_after(struct worker *w, enum op op)
{
	CK_RV rv;

	if ((op != OP_AESKEYGEN && op != OP_CREATE && op != OP_FIRSTUSE) ||
	    w->last_key == CK_INVALID_HANDLE)
		return 0;
	rv = fl->C_DestroyObject(w->session, w->last_key);
	w->last_key = CK_INVALID_HANDLE;
	if (rv != CKR_OK)
		return bench_fail(w, "C_DestroyObject: %s", ckr_name(rv));
	return op == OP_FIRSTUSE ? firstuse_prepare(w) : 0;
}

const struct target_ops p11_target = {
    .name = "p11",
    .parent_init = p11_parent_init,
    .supported = p11_supported,
    .parent_fini = p11_parent_fini,
    .proc_init = p11_proc_init,
    .proc_fini = p11_proc_fini,
    .thread_init = p11_thread_init,
    .thread_fini = p11_thread_fini,
    .op_prepare = p11_op_prepare,
    .op_run = p11_op_run,
    .op_after = p11_op_after,
    .describe = p11_describe,
};
