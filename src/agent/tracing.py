# memwhy agent module: tracemalloc over a window, to attribute growth to the
# lines that allocated it. tracemalloc only sees allocations made after it
# starts, so diagnose starts it at the beginning of its window and reads it
# at the end. If the program was already tracing, memwhy neither starts nor
# stops it (it reads what is there). Tracing slows allocation-heavy code
# (about 3x with deep tracebacks; nframe=1 keeps it far lower).
#
# Through the C module _tracemalloc, not tracemalloc.py: that one imports
# pickle, fnmatch, linecache and more, which would stay in the target, and
# its filters compile patterns into re's and fnmatch's caches (seen as
# memwhy's own "growing" re.Pattern and functools._lru_list_elem objects in
# the program's census). take() runs in a forked child when it can
# (src/agent/fork.py): the snapshot of every trace is as big as the traces.
#
# Python 3.4+ only: on 2.7 every function says tracemalloc is unavailable.
import gc

try:
    import _tracemalloc
except ImportError:
    _tracemalloc = None

_state = {'started_by_us': False}

# Allocation sites that are memwhy's own: its modules, its bootstrap, and
# the import machinery it may run.
_OURS = ('memwhy/', 'memwhy-agent', 'memwhy-boot', '<memwhy', '<frozen importlib._bootstrap')


def prepare():
    """Nothing to load any more: kept so an older memwhy's call still answers."""
    return {'available': _tracemalloc is not None}


def start(nframe=1):
    if _tracemalloc is None:
        return {'available': False, 'started': False, 'already': False}
    if _tracemalloc.is_tracing():
        return {'available': True, 'started': False, 'already': True,
                'nframe': _tracemalloc.get_traceback_limit()}
    _tracemalloc.start(int(nframe))
    _state['started_by_us'] = True
    return {'available': True, 'started': True, 'already': False, 'nframe': int(nframe)}


def _ours(filename):
    # By the names the agent compiles its code under (agent.py: 'memwhy/NAME.py',
    # boot: 'memwhy-agent'), never by 'memwhy' anywhere in a path: a program
    # checked out in a folder named memwhy is still the program.
    return filename.startswith(_OURS)


def take(limit=25, types=None, per_type=200):
    """Live allocations made while tracing, by line; and, for each type named,
    the lines that allocated its instances (sampled)."""
    if _tracemalloc is None or not _tracemalloc.is_tracing():
        return {'tracing': False}
    by_site = {}
    total = 0
    for trace in _tracemalloc._get_traces():
        size = trace[1]
        frames = trace[2]
        if not frames:
            continue
        # Most recent frame first (Modules/_tracemalloc.c, traceback_to_pyobject).
        filename, lineno = frames[0]
        if _ours(filename):
            continue
        total += size
        key = (filename, lineno)
        entry = by_site.get(key)
        if entry is None:
            by_site[key] = [size, 1, frames]
        else:
            entry[0] += size
            entry[1] += 1
    ranked = sorted(by_site.items(), key=lambda kv: -kv[1][0])[:int(limit)]
    by_site = None
    top = []
    for (filename, lineno), (size, count, frames) in ranked:
        # Outermost first, as people read a traceback.
        tb = ['%s:%d' % f for f in reversed(frames)]
        top.append({'site': '%s:%d' % (filename, lineno), 'size': size, 'count': count,
                    'size_diff': size, 'count_diff': count, 'traceback': tb})
    result = {'tracing': True, 'traced_total': total, 'top': top,
              'traced_memory': list(_tracemalloc.get_traced_memory()),
              # tracemalloc's own bookkeeping: RSS it adds that the program did not.
              'overhead': _tracemalloc.get_tracemalloc_memory(),
              'nframe': _tracemalloc.get_traceback_limit()}
    if types:
        result['type_sites'] = _type_sites(set(types), int(per_type))
    return result


def _type_sites(wanted, per_type):
    """For instances of the wanted types (tracked ones), where they were allocated."""
    type_name = _load('safe')['type_name']  # noqa: F821 (injected by the agent)
    names = {}
    sites = {}
    seen = {}
    get_traceback = _tracemalloc._get_object_traceback
    for obj in gc.get_objects():
        t = type(obj)
        name = names.get(t)
        if name is None:
            name = names[t] = type_name(t)[0]
        if name not in wanted or seen.get(name, 0) >= per_type:
            continue
        tb = get_traceback(obj)
        if not tb:
            continue
        if _ours(tb[0][0]):
            # Made by memwhy itself (this very walk, in the child, is traced).
            continue
        seen[name] = seen.get(name, 0) + 1
        by_site = sites.setdefault(name, {})
        key = '%s:%d' % tb[0]
        by_site[key] = by_site.get(key, 0) + 1
    obj = None
    out = {}
    for name, by_site in sites.items():
        ranked = sorted(by_site.items(), key=lambda kv: -kv[1])
        out[name] = [{'site': k, 'samples': v} for k, v in ranked[:3]]
    return out


def stop():
    """Stops tracing only if memwhy started it."""
    if _tracemalloc is not None and _state['started_by_us']:
        _tracemalloc.stop()
        _state['started_by_us'] = False
        return {'stopped': True}
    return {'stopped': False}


def _on_close():
    # The session ended (memwhy finished, or died): never leave tracing on.
    stop()
