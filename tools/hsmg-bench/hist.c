// SPDX-License-Identifier: GPL-2.0
/* Log-bucket latency histogram (see hist.h). */
#include "hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

/*
 * Values below HIST_SUB have one bucket each.  A value in [2^k, 2^(k+1)),
 * k >= HIST_SUB_BITS, goes to octave k - HIST_SUB_BITS + 1, sub-bucket
 * (v >> (k - HIST_SUB_BITS)) - HIST_SUB.
 */
unsigned int hist_index(uint64_t ns)
{
	unsigned int k, shift;

	if (ns < HIST_SUB)
		return (unsigned int)ns;
	k = 63 - (unsigned int)__builtin_clzll(ns);
	if (k > HIST_MAX_BIT)
		return HIST_NBUCKETS - 1;
	shift = k - HIST_SUB_BITS;
	return HIST_SUB + shift * HIST_SUB + (unsigned int)((ns >> shift) - HIST_SUB);
}

uint64_t hist_bucket_low(unsigned int i)
{
	unsigned int shift;

	if (i < HIST_SUB)
		return i;
	shift = (i - HIST_SUB) / HIST_SUB;
	return ((uint64_t)HIST_SUB + (i - HIST_SUB) % HIST_SUB) << shift;
}

uint64_t hist_bucket_width(unsigned int i)
{
	return i < HIST_SUB ? 1 : 1ULL << ((i - HIST_SUB) / HIST_SUB);
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->bucket[hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	for (unsigned int i = 0; i < HIST_NBUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min_ns;
	if (p >= 100)
		return h->max_ns;
	/* The smallest value with at least p % of the values at or below it. */
	rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			v = hist_bucket_low(i) + hist_bucket_width(i) / 2;
			if (v < h->min_ns)
				v = h->min_ns;
			if (v > h->max_ns)
				v = h->max_ns;
			return v;
		}
	}
	return h->max_ns;
}
