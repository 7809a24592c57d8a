"""Flask app (run under gunicorn, sync workers) that memoises a price quote per request.

The memo is a module-level dict keyed by the full query, which is unique per
request (it carries the request counter), so it never hits and never evicts:
every worker keeps every quote it ever computed.

    gunicorn -w 2 -b 127.0.0.1:PORT flask_memo_cache:app
"""
import random

from flask import Flask, request

from request_churn import churn

app = Flask(__name__)
_quote_memo = {}


class Quote:
    __slots__ = ('sku', 'lines', 'total')

    def __init__(self, sku, lines, total):
        self.sku = sku
        self.lines = lines
        self.total = total


def compute_quote(key):
    rng = random.Random(key)
    lines = [('line-%d' % i, rng.random() * 100, 'tier-%s' % ('x' * rng.randint(20, 60))) for i in range(40)]
    return Quote(key, lines, sum(price for _, price, _ in lines))


@app.route('/quote')
def quote():
    key = request.query_string.decode()
    q = _quote_memo.get(key)
    if q is None:
        q = _quote_memo[key] = compute_quote(key)
    churn()
    return {'sku': q.sku, 'total': q.total}
