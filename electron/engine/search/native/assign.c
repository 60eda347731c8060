/* Nearest centroid (largest inner product) of every row, for building the IVF index: the rows x centroids score
 * matrix is computed tile by tile with the rerank's blocked GEMM (compute-bound, several times the flat scan's
 * throughput when there are thousands of rows per call) and reduced to an argmax per row; lower centroid wins ties. */
#include "qk_internal.h"

void as_job(void *vctx, int tid) {
  as_ctx *c = (as_ctx *)vctx;
  const int d = c->d;
  float *A = c->scratch[tid];            /* RB_ROWS x d */
  float *C = A + (size_t)RB_ROWS * d;    /* RB_ROWS x AS_COLS */
  float best[RB_ROWS];
  uint32_t arg[RB_ROWS];
  for (;;) {
    uint64_t start = __atomic_fetch_add(&c->next, RB_ROWS, __ATOMIC_RELAXED);
    if (start >= c->m) break;
    uint32_t nb = c->m - start < RB_ROWS ? (uint32_t)(c->m - start) : RB_ROWS;
    uint32_t nbp = (nb + 11) / 12 * 12;
    memcpy(A, c->x + (size_t)start * d, (size_t)nb * d * 4);
    if (nbp > nb) memset(A + (size_t)nb * d, 0, (size_t)(nbp - nb) * d * 4);
    for (uint32_t b = 0; b < nb; b++) {
      best[b] = -INFINITY;
      arg[b] = 0;
    }
    for (int cb = 0; cb < c->nblocks; cb += AS_COLS / NR) {
      int nblk = c->nblocks - cb < AS_COLS / NR ? c->nblocks - cb : AS_COLS / NR;
      gemm6(A, d, d, c->Bp + (size_t)cb * d * NR, nblk, nbp, C, AS_COLS, c->simd);
      int cols = nblk * NR, base = cb * NR;
      if (base + cols > c->nlist) cols = c->nlist - base;
      for (uint32_t b = 0; b < nb; b++) {
        const float *row = C + (size_t)b * AS_COLS;
        for (int j = 0; j < cols; j++)
          if (row[j] > best[b]) {
            best[b] = row[j];
            arg[b] = (uint32_t)(base + j);
          }
      }
    }
    memcpy(c->out + start, arg, nb * sizeof(uint32_t));
  }
}
