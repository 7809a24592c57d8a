# memwhy agent: the request loop that runs in its own thread inside the target.
#
# Requests and replies are JSON lines on the Unix socket memwhy handed the
# bootstrap: {"id", "method": "module.function", "params": {...}} ->
# {"id", "result"} or {"id", "error": {"type", "message", "traceback"}}.
# The agent's thread loads this file and the modules memwhy expects to
# call from a file memwhy wrote (src/agent/start.py); before a call, memwhy
# sends one line per other .py module the call needs: {"define": name,
# "file": path} when it compiled the module itself (a file of marshal data
# in its private directory), {"define": name, "pieces": [[line, text]...]}
# when it could not. Each module is exec'd into a fresh dict on first
# use (never into sys.modules) and dropped at close.
#
# Leaving no trace in what memwhy measures shapes this file:
# - It imports nothing the interpreter had not loaded at start-up. JSON is
#   read by parse_line and written by encode below (the json module and its
#   re, enum, ... cost the target 1.4-1.9 MiB of RSS for good, measured on
#   3.11 and 3.13). traceback is imported only to report an error.
# - It compiles nothing per request: a compile() costs the thread's malloc
#   arena for good (start.py), so request lines are parsed by hand, and
#   memwhy sends its modules compiled when it can.
# - No single allocation reaches glibc's mmap threshold (128 KiB): freeing
#   an mmapped chunk raises that threshold for the whole process
#   (malloc/malloc.c, "dynamic mmap threshold"), which would change how the
#   program's own memory behaves. Socket reads and writes go in 32 KiB
#   pieces and modules arrive one per line.
# - Calls that walk the heap run, when memwhy asks, in a copy-on-write child
#   (fork.py): the child's allocations never touch the target's heap.
#
# What stays in the target after close: the modules the agent's probes
# imported, in sys.modules (_ctypes, the C half of ctypes, for the forked
# calls and the allocator probes, through cabi.py: never ctypes itself;
# tracemalloc's C module for diagnose; on 2.7 the built-in marshal, which
# 3.x has loaded at start-up); no thread, no fd, no file, no global name.
import sys

_PY2 = sys.version_info[0] == 2
_CHUNK = 32768

if _PY2:
    _TEXT = unicode  # noqa: F821 (Python 2)
    _CHR = unichr  # noqa: F821 (Python 2)
    _INTS = (int, long)  # noqa: F821 (Python 2)
    _BYTES = str
else:
    _TEXT = str
    _CHR = chr
    _INTS = (int,)
    _BYTES = bytes

_WORDS = {u'true': True, u'false': False, u'null': None}
_UNESCAPE = {u'"': u'"', u'\\': u'\\', u'/': u'/', u'b': u'\b', u'f': u'\f', u'n': u'\n', u'r': u'\r', u't': u'\t'}
_NUMBER = frozenset(u'+-0123456789.eE')
_SPACE = u' \t\r\n'


def parse_line(line):
    """One JSON line from memwhy (bytes), as Python values (text is unicode on 2.7).

    By hand, not with compile() or eval() (see the header) nor json (not
    loaded at start-up). memwhy sends JSON.stringify's output only, so this
    reads what that writes and raises ValueError on anything else.
    """
    text = line.decode('utf-8')
    value, i = _value(text, _skip(text, 0))
    if _skip(text, i) != len(text):
        raise ValueError('memwhy agent: trailing text in a request')
    return value


def _skip(text, i):
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    return i


def _value(text, i):
    """The value starting at text[i] and the index after it."""
    c = text[i:i + 1]
    if c == u'"':
        return _string(text, i + 1)
    if c == u'{':
        out = {}
        i = _skip(text, i + 1)
        if text[i:i + 1] == u'}':
            return out, i + 1
        while True:
            if text[i:i + 1] != u'"':
                raise ValueError('memwhy agent: a key must be a string')
            key, i = _string(text, i + 1)
            i = _skip(text, i)
            if text[i:i + 1] != u':':
                raise ValueError('memwhy agent: ":" expected')
            out[key], i = _value(text, _skip(text, i + 1))
            i = _skip(text, i)
            c = text[i:i + 1]
            if c == u'}':
                return out, i + 1
            if c != u',':
                raise ValueError('memwhy agent: "," or "}" expected')
            i = _skip(text, i + 1)
    if c == u'[':
        out = []
        i = _skip(text, i + 1)
        if text[i:i + 1] == u']':
            return out, i + 1
        while True:
            v, i = _value(text, i)
            out.append(v)
            i = _skip(text, i)
            c = text[i:i + 1]
            if c == u']':
                return out, i + 1
            if c != u',':
                raise ValueError('memwhy agent: "," or "]" expected')
            i = _skip(text, i + 1)
    for word in _WORDS:
        if text.startswith(word, i):
            return _WORDS[word], i + len(word)
    j = i
    while j < len(text) and text[j] in _NUMBER:
        j += 1
    if j == i:
        raise ValueError('memwhy agent: unexpected %r in a request' % (c,))
    number = text[i:j]
    if u'.' in number or u'e' in number or u'E' in number:
        return float(number), j
    return int(number), j


def _string(text, i):
    """The string whose text starts at text[i] (after its quote) and the index after its end."""
    parts = []
    while True:
        j = text.find(u'"', i)
        k = text.find(u'\\', i, j)
        if j < 0:
            raise ValueError('memwhy agent: unterminated string in a request')
        if k < 0:
            parts.append(text[i:j])
            return u''.join(parts), j + 1
        parts.append(text[i:k])
        e = text[k + 1:k + 2]
        if e == u'u':
            code = int(text[k + 2:k + 6], 16)
            i = k + 6
            # A pair of surrogates is one character beyond the BMP (2.7's
            # narrow builds keep the pair, as their unicode does).
            if 0xD800 <= code < 0xDC00 and text.startswith(u'\\u', i) and sys.maxunicode > 0xFFFF:
                low = int(text[i + 2:i + 6], 16)
                if 0xDC00 <= low < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            parts.append(_CHR(code))
        else:
            parts.append(_UNESCAPE[e])
            i = k + 2


_ESCAPES = dict((i, u'\\u%04x' % i) for i in range(32))
_ESCAPES.update({ord(u'"'): u'\\"', ord(u'\\'): u'\\\\', 10: u'\\n', 13: u'\\r', 9: u'\\t'})


def encode(obj, out):
    """Appends obj as JSON text pieces to the list out (repr for what JSON lacks)."""
    t = type(obj)
    if t is _TEXT:
        out.append(u'"' + obj.translate(_ESCAPES) + u'"')
    elif obj is None:
        out.append(u'null')
    elif t is bool:
        out.append(u'true' if obj else u'false')
    elif t in _INTS:
        out.append(_TEXT(int(obj)) if _PY2 else repr(obj))
    elif t is float:
        out.append(_TEXT(repr(obj)) if obj == obj and obj not in (float('inf'), float('-inf')) else u'null')
    elif t is dict:
        out.append(u'{')
        first = True
        for k, v in obj.items():
            if not first:
                out.append(u', ')
            first = False
            encode(k if type(k) in (_TEXT, _BYTES) else _TEXT(k), out)
            out.append(u': ')
            encode(v, out)
        out.append(u'}')
    elif t is list or t is tuple:
        out.append(u'[')
        first = True
        for v in obj:
            if not first:
                out.append(u', ')
            first = False
            encode(v, out)
        out.append(u']')
    elif t is _BYTES:
        encode(obj.decode('utf-8', 'replace'), out)
    elif isinstance(obj, dict):
        encode(dict(obj), out)
    elif isinstance(obj, (list, tuple)):
        encode(list(obj), out)
    elif isinstance(obj, _INTS) and not isinstance(obj, bool):
        encode(int(obj), out)
    elif isinstance(obj, float):
        encode(float(obj), out)
    elif isinstance(obj, _TEXT):
        # An exact copy without calling a subclass's __str__.
        encode(u''.join((obj,)), out)
    else:
        encode(_safe_str(obj, repr), out)


def send_parts(write, parts):
    """Writes text pieces as UTF-8, joined into writes of about _CHUNK bytes."""
    batch = []
    size = 0
    for p in parts:
        batch.append(p)
        size += len(p)
        if size >= _CHUNK:
            write(u''.join(batch).encode('utf-8', 'backslashreplace'))
            batch = []
            size = 0
    if batch:
        write(u''.join(batch).encode('utf-8', 'backslashreplace'))


def reply_parts(rid, result=None, error=None):
    out = [u'{"id": ']
    encode(rid, out)
    if error is None:
        out.append(u', "result": ')
        encode(result, out)
    else:
        out.append(u', "error": ')
        encode(error, out)
    out.append(u'}\n')
    return out


def error_of(exc_info):
    etype, value, tb = exc_info
    try:
        import traceback
        text = ''.join(traceback.format_exception(etype, value, tb))
    except BaseException:
        text = ''
    return {'type': getattr(etype, '__name__', str(etype)), 'message': _safe_str(value, str), 'traceback': text}


class _Modules(object):
    def __init__(self, code):
        # name -> its code objects (from start.py), or the define line
        # memwhy sent later: a file of marshal data (read with start.py's
        # _read_code) or [line, text] pieces (compiled on first use).
        self.code = code
        self.sources = {}
        self.loaded = {}

    def load(self, name):
        mod = self.loaded.get(name)
        if mod is None:
            if name not in self.code:
                if name not in self.sources:
                    raise ImportError('memwhy agent has no module %r' % (name,))
                sent = self.sources.pop(name)
                if 'file' in sent:
                    self.code.update(_read_code(sent['file']))
                else:
                    self.code[name] = compile_pieces(sent['pieces'], 'memwhy/%s.py' % name)
            mod = {'__name__': '__memwhy_%s__' % name, '_load': self.load, '_agent': globals()}
            for code in self.code[name]:
                exec(code, mod)
            self.loaded[name] = mod
        return mod

    def function(self, method):
        mod_name, _, fn_name = method.rpartition('.')
        fn = self.load(mod_name).get(fn_name)
        if fn is None or fn_name.startswith('_'):
            raise AttributeError('memwhy agent module %s has no function %s' % (mod_name, fn_name))
        return fn

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
        self.code.clear()
        self.sources.clear()


def compile_pieces(pieces, filename):
    """A module sent as [line, text] pieces (see pieces() in agentSession.ts), compiled.

    One piece compiled at a time keeps the compiler's peak small; the blank
    lines before each keep tracebacks' line numbers true (the tokenizer
    skips them without making tokens).
    """
    return [compile('\n' * (line - 1) + text, filename, 'exec') for line, text in pieces]


def _handle(modules, request, write):
    rid = request.get('id')
    method = request.get('method', '')
    params = dict((str(k), v) for k, v in (request.get('params') or {}).items())
    # '_fork': run the call in a copy-on-write child (fork.py), if it can.
    fork = params.pop('_fork', None)
    try:
        if method == 'agent.ping':
            result = {'pid': __import__('os').getpid(), 'python': list(sys.version_info[:3])}
        else:
            why = None
            if fork is not None:
                # The module is loaded in the child too: loading (compiling,
                # without memwhy's compiler) is the biggest allocation the
                # agent would otherwise make here.
                why = modules.load('fork')['call_in_child'](
                    lambda: modules.function(method), params, rid, fork, write)
                if why is None:
                    return
            result = modules.function(method)(**params)
            if why is not None and type(result) is dict:
                result['snapshot'] = {'forked': False, 'why': why}
        parts = reply_parts(rid, result)
    except BaseException:
        parts = reply_parts(rid, error=error_of(sys.exc_info()))
    result = None
    send_parts(write, parts)


def serve(sock, buf, modules):
    """Serves memwhy's requests until it says goodbye or goes; modules is
    the _Modules the bootstrap made (and compiled what it could)."""
    sock.settimeout(None)
    write = sock.sendall
    try:
        while True:
            while b'\n' not in buf:
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    return
                buf += chunk
            line, buf = buf.split(b'\n', 1)
            request = parse_line(line)
            line = None
            if 'define' in request:
                modules.sources[request['define']] = request
                continue
            if request.get('method') == 'agent.close':
                # No reply: memwhy waits for the socket to close. Sending one
                # lets the GIL go, and taking it back can wait for good in an
                # interpreter that keeps the GIL while idle (src/agent/boot.py).
                return
            _handle(modules, request, write)
            request = None
    finally:
        modules.clear()


def _safe_str(value, fn):
    try:
        return fn(value)
    except BaseException:
        return '<unprintable %s>' % type(value).__name__
