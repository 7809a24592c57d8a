# memwhy agent module: a census of every live object by type (count and
# shallow bytes), like guppy's hpy().heap() but with the standard library only.
#
# gc.get_objects() lists only GC-tracked objects; str, bytes, int, float and
# untracked tuples and dicts are found as referents of tracked objects (and
# of untracked containers, round after round), each counted once. Not seen:
# objects nothing walked refers to (a string only a C global or a 3.11+
# frame's value stack holds), and on 3.11+ a code object's
# co_localsplusnames/co_localspluskinds (not readable without creating them).
#
# Speed: every per-object step is a C loop (map, zip, compress, set and dict
# building, collections' C counting helper, gc.get_referents(*batch)); Python
# code runs once per batch or per distinct type, never per object. Sizes are
# sys.getsizeof: shallow, GC header (and 3.12+ pre-header) included.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
import gc
import sys
import time
from itertools import chain, compress, repeat
try:
    from itertools import filterfalse
except ImportError:  # Python 2
    from itertools import ifilterfalse as filterfalse
from operator import eq, is_, not_

try:
    # Python 2: the lazy ones (its map pads to the longest input, so
    # map(f, xs, repeat(0)) would never end, and its zip builds a list).
    from itertools import imap as map, izip as zip
except ImportError:
    pass

try:
    # Counter.update's C loop, called directly: update() first asks
    # isinstance(iterable, Mapping), and that ABC check caches a weakref to
    # the iterable's type: an object the census would leave behind. From the
    # C module, which every 3.x has loaded at start-up (collections itself
    # is not always: importing it would stay in the target).
    from _collections import _count_elements
except ImportError:  # Python 2: Counter.update is a Python loop anyway
    def _count_elements(counts, iterable):
        get = counts.get
        for key in iterable:
            counts[key] = get(key, 0) + 1

try:
    from types import InstanceType as _InstanceType  # Python 2 old-style instances
except ImportError:
    _InstanceType = None

# Referents of this many objects are fetched in one gc.get_referents call:
# big enough that per-batch Python overhead vanishes, small enough that a
# batch's lists (a few times the batch) stay a few MiB.
_BATCH = 20000

# The census never changes the switch interval (sys.setswitchinterval, or
# sys.setcheckinterval on 2.7): other threads keep their turns, each wait
# for the census bounded by one C call (a pass over one batch, or
# gc.get_objects()) plus the interval. Raising it (to 1 s) to hold them off
# did two kinds of harm against a thread spinning in pure Python: a walk
# shorter than the raised interval stopped that thread for all of it; and
# once the thread had the GIL, the census waited for it in raised-interval
# slices, each re-armed whenever the thread released and retook the GIL for
# its I/O (take_gil in Python/ceval_gil.c asks for a switch only if none
# happened during the wait), so one census took 4.6-27.7 s under
# `memwhy diagnose` (BENCHMARKS.md). Exact counts do not need the others
# stopped: the snapshot from gc.get_objects() keeps every tracked object
# alive until it is counted.

# Since 3.0 a dict whose keys are all str does not visit them in tp_traverse
# (Objects/dictobject.c, dict_traverse): strings cannot make cycles.
_DICT_KEYS_HIDDEN = sys.version_info >= (3,)

_CodeType = type((lambda: None).__code__)
_safe = _load('safe')  # noqa: F821 (injected by the agent)
_code_fields = _safe['code_fields']
_type_name = _safe['type_name']

_object_sizeof = object.__dict__['__sizeof__']
_ITEMSIZE = type.__dict__['__itemsize__']
# Per walk (cleared after it): type -> its instances' one size or None, and
# the dict types met. Module state, so batches share it without arguments.
_sizes_by_type = {}
_dict_types = set()

_BUILTIN_MODULES = ('builtins', '__builtin__', 'exceptions')


def census(top=None):
    """Counts and shallow bytes of every live object, by type.

    Returns {total: {count, bytes}, types: [{type, module, count, bytes}]
    (most bytes first; the first `top` if given), pause_ms (the longest
    step: an upper bound on how long other threads waited for the census at
    a time), wall_ms (the whole census), objects_per_s}.
    """
    hold = _Hold()
    try:
        counts = _walk(sys._getframe(), hold)
    finally:
        # Per-walk caches: they hold types, which must not outlive the call.
        _sizes_by_type.clear()
        _dict_types.clear()
        hold.release()
    return _summarize(counts, top, hold)


class _Hold(object):
    """Keeps the collector still for a walk and times the walk's steps.

    Other threads are not held off: they run between steps, whenever the
    interpreter would switch anyway. release() restores the collector.
    """

    __slots__ = ('start', 'mark', 'longest', 'end', 'gc_was_enabled')

    def __init__(self):
        self.start = self.mark = time.time()
        self.longest = 0.0
        self.end = None
        self.gc_was_enabled = gc.isenabled()
        # A collection in the middle of the walk would scan the whole heap
        # again (and may run finalizers, i.e. other code).
        gc.disable()

    def step(self):
        """Ends a step: gc.get_objects(), or one batch's C-level passes.

        Wall time, with the census's own waits for the GIL inside the step:
        an upper bound on how long other threads waited for it at a time
        (they can take the GIL between any two of a step's C calls).
        """
        now = time.time()
        if now - self.mark > self.longest:
            self.longest = now - self.mark
        self.mark = now

    def release(self):
        if self.end is None:
            self.step()
            self.end = self.mark
            if self.gc_was_enabled:
                gc.enable()
        return self.end - self.start


def _walk(frame, hold):
    """{(type, size): number of objects}, for every object reached."""
    tracked = gc.get_objects()
    # Our own frames (tracked objects on 2.7-3.10) would lead the walk into
    # our locals, and `hold` into its numbers: leave them out, so the census
    # does not count itself.
    ours = set([id(hold)])
    here = globals()
    while frame is not None and frame.f_globals is here:
        ours.add(id(frame))
        frame = frame.f_back
    frame = None
    hold.step()

    single = _single_refcount()
    is_tracked = gc.is_tracked
    getrefcount = sys.getrefcount
    counts = {}
    # Ids of the untracked objects met so far that are referred to more than
    # once: only these need deduplicating (see _single_refcount). Each
    # tracked object is in `tracked` exactly once.
    #
    # Other threads run between batches: they may create, free or move
    # objects meanwhile. Every object of the snapshot is still counted once
    # (the snapshot keeps it alive); an untracked object moved between
    # containers during the walk may be met twice or not at all.
    seen = set()
    frontier = tracked
    tracked = None
    while frontier:
        found = []
        for i in range(0, len(frontier), _BATCH):
            batch = frontier[i:i + _BATCH]
            if ours:
                # Filtered per batch, not over the whole snapshot in one C
                # call: each step stays one batch long.
                batch = list(compress(batch, map(not_, map(ours.__contains__, map(id, batch)))))
            refs = _count_and_refer(counts, batch)
            batch = None
            refs = list(filterfalse(is_tracked, refs))
            if not refs:
                hold.step()
                continue
            once = list(map(eq, map(getrefcount, refs), repeat(single)))
            new = list(compress(refs, once))
            refs = list(compress(refs, map(not_, once)))
            once = None
            if refs:
                by_id = dict(zip(map(id, refs), refs))
                refs = None
                ids = set(by_id)
                ids.difference_update(seen)
                seen.update(ids)
                new.extend(map(by_id.__getitem__, ids))
                by_id = ids = None
            # The next round counts these and walks into the untracked
            # tuples and dicts among them (gc.get_referents skips the rest in C).
            found.extend(new)
            new = None
            hold.step()
        # Only the snapshot (the first round) holds tracked objects, and so
        # our frames.
        ours = None
        frontier = found
        found = None
        hold.step()
    seen = frontier = None
    return counts


def _single_refcount():
    """What getrefcount says, in _walk's pipeline, of an object referred to once.

    An untracked object whose only reference is the one that led the walk
    to it cannot be met again, so it needs no entry in the `seen` set: most
    strings, floats and ints are such, and skipping the set for them is what
    makes the census fast (and small: no id per object). The number includes
    the walk's own references (list item, map's argument), so it is measured
    here, through the same steps, not assumed.
    """
    holder = [float(time.time())]
    refs = list(filterfalse(gc.is_tracked, holder))
    return list(map(sys.getrefcount, refs))[0]


def _count_and_refer(counts, batch):
    """Counts the batch by (type, size) and returns what its objects refer to.

    gc.get_referents misses some references: a 3.x dict whose keys are all
    str does not visit its keys, and code objects are not GC containers.
    Those are added here.
    """
    types = list(map(type, batch))
    if _InstanceType is not None:
        # Python 2: an old-style instance's type is `instance`; name its
        # class instead (a Python loop, only when there are such instances).
        old = list(map(is_, types, repeat(_InstanceType)))
        if any(old):
            types = [o.__class__ if flag else t for o, t, flag in zip(batch, types, old)]
    per_type = {}
    _count_elements(per_type, types)
    variable = set()
    dicts = set()
    for t, n in per_type.items():
        size = _fixed_size(t, batch, types)
        if size is None:
            variable.add(t)
        else:
            key = (t, size)
            counts[key] = counts.get(key, 0) + n
        if _DICT_KEYS_HIDDEN and t in _dict_types:
            dicts.add(t)
    if variable:
        if len(variable) == len(per_type):
            _count_elements(counts, zip(types, _sizes(batch)))
        else:
            mask = list(map(variable.__contains__, types))
            _count_elements(counts, zip(compress(types, mask), _sizes(list(compress(batch, mask)))))
            mask = None
    refs = gc.get_referents(*batch)
    if dicts:
        found = list(compress(batch, map(dicts.__contains__, types)))
        try:
            refs.extend(chain.from_iterable(map(dict.keys, found)))
        except RuntimeError:
            # Another thread resized a dict under us: skip just that one.
            for d in found:
                try:
                    refs.extend(list(dict.keys(d)))
                except RuntimeError:
                    pass
    if _CodeType in per_type:
        found = list(compress(batch, map(is_, types, repeat(_CodeType))))
        refs.extend(chain.from_iterable(map(_code_fields, found)))
    return refs


def _item_size(t):
    """tp_itemsize through type's descriptor; 1 (not fixed) for a 2.7 old-style class."""
    try:
        return _ITEMSIZE.__get__(t)
    except TypeError:
        return 1


def _fixed_size(t, batch, types):
    """sys.getsizeof of every instance of t if they all have one size, else None.

    True when t has no items (tp_itemsize 0) and keeps object.__sizeof__
    (tp_basicsize, Objects/typeobject.c): floats, None, functions, most
    class instances. Their objects skip getsizeof and the (type, size) key,
    which is most of the census's time. Cached per type for the walk.
    """
    try:
        return _sizes_by_type[t]
    except KeyError:
        pass
    size = None
    if t is not type and _item_size(t) == 0 and _mro_lookup(t, '__sizeof__') is _object_sizeof:
        # The first object of type t: by identity (index() compares with ==, which a metaclass may define).
        size = sys.getsizeof(next(o for o, ot in zip(batch, types) if ot is t), 0)
    _sizes_by_type[t] = size
    if isinstance(t, type) and issubclass(t, dict):
        _dict_types.add(t)
    return size


_mro_lookup = _safe['mro_lookup']


def _sizes(objs):
    getsizeof = sys.getsizeof
    try:
        # The default answers objects without __sizeof__; a __sizeof__ that
        # raises something else falls back to one object at a time.
        return list(map(getsizeof, objs, repeat(0)))
    except Exception:
        out = []
        for o in objs:
            try:
                out.append(getsizeof(o, 0))
            except Exception:
                out.append(0)
        return out


def _summarize(counts, top, hold):
    by_name = {}
    total_count = 0
    total_bytes = 0
    for (t, size), n in counts.items():
        name, module = _type_name(t)
        entry = by_name.get(name)
        if entry is None:
            entry = by_name[name] = {'type': name, 'module': module, 'count': 0, 'bytes': 0}
        entry['count'] += n
        entry['bytes'] += n * size
        total_count += n
        total_bytes += n * size
    types = sorted(by_name.values(), key=lambda e: (-e['bytes'], -e['count'], e['type']))
    wall = hold.end - hold.start
    if top is not None:
        types = types[:int(top)]
    return {
        'started_at': hold.start,
        'total': {'count': total_count, 'bytes': total_bytes},
        'types': types,
        'pause_ms': round(hold.longest * 1000.0, 3),
        'wall_ms': round(wall * 1000.0, 3),
        'objects_per_s': int(total_count / wall) if wall > 0 else None,
    }
