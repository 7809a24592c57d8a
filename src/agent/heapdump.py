# memwhy agent: writes a heap dump (every object, its type, size and
# references) to a file, in the format described in docs/dump-format.md.
#
# Runs inside the target: stdlib only, Python 2.7 and 3.6-3.13 (no f-strings,
# no annotations, no nonlocal). It keeps the collector still for the length
# of the walk and restores it in finally; it never changes the switch
# interval (see census.py: raising it starved the walk, or the target's
# threads, for seconds against a thread spinning in pure Python).
import array
import gc
import itertools
import json
import operator
import os
import struct
import sys
import time
import types

MAGIC = b'MEMWHYD1'
VERSION = 1

# Node label kinds (NLAB section).
NODE_MODULE = 1
NODE_MODULE_DICT = 2
NODE_CLASS = 3
NODE_CLASS_DICT = 4
NODE_FRAME = 5
NODE_FUNCTION = 6
NODE_AGENT = 7  # a frame of memwhy's agent (a root, like a frame)

# Edge labels are written for the entries of module and class dicts, and of
# the dicts those hold directly (a global cache such as _SESSIONS). Past this
# many entries in one dict the rest go unlabelled: a 5M-entry cache would
# otherwise put 5M key texts in the string table for paths nobody prints.
MAX_KEYED_ENTRIES = 10000
MAX_KEY_CHARS = 40

# How far past the previous matched value a dict's next value may sit in its
# reference list and still be matched to its key: a dict lists its values in
# items() order, with the keys interleaved (2.7; 3.x dicts with non-str keys)
# or after all the values (3.x str keys, which memwhy appends itself).
KEY_WINDOW = 8

# Sizes are stored as u32; a larger object is stored as SIZE_OVERFLOW and its
# real size goes into the BIGS section.
SIZE_OVERFLOW = 0xFFFFFFFF

# Referents of this many objects are taken per round of C-level passes: large
# enough that the Python code per batch vanishes, small enough that a batch's
# lists stay a few MiB.
BATCH = 20000

PY2 = sys.version_info[0] == 2
if PY2:
    # The lazy ones: 2.7's map pads to the longest input, so
    # map(f, xs, repeat(4)) would never end.
    _map = itertools.imap
    _zip = itertools.izip
    _filterfalse = itertools.ifilterfalse
    _dict_items = dict.iteritems
else:
    _map = map
    _zip = zip
    _filterfalse = itertools.filterfalse
    _dict_items = dict.items
_compress = itertools.compress
_chain = itertools.chain.from_iterable
_repeat = itertools.repeat

# gc.get_referents misses two kinds of reference:
# - since 3.0 a dict whose keys are all str does not visit them
#   (Objects/dictobject.c, dict_traverse): str cannot make cycles;
# - code objects are not GC containers: their fields are read instead. 3.11+
#   makes co_code, co_varnames, co_freevars, co_cellvars and co_lnotab on
#   access (and caches them), so those are not read there: reading would
#   create objects (Include/cpython/code.h per version).
_DICT_KEYS_HIDDEN = not PY2
_CodeType = type((lambda: None).__code__)
_safe = _load('safe')  # noqa: F821 (injected by the agent)
_code_fields = _safe['code_fields']
_is_text = _safe['is_text']
_FrameType = type(sys._getframe())
# Include/object.h: the type's objects take part in GC (have tp_traverse).
_TPFLAGS_HAVE_GC = 1 << 14


def _u64_code():
    for code in ('Q', 'L'):
        try:
            if array.array(code).itemsize == 8:
                return code
        except ValueError:
            pass
    raise RuntimeError('no 8-byte array type')


U64 = _u64_code()

if hasattr(time, 'perf_counter'):
    _clock = time.perf_counter
else:
    _clock = time.time
# The dump's own CPU time: this thread's (3.7+), since the target's other
# threads run during the walk; before 3.7 the process's, theirs included.
_cpu_clock = getattr(time, 'thread_time', None) or getattr(time, 'process_time', None) or time.clock

_TYPE_ATTRS = type.__dict__


def _text(s):
    """A str (unicode on 2.7) for the string table."""
    if PY2 and isinstance(s, str):
        return s.decode('utf-8', 'replace')
    return s


def _type_name(tp):
    """app.models.Session; builtins bare: str (src/agent/safe.py)."""
    return _text(_safe['type_name'](tp)[0])


def _function_name(fn):
    try:
        code = fn.__code__
        name = getattr(fn, '__qualname__', None) or code.co_name
        mod = fn.__globals__.get('__name__')
    except Exception:
        return None
    if _is_text(mod):
        return _text(mod) + u'.' + _text(name)
    return _text(name)


def _module_dicts():
    """(name, module, its __dict__) for every module in sys.modules, by name;
    an alias (the same module under two names) is listed once."""
    out = []
    seen = set()
    for name in sorted(sys.modules):
        m = sys.modules.get(name)
        if m is None or id(m) in seen:
            continue
        seen.add(id(m))
        try:
            d = object.__getattribute__(m, '__dict__')
        except Exception:
            d = None
        if type(d) is not dict:
            d = None
        out.append((_text(name), m, d))
    return out


def _thread_names():
    threading = sys.modules.get('threading')
    names = {}
    try:
        for ident, t in list(threading._active.items()):
            names[ident] = t.name
    except Exception:
        pass
    return names


def _frame_label(frame, thread_id, thread_names):
    code = frame.f_code
    where = u'%s (%s:%d)' % (_text(code.co_name), _text(code.co_filename), frame.f_lineno)
    name = thread_names.get(thread_id)
    if name:
        return u'%s [thread %s]' % (where, _text(name))
    return u'%s [thread %d]' % (where, thread_id)


def _root_frames(module_dict_ids, own_frames):
    """(frame, label, kind) for every frame of every thread, innermost first.

    The current thread's leading frames whose globals are no module's are
    memwhy's agent (its modules are exec'd into fresh dicts): this module's
    own frames go into own_frames and are left out (their locals are the
    dump's bookkeeping); the agent's others are roots of kind NODE_AGENT, so
    what only the agent holds is named as such rather than unreferenced."""
    names = _thread_names()
    out = []
    agent = set()
    f = sys._getframe()
    while f is not None and id(f.f_globals) not in module_dict_ids:
        if f.f_globals is globals():
            own_frames.append(f)
        else:
            agent.add(id(f))
        f = f.f_back
    f = None
    own = set(id(x) for x in own_frames)
    current = sys._current_frames()
    for thread_id in sorted(current):
        f = current[thread_id]
        while f is not None:
            if id(f) not in own:
                kind = NODE_AGENT if id(f) in agent else NODE_FRAME
                out.append((f, _frame_label(f, thread_id, names), kind))
            f = f.f_back
    del current
    return out


def _held_from_c_by_agent(frames):
    """The agent's module registry and what refers to it that only C code
    may hold (a bound method on a running frame's value stack, a frame
    object of the agent's thread), for the agent's root to hold: else
    nothing in the dump refers to them, each becomes a root of its own,
    and the registry, reached from two roots, was counted as the program's
    "objects reachable from several roots". Only memwhy's code refers to
    the registry. One gc.get_referrers(): a pass over the tracked objects,
    in the snapshot child."""
    registry = getattr(_load, '__self__', None)  # noqa: F821 (injected by the agent)
    if registry is None:
        return []
    out = [registry]
    listed = set(id(f) for f, _, _ in frames)
    listed.update((id(frames), id(out)))
    mine = globals()
    for r in gc.get_referrers(registry):
        # Not the frames listed already, nor this module's own (its locals).
        if id(r) not in listed and getattr(r, 'f_globals', None) is not mine:
            out.append(r)
    return out


def _read_frame_locals(out, frames):
    """id(frame) -> its locals' values, for the running frames of 3.11+,
    whose frame objects do not visit their locals (Objects/frameobject.c,
    frame_tp_traverse: only when the frame object owns its frame).

    Side effect, as with any debugger: on 3.11 and 3.12 f_locals leaves a
    snapshot dict on the frame (refreshed at the next locals() or f_locals,
    gone when the function returns); 3.13's f_locals is a live view (PEP 667).
    Module and class bodies are skipped: their locals are a dict already."""
    for f, _, _ in frames:
        if not f.f_code.co_flags & _CO_OPTIMIZED:
            continue
        try:
            view = f.f_locals
            # The snapshot (or view) itself goes into the list, and the list
            # into the dump's own objects: it is memwhy's, not the program's.
            out[id(f)] = list(view.values()) + [view]
        except Exception:
            pass


# Include/code.h: the code uses fast locals (a function body).
_CO_OPTIMIZED = 0x0001


class _Strings(object):
    def __init__(self):
        self.index = {}
        self.items = []

    def add(self, s):
        i = self.index.get(s)
        if i is None:
            i = len(self.items)
            self.index[s] = i
            self.items.append(s)
        return i


class _Steps(object):
    """The longest step of the walk: the snapshot, or one batch's C-level
    passes. Wall time, the dump's own waits for the GIL included: an upper
    bound on how long the target's other threads waited for it at a time
    (they can take the GIL between any two of a step's C calls)."""

    __slots__ = ('mark', 'longest')

    def __init__(self):
        self.mark = _clock()
        self.longest = 0.0

    def step(self):
        now = _clock()
        if now - self.mark > self.longest:
            self.longest = now - self.mark
        self.mark = now


def _walk(d, own_ids, steps):
    """Fills d with the graph: the roots, then every object the collector
    tracks, then the untracked objects those lead to (str, int, untracked
    tuples and dicts...), round after round.

    Every per-object step is a C-level pass over a batch (map, compress,
    gc.get_referents); Python code runs per batch. Edges are written as the
    target's addresses, and the reader turns them into indices: an
    id -> index dict here cost a third more time and an int per object.

    Not seen: objects that nothing walked refers to (a str only C code
    holds), and the fields 3.11+ code objects compute on access.

    Other threads run between batches. Every object of the snapshot is
    written once (the snapshot keeps it alive); references may lead to
    objects made after it (the reader drops references to addresses it
    has no object for), and an untracked object moved during the walk may
    be met twice or not at all (or, freed after it was written, leave its
    address to another object written later).
    """
    roots = d['seed']
    tracked = gc.get_objects()
    d['tracked'] = len(tracked)
    skip = set(own_ids)
    skip.update(_map(id, roots))
    tracked = list(_compress(tracked, _map(operator.not_, _map(skip.__contains__, _map(id, tracked)))))
    skip = None
    frontier = roots + tracked
    tracked = None
    steps.step()

    single = _single_refcount()
    is_tracked = gc.is_tracked
    getrefcount = sys.getrefcount
    rshift = operator.rshift
    # Shifted ids (>> 4: objects are 16-byte aligned and CPython's set probes
    # the low bits first, so raw ids collide: set() of 2M raw ids took 4.5x
    # as long) of the untracked objects met that more than one reference
    # leads to. Tracked objects are each in get_objects() once; an untracked
    # object referred to once can only be met once. The roots are written
    # first: an untracked one (a running frame's object on 3.11+) met again
    # through a reference was written twice, and the reader, finding its
    # address twice, gave the references to the second copy.
    seen = set(_map(rshift, _map(id, roots), _repeat(4)))
    flags = operator.attrgetter('__flags__')
    leaf_batch = []
    while frontier or leaf_batch:
        found = []
        for start in range(0, len(frontier), BATCH):
            batch = frontier[start:start + BATCH]
            lists = _emit(d, batch, False)
            batch = None
            refs = list(_chain(lists))
            lists = None
            d['edge'].extend(_map(id, refs))
            refs = list(_filterfalse(is_tracked, refs))
            if not refs:
                steps.step()
                continue
            once = list(_map(operator.eq, _map(getrefcount, refs), _repeat(single)))
            new = list(_compress(refs, once))
            refs = list(_compress(refs, _map(operator.not_, once)))
            once = None
            if refs:
                by_id = dict(_zip(_map(rshift, _map(id, refs), _repeat(4)), refs))
                refs = None
                fresh = list(_filterfalse(seen.__contains__, by_id))
                seen.update(fresh)
                new.extend(_map(by_id.__getitem__, fresh))
                by_id = fresh = None
            # Objects of non-GC types (but code) refer to nothing the walk can
            # see: they skip gc.get_referents and its empty list (most
            # objects are such).
            new_types = list(_map(type, new))
            gc_type = list(_map(operator.or_,
                                _map(operator.and_, _map(flags, new_types), _repeat(_TPFLAGS_HAVE_GC)),
                                _map(operator.is_, new_types, _repeat(_CodeType))))
            new_types = None
            leaf_batch.extend(_compress(new, _map(operator.not_, gc_type)))
            found.extend(_compress(new, gc_type))
            new = gc_type = None
            steps.step()
            while len(leaf_batch) >= BATCH:
                _emit(d, leaf_batch[:BATCH], True)
                del leaf_batch[:BATCH]
                steps.step()
        if not found and leaf_batch:
            _emit(d, leaf_batch, True)
            leaf_batch = []
        frontier = found
        found = None
        steps.step()


def _single_refcount():
    """What getrefcount says, in _walk's pipeline, of an untracked object one
    reference leads to: counted through the same steps (a referents list, the
    concatenated list, the untracked list, map's argument), not assumed."""
    holder = [float(time.time())]
    lists = [gc.get_referents(holder)]
    refs = list(_chain(lists))
    lists = None
    refs = list(_filterfalse(gc.is_tracked, refs))
    return list(_map(sys.getrefcount, refs))[0]


def _emit(d, batch, leaves):
    """Writes the batch's columns (address, type, size, edge offsets) and
    returns the list of each object's referents; `leaves` says the batch
    holds only objects of non-GC types (str, int, float...), which refer to
    nothing gc.get_referents sees."""
    d['addr'].extend(_map(id, batch))
    types = list(_map(type, batch))
    tmap = d['tmap']
    # Types are keyed by id: hashing a class could run its metaclass's __hash__.
    ids = set(_map(id, types))
    if not ids.issubset(tmap):
        for k, tp in dict(_zip(_map(id, types), types)).items():
            if k not in tmap:
                _new_type(d, k, tp)
    tis = list(_map(tmap.__getitem__, _map(id, types)))
    base = len(d['otype'])
    d['otype'].extend(tis)
    special = d['special']
    if special and not ids.isdisjoint(d['special_ids']):
        otype = d['otype']
        for i, o in _compress(_zip(itertools.count(base), batch), _map(special.__contains__, tis)):
            special[otype[i]][1].append((i, o))
    _emit_sizes(d, batch, base)

    eoff = d['eoff']
    if leaves:
        eoff.extend(_repeat(eoff[-1], len(batch)))
        return []
    lists = list(_map(gc.get_referents, batch))
    dict_types = d['dict_types']
    if not dict_types.isdisjoint(ids):
        mask = list(_map(dict_types.__contains__, _map(id, types)))
        list(_map(list.extend, _compress(lists, mask), _map(dict.keys, _compress(batch, mask))))
    if id(_CodeType) in ids:
        mask = list(_map(operator.is_, types, _repeat(_CodeType)))
        list(_map(list.extend, _compress(lists, mask), _map(_code_fields, _compress(batch, mask))))
    frame_locals = d['frame_locals']
    if frame_locals and id(_FrameType) in ids:
        for i in _compress(itertools.count(), _map(operator.is_, types, _repeat(_FrameType))):
            extra = frame_locals.get(id(batch[i]))
            if extra:
                lists[i].extend(extra[:-1])
    if hasattr(itertools, 'accumulate'):
        eoff.extend(itertools.islice(itertools.accumulate(itertools.chain((eoff[-1],), _map(len, lists))), 1, None))
    else:
        total = eoff[-1]
        for n in _map(len, lists):
            total += n
            eoff.append(total)
    return lists


def _new_type(d, k, tp):
    ti = len(d['type_objs'])
    d['tmap'][k] = ti
    d['type_objs'].append(tp)
    kind = _special_kind(tp)
    if kind:
        d['special'][ti] = (kind, [])
        d['special_ids'].add(k)
    if _DICT_KEYS_HIDDEN and issubclass(tp, dict):
        d['dict_types'].add(k)


def _emit_sizes(d, batch, base):
    osize = d['osize']
    try:
        osize.extend(_map(sys.getsizeof, batch))
        return
    except Exception:
        # A __sizeof__ that raises, or a size past 4 GiB: one at a time.
        del osize[base:]
    getsizeof = sys.getsizeof
    bigs = d['bigs']
    i = base
    for o in batch:
        try:
            s = getsizeof(o)
        except Exception:
            s = 0
        try:
            osize.append(s)
        except OverflowError:
            osize.append(SIZE_OVERFLOW)
            bigs.append((i, s))
        i += 1


def _special_kind(tp):
    if issubclass(tp, type):
        return NODE_CLASS
    if tp is types.FunctionType:
        return NODE_FUNCTION
    if PY2 and tp is types.InstanceType:
        return 'instance'
    if PY2 and tp is types.ClassType:
        return NODE_CLASS
    if issubclass(tp, dict):
        return 'dict'
    return None


def _class_dict(cls):
    if PY2 and type(cls) is types.ClassType:
        return cls.__dict__
    proxy = _TYPE_ATTRS['__dict__'].__get__(cls)
    for r in gc.get_referents(proxy):
        if type(r) is dict:
            return r
    return None


def _label_entries(d, strings, node, mapping, attribute_style, keyed_children):
    """Edge labels for a dict's entries: .name for module and class dicts,
    ['key'] for the rest. Collects the values that are dicts in
    keyed_children."""
    edge = d['edge']
    eoff = d['eoff']
    labels = d['elab']
    p = eoff[node]
    end = eoff[node + 1]
    count = 0
    for key, value in _dict_items(mapping):
        if count >= MAX_KEYED_ENTRIES:
            break
        count += 1
        a = id(value)
        q = p
        stop = min(end, p + KEY_WINDOW)
        while q < stop and edge[q] != a:
            q += 1
        if q == stop:
            continue
        if attribute_style and _is_text(key):
            text = u'.' + _text(key)
        else:
            text = u'[' + _text(_safe['key_text'](key, MAX_KEY_CHARS)) + u']'
        labels.append(q)
        labels.append(strings.add(text))
        p = q + 1
        if keyed_children is not None and issubclass(type(value), dict):
            keyed_children.append(value)


def _label(d, strings, modules, frames):
    """Node labels and edge labels, once the walk has numbered everything."""
    nlab = d['nlab']

    def node_label(i, kind, text):
        nlab.append(i)
        nlab.append(kind)
        nlab.append(strings.add(text))

    at = dict((id(o), i) for i, o in enumerate(d['seed']))
    module_dicts = {}
    for name, m, md in modules:
        i = at.get(id(m))
        if i is not None:
            node_label(i, NODE_MODULE, name)
        if md is not None:
            module_dicts[id(md)] = (md, name)
    for f, text, kind in frames:
        i = at.get(id(f))
        if i is not None:
            node_label(i, kind, text)

    class_dicts = {}
    dict_nodes = []
    type_objs = d['type_objs']
    for ti in sorted(d['special']):
        kind, nodes = d['special'][ti]
        if kind == NODE_CLASS:
            for i, cls in nodes:
                if PY2 and type(cls) is types.ClassType:
                    name = _type_name(cls)
                else:
                    name = _type_name(cls)
                node_label(i, NODE_CLASS, name)
                try:
                    cd = _class_dict(cls)
                except Exception:
                    cd = None
                if cd is not None:
                    class_dicts[id(cd)] = (cd, name)
        elif kind == NODE_FUNCTION:
            for i, fn in nodes:
                name = _function_name(fn)
                if name is not None:
                    node_label(i, NODE_FUNCTION, name)
        elif kind == 'instance':
            # 2.7 old-style instances all have type "instance": give each its class.
            classes = {}
            otype = d['otype']
            for i, inst in nodes:
                cls = inst.__class__
                t = classes.get(id(cls))
                if t is None:
                    t = len(type_objs)
                    type_objs.append(_type_name(cls))
                    classes[id(cls)] = t
                otype[i] = t
        elif kind == 'dict':
            dict_nodes.append(nodes)

    # Module and class dicts first; then the dicts they hold (a global cache).
    node_of = {}
    for nodes in dict_nodes:
        for i, o in nodes:
            k = id(o)
            if k in module_dicts or k in class_dicts:
                node_of[k] = i
    children = []
    for k, (md, name) in sorted(module_dicts.items(), key=lambda kv: kv[1][1]):
        if k in node_of:
            node_label(node_of[k], NODE_MODULE_DICT, name)
            _label_entries(d, strings, node_of[k], md, True, children)
    for k, (cd, name) in class_dicts.items():
        if k in node_of:
            node_label(node_of[k], NODE_CLASS_DICT, name)
            _label_entries(d, strings, node_of[k], cd, True, children)
    wanted = dict((id(c), c) for c in children)
    for k in list(wanted):
        if k in module_dicts or k in class_dicts:
            del wanted[k]
    for nodes in dict_nodes:
        for i, o in nodes:
            c = wanted.get(id(o))
            if c is not None:
                _label_entries(d, strings, i, c, False, None)


def _pad(f, n):
    if n % 8:
        f.write(b'\0' * (8 - n % 8))


def _write_array(f, tag, arr):
    if sys.byteorder != 'little':
        arr = array.array(arr.typecode, arr)
        arr.byteswap()
    n = len(arr) * arr.itemsize
    f.write(struct.pack('<4sIQ', tag, len(arr) & 0xFFFFFFFF, n))
    arr.tofile(f)
    _pad(f, n)


def _write_bytes(f, tag, count, data):
    f.write(struct.pack('<4sIQ', tag, count, len(data)))
    f.write(data)
    _pad(f, len(data))


def _write(path, meta, d, strings, type_names):
    tmp = path + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(struct.pack('<8sHHI', MAGIC, VERSION, 0, 0))
            _write_bytes(f, b'META', 0, json.dumps(meta, sort_keys=True).encode('utf-8'))
            type_table = array.array('I', [strings.add(t) for t in type_names])
            encoded = [s.encode('utf-8') for s in strings.items]
            offsets = array.array('I', [0])
            total = 0
            for e in encoded:
                total += len(e)
                offsets.append(total)
            if sys.byteorder != 'little':
                offsets.byteswap()
            blob = b''.join(encoded)
            f.write(struct.pack('<4sIQ', b'STRS', len(encoded), len(offsets) * 4 + len(blob)))
            offsets.tofile(f)
            f.write(blob)
            _pad(f, len(offsets) * 4 + len(blob))
            _write_array(f, b'TYPE', type_table)
            _write_array(f, b'ADDR', d['addr'])
            _write_array(f, b'OTYP', d['otype'])
            _write_array(f, b'SIZE', d['osize'])
            bigs = array.array(U64)
            for i, s in d['bigs']:
                bigs.append(i)
                bigs.append(s)
            _write_array(f, b'BIGS', bigs)
            _write_array(f, b'EOFF', d['eoff'])
            _write_array(f, b'EDGE', d['edge'])
            _write_array(f, b'ELAB', d['elab'])
            _write_array(f, b'ROOT', d['roots'])
            _write_array(f, b'NLAB', d['nlab'])
            _write_bytes(f, b'END ', 0, b'')
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return os.path.getsize(path)


def dump(path):
    """Writes every object the interpreter can reach, with its type, size and
    references, to `path` (atomically: path.tmp, then rename). Other threads
    keep running while the graph is walked and labelled, between its steps;
    pause_ms is the longest step (at most that long were they held off at a
    time), graph_ms the walk and labels, walk_ms the walk alone. Returns
    {path, objects, edges, bytes, pause_ms, ...}."""
    wall0 = _clock()
    cpu0 = _cpu_clock()
    started_at = time.time()
    strings = _Strings()
    own_frames = []
    d = {
        'seed': [], 'tmap': {}, 'type_objs': [], 'special': {}, 'dict_types': set(), 'special_ids': set(),
        'addr': array.array(U64), 'otype': array.array('I'), 'osize': array.array('I'),
        'eoff': array.array('I', [0]), 'edge': array.array(U64), 'bigs': [],
        'elab': array.array('I'), 'nlab': array.array('I'), 'roots': array.array('I'),
        'tracked': 0, 'root_count': 0, 'frame_locals': {},
    }
    steps = _Steps()
    gc_was_enabled = gc.isenabled()
    try:
        # A collection during the walk would run finalizers (the target's
        # code) and traverse everything a second time.
        gc.disable()
        modules = _module_dicts()
        module_dict_ids = set(id(md) for _, _, md in modules if md is not None)
        frames = _root_frames(module_dict_ids, own_frames)
        if sys.version_info >= (3, 11):
            _read_frame_locals(d['frame_locals'], frames)
        seed = d['seed']
        seen = set()
        # The agent's frames hang from one root of their own, a list of
        # them: as roots each, what two of them hold (the agent's module
        # registry) was "reachable from several roots" in the answer, where
        # it is memwhy's. They stay in the seed, after the roots, to be
        # labelled.
        agent_frames = [f for f, _, kind in frames if kind == NODE_AGENT] + _held_from_c_by_agent(frames)
        roots = [m for _, m, _ in modules] + [f for f, _, kind in frames if kind != NODE_AGENT] + [agent_frames]
        for group in (roots, agent_frames):
            for x in group:
                if id(x) not in seen:
                    seen.add(id(x))
                    seed.append(x)
            if group is roots:
                d['root_count'] = len(seed)
        frames.append((agent_frames, u"memwhy's agent", NODE_AGENT))
        roots = None
        # The dump's own bookkeeping is not part of the target's heap.
        own = list(d.values()) + [d, strings, strings.index, strings.items, own_frames, seen,
                                  modules, frames, module_dict_ids, globals()]
        own += own_frames + modules + frames
        for extra in d['frame_locals'].values():
            own.append(extra)
            own.append(extra[-1])
        own += [v for v in globals().values() if type(v) is types.FunctionType]
        own_ids = set(_map(id, own))
        own_ids.add(id(own))
        own = seen = None
        steps.step()
        _walk(d, own_ids, steps)
        walk_ms = (_clock() - wall0) * 1000.0
        d['roots'].extend(range(d['root_count']))
        _label(d, strings, modules, frames)
        type_names = [t if _is_text(t) else _type_name(t) for t in d['type_objs']]
        del seed[:]
        modules = frames = None
        d['type_objs'] = d['tmap'] = d['special'] = None
    finally:
        del own_frames[:]
        if gc_was_enabled:
            gc.enable()
        steps.step()
    graph_ms = (_clock() - wall0) * 1000.0
    pause_ms = steps.longest * 1000.0
    pause_cpu_ms = (_cpu_clock() - cpu0) * 1000.0
    finished_at = time.time()
    objects = len(d['addr'])
    edges = len(d['edge'])
    meta = {
        'format': 'memwhy heap dump',
        'version': VERSION,
        'python': '%d.%d.%d' % sys.version_info[:3],
        'implementation': getattr(getattr(sys, 'implementation', None), 'name', 'cpython'),
        'platform': sys.platform,
        'pid': os.getpid(),
        'pointer_size': struct.calcsize('P'),
        'started_at': started_at,
        'finished_at': finished_at,
        'pause_ms': round(pause_ms, 1),
        'objects': objects,
        'edges': edges,
        'gc_tracked': d['tracked'],
        'roots': len(d['roots']),
    }
    size = _write(path, meta, d, strings, type_names)
    wall_ms = (_clock() - wall0) * 1000.0
    return {
        'path': path,
        'objects': objects,
        'edges': edges,
        'gc_tracked': d['tracked'],
        'bytes': size,
        'pause_ms': round(pause_ms, 1),
        'pause_cpu_ms': round(pause_cpu_ms, 1),
        'walk_ms': round(walk_ms, 1),
        'graph_ms': round(graph_ms, 1),
        'wall_ms': round(wall_ms, 1),
        'objects_per_s': int(objects / (graph_ms / 1000.0)) if graph_ms > 0 else None,
    }
