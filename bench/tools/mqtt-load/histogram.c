/*
 * A log-linear latency histogram in nanoseconds, as src/bench/histogram.ts keeps in
 * microseconds: values below 256 ns one bucket each, larger ones 128 buckets per power of
 * two (under 1% relative error), constant memory whatever the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt-load.h"

#define LINEAR 256
#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define MAX_EXP 47 /* 2^47 ns: about 39 hours */
#define BUCKETS (LINEAR + (MAX_EXP - 8 + 1) * SUB)

static int bucket_of(uint64_t v) {
  if (v >= (1ull << MAX_EXP)) v = (1ull << MAX_EXP) - 1;
  if (v < LINEAR) return (int)v;
  int exp = 63 - __builtin_clzll(v);
  int mantissa = (int)(v >> (exp - SUB_BITS));
  return LINEAR + (exp - 8) * SUB + (mantissa - SUB);
}

static double lower_bound_of(int bucket) {
  if (bucket < LINEAR) return bucket;
  int exp = (bucket - LINEAR) / SUB + 8;
  int mantissa = (bucket - LINEAR) % SUB + SUB;
  return (double)mantissa * (double)(1ull << (exp - SUB_BITS));
}

int hist_init(struct histogram *h) {
  memset(h, 0, sizeof *h);
  h->counts = calloc(BUCKETS, sizeof *h->counts);
  return h->counts ? 0 : -1;
}

void hist_record(struct histogram *h, uint64_t ns) {
  h->counts[bucket_of(ns)]++;
  h->total++;
  h->sum += (double)ns;
  if (ns > h->max) h->max = ns;
}

void hist_reset(struct histogram *h) {
  memset(h->counts, 0, BUCKETS * sizeof *h->counts);
  h->total = 0;
  h->max = 0;
  h->sum = 0;
}

uint64_t hist_percentile(const struct histogram *h, double p) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      double mid = (lower_bound_of(i) + lower_bound_of(i + 1)) / 2;
      return mid < (double)h->max ? (uint64_t)mid : h->max;
    }
  }
  return h->max;
}

void hist_json(const struct histogram *h, char *out, size_t size) {
  double mean = h->total ? h->sum / (double)h->total : 0;
  snprintf(out, size,
           "{\"count\":%llu,\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"max\":%.4f,\"mean\":%.4f}",
           (unsigned long long)h->total, hist_percentile(h, 50) / 1e6,
           hist_percentile(h, 90) / 1e6, hist_percentile(h, 99) / 1e6, h->max / 1e6,
           mean / 1e6);
}
