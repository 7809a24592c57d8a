# memwhy's agent compiler. Unlike the other files here, this one runs on
# memwhy's side, in a Python of the target's version found on this machine
# (src/attach/agentCompiler.ts), never in the target: it compiles the
# agent's modules and hands back their code objects as marshal data, which
# the agent's thread loads in the target instead of compiling there. Any
# compile() inside the target grows a malloc arena that glibc keeps at its
# peak (src/agent/start.py): 400-900 kB for the agent's first modules,
# against about 110 kB to load the same code objects from marshal data.
#
# argv: the target's major and minor version, and its exact version when it
# is a pre-release ("3.13.0rc1"; "" otherwise). A Python of another version
# exits with status 3: marshal data and bytecode are only shared within one
# minor version of final releases (the rule that lets every 3.11.x read the
# same .pyc files).
# stdin: for each module "name\nlength\n" then its source. stdout: for each
# "name\nlength\n" then marshal.dumps((name, code)). Python 2.7 and 3.6+.
import marshal
import sys


def _version_ok(major, minor, exact):
    v = sys.version_info
    if (v[0], v[1]) != (major, minor):
        return False
    if exact:
        return '%d.%d.%d%s%d' % (v[0], v[1], v[2], {'alpha': 'a', 'beta': 'b', 'candidate': 'rc'}.get(v[3], ''), v[4]) == exact
    return v[3] == 'final'


def main():
    major, minor, exact = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if not _version_ok(major, minor, exact):
        sys.stderr.write('this is Python %d.%d.%d %s, not the target\'s\n' % tuple(sys.version_info[:4]))
        sys.exit(3)
    stdin = getattr(sys.stdin, 'buffer', sys.stdin)
    stdout = getattr(sys.stdout, 'buffer', sys.stdout)
    data = stdin.read()
    at = 0
    while at < len(data):
        nl = data.index(b'\n', at)
        nl2 = data.index(b'\n', nl + 1)
        name = data[at:nl].decode('ascii')
        end = nl2 + 1 + int(data[nl + 1:nl2])
        code = compile(data[nl2 + 1:end], 'memwhy/%s.py' % name, 'exec')
        blob = marshal.dumps((str(name), code))
        stdout.write(('%s\n%d\n' % (name, len(blob))).encode('ascii') + blob)
        at = end
    stdout.flush()


main()
