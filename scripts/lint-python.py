#!/usr/bin/python3
# pyflakes (Debian's python3-pyflakes) over memwhy's Python: the agent, the
# fixtures, the services, the bench targets and the workloads. pyflakes has
# no configuration, so the patterns that are deliberate here are told apart
# below, each with why. It parses the files with this python3: the agent and
# the fixtures are written to parse on 2.7 and 3.x alike, so they parse here.
# Usage: scripts/lint-python.py [FILE...] (default: every .py file below).
import os
import re
import sys

try:
    from pyflakes import api, messages, reporter
except ImportError:
    sys.stderr.write('pyflakes is not installed: apt-get install python3-pyflakes\n')
    sys.exit(2)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
TREES = ('src', 'test', 'bench', 'workloads', 'scripts')
SKIP_DIRS = {'node_modules', 'dist', '__pycache__'}

# Names that exist at run time but not in the file: the agent's loader puts
# _load (another agent module's namespace) and _agent (agent.py's own) in
# each module it runs (src/agent/agent.py), start.py gives agent.py
# _read_code, and memwhy fills in boot.py's
# __MEMWHY_*__ placeholders before gdb runs it.
INJECTED = re.compile(r'^(_load|_agent|_read_code|__MEMWHY_[A-Z_]+__)$')

# flake8's marker, already used in the tree for the Python 2 names (unicode,
# long) and the imports made for their side effects: pyflakes ignores it.
NOQA = re.compile(r'#\s*noqa\b', re.IGNORECASE)


def deliberate(msg, lines):
    path = os.path.relpath(msg.filename, ROOT)
    if NOQA.search(lines[msg.lineno - 1] if msg.lineno <= len(lines) else ''):
        return True
    # A name imported on a noqa line (boot.py imports modules early on 2.7,
    # while its thread holds the GIL) and then imported again where it is used.
    if isinstance(msg, messages.RedefinedWhileUnused) and NOQA.search(lines[msg.message_args[1] - 1]):
        return True
    if isinstance(msg, messages.UndefinedName) and INJECTED.match(msg.message_args[0]):
        return True
    # The fixtures, services and bench targets allocate in their loops, or
    # keep locals for memwhy stacks --locals to read, on purpose: a local
    # nothing reads is their work, not a mistake. In the agent it is one.
    if isinstance(msg, messages.UnusedVariable) and not path.startswith('src' + os.sep):
        return True
    return False


class Reporter(reporter.Reporter):
    def __init__(self):
        reporter.Reporter.__init__(self, sys.stdout, sys.stderr)
        self.found = 0
        self._lines = {}

    def flake(self, msg):
        if msg.filename not in self._lines:
            with open(msg.filename, encoding='utf-8', errors='replace') as f:
                self._lines[msg.filename] = f.read().splitlines()
        if deliberate(msg, self._lines[msg.filename]):
            return
        self.found += 1
        reporter.Reporter.flake(self, msg)

    def syntaxError(self, *args):
        self.found += 1
        reporter.Reporter.syntaxError(self, *args)

    def unexpectedError(self, *args):
        self.found += 1
        reporter.Reporter.unexpectedError(self, *args)


def python_files():
    for tree in TREES:
        for top, dirs, files in os.walk(os.path.join(ROOT, tree)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(files):
                if name.endswith('.py'):
                    yield os.path.relpath(os.path.join(top, name))


def main(argv):
    rep = Reporter()
    for path in argv or list(python_files()):
        api.checkPath(path, rep)
    return 1 if rep.found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
