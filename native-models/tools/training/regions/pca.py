"""PCA of GeM vectors for the whitening projection (offline tool; the app never runs Python).

Reads N x dim float32 LE rows, optionally L2-normalises each row, and writes mean.f32 [dim], eigvals.f32 [dim]
(descending) and eigvecs.f32 [dim x dim] (row-major, column k = k-th eigenvector) into OUT_DIR.
Usage: python3 pca.py VECTORS.f32 DIM OUT_DIR [--l2]
"""
import os
import sys

import numpy as np


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    path, dim, out = argv[0], int(argv[1]), argv[2]
    x = np.fromfile(path, dtype='<f4')
    if x.size % dim:
        sys.exit(f'{path}: {x.size} floats is not a multiple of dim {dim}')
    x = x.reshape(-1, dim).astype(np.float64)
    if '--l2' in argv:
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / (x.shape[0] - 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    os.makedirs(out, exist_ok=True)
    mean.astype('<f4').tofile(os.path.join(out, 'mean.f32'))
    vals.astype('<f4').tofile(os.path.join(out, 'eigvals.f32'))
    np.ascontiguousarray(vecs).astype('<f4').tofile(os.path.join(out, 'eigvecs.f32'))
    print(f'{x.shape[0]} vectors of dim {dim}; top eigenvalues {vals[:3]}; '
          f'variance kept at 256/512 dims: {vals[:256].sum() / vals.sum():.3f} / {vals[:512].sum() / vals.sum():.3f}')


if __name__ == '__main__':
    main(sys.argv[1:])
