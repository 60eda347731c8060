/* Flat top-K: every row scored once against all queries, max per owner (image) when owners are given, kept in
 * per-thread heaps under one total order (score, then lower id) so results never depend on chunking; and gathered
 * dot products of selected rows. */
#include "qk_internal.h"

/* ------------------------------------------------------------------------------------------------ */
/* Flat top-K                                                                                        */
/* ------------------------------------------------------------------------------------------------ */





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

void flat_job(void *vctx, int tid) {
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

int hit_cmp(const void *a, const void *b) {
  const hit_t *x = (const hit_t *)a, *y = (const hit_t *)b;
  if (better(x->s, x->id, y)) return -1;
  if (better(y->s, y->id, x)) return 1;
  return 0;
}



void rows_job(void *vctx, int tid) {
  (void)tid;
  rows_ctx *c = (rows_ctx *)vctx;
  for (;;) {
    uint64_t start = __atomic_fetch_add(&c->next, ROWS_CHUNK, __ATOMIC_RELAXED);
    if (start >= c->m) break;
    uint32_t end = c->m - start < ROWS_CHUNK ? c->m : start + ROWS_CHUNK;
    for (uint32_t i = start; i < end; i++) c->out[i] = c->dot(c->base + (size_t)c->rows[i] * c->row_bytes, c->q, c->d);
  }
}
