// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-permtool - small client for tests/perm/run.
 *
 *   hsmg-permtool open        open /dev/hsmgroup read-write; exit 0, or print
 *                             the errno name and exit 1
 *   hsmg-permtool login PIN   open a session on the first group, log it in
 *                             with PIN, print "blob <pin-blob in hex>", stay
 *                             logged in until stdin ends, then exit 0
 *   hsmg-permtool sessions FILES N [hold]
 *                             open FILES client files and N sessions on each
 *                             (not logged in); print "sessions <opened>" and
 *                             "stop <errno name>" at the first failure; with
 *                             "hold", keep them until stdin ends; exit 0 when
 *                             all were opened, else 1
 *   hsmg-permtool sign-blob FILE
 *                             sign 32 bytes (CKM_ECDSA) with the key blob in
 *                             FILE on the first group, in no session (a
 *                             stolen blob without a login); print "rv 0x.."
 *                             (the card's answer) and exit 0 when it signed,
 *                             else 1
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "client.h"
#include "hsmg_msg.h"

#define CKM_ECDSA_ 0x1041 /* PKCS#11 CKM_ECDSA */

static int fail(const char *what, int err)
{
	printf("%s: %s\n", what, strerrorname_np(err) ?: "E?");
	return 1;
}

static int sign_blob(const char *file)
{
	static uint8_t blob[8192], req[16384], resp[4096];
	static const char data[32] = "0123456789abcdef0123456789abcde";
	struct hsmg_client_req r = {0};
	struct hsmg_msg_builder b;
	struct hsmg_msg_view v;
	uint32_t group;
	ssize_t n, len;
	int fd, err;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("blob file", errno);
	n = read(fd, blob, sizeof(blob));
	close(fd);
	if (n <= 0)
		return fail("blob file", EINVAL);
	hsmg_msg_init(&b, req, sizeof(req), HSMG_MSG_REQUEST, HSMG_MSG_OP_SIGN, CKM_ECDSA_);
	hsmg_msg_put(&b, HSMG_TAG_KEY, blob, (uint32_t)n);
	hsmg_msg_put(&b, HSMG_TAG_DATA, data, sizeof(data));
	len = hsmg_msg_finish(&b);
	if (len < 0)
		return fail("message", EINVAL);
	fd = hsmg_client_open(NULL, NULL);
	if (fd < 0)
		return fail("open", -fd);
	err = hsmg_client_first_group(fd, &group);
	if (err)
		return fail("group", -err);
	r.group_id = group;
	r.op_class = HSMG_OP_SIGN;
	r.req = req;
	r.req_len = (uint32_t)len;
	r.resp = resp;
	r.resp_cap = sizeof(resp);
	err = hsmg_client_submit(fd, &r);
	close(fd);
	if (err)
		return fail("submit", -err);
	if (hsmg_msg_parse_type(&v, resp, r.resp_len, HSMG_MSG_RESPONSE))
		return fail("answer", EPROTO);
	printf("rv 0x%llx\n", (unsigned long long)v.hdr.rv);
	return v.hdr.rv ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct hsmg_session_open so = {.argsz = sizeof(so), .flags = HSMG_SESSION_RW};
	struct hsmg_login lg = {.argsz = sizeof(lg)};
	uint32_t group;
	char buf[64];
	int fd, ret, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "open")) {
		fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail("open", errno);
		printf("open: ok\n");
		close(fd);
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "sessions")) {
		int files = atoi(argv[2]), n = atoi(argv[3]), f, k, opened = 0;

		for (f = 0; f < files; f++) {
			fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				break;
			if (!f && hsmg_client_first_group(fd, &group))
				return fail("group", EINVAL);
			so.group_id = group;
			for (k = 0; k < n; k++) {
				if (ioctl(fd, HSMG_IOC_SESSION_OPEN, &so))
					break;
				opened++;
			}
			if (k < n)
				break;
		}
		printf("sessions %d\n", opened);
		if (opened != files * n)
			return fail("stop", errno);
		if (argc == 5 && !strcmp(argv[4], "hold"))
			while (read(0, buf, sizeof(buf)) > 0)
				;
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "sign-blob"))
		return sign_blob(argv[2]);
	if (argc != 3 || strcmp(argv[1], "login")) {
		fprintf(stderr, "usage: hsmg-permtool open | login PIN | sessions FILES N\n");
		return 2;
	}
	fd = open(HSMG_CLIENT_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open", errno);
	ret = hsmg_client_first_group(fd, &group);
	if (ret)
		return fail("group", -ret);
	so.group_id = group;
	if (ioctl(fd, HSMG_IOC_SESSION_OPEN, &so))
		return fail("session", errno);
	lg.session_id = so.session_id;
	lg.pin_len = strlen(argv[2]);
	lg.pin = (uintptr_t)argv[2];
	if (ioctl(fd, HSMG_IOC_LOGIN, &lg))
		return fail("login", errno);
	printf("blob ");
	for (i = 0; i < HSMG_PIN_BLOB_LEN; i++)
		printf("%02x", lg.pin_blob[i]);
	printf("\n");
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}
