"""Sends HTTP GETs to one URL at a steady rate until killed.

    load.py URL --rate R [--keepalive] [--burst ON,OFF] [--concurrency N]

Every request carries ?n=<counter> (or &n=) so a service can key per request.
The schedule is fixed (request i at t0 + i/rate); a driver that falls behind
skips ahead instead of bursting, so a slow service sees the same rate as a
fast one. --burst ON,OFF sends for ON seconds, then stays quiet OFF seconds.
Prints nothing but errors (at most one a second) to stderr, and exits when
its parent does, so a killed test leaves no driver behind.
"""
import argparse
import http.client
import os
import sys
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('--rate', type=float, required=True, help='requests per second (all workers together)')
    ap.add_argument('--keepalive', action='store_true')
    ap.add_argument('--burst', default='', help='ON,OFF seconds')
    ap.add_argument('--concurrency', type=int, default=1)
    args = ap.parse_args()

    u = urllib.parse.urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    base = u.path or '/'
    sep = '&' if u.query else '?'
    if u.query:
        base += '?' + u.query
    burst_on, burst_off = (float(x) for x in args.burst.split(',')) if args.burst else (0.0, 0.0)
    parent = os.getppid()
    counter = iter(range(1 << 62))
    lock = threading.Lock()
    last_error = [0.0]

    def report(msg):
        now = time.monotonic()
        if now - last_error[0] >= 1.0:
            last_error[0] = now
            print('load.py: %s' % msg, file=sys.stderr, flush=True)

    def quiet(t):
        if not burst_on:
            return False
        return (t % (burst_on + burst_off)) >= burst_on

    def worker(offset):
        conn = None
        period = args.concurrency / args.rate
        t0 = time.monotonic() + offset * (1.0 / args.rate)
        i = 0
        while True:
            if os.getppid() != parent:
                os._exit(0)
            due = t0 + i * period
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > period:
                i = int((now - t0) / period)
                continue
            i += 1
            if quiet(time.monotonic() - t0):
                continue
            with lock:
                n = next(counter)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request('GET', '%s%sn=%d' % (base, sep, n),
                             headers={} if args.keepalive else {'Connection': 'close'})
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    report('HTTP %d from %s' % (resp.status, args.url))
                if not args.keepalive or resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                report('%s: %s' % (type(e).__name__, e))
                if conn is not None:
                    conn.close()
                conn = None

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(args.concurrency)]
    for t in threads:
        t.start()
    try:
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(0)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
