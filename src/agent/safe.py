# Looking at the target's objects without running the target's code. Every
# agent module that names a type, shows a value or a dict key, or reads a
# code object does it through this module (loaded with _load('safe')).
#
# A program's class may have a metaclass with __getattribute__, a
# __getattr__ that raises, or be a str subclass with its own __repr__:
# getattr(cls, ...), repr(obj), `x in (str, int)` (which compares with ==)
# and even isinstance(obj, str) (which reads obj.__class__ when the type
# check fails) would run that code, at a moment the program did not choose,
# on the agent's thread. So: exact type checks by identity, type names
# through type's own descriptors, repr only of builtin plain data.
# Python 2.7 and 3.6+; stdlib only, and only modules loaded at start-up.
import sys
from operator import attrgetter

PY2 = sys.version_info[0] == 2

if PY2:
    _TEXT = (str, unicode)  # noqa: F821
    _PLAIN = (type(None), bool, int, long, float, str, unicode)  # noqa: F821
else:
    _TEXT = (str,)
    _PLAIN = (type(None), bool, int, float, str, bytes)

# Where builtin types say they live: names from there are shown bare.
BUILTIN_MODULES = ('builtins', '__builtin__', 'exceptions')

# The fields a code object stores (Include/code.h, Include/cpython/code.h
# per version). 3.11+ computes co_code, co_varnames, co_freevars,
# co_cellvars and co_lnotab on access and caches them: reading them would
# create objects, so they are not read there.
CODE_FIELDS = ['co_consts', 'co_names', 'co_filename', 'co_name']
if sys.version_info < (3, 11):
    CODE_FIELDS += ['co_code', 'co_varnames', 'co_freevars', 'co_cellvars']
if sys.version_info < (3, 10):
    CODE_FIELDS += ['co_lnotab']
else:
    CODE_FIELDS += ['co_linetable']
if sys.version_info >= (3, 11):
    CODE_FIELDS += ['co_qualname', 'co_exceptiontable']
code_fields = attrgetter(*CODE_FIELDS)

try:
    from types import InstanceType as _InstanceType  # Python 2 old-style instances
    _INSTANCE_CLASS = attrgetter('__class__')  # instance_getattr answers __class__ itself
except ImportError:
    _InstanceType = None
    _INSTANCE_CLASS = None


_TYPE_ATTRS = type.__dict__
_NAME = _TYPE_ATTRS['__qualname__'] if '__qualname__' in _TYPE_ATTRS else _TYPE_ATTRS['__name__']
_MODULE = _TYPE_ATTRS['__module__']
_MRO = _TYPE_ATTRS['__mro__']
_DICT = _TYPE_ATTRS['__dict__']


# x is exactly a str (or 2.7's unicode): not a subclass, whose methods are the program's.
def is_text(x):
    t = type(x)
    return t is _TEXT[0] or (PY2 and t is _TEXT[1])


# None, a bool, a number or a string of an exact builtin type: its repr runs no code of the program's.
def is_plain(x):
    t = type(x)
    for p in _PLAIN:
        if t is p:
            return True
    return False


# isinstance by the object's own type: isinstance would read
# obj.__class__ (the program's __getattribute__) when the type check fails.
def is_a(obj, types):
    return issubclass(type(obj), types)


# A type's MRO read through type's descriptor; () for anything else.
def mro(tp):
    try:
        # None for a 2.7 type that was never readied (tp_mro unset).
        return _MRO.__get__(tp) or ()
    except Exception:
        return ()


# A type's attribute mapping read through type's descriptor (a
# metaclass's __getattribute__ does not run); {} for anything else.
def class_dict(tp):
    try:
        return _DICT.__get__(tp)
    except Exception:
        return {}


# What `name` is bound to in the first class of tp's MRO that defines it, or None.
def mro_lookup(tp, name):
    for klass in mro(tp):
        found = class_dict(klass).get(name)
        if found is not None:
            return found
    return None


# ('app.models.Session', 'app.models'); builtins bare: ('dict', 'builtins').
# Read through type's own descriptors, so a metaclass's __getattribute__
# does not run; a 2.7 old-style class (not a type) through the class object.
def type_name(tp):
    try:
        # issubclass of two types checks the MRO; isinstance(tp, type) could read tp.__class__.
        if issubclass(type(tp), type):
            name = _NAME.__get__(tp)
            module = _MODULE.__get__(tp)
        else:
            name = tp.__name__
            module = tp.__dict__.get('__module__')
    except Exception:
        return '?', 'builtins'
    if not is_text(name):
        name = '?'
    if not is_text(module) or any(module == b for b in BUILTIN_MODULES):
        return name, 'builtins'
    return module + '.' + name, module


# The object's class: type(obj), or a 2.7 old-style instance's class (read without getattr).
def type_of(obj):
    t = type(obj)
    if _InstanceType is not None and t is _InstanceType:
        return _INSTANCE_CLASS(obj)
    return t


# repr() of plain data and of small tuples of it; `<app.Session object
# at 0x7f...>` for anything else, whose repr is the program's code (and may
# raise, or take long). Cut to `limit` characters.
def safe_repr(obj, limit=80):
    try:
        if is_plain(obj):
            # Only the start of a long string is shown: do not copy all of it.
            text = repr(obj[:limit] if is_text(obj) or (not PY2 and type(obj) is bytes) else obj)
        elif type(obj) is tuple and len(obj) <= 4 and all(is_plain(x) for x in obj):
            text = repr(obj)
        else:
            text = '<%s object at 0x%x>' % (type_name(type_of(obj))[0], id(obj))
    except Exception:
        text = '<unrepresentable>'
    if len(text) > limit:
        text = text[:limit - 3] + '...'
    return text


# A dict key as a path shows it: 'sess-9f1c' (its text cut at `limit`
# characters, inside the quotes), 42, None; `<app.Key>` for a key of any
# other type. 2.7's u prefix is dropped: the reader wants the key.
def key_text(k, limit=40):
    if is_text(k) or (not PY2 and type(k) is bytes):
        cut = len(k) > limit
        r = repr(k[:limit] if cut else k)
        if PY2 and r[:1] == 'u':
            r = r[1:]
        if cut:
            r = r[:-1] + '...' + r[-1]
        return r
    if is_plain(k):
        return repr(k)
    return '<' + type_name(type_of(k))[0] + '>'


# Shallow bytes of one object, 0 when its __sizeof__ fails: a walk over
# the heap must not stop on one odd object.
def size(obj):
    try:
        return sys.getsizeof(obj, 0)
    except Exception:
        return 0
