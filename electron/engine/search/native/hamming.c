/* Binary-descriptor matching for geometric verification (ORB: 32-byte rows): for every query row, the nearest and
 * second-nearest candidate rows by Hamming distance, which Lowe's ratio test reads. OpenCV.js's BFMatcher does the
 * same in WASM and hands its result back match by match; popcount over 64-bit words is several times faster (the
 * figures are in geometry.ts). Single-threaded on purpose: verification already runs one candidate per worker
 * thread, so this kernel takes neither the pool nor its lock. */
#include "qk_internal.h"

/* Ties keep the lower candidate row as the nearest, as OpenCV's knnMatch does; a tie makes second == best, which
 * the ratio test rejects whichever row is named. Always inlined, so that knn2_popcnt compiles it with popcnt. */
static inline __attribute__((always_inline)) void knn2(const uint64_t *q, uint32_t nq, const uint64_t *c, uint32_t nc,
                                                       int words, uint32_t *out) {
  for (uint32_t i = 0; i < nq; i++) {
    const uint64_t *a = q + (size_t)i * words;
    uint32_t best = UINT32_MAX, second = UINT32_MAX, at = UINT32_MAX;
    for (uint32_t j = 0; j < nc; j++) {
      const uint64_t *b = c + (size_t)j * words;
      uint32_t d = 0;
      for (int w = 0; w < words; w++) d += (uint32_t)__builtin_popcountll(a[w] ^ b[w]);
      if (d < best) {
        second = best;
        best = d;
        at = j;
      } else if (d < second) {
        second = d;
      }
    }
    out[3 * i] = at;
    out[3 * i + 1] = best;
    out[3 * i + 2] = second;
  }
}

#if QK_X86
__attribute__((target("popcnt"))) static void knn2_popcnt(const uint64_t *q, uint32_t nq, const uint64_t *c, uint32_t nc,
                                                         int words, uint32_t *out) {
  knn2(q, nq, c, nc, words, out);
}
#endif

int hamming_knn2(const uint8_t *query, uint32_t nq, const uint8_t *cand, uint32_t nc, int bytes, uint32_t *out) {
  /* Rows are copied into 8-byte words: typed arrays over WASM memory or Buffers need not be aligned. */
  const int words = bytes / 8;
  uint64_t *q = malloc((size_t)nq * bytes + 8), *c = malloc((size_t)nc * bytes + 8);
  if (!q || !c) {
    free(q);
    free(c);
    return -1;
  }
  if (nq) memcpy(q, query, (size_t)nq * bytes);
  if (nc) memcpy(c, cand, (size_t)nc * bytes);
#if QK_X86
  if (__builtin_cpu_supports("popcnt")) knn2_popcnt(q, nq, c, nc, words, out);
  else
#endif
    knn2(q, nq, c, nc, words, out);
  free(q);
  free(c);
  return 0;
}
