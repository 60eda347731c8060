/* float16 ⇄ float32 conversion of whole arrays, and the plainest bandwidth-bound loop (a sum of every float) that
 * `npm run bench` measures the flat scan against on the same pool. */
#include "qk_internal.h"

/* ------------------------------------------------------------------------------------------------ */
/* Streaming baseline: the plainest bandwidth-bound loop (sum of every float), same pool.           */
/* ------------------------------------------------------------------------------------------------ */



static double stream_sum(const float *x, size_t n) {
  /* 16 independent partial sums so the compiler can vectorise without -ffast-math. */
  float acc[16] = {0};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += x[i + j];
  double s = 0;
  for (int j = 0; j < 16; j++) s += acc[j];
  for (; i < n; i++) s += x[i];
  return s;
}

#if QK_X86
QK_AVX2 static double stream_sum_avx2(const float *x, size_t n) { return stream_sum(x, n); }
#endif

void stream_job(void *vctx, int tid) {
  stream_ctx *c = (stream_ctx *)vctx;
  double s = 0;
  for (;;) {
    size_t lo = (size_t)__atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED) * STREAM_CHUNK;
    if (lo >= c->n) break;
    size_t n = c->n - lo < STREAM_CHUNK ? c->n - lo : STREAM_CHUNK;
#if QK_X86
    if (simd_on()) {
      s += stream_sum_avx2(c->x + lo, n);
      continue;
    }
#endif
    s += stream_sum(c->x + lo, n);
  }
  c->part[tid] = s;
}

/* ------------------------------------------------------------------------------------------------ */
/* f16 conversion jobs                                                                               */
/* ------------------------------------------------------------------------------------------------ */



#if QK_X86
QK_AVX2 static void cvt_to_half_avx2(const float *s, uint16_t *d, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++) d[i] = f2h_scalar(s[i]);
}
QK_AVX2 static void cvt_to_float_avx2(const uint16_t *s, float *d, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
  for (; i < n; i++) d[i] = h2f_scalar(s[i]);
}
#endif

void cvt_job(void *vctx, int tid) {
  (void)tid;
  cvt_ctx *c = (cvt_ctx *)vctx;
  for (;;) {
    size_t lo = (size_t)__atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED) * CVT_CHUNK;
    if (lo >= c->n) break;
    size_t n = c->n - lo < CVT_CHUNK ? c->n - lo : CVT_CHUNK;
    const float *sf = (const float *)c->src + lo;
    const uint16_t *sh = (const uint16_t *)c->src + lo;
    float *df = (float *)c->dst + lo;
    uint16_t *dh = (uint16_t *)c->dst + lo;
#if QK_X86
    if (simd_on()) {
      if (c->to_half) cvt_to_half_avx2(sf, dh, n);
      else cvt_to_float_avx2(sh, df, n);
      continue;
    }
#endif
    if (c->to_half) for (size_t i = 0; i < n; i++) dh[i] = f2h_scalar(sf[i]);
    else for (size_t i = 0; i < n; i++) df[i] = h2f_scalar(sh[i]);
  }
}
