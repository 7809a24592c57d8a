# memwhy bootstrap. gdb runs this inside the target through PyRun_SimpleString,
# at a safe point, in a throwaway namespace. It must return at once: it only
# starts a thread, and that thread (which takes the GIL like any other) does
# the rest after gdb has detached. memwhy fills in the socket path, the
# session token and who may be at the other end of the socket (the
# placeholders on the last line). Python 2.7 and 3.6+.
def _memwhy_boot(path, token, server_pids, server_uid):
    # Only modules every interpreter has loaded at start-up (os, sys) and the
    # C socket module: json and socket.py would stay in the target for good,
    # with 1.4-1.9 MiB of RSS (src/agent/agent.py).
    sock = None
    try:
        import os
        import sys
        import _socket
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(path)
        # The code about to run comes from the listener: make sure, by the
        # kernel's word (SO_PEERCRED, 17 on Linux), that memwhy made it (its
        # pid, or 0 when memwhy is outside our pid namespace; its uid).
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
        buf = b''
        while b'\n' not in buf:
            chunk = sock.recv(32768)
            if not chunk:
                raise EOFError()
            buf += chunk
        line, buf = buf.split(b'\n', 1)
        # JSON.stringify's output is a Python literal but for these names;
        # 0x20000 makes "..." unicode on 2.7 (CO_FUTURE_UNICODE_LITERALS).
        names = {'__builtins__': {}, 'true': True, 'false': False, 'null': None}
        welcome = eval(compile(line, '<memwhy>', 'eval', 0x20000 if sys.version_info[0] == 2 else 0, True), names)
        line = names = None
        ns = {'__name__': '__memwhy_agent__'}
        # Piece by piece: see run_pieces in agent.py.
        for first, text in welcome['agent']:
            exec(compile('\n' * (first - 1) + text, 'memwhy-agent', 'exec'), ns)
        serve = ns['serve']
        welcome = None
        try:
            serve(sock, buf, {})
        finally:
            # The agent's functions and their globals refer to each other:
            # left to the collector, that cycle (and the compiled code) would
            # stay until the program's next collection, pinning the memory
            # the compile used above it in this thread's malloc arena.
            ns.clear()
            ns = serve = None
    except BaseException:
        pass
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


# A failure here must not print a traceback into the program's stderr.
try:
    try:
        import _thread as _memwhy_thread
    except ImportError:
        import thread as _memwhy_thread
        # Python 2.7's GIL is not fair: a thread that lets it go every 100
        # bytecodes (the check interval) rarely gets it back while other
        # threads are busy, so the new thread, importing the modules below
        # itself, could wait minutes. Import them here, where this thread
        # holds the GIL at gdb's safe point, with the interval raised for
        # these few milliseconds.
        import sys as _memwhy_sys
        _memwhy_interval = _memwhy_sys.getcheckinterval()
        _memwhy_sys.setcheckinterval(1 << 30)
        try:
            import _socket, codeop, os, traceback  # noqa: F401
        finally:
            _memwhy_sys.setcheckinterval(_memwhy_interval)
    # gevent's monkey.patch_all() makes start_new_thread start a greenlet in
    # the calling thread: the agent, blocking in real socket calls, would
    # then stop the whole program (seen: a gevent server served nothing while
    # memwhy was attached). gevent keeps the original in monkey.saved.
    _memwhy_start = _memwhy_thread.start_new_thread
    _memwhy_monkey = __import__('sys').modules.get('gevent.monkey')
    if _memwhy_monkey is not None:
        _memwhy_start = getattr(_memwhy_monkey, 'saved', {}).get(_memwhy_thread.__name__, {}).get('start_new_thread', _memwhy_start)
    _memwhy_start(_memwhy_boot, (__MEMWHY_SOCKET__, __MEMWHY_TOKEN__, __MEMWHY_SERVER_PIDS__, __MEMWHY_SERVER_UID__))
except BaseException:
    pass
