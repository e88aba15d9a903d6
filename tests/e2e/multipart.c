// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-e2e-multipart - stream a file through hsmgroup-pkcs11.so (dlopen) as
 * one multi-part SHA-256 digest and one multi-part AES encryption or
 * decryption, chunk by chunk, for tests/e2e/multipart-failover.sh.
 *
 *   hsmg-e2e-multipart --module SO --pin PIN --in FILE --out FILE
 *       [--decrypt] [--mech cbc-pad|gcm] [--ops both|digest|cipher]
 *       [--chunk BYTES] [--half-file PATH]
 *
 * The AES-256 key is the token object labelled "e2e-multipart" (generated on
 * first use), the IV fixed, so an encryption and a later decryption meet.
 * When half of the input has been fed, PATH is created (the test script
 * kills a card then, while the operations go on).  Prints
 * "sha256=<hex of the input> out_bytes=N parts=N ms=N" (--ops cipher: no
 * digest, sha256=none; --ops digest: no cipher, nothing written) and exits 0, or names
 * the failing call and its CK_RV and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11load.h"

static CK_SLOT_ID first_slot(void)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;

	P11(C_GetSlotList, CK_TRUE, slots, &n);
	if (!n) {
		fprintf(stderr, "hsmg-e2e-multipart: no slot with a token\n");
		exit(1);
	}
	return slots[0];
}

static CK_OBJECT_HANDLE aes_key(CK_SESSION_HANDLE s)
{
	static const char label[] = "e2e-multipart";
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE find[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, (void *)label, sizeof(label) - 1},
	};
	CK_ATTRIBUTE gen[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},	{CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_LABEL, (void *)label, sizeof(label) - 1},
	    {CKA_TOKEN, &yes, sizeof(yes)},	{CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &yes, sizeof(yes)},	{CKA_DECRYPT, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	};
	CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;

	P11(C_FindObjectsInit, s, find, 2);
	P11(C_FindObjects, s, &h, 1, &n);
	P11(C_FindObjectsFinal, s);
	if (n == 1)
		return h;
	P11(C_GenerateKey, s, &mech, gen, sizeof(gen) / sizeof(gen[0]), &h);
	return h;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"module", 1, NULL, 'm'}, {"pin", 1, NULL, 'p'},	   {"in", 1, NULL, 'i'},
	    {"out", 1, NULL, 'o'},    {"decrypt", 0, NULL, 'd'},   {"mech", 1, NULL, 'M'},
	    {"chunk", 1, NULL, 'c'},  {"half-file", 1, NULL, 'H'}, {"ops", 1, NULL, 'O'},
	    {NULL, 0, NULL, 0},
	};
	const char *module = NULL, *pin = NULL, *in_path = NULL, *out_path = NULL;
	const char *half_file = NULL, *mech_name = "cbc-pad";
	size_t chunk = 256 * 1024;
	int decrypt = 0, c, do_digest = 1, do_cipher = 1;
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	unsigned char iv[16] = "hsmgroup-e2e-iv!";
	CK_GCM_PARAMS gcm = {.iv_ptr = iv, .iv_len = 12, .iv_bits = 96, .tag_bits = 128};
	CK_MECHANISM mech = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
	CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
	unsigned char *buf, *obuf, digest[32];
	CK_ULONG olen, dlen = sizeof(digest);
	long long total = 0, fed = 0, out_bytes = 0, parts = 0, t0;
	int half_done = 0, in_fd, out_fd;
	char err[512];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			module = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'i':
			in_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'd':
			decrypt = 1;
			break;
		case 'M':
			mech_name = optarg;
			break;
		case 'c':
			chunk = strtoul(optarg, NULL, 0);
			break;
		case 'H':
			half_file = optarg;
			break;
		case 'O':
			do_digest = strcmp(optarg, "cipher") != 0;
			do_cipher = strcmp(optarg, "digest") != 0;
			break;
		default:
			return 2;
		}
	}
	if (!module || !pin || !in_path || !out_path || chunk < 16 || chunk > (1 << 20)) {
		fprintf(stderr,
			"usage: hsmg-e2e-multipart --module SO --pin PIN --in FILE --out FILE"
			" [--decrypt] [--mech cbc-pad|gcm] [--chunk BYTES] [--half-file PATH]\n");
		return 2;
	}
	if (!strcmp(mech_name, "gcm")) {
		mech.mechanism = CKM_AES_GCM;
		mech.pParameter = &gcm;
		mech.ulParameterLen = sizeof(gcm);
	} else if (strcmp(mech_name, "cbc-pad")) {
		fprintf(stderr, "hsmg-e2e-multipart: --mech cbc-pad or gcm\n");
		return 2;
	}

	p11_prog = "hsmg-e2e-multipart";
	if (p11_load(module, err, sizeof(err))) {
		fprintf(stderr, "hsmg-e2e-multipart: %s\n", err);
		return 1;
	}
	P11(C_Initialize, &init);
	P11(C_OpenSession, first_slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	P11(C_Login, s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	key = aes_key(s);

	in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in_fd < 0 || out_fd < 0) {
		perror("hsmg-e2e-multipart: open");
		return 1;
	}
	total = lseek(in_fd, 0, SEEK_END);
	lseek(in_fd, 0, SEEK_SET);
	buf = malloc(chunk);
	obuf = malloc(chunk + 64);
	if (!buf || !obuf)
		return 1;

	t0 = now_ms();
	if (do_digest)
		P11(C_DigestInit, s, &sha);
	if (do_cipher && decrypt)
		P11(C_DecryptInit, s, &mech, key);
	else if (do_cipher)
		P11(C_EncryptInit, s, &mech, key);
	for (;;) {
		ssize_t n = read(in_fd, buf, chunk);

		if (n < 0) {
			perror("hsmg-e2e-multipart: read");
			return 1;
		}
		if (n == 0)
			break;
		if (do_digest)
			P11(C_DigestUpdate, s, buf, n);
		olen = chunk + 64;
		if (!do_cipher)
			olen = 0;
		else if (decrypt)
			P11(C_DecryptUpdate, s, buf, n, obuf, &olen);
		else
			P11(C_EncryptUpdate, s, buf, n, obuf, &olen);
		if (olen && write(out_fd, obuf, olen) != (ssize_t)olen) {
			perror("hsmg-e2e-multipart: write");
			return 1;
		}
		out_bytes += olen;
		fed += n;
		parts++;
		if (half_file && !half_done && fed * 2 >= total) {
			int fd = open(half_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

			if (fd >= 0)
				close(fd);
			half_done = 1;
		}
	}
	if (do_digest)
		P11(C_DigestFinal, s, digest, &dlen);
	else
		dlen = 0;
	/* Final output: up to a block/tag, or (GCM decryption) the whole text. */
	olen = 0;
	if (do_cipher && decrypt)
		P11(C_DecryptFinal, s, NULL, &olen);
	else if (do_cipher)
		P11(C_EncryptFinal, s, NULL, &olen);
	free(obuf);
	obuf = malloc(olen + 1);
	if (!obuf)
		return 1;
	if (do_cipher && decrypt)
		P11(C_DecryptFinal, s, obuf, &olen);
	else if (do_cipher)
		P11(C_EncryptFinal, s, obuf, &olen);
	if (olen && write(out_fd, obuf, olen) != (ssize_t)olen) {
		perror("hsmg-e2e-multipart: write");
		return 1;
	}
	out_bytes += olen;
	close(out_fd);
	close(in_fd);

	printf("sha256=%s", dlen ? "" : "none");
	for (CK_ULONG i = 0; i < dlen; i++)
		printf("%02x", digest[i]);
	printf(" out_bytes=%lld parts=%lld ms=%lld\n", out_bytes, parts, now_ms() - t0);
	P11(C_Logout, s);
	P11(C_CloseSession, s);
	P11(C_Finalize, NULL);
	free(buf);
	free(obuf);
	return 0;
}
