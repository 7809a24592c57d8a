"""The transient allocations a real request makes, so RSS jitters like a real service's.

Now and then (on average once every 0.4 s, whatever the request rate) a
request builds a large response body (0.2-3 MiB: a mapped buffer, a
malloc'd one or many small pymalloc objects) that stays alive about as
long as a slow client takes to read it (0.3-2 s, tracked here by expiry time rather than
a socket), then is dropped. So 1-2 bodies are alive at most moments and
RSS moves by 1-3 MiB from one second to the next. Nothing is kept past its
expiry: this module leaks nothing.
"""
import mmap
import random
import threading
import time

_lock = threading.Lock()
_streaming = []  # (expires_at, body): bodies "still being sent"
_last_call = [time.monotonic()]
MAX_STREAMING = 2


def churn(rng=random, mean_interval_s=0.4, max_mib=3.0):
    """Maybe build a transient body; returns its size in bytes (0 if none)."""
    now = time.monotonic()
    with _lock:
        _streaming[:] = [(t, b) for (t, b) in _streaming if t > now]
        elapsed, _last_call[0] = now - _last_call[0], now
    # Chance proportional to the time since the last request: a body every
    # mean_interval_s on average, at 1 request/s or at 50.
    if rng.random() >= min(1.0, elapsed / mean_interval_s):
        return 0
    # As a server with few slow clients at once: it bounds the peak, so a
    # service that keeps nothing reaches a steady RSS instead of creeping
    # up with every new coincidence of big bodies.
    with _lock:
        if len(_streaming) >= MAX_STREAMING:
            return 0
    size = int(rng.uniform(0.2, max_mib) * 1024 * 1024)
    kind = rng.random()
    if kind < 0.4:
        # A buffer the allocator maps and unmaps whole, as glibc does for
        # large blocks before its mmap threshold adapts (and jemalloc and
        # numpy's huge-page buffers do always): RSS rises and falls with it.
        body = mmap.mmap(-1, size)
        for page in range(0, size, mmap.PAGESIZE):
            body[page] = 1
    elif kind < 0.6:
        # Once glibc has raised its mmap threshold past this size (it does on
        # the first free of such a block), the buffer comes from the heap and
        # its pages mostly stay.
        body = bytes(size)
    else:
        # Rows of a rendered table: ~140 bytes each, in pymalloc's arenas.
        body = ['%08d,%s' % (i, 'x' * 80) for i in range(size // 150)]
    with _lock:
        _streaming.append((now + rng.uniform(0.3, 2.0), body))
    return size
