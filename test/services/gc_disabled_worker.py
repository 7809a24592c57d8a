"""Flask app (run under gunicorn, 1 sync worker) whose worker runs with the cyclic collector disabled.

gunicorn imports the app in the worker (no --preload), so gc.disable() runs
there, as services do to avoid collector pauses. Each request builds a
request-context tree whose nodes point at their parent and children, a
reference cycle that reference counting alone never frees.

    gunicorn -w 1 -b 127.0.0.1:PORT gc_disabled_worker:app
"""
import gc
import random

from flask import Flask

from request_churn import churn

gc.disable()

app = Flask(__name__)


class ContextNode:
    def __init__(self, parent, name):
        self.parent = parent
        self.children = []
        self.name = name
        self.attrs = {'k%d' % i: 'v' * random.randint(10, 60) for i in range(8)}
        if parent is not None:
            parent.children.append(self)


def build_context(depth, fanout):
    root = ContextNode(None, 'request')
    level = [root]
    for d in range(depth):
        level = [ContextNode(p, 'span-%d' % d) for p in level for _ in range(fanout)]
    return root


@app.route('/render')
def render():
    ctx = build_context(2, 3)
    churn()
    return {'spans': len(ctx.children)}
