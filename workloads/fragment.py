"""A thread-pool service whose RSS stays high while its live data is small.

A dispatcher hands requests, one after another and round-robin, to a pool of
worker threads. A request builds a response out of 2-4 KiB buffers and drops
it when done; on the way it keeps 1 small record (0.5-1 KiB) in every
KEEP_EVERY allocations in a bounded cache that all workers share, the way a
session or result cache fills. After the busy phase the load drops to a
trickle of small requests for a few seconds (the quiet phase), so the final
RSS shows what the allocator kept.

Why glibc keeps the memory: every thread gets its own arena, each arena
grows to the largest response it served, and the small records left between
the freed buffers stop free() from giving back the top of the heap (without
them, RSS falls back to 16 MiB). Fewer arenas (arena_max) or an allocator
with one shared page heap (tcmalloc) keep less.

Measured with `memwhy compare --repeat 3 -- /usr/bin/python3 fragment.py`
(Debian 12, glibc 2.36, Python 3.11, 2 cores; medians; live data 7.3 MiB):

  ALLOCATOR      MEAN RSS   PEAK RSS  FINAL RSS
  glibc         186.2 MiB  206.0 MiB  204.2 MiB
  glibc-arena2  101.1 MiB  111.2 MiB  107.3 MiB
  jemalloc      475.9 MiB  600.6 MiB  594.2 MiB
  tcmalloc       97.6 MiB  105.7 MiB  105.7 MiB
  mimalloc      201.6 MiB  248.6 MiB  188.0 MiB

glibc RSS grows with the threads (1: 63 MiB, 4: 209 MiB, 8: 403 MiB).
jemalloc keeps the most here: freed pages wait out its dirty decay (10 s by
default); with MALLOC_CONF=dirty_decay_ms:0 it ends at 25 MiB but runs 3x
longer. Allocator choice is workload-dependent.

Every buffer is larger than pymalloc's small-object limit (512 bytes in 3.x,
256 in 2.7: SMALL_REQUEST_THRESHOLD in Objects/obmalloc.c), so it comes from
the C allocator, which is the thing under test.

Options (or environment variables):
  --threads N    FRAGMENT_THREADS   pool threads (default 4)
  --rounds N     FRAGMENT_ROUNDS    big requests in the busy phase (default 40)
  --seconds S    FRAGMENT_SECONDS   length of the quiet phase (default 3)
  --buffers N    FRAGMENT_BUFFERS   buffers per big request (default 16000)
  --hold         FRAGMENT_HOLD=1    after the quiet phase print "ready" and
                                    stay idle instead of exiting, for tools
                                    that attach (memwhy malloc, memwhy trim)

Runs on Python 2.7 and 3.x with the standard library only, in about 6 s with
the defaults. Prints live bytes and RSS after each phase.
"""
import os
import random
import sys
import threading
import time

try:
    import queue
except ImportError:  # Python 2.7
    import Queue as queue

# Response buffers and kept records are of different sizes, as in a real
# service; both are above pymalloc's limit so they come from malloc.
BUFFER_SIZES = (2048, 4096)
RECORD_SIZES = (513, 1024)
# 1 in 50 kept: the ratio under which glibc kept 788 MiB RSS for 17 MiB live
# (shared NOTES, "Allocators").
KEEP_EVERY = 50
# Records in the shared cache: 10000 x ~0.75 KiB = ~7.5 MiB live.
CACHE_SIZE = 10000
# Quiet phase: one small request this often, so allocators that purge on
# activity (jemalloc's decay, mimalloc's delayed reset) get the chance to.
TRICKLE_INTERVAL = 0.05
TRICKLE_BUFFERS = 50


def option(name, default, convert):
    flag = '--' + name
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return convert(argv[i + 1])
        if arg.startswith(flag + '='):
            return convert(arg[len(flag) + 1:])
    env = os.environ.get('FRAGMENT_' + name.upper())
    return convert(env) if env else default


def status_mib(field):
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) / 1024.0
    except (IOError, OSError):
        pass
    return 0.0


class Cache(object):
    """A bounded ring of kept records: each new one drops the oldest."""

    def __init__(self, size):
        self.slots = [None] * size
        self.next = 0
        self.lock = threading.Lock()

    def keep(self, record):
        with self.lock:
            self.slots[self.next] = record
            self.next = (self.next + 1) % len(self.slots)

    def live_bytes(self):
        with self.lock:
            return sum(len(r) for r in self.slots if r is not None)


class Worker(threading.Thread):
    def __init__(self, seed, cache):
        threading.Thread.__init__(self)
        self.daemon = True
        self.rng = random.Random(seed)
        self.cache = cache
        self.requests = queue.Queue()

    def serve(self, buffers):
        rng = self.rng
        response = []
        for i in range(buffers):
            if i % KEEP_EVERY == 0:
                self.cache.keep(b'r' * rng.randint(*RECORD_SIZES))
            response.append(b'x' * rng.randint(*BUFFER_SIZES))
        del response[:]

    def run(self):
        while True:
            buffers, done = self.requests.get()
            self.serve(buffers)
            done.set()


def dispatch(workers, n, buffers):
    """Sends a request to worker n and waits for it, as a single client would."""
    done = threading.Event()
    workers[n % len(workers)].requests.put((buffers, done))
    # A timeout keeps Ctrl-C working while waiting on Python 2.7.
    while not done.wait(0.5):
        pass


def report(phase, started, cache):
    sys.stdout.write('%s (%.1f s): live %.1f MiB, VmRSS %.1f MiB, RssAnon %.1f MiB\n' % (
        phase, time.time() - started, cache.live_bytes() / 1048576.0,
        status_mib('VmRSS'), status_mib('RssAnon')))
    sys.stdout.flush()


def main():
    threads = option('threads', 4, int)
    rounds = option('rounds', 40, int)
    seconds = option('seconds', 3.0, float)
    buffers = option('buffers', 16000, int)
    hold = '--hold' in sys.argv[1:] or os.environ.get('FRAGMENT_HOLD') == '1'
    sys.stdout.write('fragment: python %s, %d threads, %d requests x %d buffers, quiet %.1f s\n' % (
        sys.version.split()[0], threads, rounds, buffers, seconds))
    sys.stdout.flush()
    started = time.time()
    cache = Cache(CACHE_SIZE)
    workers = [Worker(n, cache) for n in range(threads)]
    for w in workers:
        w.start()
    for n in range(rounds):
        dispatch(workers, n, buffers)
    report('busy', started, cache)
    quiet_until = time.time() + seconds
    n = 0
    while time.time() < quiet_until:
        dispatch(workers, n, TRICKLE_BUFFERS)
        n += 1
        time.sleep(TRICKLE_INTERVAL)
    report('quiet', started, cache)
    if hold:
        # Idle with the cache alive: the workers block in requests.get(), so
        # nothing allocates or frees until something attaches. The main
        # thread wakes twice a second because memwhy's gdb transport starts
        # its agent when a thread next runs Python code.
        sys.stdout.write('ready\n')
        sys.stdout.flush()
        while True:
            time.sleep(0.5)
    # Exit without tearing down: freeing the cache and the interpreter at
    # exit gives memory back, and a sampler's last reading would show that
    # instead of what the allocator kept.
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
