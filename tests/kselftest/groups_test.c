// SPDX-License-Identifier: GPL-2.0
/*
 * HSMG_IOC_LIST_GROUPS and HSMG_IOC_LIST_MEMBERS: contents, counting,
 * -ENOSPC with the needed count, element sizes, mismatch listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "fixture.h"

FIXTURE(groups)
{
	int cfd;
	struct tgroup g, g2;
};

FIXTURE_SETUP(groups)
{
	HSMG_REQUIRE_DEVICES();
	self->cfd = hsmg_open_client();
	ASSERT_LE(0, self->cfd);
	ASSERT_OK(tgroup_create(&self->g, 2, 0));
	ASSERT_OK(tgroup_create(&self->g2, 1, 0));
	ASSERT_NE(self->g.group_id, self->g2.group_id);
}

FIXTURE_TEARDOWN(groups)
{
	tgroup_destroy(&self->g);
	tgroup_destroy(&self->g2);
	if (self->cfd >= 0)
		close(self->cfd);
}

static void fill_glist(struct hsmg_group_list *l, uint32_t count, void *buf)
{
	memset(l, 0, sizeof(*l));
	l->argsz = sizeof(*l);
	l->count = count;
	l->elem_size = sizeof(struct hsmg_group_info);
	l->groups = (uintptr_t)buf;
}

static void fill_mlist(struct hsmg_member_list *l, uint32_t group, uint32_t count, void *buf)
{
	memset(l, 0, sizeof(*l));
	l->argsz = sizeof(*l);
	l->group_id = group;
	l->count = count;
	l->elem_size = sizeof(struct hsmg_member_info);
	l->members = (uintptr_t)buf;
}

TEST_F(groups, count_query)
{
	struct hsmg_group_list l;
	struct hsmg_info info = {.argsz = sizeof(info)};

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	EXPECT_LE(2, l.count);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_GET_INFO, &info);
	EXPECT_EQ(info.ngroups, l.count);
}

TEST_F(groups, list_contents)
{
	struct hsmg_group_list l;
	struct hsmg_group_info *gi;
	uint32_t n, i, found = 0;

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	n = l.count + 8;
	gi = calloc(n, sizeof(*gi));
	ASSERT_NE(NULL, gi);
	memset(gi, 0xee, n * sizeof(*gi));
	fill_glist(&l, n, gi);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	ASSERT_LE(2, l.count);
	ASSERT_GE(n, l.count);
	for (i = 0; i < l.count; i++) {
		EXPECT_LE(1, gi[i].group_id);
		EXPECT_EQ(0, gi[i].reserved[0]);
		EXPECT_EQ(0, gi[i].reserved[1]);
		EXPECT_NE(0, gi[i].hold_time_ms);
		if (gi[i].group_id == self->g.group_id) {
			found |= 1;
			EXPECT_EQ(2, gi[i].nmembers);
			EXPECT_EQ(2, gi[i].nonline);
			EXPECT_EQ(0, gi[i].offline_ms);
			EXPECT_EQ(0, gi[i].nmismatch);
			EXPECT_EQ(0, memcmp(gi[i].mkvp, self->g.mkvp, HSMG_MKVP_LEN));
			EXPECT_EQ(0, gi[i].errors);
			EXPECT_EQ(0, gi[i].failovers);
		}
		if (gi[i].group_id == self->g2.group_id) {
			found |= 2;
			EXPECT_EQ(1, gi[i].nmembers);
			EXPECT_EQ(1, gi[i].nonline);
			EXPECT_EQ(0, memcmp(gi[i].mkvp, self->g2.mkvp, HSMG_MKVP_LEN));
		}
	}
	EXPECT_EQ(3, found);
	/* Elements past count are not touched. */
	EXPECT_EQ(0xeeeeeeee, gi[l.count].group_id);
	free(gi);
}

/* Group ids are unique within one listing. */
TEST_F(groups, ids_unique)
{
	struct hsmg_group_list l;
	struct hsmg_group_info *gi;
	uint32_t i, j, n;

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	n = l.count + 16;
	gi = calloc(n, sizeof(*gi));
	ASSERT_NE(NULL, gi);
	fill_glist(&l, n, gi);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	for (i = 0; i < l.count; i++)
		for (j = i + 1; j < l.count; j++)
			ASSERT_NE(gi[i].group_id, gi[j].group_id);
	free(gi);
}

TEST_F(groups, enospc)
{
	struct hsmg_group_list l;
	struct hsmg_group_info gi[1];
	uint32_t n;

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	n = l.count;
	ASSERT_LE(2, n);
	fill_glist(&l, 1, gi);
	ASSERT_IOCTL_ERR(ENOSPC, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	EXPECT_EQ(n, l.count);
}

/* A larger element: the kernel's bytes, then zeroes up to elem_size. */
TEST_F(groups, elem_size_larger)
{
	const uint32_t esz = sizeof(struct hsmg_group_info) + 40;
	struct hsmg_group_list l;
	uint8_t *buf;
	uint32_t n, i, j;

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	n = l.count + 4;
	buf = malloc(n * esz);
	ASSERT_NE(NULL, buf);
	memset(buf, 0xee, n * esz);
	fill_glist(&l, n, buf);
	l.elem_size = esz;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	for (i = 0; i < l.count; i++) {
		const struct hsmg_group_info *gi = (void *)(buf + i * esz);

		EXPECT_LE(1, gi->group_id);
		for (j = sizeof(*gi); j < esz; j++)
			ASSERT_EQ(0, buf[i * esz + j]);
	}
	free(buf);
}

TEST_F(groups, elem_size_too_small)
{
	struct hsmg_group_list l;
	struct hsmg_group_info gi[64];

	fill_glist(&l, 64, gi);
	l.elem_size = HSMG_GROUP_INFO_SIZE_V1 - 8;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	l.elem_size = 0;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
}

TEST_F(groups, group_list_argsz_flags)
{
	struct {
		struct hsmg_group_list l;
		uint64_t tail;
	} big;
	struct hsmg_group_list l;

	fill_glist(&l, 0, NULL);
	l.argsz = HSMG_GROUP_LIST_SIZE_V1 - 4;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	fill_glist(&l, 0, NULL);
	l.flags = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	l.flags = 0x80000000;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_GROUPS, &l);

	memset(&big, 0, sizeof(big));
	fill_glist(&big.l, 0, NULL);
	big.l.argsz = sizeof(big);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &big);
	EXPECT_LE(2, big.l.count);
	big.l.count = 0;
	big.tail = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LIST_GROUPS, &big);
	/* Size before flags. */
	big.l.flags = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LIST_GROUPS, &big);
}

TEST_F(groups, group_list_efault)
{
	struct hsmg_group_list l;
	uint8_t *pg = hsmg_guard_page();
	long psz = sysconf(_SC_PAGESIZE);

	uint32_t n;

	ASSERT_NE(NULL, pg);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_GROUPS, NULL);
	/* groups pile up over a run: a capacity for all of them */
	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	n = l.count + 16;
	fill_glist(&l, n, NULL);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	fill_glist(&l, n, (void *)16);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	/* Room for one element only before the PROT_NONE page. */
	fill_glist(&l, n, pg + psz - sizeof(struct hsmg_group_info));
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	hsmg_guard_page_free(pg);
}

TEST_F(groups, members_contents)
{
	struct hsmg_member_list l;
	struct hsmg_member_info m[8];
	uint32_t i, k, found = 0;

	memset(m, 0xee, sizeof(m));
	fill_mlist(&l, self->g.group_id, 8, m);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	ASSERT_EQ(2, l.count);
	for (i = 0; i < l.count; i++) {
		for (k = 0; k < self->g.nq; k++) {
			struct tq *q = self->g.q[k];

			if (m[i].queue_id != q->queue_id)
				continue;
			found |= 1 << k;
			EXPECT_EQ(q->adapter, m[i].adapter);
			EXPECT_EQ(q->domain, m[i].domain);
			EXPECT_EQ(HSMG_QS_ONLINE, m[i].state);
			EXPECT_EQ(100, m[i].speed);
			EXPECT_EQ(16, m[i].max_inflight);
			EXPECT_EQ(0, m[i].max_sessions);
			EXPECT_EQ(0, m[i].sessions);
			EXPECT_EQ(0, m[i].inflight);
			EXPECT_EQ(0, m[i].pending);
			EXPECT_EQ(0, m[i].errors);
			EXPECT_EQ(0, memcmp(m[i].mkvp, self->g.mkvp, HSMG_MKVP_LEN));
			EXPECT_EQ(0, m[i].reserved[0]);
			EXPECT_EQ(0, m[i].reserved[1]);
		}
	}
	EXPECT_EQ(3, found);
	EXPECT_NE(m[0].queue_id, m[1].queue_id);
	EXPECT_EQ(0xeeeeeeee, m[2].queue_id);

	fill_mlist(&l, self->g2.group_id, 8, m);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	ASSERT_EQ(1, l.count);
	EXPECT_EQ(self->g2.q[0]->queue_id, m[0].queue_id);
}

/* What the backend announced at attach shows in the listing. */
TEST_F(groups, members_attach_params)
{
	struct hsmg_be_attach a;
	struct hsmg_member_info mi;
	int fd = hsmg_open_backend(), tries;

	ASSERT_LE(0, fd);
	for (tries = 0; tries < 50; tries++) {
		uint16_t r;

		hsmg_random(&r, sizeof(r));
		tq_fill_attach(&a, 0x40 + (r & 0x7f), r >> 8, self->g.mkvp);
		a.max_inflight = 7;
		a.speed = 250;
		a.max_sessions = 3;
		if (hsmg_ioctl(fd, HSMG_IOC_BE_ATTACH, &a))
			continue;
		if (a.state != HSMG_QS_MISMATCH)
			break;
		ASSERT_OK(hsmg_ioctl(fd, HSMG_IOC_BE_DETACH, NULL));
	}
	ASSERT_GT(50, tries);
	EXPECT_EQ(self->g.group_id, a.group_id);
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, a.queue_id, &mi));
	EXPECT_EQ(a.adapter, mi.adapter);
	EXPECT_EQ(a.domain, mi.domain);
	EXPECT_EQ(7, mi.max_inflight);
	EXPECT_EQ(250, mi.speed);
	EXPECT_EQ(3, mi.max_sessions);
	close(fd);
}

TEST_F(groups, members_enospc)
{
	struct hsmg_member_list l;
	struct hsmg_member_info m[1];

	fill_mlist(&l, self->g.group_id, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	EXPECT_EQ(2, l.count);
	fill_mlist(&l, self->g.group_id, 1, m);
	ASSERT_IOCTL_ERR(ENOSPC, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	EXPECT_EQ(2, l.count);
}

TEST_F(groups, members_elem_size)
{
	const uint32_t esz = sizeof(struct hsmg_member_info) + 24;
	struct hsmg_member_list l;
	uint8_t buf[4 * (sizeof(struct hsmg_member_info) + 24)];
	uint32_t i, j;

	memset(buf, 0xee, sizeof(buf));
	fill_mlist(&l, self->g.group_id, 4, buf);
	l.elem_size = esz;
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	ASSERT_EQ(2, l.count);
	for (i = 0; i < 2; i++) {
		const struct hsmg_member_info *m = (void *)(buf + i * esz);

		EXPECT_LE(1, m->queue_id);
		for (j = sizeof(*m); j < esz; j++)
			ASSERT_EQ(0, buf[i * esz + j]);
	}
	fill_mlist(&l, self->g.group_id, 4, buf);
	l.elem_size = HSMG_MEMBER_INFO_SIZE_V1 - 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	l.elem_size = 0;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
}

TEST_F(groups, members_unknown_group)
{
	struct hsmg_member_list l;
	struct hsmg_member_info m[4];

	fill_mlist(&l, 0, 4, m);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, 0xffffffff, 4, m);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, 0x7ffffff0, 0, NULL);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
}

TEST_F(groups, members_argsz_flags_reserved)
{
	struct {
		struct hsmg_member_list l;
		uint8_t tail[16];
	} big;
	struct hsmg_member_list l;
	struct hsmg_member_info m[4];

	fill_mlist(&l, self->g.group_id, 4, m);
	l.argsz = HSMG_MEMBER_LIST_SIZE_V1 - 8;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, self->g.group_id, 4, m);
	l.flags = 2;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, self->g.group_id, 4, m);
	l.reserved = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);

	memset(&big, 0, sizeof(big));
	fill_mlist(&big.l, self->g.group_id, 4, m);
	big.l.argsz = sizeof(big);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_MEMBERS, &big);
	EXPECT_EQ(2, big.l.count);
	big.tail[15] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LIST_MEMBERS, &big);
}

/* size, then flags, then reserved, then ids, then buffers. */
TEST_F(groups, members_check_order)
{
	struct {
		struct hsmg_member_list l;
		uint8_t tail[8];
	} big;
	struct hsmg_member_list l;

	memset(&big, 0, sizeof(big));
	fill_mlist(&big.l, 0, 4, NULL);
	big.l.argsz = sizeof(big);
	big.l.flags = 1;
	big.l.reserved = 1;
	big.tail[0] = 1;
	ASSERT_IOCTL_ERR(E2BIG, self->cfd, HSMG_IOC_LIST_MEMBERS, &big);

	/* flags / reserved before the unknown group. */
	fill_mlist(&l, 0, 4, NULL);
	l.flags = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, 0, 4, NULL);
	l.reserved = 1;
	ASSERT_IOCTL_ERR(EINVAL, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	/* The unknown group before the bad buffer and bad element size. */
	fill_mlist(&l, 0, 4, (void *)8);
	ASSERT_IOCTL_ERR(ENOENT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	/* A too small buffer is seen before writing into a bad one. */
	fill_mlist(&l, self->g.group_id, 1, (void *)8);
	ASSERT_IOCTL_ERR(ENOSPC, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	EXPECT_EQ(2, l.count);
}

TEST_F(groups, members_efault)
{
	struct hsmg_member_list l;

	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_MEMBERS, NULL);
	fill_mlist(&l, self->g.group_id, 4, NULL);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
	fill_mlist(&l, self->g.group_id, 4, (void *)-4096L);
	ASSERT_IOCTL_ERR(EFAULT, self->cfd, HSMG_IOC_LIST_MEMBERS, &l);
}

/* A detached member stays listed as offline; counts follow. */
TEST_F(groups, detached_member_offline)
{
	struct hsmg_member_info mi;
	struct hsmg_group_info gi;
	struct tq *q = self->g.q[1];

	ASSERT_OK(tq_detach(q));
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_OFFLINE, 5000));
	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_OFFLINE, mi.state);
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(2, gi.nmembers);
	EXPECT_EQ(1, gi.nonline);
	EXPECT_EQ(0, gi.nmismatch);

	/* Back again: a new queue id, same group, online. */
	ASSERT_OK(tq_reattach(q, NULL));
	EXPECT_NE(mi.queue_id, q->queue_id);
	EXPECT_EQ(self->g.group_id, q->group_id);
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(2, gi.nmembers);
	EXPECT_EQ(2, gi.nonline);
}

/*
 * A known APQN attaching with another master key is held in mismatch, listed
 * in its group with its own MKVP, never used; the right key brings it back.
 */
TEST_F(groups, mismatch)
{
	struct tq *q = self->g.q[1];
	struct hsmg_member_info mi;
	struct hsmg_group_info gi;
	uint8_t other[HSMG_MKVP_LEN];
	uint8_t req[16] = "mismatch", resp[16];
	uint32_t rlen;
	int i;

	hsmg_random_mkvp(other);
	ASSERT_OK(tq_detach(q));
	ASSERT_OK(tq_reattach(q, other));
	EXPECT_EQ(HSMG_QS_MISMATCH, q->state);
	EXPECT_EQ(self->g.group_id, q->group_id);

	ASSERT_OK(hsmg_get_member(self->cfd, self->g.group_id, q->queue_id, &mi));
	EXPECT_EQ(HSMG_QS_MISMATCH, mi.state);
	EXPECT_EQ(0, memcmp(mi.mkvp, other, HSMG_MKVP_LEN));
	EXPECT_EQ(q->adapter, mi.adapter);
	EXPECT_EQ(q->domain, mi.domain);

	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(1, gi.nmismatch);
	EXPECT_EQ(1, gi.nonline);
	EXPECT_EQ(0, memcmp(gi.mkvp, self->g.mkvp, HSMG_MKVP_LEN));

	/* Never used: every request goes to the good member. */
	tq_clear_log(q);
	for (i = 0; i < 8; i++) {
		rlen = sizeof(resp);
		ASSERT_OK(hsmg_submit(self->cfd, self->g.group_id, 0, 0, HSMG_OP_NULL, req,
				      sizeof(req), resp, &rlen, NULL));
	}
	EXPECT_EQ(0, tq_count(q, HSMG_BE_REQ_CRYPTO));

	/* The right master key again: a member like before. */
	ASSERT_OK(tq_detach(q));
	ASSERT_OK(tq_reattach(q, self->g.mkvp));
	EXPECT_NE(HSMG_QS_MISMATCH, q->state);
	ASSERT_OK(hsmg_wait_state(self->g.group_id, q->queue_id, HSMG_QS_ONLINE, 5000));
	ASSERT_OK(hsmg_get_group(self->cfd, self->g.group_id, &gi));
	EXPECT_EQ(0, gi.nmismatch);
	EXPECT_EQ(2, gi.nonline);
}

/* A new MKVP makes a new group. */
TEST_F(groups, new_mkvp_new_group)
{
	struct hsmg_group_list l;
	uint32_t before;
	struct tgroup g3;

	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	before = l.count;
	ASSERT_OK(tgroup_create(&g3, 1, 0));
	EXPECT_NE(self->g.group_id, g3.group_id);
	EXPECT_NE(self->g2.group_id, g3.group_id);
	fill_glist(&l, 0, NULL);
	ASSERT_IOCTL_OK(self->cfd, HSMG_IOC_LIST_GROUPS, &l);
	EXPECT_EQ(before + 1, l.count);
	tgroup_destroy(&g3);
}

TEST_HARNESS_MAIN
