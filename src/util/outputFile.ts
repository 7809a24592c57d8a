/**
 * Every file memwhy writes at a path the user named (reports, graphs, records,
 * heap dumps, cores, saved evidence) goes through here, so that writing one
 * can never harm what was there:
 *
 * - Whole or not at all. The data goes to a temp file beside the destination
 *   (same directory, so same file system), created O_EXCL (never an existing
 *   file, never through a planted symlink) with mode 0644, or 0600 for files
 *   that hold the target's memory; it is fsynced, then put in place with
 *   link(2) when the destination is new (which fails rather than replace a
 *   file that appeared meanwhile) or rename(2) when it replaces memwhy's own
 *   output; then the directory is fsynced. A reader sees the old file or the
 *   new one, never half of either.
 *
 * - Never over an unrelated file. An existing destination is replaced only if
 *   it is empty (nothing to lose: `mktemp` made it), or memwhy wrote it, or the
 *   user passed --force. memwhy's own files are recognised by a marker in
 *   their first 8 KiB that every format memwhy writes carries:
 *     heap dump (.mwd)     the magic "MEMWHYD" at offset 0 (docs/dump-format.md)
 *     JSON documents       a first key "format" whose value starts "memwhy-"
 *                          (evidence.json: memwhy-evidence/1; run --record:
 *                          memwhy-rss-record/1)
 *     HTML reports         <meta name="generator" content="memwhy ...">
 *     SVG graphs           <!-- generator: memwhy ... -->
 *     DOT graphs           // generator: memwhy ...
 *     CSV records          the header line "t_s,rss,rss_anon" (CSV has no
 *                          comments; a "#" line would break its readers)
 *   A core file (ELF, written by gdb) has no room for a marker: an existing
 *   one is replaced only with --force.
 *
 * - Never through a symlink, and never onto a directory, a device or a pipe:
 *   refused even with --force (the user meant something else).
 *
 * - A directory of evidence (diagnose --save DIR) follows the same rule as a
 *   whole: a new or empty directory, or one holding memwhy's evidence.json, is
 *   used; any other non-empty directory needs --force. The files inside are
 *   written as above.
 *
 * Every refusal is a UserError of one line saying what to do.
 */
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { isErrno, UserError } from '../errors.js';

export interface OutputOptions {
  /** Replace an existing file memwhy did not write (--force). Symlinks, directories and devices are refused regardless. */
  force?: boolean;
  /** Permission bits of a new file (before the umask): 0o644, or 0o600 for the target's memory (heap dumps, cores). */
  mode?: number;
  /** What the file is when its format has no marker ('core file'): an existing one then needs force. */
  unmarked?: string;
}

/** The bytes a marker must lie within. */
const HEAD_BYTES = 8192;

/** Says whether the start of a file is memwhy's own output (see the header comment for each format). */
export function isMemwhyOutput(head: Buffer): boolean {
  if (head.subarray(0, 7).toString('latin1') === 'MEMWHYD') return true;
  const text = head.toString('utf8');
  return (
    /^\{\s*"format"\s*:\s*"memwhy-/.test(text) ||
    text.includes('<meta name="generator" content="memwhy') ||
    text.includes('<!-- generator: memwhy') ||
    text.includes('// generator: memwhy') ||
    /^t_s,rss,rss_anon\r?\n/.test(text)
  );
}

function readHead(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new UserError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

/**
 * Checks that path may be written: its directory exists, and it is absent,
 * empty, memwhy's own or force is set. Commands call it before the slow part
 * (attaching, watching for 30 s), and the writers below call it again.
 * Returns whether the destination exists.
 */
export function checkOutputFile(path: string, opts: OutputOptions = {}): boolean {
  if (path.endsWith('/')) throw new UserError(`cannot write ${path}: it names a directory: give a file name in it`);
  const st = lstatOrUndefined(path);
  // Every writer puts a temporary file beside the destination, then renames it.
  checkWritableDir(path);
  if (st === undefined) return false;
  if (st.isSymbolicLink()) throw new UserError(`cannot write ${path}: it is a symbolic link, and memwhy does not write through one: give the real path`);
  if (st.isDirectory()) throw new UserError(`cannot write ${path}: it is a directory: give a file name in it`);
  if (!st.isFile()) throw new UserError(`cannot write ${path}: it is not a regular file (a device, pipe or socket): give a file path`);
  if (opts.force || st.size === 0) return true;
  if (opts.unmarked) {
    throw new WouldReplace(`${path} exists, and memwhy cannot tell a ${opts.unmarked} it wrote from another: choose another path`, path);
  }
  let head: Buffer;
  try {
    head = readHead(path);
  } catch (err) {
    throw new WouldReplace(`cannot write ${path}: it exists and cannot be read (${(err as Error).message}): choose another path`, path);
  }
  if (!isMemwhyOutput(head)) throw new WouldReplace(`${path} exists and was not written by memwhy: choose another path`, path);
  return true;
}

/** The directory `path` goes in exists and this process may make files in it (found before the slow part, not at its end). */
function checkWritableDir(path: string): void {
  const dir = dirname(resolve(path));
  let dirSt: Stats;
  try {
    dirSt = statSync(dir);
  } catch {
    throw new UserError(`cannot write ${path}: ${dir} does not exist`);
  }
  if (!dirSt.isDirectory()) throw new UserError(`cannot write ${path}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${path}: ${dir} is not writable`);
  }
}

/**
 * An output memwhy will not replace, since it may not be memwhy's; the
 * message ends with what to choose instead, and the command adds its
 * option to replace it anyway.
 */
export class WouldReplace extends UserError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.memwhy-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

function openTemp(path: string, mode: number): { tmp: string; fd: number } {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    return { tmp, fd };
  } catch (err) {
    throw writeError(path, err);
  }
}

function writeError(path: string, err: unknown): Error {
  if (err instanceof UserError) return err;
  const dir = dirname(resolve(path));
  if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) return new UserError(`cannot write ${path}: permission denied in ${dir}`);
  if (isErrno(err, 'EROFS')) return new UserError(`cannot write ${path}: ${dir} is on a read-only file system`);
  if (isErrno(err, 'ENOENT')) return new UserError(`cannot write ${path}: ${dir} does not exist`);
  if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) return new UserError(`cannot write ${path}: no space left in ${dir}`);
  if (typeof (err as { code?: unknown }).code === 'string') return new UserError(`cannot write ${path}: ${(err as Error).message}`);
  return err as Error;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never made, or already gone.
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts a finished file (synced, on the destination's file system) at path:
 * link(2) when path is new, so a file that appeared since the check is never
 * replaced, rename(2) over memwhy's own file. src is gone afterwards.
 */
function place(src: string, path: string, opts: OutputOptions): void {
  let exists = checkOutputFile(path, opts);
  if (!exists) {
    try {
      linkSync(src, path);
      unlinkSync(src);
      exists = true;
    } catch (err) {
      if (isErrno(err, 'EEXIST')) {
        checkOutputFile(path, opts); // someone wrote it meanwhile: replace it only if we may
      } else if (!(isErrno(err, 'EPERM') || isErrno(err, 'ENOTSUP') || isErrno(err, 'EOPNOTSUPP') || isErrno(err, 'EMLINK'))) {
        // A file system without hard links falls back to rename; anything else is an error.
        throw err;
      }
      renameSync(src, path);
    }
  } else {
    renameSync(src, path);
  }
  try {
    fsyncPath(dirname(resolve(path)));
  } catch {
    // Some file systems cannot sync a directory; the rename itself is still atomic.
  }
}

/** Writes data to path whole or not at all, under the rules above. */
export function writeOutputFile(path: string, data: string | Uint8Array, opts: OutputOptions = {}): void {
  checkOutputFile(path, opts);
  const { tmp, fd } = openTemp(path, opts.mode ?? 0o644);
  try {
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    place(tmp, path, opts);
  } catch (err) {
    removeQuietly(tmp);
    throw writeError(path, err);
  }
}

/**
 * An output written bit by bit (a CSV row per sample): into a temp file beside
 * path, which commit() puts in place. If memwhy dies before, the rows so far
 * are in the temp file (named in `tempPath`) and path is untouched.
 */
export class OutputStream {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    fd: number,
    private readonly opts: OutputOptions,
  ) {
    this.fd = fd;
  }

  static open(path: string, opts: OutputOptions = {}): OutputStream {
    checkOutputFile(path, opts);
    const { tmp, fd } = openTemp(path, opts.mode ?? 0o644);
    return new OutputStream(path, tmp, fd, opts);
  }

  write(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new Error(`${this.path}: write after commit or abort`);
    writeFileSync(this.fd, data);
  }

  commit(): void {
    if (this.fd === undefined) throw new Error(`${this.path}: committed twice or after abort`);
    const fd = this.fd;
    this.fd = undefined;
    try {
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      place(this.tempPath, this.path, this.opts);
    } catch (err) {
      removeQuietly(this.tempPath);
      throw writeError(this.path, err);
    }
  }

  /** Drops what was written; path is untouched. Safe to call after commit. */
  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    removeQuietly(this.tempPath);
  }
}

/**
 * Moves a finished file made elsewhere (the agent's heap dump, gdb's core) to
 * path under the rules above: straight there when it is on the same file
 * system, else copied to a temp file beside path first. src is gone after.
 */
export function moveOutputFile(src: string, path: string, opts: OutputOptions = {}): void {
  checkOutputFile(path, opts);
  if (opts.mode !== undefined) {
    try {
      chmodSync(src, opts.mode);
    } catch {
      // Not ours to change (another user's file): it keeps the mode its writer gave it.
    }
  }
  try {
    fsyncPath(src);
    place(src, path, opts);
    return;
  } catch (err) {
    if (!isErrno(err, 'EXDEV')) throw writeError(path, err);
  }
  // Across file systems (the target's /tmp is often a container's).
  const { tmp, fd } = openTemp(path, opts.mode ?? 0o644);
  closeSync(fd);
  try {
    copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
    fsyncPath(tmp);
    place(tmp, path, opts);
  } catch (err) {
    removeQuietly(tmp);
    throw writeError(path, err);
  }
  removeQuietly(src);
}

/**
 * Reserves a temp file beside path for a writer that creates the file itself
 * (gdb's gcore): pass `tempPath` to it, then moveOutputFile(tempPath, path).
 */
export function reserveTempFile(path: string, opts: OutputOptions = {}): string {
  checkOutputFile(path, opts);
  const { tmp, fd } = openTemp(path, opts.mode ?? 0o644);
  closeSync(fd);
  return tmp;
}

/** The file in a directory of evidence that makes it memwhy's. */
export const EVIDENCE_FILE = 'evidence.json';

/**
 * Checks that dir may hold saved evidence: absent, empty, holding memwhy's
 * evidence.json, or force set. Symlinks and non-directories are refused.
 * Returns whether it exists.
 */
export function checkEvidenceDir(dir: string, opts: OutputOptions = {}): boolean {
  const st = lstatOrUndefined(dir);
  if (st === undefined) return false;
  if (st.isSymbolicLink()) throw new UserError(`cannot save evidence in ${dir}: it is a symbolic link, and memwhy does not write through one: give the real path`);
  if (!st.isDirectory()) throw new UserError(`cannot save evidence in ${dir}: it is not a directory: give a new or empty directory`);
  if (opts.force) return true;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new UserError(`cannot save evidence in ${dir}: ${(err as Error).message}`);
  }
  if (entries.length === 0) return true;
  const evidence = join(dir, EVIDENCE_FILE);
  let ours = false;
  if (lstatOrUndefined(evidence)?.isFile()) {
    try {
      ours = isMemwhyOutput(readHead(evidence));
    } catch {
      ours = false;
    }
  }
  if (!ours) throw new WouldReplace(`${dir} is not empty and holds no memwhy evidence: choose a new or empty directory`, dir);
  return true;
}

/** checkEvidenceDir, then makes dir (and its parents) if it is absent. */
export function prepareEvidenceDir(dir: string, opts: OutputOptions = {}): void {
  if (checkEvidenceDir(dir, opts)) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new UserError(`cannot make the directory ${dir}: ${(err as Error).message}`);
  }
}
