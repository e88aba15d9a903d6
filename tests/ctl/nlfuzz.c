// SPDX-License-Identifier: GPL-2.0
/*
 * hsmg-nlfuzz - send malformed messages to the "hsmgroup" generic netlink
 * family: unknown commands, wrong attribute types and lengths, missing
 * attributes, garbage and deeply nested attributes, truncated headers,
 * random bytes.  Every message must get an answer (an error, or a reply
 * for the few well-formed reads); the kernel must not oops (the VM runner
 * fails on a splat).  Run as root to reach the admin commands' parsers;
 * the caller restores queue states and policy afterwards.
 *
 *   hsmg-nlfuzz [--iterations N] [--seed S]
 * Exit: 0 all answered, 1 a message went unanswered or a socket error, 77
 * no hsmgroup family (module not loaded).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/hsmgroup.h>
#include <linux/netlink.h>

#define BUF 65536

static int fd;
static uint32_t seq = 1;
static uint16_t family;
static uint64_t rng;
static unsigned long n_err, n_ok, n_lost;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

struct msg {
	char buf[BUF];
	size_t len;
};

static void msg_init(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *nlh = (void *)m->buf;
	struct genlmsghdr *g = (void *)(nlh + 1);

	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq++;
	g->cmd = cmd;
	g->version = HSMG_GENL_VERSION;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* Append an attribute; returns its offset (for nests). */
static size_t put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (void *)(m->buf + m->len);
	size_t off = m->len;

	if (m->len + NLA_HDRLEN + NLA_ALIGN(len) > BUF)
		return off;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (data)
		memcpy(a + 1, data, len);
	else
		memset(a + 1, 0, len);
	m->len += NLA_HDRLEN + NLA_ALIGN(len);
	return off;
}

static size_t nest_start(struct msg *m, uint16_t type)
{
	return put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, size_t off)
{
	struct nlattr *a = (void *)(m->buf + off);

	a->nla_len = m->len - off;
}

static void put_u32(struct msg *m, uint16_t t, uint32_t v)
{
	put(m, t, &v, 4);
}

static void put_u16(struct msg *m, uint16_t t, uint16_t v)
{
	put(m, t, &v, 2);
}

static void put_u64(struct msg *m, uint16_t t, uint64_t v)
{
	put(m, t, &v, 8);
}

static void put_random_attrs(struct msg *m, int depth)
{
	int i, n = rnd() % 6;

	for (i = 0; i < n; i++) {
		uint16_t t = rnd() % 28;
		char data[80];
		size_t len = rnd() % sizeof(data);

		if (depth < 3 && rnd() % 3 == 0) {
			size_t o = nest_start(m, t);

			put_random_attrs(m, depth + 1);
			nest_end(m, o);
			continue;
		}
		for (size_t k = 0; k < len; k++)
			data[k] = rnd();
		put(m, t | (rnd() % 8 == 0 ? NLA_F_NESTED : 0), data, len);
	}
}

static int recv_answer(uint32_t want_seq)
{
	char buf[BUF];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		ssize_t n;
		struct nlmsghdr *nlh;

		if (poll(&p, 1, 5000) <= 0)
			return -1;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == ENOBUFS ? 0 : -1;
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != want_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (e->error)
					n_err++;
				else
					n_ok++;
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				n_ok++;
				return 0;
			}
		}
	}
}

static int send_msg(struct msg *m)
{
	struct nlmsghdr *nlh = (void *)m->buf;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	nlh->nlmsg_len = m->len;
	if (sendto(fd, m->buf, m->len, 0, (void *)&sa, sizeof(sa)) < 0)
		return errno == EINVAL || errno == EPERM ? 0 : -1;
	if (recv_answer(nlh->nlmsg_seq)) {
		n_lost++;
		return -1;
	}
	return 0;
}

static int resolve(void)
{
	struct msg m;
	char buf[BUF];
	ssize_t n;
	struct nlmsghdr *nlh;

	msg_init(&m, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	((struct genlmsghdr *)(m.buf + NLMSG_HDRLEN))->version = 1;
	put(&m, CTRL_ATTR_FAMILY_NAME, HSMG_GENL_NAME, sizeof(HSMG_GENL_NAME));
	((struct nlmsghdr *)m.buf)->nlmsg_len = m.len;
	if (send(fd, m.buf, m.len, 0) < 0)
		return -1;
	n = recv(fd, buf, sizeof(buf), 0);
	for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
		struct nlattr *a;
		int rem;

		if (nlh->nlmsg_type != GENL_ID_CTRL)
			continue;
		rem = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
		for (a = (void *)((char *)NLMSG_DATA(nlh) + GENL_HDRLEN); rem >= NLA_HDRLEN;) {
			if (a->nla_type == CTRL_ATTR_FAMILY_ID) {
				family = *(uint16_t *)(a + 1);
				return 0;
			}
			rem -= NLA_ALIGN(a->nla_len);
			a = (void *)((char *)a + NLA_ALIGN(a->nla_len));
		}
	}
	return -1;
}

/* Structured cases: each is a plausible message with one thing wrong. */
static void build_case(struct msg *m, unsigned int c)
{
	uint8_t cmd = 1 + rnd() % HSMG_CMD_MAX;
	uint16_t dump = rnd() % 4 == 0 ? NLM_F_DUMP : 0;
	size_t o, o2;
	int i;

	msg_init(m, family, dump, cmd);
	switch (c % 16) {
	case 0: /* unknown command */
		((struct genlmsghdr *)(m->buf + NLMSG_HDRLEN))->cmd =
		    rnd() % 2 ? 0 : HSMG_CMD_MAX + 1 + rnd() % 200;
		break;
	case 1: /* top-level nest as a scalar */
		put_u32(m, 1 + rnd() % HSMG_A_MAX, rnd());
		break;
	case 2: /* group id wrong size / zero / huge */
		o = nest_start(m, HSMG_A_GROUP);
		if (rnd() % 2)
			put(m, HSMG_GROUP_A_ID, "\1", 1);
		else
			put_u32(m, HSMG_GROUP_A_ID, rnd() % 2 ? 0 : 0xffffffff);
		nest_end(m, o);
		break;
	case 3: /* queue out of range or missing domain */
		o = nest_start(m, HSMG_A_QUEUE);
		put_u16(m, HSMG_QUEUE_A_ADAPTER, rnd() % 2 ? 256 + rnd() % 1000 : 1);
		if (rnd() % 2)
			put_u32(m, HSMG_QUEUE_A_DOMAIN, 1);
		put_u32(m, HSMG_QUEUE_A_ADMIN, rnd() % 2 ? 0 : 6 + rnd() % 100);
		nest_end(m, o);
		break;
	case 4: /* output-only attributes in a request */
		o = nest_start(m, HSMG_A_QUEUE);
		put_u16(m, HSMG_QUEUE_A_ADAPTER, 0x55);
		put_u16(m, HSMG_QUEUE_A_DOMAIN, 0x55);
		put_u32(m, HSMG_QUEUE_A_STATE + rnd() % 10, 1);
		nest_end(m, o);
		break;
	case 5: /* stats/event nests from userspace */
		o = nest_start(m, rnd() % 2 ? HSMG_A_STATS : HSMG_A_EVENT);
		put_u32(m, 1, 1);
		nest_end(m, o);
		break;
	case 6: /* policy: out of range, unknown attr, bad reset mask */
		o = nest_start(m, HSMG_A_GROUP);
		put_u32(m, HSMG_GROUP_A_ID, 0x7fff0000 + rnd() % 100);
		nest_end(m, o);
		o = nest_start(m, HSMG_A_POLICY);
		put_u32(m, 1 + rnd() % (HSMG_POLICY_A_MAX + 3), rnd() % 2 ? 0 : 0xffffffff);
		nest_end(m, o);
		break;
	case 7: /* session id wrong size or zero */
		o = nest_start(m, HSMG_A_SESSION);
		if (rnd() % 2)
			put_u32(m, HSMG_SESSION_A_ID, 1);
		else
			put_u64(m, HSMG_SESSION_A_ID, rnd() % 2 ? 0 : 0xdeadbeefdeadbeefULL);
		nest_end(m, o);
		break;
	case 8: /* deep nesting */
		for (i = 0; i < 40 && m->len < BUF - 64; i++)
			nest_start(m, 1 + rnd() % HSMG_A_MAX);
		/* lengths left 4: every nest is empty, then garbage after */
		put_u32(m, 1, 1);
		break;
	case 9: /* oversized nest: claims more than the message holds */
		o = nest_start(m, HSMG_A_QUEUE);
		put_u16(m, HSMG_QUEUE_A_ADAPTER, 1);
		((struct nlattr *)(m->buf + o))->nla_len = 4000;
		break;
	case 10: /* many attributes (large message) */
		for (i = 0; i < 2000; i++)
			put_u32(m, 1 + rnd() % (HSMG_A_MAX + 4), rnd());
		break;
	case 11: /* empty nests everywhere */
		for (i = 1; i <= HSMG_A_MAX; i++) {
			o = nest_start(m, i);
			nest_end(m, o);
		}
		break;
	case 12: /* truncated: attribute header cut */
		put_u32(m, HSMG_A_GROUP, 1);
		m->len -= 6;
		break;
	case 13: /* nest inside nest where a scalar belongs */
		o = nest_start(m, HSMG_A_GROUP);
		o2 = nest_start(m, HSMG_GROUP_A_ID);
		put_u32(m, 1, 1);
		nest_end(m, o2);
		nest_end(m, o);
		break;
	case 14: /* genl header only, or shorter than one */
		if (rnd() % 2)
			m->len = NLMSG_HDRLEN + rnd() % GENL_HDRLEN;
		break;
	default: /* random attributes */
		put_random_attrs(m, 0);
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned long iterations = 20000, i;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct msg *m = malloc(sizeof(*m));
	int bufsz = 1 << 20;

	rng = 0x9e3779b97f4a7c15ULL;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--iterations") && a + 1 < argc)
			iterations = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--seed") && a + 1 < argc)
			rng = strtoull(argv[++a], NULL, 0) | 1;
		else {
			fprintf(stderr, "usage: hsmg-nlfuzz [--iterations N] [--seed S]\n");
			return 2;
		}
	}
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (void *)&sa, sizeof(sa))) {
		perror("hsmg-nlfuzz: netlink socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (resolve()) {
		fprintf(stderr, "hsmg-nlfuzz: no hsmgroup family (module not loaded)\n");
		return 77;
	}
	for (i = 0; i < iterations; i++) {
		if (i % 5 == 4) {
			/* Random bytes after a valid netlink header. */
			msg_init(m, family, rnd() % 2 ? NLM_F_DUMP : 0, rnd() % 12);
			m->len += rnd() % 256;
			for (size_t k = NLMSG_HDRLEN; k < m->len; k++)
				m->buf[k] = rnd();
		} else {
			build_case(m, rnd());
		}
		if (send_msg(m)) {
			fprintf(stderr, "hsmg-nlfuzz: message %lu unanswered\n", i);
			return 1;
		}
	}
	printf("hsmg-nlfuzz: %lu messages, %lu errors, %lu accepted, %lu unanswered\n", iterations,
	       n_err, n_ok, n_lost);
	return n_lost ? 1 : 0;
}
