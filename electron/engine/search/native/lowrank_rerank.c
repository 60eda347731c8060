/* QuARI's low-rank rescoring as a blocked GEMM (see the derivation below): W = I + a·U·Vᵀ is never built. */
#include "qk_internal.h"

/* ------------------------------------------------------------------------------------------------ */
/* Low-rank rerank: score = q'.y / max(|y|, 1e-12), y = x + a (x U) V^T.                            */
/* With t = U^T x, s = V^T x, w = V^T q', G = V^T V:                                                */
/*   q'.y = q'.x + a t.w,   |y|^2 = |x|^2 + 2a s.t + a^2 t^T G t.                                    */
/* So one blocked GEMM X[m x d] * [U | V][d x 2r] gives everything; no d x d matrix, no second GEMM. */
/* ------------------------------------------------------------------------------------------------ */



/* C[6 x NR] = A[6 x depth] (row stride lda) * B[depth x NR] (packed). */
static void mk_scalar(const float *A, size_t lda, int depth, const float *B, float *C, int ldc) {
  float acc[6][NR];
  memset(acc, 0, sizeof acc);
  for (int i = 0; i < depth; i++) {
    const float *b = B + (size_t)i * NR;
    for (int rr = 0; rr < 6; rr++) {
      float av = A[(size_t)rr * lda + i];
      for (int j = 0; j < NR; j++) acc[rr][j] += av * b[j];
    }
  }
  for (int rr = 0; rr < 6; rr++) memcpy(C + (size_t)rr * ldc, acc[rr], sizeof acc[rr]);
}

#if QK_X86
QK_AVX2 static void mk_avx2(const float *A, size_t lda, int depth, const float *B, float *C, int ldc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * lda, *a3 = A + 3 * lda, *a4 = A + 4 * lda, *a5 = A + 5 * lda;
  for (int i = 0; i < depth; i++) {
    __m256 b0 = _mm256_load_ps(B + (size_t)i * NR), b1 = _mm256_load_ps(B + (size_t)i * NR + 8), av;
    av = _mm256_broadcast_ss(a0 + i); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a1 + i); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a2 + i); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a3 + i); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a4 + i); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a5 + i); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  _mm256_storeu_ps(C, c00); _mm256_storeu_ps(C + 8, c01); C += ldc;
  _mm256_storeu_ps(C, c10); _mm256_storeu_ps(C + 8, c11); C += ldc;
  _mm256_storeu_ps(C, c20); _mm256_storeu_ps(C + 8, c21); C += ldc;
  _mm256_storeu_ps(C, c30); _mm256_storeu_ps(C + 8, c31); C += ldc;
  _mm256_storeu_ps(C, c40); _mm256_storeu_ps(C + 8, c41); C += ldc;
  _mm256_storeu_ps(C, c50); _mm256_storeu_ps(C + 8, c51);
}

QK_AVX2 void cvt_f16_row_avx2(const uint16_t *src, float *dst, int d) {
  int i = 0;
  for (; i + 8 <= d; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < d; i++) dst[i] = _cvtsh_ss(src[i]);
}
#endif

#if QK_X86
/* 12 x 32 tile from two adjacent NR-wide packed blocks: 24 accumulators of the 32 zmm registers, so each B load
 * feeds 12 FMAs (a 6-row tile leaves the loop bound by loads, not FMAs). */
#define MK512_ROW(k) av = _mm512_set1_ps(A[(k) * lda + i]); c##k##a = _mm512_fmadd_ps(av, b0, c##k##a); c##k##b = _mm512_fmadd_ps(av, b1, c##k##b);
#define MK512_DECL(k) __m512 c##k##a = _mm512_setzero_ps(), c##k##b = _mm512_setzero_ps();
#define MK512_STORE(k) _mm512_storeu_ps(C + (k) * (size_t)ldc, c##k##a); _mm512_storeu_ps(C + (k) * (size_t)ldc + 16, c##k##b);
QK_AVX512 static void mk2_avx512(const float *A, size_t lda, int depth, const float *B0, const float *B1, float *C,
                                 int ldc) {
  MK512_DECL(0) MK512_DECL(1) MK512_DECL(2) MK512_DECL(3) MK512_DECL(4) MK512_DECL(5)
  MK512_DECL(6) MK512_DECL(7) MK512_DECL(8) MK512_DECL(9) MK512_DECL(10) MK512_DECL(11)
  for (int i = 0; i < depth; i++) {
    __m512 b0 = _mm512_load_ps(B0 + (size_t)i * NR), b1 = _mm512_load_ps(B1 + (size_t)i * NR), av;
    MK512_ROW(0) MK512_ROW(1) MK512_ROW(2) MK512_ROW(3) MK512_ROW(4) MK512_ROW(5)
    MK512_ROW(6) MK512_ROW(7) MK512_ROW(8) MK512_ROW(9) MK512_ROW(10) MK512_ROW(11)
  }
  MK512_STORE(0) MK512_STORE(1) MK512_STORE(2) MK512_STORE(3) MK512_STORE(4) MK512_STORE(5)
  MK512_STORE(6) MK512_STORE(7) MK512_STORE(8) MK512_STORE(9) MK512_STORE(10) MK512_STORE(11)
}
#endif

/* C[nrows x nblocks*NR] = A[nrows x depth] * Bp (nblocks packed [depth][NR] blocks); nrows a multiple of 12.
 * Column blocks outermost so one B block (depth x NR) stays in L1 while the row block streams from L2.
 * level: 0 scalar, 1 AVX2, 2 AVX-512. */
void gemm6(const float *A, size_t lda, int depth, const float *Bp, int nblocks, uint32_t nrows, float *C,
                  int ldc, int level) {
  for (int cb = 0; cb < nblocks;) {
    const float *B = Bp + (size_t)cb * depth * NR;
#if QK_X86
    if (level >= 2 && cb + 1 < nblocks) {
      for (uint32_t g = 0; g < nrows; g += 12)
        mk2_avx512(A + g * lda, lda, depth, B, B + (size_t)depth * NR, C + (size_t)g * ldc + cb * NR, ldc);
      cb += 2;
      continue;
    }
#endif
    for (uint32_t g = 0; g < nrows; g += 6) {
#if QK_X86
      if (level >= 1) mk_avx2(A + g * lda, lda, depth, B, C + (size_t)g * ldc + cb * NR, ldc);
      else
#endif
        mk_scalar(A + g * lda, lda, depth, B, C + (size_t)g * ldc + cb * NR, ldc);
    }
    cb++;
  }
}

void rr_job(void *vctx, int tid) {
  rr_ctx *c = (rr_ctx *)vctx;
  const int d = c->d, r = c->r, ncp = c->ncp, ncg = c->ncg;
  float *A = c->scratch[tid];         /* RB_ROWS x d */
  float *C = A + (size_t)RB_ROWS * d; /* RB_ROWS x ncp: [t | s] per row */
  float *TG = C + (size_t)RB_ROWS * ncp; /* RB_ROWS x ncg: t^T G per row */
  dot_fn dot = pick_dot(0);
  size_t row_bytes = (size_t)d * (c->f16 ? 2 : 4);
  /* Claim blocks one ahead and prefetch the next block's scattered rows while this one computes: the gather is
   * random access and otherwise costs ~20% of the rerank in memory latency. */
  uint64_t start = __atomic_fetch_add(&c->next, RB_ROWS, __ATOMIC_RELAXED);
  for (; start < c->m;) {
    uint64_t next = __atomic_fetch_add(&c->next, RB_ROWS, __ATOMIC_RELAXED);
    for (uint64_t b = next; b < c->m && b < next + RB_ROWS; b++) {
      const char *src = (const char *)c->base + (size_t)c->rows[b] * row_bytes;
      for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(src + off, 0, 2);
    }
    uint32_t nb = c->m - start < RB_ROWS ? c->m - start : RB_ROWS;
    uint32_t nbp = (nb + 11) / 12 * 12;
    /* Gather the (random-access) rows into a dense f32 block. */
    for (uint32_t b = 0; b < nb; b++) {
      const uint8_t *src = c->base + (size_t)c->rows[start + b] * row_bytes;
      float *dst = A + (size_t)b * d;
      if (!c->f16) {
        memcpy(dst, src, (size_t)d * 4);
      } else {
#if QK_X86
        if (c->simd) cvt_f16_row_avx2((const uint16_t *)src, dst, d);
        else
#endif
          for (int i = 0; i < d; i++) dst[i] = h2f_scalar(((const uint16_t *)src)[i]);
      }
    }
    if (nbp > nb) memset(A + (size_t)nb * d, 0, (size_t)(nbp - nb) * d * 4);
    gemm6(A, d, d, c->Bp, ncp / NR, nbp, C, ncp, c->simd);
    /* t^T G for the block as a second small GEMM (r^2 per row, at GEMM speed). */
    gemm6(C, ncp, r, c->Gp, ncg / NR, nbp, TG, ncg, c->simd);
    for (uint32_t b = 0; b < nb; b++) {
      const float *x = A + (size_t)b * d, *t = C + (size_t)b * ncp, *s = t + r;
      double qx = dot(x, c->q, d), xx = dot(x, x, d);
      double tw = dot(t, c->w, r), st = dot(s, t, r), tgt = dot(TG + (size_t)b * ncg, t, r);
      double a = c->a;
      double yy = xx + 2 * a * st + a * a * tgt;
      double norm = yy > 0 ? sqrt(yy) : 0;
      if (norm < 1e-12) norm = 1e-12;
      c->out[start + b] = (float)((qx + a * tw) / norm);
    }
    start = next;
  }
}
