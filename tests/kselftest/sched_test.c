// SPDX-License-Identifier: GPL-2.0
/*
 * Queue picking: requests that cost the same on every member are spread
 * round robin, whatever each member served before (a member back from an
 * outage must not take every request until its lifetime count catches up).
 */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void submit_n(struct __test_metadata *_metadata, int cfd, uint32_t group, unsigned int n)
{
	uint8_t req[64], resp[64];
	unsigned int i;

	memset(req, 0x5a, sizeof(req));
	for (i = 0; i < n; i++) {
		uint32_t resp_len = sizeof(resp);

		ASSERT_EQ(0, hsmg_submit(cfd, group, 0, 0, HSMG_OP_SYMMETRIC, req, sizeof(req),
					 resp, &resp_len, NULL));
	}
}

TEST(equal_costs_alternate_after_a_member_joins)
{
	uint8_t mkvp[HSMG_MKVP_LEN];
	unsigned int c1, c2;
	struct tq q1, q2;
	int cfd;

	HSMG_REQUIRE_DEVICES();
	hsmg_random_mkvp(mkvp);
	tq_init(&q1);
	tq_init(&q2);
	ASSERT_EQ(0, tq_attach(&q1, mkvp, 0, 0, 0));
	cfd = hsmg_open_client();
	ASSERT_LE(0, cfd);

	/* q1 alone serves 20 requests. */
	submit_n(_metadata, cfd, q1.group_id, 20);
	ASSERT_EQ(20, tq_count(&q1, HSMG_BE_REQ_CRYPTO));

	/* q2 joins; one at a time, the next 20 alternate between the two. */
	ASSERT_EQ(0, tq_attach(&q2, mkvp, 0, 0, 0));
	ASSERT_EQ(q1.group_id, q2.group_id);
	ASSERT_EQ(0, hsmg_wait_state(q2.group_id, q2.queue_id, HSMG_QS_ONLINE, 5000));
	tq_clear_log(&q1);
	tq_clear_log(&q2);
	submit_n(_metadata, cfd, q1.group_id, 20);
	c1 = tq_count(&q1, HSMG_BE_REQ_CRYPTO);
	c2 = tq_count(&q2, HSMG_BE_REQ_CRYPTO);
	EXPECT_EQ(20, c1 + c2);
	EXPECT_EQ(10, c1);
	EXPECT_EQ(10, c2);

	close(cfd);
	tq_destroy(&q2);
	tq_destroy(&q1);
}

TEST_HARNESS_MAIN
