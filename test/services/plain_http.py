"""A minimal stdlib HTTP/1.1 server for the zoo's services that need no framework."""
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer


def serve(port, handle, threaded=False):
    """Serves GETs on 127.0.0.1:port forever; handle(path_and_query) -> response body bytes."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self):
            body = handle(self.path)
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server_class = ThreadingHTTPServer if threaded else HTTPServer
    server_class(('127.0.0.1', port), Handler).serve_forever()
