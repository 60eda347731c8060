/* Dot products of stored rows (float32 or float16) with a float32 query: one row, or four rows sharing each query
 * load; AVX2/FMA/F16C with a portable scalar fallback. */
#include "qk_internal.h"

/* ------------------------------------------------------------------------------------------------ */
/* Dot products                                                                                      */
/* ------------------------------------------------------------------------------------------------ */


static float dot_f32_scalar(const void *rowp, const float *q, int d) {
  const float *x = (const float *)rowp;
  float acc[8] = {0};
  int i = 0;
  for (; i + 8 <= d; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += x[i + j] * q[i + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < d; i++) s += x[i] * q[i];
  return s;
}

static float dot_f16_scalar(const void *rowp, const float *q, int d) {
  const uint16_t *x = (const uint16_t *)rowp;
  float acc[8] = {0};
  int i = 0;
  for (; i + 8 <= d; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += h2f_scalar(x[i + j]) * q[i + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < d; i++) s += h2f_scalar(x[i]) * q[i];
  return s;
}

#if QK_X86
QK_AVX2 static inline float hsum256(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

QK_AVX2 static inline __m256i tail_mask(int n) { /* first n of 8 lanes on */
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

QK_AVX2 static float dot_f32_avx2(const void *rowp, const float *q, int d) {
  const float *x = (const float *)rowp;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int i = 0;
  for (; i + 32 <= d; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(q + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(q + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(q + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(q + i + 24), a3);
  }
  for (; i + 8 <= d; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(q + i), a0);
  if (i < d) {
    __m256i m = tail_mask(d - i);
    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(q + i, m), a1);
  }
  return hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

QK_AVX2 static float dot_f16_avx2(const void *rowp, const float *q, int d) {
  const uint16_t *x = (const uint16_t *)rowp;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int i = 0;
  for (; i + 32 <= d; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(q + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8))), _mm256_loadu_ps(q + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 16))), _mm256_loadu_ps(q + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 24))), _mm256_loadu_ps(q + i + 24), a3);
  }
  for (; i + 8 <= d; i += 8)
    a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(q + i), a0);
  float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < d; i++) s += _cvtsh_ss(x[i]) * q[i];
  return s;
}
#endif

dot_fn pick_dot(int f16) {
#if QK_X86
  if (simd_on()) return f16 ? dot_f16_avx2 : dot_f32_avx2;
#endif
  return f16 ? dot_f16_scalar : dot_f32_scalar;
}


static void dot4_f32_scalar(const uint8_t *p, size_t stride, const float *q, int d, float *out) {
  for (int j = 0; j < 4; j++) out[j] = dot_f32_scalar(p + j * stride, q, d);
}

static void dot4_f16_scalar(const uint8_t *p, size_t stride, const float *q, int d, float *out) {
  for (int j = 0; j < 4; j++) out[j] = dot_f16_scalar(p + j * stride, q, d);
}

#if QK_X86
#define DOT4_BODY(LOAD, T)                                                                                   \
  const T *x0 = (const T *)p, *x1 = (const T *)(p + stride), *x2 = (const T *)(p + 2 * stride),              \
          *x3 = (const T *)(p + 3 * stride);                                                                 \
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;            \
  int i = 0;                                                                                                 \
  for (; i + 16 <= d; i += 16) {                                                                             \
    __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);                                     \
    a0 = _mm256_fmadd_ps(LOAD(x0 + i), q0, a0);                                                              \
    a1 = _mm256_fmadd_ps(LOAD(x1 + i), q0, a1);                                                              \
    a2 = _mm256_fmadd_ps(LOAD(x2 + i), q0, a2);                                                              \
    a3 = _mm256_fmadd_ps(LOAD(x3 + i), q0, a3);                                                              \
    b0 = _mm256_fmadd_ps(LOAD(x0 + i + 8), q1, b0);                                                          \
    b1 = _mm256_fmadd_ps(LOAD(x1 + i + 8), q1, b1);                                                          \
    b2 = _mm256_fmadd_ps(LOAD(x2 + i + 8), q1, b2);                                                          \
    b3 = _mm256_fmadd_ps(LOAD(x3 + i + 8), q1, b3);                                                          \
  }                                                                                                          \
  if (i + 8 <= d) {                                                                                          \
    __m256 q0 = _mm256_loadu_ps(q + i);                                                                      \
    a0 = _mm256_fmadd_ps(LOAD(x0 + i), q0, a0);                                                              \
    a1 = _mm256_fmadd_ps(LOAD(x1 + i), q0, a1);                                                              \
    a2 = _mm256_fmadd_ps(LOAD(x2 + i), q0, a2);                                                              \
    a3 = _mm256_fmadd_ps(LOAD(x3 + i), q0, a3);                                                              \
    i += 8;                                                                                                  \
  }                                                                                                          \
  out[0] = hsum256(_mm256_add_ps(a0, b0));                                                                   \
  out[1] = hsum256(_mm256_add_ps(a1, b1));                                                                   \
  out[2] = hsum256(_mm256_add_ps(a2, b2));                                                                   \
  out[3] = hsum256(_mm256_add_ps(a3, b3));

#define LOAD_F32(ptr) _mm256_loadu_ps(ptr)
#define LOAD_F16(ptr) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(ptr)))

QK_AVX2 static void dot4_f32_avx2(const uint8_t *p, size_t stride, const float *q, int d, float *out) {
  DOT4_BODY(LOAD_F32, float)
  for (; i < d; i++) {
    out[0] += x0[i] * q[i];
    out[1] += x1[i] * q[i];
    out[2] += x2[i] * q[i];
    out[3] += x3[i] * q[i];
  }
}

QK_AVX2 static void dot4_f16_avx2(const uint8_t *p, size_t stride, const float *q, int d, float *out) {
  DOT4_BODY(LOAD_F16, uint16_t)
  for (; i < d; i++) {
    out[0] += _cvtsh_ss(x0[i]) * q[i];
    out[1] += _cvtsh_ss(x1[i]) * q[i];
    out[2] += _cvtsh_ss(x2[i]) * q[i];
    out[3] += _cvtsh_ss(x3[i]) * q[i];
  }
}
#endif

dot4_fn pick_dot4(int f16) {
#if QK_X86
  if (simd_on()) return f16 ? dot4_f16_avx2 : dot4_f32_avx2;
#endif
  return f16 ? dot4_f16_scalar : dot4_f32_scalar;
}
