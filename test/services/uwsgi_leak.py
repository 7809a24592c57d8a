"""WSGI app (run under uWSGI, embedded libpython) that keeps every request's audit record in a module-level list.

    uwsgi-core --plugin python311 --master --processes 2 --enable-threads \
        --http-socket 127.0.0.1:PORT --wsgi-file uwsgi_leak.py
"""
import random

from request_churn import churn

_audit_trail = []


class AuditRecord:
    def __init__(self, environ):
        self.path = environ.get('PATH_INFO', '')
        self.query = environ.get('QUERY_STRING', '')
        self.headers = {k: v for k, v in environ.items() if k.startswith('HTTP_')}
        self.trace = ['span-%d-%s' % (i, 't' * random.randint(30, 90)) for i in range(80)]


def application(environ, start_response):
    _audit_trail.append(AuditRecord(environ))
    churn()
    body = b'ok %d' % len(_audit_trail)
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
