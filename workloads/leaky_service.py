"""A small "service" that leaks, for memwhy's demo and tests.

Worker threads handle fake requests. Each request makes a Session and stores
it in the module-global registry _SESSIONS, which nothing ever evicts: the
classic Python-objects leak (a cache without a bound). Each request also
churns some short-lived buffers, as real request handling does.

Runs on Python 2.7 and 3.6+, standard library only. Prints "ready <pid>" once
the workers run. Options: --rate N requests/s (default 200), --threads N.
"""
import os
import random
import sys
import threading
import time

_SESSIONS = {}
_LOCK = threading.Lock()


class Session(object):
    def __init__(self, sid, user):
        self.sid = sid
        self.user = user
        self.created = time.time()
        self.history = ["GET /item/%d" % random.randint(0, 10000) for _ in range(4)]
        self.payload = os.urandom(256)


def handle_request(n, worker):
    sid = "%08x-%d-%d" % (random.getrandbits(32), worker, n)
    scratch = [bytearray(random.randint(512, 4096)) for _ in range(8)]
    session = Session(sid, "user%d" % (n % 997))
    with _LOCK:
        _SESSIONS[sid] = session  # never evicted: the leak
    del scratch


def worker(index, rate):
    n = 0
    interval = 1.0 / rate
    next_t = time.time()
    while True:
        handle_request(n, index)
        n += 1
        next_t += interval
        delay = next_t - time.time()
        if delay > 0:
            time.sleep(delay)


def main():
    rate = 200.0
    threads = 4
    args = sys.argv[1:]
    while args:
        flag = args.pop(0)
        if flag == "--rate":
            rate = float(args.pop(0))
        elif flag == "--threads":
            threads = int(args.pop(0))
    for i in range(threads):
        t = threading.Thread(target=worker, args=(i, rate / threads), name="worker-%d" % i)
        t.daemon = True
        t.start()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while True:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
