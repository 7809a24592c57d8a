/**
 * Runs the bootstrap inside the target through gdb, the way that cannot
 * deadlock or corrupt it:
 *
 * 1. attach with -readnever (no debug info read: ~0.1 s, not seconds);
 * 2. break where a thread is known to hold the GIL with the interpreter in a
 *    consistent state: the entry of the eval loop, or the return from
 *    PyEval_RestoreThread (a thread that just took the GIL back after a
 *    blocking call, e.g. every `time.sleep` of an idle loop);
 * 3. there, call PyRun_SimpleString(bootstrap): it only starts a thread;
 * 4. delete the breakpoints and detach. The new thread does the work later,
 *    taking the GIL itself, with gdb gone.
 *
 * Never a call at an arbitrary stop point (the stopped thread may hold the
 * malloc lock, or be half-way through a GC list update), never scheduler
 * locking (threads holding mutexes would never run), and every path ends
 * with the target detached and running.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { GdbError, GdbMi, TimeoutError, WaitAborted, miField, miQuote, type MiRecord } from './gdbMi.js';
import type { InjectOptions, InjectResult, Transport } from './transport.js';
import type { PythonTarget } from '../target/python.js';
import { UserError } from '../errors.js';
import { isSameProcess } from '../target/proc.js';

/** The eval-loop entry: its name changed in 3.6 (PEP 523). */
function evalFrameFunction(t: PythonTarget): string {
  return t.version.major === 2 ? 'PyEval_EvalFrameEx' : '_PyEval_EvalFrameDefault';
}

/** Turns gdb's attach failure into a line that says what to do. */
export function explainAttachError(pid: number, message: string): UserError {
  if (/No such process|exited|not running|program terminated with signal/i.test(message)) {
    return new UserError(`the target (pid ${pid}) exited while memwhy was attaching`);
  }
  if (/Operation not permitted|Permission denied/i.test(message)) {
    return new UserError(permissionHint(pid));
  }
  return new UserError(`gdb could not attach to pid ${pid}: ${message.trim()}`);
}

export function permissionHint(pid: number, tracer?: string): string {
  if (tracer) {
    return `pid ${pid} is already being traced by ${tracer}: wait for it to finish (one debugger at a time)`;
  }
  let scope: string | undefined;
  try {
    scope = readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
  } catch {
    scope = undefined;
  }
  const parts = [
    `permission denied attaching to pid ${pid}: run memwhy as the same user as the target or as root`,
    'in a container, the attaching process needs CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE)',
  ];
  if (scope && scope !== '0') {
    parts.push(`kernel.yama.ptrace_scope is ${scope}; ${scope === '3' ? 'no attach is allowed until reboot' : 'set it to 0 or run as root'}`);
  }
  return parts.join('; ');
}

function hexOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

/**
 * The one line handed to PyRun_SimpleString: the bootstrap travels as hex so
 * the C string needs no escaping, and runs in a namespace of its own so the
 * program's __main__ gains no names.
 */
export function bootstrapLine(bootstrap: string): string {
  return `exec(__import__('binascii').unhexlify('${hexOf(bootstrap)}'),{'__name__':'__memwhy_boot__'})`;
}

export class GdbTransport implements Transport {
  async inject(target: PythonTarget, bootstrap: string, opts: InjectOptions): Promise<InjectResult> {
    const started = Date.now();
    const gdb = GdbMi.start(target.pid, [
      // Signals the target gets while we wait go straight through to it.
      'handle all nostop noprint pass',
      `set sysroot ${target.root}`,
      // Symbols of libpython only (below), not of every library: a third of the attach time.
      'set auto-solib-add off',
    ]);
    const pid = target.pid;
    let attached = false;
    let attachedAt: number;
    try {
      await gdb.command('-gdb-set mi-async on');
      try {
        await gdb.command(`-target-attach ${pid}`, 15_000);
      } catch (err) {
        if (err instanceof GdbError) throw explainAttachError(pid, err.message);
        throw err;
      }
      attached = true;
      attachedAt = Date.now();
      await gdb.waitStopped(5_000).catch(() => undefined);
      // While traced, the process cannot be reaped, so its pid cannot be
      // reused: check it is still the one that was examined before anything
      // is done to it.
      if (!isSameProcess(pid, target.startTicks)) {
        throw new UserError(`pid ${pid} is no longer the Python process memwhy examined (it exited and the pid was reused): nothing was done to it`);
      }
      if (target.libpython) {
        // The exported symbols of libpython; libc's calls go through its PLT stubs.
        await gdb.console(`sharedlibrary ${escapeRegex(basename(target.libpython))}`, 15_000);
      }

      const evalBp = await this.breakAt(gdb, evalFrameFunction(target));
      const restoreBp = await this.breakAt(gdb, 'PyEval_RestoreThread');
      if (evalBp === undefined && restoreBp === undefined) {
        throw new UserError(`cannot find CPython's functions in pid ${pid} (${target.interpreterElf}): the binary may be stripped of its dynamic symbols`);
      }
      const deadline = Date.now() + opts.safePointTimeoutS * 1000;
      opts.onProgress?.('waiting for a safe point (a thread holding the GIL)...');
      let stop: MiRecord;
      const first = await this.continueUntil(gdb, Math.min(deadline, Date.now() + NUDGE_AFTER_MS), opts.signal, target);
      let pendingBp: string | undefined;
      if (first === 'timeout') {
        if (await this.nudgeMainThread(gdb, target)) {
          opts.onProgress?.('the program is idle: woke its main thread from its blocking call (it retries it)...');
        } else {
          pendingBp = await this.askForPendingCall(gdb);
        }
      }
      stop = first === 'timeout' ? await this.runUntilStop(gdb, deadline, opts.safePointTimeoutS, opts.signal, target) : first;
      await gdb.command('-break-delete');
      let safePoint: InjectResult['safePoint'] = 'eval-frame';
      if (pendingBp !== undefined && miField(stop.body, 'bkptno') === pendingBp) safePoint = 'pending-call';
      if (miField(stop.body, 'bkptno') === restoreBp) {
        // At the entry of PyEval_RestoreThread the GIL is not ours yet: run to
        // the return address (on the stack at entry on x86-64), where it is.
        safePoint = 'restore-thread';
        const ret = await this.evaluate(gdb, '*(unsigned long*)$sp');
        await gdb.command(`-break-insert -t *${ret}`);
        stop = await this.runUntilStop(gdb, deadline, opts.safePointTimeoutS, opts.signal, target);
        await gdb.command('-break-delete').catch(() => undefined);
      }
      const safePointMs = Date.now() - attachedAt;

      // errno belongs to the interrupted C code (it may test it right after
      // taking the GIL back): keep it across our call.
      const errno = await this.evaluate(gdb, '*(int*)__errno_location()').catch(() => undefined);
      const rc = await this.runSimpleString(gdb, target, bootstrapLine(bootstrap));
      if (errno !== undefined) await this.evaluate(gdb, `*(int*)__errno_location() = ${errno}`).catch(() => undefined);
      if (rc !== '0') throw new UserError(`the bootstrap failed inside pid ${pid} (PyRun_SimpleString returned ${rc})`);
      await gdb.command('-target-detach');
      attached = false;
      const stoppedMs = Date.now() - attachedAt;
      return { transport: 'gdb', safePoint, gdbMs: Date.now() - started, safePointMs, stoppedMs };
    } finally {
      if (attached) await this.letGo(gdb);
      await gdb.dispose();
    }
  }

  /**
   * PyRun_SimpleString(code) with the code in a buffer memwhy allocates and
   * frees. (A string literal in a gdb expression is copied into the target
   * with its malloc and never freed: one bootstrap's worth, ~3.5 KiB, leaked
   * per attach.) PyMem_RawMalloc/PyMem_Malloc are the interpreter's exported
   * wrappers of malloc, safe here since the thread holds the GIL.
   */
  private async runSimpleString(gdb: GdbMi, target: PythonTarget, code: string): Promise<string> {
    const bytes = Buffer.concat([Buffer.from(code, 'utf8'), Buffer.from([0])]);
    const [alloc, free] = target.version.major === 2 ? ['PyMem_Malloc', 'PyMem_Free'] : ['PyMem_RawMalloc', 'PyMem_RawFree'];
    const addr = await this.evaluate(gdb, `(unsigned long)${alloc}(${bytes.length})`);
    if (!/^[1-9]\d*$/.test(addr)) throw new UserError(`memwhy could not allocate ${bytes.length} bytes inside pid ${target.pid} for its bootstrap`);
    try {
      await gdb.command(`-data-write-memory-bytes ${addr} ${bytes.toString('hex')}`);
      return await this.evaluate(gdb, `(int)PyRun_SimpleString((const char *)${addr})`, 30_000);
    } finally {
      await this.evaluate(gdb, `(void)${free}((void *)${addr})`).catch(() => undefined);
    }
  }

  private async breakAt(gdb: GdbMi, fn: string): Promise<string | undefined> {
    try {
      const rec = await gdb.command(`-break-insert ${fn}`);
      return miField(rec.body, 'number');
    } catch (err) {
      if (err instanceof GdbError && !(err instanceof TimeoutError)) return undefined;
      throw err;
    }
  }

  private async evaluate(gdb: GdbMi, expr: string, timeoutMs = 10_000): Promise<string> {
    const rec = await gdb.command(`-data-evaluate-expression ${miQuote(expr)}`, timeoutMs);
    return miField(rec.body, 'value') ?? '';
  }

  /**
   * An idle program can sit in one blocking call for hours (an asyncio loop
   * in epoll_wait, `time.sleep(3600)`, a join), so no thread ever takes the
   * GIL back. Make the main thread's interrupted system call return EINTR:
   * since Python 3.5 (PEP 475) every blocking call CPython makes retries on
   * EINTR after taking the GIL back (our PyEval_RestoreThread breakpoint),
   * with the timeout recomputed; and signals already interrupt the main
   * thread's calls this way, so code running there copes with EINTR. Only
   * the main thread, only 3.5+, only when it is inside a system call.
   */
  private async nudgeMainThread(gdb: GdbMi, target: PythonTarget): Promise<boolean> {
    if (target.version.major < 3) return false;
    try {
      const info = await gdb.command('-thread-info');
      const main = new RegExp(`id="(\\d+)",target-id="[^"]*LWP ${target.pid}\\)"`).exec(info.body);
      if (!main) return false;
      await gdb.command(`-thread-select ${main[1]}`);
      // In a system call: the instruction before pc is `syscall` (0f 05) and
      // the kernel kept the call number in orig_rax for a restart.
      const before = await this.evaluate(gdb, '*(unsigned short*)($pc - 2)');
      const orig = Number(await this.evaluate(gdb, '(long)$orig_rax'));
      if (Number(before) !== 0x050f || !(orig >= 0)) return false;
      await this.evaluate(gdb, '$orig_rax = -1'); // no restart by the kernel...
      await this.evaluate(gdb, '$rax = -4'); // ...the call returns -EINTR instead
      return true;
    } catch (err) {
      if (err instanceof GdbError && !(err instanceof TimeoutError)) return false;
      throw err;
    }
  }

  /**
   * A thread that runs Python bytecode without ever calling from C into
   * Python or releasing the GIL (a tight pure-Python loop on 3.11+, where
   * Python-to-Python calls stay inside one eval loop) hits neither
   * breakpoint. Ask the interpreter for a pending call instead: the main
   * thread runs it at its next eval-breaker check, with the GIL held and
   * between two bytecodes. Py_AddPendingCall is made to be called from a
   * signal handler, with no thread state and no GIL, so calling it where the
   * target was stopped is safe. The call is to PyCallable_Check(NULL), which
   * returns 0 and does nothing; a breakpoint on it is the safe point.
   */
  private async askForPendingCall(gdb: GdbMi): Promise<string | undefined> {
    const bp = await this.breakAt(gdb, 'PyCallable_Check');
    if (bp === undefined) return undefined;
    try {
      await this.evaluate(gdb, '(int)Py_AddPendingCall((int (*)(void *))PyCallable_Check, (void *)0)');
    } catch (err) {
      if (err instanceof GdbError && !(err instanceof TimeoutError)) return undefined;
      throw err;
    }
    return bp;
  }

  /** Continues until a breakpoint or `until`; either way the target is stopped after. */
  private async continueUntil(gdb: GdbMi, until: number, signal: AbortSignal | undefined, target: PythonTarget): Promise<MiRecord | 'timeout'> {
    try {
      return await this.runUntilStop(gdb, until, 0, signal, target);
    } catch (err) {
      if (!(err instanceof SafePointTimeout)) throw err;
      // Stop it again, so the caller can look at the threads and continue.
      await gdb.command('-exec-interrupt', 3_000);
      const stop = await gdb.waitStopped(3_000);
      return miField(stop.body, 'reason') === 'breakpoint-hit' ? stop : 'timeout';
    }
  }

  /** Continues until a breakpoint; on timeout, Ctrl-C or the target exiting, says so. */
  private async runUntilStop(gdb: GdbMi, deadline: number, timeoutS: number, signal: AbortSignal | undefined, target: PythonTarget): Promise<MiRecord> {
    for (;;) {
      await gdb.command('-exec-continue');
      const left = deadline - Date.now();
      const outcome = await gdb.waitStopped(Math.max(left, 1), signal).catch((err: unknown) => {
        if (err instanceof TimeoutError) return 'timeout' as const;
        if (err instanceof WaitAborted) return 'aborted' as const;
        throw err;
      });
      if (outcome === 'timeout' || outcome === 'aborted') {
        // letGo (in the caller's finally) interrupts, removes breakpoints and detaches.
        if (outcome === 'aborted') {
          const code = signal?.reason === 'SIGTERM' ? 143 : 130;
          throw new UserError(`interrupted; pid ${target.pid} was left running, detached`, code);
        }
        throw new SafePointTimeout(`the target did not reach a safe point in ${timeoutS} s (no thread ran Python code, or one holds the GIL in a long C call); it was left running unharmed`);
      }
      const reason = miField(outcome.body, 'reason') ?? '';
      if (reason === 'breakpoint-hit') return outcome;
      if (reason.startsWith('exited')) {
        throw new UserError(`the target (pid ${target.pid}) exited while memwhy was attaching`);
      }
      // Any other stop (a signal gdb chose to stop for): carry on.
    }
  }

  /** Leaves the target running and detached, whatever state gdb is in. */
  private async letGo(gdb: GdbMi): Promise<void> {
    if (gdb.isExited) return;
    try {
      await gdb.command('-exec-interrupt', 3_000).catch(() => undefined);
      await gdb.waitStopped(3_000).catch(() => undefined);
      await gdb.command('-break-delete', 3_000).catch(() => undefined);
      await gdb.command('-target-detach', 5_000);
    } catch {
      // dispose() closes gdb's stdin; gdb detaches from attached processes when it quits.
    }
  }
}

/** How long to wait for a thread to take the GIL by itself before waking the main thread. */
const NUDGE_AFTER_MS = 1000;

class SafePointTimeout extends UserError {}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
