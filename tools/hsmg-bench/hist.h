/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-bucket latency histogram (HdrHistogram-like): values in nanoseconds,
 * 2^HIST_SUB_BITS linear buckets per power of two, so every bucket is at
 * most 1/128 (0.8 %) of its values wide.  Fixed size, no allocation, plain
 * memory: it lives in the shared mapping the worker processes write and the
 * parent merges.
 */
#ifndef HSMG_BENCH_HIST_H
#define HSMG_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1U << HIST_SUB_BITS)
/* Largest octave kept: values from 2^HIST_MAX_BIT ns (~18 min) on are clamped. */
#define HIST_MAX_BIT  40
#define HIST_NBUCKETS (HIST_SUB + (HIST_MAX_BIT - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t bucket[HIST_NBUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* Add every value of @src to @dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at percentile @p (0..100): the middle of its bucket, within [min, max]; 0 if empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/* Bucket of @ns and the lowest value of bucket @i and its width (for tests). */
unsigned int hist_index(uint64_t ns);
uint64_t hist_bucket_low(unsigned int i);
uint64_t hist_bucket_width(unsigned int i);

#endif /* HSMG_BENCH_HIST_H */
