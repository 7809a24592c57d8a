# memwhy agent module: the C half of ctypes (_ctypes) with the few C types
# and functions the agent's probes call C with (fork.py, mallocstats.py).
#
# Not ctypes itself: importing it (its module, its classes, struct, _endian)
# left 250-340 kB in the target for good, against 90-100 kB for _ctypes and
# these few types (2.7, 3.11-3.13, in a new thread with glibc's trim
# threshold raised). Codes as ctypes/__init__.py gives them; ssize_t and
# size_t are long on LP64 Linux, as ctypes makes them there.
#
# Every type here is made once per session (when the module loads, or, for
# the C types fewer calls need, on first use: ctype()): a class is cyclic
# garbage once the session drops it, which a program with its collector off
# keeps (and the heap census and the referrer search then meet as
# objects), so nothing makes one per call. Nothing is cached on _ctypes'
# side either: no POINTER() (its cache keeps each pointer type for good)
# and no `type * n` (nor that); a pointer argument is a c_void_p, passed a
# byref().
#
# Without _ctypes (a Python built without libffi) `available` is False and
# the names below are None; the modules that load this one say so.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
try:
    import _ctypes
except ImportError:  # a Python built without libffi
    _ctypes = None

available = _ctypes is not None

# Each C type by its ctypes name, with its code as ctypes/__init__.py gives it.
_CODES = {
    'c_int': 'i', 'c_uint': 'I', 'c_ssize_t': 'l', 'c_size_t': 'L', 'c_uint64': 'Q',
    'c_bool': '?', 'c_char': 'c', 'c_char_p': 'z',
    # Takes an int, None (NULL), bytes, or a byref() of any C data.
    'c_void_p': 'P',
    'py_object': 'O',
}
_made = {}


def ctype(name):
    """The C type `name` (a key of _CODES), made on its first use in this
    session and the same class after. Only what a call needs is made: each
    is some 2.5-5 kB (an integer type makes its byte-swapped twin too), and
    all of them cyclic garbage after close; `memwhy malloc` on glibc needs
    four of the ten."""
    t = _made.get(name)
    if t is None:
        t = type(name, (_ctypes._SimpleCData,), {'_type_': _CODES[name], '__module__': __name__})
        _made[name] = t
    return t


if _ctypes is not None:
    # What every user needs: function results, sizes, pointers.
    c_int = ctype('c_int')
    c_size_t = ctype('c_size_t')
    c_void_p = ctype('c_void_p')
    py_object = ctype('py_object')

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
    c_int = c_size_t = c_void_p = py_object = None
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
    return _typed(f, restype, argtypes)


def dlsym(name):
    """The address of the process's symbol `name`, or None."""
    if _ctypes is None:
        return None
    try:
        return _ctypes.dlsym(process._handle, name)
    except (AttributeError, OSError):
        return None


def function_at(address, restype, argtypes, keep_gil):
    """A C function at `address` (code memwhy wrote, fork.py), as function()."""
    if _ctypes is None:
        return None
    return _typed((_KeepsGil if keep_gil else _ReleasesGil)(address), restype, argtypes)


def _typed(f, restype, argtypes):
    f.restype = restype
    f.argtypes = argtypes
    return f


def string_at(address, size):
    """`size` bytes at `address`, as ctypes.string_at."""
    return _string_at(address, size)
