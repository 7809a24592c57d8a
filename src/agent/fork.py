# memwhy agent module: runs one call in a copy-on-write child of the target.
#
# A census, a heap dump or a referrer search allocates as much as the heap
# it walks (lists of every object, sets of ids, the reply). Done in the
# target, that memory lands in the program's own allocator arenas and stays
# resident after it is freed (measured on Debian's 3.11: +5 MiB RSS for good
# per census of a 300,000-object heap, +4 MiB per diagnose), and the RSS
# step it makes mid-window corrupts the very trend memwhy fits. In a forked
# child the walk sees the same heap at one instant, allocates in the child's
# copy only, and the target is held only for the fork itself (page tables:
# ~17 ms for 833 MB, shared/NOTES.md) instead of for the walk.
#
# How the child is made, and why:
# - libc's fork() as ctypes.PyDLL calls it, keeping the GIL across the call:
#   through CDLL the child would be born without the GIL, owned by a thread
#   that does not exist in it (it deadlocked so). os.fork() would run the
#   program's at-fork handlers in the target (and warn on 3.12+). glibc's
#   fork resets its malloc locks in the child.
# - fork() is called through a few instructions memwhy writes (forker()):
#   in the child they clear the GIL drop request and the eval breaker before
#   it runs one bytecode. A busy thread of the target that waited for the
#   GIL while the fork held it leaves a drop request the child would obey,
#   then wait for good for a thread it does not have (_resetting_fork()).
# - The child never runs the program's code: the collector is disabled
#   before anything else (a collection could run finalizers), it imports
#   nothing (the import lock may be held by a thread the child does not
#   have), it closes every descriptor but its socket (a connection the
#   program closes must not stay open in the child), it dies with the agent's
#   thread (PR_SET_PDEATHSIG), and it leaves by _exit (no atexit, no flush).
# - Its reply goes out through libc's write() under the GIL: releasing the
#   GIL in the child touches the GIL's mutex, which another thread of the
#   target may have held at the instant of the fork. Should that happen
#   anyway (a walk's own file writes release it), the child waits on a futex
#   nobody can wake: the agent sees it there, kills it, and runs the call in
#   the target instead.
# - The child touches (copies) the pages of every object it counts: up to
#   the target's anonymous memory, charged to the same cgroup. The call runs
#   in the target instead when the cgroup limit or the machine's available
#   memory leaves less room than that.
import gc
import os
import sys
import time

import _socket

try:
    import _tracemalloc
except ImportError:  # 2.7
    _tracemalloc = None

# _agent (the agent's namespace: its JSON writer) and _load are injected by
# the agent.
#
# C is called through cabi.py (_ctypes and a few C types, not ctypes: see
# there), with the GIL kept across every call (cabi.function's keep_gil).
_cabi = _load('cabi')  # noqa: F821 (injected by the agent)
if not _cabi['available']:
    raise ImportError('this Python has no _ctypes (built without libffi): memwhy cannot fork it')
_c_int = _cabi['c_int']
_c_uint = _cabi['ctype']('c_uint')
_c_ssize_t = _cabi['ctype']('c_ssize_t')
_c_size_t = _cabi['c_size_t']
_c_char_p = _cabi['ctype']('c_char_p')


class _CharBuffer(_cabi['Array']):
    # Made here rather than as c_char * 32, which ctypes caches for good.
    _type_ = _cabi['ctype']('c_char')
    _length_ = 32


def _libc_function(name, restype, argtypes):
    """libc's name with its C signature, or None where this libc lacks it.
    All are looked up here, on load: under tracemalloc (tracing.take keeps it
    on in the child) a lookup in the child made ctypes objects that were
    traced as the program's allocations (ctypes/__init__.py in diagnose's
    top sites). The GIL is kept across each call (ctypes.PyDLL's way):
    through CDLL the child would be born without the GIL (header)."""
    return _cabi['function'](name, restype, argtypes, True)


_fork = _libc_function('fork', _c_int, [])
_c_void_p = _cabi['c_void_p']
_mmap = _libc_function('mmap', _c_void_p, [_c_void_p, _c_size_t, _c_int, _c_int, _c_int, _c_ssize_t])
_mprotect = _libc_function('mprotect', _c_int, [_c_void_p, _c_size_t, _c_int])
_munmap = _libc_function('munmap', _c_int, [_c_void_p, _c_size_t])
_memcpy = _libc_function('memcpy', _c_void_p, [_c_void_p, _c_char_p, _c_size_t])
_thread_state = _cabi['function']('PyThreadState_Get', _c_void_p, [], True)
_write = _libc_function('write', _c_ssize_t, [_c_int, _c_char_p, _c_size_t])
_prctl = _libc_function('prctl', _c_int, None)
_close = _libc_function('close', _c_int, [_c_int])
_read_fd = _libc_function('read', _c_ssize_t, [_c_int, _c_char_p, _c_size_t])
_close_range = _libc_function('close_range', _c_int, [_c_uint, _c_uint, _c_int])  # glibc 2.34+, Linux 5.9+

_PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h
_SIGKILL = 9
_SYS_FUTEX = 202  # x86_64 (arch/x86/entry/syscalls/syscall_64.tbl)
_MARGIN = 64 << 20


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def _field_kib(text, key):
    for line in (text or '').splitlines():
        if line.startswith(key):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def _cgroup_room():
    """The least room below the memory limit along our cgroup's path, or
    None if unlimited/unknown: cgroup v2's memory.max and memory.current,
    or, where the v2 line is missing or "/" (a v1 or hybrid host), the v1
    memory controller's memory.limit_in_bytes and memory.usage_in_bytes
    (as src/target/cgroup.ts reads the place)."""
    text = _read('/proc/self/cgroup') or ''
    v2 = memory = None
    for line in text.splitlines():
        parts = line.split(':', 2)
        if len(parts) != 3:
            continue
        if parts[0] == '0' and parts[1] == '':
            v2 = parts[2].strip()
        elif 'memory' in parts[1].split(','):
            memory = parts[2].strip()
    if memory is not None and (v2 is None or v2 == '/'):
        return _room_along('/sys/fs/cgroup/memory', memory, 'memory.limit_in_bytes', 'memory.usage_in_bytes')
    if v2 is None:
        return None
    return _room_along('/sys/fs/cgroup', v2, 'memory.max', 'memory.current')


def _room_along(mount, path, limit_file, usage_file):
    """min(limit - usage) over the cgroup and its ancestors under `mount`
    (a limit above binds the ones below); None where none is set. Inside a
    cgroup namespace the path may not exist under the mount (its root is
    the namespace's): the levels that do not exist are skipped."""
    room = None
    parts = [p for p in path.split('/') if p]
    for depth in range(len(parts), -1, -1):
        base = mount + '/' + '/'.join(parts[:depth])
        limit = (_read(base + '/' + limit_file) or '').strip()
        usage = (_read(base + '/' + usage_file) or '').strip()
        # v1 says "no limit" with a huge number, v2 with "max" (not digits).
        if limit.isdigit() and usage.isdigit() and int(limit) < (1 << 62):
            left = int(limit) - int(usage)
            room = left if room is None else min(room, left)
    return room


def room_for_child(factor=1.1):
    """None if a child that copies and allocates `factor` times the target's
    anonymous memory fits; else why not, in words."""
    anon = _field_kib(_read('/proc/self/status'), 'RssAnon:')
    if anon is None:
        return 'the target\'s anonymous memory could not be read'
    need = int(anon * factor) + _MARGIN
    available = _field_kib(_read('/proc/meminfo'), 'MemAvailable:')
    cgroup = _cgroup_room()
    for room, where in ((available, 'the machine has'), (cgroup, 'its cgroup has')):
        if room is not None and room < need:
            return ('a copy-on-write snapshot could need %d MiB and %s %d MiB left'
                    % (need >> 20, where, max(room, 0) >> 20))
    return None


def _write_all(fd, data):
    view = data
    while view:
        n = _write(fd, view, len(view))
        if n < 0:
            # The child has no signal handlers of its own to interrupt it.
            return False
        view = view[n:]
    return True


def _close_others(keep):
    """Closes every descriptor above 2 but keep, without releasing the GIL."""
    if _close_range is not None:
        low = _close_range(3, keep - 1, 0) if keep > 3 else 0
        if low == 0 and _close_range(keep + 1, 0xFFFFFFFF, 0) == 0:
            return
    limit = 65536
    text = _read('/proc/self/limits') or ''
    for line in text.splitlines():
        if line.startswith('Max open files'):
            soft = line.split()[3]
            if soft.isdigit():
                limit = min(int(soft), 1 << 20)
    for fd in range(3, limit):
        if fd != keep:
            _close(fd)


# Made here, before any fork: the child allocates nothing before its call
# (under tracemalloc its allocations would be traced as if the program's).
_FORK_MS_BUF = _CharBuffer()


def _fork_ms(fd):
    """The fork's duration as the parent measured it, read without releasing the GIL."""
    buf = _FORK_MS_BUF
    got = b''
    while not got.endswith(b'\n'):
        n = _read_fd(fd, buf, 32 - len(got))
        if n <= 0:
            return None
        got += buf.raw[:n]
    return float(got)


def _child(resolve, params, rid, theirs, opts, parent, breaker_cleared):
    """Runs in the child: never returns."""
    status = 1
    try:
        # What the program had, for gcstate to report (the child's own is off).
        _agent['gc_enabled_in_target'] = gc.isenabled()
        gc.disable()
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
        fd = theirs.fileno()
        _close_others(fd)
        fork_ms = _fork_ms(fd)
        if _tracemalloc is not None and not opts.get('keep_tracing') and _tracemalloc.is_tracing():
            # Tracing every allocation of the walk would make it several times slower.
            _tracemalloc.stop()
        started = time.time()
        try:
            result = resolve()(**params)
            if type(result) is dict:
                result['snapshot'] = {'forked': True, 'fork_ms': fork_ms,
                                      'child_ms': round((time.time() - started) * 1000.0, 3),
                                      'breaker_cleared': breaker_cleared}
            parts = _agent['reply_parts'](rid, result)
        except BaseException:
            parts = _agent['reply_parts'](rid, error=_agent['error_of'](sys.exc_info()))
        result = None
        ok = [True]

        def write(data):
            if ok[0] and not _write_all(fd, data):
                ok[0] = False
        _agent['send_parts'](write, parts)
        status = 0 if ok[0] else 1
    finally:
        os._exit(status)


def _stuck(pid):
    """True when the child sits in a futex wait: single-threaded, nothing can wake it."""
    text = _read('/proc/%d/syscall' % pid)
    return bool(text) and text.split(' ', 1)[0] == str(_SYS_FUTEX)


def call_in_child(resolve, params, rid, opts, write):
    """Runs resolve()(**params) in a forked child and relays its reply line.

    Returns None when the reply was sent, or why the call must run in the
    target instead (nothing sent then).
    """
    why = room_for_child(float((opts or {}).get('memory_factor', 1.1)))
    if why is not None:
        return why
    why = _fork_and_relay(resolve, params, rid, opts, write)
    if why is not None and 'deadlocked' in why:
        # Where the drop request could not be cleared (no forker: memwhy did
        # not find the flags, or code cannot be mapped), a child that
        # inherited one deadlocks (_resetting_fork()); a second child, forked
        # right after this thread took the GIL back, inherits one less often.
        why = _fork_and_relay(resolve, params, rid, opts, write)
    return why


def _le64(value):
    return bytearray((value >> shift) & 0xFF for shift in range(0, 64, 8))


def _resetting_fork_code(fork_address, words, byte):
    """x86_64 code for `int f(void)`: fork(), then, in the child only, zero
    the int at each address of `words` and the byte at `byte` (None: none);
    None if there are too many to jump over."""
    clear = bytearray()
    for address in words:
        clear += b'\x48\xb9' + _le64(address)        # movabs rcx, address
        clear += b'\xc7\x01\x00\x00\x00\x00'          # mov dword [rcx], 0
    if byte is not None:
        clear += b'\x48\xb9' + _le64(byte)           # movabs rcx, byte
        clear += b'\xc6\x01\x00'                      # mov byte [rcx], 0
    if len(clear) > 127:
        return None  # past a short jump's reach; never so many flags
    code = bytearray(b'\xf3\x0f\x1e\xfa')              # endbr64 (a no-op without CET)
    code += b'\x53'                                  # push rbx: the stack 16-aligned for the call
    code += b'\x48\xb8' + _le64(fork_address)        # movabs rax, fork
    code += b'\xff\xd0'                              # call rax
    code += b'\x85\xc0'                              # test eax, eax
    code += b'\x75' + bytearray([len(clear)])        # jnz: the parent (and a failed fork) skip
    code += clear
    code += b'\x5b\xc3'                              # pop rbx; ret (eax: fork's result)
    return bytes(code)


_PAGE = 4096


def _resetting_fork(reset):
    """fork() made to clear, in the child before it runs one bytecode, the
    GIL drop request and the eval breaker (where `reset`, from memwhy, says
    they are): (function, page to unmap after the fork), or None.

    Without it, another thread of the target that waited for the GIL while
    the fork held it (every busy thread does, when a fork of a big heap
    takes longer than the switch interval) leaves its drop request in the
    child, which then drops the GIL at its first eval-breaker check and waits
    for good for a thread it does not have (FORCE_SWITCHING,
    Python/ceval_gil.h). Clearing it has to happen inside the C call that
    forks: the child checks the breaker as soon as the call returns. The
    breaker is cleared with it: whatever else it flags (a signal, a pending
    call, a scheduled collection) is not the child's to run.
    """
    if not reset or os.uname()[4] not in ('x86_64', 'amd64') or None in (_mmap, _mprotect, _munmap, _memcpy):
        return None
    words = [int(w) for w in reset.get('words') or ()]
    byte = None
    if reset.get('tstate_byte') is not None:
        tstate = _thread_state()
        if not tstate:
            return None
        byte = tstate + int(reset['tstate_byte'])
    if not words and byte is None:
        return None
    return forker(words, byte)


def forker(words, byte):
    """The page of code _resetting_fork_code makes, ready to call:
    (function, page), or None where it cannot be made."""
    fork_address = _cabi['dlsym']('fork')
    if not fork_address:
        return None
    code = _resetting_fork_code(fork_address, words, byte)
    if code is None:
        return None
    # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS (asm-generic/mman*.h).
    page = _mmap(None, _PAGE, 3, 0x22, -1, 0)
    if not page or page == (1 << 64) - 1:
        return None
    _memcpy(page, code, len(code))
    # PROT_READ|PROT_EXEC. Refused where writable memory may never become
    # code (SELinux execmem, systemd's MemoryDenyWriteExecute=): fork as before.
    if _mprotect(page, _PAGE, 5) != 0:
        _munmap(page, _PAGE)
        return None
    return _cabi['function_at'](page, _c_int, [], True), page


def unmap_forker(page):
    _munmap(page, _PAGE)


def _fork_and_relay(resolve, params, rid, opts, write):
    timeout_s = float((opts or {}).get('timeout_s', 600))
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    resetting = None
    try:
        parent = os.getpid()
        resetting = _resetting_fork((opts or {}).get('reset'))
        if resetting is None:
            # Let the GIL go and take it back: taking it clears any drop
            # request another thread has made (Python/ceval_gil.h), which
            # makes one made during the fork itself less likely.
            time.sleep(0)
        t0 = time.time()
        pid = _fork() if resetting is None else resetting[0]()
        if pid == 0:
            _child(resolve, params, rid, theirs, opts or {}, parent, resetting is not None)
        fork_ms = (time.time() - t0) * 1000.0
        if pid < 0:
            return 'fork failed'
        theirs.close()
        theirs = None
        ours.sendall(('%.3f\n' % fork_ms).encode('ascii'))
        return _relay(pid, ours, rid, timeout_s, write)
    finally:
        # The child never gets here: it leaves by _exit.
        if resetting is not None:
            unmap_forker(resetting[1])
        ours.close()
        if theirs is not None:
            theirs.close()


def _relay(pid, sock, rid, timeout_s, write):
    sock.settimeout(0.25)
    deadline = time.time() + timeout_s
    sent = False
    last = b''
    stuck = 0
    failure = None
    while True:
        try:
            data = sock.recv(_agent['_CHUNK'])
        except _socket.timeout:
            stuck = stuck + 1 if _stuck(pid) else 0
            if stuck >= 4 or time.time() > deadline:
                failure = ('the snapshot child deadlocked' if stuck >= 4
                           else 'the snapshot child ran past %d s' % timeout_s)
                _kill(pid)
                break
            continue
        if not data:
            break
        write(data)
        sent = True
        last = data[-1:]
    code = _reap(pid)
    if failure is None and last == b'\n' and code == 0:
        return None
    if not sent and failure is not None and 'deadlocked' in failure:
        return failure
    if sent and last != b'\n':
        write(b'\n')
    if failure is None:
        failure = 'the snapshot child failed (%s)' % ('signal %d' % -code if code < 0 else 'exit %d' % code)
    _agent['send_parts'](write, _agent['reply_parts'](rid, error={
        'type': 'SnapshotError', 'message': failure, 'traceback': ''}))
    return None


def _kill(pid):
    try:
        os.kill(pid, _SIGKILL)
    except OSError:
        pass


def _reap(pid):
    """The child's exit code (negative: the signal), 0 when the program reaped it first."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except OSError as e:
            if e.errno == 4:  # EINTR (2.7 does not retry)
                continue
            # ECHILD: the program's own SIGCHLD handler reaped it (gunicorn's
            # arbiter waits for any child); the reply already told how it went.
            return 0
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        return os.WEXITSTATUS(status)
