# memwhy agent module: the cyclic collector's state, and what it could not
# free (gc.garbage) grouped by type, with the reference cycle that keeps each
# group alive and the object with __del__ in it marked.
#
# state() never collects: a collection can hide the very leak being
# looked at (objgraph's show_growth collects first). collect() runs one,
# on request only, and says what it freed.
#
# Python 2.7 and 3.6+: no f-strings, no annotations, no nonlocal.
import gc
import sys
import time

try:
    from itertools import imap as map  # Python 2: lazy
except ImportError:
    pass

_census = _load('census')  # noqa: F821 (injected by the agent)
_refs = _load('refs')  # noqa: F821
_safe = _load('safe')  # noqa: F821
_type_name = _safe['type_name']
_mro_lookup = _safe['mro_lookup']
_class_of = _safe['type_of']
_is_a = _safe['is_a']
_size = _safe['size']
_count_elements = _census['_count_elements']

_SAMPLES = 3
_REPR_MAX = 80
# The cycle search stops after this many objects or hops: a cycle of
# garbage is usually a handful of objects, and past a type or a module the
# walk is in the live heap, where no path leads back to garbage.
_CYCLE_BUDGET = 20000
_CYCLE_DEPTH = 16

_DEBUG_FLAGS = ('DEBUG_STATS', 'DEBUG_COLLECTABLE', 'DEBUG_UNCOLLECTABLE', 'DEBUG_INSTANCES',
                'DEBUG_OBJECTS', 'DEBUG_SAVEALL', 'DEBUG_LEAK')


def state():
    """The collector's settings and counters, and gc.garbage grouped by type.

    Returns {enabled, thresholds, counts, debug, stats, freeze_count,
    garbage: {count, bytes, groups: [{type, count, bytes, samples, cycle}]},
    notes}. stats is null before 3.4, freeze_count before 3.7.
    """
    flags = gc.get_debug()
    out = {
        'python': '%d.%d.%d' % tuple(sys.version_info[:3]),
        # In a forked child (fork.py) the collector is off: report the target's.
        'enabled': (globals().get('_agent') or {}).get('gc_enabled_in_target', gc.isenabled()),
        'thresholds': list(gc.get_threshold()),
        'counts': list(gc.get_count()),
        'debug': [name for name in _DEBUG_FLAGS
                  if getattr(gc, name, 0) and flags & getattr(gc, name) == getattr(gc, name) and name != 'DEBUG_LEAK'],
        'stats': None,
        'freeze_count': None,
        'garbage': _garbage(),
        'notes': [],
    }
    if hasattr(gc, 'get_stats'):
        out['stats'] = [{'generation': i, 'collections': s.get('collections'), 'collected': s.get('collected'),
                         'uncollectable': s.get('uncollectable')} for i, s in enumerate(gc.get_stats())]
    if hasattr(gc, 'get_freeze_count'):
        out['freeze_count'] = gc.get_freeze_count()
    if sys.version_info >= (3, 4):
        out['notes'].append('Since Python 3.4 (PEP 442) cycles with __del__ are collected: gc.garbage fills only '
                            'under gc.DEBUG_SAVEALL or with objects of C types that have a legacy tp_del.')
    else:
        out['notes'].append('Before Python 3.4 a reference cycle holding an object with __del__ is never freed: '
                            'the collector puts that object in gc.garbage and keeps the whole cycle.')
    out['notes'].append('Objects of C extension types with tp_del look like any other object from Python: '
                        'their groups show no __del__ mark.')
    return out


def _garbage():
    garbage = list(gc.garbage)
    groups = {}
    order = []
    for obj in garbage:
        name = _type_name(_class_of(obj))[0]
        g = groups.get(name)
        if g is None:
            g = groups[name] = {'type': name, 'count': 0, 'bytes': 0, 'samples': [], 'objects': []}
            order.append(name)
        g['count'] += 1
        g['bytes'] += _size(obj)
        g['objects'].append(obj)
    out = []
    for name in order:
        g = groups[name]
        objs = g.pop('objects')
        g['samples'] = [_safe_repr(o) for o in objs[:_SAMPLES]]
        # The cycle through the object with __del__ when the group has one:
        # that object is what the collector could not finalize.
        pick = None
        for o in objs:
            if _has_del(o):
                pick = o
                break
        g['has_del'] = pick is not None
        g['cycle'] = _cycle(pick if pick is not None else objs[0])
        out.append(g)
        objs = pick = None
    out.sort(key=lambda g: (-g['bytes'], g['type']))
    total = sum(g['count'] for g in out)
    nbytes = sum(g['bytes'] for g in out)
    kept = _kept_alive(garbage)
    garbage = None
    return {'count': total, 'bytes': nbytes, 'kept_bytes': kept, 'groups': out}


_KEPT_LIMIT = 1000000


def _kept_alive(roots):
    """Shallow bytes of everything reachable from gc.garbage (itself included).

    What the garbage keeps alive, not its own shallow size: a __del__ object
    holding a 1 MiB string is 1 MiB of uncollectable memory. Modules, types
    and functions are not followed (they lead into the whole program, and
    are not what a garbage cycle owns). Capped at a million objects.
    """
    stop = (type(sys), type, type(_kept_alive))
    seen = set(map(id, roots))
    frontier = list(roots)
    total = 0
    while frontier and len(seen) < _KEPT_LIMIT:
        total += sum(map(_size, frontier))
        nxt = []
        for ref in gc.get_referents(*frontier):
            if id(ref) in seen or _is_a(ref, stop):
                continue
            seen.add(id(ref))
            nxt.append(ref)
        frontier = nxt
    frontier = seen = None
    return total


def collect(generation=2):
    """Runs one collection of `generation` (0-2) and reports what it freed.

    Counts before and after are of GC-tracked objects only (a census-lite:
    gc.get_objects and their shallow sizes); strings and numbers freed with
    them are not counted. Returns {generation, unreachable, duration_ms,
    before, after, freed: {objects, bytes, types}, garbage}.
    """
    generation = int(generation)
    if generation not in (0, 1, 2):
        raise ValueError('generation must be 0, 1 or 2, not %r' % (generation,))
    before = _lite()
    start = time.time()
    unreachable = gc.collect(generation)
    duration = time.time() - start
    after = _lite()
    freed = []
    for t, n in before.pop('by_type').items():
        left = after['by_type'].get(t, 0)
        if n > left:
            freed.append({'type': _type_name(t)[0], 'count': n - left})
    after.pop('by_type')
    freed.sort(key=lambda e: (-e['count'], e['type']))
    return {
        'generation': generation,
        'unreachable': unreachable,
        'duration_ms': round(duration * 1000.0, 3),
        'before': before,
        'after': after,
        'freed': {'objects': before['tracked'] - after['tracked'], 'bytes': before['bytes'] - after['bytes'],
                  'types': freed[:10]},
        'garbage': len(gc.garbage),
    }


def _lite():
    counts = list(gc.get_count())
    objs = gc.get_objects()
    tracked = len(objs)
    nbytes = sum(_census['_sizes'](objs))
    by_type = {}
    _count_elements(by_type, map(type, objs))
    # On 2.7 this frame is in objs: drop the list so no cycle outlives us.
    objs = None
    return {'counts': counts, 'tracked': tracked, 'bytes': nbytes, 'by_type': by_type}


def _cycle(start):
    """The shortest reference cycle through `start`, as hops from it back to it.

    Breadth-first over gc.get_referents; types, modules and gc.garbage are
    not entered (no path through them leads back to garbage).
    """
    parent = {id(start): None}
    keep = {id(start): start}
    level = [start]
    depth = 0
    end = None
    while level and depth < _CYCLE_DEPTH and end is None and len(keep) < _CYCLE_BUDGET:
        nxt = []
        for obj in level:
            try:
                referents = gc.get_referents(obj)
            except Exception:
                continue
            for r in referents:
                if r is start:
                    end = obj
                    break
                if id(r) in keep or _opaque(r):
                    continue
                keep[id(r)] = r
                parent[id(r)] = id(obj)
                nxt.append(r)
            if end is not None:
                break
        level = nxt
        depth += 1
    if end is None:
        return None
    path = [end]
    while parent[id(path[-1])] is not None:
        path.append(keep[parent[id(path[-1])]])
    path.reverse()
    path.append(start)
    hops = []
    for i, obj in enumerate(path):
        nxt = path[i + 1] if i + 1 < len(path) else None
        hops.append({'kind': 'object', 'type': _type_name(_class_of(obj))[0], 'addr': '0x%x' % id(obj),
                     'label': None, 'edge': _refs['edge'](obj, nxt) if nxt is not None else None,
                     'has_del': _has_del(obj)})
    _refs['_collapse_dicts'](hops, path)
    for i, h in enumerate(hops):
        via = hops[i - 1]['edge'] if i > 0 else None
        h['label'] = h['type'] + (' ' + via if via and not via.startswith('[') else '') + \
            (h['edge'] if h['edge'] and h['edge'].startswith('[') else '')
    keep = parent = level = path = None
    return hops


def _opaque(obj):
    return _is_a(obj, type) or type(obj) is type(sys) or obj is gc.garbage


def _has_del(obj):
    try:
        cls = _class_of(obj)
        if _is_a(cls, type):
            return _mro_lookup(cls, '__del__') is not None
        return hasattr(cls, '__del__')  # a 2.7 old-style class
    except Exception:
        return False



def _safe_repr(obj):
    return _safe['safe_repr'](obj, _REPR_MAX)
