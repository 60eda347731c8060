"""PyTorch baseline for bench/hypernet.ts: the QuARI hypernetwork forward written from the math in
shared/fixtures/quari-reference/README.md (not the upstream module), timed on one CPU thread.

Usage: python3 hypernet_torch.py CHECKPOINT_DIR QUERY_BIN WARMUP RUNS
Prints one JSON line: median/min ms of a batch-1 forward and max |diff| of refined_query/U/V against the
checkpoint folder's fixture files when present (so the timed network is shown to be the same one).
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

torch.set_num_threads(1)
DEFAULTS = dict(low_rank_dim=64, hidden_dim=512, num_steps=4, nhead=8, num_layers=4,
                query_residual_weight=0.5, use_fro_norm=True, anchor_scale=0.8)


def main():
    ckpt_dir, query_bin, warmup, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(os.path.join(ckpt_dir, "config.yml")) as f:
        hp = {**DEFAULTS, **yaml.safe_load(f)["hparams"]}
    sd = torch.load(os.path.join(ckpt_dir, "weights.pt"), map_location="cpu")
    E, H, r, T = hp["embedding_dim"], hp["hidden_dim"], hp["low_rank_dim"], hp["num_steps"]
    L, nh, w = hp["num_layers"], hp["nhead"], hp["query_residual_weight"]
    d = H // nh
    ps = sd["pos_scale"].reshape(()).item()
    pe_tok = ps * sd["pos_emb"][:r]

    def lin(x, name):
        return F.linear(x, sd[name + ".weight"], sd[name + ".bias"])

    def ln(x, name):
        return F.layer_norm(x, (H,), sd[name + ".weight"], sd[name + ".bias"], 1e-5)

    half = H // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)

    def step_emb(t):
        a = t * freqs
        s = torch.cat([torch.cos(a), torch.sin(a)] + ([torch.zeros(1)] if H % 2 else []))
        return lin(F.gelu(lin(s, "step_proj.0")), "step_proj.2")

    def layer(x, i):
        p = f"transformer.layers.{i}"
        B, S, _ = x.shape
        qkv = F.linear(ln(x, p + ".norm1"), sd[p + ".self_attn.in_proj_weight"], sd[p + ".self_attn.in_proj_bias"])
        q, k, v = qkv.view(B, S, 3, nh, d).permute(2, 0, 3, 1, 4)
        a = torch.softmax((q / math.sqrt(d)) @ k.transpose(-1, -2), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(B, S, H)
        x = x + lin(o, p + ".self_attn.out_proj")
        return x + lin(F.gelu(lin(ln(x, p + ".norm2"), p + ".linear1")), p + ".linear2")

    def forward(q):
        q = F.normalize(q, dim=-1)
        B = q.shape[0]
        ctx = ln(lin(F.gelu(ln(lin(q, "query_encoder.0"), "query_encoder.1")), "query_encoder.4"), "query_encoder.5")
        u = torch.zeros(B, r, H)
        v = torch.zeros(B, r, H)
        for t in range(T):
            seq = torch.cat([(ctx + step_emb(t)).unsqueeze(1), u + pe_tok, v + pe_tok], dim=1)
            out = seq
            for i in range(L):
                out = layer(out, i)
            ctx, u, v = ctx + out[:, 0], u + out[:, 1:1 + r], v + out[:, 1 + r:]
        qd = lin(F.gelu(lin(ctx, "query_decoder.0")), "query_decoder.3")
        refined = F.normalize((1 - w) * qd + w * q, dim=-1)

        def factor(tok, dec):
            m = lin(F.gelu(lin(tok, dec + ".0")), dec + ".3").transpose(1, 2)
            return m / (m.norm(dim=(1, 2), keepdim=True) + 1e-8) if hp["use_fro_norm"] else m

        return refined, factor(u, "dec_u_img"), factor(v, "dec_v_img")

    queries = torch.from_numpy(np.fromfile(query_bin, dtype="<f4").reshape(-1, E))
    one = queries[:1].clone()
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            forward(one)
        for _ in range(runs):
            t0 = time.perf_counter()
            forward(one)
            times.append((time.perf_counter() - t0) * 1000)
        outs = forward(queries)
    report = {"median_ms": statistics.median(times), "min_ms": min(times), "torch": torch.__version__}
    for name, got in zip(["refined_query", "U", "V"], outs):
        ref_file = os.path.join(ckpt_dir, name + ".bin")
        if os.path.exists(ref_file):
            ref = torch.from_numpy(np.fromfile(ref_file, dtype="<f4").reshape(got.shape))
            report[f"maxdiff_{name}"] = (got - ref).abs().max().item()
    print(json.dumps(report))


main()
