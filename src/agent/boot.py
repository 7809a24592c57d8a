# memwhy bootstrap. gdb runs this inside the target through PyRun_SimpleString,
# at a safe point, in a throwaway namespace. It must return at once: it only
# starts a thread, and that thread (which takes the GIL like any other) does
# the rest after gdb has detached. memwhy fills in the socket path and the
# session token (the two placeholders on the last line). Python 2.7 and 3.6+.
def _memwhy_boot(path, token):
    sock = None
    try:
        import json
        import os
        import socket
        import sys
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(path)
        hello = json.dumps({'hello': token, 'pid': os.getpid(),
                            'python': '%d.%d.%d' % tuple(sys.version_info[:3])})
        sock.sendall(hello.encode('ascii') + b'\n')
        buf = b''
        while b'\n' not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b'\n', 1)
        welcome = json.loads(line.decode('utf-8'))
        ns = {'__name__': '__memwhy_agent__'}
        exec(compile(welcome['agent'], 'memwhy-agent', 'exec'), ns)
        serve = ns['serve']
        ns = None
        serve(sock, buf, welcome['modules'])
    except BaseException:
        pass
    finally:
        if sock is not None:
            try:
                sock.close()
            except BaseException:
                pass


# A failure here must not print a traceback into the program's stderr.
try:
    try:
        import _thread as _memwhy_thread
    except ImportError:
        import thread as _memwhy_thread
    _memwhy_thread.start_new_thread(_memwhy_boot, (__MEMWHY_SOCKET__, __MEMWHY_TOKEN__))
except BaseException:
    pass
