"""How well the pack's encoder matches an object to itself, with localisation and background taken out of the way.

Every object occurrence in the dumps contributes its analyst crop vector (the first crop of the occurrence); each
crop queries all the others by cosine, and the other occurrences of the same object are relevant. No scene, no
windows, no background: what is left is the encoder's invariance to the rendering jitter (rotation, scale, lighting,
hue, blur, JPEG). Prints mAP@100 and the share whose top-1 is the same object. Region schemes and re-ranking work on
top of this; when it is low, the encoder is the bottleneck.
Usage: /usr/bin/python3 native-models/tools/training/quari/ceiling.py DUMP_DIR [DUMP_DIR ...]
"""
import json
import os
import sys

import numpy as np


def main(dirs):
    vecs, obj, img, names, off = [], [], [], {}, 0
    for d in dirs:
        meta = json.load(open(os.path.join(d, 'meta.json')))
        q = np.fromfile(os.path.join(d, 'queries.f32'), dtype='<f4').reshape(-1, meta['dim'])
        seen = set()
        for k, qq in enumerate(meta['queries']):
            if qq['object'] < 0 or qq['image'] in seen:
                continue
            seen.add(qq['image'])
            vecs.append(q[k])
            obj.append(names.setdefault(meta['objects'][qq['object']], len(names)))
            img.append(qq['image'] + off)
        off += len(meta['images'])
    Q, obj = np.asarray(vecs), np.asarray(obj)
    S = Q @ Q.T
    aps, top1 = [], []
    for i in range(len(Q)):
        rel = obj == obj[i]
        rel[i] = False
        n = int(rel.sum())
        if n == 0:
            continue
        s = S[i].copy()
        s[i] = -np.inf
        hits = rel[np.argsort(-s)[:100]]
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(float((hits * precision).sum() / min(n, 100)))
        top1.append(float(hits[0]))
    print(json.dumps({'crops': len(Q), 'objects': len(names), 'mAP@100': round(float(np.mean(aps)), 4),
                      'top1SameObject': round(float(np.mean(top1)), 4)}))


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
