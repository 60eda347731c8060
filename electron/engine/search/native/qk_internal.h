/*
 * Internal interface between the search kernels' translation units (split by concern, as FAISS's utils/ is):
 * thread_pool.c (the persistent pool and the run-time SIMD choice), distances.c (dot products), topk.c (flat
 * top-K scan and gathered dot products), lowrank_rerank.c (QuARI rescoring as a blocked GEMM), convert.c (float16
 * conversion and the benchmark's streaming baseline), hamming.c (binary-descriptor matching for verification),
 * search_kernels.c (the N-API glue). Header-only here: the
 * float16 scalar conversions and the top-K heap, which sit in inner loops and must inline.
 */
#ifndef QK_INTERNAL_H
#define QK_INTERNAL_H
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(QK_PORTABLE) /* QK_PORTABLE: check the non-x86 build */
#define QK_X86 1
#include <immintrin.h>
#define QK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QK_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
#else
#define QK_X86 0
#endif

#define MAX_THREADS 64

/* ---- thread pool (thread_pool.c) ---- */

typedef void (*job_fn)(void *ctx, int tid);

typedef struct {
  pthread_t th[MAX_THREADS];
  int nthreads; /* including the calling thread */
  int started;  /* workers currently running */
  pthread_mutex_t mu;
  pthread_cond_t cv_start, cv_done;
  job_fn fn;
  void *ctx;
  unsigned gen;
  unsigned born_gen[MAX_THREADS]; /* gen at creation, so a job posted before the worker runs is not missed */
  int pending;
  int quit;
} qk_pool_t;

extern qk_pool_t pool;
/* Serialises kernel calls: the pool is process-wide while several JS threads may load the addon. */
extern pthread_mutex_t call_mu;
extern int use_simd;   /* -1: not yet decided */
extern int use_avx512; /* only the rerank GEMM uses it: the flat kernels are memory-bound */

void pool_stop(void);
void pool_run(job_fn fn, void *ctx);
int cpu_has_avx2(void);
int cpu_has_avx512(void);
int avx512_on(void);
int simd_on(void);

/* ---- binary descriptors (hamming.c) ---- */

/* Per query row i: out[3i] = nearest candidate row, out[3i+1] / out[3i+2] = nearest / second-nearest Hamming
 * distance (each UINT32_MAX where there is none). bytes: a multiple of 8. Returns -1 when out of memory. */
int hamming_knn2(const uint8_t *query, uint32_t nq, const uint8_t *cand, uint32_t nc, int bytes, uint32_t *out);

/* ---- float16 ---- */

/* ------------------------------------------------------------------------------------------------ */
/* float16                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

static inline float h2f_scalar(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: value = man * 2^-24 */
      float f = (float)man * 5.9604644775390625e-8f;
      memcpy(&bits, &f, 4);
      bits |= sign;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0); /* keep NaNs quiet */
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

/* Round-to-nearest-even, overflow to infinity, NaN stays NaN (quiet), subnormals exact. */
static inline uint16_t f2h_scalar(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? (uint16_t)(0x7e00u | ((ax >> 13) & 0x3ffu)) : 0x7c00u);
  if (ax >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to inf */
  if (ax < 0x38800000u) {                        /* below 2^-14: subnormal or zero */
    if (ax < 0x33000000u) return sign;           /* < 2^-25 rounds to zero (2^-25 itself ties to even 0) */
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* result = m >> (shift) with rounding; 14..24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return sign | (uint16_t)q;
  }
  uint32_t q = (ax - 0x38000000u) >> 13; /* rebias 127->15 */
  uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1))) q++;
  return sign | (uint16_t)q;
}

/* ---- dot products (distances.c) ---- */

typedef float (*dot_fn)(const void *row, const float *q, int d);
/* Four consecutive rows against one query: each query load feeds four FMAs and the per-row overhead (call,
 * horizontal sum) is shared, which keeps the flat scan at memory speed with compute to spare. */
typedef void (*dot4_fn)(const uint8_t *p, size_t stride, const float *q, int d, float *out);

dot_fn pick_dot(int f16);
dot4_fn pick_dot4(int f16);

/* ---- top-K (topk.c) ---- */

typedef struct {
  float s;
  uint32_t id;
  uint32_t row;
} hit_t;

/* Total order used everywhere: higher score first, then lower id, so results never depend on chunking. */
static inline int better(float s, uint32_t id, const hit_t *h) { return s > h->s || (s == h->s && id < h->id); }

typedef struct {
  hit_t *h;
  uint32_t n, k;
} heap_t; /* min-heap on "worst at root" */

static inline void heap_down(heap_t *hp, uint32_t i) {
  hit_t *h = hp->h;
  uint32_t n = hp->n;
  hit_t x = h[i];
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && better(h[c].s, h[c].id, &h[c + 1])) c++; /* pick the worse child */
    if (!better(x.s, x.id, &h[c])) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

static inline void heap_push(heap_t *hp, float s, uint32_t id, uint32_t row) {
  if (s != s) return; /* NaN never ranks */
  if (hp->n < hp->k) {
    uint32_t i = hp->n++;
    hit_t x = {s, id, row};
    while (i > 0) {
      uint32_t p = (i - 1) / 2;
      if (!better(hp->h[p].s, hp->h[p].id, &x)) break;
      hp->h[i] = hp->h[p];
      i = p;
    }
    hp->h[i] = x;
  } else if (s >= hp->h[0].s && better(s, id, &hp->h[0])) {
    hp->h[0] = (hit_t){s, id, row};
    heap_down(hp, 0);
  }
}

/* nq queries share one pass over the rows: each row is read from memory once and dotted with every query while it
 * sits in L1, so a multi-region query costs about one scan instead of one per query vector. */
typedef struct {
  const uint8_t *base;
  size_t row_bytes;
  int d;
  const float *q; /* nq x d */
  int nq;
  const uint32_t *offsets; /* NULL: every row is its own item */
  uint32_t n_items;
  uint32_t chunk;
  uint64_t next; /* atomic chunk counter (64-bit: claims run past n_items near 2^32) */
  dot_fn dot;
  dot4_fn dot4;
  float **scores;  /* [thread] scratch: FLAT_WIN row scores per query */
  heap_t *heaps;   /* [thread][query] */
  float *best;     /* [thread][query] scratch for owner mode */
  uint32_t *brow;  /* [thread][query] */
} flat_ctx;

#define FLAT_WIN 128 /* rows scored per window: 256 KiB of 512-d float32 */

void flat_job(void *vctx, int tid);
int hit_cmp(const void *a, const void *b);

/* Inner products of selected rows (stage-2 scoring without a transform). */
typedef struct {
  const uint8_t *base;
  size_t row_bytes;
  int d;
  const float *q;
  const uint32_t *rows;
  uint32_t m;
  float *out;
  uint64_t next;
  dot_fn dot;
} rows_ctx;

#define ROWS_CHUNK 256

void rows_job(void *vctx, int tid);

/* ---- low-rank rerank (lowrank_rerank.c) ---- */

#define RB_ROWS 48 /* rows per block: multiple of the 12-row tile; 48 x 512 f32 = 96 KiB (L2) */
#define NR 16      /* micro-kernel width in columns */

typedef struct {
  const uint8_t *base;
  int f16;
  int d, r, ncp, ncg; /* ncp: 2r rounded up to NR; ncg: r rounded up to NR */
  const uint32_t *rows;
  uint32_t m;
  const float *q, *w, *Gp, *Bp; /* Bp: [U|V] packed [ncp/NR][d][NR]; Gp: V^T V packed [ncg/NR][r][NR] */
  double a;
  float *out;
  uint64_t next;
  int simd; /* 0 scalar, 1 AVX2, 2 AVX2 + AVX-512 GEMM */
  float *scratch[MAX_THREADS];
} rr_ctx;

void rr_job(void *vctx, int tid);
/* C[nrows x nblocks*NR] = A[nrows x depth] * Bp (packed [nblocks][depth][NR]); nrows a multiple of 12; level 0 scalar,
 * 1 AVX2, 2 AVX-512. Shared by the rerank and the nearest-centroid assignment. */
void gemm6(const float *A, size_t lda, int depth, const float *Bp, int nblocks, uint32_t nrows, float *C, int ldc, int level);
#if QK_X86
QK_AVX2 void cvt_f16_row_avx2(const uint16_t *src, float *dst, int d);
#endif

/* ---- nearest centroid (assign.c) ---- */

typedef struct {
  const float *x; /* m x d */
  int d;
  uint32_t m;
  const float *Bp; /* centroids transposed and packed [nblocks][d][NR] */
  int nblocks, nlist;
  uint32_t *out;
  uint64_t next;
  int simd;
  float *scratch[MAX_THREADS];
} as_ctx;

#define AS_COLS 256 /* centroids per score tile: RB_ROWS x 256 float32 = 48 KiB */

void as_job(void *vctx, int tid);

/* ---- float16 conversion and streaming baseline (convert.c) ---- */

typedef struct {
  const float *x;
  size_t n;
  uint64_t next; /* in units of STREAM_CHUNK floats: the same dynamic 256 KiB claims as the flat scan */
  double part[MAX_THREADS];
} stream_ctx;

#define STREAM_CHUNK 65536

void stream_job(void *vctx, int tid);

typedef struct {
  const void *src;
  void *dst;
  size_t n;
  int to_half;
  uint64_t next; /* in units of CVT_CHUNK */
} cvt_ctx;

#define CVT_CHUNK 65536

void cvt_job(void *vctx, int tid);

#endif
