# memwhy agent module: the C half of ctypes (_ctypes) with the few C types
# and functions the agent's probes call C with (fork.py, mallocstats.py).
#
# Not ctypes itself: importing it (its module, its classes, struct, _endian)
# left 250-340 kB in the target for good, against 90-100 kB for _ctypes and
# these few types (2.7, 3.11-3.13, in a new thread with glibc's trim
# threshold raised). Codes as ctypes/__init__.py gives them; ssize_t and
# size_t are long on LP64 Linux, as ctypes makes them there.
#
# Every type here is made once, when the module loads: a class is cyclic
# garbage once dropped, which a program with its collector off keeps (and
# the heap census and the referrer search then meet as objects), so nothing
# makes one per call. Nothing here is cached on _ctypes' side either: no
# POINTER() (its cache keeps each pointer type for good) and no `type * n`
# (nor that); a pointer argument is a c_void_p, passed a byref().
#
# Without _ctypes (a Python built without libffi) `available` is False and
# every name below is None; the modules that load this one say so.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
try:
    import _ctypes
except ImportError:  # a Python built without libffi
    _ctypes = None

available = _ctypes is not None

if _ctypes is not None:
    class c_int(_ctypes._SimpleCData):
        _type_ = 'i'

    class c_uint(_ctypes._SimpleCData):
        _type_ = 'I'

    class c_ssize_t(_ctypes._SimpleCData):
        _type_ = 'l'

    class c_size_t(_ctypes._SimpleCData):
        _type_ = 'L'

    class c_uint64(_ctypes._SimpleCData):
        _type_ = 'Q'

    class c_bool(_ctypes._SimpleCData):
        _type_ = '?'

    class c_char(_ctypes._SimpleCData):
        _type_ = 'c'

    class c_char_p(_ctypes._SimpleCData):
        _type_ = 'z'

    class c_void_p(_ctypes._SimpleCData):
        # Takes an int, None (NULL), or a byref() of any C data.
        _type_ = 'P'

    class py_object(_ctypes._SimpleCData):
        _type_ = 'O'

    # Subclassed by the modules that need them, once at their load.
    Structure = _ctypes.Structure
    Array = _ctypes.Array
    byref = _ctypes.byref
    sizeof = _ctypes.sizeof

    class _KeepsGil(_ctypes.CFuncPtr):
        # ctypes.PyDLL's functions: cdecl, the GIL kept across the call.
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_PYTHONAPI
        _restype_ = c_int

    class _ReleasesGil(_ctypes.CFuncPtr):
        # ctypes.CDLL's and CFUNCTYPE's: cdecl, the GIL released for the call.
        _flags_ = _ctypes.FUNCFLAG_CDECL
        _restype_ = c_int

    class _Process(object):
        # What ctypes.pythonapi is: dlopen(NULL), the program and its
        # libraries (the C library, a preloaded allocator, libpython).
        _handle = _ctypes.dlopen(None)

    process = _Process()

    # ctypes.string_at: _ctypes' own C helper, called with the GIL (it
    # makes the bytes object), as ctypes/__init__.py declares it.
    _string_at = _KeepsGil(_ctypes._string_at_addr)
    _string_at.restype = py_object
    _string_at.argtypes = [c_void_p, c_int]
else:
    c_int = c_uint = c_ssize_t = c_size_t = c_uint64 = c_bool = None
    c_char = c_char_p = c_void_p = py_object = None
    Structure = Array = byref = sizeof = process = _string_at = None


def function(name, restype, argtypes, keep_gil):
    """The process's C function `name` with its C signature, or None where
    the process lacks it (or has no _ctypes).

    keep_gil: True keeps the GIL across the call (ctypes.PyDLL), which a
    function that touches Python objects needs, and fork.py's child; False
    releases it (ctypes.CDLL), so the program's threads run meanwhile.
    argtypes None takes any arguments (ints as C ints). A fresh function
    object each call, never a new class (a new CDLL or CFUNCTYPE makes
    one), and never the handle's cached attribute.
    """
    if _ctypes is None:
        return None
    try:
        f = (_KeepsGil if keep_gil else _ReleasesGil)((name, process))
    except AttributeError:
        return None
    f.restype = restype
    f.argtypes = argtypes
    return f


def string_at(address, size):
    """`size` bytes at `address`, as ctypes.string_at."""
    return _string_at(address, size)
