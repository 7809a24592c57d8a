/**
 * Before 3.11 a thread state records only pthread_self(), which on glibc is
 * the address of the thread's struct pthread. Its `tid` member gives the
 * kernel thread id; glibc publishes where that member is for libthread_db in
 * the `_thread_db_pthread_tid` symbol (nptl/db_info.c, DB_STRUCT_FIELD):
 * uint32_t[3] = { size in bits, count, offset }.
 */
import { ElfFile } from '../target/elf.js';
import type { Mapping } from '../target/proc.js';
import type { MemorySource } from '../memory/source.js';

/** offsetof(struct pthread, tid) on x86_64 glibc 2.x, when libc's description cannot be read. */
export const GLIBC_PTHREAD_TID_OFFSET = 720;

const LIBC = /\/libc(?:-[\d.]+)?\.so(?:\.6)?$/;

/**
 * Where struct pthread keeps the tid, from the mapped libc's own
 * description; `reachable` turns a mapped path into one readable from here.
 */
export function pthreadTidOffset(maps: Mapping[], reachable: (path: string) => string): number {
  const libc = maps.find((m) => LIBC.test(m.path));
  if (!libc) return GLIBC_PTHREAD_TID_OFFSET;
  let elf: ElfFile | undefined;
  try {
    elf = ElfFile.open(reachable(libc.path));
    const sym = elf.symbol('_thread_db_pthread_tid');
    if (!sym) return GLIBC_PTHREAD_TID_OFFSET;
    const field = elf.readAt(sym.value, 12);
    return field.readUInt32LE(0) === 32 ? field.readUInt32LE(8) : GLIBC_PTHREAD_TID_OFFSET;
  } catch {
    return GLIBC_PTHREAD_TID_OFFSET;
  } finally {
    elf?.close();
  }
}

/** The kernel tid of a pthread, if the memory there holds one of `knownTids`. */
export function tidOfPthread(memory: MemorySource, pthread: bigint, tidOffset: number, knownTids: ReadonlySet<number>): number | undefined {
  if (pthread === 0n) return undefined;
  try {
    const tid = memory.readI32(pthread + BigInt(tidOffset));
    return knownTids.has(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}
