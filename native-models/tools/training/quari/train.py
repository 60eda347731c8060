"""Trains the QuARI hypernetwork on crop -> region-vector pairs dumped by dump.ts; writes the released layout.

Usage: /usr/bin/python3 native-models/tools/training/quari/train.py --data DUMP_DIR [DUMP_DIR ...] --out CKPT_DIR
       [--steps 1000] [--seed 1] [--threads 1] [--feature-extractor ID] [--minutes 30]
See README.md in this folder for the pairs, the loss and the semi-positive rule.
Writes CKPT_DIR/config.yml + weights.pt (best validation mAP@100 so far, replaced atomically) and
CKPT_DIR/train-log.json (hparams, data, per-evaluation metrics).
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hypernet import HPARAM_ORDER, TransformerHypernetwork, lowrank_scores  # noqa: E402


def log(*a):
    print(time.strftime('%H:%M:%S'), *a, flush=True)


def iou(boxes, box):
    """IoU of rows [N, 4] (x, y, w, h) with one box."""
    x0 = np.maximum(boxes[:, 0], box[0])
    y0 = np.maximum(boxes[:, 1], box[1])
    x1 = np.minimum(boxes[:, 0] + boxes[:, 2], box[0] + box[2])
    y1 = np.minimum(boxes[:, 1] + boxes[:, 3], box[1] + box[3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (boxes[:, 2] * boxes[:, 3] + box[2] * box[3] - inter)


def load(dirs):
    """Merges dump folders: gallery rows, per-row owner image and box, images, queries with global object ids."""
    G, Q, owner, boxes, images, queries, objects, scenes = [], [], [], [], [], [], {}, {}
    dim = None
    for d in dirs:
        meta = json.load(open(os.path.join(d, 'meta.json')))
        if dim is None:
            dim = meta['dim']
            pack = meta['pack']
        elif meta['dim'] != dim or meta['pack'].get('vectorsId', meta['pack']['manifestSha256']) != pack.get('vectorsId', pack['manifestSha256']):
            sys.exit(f'{d}: dumped with another pack than {dirs[0]}')
        g = np.fromfile(os.path.join(d, 'gallery.f32'), dtype='<f4').reshape(-1, dim)
        q = np.fromfile(os.path.join(d, 'queries.f32'), dtype='<f4').reshape(-1, dim)
        img0 = len(images)
        oid = [objects.setdefault(name, len(objects)) for name in meta['objects']]
        for im in meta['images']:
            images.append({'scene': scenes.setdefault(im['scene'], len(scenes)),
                           'target': oid[im['target']] if im['target'] >= 0 else -1,
                           'box': im['targetBox']})
        owner.append(np.asarray(meta['owner'], dtype=np.int64) + img0)
        boxes.append(np.asarray(meta['boxes'], dtype=np.float32).reshape(-1, 4))
        for qq in meta['queries']:
            queries.append({'image': qq['image'] + img0, 'object': oid[qq['object']] if qq['object'] >= 0 else -1,
                            'box': qq['box']})
        G.append(g)
        Q.append(q)
    return (np.concatenate(G), np.concatenate(Q), np.concatenate(owner), np.concatenate(boxes), images, queries,
            list(objects), pack, dim)


def build_targets(G, Q, owner, boxes, images, queries, n_objects, dup_cos):
    """Per query: positive rows, and the images whose rows are neither positive nor negative (semi-positives)."""
    n_img = len(images)
    start = np.searchsorted(owner, np.arange(n_img))
    end = np.searchsorted(owner, np.arange(n_img), side='right')
    by_object = [[] for _ in range(n_objects)]
    by_scene = {}
    for i, im in enumerate(images):
        if im['target'] >= 0:
            by_object[im['target']].append(i)
        by_scene.setdefault(im['scene'], []).append(i)
    # Near-duplicate objects (clip-art families: stars, flags, coins): objects whose mean crop vectors are closer
    # than dup_cos are semi-positives of each other.
    proto = np.zeros((n_objects, G.shape[1]), dtype=np.float64)
    for qi, q in enumerate(queries):
        if q['object'] >= 0:
            proto[q['object']] += Q[qi]
    proto /= np.maximum(np.linalg.norm(proto, axis=1, keepdims=True), 1e-12)
    sim = proto @ proto.T
    np.fill_diagonal(sim, -1)
    dups = [np.nonzero(sim[o] > dup_cos)[0] for o in range(n_objects)]

    def windows_over(i, box):
        rows = np.arange(start[i] + 1, end[i])  # row start[i] is the whole image
        ov = iou(boxes[rows], box)
        best = ov.max()
        return rows[ov >= min(best, max(0.25, 0.6 * best))]

    pos, related = [], []
    for q in queries:
        i, o = q['image'], q['object']
        rel = {i}
        if o >= 0:
            p = [windows_over(j, images[j]['box']) for j in by_object[o] if j != i]
            rel.update(j for j in by_object[o])
            for d in dups[o]:
                rel.update(by_object[d])
        else:
            p = [windows_over(i, q['box'])]
            rel.update(by_scene[images[i]['scene']])  # the same background photo may hold the crop
            t = images[i]['target']
            if t >= 0 and iou(np.asarray([images[i]['box']], dtype=np.float32), q['box'])[0] > 0.1:
                rel.update(by_object[t])
        pos.append([x for x in p if len(x)])
        related.append(np.asarray(sorted(rel), dtype=np.int64))
    return pos, related, sum(len(d) for d in dups) // 2


def mine_hard(G, Q, owner, related, k, chunk=256):
    """Per query, the k rows of unrelated images with the highest baseline cosine (what stage 1 confuses)."""
    Gt = torch.from_numpy(G)
    out = np.zeros((len(Q), k), dtype=np.int64)
    n_img = int(owner[-1]) + 1
    start = np.searchsorted(owner, np.arange(n_img))
    end = np.searchsorted(owner, np.arange(n_img), side='right')
    for s in range(0, len(Q), chunk):
        sc = torch.from_numpy(Q[s:s + chunk]) @ Gt.T
        for b in range(sc.shape[0]):
            for j in related[s + b]:  # an image's rows are contiguous (dumps are written image by image)
                sc[b, start[j]:end[j]] = -1e9
        out[s:s + chunk] = sc.topk(k, dim=1).indices.numpy()
    return out


def ap_at(ranked_rel, n_rel, cutoff=100):
    hits, s = 0, 0.0
    for k, r in enumerate(ranked_rel[:cutoff]):
        if r:
            hits += 1
            s += hits / (k + 1)
    return s / min(n_rel, cutoff) if n_rel else 0.0


@torch.no_grad()
def evaluate(model, G, Q, owner, images, queries, val_q, shortlist=300):
    """Image-level retrieval for held-out object queries: best row per image, own image excluded, as
    `quari eval` does; adaptive reranks each query's baseline top-`shortlist` images (k=1000 reranks all in the app)."""
    model.eval()
    Gt = torch.from_numpy(G)
    own = torch.from_numpy(owner)
    n_img = len(images)
    target = np.asarray([im['target'] for im in images])
    res = {'baseline': [], 'adaptive': []}
    r1 = {'baseline': [], 'adaptive': []}
    r10 = {'baseline': [], 'adaptive': []}
    for s in range(0, len(val_q), 32):
        idx = val_q[s:s + 32]
        q = torch.from_numpy(Q[idx])
        base_rows = q @ Gt.T
        refined, U, V = model(q)
        for b, qi in enumerate(idx):
            qq = queries[qi]
            rel = set(np.nonzero(target == qq['object'])[0].tolist()) - {qq['image']}
            img_best = torch.full((n_img,), -1e9).scatter_reduce(0, own, base_rows[b], 'amax')
            img_best[qq['image']] = -1e9
            order = img_best.argsort(descending=True)
            cand = order[:shortlist]
            rows = torch.nonzero(torch.isin(own, cand)).squeeze(1)
            sc = lowrank_scores(refined[b:b + 1], U[b:b + 1], V[b:b + 1], Gt[rows], model.a)[0]
            ad = torch.full((n_img,), -1e9).scatter_reduce(0, own[rows], sc, 'amax')
            ad[qq['image']] = -1e9
            for mode, ranking in (('baseline', order), ('adaptive', ad.argsort(descending=True))):
                flags = [int(j) in rel for j in ranking[:100].tolist()]
                res[mode].append(ap_at(flags, len(rel)))
                r1[mode].append(sum(flags[:1]) / min(len(rel), 1))
                r10[mode].append(sum(flags[:10]) / len(rel))
    model.train()
    return {m: {'mAP@100': float(np.mean(res[m])), 'R@1': float(np.mean(r1[m])), 'R@10': float(np.mean(r10[m]))}
            for m in res}


@torch.no_grad()
def calibrate(model, q, fro_norm):
    """Start at the baseline: scale the decoders' last Linear (as the reference fixtures' calibration does) so that
    the decoder's share of q' is small (||qd|| = 0.05) and, without Frobenius normalisation, ||U||_F = ||V||_F = 0.3
    (W close to I, but with gradients flowing through both factors)."""
    model.eval()
    _, U, V = model(q)
    ctx = model.query_encoder(q)
    qd = model.query_decoder(ctx)  # ctx before the refinement steps: only for the scale estimate
    targets = [(model.query_decoder[3], qd.norm(dim=1).mean().item(), 0.05)]
    if not fro_norm:
        targets += [(model.dec_u_img[3], U.flatten(1).norm(dim=1).mean().item(), 0.3),
                    (model.dec_v_img[3], V.flatten(1).norm(dim=1).mean().item(), 0.3)]
    for lin, now, want in targets:
        lin.weight.mul_(want / now)
        lin.bias.mul_(want / now)
    model.train()


def save(model, hp, out, feature_extractor):
    os.makedirs(out, exist_ok=True)
    sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items()}
    tmp = os.path.join(out, f'.weights.pt.tmp-{os.getpid()}')
    torch.save(type(model.state_dict())(sd), tmp)
    cfg = {'hparams': {k: hp[k] for k in HPARAM_ORDER}, 'feature_extractor': feature_extractor}
    tmpc = os.path.join(out, f'.config.yml.tmp-{os.getpid()}')
    with open(tmpc, 'w') as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    os.replace(tmp, os.path.join(out, 'weights.pt'))
    os.replace(tmpc, os.path.join(out, 'config.yml'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', nargs='+', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--minutes', type=float, default=30, help='stop early at this wall time')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1, help='1: OpenMP spinning on a shared 2-core box is slower')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--selfsup-frac', type=float, default=0.25)
    ap.add_argument('--hard-per-query', type=int, default=2)
    ap.add_argument('--hard-pool', type=int, default=100)
    ap.add_argument('--random-negatives', type=int, default=1024)
    ap.add_argument('--lr', type=float, default=3e-5)
    ap.add_argument('--weight-decay', type=float, default=0.1)
    ap.add_argument('--temperature', type=float, default=0.05)
    ap.add_argument('--query-noise', type=float, default=0.0,
                    help='norm of isotropic Gaussian noise added to each training query before re-normalising')
    ap.add_argument('--dup-cos', type=float, default=0.8)
    ap.add_argument('--val-frac', type=float, default=0.1,
                    help='seeded share of the training families\' objects held out: the train-family validation')
    ap.add_argument('--val-family', action='append', default=[],
                    help='object path prefix (e.g. pkgs/pingus-data/), repeatable: every object of these families is held '
                         'out of training and forms the held-out-family validation, which then selects the checkpoint')
    ap.add_argument('--eval-every', type=int, default=50)
    ap.add_argument('--hidden-dim', type=int, default=128)
    ap.add_argument('--nhead', type=int, default=4)
    ap.add_argument('--rank', type=int, default=16)
    ap.add_argument('--num-steps', type=int, default=2)
    ap.add_argument('--num-layers', type=int, default=2)
    ap.add_argument('--query-residual-weight', type=float, default=0.5)
    ap.add_argument('--anchor-scale', type=float, default=1.0)
    ap.add_argument('--fro-norm', action='store_true', help='use_fro_norm: true (default false: free ||U||, ||V||)')
    ap.add_argument('--feature-extractor', default=None)
    ap.add_argument('--init', default=None,
                    help='checkpoint folder (config.yml + weights.pt) to start from instead of the near-identity '
                         'initialisation: fine-tuning a shipped checkpoint on new families; its hparams must match')
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    rs = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.time()
    G, Q, owner, boxes, images, queries, object_names, pack, E = load(args.data)
    n_obj = len(object_names)
    log(f'{len(images)} images, {len(G)} gallery rows, {len(Q)} queries, {n_obj} objects, dim {E}, pack {pack["id"]}@{pack["version"]}')
    pos, related, n_dup = build_targets(G, Q, owner, boxes, images, queries, n_obj, args.dup_cos)
    log(f'near-duplicate object pairs (cos > {args.dup_cos}): {n_dup}')
    # Validation: (a) train-family — the object queries of a seeded --val-frac of the training families' objects;
    # (b) held-out-family — every object of the --val-family families. Neither is trained on; the checkpoint is
    # chosen on (b) when given (objects of a kind training never saw), else on (a).
    fam_obj = {i for i, name in enumerate(object_names) if any(name.startswith(p) for p in args.val_family)}
    if args.val_family and not fam_obj:
        sys.exit(f'--val-family {args.val_family}: no dumped object matches')
    rest = np.asarray([i for i in rs.permutation(n_obj).tolist() if i not in fam_obj], dtype=np.int64)
    val_obj = set(rest[:max(1, int(len(rest) * args.val_frac))].tolist())
    held = val_obj | fam_obj
    trainable = [i for i, q in enumerate(queries) if pos[i] and q['object'] not in held]
    obj_q = np.asarray([i for i in trainable if queries[i]['object'] >= 0])
    ss_q = np.asarray([i for i in trainable if queries[i]['object'] < 0])
    # (A query whose object sits in no other dumped scene — a --limit'ed dump — has nothing to find.)
    val_sets = {'train_family': [i for i, q in enumerate(queries) if q['object'] in val_obj and pos[i]]}
    if fam_obj:
        val_sets['heldout_family'] = [i for i, q in enumerate(queries) if q['object'] in fam_obj and pos[i]]
    select = 'heldout_family' if fam_obj else 'train_family'
    if not val_sets[select]:
        sys.exit(f'no {select} validation query has a relevant image in these dumps')
    # Validation objects' images are never training targets, nor their crops queries; they stay in the gallery.
    log(f'train queries: {len(obj_q)} object, {len(ss_q)} self-supervised; validation queries: '
        + ', '.join(f'{k} {len(v)}' for k, v in val_sets.items()) + f'; selecting on {select}')

    def validate():
        return {k: evaluate(model, G, Q, owner, images, queries, v) for k, v in val_sets.items()}
    Qt = torch.from_numpy(Q)
    hard = mine_hard(G, Q, owner, related, args.hard_pool)
    log('hard negatives mined')

    hp = {'hidden_dim': args.hidden_dim, 'nhead': args.nhead, 'low_rank_dim': args.rank,
          'query_residual_weight': args.query_residual_weight, 'anchor_scale': args.anchor_scale,
          'num_steps': args.num_steps, 'num_layers': args.num_layers, 'embedding_dim': E,
          'use_fro_norm': bool(args.fro_norm)}
    # Dropout 0: on these CPUs its Bernoulli masks cost as much as the matmuls; weight decay + validation-based
    # checkpoint selection regularise instead. (Dropout is not part of the checkpoint; inference ignores it.)
    model = TransformerHypernetwork(**hp, dropout=0.0)
    if args.init:
        cfg = yaml.safe_load(open(os.path.join(args.init, 'config.yml')))['hparams']
        wrong = {k: (cfg.get(k), v) for k, v in hp.items() if cfg.get(k) != v}
        if wrong:
            sys.exit(f'--init {args.init}: config.yml differs from these hparams (checkpoint, here): {wrong}')
        model.load_state_dict(torch.load(os.path.join(args.init, 'weights.pt')), strict=True)
        log(f'initialised from {args.init}')
    else:
        calibrate(model, Qt[torch.from_numpy(obj_q[:256])], args.fro_norm)
    n_params = sum(p.numel() for p in model.parameters())
    log(f'hparams {hp}, {n_params} parameters')
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    warm = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    Gt = torch.from_numpy(G)
    fe = args.feature_extractor or f'quari-workstation/{pack["id"]}@{pack["version"]}'
    history = []
    best = -1.0
    m0 = validate()
    log(f'step 0 val {m0}')
    history.append({'step': 0, **m0})
    if args.init:
        # The starting checkpoint competes too: a fine-tune that never beats it on the selection set writes it back.
        best = m0[select]['adaptive']['mAP@100']
        save(model, hp, args.out, fe)
        log(f'saved the initial checkpoint (val adaptive mAP@100 {best:.4f}) as the one to beat')
    n_ss = int(round(args.batch * args.selfsup_frac))
    inv_t = 1.0 / args.temperature
    step = 0
    for step in range(1, args.steps + 1):
        b_idx = np.concatenate([rs.choice(obj_q, args.batch - n_ss, replace=False), rs.choice(ss_q, n_ss, replace=False)])
        B = len(b_idx)
        # One positive row per query: a random window over the object in a random other scene holding it.
        p_rows = []
        for qi in b_idx:
            group = pos[qi][rs.integers(len(pos[qi]))]
            p_rows.append(group[rs.integers(len(group))])
        hn = hard[b_idx][:, rs.permutation(args.hard_pool)[:args.hard_per_query]].reshape(-1)
        rnd = rs.integers(0, len(G), args.random_negatives)
        cand = np.concatenate([np.asarray(p_rows), hn, rnd])
        # mask[b, c]: candidate c belongs to an image related to query b (a positive or semi-positive image)
        # other than b's own positive -> out of b's softmax (neither positive nor negative).
        cand_owner = owner[cand]
        mask = np.stack([np.isin(cand_owner, related[qi]) for qi in b_idx])
        mask[np.arange(B), np.arange(B)] = False
        q = Qt[b_idx]
        if args.query_noise > 0:
            # Feature-space augmentation against memorising individual training crops.
            q = torch.nn.functional.normalize(q + torch.randn_like(q) * (args.query_noise / math.sqrt(E)), dim=-1)
        refined, U, V = model(q)
        s = lowrank_scores(refined, U, V, Gt[cand], model.a) * inv_t
        s = s.masked_fill(torch.from_numpy(mask), -1e4)
        target = torch.arange(B)
        loss_q2g = torch.nn.functional.cross_entropy(s, target)
        loss_g2q = torch.nn.functional.cross_entropy(s[:, :B].T, target)
        loss = 0.5 * (loss_q2g + loss_g2q)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0:
            log(f'step {step} loss {loss.item():.4f} (q2g {loss_q2g.item():.4f}, g2q {loss_g2q.item():.4f}) '
                f'lr {sched.get_last_lr()[0]:.2e} {time.time() - t_start:.0f} s')
        stop = time.time() - t_start > args.minutes * 60
        if step % args.eval_every == 0 or step == args.steps or stop:
            m = validate()
            history.append({'step': step, 'seconds': round(time.time() - t_start), **m})
            log(f'step {step} val {m}')
            if m[select]['adaptive']['mAP@100'] > best:
                best = m[select]['adaptive']['mAP@100']
                save(model, hp, args.out, fe)
                log(f'saved (best adaptive val mAP@100 {best:.4f})')
        if stop:
            log('time limit reached')
            break
    w = open(os.path.join(args.out, 'weights.pt'), 'rb').read()
    record = {'args': vars(args), 'hparams': hp, 'parameters': n_params, 'pack': pack, 'feature_extractor': fe,
              'data': {'images': len(images), 'gallery_rows': int(len(G)), 'queries': int(len(Q)), 'objects': n_obj,
                       'train_object_queries': int(len(obj_q)), 'train_selfsup_queries': int(len(ss_q)),
                       'val_queries': {k: len(v) for k, v in val_sets.items()}, 'val_families': args.val_family,
                       'selected_on': select, 'near_duplicate_pairs': n_dup},
              'steps_run': step, 'seconds': round(time.time() - t_start), 'best_val_adaptive_mAP@100': best,
              'weights_sha256': hashlib.sha256(w).hexdigest(), 'weights_bytes': len(w), 'history': history}
    tmp = os.path.join(args.out, f'.train-log.json.tmp-{os.getpid()}')
    with open(tmp, 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, os.path.join(args.out, 'train-log.json'))
    log(f'done: best val adaptive mAP@100 {best:.4f}, {len(w)} bytes')


if __name__ == '__main__':
    main()
