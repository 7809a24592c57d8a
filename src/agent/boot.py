# memwhy bootstrap. A transport runs this inside the target on a thread
# that holds the GIL at a safe point (gdb's PyRun_SimpleString, or a call the
# interpreter takes from its pending-call queue), in a throwaway namespace.
# It must return at once: it only starts a thread, and that thread (which
# takes the GIL like any other) does the rest (start.py) after the transport
# has let go. It is kept short because it is the one thing compiled on the
# thread that runs it (start.py says why). memwhy fills in the socket path,
# the session token, who may be at the other end of the socket and its two
# files (the placeholders). Python 2.7 and 3.6+.

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
    _memwhy_ns = {'__name__': '__memwhy_boot__', '_memwhy_args': (
        __MEMWHY_SOCKET__, __MEMWHY_TOKEN__, __MEMWHY_SERVER_PIDS__, __MEMWHY_SERVER_UID__, __MEMWHY_CODE__)}
    if __MEMWHY_START_COMPILED__:
        # start.py as marshal data (src/attach/agentCompiler.ts): the thread
        # runs its code object through eval, which runs code of any mode on
        # 2.7 and 3, and nothing is compiled in the target.
        _memwhy_file = open(__MEMWHY_START__, 'rb')
        try:
            _memwhy_code = __import__('marshal').loads(_memwhy_file.read())[1]
        finally:
            _memwhy_file.close()
        _memwhy_start(eval, (_memwhy_code, _memwhy_ns))
    elif _memwhy_thread.__name__ == 'thread':
        # start.py as source: the built-in exec (execfile on 2.7, where exec
        # is a keyword) compiles it in the thread, not here.
        _memwhy_start(execfile, (__MEMWHY_START__, _memwhy_ns))  # noqa: F821 (Python 2)
    else:
        _memwhy_file = open(__MEMWHY_START__, 'rb')
        try:
            _memwhy_start(getattr(__import__('builtins'), 'exec'), (_memwhy_file.read(), _memwhy_ns))
        finally:
            _memwhy_file.close()
except BaseException:
    pass
