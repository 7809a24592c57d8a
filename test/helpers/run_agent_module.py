# Runs one agent function in this interpreter the way the agent will: the
# module file exec'd into a fresh dict (not sys.modules) with _load(name)
# injected, then module.function(**params). Prints the result as one JSON line.
#
# Usage: run_agent_module.py AGENT_DIR MODULE.FUNCTION JSON_PARAMS [--setup FIXTURE.py]
# --setup imports a fixture program as a module first, so its globals
# are real module globals, and adds its describe() to the output as "fixture".
# Works on Python 2.7 and 3.x.
import json
import os
import sys


def make_loader(agent_dir):
    loaded = {}

    def _load(name):
        if name not in loaded:
            path = os.path.join(agent_dir, name + '.py')
            namespace = {'__name__': 'memwhy_agent_' + name, '__file__': path, '_load': _load}
            with open(path) as f:
                code = compile(f.read(), path, 'exec')
            exec(code, namespace)
            loaded[name] = namespace
        return loaded[name]

    return _load


def main():
    args = sys.argv[1:]
    setup = None
    if '--setup' in args:
        at = args.index('--setup')
        setup = args[at + 1]
        del args[at:at + 2]
    agent_dir, method, params = args[0], args[1], json.loads(args[2])
    fixture = None
    if setup:
        sys.path.insert(0, os.path.dirname(os.path.abspath(setup)))
        fixture = __import__(os.path.splitext(os.path.basename(setup))[0])
    module, function = method.split('.')
    namespace = make_loader(agent_dir)(module)
    result = namespace[function](**dict((str(k), v) for k, v in params.items()))
    out = {'result': result}
    if fixture is not None and hasattr(fixture, 'describe'):
        out['fixture'] = fixture.describe()
    sys.stdout.write(json.dumps(out) + '\n')


main()
