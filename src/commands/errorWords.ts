/**
 * The last words of user errors that one of memwhy's options can remedy.
 * Modules below commands/ throw typed errors that carry their data and a
 * sentence without flag names (they do not know the CLI); here each is
 * finished with the option that helps, read from the option table of the
 * command that ran, so a command without that option is not told to use it.
 */
import { AgentDidNotConnect } from '../attach/agentSession.js';
import { TargetIdle } from '../attach/memoryTransport.js';
import { GlibcSettingsElsewhere } from '../collect/allocators.js';
import { CoreInterpreterError } from '../cpython/coreInterpreter.js';
import { NoLayoutError } from '../cpython/locate.js';
import { UserError } from '../errors.js';
import { GdbTimeout } from '../gdb/launch.js';
import { StopNotPermitted } from '../memory/pause.js';
import { WouldReplace } from '../util/outputFile.js';
import { findFlag as flag, type CommandEntry, type OptionSpec } from './spec.js';

/** The sentence for `err` when the command with `options` ran; undefined when it stays as it is. */
export function errorSentence(err: UserError, options: readonly OptionSpec[]): string | undefined {
  const timeout = flag(options, 'timeout');
  if (err instanceof GdbTimeout) return timeout && `${err.message}; try a longer ${timeout}`;
  // "... left it running. Try a longer --timeout, or install gdb (...)": more time first, as before.
  if (err instanceof TargetIdle) return timeout && err.message.replace(/ Install gdb\b/, ` Try a longer ${timeout}, or install gdb`);
  if (err instanceof AgentDidNotConnect) return err.python2 && timeout ? `${err.message}; try a longer ${timeout}` : undefined;
  if (err instanceof NoLayoutError) return `${err.message}; "memwhy stacks --via agent" runs code in the target instead`;
  if (err instanceof StopNotPermitted) {
    const nonblocking = flag(options, 'nonblocking');
    return nonblocking && `${err.message}, or use ${nonblocking}`;
  }
  if (err instanceof WouldReplace) {
    const force = flag(options, 'force');
    return force && `${err.message} or pass ${force}`;
  }
  if (err instanceof CoreInterpreterError) {
    const exe = flag(options, 'exe');
    if (!exe) return undefined;
    if (err.need === 'library-copy') return `${err.message}: give ${exe} a copy of that library`;
    if (err.need === 'python-it-ran') return `${err.message} (if the core comes from another machine, give ${exe} the python it ran)`;
    return `${err.message}: give ${exe} the same build`;
  }
  if (err instanceof GlibcSettingsElsewhere) {
    const flags = err.settings.map((s) => flag(options, s === 'arenaMax' ? 'arena-max' : 'trim-threshold') ?? s);
    return `${flags.join(' and ')} ${flags.length === 1 ? 'is a glibc setting: it does' : 'are glibc settings: they do'} nothing under ${err.allocator}`;
  }
  return undefined;
}

/** `err` as the user should read it after `spec` ran: a UserError worded here, anything else as it was. */
export function wordError(err: unknown, spec: Pick<CommandEntry, 'options'>): unknown {
  if (!(err instanceof UserError)) return err;
  const sentence = errorSentence(err, spec.options);
  if (sentence === undefined || sentence === err.message) return err;
  const worded = new UserError(sentence, err.exitCode);
  worded.cause = err;
  // --debug shows where it was thrown, not where it was worded.
  worded.stack = [`${worded.name}: ${sentence}`, ...(err.stack ?? '').split('\n').slice(1)].join('\n');
  return worded;
}
