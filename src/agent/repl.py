# memwhy agent module: run code in the target for `memwhy exec` and
# `memwhy shell`. Code runs in a namespace of its own that lives as long as
# the memwhy session (so a shell keeps its variables); `import __main__`
# reaches the program's globals. Output written by this thread is captured;
# other threads' output still goes where it went before.
#
# codeop and traceback are imported when first needed (a shell's first line,
# an exception to show), not on load: with what they import (re, enum,
# collections, tokenize... 24 modules on 3.13) they stay in the target, and
# `memwhy exec -c` left it 1.5-2.1 MiB bigger for good.
import sys

try:
    from _thread import get_ident as _get_ident
except ImportError:
    from thread import get_ident as _get_ident

_namespace = {'__name__': '__memwhy__', '__builtins__': __builtins__}
_pending = []
_compilers = []


class _ThreadOutput(object):
    """Stands in for sys.stdout/stderr: this thread's writes are captured.

    Everything it needs is on the instance, not in this module's globals:
    the agent clears its modules when its session ends, and an instance can
    outlive that as the `original` of another memwhy's stand-in (a killed
    memwhy's agent still running a call while the next memwhy's runs one:
    the second restored the first's stand-in as sys.stdout, whose write then
    failed on a cleared global and killed the program's next print). Once
    its call has returned it only passes writes on (`_memwhy_done`).
    """

    def __init__(self, original, parts):
        d = self.__dict__
        d['_original'] = original
        d['_parts'] = parts
        d['_get_ident'] = _get_ident
        d['_ident'] = _get_ident()
        d['_memwhy_done'] = False

    def write(self, text):
        if not self._memwhy_done and self._get_ident() == self._ident:
            self._parts.append(text)
            return len(text)
        return self._original.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if (self._memwhy_done or self._get_ident() != self._ident) and self._original is not None:
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
    ours = _ThreadOutput(saved[0], out), _ThreadOutput(saved[1], err)
    sys.stdout, sys.stderr = ours

    namespace = _namespace

    def display(value):
        # The REPL's echo, without touching builtins._ in the target. Like
        # the stand-ins, it may outlive this module: nothing global in it.
        state = display.__dict__
        if state['_memwhy_done']:
            return state['_original'](value)
        if value is not None:
            out.append(repr(value) + '\n')
            namespace['_'] = value

    display.__dict__.update(_memwhy_done=False, _original=saved[2])
    sys.displayhook = display
    exception = None
    try:
        exec(code, _namespace)
    except BaseException:
        etype, value, tb = sys.exc_info()
        import traceback
        # Drop the agent's own frame from the traceback the user sees.
        lines = traceback.format_exception(etype, value, tb.tb_next if tb is not None else tb)
        exception = {'type': getattr(etype, '__name__', str(etype)),
                     'message': _safe_str(value), 'traceback': ''.join(lines)}
        etype = value = tb = None
    finally:
        # Restore only what is still ours: the program, or another memwhy,
        # may have replaced them meanwhile. What we restore skips stand-ins
        # whose calls have returned (another memwhy's, see _ThreadOutput).
        for mine in ours + (display,):
            mine.__dict__['_memwhy_done'] = True
        if sys.stdout is ours[0]:
            sys.stdout = _unwrap(saved[0])
        if sys.stderr is ours[1]:
            sys.stderr = _unwrap(saved[1])
        if sys.displayhook is display:
            sys.displayhook = _unwrap(saved[2])
    return {'stdout': _text(out), 'stderr': _text(err), 'exception': exception}


def _unwrap(stream):
    """stream, or what it stands in for when it is a finished memwhy stand-in."""
    for _ in range(16):
        try:
            d = object.__getattribute__(stream, '__dict__')
        except BaseException:
            return stream
        if type(d) is not dict or d.get('_memwhy_done') is not True or '_original' not in d:
            return stream
        stream = d['_original']
    return stream


def _safe_str(value):
    try:
        return str(value)
    except BaseException:
        return '<unprintable exception>'


def _syntax_error(filename):
    import traceback
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
    if not _compilers:
        import codeop
        _compilers.append(codeop.CommandCompiler())
    try:
        code = _compilers[0](source, '<memwhy shell>', 'single')
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
