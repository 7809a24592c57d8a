# memwhy agent module: who holds these objects? The shortest chain of
# referrers from a few instances of a type back to a root, like objgraph's
# find_backref_chain, with each hop named (global, attribute, key, index).
#
# Roots: a module's globals, a live frame of another thread, a class
# attribute, gc.garbage. The walk is breadth-first, one level per
# gc.get_referrers(*level) call: each call scans every tracked object once,
# so a chain of depth d costs d scans, not one scan per object.
#
# Side effects, all small and named: on 3.11+ the frames of other threads
# are materialized (sys._current_frames) so their locals are visible; naming
# an attribute hop of a 3.11+ instance whose attributes live inline
# materializes that one instance's __dict__.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
import gc
import sys
import time
import types as _types
from itertools import chain, compress
from operator import is_

try:
    from itertools import imap as map, izip as zip  # Python 2: lazy
except ImportError:
    pass

try:
    import _tracemalloc
    _traceback_of = _tracemalloc._get_object_traceback
    _tracing = _tracemalloc.is_tracing
except (ImportError, AttributeError):  # 2.7
    _traceback_of = _tracing = None


def _traced_by_program(obj):
    """Allocated while tracemalloc traced, by the program (not by memwhy)."""
    tb = _traceback_of(obj)
    if not tb:
        return False
    filename = tb[0][0]
    # The names the agent compiles its code under; not 'memwhy' anywhere in a
    # path (a program may live in a folder named memwhy).
    return not filename.startswith(('memwhy/', 'memwhy-', '<memwhy'))


_census = _load('census')  # noqa: F821 (injected by the agent)
_Hold = _census['_Hold']
_safe = _load('safe')  # noqa: F821
_type_name = _safe['type_name']
_is_a = _safe['is_a']
_size = _safe['size']
_is_text = _safe['is_text']
_class_dict = _safe['class_dict']
safe_repr = _safe['safe_repr']

_FrameType = _types.FrameType
_ModuleType = _types.ModuleType
_CellType = type((lambda x: lambda: x)(0).__closure__[0])
_ClassType = getattr(_types, 'ClassType', None)  # 2.7's old-style classes
_MemberDescriptor = _types.MemberDescriptorType

# Neighbourhood graph: this many other referrers of each sample, drawn
# beside the chain so a reader sees what else holds it.
_FAN_IN = 4
_REPR_MAX = 40
# At most this many objects per level: past it a level is sampled (a chain
# may then be longer than the shortest), so a fan-out cannot eat the target.
_LEVEL_MAX = 5000


def refs(type, samples=3, max_depth=20):
    """Shortest referrer chains from up to `samples` instances of `type` to a root.

    `type` matches a module-qualified name (app.models.Session) or a plain
    one (Session). Returns {type, matched, instances, chains: [{sample,
    root, complete, hops: [{kind, label, type, addr, edge}]}], graph:
    {nodes, edges}, elapsed_ms}. A chain's hops run from the root to the
    sample; `edge` says how a hop refers to the next one.
    """
    hold = _Hold()
    try:
        start = time.time()
        matched, found, count = _instances(type, int(samples))
        result = {'type': type, 'matched': matched, 'instances': count, 'chains': [],
                  'graph': {'nodes': [], 'edges': []}}
        if found:
            # Before the walk: its maps hold referrers, and an object held
            # twice no longer looks owned.
            kept = [_kept(obj) for obj in found]
            walker = _Walker(found)
            # By index: zip's reused result tuple would refer to the sample.
            for i in range(len(found)):
                c = walker.chain(found[i], int(max_depth))
                c['kept_bytes'], c['kept_objects'] = kept[i]
                result['chains'].append(c)
            result['graph'] = walker.graph(result['chains'])
            walker = None
        found = None
        result['elapsed_ms'] = round((time.time() - start) * 1000.0, 1)
        return result
    finally:
        hold.release()


def _one_ref_seen(parent):
    for child in gc.get_referents(parent):
        return sys.getrefcount(child)


# What getrefcount says, in _kept's loop, of an object referenced once (by
# its parent): the loop's own references included, measured rather than
# assumed (they differ between versions).
_ONE_REF = _one_ref_seen([object()])
_KEPT_LIMIT = 200000


def _kept(obj):
    """(bytes, objects) of obj and what only it keeps alive.

    An object is counted when its one reference is from one already counted
    (a list's strings, an instance's own list): what freeing obj would
    free, the leak's true size per instance where a type's shallow size is a
    few dozen bytes. Shared, cached or immortal objects are left out, so it
    errs low. Capped at 200,000 objects.
    """
    owned = set([id(obj)])
    frontier = [obj]
    nbytes = 0
    while frontier and len(owned) < _KEPT_LIMIT:
        nbytes += sum(map(_size, frontier))
        nxt = []
        for parent in frontier:
            for child in gc.get_referents(parent):
                if sys.getrefcount(child) <= _ONE_REF and id(child) not in owned:
                    owned.add(id(child))
                    nxt.append(child)
        frontier = nxt
    return nbytes, len(owned)



def _instances(name, limit):
    """(names matched, up to `limit` instances, how many there are)."""
    objs = gc.get_objects()
    kinds = set(map(type, objs))
    wanted = set(t for t in kinds if _matches(t, name))
    if not wanted:
        # Untracked types (str, int, ...): look among the referents.
        kinds = None
        pool = []
        for i in range(0, len(objs), 20000):
            pool.extend(gc.get_referents(*objs[i:i + 20000]))
        objs = pool
        pool = None
        wanted = set(t for t in set(map(type, objs)) if _matches(t, name))
    mask = list(map(wanted.__contains__, map(type, objs)))
    count = sum(mask)
    found = []
    seen = set()
    # The instances that explain growth are the new ones: a str or an array
    # of some library's constants says nothing about the leak. Instances
    # tracemalloc traced (allocated in memwhy's window; diagnose reads refs
    # in a child that keeps the traces) come first, the rest after.
    candidates = compress(objs, mask)
    if _traceback_of is not None and _tracing():
        candidates = list(candidates)
        traced = [o for o in candidates if _traced_by_program(o)]
        # Oldest first (gc.get_objects lists the youngest generation first):
        # a traced object still alive after surviving collections is the
        # leak's; the youngest are often a request in flight.
        traced.reverse()
        candidates = chain(traced, candidates)
    # Referents can repeat (one str in many places): dedupe the few taken.
    for obj in candidates:
        if id(obj) not in seen:
            seen.add(id(obj))
            found.append(obj)
            if len(found) >= limit:
                break
    candidates = None
    # On 2.7 this running frame is in `objs` (frames are tracked): a cycle
    # that, with the collector held still, would outlive the call.
    objs = mask = None
    matched = sorted(set(_type_name(t)[0] for t in wanted))
    return matched, found, count


def _matches(t, name):
    full = _type_name(t)[0]
    return full == name or full.rpartition('.')[2] == name


class _Walker(object):
    def __init__(self, samples):
        self.module_dicts = {}
        for mod_name, mod in list(sys.modules.items()):
            d = getattr(mod, '__dict__', None) if _is_a(mod, _ModuleType) else None
            if _is_a(d, dict):
                self.module_dicts[id(d)] = mod_name
        # Materialize the other threads' frames (3.11+ keeps them out of the
        # heap until asked), so get_referrers finds their locals. Those are
        # the frame roots; the agent's own thread is not one.
        own = _own_frames()
        self.frames = []
        for f in sys._current_frames().values():
            while f is not None:
                if id(f) not in own:
                    self.frames.append(f)
                f = f.f_back
        self.frame_ids = set(map(id, self.frames))
        self.nodes = {}   # id -> object, for every object named in a chain
        self.extra = {}   # id(sample) -> other referrers for the graph
        self.samples = samples
        # Ids of the containers this walk makes: they refer to the objects
        # walked and must never be taken for referrers.
        self.own = set([id(self.frames), id(self.nodes), id(self.extra), id(samples)])

    def chain(self, target, max_depth):
        """The shortest chain from a root to target, or the longest path tried."""
        objs = {id(target): target}       # every object reached: keeps ids valid
        child = {}                        # id(referrer) -> id(object it refers to)
        level = [target]
        depth = 0
        root = None
        own = self.own
        own.add(id(objs))
        while level and depth < max_depth and root is None:
            own_frames = _own_frames()
            own.add(id(level))
            referrers = gc.get_referrers(*level)
            own.add(id(referrers))
            ids = set(map(id, level))
            nxt = []
            for r in referrers:
                rid = id(r)
                if rid in objs or rid in own or rid in own_frames:
                    continue
                if type(r) is tuple and len(r) == len(level) and all(map(is_, r, level)):
                    continue  # the argument tuple of get_referrers itself
                via = self._referred(r, ids, objs)
                if via is None:
                    continue
                objs[rid] = r
                child[rid] = via
                if depth == 0:
                    others = self.extra.get(id(target))
                    if others is None:
                        others = self.extra[id(target)] = []
                        own.add(id(others))
                    if len(others) < _FAN_IN:
                        others.append(r)
                kind = self._root_kind(r)
                if kind is not None:
                    root = r
                    break
                if len(nxt) < _LEVEL_MAX:
                    nxt.append(r)
            referrers = None
            if root is None:
                root = self._frame_root(ids, objs, child, own_frames)
            level = nxt
            depth += 1
        if root is None:
            # No root within reach: show the deepest path found (held from C,
            # or longer than max_depth).
            end = level[0] if level else None
            if end is None:
                end = target
                for rid in child:
                    end = objs[rid]
            hops = self._hops(end, child, objs, None)
            return {'sample': _addr(target), 'root': None, 'complete': False, 'hops': hops}
        hops = self._hops(root, child, objs, self._root_kind(root))
        return {'sample': _addr(target), 'root': hops[0]['kind'], 'complete': True, 'hops': hops}

    def _frame_root(self, ids, objs, child, own_frames):
        """A frame of another thread whose locals hold an object of the level.

        Running frames are not GC-tracked on 3.x (get_referrers misses them),
        and on 3.11+ a frame object does not visit its locals: read them.
        f_locals on 2.7-3.12 refreshes the frame's locals dict (a snapshot
        that lives as long as the frame); 3.13 returns a live view.
        """
        for f in self.frames:
            if id(f) in objs or id(f) in own_frames:
                continue
            try:
                if sys.version_info >= (3, 11):
                    values = list(f.f_locals.values())
                else:
                    values = gc.get_referents(f)
            except Exception:
                continue
            for v in values:
                if id(v) in ids:
                    objs[id(f)] = f
                    child[id(f)] = id(v)
                    return f
        return None

    def _referred(self, r, ids, objs):
        """id of the object in this level that r refers to, or None."""
        try:
            for x in gc.get_referents(r):
                if id(x) in ids:
                    return id(x)
            if _is_a(r, dict):  # 3.x: str keys are not visited
                for k in r:
                    if id(k) in ids:
                        return id(k)
        except Exception:
            return None
        return None

    def _root_kind(self, r):
        if id(r) in self.module_dicts:
            return 'module'
        if r is gc.garbage:
            return 'garbage'
        if id(r) in self.frame_ids:
            return 'frame'
        if _is_a(r, type) or (_ClassType is not None and type(r) is _ClassType):
            return 'class'
        return None

    def _hops(self, top, child, objs, root_kind):
        path = [top]
        while id(path[-1]) in child:
            path.append(objs[child[id(path[-1])]])
        hops = []
        for i, obj in enumerate(path):
            nxt = path[i + 1] if i + 1 < len(path) else None
            kind = root_kind if i == 0 and root_kind else ('target' if nxt is None else 'object')
            hops.append({
                'kind': kind,
                'type': _type_name(type(obj))[0],
                'addr': _addr(obj),
                'label': None,
                'edge': edge(obj, nxt, self.module_dicts) if nxt is not None else None,
            })
            self.nodes[id(obj)] = obj
        _collapse_dicts(hops, path)
        _label(hops, path, self.module_dicts)
        return hops

    def graph(self, chains):
        nodes = {}
        edges = {}
        for c in chains:
            hops = c['hops']
            for h in hops:
                # The node is the object; the subscript it was labelled with
                # belongs to one chain's edge.
                label = h['label']
                if h['edge'] and label.endswith(h['edge']) and h['edge'].startswith('['):
                    label = label[:-len(h['edge'])]
                nodes[h['addr']] = {'id': h['addr'], 'label': label, 'kind': h['kind'], 'type': h['type']}
            for a, b in zip(hops, hops[1:]):
                edges[(a['addr'], b['addr'])] = {'from': a['addr'], 'to': b['addr'], 'label': a['edge'] or ''}
        for sid, others in self.extra.items():
            sample = self.nodes.get(sid)
            if sample is None:
                continue
            for r in others:
                a = _addr(r)
                if a not in nodes:
                    nodes[a] = {'id': a, 'label': _type_name(type(r))[0], 'kind': 'referrer',
                                'type': _type_name(type(r))[0]}
                key = (a, _addr(sample))
                if key not in edges:
                    edges[key] = {'from': a, 'to': _addr(sample), 'label': edge(r, sample, self.module_dicts) or ''}
        return {'nodes': list(nodes.values()), 'edges': list(edges.values())}


def _own_frames():
    """Ids of the frames of this (the agent's) thread: they hold the walk's
    own variables, so they are never referrers."""
    ids = set()
    f = sys._getframe()
    while f is not None:
        ids.add(id(f))
        f = f.f_back
    return ids


def _collapse_dicts(hops, path):
    """Folds an instance's or class's attribute dict into its owner:
    `app.Cache` -> `dict` -> x reads better as `app.Cache` .entries -> x."""
    i = 1
    while i < len(hops) - 1:
        d, owner = path[i], path[i - 1]
        if type(d) is dict and _owns_dict(owner, d):
            hops[i - 1]['edge'] = edge(owner, path[i + 1])
            del hops[i]
            del path[i]
            continue
        i += 1


def _owns_dict(owner, d):
    if type(owner) is dict or _is_a(owner, (list, tuple, set, frozenset)):
        return False
    try:
        if not any(x is d for x in gc.get_referents(owner)):
            return False
        if _is_a(owner, type):
            # type.__dict__ is a read-only proxy; the dict is its one referent.
            return any(x is d for x in gc.get_referents(_class_dict(owner)))
        return _dict_of(owner) is d
    except Exception:
        return False


def _dict_of(obj):
    """An object's own attribute dict, read past any __getattribute__, or None."""
    try:
        return object.__getattribute__(obj, '__dict__') if not _is_a(obj, type) else None
    except Exception:
        return None


def _label(hops, path, module_dicts):
    """`module app.cache` -> `dict _SESSIONS['9f1c']` -> `app.Session`: a
    subscript edge reads on the container, a name or attribute on the object."""
    for i, h in enumerate(hops):
        obj = path[i]
        if h['kind'] == 'module':
            text = 'module ' + module_dicts.get(id(obj), '?')
        elif h['kind'] == 'class':
            text = 'class ' + _type_name(obj)[0]
        elif h['kind'] == 'frame':
            text = 'frame ' + _frame_text(obj)
        elif h['kind'] == 'garbage':
            text = 'gc.garbage'
        else:
            text = h['type']
            via = hops[i - 1]['edge'] if i > 0 else None
            if via and not via.startswith('['):
                text += ' ' + via
        if h['edge'] and h['edge'].startswith('['):
            text += h['edge']
        h['label'] = text


def _frame_text(f):
    code = f.f_code
    return '%s (%s:%d)' % (getattr(code, 'co_qualname', code.co_name), code.co_filename, f.f_lineno)


def edge(src, dst, module_dicts=None):
    """How src refers to dst, as it would read in Python: NAME (a module
    global), .attr, ['key'], [3], local x, or a field name."""
    try:
        return _edge(src, dst, module_dicts or {})
    except Exception:
        return '?'


def _edge(src, dst, module_dicts):
    if _is_a(src, dict):
        for k, v in src.items():
            if v is dst:
                if id(src) in module_dicts:
                    return _key_text(k, bare=True)
                return '[' + _key_text(k) + ']'
            if k is dst:
                return 'key'
        return '?'
    if _is_a(src, (list, tuple)):
        for i, x in enumerate(src):
            if x is dst:
                return '[%d]' % i
        return '?'
    if _is_a(src, (set, frozenset)):
        return '{member}'
    if type(src) is _FrameType:
        for k, v in src.f_locals.items():
            if v is dst:
                return 'local ' + _key_text(k, bare=True)
        return '(frame stack)'
    if type(src) is _CellType:
        return '.cell_contents'
    if _is_a(src, type):
        for k, v in _class_dict(src).items():
            if v is dst:
                return '.' + _key_text(k, bare=True)
        return '?'
    for field in ('__self__', '__func__', '__closure__', '__defaults__', '__kwdefaults__',
                  '__wrapped__', 'f_back', 'gi_frame', 'cr_frame', '__class__'):
        try:
            if object.__getattribute__(src, field) is dst:
                return '.' + field
        except Exception:
            pass
    for klass in _safe['mro'](type(src)):
        slots = _class_dict(klass).get('__slots__', ())
        if _is_text(slots):
            slots = (slots,)
        for name in slots:
            # The slot's own descriptor: getattr(src, name) would run the class's __getattribute__.
            slot = _class_dict(klass).get(name) if _is_text(name) else None
            if type(slot) is not _MemberDescriptor:
                continue
            try:
                if slot.__get__(src) is dst:
                    return '.' + name
            except Exception:
                pass
    d = _dict_of(src)
    if _is_a(d, dict):
        if d is dst:
            return '.__dict__'
        for k, v in d.items():
            if v is dst:
                return '.' + _key_text(k, bare=True)
    return '?'


def _key_text(k, bare=False):
    """A key as a path shows it; `bare`: a str key as the name it is (a global, an attribute)."""
    if bare and _is_text(k):
        return k
    return _safe['key_text'](k, _REPR_MAX)


def _addr(obj):
    return '0x%x' % id(obj)
