# memwhy agent's start: the first code its thread runs. The bootstrap
# (boot.py) starts the thread with this file's code and leaves everything
# else to the thread. Any compile() grows the malloc arena of the thread that
# runs it, and glibc keeps an arena's peak (it trims a thread arena's top
# only beyond top_pad + trim threshold, and a program that once freed a big
# block has raised that threshold to megabytes): compile('x = 1') alone
# leaves 240-280 kB in a new thread's arena (2.7-3.13). So, when memwhy found
# a Python of the target's version on its side, this file and the agent's
# modules arrive compiled, as marshal data (src/attach/agentCompiler.ts), and
# nothing is compiled in the target; otherwise they arrive as source and are
# compiled here, one piece after the other in the agent's one new arena, so
# that the compiles share one peak. Python 2.7 and 3.6+. _memwhy_args (the
# socket, the token, who may be at the other end, the file of code) is set
# by the bootstrap.


def _memwhy_code(path):
    """The agent's code objects by module, from one of memwhy's files
    (src/attach/agentCode.ts): "M" then marshal.dumps((name, code)) per
    module, or source pieces "name:line\\n" + text + NUL, each compiled on
    its own so that one compile's peak is one piece's."""
    code = {}
    f = open(path, 'rb')
    try:
        if f.read(1) == b'M':
            import marshal
            while True:
                try:
                    name, module = marshal.load(f)
                except EOFError:
                    return code
                code[name] = [module]
        f.seek(0)
        data = f.read()
    finally:
        f.close()
    at = 0
    while at < len(data):
        nl = data.index(b'\n', at)
        end = data.index(b'\0', nl)
        name, line = data[at:nl].decode('ascii').split(':')
        code.setdefault(name, []).append(compile(
            b'\n' * (int(line) - 1) + data[nl + 1:end], 'memwhy/%s.py' % name, 'exec'))
        at = end + 1
    return code


def _memwhy_boot(path, token, server_pids, server_uid, code_path):
    # Only modules every interpreter has loaded at start-up (os, sys) and the
    # C socket module: json and socket.py would stay in the target for good,
    # with 1.4-1.9 MiB of RSS (src/agent/agent.py).
    sock = None
    # _read_code: the agent reads the modules memwhy sends later the same way.
    agent = {'__name__': '__memwhy_agent__', '_read_code': _memwhy_code}
    modules = None
    try:
        import os
        import sys
        import _socket
        # Compiled before connecting: memwhy waits for the hello, not the
        # other way round.
        code = _memwhy_code(code_path)
        for piece in code.pop('agent'):
            exec(piece, agent)
        modules = agent['_Modules'](code)
        code = piece = None
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(path)
        # Requests will come from the listener: make sure, by the kernel's
        # word (SO_PEERCRED, 17 on Linux), that memwhy made it (its pid, or
        # 0 when memwhy is outside our pid namespace; its uid).
        # Little-endian struct ucred {pid, uid, gid}, read without importing struct.
        cred = bytearray(sock.getsockopt(_socket.SOL_SOCKET, 17, 12))
        peer_pid = cred[0] | cred[1] << 8 | cred[2] << 16 | cred[3] << 24
        peer_uid = cred[4] | cred[5] << 8 | cred[6] << 16 | cred[7] << 24
        if peer_pid not in server_pids or peer_uid != server_uid:
            raise EOFError()
        # This thread's id in our pid namespace: memwhy returns only once it
        # has ended (src/attach/agentSession.ts).
        try:
            tid = int(os.readlink('/proc/thread-self').rsplit('/', 1)[1])
        except BaseException:
            tid = 0
        # The token is hex: no JSON escaping needed.
        hello = '{"hello": "%s", "pid": %d, "tid": %d, "python": "%d.%d.%d"}' % (
            (token, os.getpid(), tid) + tuple(sys.version_info[:3]))
        sock.sendall(hello.encode('ascii') + b'\n')
        try:
            agent['serve'](sock, b'', modules)
        finally:
            # The agent's functions and their globals refer to each other:
            # left to the collector, that cycle (and the compiled code) would
            # stay until the program's next collection.
            modules.clear()
            modules = None
    except BaseException:
        pass
    agent.clear()
    agent = None
    # (No return above this point: every path ends below.)
    if sock is not None and not _memwhy_quiet_close(sock):
        try:
            sock.close()
        except BaseException:
            pass
    # The last statement: the socket object's deallocation closes the fd with
    # the GIL held, and nothing after it can let the GIL go (STORE_FAST and
    # LOAD_CONST skip the eval breaker on 3.6-3.9, and 3.10+ check it only at
    # calls and backward jumps). sock.close() lets the GIL go around close(2)
    # and needs it back to return: in an embedded interpreter that keeps the
    # GIL while idle (uWSGI without --enable-threads, in epoll_wait) the
    # thread waited there for good, after memwhy had seen the socket close.
    sock = None


def _memwhy_quiet_close(sock):
    """True when dropping the open socket stays silent: 3.x emits
    ResourceWarning ("unclosed ...") from its finalizer, which the program's
    warning filters ignore unless it asked for them (-X dev, -W default).
    2.7 never warns."""
    import sys
    if sys.version_info[0] == 2:
        return True
    try:
        w = sys.modules.get('warnings') or sys.modules['_warnings']
        filters = w.filters
        default = getattr(w, 'defaultaction', getattr(w, '_defaultaction', 'default'))
        text = 'unclosed %r' % (sock,)
        for action, msg, cat, mod, _ in filters:
            if (issubclass(ResourceWarning, cat) and (msg is None or msg.match(text))
                    and (mod is None or mod.match('__memwhy_boot__'))):
                return action == 'ignore'
        return default == 'ignore'
    except BaseException:
        return False



# The call is the module's last statement: after _memwhy_boot's last line
# only POP_TOP, LOAD_CONST and RETURN_VALUE run, none of which lets the GIL
# go on 3.6-3.9 (FAST_DISPATCH; 3.10+ check only at calls and backward
# jumps).
_memwhy_boot(*_memwhy_args)  # noqa: F821 (set by the bootstrap)
