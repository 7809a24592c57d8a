# memwhy agent module: run code in the target for `memwhy exec` and
# `memwhy shell`. Code runs in a namespace of its own that lives as long as
# the memwhy session (so a shell keeps its variables); `import __main__`
# reaches the program's globals. Output written by this thread is captured;
# other threads' output still goes where it went before.
import codeop
import sys
import traceback

try:
    from _thread import get_ident as _get_ident
except ImportError:
    from thread import get_ident as _get_ident

_namespace = {'__name__': '__memwhy__', '__builtins__': __builtins__}
_pending = []
_compiler = codeop.CommandCompiler()


class _ThreadOutput(object):
    """Stands in for sys.stdout/stderr: this thread's writes are captured."""

    def __init__(self, original, parts):
        self.__dict__['_original'] = original
        self.__dict__['_parts'] = parts
        self.__dict__['_ident'] = _get_ident()

    def write(self, text):
        if _get_ident() == self._ident:
            self._parts.append(text)
            return len(text)
        return self._original.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _get_ident() != self._ident and self._original is not None:
            self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)

    def __setattr__(self, name, value):
        # Python 2's print statement keeps `softspace` on the stream.
        if name == 'softspace':
            self.__dict__[name] = value
        else:
            setattr(self._original, name, value)


def _text(parts):
    out = []
    for p in parts:
        if isinstance(p, bytes) and not isinstance(p, str):
            p = p.decode('utf-8', 'replace')
        elif not isinstance(p, str):  # Python 2 unicode
            p = p.encode('utf-8')
        out.append(p)
    text = ''.join(out)
    if isinstance(text, bytes) and not isinstance(text, str):
        text = text.decode('utf-8', 'replace')
    return text


def _run(code):
    """Runs a compiled code object with output captured; returns the result dict."""
    out, err = [], []
    saved = sys.stdout, sys.stderr, sys.displayhook
    sys.stdout = _ThreadOutput(saved[0], out)
    sys.stderr = _ThreadOutput(saved[1], err)

    def display(value):
        # The REPL's echo, without touching builtins._ in the target.
        if value is not None:
            out.append(repr(value) + '\n')
            _namespace['_'] = value

    sys.displayhook = display
    exception = None
    try:
        exec(code, _namespace)
    except BaseException:
        etype, value, tb = sys.exc_info()
        # Drop the agent's own frame from the traceback the user sees.
        lines = traceback.format_exception(etype, value, tb.tb_next if tb is not None else tb)
        exception = {'type': getattr(etype, '__name__', str(etype)),
                     'message': _safe_str(value), 'traceback': ''.join(lines)}
        etype = value = tb = None
    finally:
        # Restore only what is still ours: the program may have replaced them meanwhile.
        if isinstance(sys.stdout, _ThreadOutput):
            sys.stdout = saved[0]
        if isinstance(sys.stderr, _ThreadOutput):
            sys.stderr = saved[1]
        if sys.displayhook is display:
            sys.displayhook = saved[2]
    return {'stdout': _text(out), 'stderr': _text(err), 'exception': exception}


def _safe_str(value):
    try:
        return str(value)
    except BaseException:
        return '<unprintable exception>'


def _syntax_error(filename):
    etype, value = sys.exc_info()[:2]
    return {'stdout': '', 'stderr': '', 'exception': {
        'type': etype.__name__, 'message': _safe_str(value),
        'traceback': ''.join(traceback.format_exception_only(etype, value))}}


def run(source, filename='<memwhy exec>'):
    """Runs a whole program text (memwhy exec -c / --file)."""
    try:
        code = compile(source, filename, 'exec')
    except (SyntaxError, OverflowError, ValueError):
        return _syntax_error(filename)
    return _run(code)


def push(line):
    """One line of interactive input; {'more': True} while a block is open."""
    _pending.append(line)
    source = '\n'.join(_pending)
    try:
        code = _compiler(source, '<memwhy shell>', 'single')
    except (SyntaxError, OverflowError, ValueError):
        del _pending[:]
        result = _syntax_error('<memwhy shell>')
        result['more'] = False
        return result
    if code is None:
        return {'more': True, 'stdout': '', 'stderr': '', 'exception': None}
    del _pending[:]
    result = _run(code)
    result['more'] = False
    return result


def reset():
    """Drops a half-typed block (Ctrl-C at the prompt)."""
    del _pending[:]
    return True
