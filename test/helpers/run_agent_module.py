# Runs agent functions in this interpreter the way the agent will: each
# src/agent module exec'd into a fresh dict (not sys.modules) with _load(name)
# injected, then module.function(**params). Prints one JSON line per call:
# {"method", "result"}.
#
# Usage: run_agent_module.py AGENT_DIR [--setup FIXTURE.py] METHOD JSON_PARAMS [METHOD JSON_PARAMS]...
# --setup imports a fixture program as a module first (so its globals are a
# real module's globals); a METHOD "fixture.FUNC" calls FUNC of that module,
# so a test can shape the heap between two agent calls.
# Works on Python 2.7 and 3.x.
import json
import os
import sys


def make_loader(agent_dir):
    loaded = {}

    def _load(name):
        if name not in loaded:
            path = os.path.join(agent_dir, name + '.py')
            namespace = {'__name__': '__memwhy_%s__' % name, '_load': _load}
            with open(path) as f:
                code = compile(f.read(), path, 'exec')
            exec(code, namespace)
            loaded[name] = namespace
        return loaded[name]

    return _load


def main():
    args = sys.argv[1:]
    agent_dir = args.pop(0)
    fixture = None
    if args and args[0] == '--setup':
        setup = args[1]
        del args[:2]
        sys.path.insert(0, os.path.dirname(os.path.abspath(setup)))
        fixture = __import__(os.path.splitext(os.path.basename(setup))[0])
    load = make_loader(agent_dir)
    while args:
        method, params = args[0], json.loads(args[1])
        del args[:2]
        module, function = method.split('.')
        if module == 'fixture':
            fn = getattr(fixture, function)
        else:
            fn = load(module)[function]
        result = fn(**dict((str(k), v) for k, v in params.items()))
        sys.stdout.write(json.dumps({'method': method, 'result': result}) + '\n')
        sys.stdout.flush()


main()
