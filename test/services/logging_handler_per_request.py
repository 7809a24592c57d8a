"""Service that captures each request's log lines with a handler it adds and never removes.

Every request adds a CaptureHandler (filtered to its own request id, holding
its lines in an io.StringIO, to echo them in a debug header) to the
'orders' logger, and forgets `removeHandler`. The logger's handler list,
and every handler's buffer, grow forever.

    python3 logging_handler_per_request.py PORT
"""
import io
import itertools
import logging
import random
import sys

from plain_http import serve
from request_churn import churn

log = logging.getLogger('orders')
log.setLevel(logging.INFO)
log.propagate = False
_ids = itertools.count()


class CaptureHandler(logging.Handler):
    def __init__(self, request_id):
        super().__init__()
        self.request_id = request_id
        self.buffer = io.StringIO()
        self.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
        self.addFilter(lambda record: getattr(record, 'request_id', None) == request_id)

    def emit(self, record):
        self.buffer.write(self.format(record) + '\n')


def handle_order(path):
    request_id = next(_ids)
    capture = CaptureHandler(request_id)
    log.addHandler(capture)
    extra = {'request_id': request_id}
    for step in range(random.randint(8, 14)):
        log.info('order %d step %d: %s', request_id, step, 'd' * random.randint(600, 1400), extra=extra)
    churn()
    return capture.buffer.getvalue()[-200:].encode()


if __name__ == '__main__':
    serve(int(sys.argv[1]), handle_order)
