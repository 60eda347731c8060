"""Checks a trained checkpoint against the product's runtime: loads CKPT_DIR with the released-layout loader logic
(config.yml hparams + weights.pt state_dict, strict), runs the PyTorch forward (eval, no_grad) on N queries and a
gallery from a dump, runs `npx quari hypernet` (checkpoint reader -> in-memory ONNX -> ORT) on the same rows, and
prints the max |difference| of refined_query, U, V and scores. Exit status 1 when any exceeds --tol (1e-5).
Usage: /usr/bin/python3 native-models/tools/training/quari/parity.py --checkpoint CKPT_DIR --data DUMP_DIR [--n 16]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hypernet import TransformerHypernetwork, lowrank_scores  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--n', type=int, default=16)
    ap.add_argument('--gallery', type=int, default=500)
    ap.add_argument('--tol', type=float, default=1e-5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load(open(os.path.join(args.checkpoint, 'config.yml')))
    model = TransformerHypernetwork(**cfg['hparams'])
    model.load_state_dict(torch.load(os.path.join(args.checkpoint, 'weights.pt')), strict=True)
    model.eval()
    dim = cfg['hparams']['embedding_dim']
    meta = json.load(open(os.path.join(args.data, 'meta.json')))
    if meta['dim'] != dim:
        sys.exit(f'{args.data}: dim {meta["dim"]} but the checkpoint has embedding_dim {dim}')
    q = np.fromfile(os.path.join(args.data, 'queries.f32'), dtype='<f4').reshape(-1, dim)[:args.n].copy()
    g = np.fromfile(os.path.join(args.data, 'gallery.f32'), dtype='<f4', count=args.gallery * dim).reshape(-1, dim).copy()
    with torch.no_grad():
        refined, U, V = model(torch.from_numpy(q))
        scores = lowrank_scores(refined, U, V, torch.from_numpy(g), model.a)
    with tempfile.TemporaryDirectory() as tmp:
        q.tofile(os.path.join(tmp, 'q.bin'))
        g.tofile(os.path.join(tmp, 'g.bin'))
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
        subprocess.run(['npx', 'quari', 'hypernet', '--checkpoint', os.path.abspath(args.checkpoint), '--queries',
                        os.path.join(tmp, 'q.bin'), '--gallery', os.path.join(tmp, 'g.bin'), '--out',
                        os.path.join(tmp, 'out')], cwd=root, check=True, stdout=subprocess.DEVNULL)
        got = {k: np.fromfile(os.path.join(tmp, 'out', f'{k}.bin'), dtype='<f4') for k in ('refined_query', 'U', 'V', 'scores')}
    want = {'refined_query': refined, 'U': U, 'V': V, 'scores': scores}
    worst = 0.0
    report = {}
    for k, w in want.items():
        d = float(np.abs(w.numpy().reshape(-1) - got[k]).max())
        report[k] = d
        worst = max(worst, d)
    print(json.dumps({'checkpoint': args.checkpoint, 'queries': len(q), 'gallery': len(g), 'maxAbsDiff': report, 'tol': args.tol}))
    sys.exit(0 if worst <= args.tol else 1)


if __name__ == '__main__':
    main()
