# memwhy agent module: every thread's Python stack from sys._current_frames(),
# for `memwhy stacks --via agent` and for the versions memwhy cannot read
# from memory (no layout yet, free-threaded builds). Frames are copied out as
# [function, file, line] and no reference to a frame outlives the call.
# threading is consulted only if the program imported it (for thread names),
# and never through current_thread(), which would leave a _DummyThread for
# the agent's own thread behind. Python 2.7 and 3.6+.
import sys

try:
    from _thread import get_ident as _get_ident
except ImportError:
    from thread import get_ident as _get_ident


def _thread_names():
    """ident -> (name, native_id) of the threads threading knows."""
    threading = sys.modules.get('threading')
    names = {}
    if threading is None:
        return names
    try:
        threads = threading.enumerate()
    except Exception:
        return names
    for t in threads:
        names[t.ident] = (t.name, getattr(t, 'native_id', None))
    return names


def collect(limit=10000):
    """Every thread but the agent's: ident, threading name, native id, frames innermost first."""
    me = _get_ident()
    names = _thread_names()
    current = sys._current_frames()
    threads = []
    frame = f = None
    try:
        for ident, frame in current.items():
            if ident == me:
                continue
            frames = []
            f = frame
            while f is not None and len(frames) < limit:
                code = f.f_code
                # co_qualname (3.11+) is what the memory reader shows too.
                frames.append([getattr(code, 'co_qualname', code.co_name), code.co_filename, f.f_lineno])
                f = f.f_back
            name, native_id = names.get(ident, (None, None))
            threads.append({'ident': ident, 'name': name, 'native_id': native_id, 'frames': frames})
    finally:
        current = frame = f = None
    return {'threads': threads}
