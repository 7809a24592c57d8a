# memwhy agent: the request loop that runs in its own thread inside the target.
#
# Requests and replies are JSON lines on the Unix socket memwhy handed the
# bootstrap: {"id", "method": "module.function", "params": {...}} ->
# {"id", "result"} or {"id", "error": {"type", "message", "traceback"}}.
# Modules are the .py files memwhy sent in its welcome; each is exec'd into a
# fresh dict on first use (never into sys.modules) and dropped at close.
#
# What stays in the target after close: the standard-library modules the
# agent imported, in sys.modules; no thread, no fd, no file, no global name.
# Those modules: json, socket, traceback, codeop, binascii and what they
# import (test/attach/exec.test.ts checks the list on every version); the
# heap, gc and refs probes add collections, itertools, reprlib (repr on
# 2.7), weakref; malloc and trim add ctypes; diagnose adds tracemalloc
# (3.4+), which it stops again unless the program was tracing already.
import json
import sys
import traceback


def _encode(obj):
    text = json.dumps(obj, default=_fallback)
    if not isinstance(text, bytes):
        text = text.encode('utf-8')
    return text + b'\n'


def _fallback(obj):
    return repr(obj)


class _Modules(object):
    def __init__(self, sources):
        self.sources = sources
        self.loaded = {}

    def load(self, name):
        mod = self.loaded.get(name)
        if mod is None:
            source = self.sources.get(name)
            if source is None:
                raise ImportError('memwhy agent has no module %r' % (name,))
            mod = {'__name__': '__memwhy_%s__' % name, '_load': self.load}
            exec(compile(source, 'memwhy/%s.py' % name, 'exec'), mod)
            self.loaded[name] = mod
        return mod

    def clear(self):
        # A module that changed the interpreter (tracemalloc, say) undoes it
        # in _on_close, whether memwhy said goodbye or vanished.
        for mod in self.loaded.values():
            hook = mod.get('_on_close')
            if hook is not None:
                try:
                    hook()
                except BaseException:
                    pass
        for mod in self.loaded.values():
            mod.clear()
        self.loaded.clear()


def _call(modules, method, params):
    if method == 'agent.ping':
        return {'pid': __import__('os').getpid(), 'python': list(sys.version_info[:3])}
    mod_name, _, fn_name = method.rpartition('.')
    fn = modules.load(mod_name).get(fn_name)
    if fn is None or fn_name.startswith('_'):
        raise AttributeError('memwhy agent module %s has no function %s' % (mod_name, fn_name))
    kwargs = dict((str(k), v) for k, v in (params or {}).items())
    return fn(**kwargs)


def serve(sock, buf, sources):
    sock.settimeout(None)
    modules = _Modules(sources)
    try:
        while True:
            while b'\n' not in buf:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return
                buf += chunk
            line, buf = buf.split(b'\n', 1)
            request = json.loads(line.decode('utf-8'))
            rid = request.get('id')
            method = request.get('method', '')
            if method == 'agent.close':
                # No reply: memwhy waits for the socket to close. Sending one
                # lets the GIL go, and taking it back can wait for good in an
                # interpreter that keeps the GIL while idle (src/agent/boot.py).
                return
            try:
                reply = {'id': rid, 'result': _call(modules, method, request.get('params'))}
            except BaseException:
                etype, value = sys.exc_info()[:2]
                reply = {'id': rid, 'error': {
                    'type': getattr(etype, '__name__', str(etype)),
                    'message': _safe_str(value),
                    'traceback': ''.join(traceback.format_exception(*sys.exc_info())),
                }}
            data = _encode(reply)
            reply = None
            sock.sendall(data)
    finally:
        modules.clear()


def _safe_str(value):
    try:
        return str(value)
    except BaseException:
        return '<unprintable exception>'
