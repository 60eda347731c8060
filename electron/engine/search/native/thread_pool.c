/*
 * The kernels' persistent pthread pool (the calling thread included): work is split into chunks that threads take
 * from an atomic counter, so both cores stream memory concurrently without per-call thread creation. Also the
 * run-time choice of AVX2/FMA/F16C (and AVX-512 for the rerank GEMM), with a scalar fallback that stays selectable.
 */
#include "qk_internal.h"

/* ------------------------------------------------------------------------------------------------ */
/* Thread pool                                                                                       */
/* ------------------------------------------------------------------------------------------------ */

qk_pool_t pool = {.nthreads = 2, .mu = PTHREAD_MUTEX_INITIALIZER, .cv_start = PTHREAD_COND_INITIALIZER,
                  .cv_done = PTHREAD_COND_INITIALIZER};

pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;
int use_simd = -1;
int use_avx512 = -1;

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

void pool_stop(void) {
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

void pool_run(job_fn fn, void *ctx) {
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

int cpu_has_avx2(void) {
#if QK_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return 0;
#endif
}

int cpu_has_avx512(void) {
#if QK_X86
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

int avx512_on(void) {
  if (use_avx512 < 0) use_avx512 = cpu_has_avx512();
  return use_avx512;
}

int simd_on(void) {
  if (use_simd < 0) use_simd = cpu_has_avx2();
  return use_simd;
}
