/** src/commands/errorWords.ts: typed errors from below commands/ get their flag advice from the command's option table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentDidNotConnect } from '../../src/attach/agentSession.js';
import { TargetIdle } from '../../src/attach/memoryTransport.js';
import { GlibcSettingsElsewhere } from '../../src/collect/allocators.js';
import { CoreInterpreterError } from '../../src/cpython/coreInterpreter.js';
import { NoLayoutError } from '../../src/cpython/locate.js';
import { UserError } from '../../src/errors.js';
import { GdbTimeout } from '../../src/gdb/launch.js';
import { StopNotPermitted } from '../../src/memory/pause.js';
import { WouldReplace } from '../../src/util/outputFile.js';
import { coreCommand } from '../../src/commands/core.js';
import { execCommand } from '../../src/commands/exec.js';
import { psCommand } from '../../src/commands/ps.js';
import { runCommand } from '../../src/commands/run.js';
import { stacksCommand } from '../../src/commands/stacks.js';
import { errorSentence, wordError } from '../../src/commands/errorWords.js';

const message = (err: unknown): string => (err as Error).message;

test("a gdb time limit is told to take longer with the command's --timeout, and only where the command has one", () => {
  const err = new GdbTimeout(7, 120_000, 'finish the core');
  assert.equal(message(wordError(err, coreCommand)), 'gdb did not finish the core of pid 7 within 120 s: detached; try a longer --timeout');
  assert.equal(wordError(err, psCommand), err);
});

test('the worded error keeps the exit code and the original as its cause; other errors pass through', () => {
  const err = new UserError('plain', 3);
  assert.equal(wordError(err, coreCommand), err);
  const bug = new Error('bug');
  assert.equal(wordError(bug, coreCommand), bug);
  const timeout = new GdbTimeout(7, 1000, 'print the native stacks');
  const worded = wordError(timeout, stacksCommand) as UserError;
  assert.equal(worded.exitCode, timeout.exitCode);
  assert.equal(worded.cause, timeout);
});

test('an idle target and a slow 2.7 agent suggest a longer --timeout', () => {
  const idle = new TargetIdle(7, 'main-thread', 10, 'memwhy took its queued call back');
  assert.match(message(wordError(idle, execCommand)), /left it running\. Try a longer --timeout, or install gdb \(memwhy then wakes the main thread from its blocking call\)$/);
  assert.match(message(wordError(new AgentDidNotConnect(7, 30, true), execCommand)), /keep it busy\); the target was left running; try a longer --timeout$/);
  assert.equal(errorSentence(new AgentDidNotConnect(7, 10, false), execCommand.options), undefined);
});

test('a CPython without a layout points to stacks --via agent', () => {
  assert.match(
    message(wordError(new NoLayoutError('3.15.0a1'), stacksCommand)),
    /^memwhy cannot read CPython 3\.15\.0a1's stacks from memory yet: it knows the layouts of .+; "memwhy stacks --via agent" runs code in the target instead$/,
  );
  assert.match(message(wordError(new NoLayoutError('3.14.0', 'free-threaded'), stacksCommand)), /^CPython 3\.14\.0 is a free-threaded build: .*--via agent/);
});

test('stop, overwrite, core interpreter and glibc refusals name the option that helps', () => {
  assert.equal(message(wordError(new StopNotPermitted(7), stacksCommand)), "not allowed to stop pid 7: run memwhy as the target's user or as root, or use --nonblocking");
  assert.equal(
    message(wordError(new WouldReplace('/tmp/x exists and was not written by memwhy: choose another path', '/tmp/x'), coreCommand)),
    '/tmp/x exists and was not written by memwhy: choose another path or pass --force',
  );
  assert.equal(
    message(wordError(new CoreInterpreterError('/tmp/x is not the python3 the process ran (their ELF headers differ)', 'same-build'), stacksCommand)),
    '/tmp/x is not the python3 the process ran (their ELF headers differ): give --exe the same build',
  );
  assert.equal(
    message(wordError(new GlibcSettingsElsewhere('jemalloc', ['arenaMax', 'trimThreshold']), runCommand)),
    '--arena-max and --trim-threshold are glibc settings: they do nothing under jemalloc',
  );
  assert.equal(message(wordError(new GlibcSettingsElsewhere('jemalloc', ['arenaMax']), runCommand)), '--arena-max is a glibc setting: it does nothing under jemalloc');
});
