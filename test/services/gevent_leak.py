"""gevent.pywsgi service (monkey patched) that keeps a session per request in a module-level dict.

Each request opens a "session" keyed by its request id that nothing ever
closes or expires.

    python3 gevent_leak.py PORT
"""
from gevent import monkey

monkey.patch_all()

import random  # noqa: E402
import sys  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402

from request_churn import churn  # noqa: E402

_sessions = {}


class UserSession:
    def __init__(self, sid):
        self.sid = sid
        self.cart = [{'sku': 'SKU-%06d' % random.randrange(10**6), 'desc': 'd' * random.randint(40, 160)}
                     for _ in range(25)]


def application(environ, start_response):
    sid = environ.get('QUERY_STRING', '') or str(random.random())
    _sessions[sid] = UserSession(sid)
    churn()
    body = b'sessions=%d' % len(_sessions)
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]


if __name__ == '__main__':
    WSGIServer(('127.0.0.1', int(sys.argv[1])), application, log=None).serve_forever()
