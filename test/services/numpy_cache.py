"""Embedding service that caches every embedding it computes in a module-level list.

Each request embeds its query into a float32 vector (the array's data is
malloc'd by numpy, not pymalloc) and appends it to `_embeddings` "for later
similarity search", which never happens and never evicts.

    python3 numpy_cache.py PORT
"""
import random
import sys

import numpy as np

from plain_http import serve
from request_churn import churn

DIM = 2048
_embeddings = []
_rng = np.random.default_rng()


def embed(path):
    vec = _rng.standard_normal(DIM, dtype=np.float32)
    vec /= np.linalg.norm(vec)
    _embeddings.append(vec)
    # A transient scoring matrix, like a batch of candidates scored then dropped.
    if random.random() < 0.3:
        scores = _rng.standard_normal((random.randint(30, 150), DIM // 2), dtype=np.float32) @ vec[: DIM // 2]
        del scores
    churn()
    return b'%f' % float(vec[0])


if __name__ == '__main__':
    serve(int(sys.argv[1]), embed)
