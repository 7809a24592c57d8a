# memwhy agent module: tracemalloc over a window, to attribute growth to the
# lines that allocated it. tracemalloc only sees allocations made after it
# starts, so diagnose starts it at the beginning of its window and reads it
# at the end. If the program was already tracing, memwhy neither starts nor
# stops it (it reads what is there). Tracing slows allocation-heavy code
# (about 3x with deep tracebacks; nframe=1 keeps it far lower).
#
# Python 3.4+ only: on 2.7 every function says tracemalloc is unavailable.
import gc
import sys

try:
    import tracemalloc
except ImportError:
    tracemalloc = None

_state = {'started_by_us': False}


def prepare():
    """Loads this module (and tracemalloc) without tracing: call before a census."""
    return {'available': tracemalloc is not None}


def start(nframe=1):
    if tracemalloc is None:
        return {'available': False, 'started': False, 'already': False}
    if tracemalloc.is_tracing():
        return {'available': True, 'started': False, 'already': True,
                'nframe': tracemalloc.get_traceback_limit()}
    tracemalloc.start(int(nframe))
    _state['started_by_us'] = True
    return {'available': True, 'started': True, 'already': False, 'nframe': int(nframe)}


def _site(frame):
    return '%s:%d' % (frame.filename, frame.lineno)


def take(limit=25, types=None, per_type=200):
    """Live allocations made while tracing, by line; and, for each type named,
    the lines that allocated its instances (sampled)."""
    if tracemalloc is None or not tracemalloc.is_tracing():
        return {'tracing': False}
    snapshot = tracemalloc.take_snapshot()
    # The agent's own allocations are not the program's.
    snapshot = snapshot.filter_traces((
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, '<frozen importlib._bootstrap>'),
        tracemalloc.Filter(False, 'memwhy/*'),
        tracemalloc.Filter(False, 'memwhy-agent'),
        tracemalloc.Filter(False, 'memwhy-boot'),
        tracemalloc.Filter(False, '<memwhy*'),
    ))
    stats = snapshot.statistics('lineno')
    total = 0
    for s in stats:
        total += s.size
    top = []
    for s in stats[:int(limit)]:
        frames = [_site(f) for f in s.traceback]
        top.append({'site': frames[-1] if frames else '?', 'size': s.size, 'count': s.count,
                    'size_diff': s.size, 'count_diff': s.count, 'traceback': frames})
    snapshot = stats = None
    result = {'tracing': True, 'traced_total': total, 'top': top,
              'traced_memory': list(tracemalloc.get_traced_memory()),
              # tracemalloc's own bookkeeping: RSS it adds that the program did not.
              'overhead': tracemalloc.get_tracemalloc_memory(),
              'nframe': tracemalloc.get_traceback_limit()}
    if types:
        result['type_sites'] = _type_sites(set(types), int(per_type))
    return result


def _type_sites(wanted, per_type):
    """For instances of the wanted types (tracked ones), where they were allocated."""
    census = _load('census')  # noqa: F821 (injected by the agent)
    type_name = census['_type_name']
    names = {}
    sites = {}
    seen = {}
    for obj in gc.get_objects():
        t = type(obj)
        name = names.get(t)
        if name is None:
            name = names[t] = type_name(t)[0]
        if name not in wanted or seen.get(name, 0) >= per_type:
            continue
        tb = tracemalloc.get_object_traceback(obj)
        if tb is None:
            continue
        seen[name] = seen.get(name, 0) + 1
        by_site = sites.setdefault(name, {})
        key = _site(tb[0])
        by_site[key] = by_site.get(key, 0) + 1
    obj = None
    out = {}
    for name, by_site in sites.items():
        ranked = sorted(by_site.items(), key=lambda kv: -kv[1])
        out[name] = [{'site': k, 'samples': v} for k, v in ranked[:3]]
    return out


def stop():
    """Stops tracing only if memwhy started it."""
    if tracemalloc is not None and _state['started_by_us']:
        tracemalloc.stop()
        _state['started_by_us'] = False
        return {'stopped': True}
    return {'stopped': False}


def _on_close():
    # The session ended (memwhy finished, or died): never leave tracing on.
    stop()
