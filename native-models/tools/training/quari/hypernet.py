"""QuARI TransformerHypernetwork, written from the forward math in shared/fixtures/quari-reference/README.md.

Module names, registration order and shapes reproduce the released checkpoint layout exactly (pos_emb, pos_scale,
query_encoder.{0,1,4,5}, step_proj.{0,2}, transformer.layers.{i}.*, query_decoder.{0,3}, dec_u_img.{0,3},
dec_v_img.{0,3}), so torch.save(model.state_dict()) loads in native-models/runtime/quari/checkpoint and the ONNX builder.
Also the low-rank scorer used by training: score = q' . normalize(x + a (x U) V^T), computed without the
[B, C, E] tensor through ||xW||^2 = ||x||^2 + 2a (xU).(xV) + a^2 (xU) V^T V (xU)^T.
"""
import math

import torch
from torch import nn

HPARAM_ORDER = ['hidden_dim', 'nhead', 'low_rank_dim', 'query_residual_weight', 'anchor_scale', 'num_steps',
                'num_layers', 'embedding_dim', 'use_fro_norm']


def mlp(inp, hidden, out, dropout):
    # Linear, GELU, Dropout, Linear -> state_dict indices 0 and 3, as in the released decoders.
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out))


class TransformerHypernetwork(nn.Module):
    def __init__(self, embedding_dim, low_rank_dim=64, hidden_dim=512, num_steps=4, nhead=8, num_layers=4,
                 dropout=0.1, query_residual_weight=0.5, use_fro_norm=True, anchor_scale=0.8):
        super().__init__()
        if hidden_dim % 2:
            raise ValueError('hidden_dim must be even (interleaved sinusoidal pos_emb)')
        E, H, r = embedding_dim, hidden_dim, low_rank_dim
        self.E, self.H, self.r, self.T = E, H, r, num_steps
        self.w, self.a, self.use_fro_norm = query_residual_weight, anchor_scale, use_fro_norm
        # pos_emb[p, 2k] = sin(p div_k), pos_emb[p, 2k+1] = cos(p div_k), div_k = exp(2k (-ln 10000 / H)).
        pos = torch.arange(2 * r + 1, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, H, 2, dtype=torch.float32) * (-math.log(10000.0) / H))
        pe = torch.zeros(2 * r + 1, H)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer('pos_emb', pe)
        self.register_buffer('pos_scale', torch.ones(1))
        self.query_encoder = nn.Sequential(nn.Linear(E, H), nn.LayerNorm(H), nn.GELU(), nn.Dropout(dropout),
                                           nn.Linear(H, H), nn.LayerNorm(H))
        self.step_proj = nn.Sequential(nn.Linear(H, H), nn.GELU(), nn.Linear(H, H))
        layer = nn.TransformerEncoderLayer(H, nhead, dim_feedforward=4 * H, dropout=dropout, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.query_decoder = mlp(H, H, E, dropout)
        self.dec_u_img = mlp(H, H, E, dropout)
        self.dec_v_img = mlp(H, H, E, dropout)

    def step_sinusoid(self, t):
        # All cosines, then all sines (not interleaved); a trailing 0 when H is odd.
        half = self.H // 2
        f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        s = torch.cat([torch.cos(t * f), torch.sin(t * f)])
        if self.H % 2:
            s = torch.cat([s, torch.zeros(1)])
        return s

    def forward(self, q):
        """q [B, E] (unit rows) -> refined query [B, E], U [B, E, r], V [B, E, r]."""
        B, r = q.shape[0], self.r
        ctx = self.query_encoder(q)
        u = q.new_zeros(B, r, self.H)
        v = q.new_zeros(B, r, self.H)
        pe = self.pos_scale * self.pos_emb[:r]  # V tokens reuse PE rows 0..r-1
        for t in range(self.T):
            e = self.step_proj(self.step_sinusoid(float(t)).to(q))
            seq = torch.cat([(ctx + e)[:, None], u + pe, v + pe], dim=1)
            out = self.transformer(seq)
            ctx = ctx + out[:, 0]
            u = u + out[:, 1:1 + r]
            v = v + out[:, 1 + r:]
        qd = self.query_decoder(ctx)
        refined = nn.functional.normalize((1 - self.w) * qd + self.w * q, dim=-1, eps=1e-12)
        U = self.dec_u_img(u).transpose(1, 2)
        V = self.dec_v_img(v).transpose(1, 2)
        if self.use_fro_norm:
            U = U / (U.flatten(1).norm(dim=1)[:, None, None] + 1e-8)
            V = V / (V.flatten(1).norm(dim=1)[:, None, None] + 1e-8)
        return refined, U, V


def lowrank_scores(refined, U, V, X, a):
    """scores [B, C] = refined_b . normalize(x_c + a (x_c U_b) V_b^T) for unit-norm-ish rows X [C, E]."""
    B, E, r = U.shape
    C = X.shape[0]
    xu = (X @ U.permute(1, 0, 2).reshape(E, B * r)).reshape(C, B, r).permute(1, 0, 2)  # [B, C, r]
    xv = (X @ V.permute(1, 0, 2).reshape(E, B * r)).reshape(C, B, r).permute(1, 0, 2)
    qv = torch.einsum('be,ber->br', refined, V)
    vtv = V.transpose(1, 2) @ V  # [B, r, r]
    num = refined @ X.T + a * (xu * qv[:, None, :]).sum(-1)
    xx = (X * X).sum(-1)[None, :]
    sq = xx + 2 * a * (xu * xv).sum(-1) + a * a * ((xu @ vtv) * xu).sum(-1)
    return num / sq.clamp_min(1e-24).sqrt().clamp_min(1e-12)
