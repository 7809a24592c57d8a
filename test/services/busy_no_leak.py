"""Busy Flask app under waitress (4 threads) that renders big transient reports and keeps nothing.

    python3 busy_no_leak.py PORT
"""
import random
import sys

from flask import Flask
from waitress import serve

from request_churn import churn

app = Flask(__name__)


@app.route('/report')
def report():
    rng = random.Random()
    # A fixed report size: with sizes drawn at random, each waitress thread's
    # malloc arena kept reaching new high-water marks for minutes (RSS +60
    # to +300 KiB/s after 150 s, glibc's free-but-held memory growing with
    # it): a service still settling, not a steady one.
    rows = [{'id': i, 'name': 'row-%d' % i, 'score': rng.random()} for i in range(3000)]
    text = '\n'.join('%(id)d,%(name)s,%(score)f' % r for r in rows)
    churn(rng)
    return text[: 4096]


if __name__ == '__main__':
    serve(app, host='127.0.0.1', port=int(sys.argv[1]), threads=4, _quiet=True)
