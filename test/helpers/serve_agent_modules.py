# Serves memwhy agent modules the way the agent does (each src/agent/NAME.py
# exec'd into a fresh dict with _load injected, never into sys.modules), in
# a real Python, without attaching: for the agent modules' tests, which need
# several calls into one process whose heap they shape between calls.
#
#   serve_agent_modules.py [--import MOD]... METHOD [PARAMS_JSON]
#       call once, print {"result": ...} or {"error": ...} as one JSON line
#   serve_agent_modules.py [--import MOD]...
#       print "ready", then answer JSON lines on stdin: {"method", "params"}.
#       A method "fixture.MOD.FUNC" calls FUNC of an --import'ed module.
#
# --import MOD imports a fixture module (from ../fixtures or the working
# directory) first, so its
# classes carry their module's name (fixtures_planted.Planted).
# (run_agent_module.py beside it is the one-shot runner the heap dump uses.)
# Runs on 2.7 and 3.x.
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_DIR = os.path.join(HERE, '..', '..', 'src', 'agent')
sys.path[:0] = [os.path.join(HERE, '..', 'fixtures'), os.getcwd()]

_loaded = {}
_fixtures = {}


def _load(name):
    mod = _loaded.get(name)
    if mod is None:
        with open(os.path.join(AGENT_DIR, name + '.py')) as f:
            source = f.read()
        mod = {'__name__': '__memwhy_%s__' % name, '_load': _load}
        exec(compile(source, 'memwhy/%s.py' % name, 'exec'), mod)
        _loaded[name] = mod
    return mod


def _call(method, params):
    if method.startswith('fixture.'):
        mod_name, _, fn_name = method[len('fixture.'):].rpartition('.')
        return getattr(_fixtures[mod_name], fn_name)(**(params or {}))
    mod_name, _, fn_name = method.rpartition('.')
    fn = _load(mod_name)[fn_name]
    kwargs = dict((str(k), v) for k, v in (params or {}).items())
    return fn(**kwargs)


def _answer(method, params):
    try:
        reply = {'result': _call(method, params)}
    except BaseException:
        reply = {'error': {'type': sys.exc_info()[0].__name__, 'traceback': traceback.format_exc()}}
    text = json.dumps(reply)
    reply = None
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def main(argv):
    while argv and argv[0] == '--import':
        name = argv[1]
        _fixtures[name] = __import__(name)
        argv = argv[2:]
    if argv:
        _answer(argv[0], json.loads(argv[1]) if len(argv) > 1 else {})
        return
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        request = json.loads(line)
        _answer(request['method'], request.get('params'))
        request = line = None


if __name__ == '__main__':
    main(sys.argv[1:])
