# memwhy agent module: what the memory allocators inside the target hold,
# for `memwhy malloc`, and giving their free memory back, for `memwhy trim`.
#
# Two allocators serve a CPython process: pymalloc (objects up to 512 bytes,
# in arenas it maps itself) and the C allocator behind malloc (glibc, or
# jemalloc/tcmalloc/mimalloc preloaded). memwhy tells this module which C
# allocator /proc says is in use; each is asked through its own API with
# cabi.py (the C half of ctypes, _ctypes, and a few C types: ctypes itself
# would stay in the target, 250-340 kB of it, for good), and the raw
# reports (pymalloc's stats text, glibc's malloc_info XML) go back as they
# are, to be parsed by memwhy where they can be saved and tested.
#
# Leaves nothing behind: no fd stays open (memory streams and pipes are
# closed in finally), fd 2 is restored, buffers are freed, no class is made
# per call (C types and structures once per session, C function objects
# per call, freed with it).
# _ctypes stays imported, in sys.modules, like the other modules the
# agent's probes import; ctypes is never imported.
#
# Which calls keep the GIL: _PyObject_DebugMallocStats walks pymalloc's
# arenas, so it and its memory stream's calls keep it (ctypes.pythonapi's
# way); the C allocator's own calls (mallinfo, malloc_info, malloc_trim,
# mallctl, ...) touch no Python object and release it (ctypes.CFUNCTYPE's
# way): a malloc_trim can take a second, which the program's threads need
# not wait out.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
import gc
import os
import sys
import time

_cabi = _load('cabi')  # noqa: F821 (injected by the agent)
# False in a Python built without libffi: then pymalloc's statistics come
# through fd 2 and the C allocator is not asked.
_HAS_C = _cabi['available']
_c_int = _cabi['c_int']
_c_size_t = _cabi['c_size_t']
_c_void_p = _cabi['c_void_p']
# The other C types only where a call needs them (jemalloc, tcmalloc,
# mimalloc), made once per session: cabi.ctype.
_ctype = _cabi['ctype']
_byref = _cabi['byref']
_sizeof = _cabi['sizeof']
_string_at = _cabi['string_at']
_c_function = _cabi['function']

try:
    _clock = time.perf_counter
except AttributeError:  # Python 2.7
    _clock = time.time

# jemalloc's MALLCTL_ARENAS_ALL (include/jemalloc/jemalloc_macros.h.in):
# "arena.<i>.purge" with this index purges every arena.
_MALLCTL_ARENAS_ALL = 4096

_TCMALLOC_PROPERTIES = (
    'generic.current_allocated_bytes',
    'generic.heap_size',
    'tcmalloc.pageheap_free_bytes',
    'tcmalloc.pageheap_unmapped_bytes',
    'tcmalloc.central_cache_free_bytes',
    'tcmalloc.transfer_cache_free_bytes',
    'tcmalloc.thread_cache_free_bytes',
)

_JEMALLOC_SIZES = (
    'stats.allocated', 'stats.active', 'stats.metadata', 'stats.resident',
    'stats.mapped', 'stats.retained',
)


def prepare():
    """Loads this module (and _ctypes) without measuring, so that a trim
    that follows does not count their memory as the target's."""
    return _HAS_C


def collect(allocator='glibc'):
    """Counters of pymalloc and of the C allocator named `allocator`.

    Returns {python: {...}, allocator: {...}, tracemalloc, pause_ms}; a part
    that cannot be measured says why in its 'unknown' field.
    """
    started = _clock()
    python = _pymalloc()
    c_side = _c_allocator(allocator)
    traced = None
    tracemalloc = sys.modules.get('tracemalloc')
    if tracemalloc is not None and tracemalloc.is_tracing():
        traced = tracemalloc.get_traced_memory()[0]
    return {
        'python': python,
        'allocator': c_side,
        'tracemalloc_traced': traced,
        'python_version': list(sys.version_info[:3]),
        'pause_ms': (_clock() - started) * 1000.0,
    }


def trim(allocator='glibc', collect_garbage=False):
    """Has the C allocator give free memory back to the OS; optionally gc first.

    Returns {call, result, pause_ms, gc: {collected, ms} or None}.
    """
    gc_result = None
    if collect_garbage:
        started = _clock()
        collected = gc.collect()
        gc_result = {'collected': collected, 'ms': (_clock() - started) * 1000.0}
    if not _HAS_C:
        return {'call': None, 'result': None, 'pause_ms': None, 'gc': gc_result,
                'unknown': 'this Python has no ctypes, so memwhy cannot call the allocator'}
    if allocator == 'glibc':
        call, fn, args = 'malloc_trim(0)', _function('malloc_trim', _c_int, [_c_size_t]), (0,)
    elif allocator == 'jemalloc':
        name = 'arena.%d.purge' % _MALLCTL_ARENAS_ALL
        call, fn, args = 'mallctl("%s")' % name, _mallctl_fn(), (name.encode('ascii'), None, None, None, 0)
    elif allocator == 'tcmalloc':
        call, fn, args = 'MallocExtension_ReleaseFreeMemory()', _function('MallocExtension_ReleaseFreeMemory', None, []), ()
    elif allocator == 'mimalloc':
        call, fn, args = 'mi_collect(true)', _function('mi_collect', None, [_ctype('c_bool')]), (True,)
    else:
        return {'call': None, 'result': None, 'pause_ms': None, 'gc': gc_result,
                'unknown': 'memwhy does not know how to trim allocator %r' % (allocator,)}
    if fn is None:
        return {'call': call, 'result': None, 'pause_ms': None, 'gc': gc_result,
                'unknown': '%s is not reachable in this process' % call}
    started = _clock()
    result = fn(*args)
    pause_ms = (_clock() - started) * 1000.0
    return {'call': call, 'result': result, 'pause_ms': pause_ms, 'gc': gc_result}


# --- pymalloc -----------------------------------------------------------------

def _pymalloc():
    if not hasattr(sys, '_debugmallocstats'):
        return {'stats': None, 'unknown': (
            'Python %d.%d has no sys._debugmallocstats: its pymalloc counters are '
            'static variables, not reachable from Python' % sys.version_info[:2])}
    text = None
    if _HAS_C:
        text = _pymalloc_via_memstream()
    if text is None:
        text = _pymalloc_via_stderr()
    if text is None:
        return {'stats': None, 'unknown': 'pymalloc statistics could not be captured'}
    if text == '':
        # _PyObject_DebugMallocStats returns 0 and writes nothing when
        # objects do not go through pymalloc (PYTHONMALLOC=malloc).
        return {'stats': '', 'unknown': 'pymalloc is not in use (PYTHONMALLOC=malloc?): objects come from the C allocator'}
    return {'stats': text}


def _pymalloc_via_memstream():
    """_PyObject_DebugMallocStats into an in-memory FILE*: no fd, no other thread's output.

    Every call keeps the GIL, as ctypes.pythonapi's did (the function walks
    pymalloc's arenas, which need it). Returns None if a symbol is missing.
    """
    stats = _c_function('_PyObject_DebugMallocStats', _c_int, [_c_void_p], True)
    # open_memstream(char **, size_t *): pointers passed as byref()s.
    open_memstream = _c_function('open_memstream', _c_void_p, [_c_void_p, _c_void_p], True)
    fclose = _c_function('fclose', _c_int, [_c_void_p], True)
    free = _c_function('free', None, [_c_void_p], True)
    if None in (stats, open_memstream, fclose, free):
        return None
    buf = _c_void_p()
    size = _c_size_t()
    stream = open_memstream(_byref(buf), _byref(size))
    if not stream:
        return None
    try:
        wrote = stats(stream)
    finally:
        # fclose publishes the final buffer and size; the buffer is ours to free.
        fclose(stream)
        try:
            data = _string_at(buf.value, size.value) if buf.value else b''
        finally:
            if buf.value:
                free(buf)
    if not wrote:
        return ''
    return data.decode('ascii', 'replace')


def _pymalloc_via_stderr():
    """sys._debugmallocstats() with C stderr (fd 2) sent to a pipe for the call.

    The fallback without ctypes. Another thread writing to fd 2 during the
    few milliseconds would have its output land in the pipe; its lines are
    written back to the real stderr afterwards. The pipe is non-blocking so a
    report larger than the pipe cannot hang the target with the GIL held.
    """
    import fcntl
    r, w = os.pipe()
    saved = None
    chunks = []
    try:
        fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(w, 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
        while True:
            try:
                chunk = os.read(r, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        for fd in (r, w, saved):
            if fd is not None:
                os.close(fd)
    text = b''.join(chunks).decode('ascii', 'replace')
    ours, theirs = _split_foreign_lines(text)
    if theirs:
        try:
            sys.stderr.write(theirs)
        except Exception:
            pass
    return ours


# Lines _debugmallocstats writes: "name = 1,234" figures, the size-class
# table and its headings, section titles and blank lines (Objects/obmalloc.c).
_STATS_LINE = r'^(.*=\s*[\d,]+\s*|\s*\d+(\s+\d+){4}\s*|Small block threshold.*|class\s+size.*|[-\s]+|arena map counts\s*|\s*)$'


def _split_foreign_lines(text):
    # re only here, on the fallback without ctypes: imported by the agent, it
    # would stay in the target (some 300 KiB) for every malloc probe.
    import re
    stats_line = re.compile(_STATS_LINE)
    ours, theirs = [], []
    for line in text.splitlines(True):
        (ours if stats_line.match(line) else theirs).append(line)
    return ''.join(ours), ''.join(theirs)


# --- the C allocator ----------------------------------------------------------

def _c_allocator(name):
    if not _HAS_C:
        return {'name': name, 'unknown': 'this Python has no ctypes, so memwhy cannot ask the allocator'}
    probe = {'glibc': _glibc, 'jemalloc': _jemalloc, 'tcmalloc': _tcmalloc, 'mimalloc': _mimalloc}.get(name)
    if probe is None:
        return {'name': name, 'unknown': 'memwhy has no probe for allocator %r' % (name,)}
    result = probe()
    result['name'] = name
    return result


def _function(name, restype, argtypes):
    """A C function of the process (dlopen(NULL): the program, the C
    library, a preloaded allocator), called without the GIL; None where the
    process lacks it. A fresh function object, no new class (cabi.py)."""
    return _c_function(name, restype, argtypes, False)


_MALLINFO_FIELDS = ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                    'fsmblks', 'uordblks', 'fordblks', 'keepcost')


if _HAS_C:
    # Made once, here: a class per call would be cyclic garbage (cabi.py).
    class _Mallinfo2(_cabi['Structure']):
        _fields_ = [(f, _c_size_t) for f in _MALLINFO_FIELDS]

    class _Mallinfo(_cabi['Structure']):
        _fields_ = [(f, _c_int) for f in _MALLINFO_FIELDS]


def _glibc():
    out = {}
    # mallinfo2 (glibc 2.33+) has size_t fields; mallinfo's are int and wrap
    # past 2 GiB, so it is only the fallback (glibc malloc/malloc.h).
    for fname, struct in (('mallinfo2', _Mallinfo2), ('mallinfo', _Mallinfo)):
        fn = _function(fname, struct, [])
        if fn is not None:
            info = fn()
            values = dict((f, getattr(info, f)) for f in _MALLINFO_FIELDS)
            if struct is _Mallinfo:
                values = dict((k, v % (1 << 32)) for k, v in values.items())
            out['mallinfo'] = values
            out['mallinfo_call'] = fname
            break
    if 'mallinfo' not in out:
        out['unknown'] = 'neither mallinfo2 nor mallinfo is reachable'
    xml = _malloc_info()
    if xml is not None:
        out['malloc_info'] = xml
    return out


def _malloc_info():
    """glibc's malloc_info(0, FILE*) XML, written to an in-memory stream."""
    malloc_info = _function('malloc_info', _c_int, [_c_int, _c_void_p])
    # open_memstream(char **, size_t *): pointers passed as byref()s.
    open_memstream = _function('open_memstream', _c_void_p, [_c_void_p, _c_void_p])
    fclose = _function('fclose', _c_int, [_c_void_p])
    free = _function('free', None, [_c_void_p])
    if None in (malloc_info, open_memstream, fclose, free):
        return None
    buf = _c_void_p()
    size = _c_size_t()
    stream = open_memstream(_byref(buf), _byref(size))
    if not stream:
        return None
    try:
        rc = malloc_info(0, stream)
    finally:
        fclose(stream)
        try:
            data = _string_at(buf.value, size.value) if buf.value else b''
        finally:
            if buf.value:
                free(buf)
    if rc != 0:
        return None
    return data.decode('ascii', 'replace')


def _mallctl_fn():
    return _function('mallctl', _c_int, [_ctype('c_char_p'), _c_void_p, _c_void_p, _c_void_p, _c_size_t])


def _jemalloc():
    mallctl = _mallctl_fn()
    if mallctl is None:
        return {'unknown': 'mallctl is not reachable (a jemalloc built with a symbol prefix?)'}
    # Writing "epoch" refreshes the cached statistics (jemalloc(3), "epoch").
    epoch = _ctype('c_uint64')(1)
    epoch_len = _c_size_t(_sizeof(epoch))
    mallctl(b'epoch', _byref(epoch), _byref(epoch_len), _byref(epoch), _sizeof(epoch))
    stats = {}
    missing = []
    for name in _JEMALLOC_SIZES:
        value = _c_size_t(0)
        length = _c_size_t(_sizeof(value))
        if mallctl(name.encode('ascii'), _byref(value), _byref(length), None, 0) == 0:
            stats[name] = value.value
        else:
            missing.append(name)
    narenas = _ctype('c_uint')(0)
    length = _c_size_t(_sizeof(narenas))
    if mallctl(b'arenas.narenas', _byref(narenas), _byref(length), None, 0) == 0:
        stats['arenas.narenas'] = narenas.value
    out = {'jemalloc': stats}
    if missing:
        out['unknown'] = 'mallctl gave no %s (jemalloc built without --enable-stats?)' % ', '.join(missing)
    return out


def _tcmalloc():
    # MallocExtension_GetNumericProperty(const char *, size_t *)
    get = _function('MallocExtension_GetNumericProperty', _c_int, [_ctype('c_char_p'), _c_void_p])
    if get is None:
        return {'unknown': 'MallocExtension_GetNumericProperty is not reachable'}
    props = {}
    for name in _TCMALLOC_PROPERTIES:
        value = _c_size_t(0)
        if get(name.encode('ascii'), _byref(value)):
            props[name] = value.value
    return {'tcmalloc': props}


def _mimalloc():
    # mi_process_info(size_t *, ... eight of them)
    info = _function('mi_process_info', None, [_c_void_p] * 8)
    if info is None:
        return {'unknown': 'mi_process_info is not reachable'}
    values = [_c_size_t(0) for _ in range(8)]
    info(*[_byref(v) for v in values])
    names = ('elapsed_msecs', 'user_msecs', 'system_msecs', 'current_rss', 'peak_rss',
             'current_commit', 'peak_commit', 'page_faults')
    return {'mimalloc': dict(zip(names, [v.value for v in values])),
            # Release builds of mimalloc count only OS-level memory (MI_STAT=0).
            'unknown': 'mimalloc keeps no bytes-in-use counter in release builds'}
