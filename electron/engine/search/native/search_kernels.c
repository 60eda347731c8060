/*
 * Search kernels for QuARI workstation: exact flat top-K (optionally max-per-image over multi-vector
 * items), low-rank QuARI rerank, a plain streaming baseline for the benchmark, and float16 conversion.
 *
 * Storage is row-major float32 (Float32Array) or IEEE binary16 (Uint16Array). Work is split into chunks
 * that a persistent pthread pool (caller thread included) takes from an atomic counter, so both cores
 * stream memory concurrently without per-call thread creation. SIMD (AVX2+FMA+F16C) is chosen at run time
 * with a scalar fallback that is also selectable, so the fallback stays tested on AVX2 machines.
 */
#define NAPI_VERSION 8
#include <node_api.h>
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

/* ------------------------------------------------------------------------------------------------ */
/* Thread pool                                                                                       */
/* ------------------------------------------------------------------------------------------------ */

typedef void (*job_fn)(void *ctx, int tid);

static struct {
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
} pool = {.nthreads = 2, .mu = PTHREAD_MUTEX_INITIALIZER, .cv_start = PTHREAD_COND_INITIALIZER,
          .cv_done = PTHREAD_COND_INITIALIZER};

/* Serialises kernel calls: the pool is process-wide while several JS threads may load the addon. */
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;
static int use_simd = -1;  /* -1: not yet decided */
static int use_avx512 = -1; /* only the rerank GEMM uses it: the flat kernels are memory-bound */

static void *worker_main(void *arg) {
  int tid = (int)(intptr_t)arg;
  pthread_mutex_lock(&pool.mu);
  unsigned seen = pool.born_gen[tid];
  for (;;) {
    while (pool.gen == seen && !pool.quit) pthread_cond_wait(&pool.cv_start, &pool.mu);
    if (pool.quit) break;
    seen = pool.gen;
    job_fn fn = pool.fn;
    void *ctx = pool.ctx;
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, tid);
    pthread_mutex_lock(&pool.mu);
    if (--pool.pending == 0) pthread_cond_signal(&pool.cv_done);
  }
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

static void pool_stop(void) {
  pthread_mutex_lock(&pool.mu);
  pool.quit = 1;
  pthread_cond_broadcast(&pool.cv_start);
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < pool.started; i++) pthread_join(pool.th[i], NULL);
  pool.started = 0;
  pool.quit = 0;
}

/* Starts missing workers; if the OS refuses a thread, runs degrade to the threads that exist. */
static void pool_ensure(void) {
  while (pool.started < pool.nthreads - 1) {
    pool.born_gen[pool.started + 1] = pool.gen;
    if (pthread_create(&pool.th[pool.started], NULL, worker_main, (void *)(intptr_t)(pool.started + 1)) != 0) {
      pool.nthreads = pool.started + 1;
      break;
    }
    pool.started++;
  }
}

static void pool_run(job_fn fn, void *ctx) {
  pool_ensure();
  if (pool.started == 0) {
    fn(ctx, 0);
    return;
  }
  pthread_mutex_lock(&pool.mu);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.pending = pool.started;
  pool.gen++;
  pthread_cond_broadcast(&pool.cv_start);
  pthread_mutex_unlock(&pool.mu);
  fn(ctx, 0);
  pthread_mutex_lock(&pool.mu);
  while (pool.pending > 0) pthread_cond_wait(&pool.cv_done, &pool.mu);
  pthread_mutex_unlock(&pool.mu);
}

static int cpu_has_avx2(void) {
#if QK_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return 0;
#endif
}

static int cpu_has_avx512(void) {
#if QK_X86
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

static int avx512_on(void) {
  if (use_avx512 < 0) use_avx512 = cpu_has_avx512();
  return use_avx512;
}

static int simd_on(void) {
  if (use_simd < 0) use_simd = cpu_has_avx2();
  return use_simd;
}

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

/* ------------------------------------------------------------------------------------------------ */
/* Dot products                                                                                      */
/* ------------------------------------------------------------------------------------------------ */

typedef float (*dot_fn)(const void *row, const float *q, int d);

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

static dot_fn pick_dot(int f16) {
#if QK_X86
  if (simd_on()) return f16 ? dot_f16_avx2 : dot_f32_avx2;
#endif
  return f16 ? dot_f16_scalar : dot_f32_scalar;
}

/* Four consecutive rows against one query: each query load feeds four FMAs and the per-row overhead (call,
 * horizontal sum) is shared, which keeps the flat scan at memory speed with compute to spare. */
typedef void (*dot4_fn)(const uint8_t *p, size_t stride, const float *q, int d, float *out);

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

static dot4_fn pick_dot4(int f16) {
#if QK_X86
  if (simd_on()) return f16 ? dot4_f16_avx2 : dot4_f32_avx2;
#endif
  return f16 ? dot4_f16_scalar : dot4_f32_scalar;
}

/* ------------------------------------------------------------------------------------------------ */
/* Flat top-K                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

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

/* out[j * FLAT_WIN + (r - r0)] = dot(row r, query j) for r in [r0, r1), r1 - r0 <= FLAT_WIN. */
static void score_window(const flat_ctx *c, uint32_t r0, uint32_t r1, float *out) {
  const int d = c->d;
  const uint8_t *p = c->base + (size_t)r0 * c->row_bytes;
  uint32_t n = r1 - r0, i = 0;
  for (; i + 4 <= n; i += 4, p += 4 * c->row_bytes)
    for (int j = 0; j < c->nq; j++) c->dot4(p, c->row_bytes, c->q + (size_t)j * d, d, out + (size_t)j * FLAT_WIN + i);
  for (; i < n; i++, p += c->row_bytes)
    for (int j = 0; j < c->nq; j++) out[(size_t)j * FLAT_WIN + i] = c->dot(p, c->q + (size_t)j * d, d);
}

static void flat_job(void *vctx, int tid) {
  flat_ctx *c = (flat_ctx *)vctx;
  const int nq = c->nq;
  heap_t *hp = c->heaps + (size_t)tid * nq;
  float *best = c->best + (size_t)tid * nq;
  uint32_t *brow = c->brow + (size_t)tid * nq;
  float *sc = c->scores[tid];
  for (;;) {
    uint64_t start = __atomic_fetch_add(&c->next, c->chunk, __ATOMIC_RELAXED);
    if (start >= c->n_items) break;
    uint32_t end = start + c->chunk < c->n_items ? start + c->chunk : c->n_items;
    if (!c->offsets) {
      for (uint32_t w = start; w < end; w += FLAT_WIN) {
        uint32_t we = end - w < FLAT_WIN ? end : w + FLAT_WIN;
        score_window(c, w, we, sc);
        for (int j = 0; j < nq; j++)
          for (uint32_t i = w; i < we; i++) heap_push(&hp[j], sc[(size_t)j * FLAT_WIN + i - w], i, i);
      }
    } else {
      for (uint32_t img = start; img < end; img++) {
        uint32_t r0 = c->offsets[img], r1 = c->offsets[img + 1];
        if (r0 >= r1) continue;
        for (int j = 0; j < nq; j++) {
          best[j] = NAN;
          brow[j] = r0;
        }
        for (uint32_t w = r0; w < r1; w += FLAT_WIN) {
          uint32_t we = r1 - w < FLAT_WIN ? r1 : w + FLAT_WIN;
          score_window(c, w, we, sc);
          for (int j = 0; j < nq; j++)
            for (uint32_t r = w; r < we; r++) {
              float s = sc[(size_t)j * FLAT_WIN + r - w];
              /* first row wins ties; NaN scores never win */
              if (s > best[j] || (best[j] != best[j] && s == s)) {
                best[j] = s;
                brow[j] = r;
              }
            }
        }
        for (int j = 0; j < nq; j++) heap_push(&hp[j], best[j], img, brow[j]);
      }
    }
  }
}

static int hit_cmp(const void *a, const void *b) {
  const hit_t *x = (const hit_t *)a, *y = (const hit_t *)b;
  if (better(x->s, x->id, y)) return -1;
  if (better(y->s, y->id, x)) return 1;
  return 0;
}

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

static void rows_job(void *vctx, int tid) {
  (void)tid;
  rows_ctx *c = (rows_ctx *)vctx;
  for (;;) {
    uint64_t start = __atomic_fetch_add(&c->next, ROWS_CHUNK, __ATOMIC_RELAXED);
    if (start >= c->m) break;
    uint32_t end = c->m - start < ROWS_CHUNK ? c->m : start + ROWS_CHUNK;
    for (uint32_t i = start; i < end; i++) c->out[i] = c->dot(c->base + (size_t)c->rows[i] * c->row_bytes, c->q, c->d);
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Low-rank rerank: score = q'.y / max(|y|, 1e-12), y = x + a (x U) V^T.                            */
/* With t = U^T x, s = V^T x, w = V^T q', G = V^T V:                                                */
/*   q'.y = q'.x + a t.w,   |y|^2 = |x|^2 + 2a s.t + a^2 t^T G t.                                    */
/* So one blocked GEMM X[m x d] * [U | V][d x 2r] gives everything; no d x d matrix, no second GEMM. */
/* ------------------------------------------------------------------------------------------------ */

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

QK_AVX2 static void cvt_f16_row_avx2(const uint16_t *src, float *dst, int d) {
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
static void gemm6(const float *A, size_t lda, int depth, const float *Bp, int nblocks, uint32_t nrows, float *C,
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

static void rr_job(void *vctx, int tid) {
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

/* ------------------------------------------------------------------------------------------------ */
/* Streaming baseline: the plainest bandwidth-bound loop (sum of every float), same pool.           */
/* ------------------------------------------------------------------------------------------------ */

typedef struct {
  const float *x;
  size_t n;
  uint64_t next; /* in units of STREAM_CHUNK floats: the same dynamic 256 KiB claims as the flat scan */
  double part[MAX_THREADS];
} stream_ctx;

#define STREAM_CHUNK 65536

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

static void stream_job(void *vctx, int tid) {
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

typedef struct {
  const void *src;
  void *dst;
  size_t n;
  int to_half;
  uint64_t next; /* in units of CVT_CHUNK */
} cvt_ctx;

#define CVT_CHUNK 65536

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

static void cvt_job(void *vctx, int tid) {
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

/* ------------------------------------------------------------------------------------------------ */
/* N-API glue                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

#define CHECK(call)                                                                     \
  do {                                                                                  \
    if ((call) != napi_ok) {                                                            \
      const napi_extended_error_info *ei = NULL;                                        \
      napi_get_last_error_info(env, &ei);                                               \
      napi_throw_error(env, NULL, ei && ei->error_message ? ei->error_message : #call); \
      return NULL;                                                                      \
    }                                                                                   \
  } while (0)

#define FAIL(...)                                            \
  do {                                                       \
    char msg_[256];                                          \
    snprintf(msg_, sizeof msg_, "search kernels: " __VA_ARGS__); \
    napi_throw_type_error(env, NULL, msg_);                  \
    return NULL;                                             \
  } while (0)

typedef struct {
  void *data;
  size_t length;
  napi_typedarray_type type;
} arr_t;

/* Returns 1 when v is a typed array (filled into out), 0 otherwise. */
static int get_arr(napi_env env, napi_value v, arr_t *out) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &off) == napi_ok;
}

static int get_f64(napi_env env, napi_value v, double *out) { return napi_get_value_double(env, v, out) == napi_ok; }

static napi_value make_typed(napi_env env, napi_typedarray_type type, size_t n, size_t elem, void **data) {
  napi_value ab, ta;
  if (napi_create_arraybuffer(env, n * elem, data, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, type, n, ab, 0, &ta) != napi_ok) return NULL;
  return ta;
}

/* Parses (vectors, dim) shared by the kernels; returns row count or -1 after throwing. */
static int64_t parse_store(napi_env env, napi_value vv, napi_value dv, arr_t *vec, int *d, int *f16) {
  double dd;
  if (!get_arr(env, vv, vec) || (vec->type != napi_float32_array && vec->type != napi_uint16_array)) {
    napi_throw_type_error(env, NULL, "search kernels: vectors must be a Float32Array or a Uint16Array (float16)");
    return -1;
  }
  if (!get_f64(env, dv, &dd) || dd < 1 || dd > 1 << 20 || dd != floor(dd)) {
    napi_throw_range_error(env, NULL, "search kernels: dim must be an integer in 1..1048576");
    return -1;
  }
  *d = (int)dd;
  *f16 = vec->type == napi_uint16_array;
  if (vec->length % (size_t)*d != 0) {
    napi_throw_range_error(env, NULL, "search kernels: vectors length is not a multiple of dim");
    return -1;
  }
  if (vec->length / (size_t)*d > 0xfffffffeu) {
    napi_throw_range_error(env, NULL, "search kernels: more than 2^32-2 rows");
    return -1;
  }
  return (int64_t)(vec->length / (size_t)*d);
}

/* Kernel calls are parsed and validated on the JS thread into a request, computed (synchronously, or on a libuv
 * worker for the *Async variants so the event loop stays free during a whole-catalog pass), then turned into JS
 * values on the JS thread. Async requests hold references to their typed arrays until they settle. */
typedef struct job_s {
  int (*compute)(struct job_s *); /* returns 0 when out of memory */
  napi_value (*build)(napi_env, struct job_s *);
  void (*dispose)(struct job_s *);
  const char *name;
  int ok;
  napi_ref refs[8];
  int nrefs;
  napi_deferred deferred;
  napi_async_work work;
} job_t;

static void job_free(napi_env env, job_t *j) {
  for (int i = 0; i < j->nrefs; i++) napi_delete_reference(env, j->refs[i]);
  j->dispose(j);
}

static napi_value job_run_sync(napi_env env, job_t *j) {
  napi_value out = NULL;
  j->ok = j->compute(j);
  if (j->ok) out = j->build(env, j);
  else {
    char msg[128];
    snprintf(msg, sizeof msg, "search kernels: %s out of memory", j->name);
    napi_throw_error(env, NULL, msg);
  }
  job_free(env, j);
  return out;
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  job_t *j = (job_t *)data;
  j->ok = j->compute(j);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job_t *j = (job_t *)data;
  napi_value out = NULL;
  if (status == napi_ok && j->ok) out = j->build(env, j);
  if (out) {
    napi_resolve_deferred(env, j->deferred, out);
  } else {
    bool pending = false;
    napi_value err = NULL;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &err);
    if (!err) {
      char msg[128];
      napi_value m;
      snprintf(msg, sizeof msg, "search kernels: %s %s", j->name, status == napi_cancelled ? "cancelled" : "out of memory");
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
      napi_create_error(env, NULL, m, &err);
    }
    napi_reject_deferred(env, j->deferred, err);
  }
  napi_delete_async_work(env, j->work);
  job_free(env, j);
}

/* Pins the given values (typed arrays) for the job's lifetime and queues it; returns the promise. */
static napi_value job_queue(napi_env env, job_t *j, napi_value *pin, int npin) {
  napi_value promise, name;
  for (int i = 0; i < npin; i++) {
    if (napi_create_reference(env, pin[i], 1, &j->refs[j->nrefs]) != napi_ok) goto fail;
    j->nrefs++;
  }
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) goto fail;
  if (napi_create_string_utf8(env, j->name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    /* the promise cannot be settled without the work: report synchronously */
    napi_value err, m;
    napi_create_string_utf8(env, "search kernels: could not queue the work", NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, NULL, m, &err);
    napi_reject_deferred(env, j->deferred, err);
    job_free(env, j);
    return promise;
  }
  return promise;
fail:
  job_free(env, j);
  napi_throw_error(env, NULL, "search kernels: could not start the asynchronous call");
  return NULL;
}

/* ---- flatTopK(vectors, dim, queries, ownerOffsets|null, k) -> [{ ids, scores, rows }] one per query ---- */

typedef struct {
  job_t job;
  arr_t vec, q;
  int d, f16, nq, nt;
  const uint32_t *offsets;
  uint32_t n_items, k;
  flat_ctx c;
} flat_req;

static int flat_compute(job_t *j) {
  flat_req *req = (flat_req *)j;
  flat_ctx *c = &req->c;
  pthread_mutex_lock(&call_mu);
  int nt = req->nt = pool.nthreads, nq = req->nq;
  uint32_t k = req->k;
  size_t nh = (size_t)nt * nq;
  c->heaps = calloc(nh, sizeof(heap_t));
  c->best = malloc(nh * sizeof(float));
  c->brow = malloc(nh * sizeof(uint32_t));
  c->scores = calloc(nt, sizeof(float *));
  int ok = c->heaps && c->best && c->brow && c->scores;
  for (int t = 0; ok && t < nt; t++) {
    c->scores[t] = malloc(sizeof(float) * FLAT_WIN * nq);
    if (!c->scores[t]) ok = 0;
  }
  for (size_t h = 0; ok && h < nh; h++) {
    c->heaps[h].k = k;
    c->heaps[h].h = k ? malloc(sizeof(hit_t) * k) : NULL;
    if (k && !c->heaps[h].h) ok = 0;
  }
  if (ok && k) {
    c->base = req->vec.data;
    c->row_bytes = (size_t)req->d * (req->f16 ? 2 : 4);
    c->d = req->d;
    c->q = req->q.data;
    c->nq = nq;
    c->offsets = req->offsets;
    c->n_items = req->n_items;
    /* ~256 KiB per chunk, whole scoring windows without owners; images carry a few rows each. */
    uint32_t wins = (uint32_t)(262144 / ((size_t)FLAT_WIN * c->row_bytes));
    uint32_t rows_per_chunk = FLAT_WIN * (wins ? wins : 1);
    c->chunk = c->offsets ? (rows_per_chunk / 8 + 1) : rows_per_chunk;
    c->dot = pick_dot(req->f16);
    c->dot4 = pick_dot4(req->f16);
    pool_run(flat_job, c);
    /* Per query: merge every thread's heap, sorted by the total order, into thread 0's slot. */
    for (int q = 0; ok && q < nq; q++) {
      uint32_t total = 0;
      for (int t = 0; t < nt; t++) total += c->heaps[(size_t)t * nq + q].n;
      hit_t *all = malloc(sizeof(hit_t) * (total ? total : 1));
      if (!all) {
        ok = 0;
        break;
      }
      uint32_t p = 0;
      for (int t = 0; t < nt; t++) {
        heap_t *h = &c->heaps[(size_t)t * nq + q];
        memcpy(all + p, h->h, sizeof(hit_t) * h->n);
        p += h->n;
      }
      qsort(all, total, sizeof(hit_t), hit_cmp);
      free(c->heaps[q].h);
      c->heaps[q].h = all;
      c->heaps[q].n = total < k ? total : k;
    }
  }
  pthread_mutex_unlock(&call_mu);
  return ok;
}

static napi_value flat_build(napi_env env, job_t *j) {
  flat_req *req = (flat_req *)j;
  napi_value result;
  if (napi_create_array_with_length(env, req->nq, &result) != napi_ok) return NULL;
  for (int q = 0; q < req->nq; q++) {
    uint32_t nout = req->k ? req->c.heaps[q].n : 0;
    const hit_t *all = req->c.heaps[q].h;
    void *pi, *ps, *pr;
    napi_value ids = make_typed(env, napi_uint32_array, nout, 4, &pi);
    napi_value scores = make_typed(env, napi_float32_array, nout, 4, &ps);
    napi_value rows = make_typed(env, napi_uint32_array, nout, 4, &pr);
    napi_value obj;
    if (!ids || !scores || !rows || napi_create_object(env, &obj) != napi_ok) {
      napi_throw_error(env, NULL, "search kernels: flatTopK could not allocate results");
      return NULL;
    }
    for (uint32_t i = 0; i < nout; i++) {
      ((uint32_t *)pi)[i] = all[i].id;
      ((float *)ps)[i] = all[i].s;
      ((uint32_t *)pr)[i] = all[i].row;
    }
    napi_set_named_property(env, obj, "ids", ids);
    napi_set_named_property(env, obj, "scores", scores);
    napi_set_named_property(env, obj, "rows", rows);
    napi_set_element(env, result, q, obj);
  }
  return result;
}

static void flat_dispose(job_t *j) {
  flat_req *req = (flat_req *)j;
  flat_ctx *c = &req->c;
  if (c->heaps)
    for (size_t h = 0; h < (size_t)req->nt * req->nq; h++) free(c->heaps[h].h);
  free(c->heaps);
  if (c->scores)
    for (int t = 0; t < req->nt; t++) free(c->scores[t]);
  free(c->scores);
  free(c->best);
  free(c->brow);
  free(req);
}

/* Validates the arguments (throwing on error) into a new request; pins[] gets the arrays to keep alive. */
static flat_req *flat_parse(napi_env env, napi_callback_info info, napi_value *pins, int *npins) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
#define PFAIL(...)                                                    \
  do {                                                                \
    char msg_[256];                                                   \
    snprintf(msg_, sizeof msg_, "search kernels: " __VA_ARGS__);      \
    napi_throw_type_error(env, NULL, msg_);                           \
    return NULL;                                                      \
  } while (0)
  if (argc < 5) PFAIL("flatTopK expects (vectors, dim, queries, ownerOffsets, k)");
  arr_t vec, q, off = {0};
  int d, f16;
  int64_t n = parse_store(env, argv[0], argv[1], &vec, &d, &f16);
  if (n < 0) return NULL;
  if (!get_arr(env, argv[2], &q) || q.type != napi_float32_array || q.length == 0 || q.length % (size_t)d != 0 ||
      q.length / d > 4096)
    PFAIL("flatTopK queries must be a Float32Array of 1..4096 rows of length dim (%d)", d);
  napi_valuetype ot;
  if (napi_typeof(env, argv[3], &ot) != napi_ok) return NULL;
  const uint32_t *offsets = NULL;
  uint32_t n_items = (uint32_t)n;
  *npins = 0;
  pins[(*npins)++] = argv[0];
  pins[(*npins)++] = argv[2];
  if (ot != napi_null && ot != napi_undefined) {
    if (!get_arr(env, argv[3], &off) || off.type != napi_uint32_array || off.length < 1)
      PFAIL("flatTopK ownerOffsets must be a Uint32Array of length images+1");
    offsets = (const uint32_t *)off.data;
    n_items = (uint32_t)(off.length - 1);
    for (uint32_t i = 0; i < n_items; i++)
      if (offsets[i] > offsets[i + 1]) PFAIL("flatTopK ownerOffsets must be non-decreasing (index %u)", i + 1);
    if (offsets[n_items] > (uint64_t)n)
      PFAIL("flatTopK ownerOffsets[last]=%u exceeds the row count %lld", offsets[n_items], (long long)n);
    pins[(*npins)++] = argv[3];
  }
  double kd;
  if (!get_f64(env, argv[4], &kd) || kd < 1 || kd != floor(kd) || kd > 4294967295.0) PFAIL("flatTopK k must be a positive integer");
  flat_req *req = calloc(1, sizeof *req);
  if (!req) {
    napi_throw_error(env, NULL, "search kernels: flatTopK out of memory");
    return NULL;
  }
  req->job = (job_t){.compute = flat_compute, .build = flat_build, .dispose = flat_dispose, .name = "flatTopK"};
  req->vec = vec;
  req->q = q;
  req->d = d;
  req->f16 = f16;
  req->nq = (int)(q.length / d);
  req->offsets = offsets;
  req->n_items = n_items;
  req->k = kd < n_items ? (uint32_t)kd : n_items;
  return req;
}

static napi_value js_flat_topk(napi_env env, napi_callback_info info) {
  napi_value pins[3];
  int npins;
  flat_req *req = flat_parse(env, info, pins, &npins);
  return req ? job_run_sync(env, &req->job) : NULL;
}

static napi_value js_flat_topk_async(napi_env env, napi_callback_info info) {
  napi_value pins[3];
  int npins;
  flat_req *req = flat_parse(env, info, pins, &npins);
  return req ? job_queue(env, &req->job, pins, npins) : NULL;
}

/* ---- rerankLowRank(vectors, dim, rows, qRefined, U, V, r, a) -> Float32Array ---- */

typedef struct {
  job_t job;
  arr_t vec, rows, q, U, V;
  int d, f16, r;
  double a;
  float *out;
  napi_value out_value; /* sync calls only; async ones read it back from their last reference */
} rr_req;

static int rr_compute(job_t *j) {
  rr_req *req = (rr_req *)j;
  if (req->rows.length == 0) return 1;
  const int d = req->d, r = req->r;
  pthread_mutex_lock(&call_mu);
  int ncp = (2 * r + NR - 1) / NR * NR, ncg = (r + NR - 1) / NR * NR;
  rr_ctx *c = calloc(1, sizeof *c);
  float *Bp = NULL, *G = NULL, *Gp = NULL, *w = NULL;
  int nt = pool.nthreads, ok = c != NULL;
  if (ok) {
    Bp = aligned_alloc(64, ((size_t)ncp * d * 4 + 63) / 64 * 64);
    G = calloc((size_t)r * r, 4);
    Gp = aligned_alloc(64, ((size_t)ncg * r * 4 + 63) / 64 * 64);
    w = calloc((size_t)r, 4);
    ok = Bp && G && Gp && w;
    for (int t = 0; ok && t < nt; t++) {
      c->scratch[t] = malloc((size_t)RB_ROWS * (d + ncp + ncg) * 4);
      if (!c->scratch[t]) ok = 0;
    }
  }
  if (ok) {
    const float *Uf = req->U.data, *Vf = req->V.data, *qf = req->q.data;
    for (int cb = 0; cb < ncp / NR; cb++)
      for (int i = 0; i < d; i++)
        for (int jj = 0; jj < NR; jj++) {
          int col = cb * NR + jj;
          Bp[((size_t)cb * d + i) * NR + jj] =
              col < r ? Uf[(size_t)i * r + col] : col < 2 * r ? Vf[(size_t)i * r + col - r] : 0.0f;
        }
    /* G = V^T V as d rank-1 updates (contiguous rows of V), w = V^T q'. */
    for (int i = 0; i < d; i++) {
      const float *vi = Vf + (size_t)i * r;
      for (int jj = 0; jj < r; jj++) {
        float vij = vi[jj];
        float *g = G + (size_t)jj * r;
        for (int l = 0; l < r; l++) g[l] += vij * vi[l];
        w[jj] += vij * qf[i];
      }
    }
    for (int cb = 0; cb < ncg / NR; cb++)
      for (int jj = 0; jj < r; jj++)
        for (int l = 0; l < NR; l++) {
          int col = cb * NR + l;
          Gp[((size_t)cb * r + jj) * NR + l] = col < r ? G[(size_t)jj * r + col] : 0.0f;
        }
    c->base = req->vec.data;
    c->f16 = req->f16;
    c->d = d;
    c->r = r;
    c->ncp = ncp;
    c->ncg = ncg;
    c->rows = req->rows.data;
    c->m = (uint32_t)req->rows.length;
    c->q = qf;
    c->w = w;
    c->Gp = Gp;
    c->Bp = Bp;
    c->a = req->a;
    c->out = req->out;
    c->simd = simd_on() ? 1 + avx512_on() : 0;
    pool_run(rr_job, c);
  }
  if (c)
    for (int t = 0; t < nt; t++) free(c->scratch[t]);
  free(c);
  free(Bp);
  free(G);
  free(Gp);
  free(w);
  pthread_mutex_unlock(&call_mu);
  return ok;
}

static napi_value rr_build(napi_env env, job_t *j) {
  rr_req *req = (rr_req *)j;
  if (req->out_value) return req->out_value;
  napi_value out;
  return napi_get_reference_value(env, j->refs[j->nrefs - 1], &out) == napi_ok ? out : NULL;
}

static void rr_dispose(job_t *j) { free(j); }

static rr_req *rr_parse(napi_env env, napi_callback_info info, napi_value *pins, int *npins) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 8) PFAIL("rerankLowRank expects (vectors, dim, rows, qRefined, U, V, r, a)");
  arr_t vec, rows, q, U, V;
  int d, f16;
  int64_t n = parse_store(env, argv[0], argv[1], &vec, &d, &f16);
  if (n < 0) return NULL;
  if (!get_arr(env, argv[2], &rows) || rows.type != napi_uint32_array) PFAIL("rerankLowRank rows must be a Uint32Array");
  if (!get_arr(env, argv[3], &q) || q.type != napi_float32_array || q.length != (size_t)d)
    PFAIL("rerankLowRank qRefined must be a Float32Array of length dim (%d)", d);
  double rd, a;
  if (!get_f64(env, argv[6], &rd) || rd < 1 || rd != floor(rd) || rd > 4096) PFAIL("rerankLowRank r must be an integer in 1..4096");
  int r = (int)rd;
  if (!get_arr(env, argv[4], &U) || U.type != napi_float32_array || U.length != (size_t)d * r)
    PFAIL("rerankLowRank U must be a Float32Array of length dim*r (%d*%d)", d, r);
  if (!get_arr(env, argv[5], &V) || V.type != napi_float32_array || V.length != (size_t)d * r)
    PFAIL("rerankLowRank V must be a Float32Array of length dim*r (%d*%d)", d, r);
  if (!get_f64(env, argv[7], &a) || !isfinite(a)) PFAIL("rerankLowRank a must be a finite number");
  const uint32_t *ri = rows.data;
  for (size_t i = 0; i < rows.length; i++)
    if (ri[i] >= (uint64_t)n) PFAIL("rerankLowRank rows[%zu]=%u is out of range (row count %lld)", i, ri[i], (long long)n);
  void *outp;
  napi_value out = make_typed(env, napi_float32_array, rows.length, 4, &outp);
  rr_req *req = out ? calloc(1, sizeof *req) : NULL;
  if (!req) {
    napi_throw_error(env, NULL, "search kernels: rerankLowRank could not allocate results");
    return NULL;
  }
  req->job = (job_t){.compute = rr_compute, .build = rr_build, .dispose = rr_dispose, .name = "rerankLowRank"};
  req->vec = vec;
  req->rows = rows;
  req->q = q;
  req->U = U;
  req->V = V;
  req->d = d;
  req->f16 = f16;
  req->r = r;
  req->a = a;
  req->out = outp;
  req->out_value = out;
  *npins = 0;
  pins[(*npins)++] = argv[0];
  pins[(*npins)++] = argv[2];
  pins[(*npins)++] = argv[3];
  pins[(*npins)++] = argv[4];
  pins[(*npins)++] = argv[5];
  pins[(*npins)++] = out; /* last: rr_build reads the result from it */
  return req;
}
#undef PFAIL

static napi_value js_rerank(napi_env env, napi_callback_info info) {
  napi_value pins[6];
  int npins;
  rr_req *req = rr_parse(env, info, pins, &npins);
  return req ? job_run_sync(env, &req->job) : NULL;
}

static napi_value js_rerank_async(napi_env env, napi_callback_info info) {
  napi_value pins[6];
  int npins;
  rr_req *req = rr_parse(env, info, pins, &npins);
  if (!req) return NULL;
  req->out_value = NULL; /* handle scope ends with this call; the reference keeps the array */
  return job_queue(env, &req->job, pins, npins);
}

/* dotRows(vectors, dim, rows, query) -> Float32Array */
static napi_value js_dot_rows(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) FAIL("dotRows expects (vectors, dim, rows, query)");
  arr_t vec, rows, q;
  int d, f16;
  int64_t n = parse_store(env, argv[0], argv[1], &vec, &d, &f16);
  if (n < 0) return NULL;
  if (!get_arr(env, argv[2], &rows) || rows.type != napi_uint32_array) FAIL("dotRows rows must be a Uint32Array");
  if (!get_arr(env, argv[3], &q) || q.type != napi_float32_array || q.length != (size_t)d)
    FAIL("dotRows query must be a Float32Array of length dim (%d)", d);
  const uint32_t *ri = rows.data;
  for (size_t i = 0; i < rows.length; i++)
    if (ri[i] >= (uint64_t)n) FAIL("dotRows rows[%zu]=%u is out of range (row count %lld)", i, ri[i], (long long)n);
  void *outp;
  napi_value out = make_typed(env, napi_float32_array, rows.length, 4, &outp);
  if (!out) {
    napi_throw_error(env, NULL, "search kernels: dotRows could not allocate results");
    return NULL;
  }
  pthread_mutex_lock(&call_mu);
  rows_ctx c = {.base = vec.data, .row_bytes = (size_t)d * (f16 ? 2 : 4), .d = d, .q = q.data, .rows = ri,
                .m = (uint32_t)rows.length, .out = outp, .dot = pick_dot(f16)};
  if (c.m) pool_run(rows_job, &c);
  pthread_mutex_unlock(&call_mu);
  return out;
}

static napi_value js_stream_baseline(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  arr_t x;
  if (argc < 1 || !get_arr(env, argv[0], &x) || x.type != napi_float32_array) FAIL("streamBaseline expects a Float32Array");
  pthread_mutex_lock(&call_mu);
  stream_ctx c = {.x = x.data, .n = x.length};
  pool_run(stream_job, &c);
  double s = 0;
  for (int t = 0; t < MAX_THREADS; t++) s += c.part[t];
  pthread_mutex_unlock(&call_mu);
  napi_value out;
  CHECK(napi_create_double(env, s, &out));
  return out;
}

static napi_value convert(napi_env env, napi_callback_info info, int to_half) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  arr_t x;
  if (argc < 1 || !get_arr(env, argv[0], &x) || x.type != (to_half ? napi_float32_array : napi_uint16_array))
    FAIL("%s", to_half ? "float32ToFloat16 expects a Float32Array" : "float16ToFloat32 expects a Uint16Array");
  void *dst;
  napi_value out = to_half ? make_typed(env, napi_uint16_array, x.length, 2, &dst)
                           : make_typed(env, napi_float32_array, x.length, 4, &dst);
  if (!out) {
    napi_throw_error(env, NULL, "search kernels: float16 conversion could not allocate its result");
    return NULL;
  }
  pthread_mutex_lock(&call_mu);
  cvt_ctx c = {.src = x.data, .dst = dst, .n = x.length, .to_half = to_half};
  pool_run(cvt_job, &c);
  pthread_mutex_unlock(&call_mu);
  return out;
}

static napi_value js_to_half(napi_env env, napi_callback_info info) { return convert(env, info, 1); }
static napi_value js_to_float(napi_env env, napi_callback_info info) { return convert(env, info, 0); }

/* configure({threads?, simd?}) -> {threads, simd, simdAvailable} */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pthread_mutex_lock(&call_mu);
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t == napi_object) {
    bool has;
    napi_value v;
    if (napi_has_named_property(env, argv[0], "threads", &has) == napi_ok && has) {
      double n;
      napi_get_named_property(env, argv[0], "threads", &v);
      if (!get_f64(env, v, &n) || n < 1 || n > MAX_THREADS || n != floor(n)) {
        pthread_mutex_unlock(&call_mu);
        FAIL("configure threads must be an integer in 1..%d", MAX_THREADS);
      }
      if ((int)n != pool.nthreads) {
        pool_stop();
        pool.nthreads = (int)n;
      }
    }
    if (napi_has_named_property(env, argv[0], "simd", &has) == napi_ok && has) {
      bool b;
      napi_get_named_property(env, argv[0], "simd", &v);
      if (napi_get_value_bool(env, v, &b) != napi_ok) {
        pthread_mutex_unlock(&call_mu);
        FAIL("configure simd must be a boolean");
      }
      use_simd = b && cpu_has_avx2();
    }
    if (napi_has_named_property(env, argv[0], "avx512", &has) == napi_ok && has) {
      bool b;
      napi_get_named_property(env, argv[0], "avx512", &v);
      if (napi_get_value_bool(env, v, &b) != napi_ok) {
        pthread_mutex_unlock(&call_mu);
        FAIL("configure avx512 must be a boolean");
      }
      use_avx512 = b && cpu_has_avx512();
    }
  }
  int nthreads = pool.nthreads, simd = simd_on(), avx512 = simd && avx512_on();
  pthread_mutex_unlock(&call_mu);
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_int32(env, nthreads, &v));
  CHECK(napi_set_named_property(env, obj, "threads", v));
  CHECK(napi_get_boolean(env, simd, &v));
  CHECK(napi_set_named_property(env, obj, "simd", v));
  CHECK(napi_get_boolean(env, cpu_has_avx2(), &v));
  CHECK(napi_set_named_property(env, obj, "simdAvailable", v));
  CHECK(napi_get_boolean(env, avx512, &v));
  CHECK(napi_set_named_property(env, obj, "avx512", v));
  CHECK(napi_get_boolean(env, cpu_has_avx512(), &v));
  CHECK(napi_set_named_property(env, obj, "avx512Available", v));
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"flatTopK", NULL, js_flat_topk, NULL, NULL, NULL, napi_default, NULL},
      {"dotRows", NULL, js_dot_rows, NULL, NULL, NULL, napi_default, NULL},
      {"rerankLowRank", NULL, js_rerank, NULL, NULL, NULL, napi_default, NULL},
      {"flatTopKAsync", NULL, js_flat_topk_async, NULL, NULL, NULL, napi_default, NULL},
      {"rerankLowRankAsync", NULL, js_rerank_async, NULL, NULL, NULL, napi_default, NULL},
      {"streamBaseline", NULL, js_stream_baseline, NULL, NULL, NULL, napi_default, NULL},
      {"float32ToFloat16", NULL, js_to_half, NULL, NULL, NULL, napi_default, NULL},
      {"float16ToFloat32", NULL, js_to_float, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
