"""A WSGI app for gunicorn that does a little work per request and keeps nothing.

    gunicorn --workers 1 steady_worker:app
"""
import json


def app(environ, start_response):
    # A request's worth of short-lived objects: parsed query, a few dicts, a JSON body.
    query = dict(p.partition('=')[::2] for p in environ.get('QUERY_STRING', '').split('&') if p)
    rows = [{'id': i, 'name': 'item-%d' % i, 'tags': [query.get('sku', 'x')] * 3} for i in range(200)]
    body = json.dumps({'count': len(rows), 'first': rows[0]}).encode('ascii')
    start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    return [body]
