"""Report service that makes a ThreadPoolExecutor per request and never shuts it down.

Each request builds its report on a fresh one-worker executor, remembered in
the job history so the job can be "cancelled later". The executor is never
shut down and stays referenced, so its worker thread waits forever on its
queue: one more thread (stack, thread state, its own glibc arena use) per
request.

    python3 executor_per_request.py PORT
"""
import random
import sys
from concurrent.futures import ThreadPoolExecutor

from plain_http import serve
from request_churn import churn

_job_history = []


def build_report(seed):
    rng = random.Random(seed)
    rows = ['%d,%f' % (i, rng.random()) for i in range(rng.randint(2000, 6000))]
    return len('\n'.join(rows))


def report(path):
    executor = ThreadPoolExecutor(max_workers=1)
    size = executor.submit(build_report, random.random()).result()
    _job_history.append(executor)
    churn()
    return b'%d' % size


if __name__ == '__main__':
    serve(int(sys.argv[1]), report)
