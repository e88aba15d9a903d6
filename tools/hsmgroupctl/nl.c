// SPDX-License-Identifier: GPL-2.0
/*
 * hsmgroupctl: talking to the "hsmgroup" generic netlink family.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/hsmgroup.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct ctl_nl {
	struct nl_sock *sk;
	struct nl_sock *ev;
	int family;
	char errmsg[256];
};

struct call_state {
	struct ctl_nl *nl;
	ctl_nl_cb cb;
	void *arg;
	int err;
	int cb_err;
	bool done;
};

struct ctl_nl *ctl_nl_open(void)
{
	struct ctl_nl *nl = calloc(1, sizeof(*nl));
	int one = 1, ret;

	if (!nl) {
		fprintf(stderr, "hsmgroupctl: out of memory\n");
		return NULL;
	}
	nl->sk = nl_socket_alloc();
	if (!nl->sk || genl_connect(nl->sk)) {
		fprintf(stderr, "hsmgroupctl: cannot open a generic netlink socket\n");
		goto fail;
	}
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl_socket_set_buffer_size(nl->sk, 1 << 20, 1 << 20);
	ret = genl_ctrl_resolve(nl->sk, HSMG_GENL_NAME);
	if (ret < 0) {
		fprintf(stderr, "hsmgroup: kernel module not loaded (modprobe hsmgroup)\n");
		goto fail;
	}
	nl->family = ret;
	return nl;
fail:
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
	return NULL;
}

void ctl_nl_close(struct ctl_nl *nl)
{
	if (!nl)
		return;
	if (nl->ev)
		nl_socket_free(nl->ev);
	nl_socket_free(nl->sk);
	free(nl);
}

const char *ctl_nl_errmsg(struct ctl_nl *nl)
{
	return nl->errmsg;
}

struct nl_msg *ctl_nl_msg(struct ctl_nl *nl, int cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, dump ? NLM_F_DUMP : 0, cmd,
			 HSMG_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int ctl_nl_nest(struct nlattr **tb, int max, struct nlattr *nest)
{
	/* tb is an array of max + 1 pointers. */
	memset(tb, 0, sizeof(*tb) * (max + 1)); // NOLINT(bugprone-sizeof-expression)
	if (!nest)
		return -1;
	return nla_parse_nested(tb, max, nest, NULL) ? -1 : 0;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct call_state *st = arg;
	struct nlattr *tb[HSMG_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (genlmsg_parse(nlh, 0, tb, HSMG_A_MAX, NULL))
		return NL_SKIP;
	if (st->cb && !st->cb_err)
		st->cb_err = st->cb(tb, st->arg);
	return NL_OK;
}

/* The extended ack message after a struct nlmsgerr. */
static void extack_msg(struct ctl_nl *nl, struct nlmsghdr *nlh, struct nlmsgerr *e)
{
	size_t off = sizeof(*nlh) + sizeof(*e);
	struct nlattr *a;
	int len;

	nl->errmsg[0] = 0;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (off >= nlh->nlmsg_len)
		return;
	len = nlh->nlmsg_len - off;
	for (a = (struct nlattr *)((char *)nlh + off); nla_ok(a, len); a = nla_next(a, &len)) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG) {
			snprintf(nl->errmsg, sizeof(nl->errmsg), "%.*s", nla_len(a),
				 (const char *)nla_data(a));
			nl->errmsg[strcspn(nl->errmsg, "\n")] = 0;
		}
	}
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct call_state *st = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)e - 1;

	st->err = e->error;
	extack_msg(st->nl, nlh, e);
	st->done = true;
	return NL_STOP;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct call_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A dump that failed part way reports its error in NLMSG_DONE. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		int err = *(int *)nlmsg_data(nlh);

		if (err < 0)
			st->err = err;
	}
	st->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct call_state *st = arg;

	st->done = true;
	return NL_STOP;
}

int ctl_nl_call(struct ctl_nl *nl, struct nl_msg *msg, ctl_nl_cb cb, void *arg)
{
	struct call_state st = {.nl = nl, .cb = cb, .arg = arg};
	struct nl_cb *c;
	int ret;

	nl->errmsg[0] = 0;
	c = nl_cb_alloc(NL_CB_CUSTOM);
	if (!c) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &st);
	nl_cb_set(c, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &st);
	nl_cb_set(c, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &st);
	nl_cb_err(c, NL_CB_CUSTOM, error_cb, &st);
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(c);
		return -EIO;
	}
	while (!st.done) {
		ret = nl_recvmsgs(nl->sk, c);
		if (ret < 0 && !st.done) {
			st.err = -EIO;
			break;
		}
	}
	nl_cb_put(c);
	if (st.err)
		return st.err;
	return st.cb_err;
}

int ctl_nl_subscribe(struct ctl_nl *nl)
{
	int grp;

	grp = genl_ctrl_resolve_grp(nl->sk, HSMG_GENL_NAME, HSMG_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	nl->ev = nl_socket_alloc();
	if (!nl->ev)
		return -ENOMEM;
	if (genl_connect(nl->ev)) {
		nl_socket_free(nl->ev);
		nl->ev = NULL;
		return -EIO;
	}
	nl_socket_disable_seq_check(nl->ev);
	nl_socket_set_buffer_size(nl->ev, 1 << 20, 0);
	if (nl_socket_add_membership(nl->ev, grp))
		return -EIO;
	return 0;
}

int ctl_nl_fd(struct ctl_nl *nl)
{
	return nl_socket_get_fd(nl->ev);
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

int ctl_nl_events(struct ctl_nl *nl, ctl_nl_cb cb, void *arg)
{
	struct call_state st = {.nl = nl, .cb = cb, .arg = arg};
	struct nl_cb *c = nl_cb_alloc(NL_CB_CUSTOM);
	int ret;

	if (!c)
		return -ENOMEM;
	/* Multicasts carry no sequence number of ours. */
	nl_cb_set(c, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &st);
	ret = nl_recvmsgs(nl->ev, c);
	nl_cb_put(c);
	if (ret < 0)
		return -EIO;
	return st.cb_err;
}
