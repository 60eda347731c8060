/*
 * Search kernels for QuARI workstation, N-API glue: argument validation, sync and async (libuv worker) calls,
 * results as typed arrays. The kernels live beside it (qk_internal.h lists the units): exact flat top-K (optionally
 * max-per-image over multi-vector items), low-rank QuARI rerank, float16 conversion, a streaming baseline, and the
 * Hamming 2-NN matcher of stage 3's binary descriptors (the one kernel that runs outside the pool).
 *
 * Storage is row-major float32 (Float32Array) or IEEE binary16 (Uint16Array).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include "qk_internal.h"

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

/* hammingKnn2(query, candidate, bytesPerRow) -> Uint32Array [nearest, distance, second distance] per query row */
static napi_value js_hamming_knn2(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) FAIL("hammingKnn2 expects (query, candidate, bytesPerRow)");
  arr_t q, c;
  double bd;
  if (!get_arr(env, argv[0], &q) || q.type != napi_uint8_array) FAIL("hammingKnn2 query must be a Uint8Array");
  if (!get_arr(env, argv[1], &c) || c.type != napi_uint8_array) FAIL("hammingKnn2 candidate must be a Uint8Array");
  if (!get_f64(env, argv[2], &bd) || bd < 8 || bd > 1024 || bd != floor(bd) || (int)bd % 8 != 0)
    FAIL("hammingKnn2 bytesPerRow must be a multiple of 8 in 8..1024");
  const int bytes = (int)bd;
  if (q.length % bytes || c.length % bytes) FAIL("hammingKnn2 arrays must hold whole rows of %d bytes", bytes);
  if (q.length / bytes > 0x3fffffffu || c.length / bytes > 0xfffffffeu) FAIL("hammingKnn2: too many rows");
  const uint32_t nq = (uint32_t)(q.length / bytes), nc = (uint32_t)(c.length / bytes);
  void *outp;
  napi_value out = make_typed(env, napi_uint32_array, (size_t)nq * 3, 4, &outp);
  if (!out || hamming_knn2(q.data, nq, c.data, nc, bytes, outp) != 0) {
    napi_throw_error(env, NULL, "search kernels: hammingKnn2 could not allocate its buffers");
    return NULL;
  }
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

/* ---- assignNearest(vectors f32, dim, centroids f32) -> Promise<Uint32Array> (nearest centroid per row) ---- */

typedef struct {
  job_t job;
  arr_t vec, cen;
  int d;
  uint32_t m;
  int nlist;
  uint32_t *out;
} as_req;

static int as_compute(job_t *j) {
  as_req *req = (as_req *)j;
  if (req->m == 0) return 1;
  const int d = req->d, nlist = req->nlist, nblocks = (nlist + NR - 1) / NR;
  pthread_mutex_lock(&call_mu);
  int nt = pool.nthreads;
  as_ctx *c = calloc(1, sizeof *c);
  float *Bp = c ? aligned_alloc(64, ((size_t)nblocks * NR * d * 4 + 63) / 64 * 64) : NULL;
  int ok = c && Bp;
  for (int t = 0; ok && t < nt; t++) {
    c->scratch[t] = malloc((size_t)RB_ROWS * (d + AS_COLS) * 4);
    if (!c->scratch[t]) ok = 0;
  }
  if (ok) {
    const float *cen = req->cen.data;
    for (int cb = 0; cb < nblocks; cb++)
      for (int i = 0; i < d; i++)
        for (int jj = 0; jj < NR; jj++) {
          int col = cb * NR + jj;
          Bp[((size_t)cb * d + i) * NR + jj] = col < nlist ? cen[(size_t)col * d + i] : 0.0f;
        }
    c->x = req->vec.data;
    c->d = d;
    c->m = req->m;
    c->Bp = Bp;
    c->nblocks = nblocks;
    c->nlist = nlist;
    c->out = req->out;
    c->simd = simd_on() ? 1 + avx512_on() : 0;
    pool_run(as_job, c);
  }
  if (c)
    for (int t = 0; t < nt; t++) free(c->scratch[t]);
  free(c);
  free(Bp);
  pthread_mutex_unlock(&call_mu);
  return ok;
}

static napi_value as_build(napi_env env, job_t *j) {
  napi_value out;
  return napi_get_reference_value(env, j->refs[j->nrefs - 1], &out) == napi_ok ? out : NULL;
}

static void as_dispose(job_t *j) { free(j); }

static napi_value js_assign_async(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) FAIL("assignNearest expects (vectors, dim, centroids)");
  arr_t vec, cen;
  int d, f16;
  int64_t n = parse_store(env, argv[0], argv[1], &vec, &d, &f16);
  if (n < 0) return NULL;
  if (f16) FAIL("assignNearest vectors must be a Float32Array");
  if (!get_arr(env, argv[2], &cen) || cen.type != napi_float32_array || cen.length == 0 || cen.length % (size_t)d != 0 ||
      cen.length / d > 1 << 20)
    FAIL("assignNearest centroids must be a Float32Array of 1..1048576 rows of length dim (%d)", d);
  void *outp;
  napi_value out = make_typed(env, napi_uint32_array, (size_t)n, 4, &outp);
  as_req *req = out ? calloc(1, sizeof *req) : NULL;
  if (!req) {
    napi_throw_error(env, NULL, "search kernels: assignNearest could not allocate results");
    return NULL;
  }
  req->job = (job_t){.compute = as_compute, .build = as_build, .dispose = as_dispose, .name = "assignNearest"};
  req->vec = vec;
  req->cen = cen;
  req->d = d;
  req->m = (uint32_t)n;
  req->nlist = (int)(cen.length / d);
  req->out = outp;
  napi_value pins[3] = {argv[0], argv[2], out}; /* last: as_build reads the result from it */
  return job_queue(env, &req->job, pins, 3);
}

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
      {"assignNearestAsync", NULL, js_assign_async, NULL, NULL, NULL, napi_default, NULL},
      {"hammingKnn2", NULL, js_hamming_knn2, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
