"""Ingest service that fans each batch out to 8 threads of its own, then sits idle.

Each batch parses many 1-4 KiB records (malloc'd, so each thread uses its
own glibc arena), keeps 1 record in 50 in a bounded "recent records" cache
and drops the rest. Batches grow with the backlog (a little larger each
time), so each one pushes past the last one's high-water mark; the few cached
records left scattered across the arenas stop glibc from giving the freed
space back. Live Python data stays bounded; RSS does not.

    python3 arena_holes.py PORT
"""
import collections
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from plain_http import serve
from request_churn import churn

THREADS = 8
_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix='ingest')
# Full from the start (see prefill below): the bounded cache must not still
# be filling during memwhy's window, or its growth would be a real (if
# bounded) Python-object climb rather than the allocator's retention.
_recent = collections.deque(maxlen=4000)
_recent_lock = threading.Lock()
_batches = [0]


def parse_records(count, seed):
    rng = random.Random(seed)
    records = [bytearray(rng.randint(1024, 4096)) for _ in range(count)]
    kept = records[:: 50]
    with _recent_lock:
        _recent.extend(kept)
    return sum(len(r) for r in records)


def ingest(path):
    _batches[0] += 1
    per_thread = 600 + 2 * _batches[0]
    futures = [_pool.submit(parse_records, per_thread, random.random()) for _ in range(THREADS)]
    total = sum(f.result() for f in futures)
    churn()
    return b'%d' % total


def prefill():
    # Spread over the ingest threads, as the kept records of batches would be.
    per_thread = _recent.maxlen * 50 // THREADS
    for f in [_pool.submit(parse_records, per_thread, random.random()) for _ in range(THREADS)]:
        f.result()


if __name__ == '__main__':
    prefill()
    serve(int(sys.argv[1]), ingest)
