/** The command table: the order here is the order in --help. */
import type { CommandEntry } from './spec.js';
import { psCommand } from './ps.js';
import { diagnoseCommand } from './diagnose.js';
import { reportCommand } from './report.js';
import { demoCommand } from './demo.js';
import { rssCommand } from './rss.js';
import { execCommand } from './exec.js';
import { shellCommand } from './shell.js';
import { stacksCommand } from './stacks.js';
import { coreCommand } from './core.js';
import { runCommand } from './run.js';
import { compareCommand } from './compare.js';
import { mallocCommand } from './malloc.js';
import { trimCommand } from './trim.js';
import { heapCommand } from './heap.js';
import { growthCommand } from './growth.js';
import { gcCommand } from './gc.js';
import { refsCommand } from './refs.js';
import { dumpCommand } from './dump.js';
import { analyzeCommand } from './analyze.js';
import { watchCommand } from './watch.js';

export const COMMANDS: readonly CommandEntry[] = [
  diagnoseCommand,
  reportCommand,
  demoCommand,
  psCommand,
  rssCommand,
  execCommand,
  shellCommand,
  stacksCommand,
  coreCommand,
  runCommand,
  compareCommand,
  mallocCommand,
  trimCommand,
  heapCommand,
  growthCommand,
  gcCommand,
  refsCommand,
  dumpCommand,
  analyzeCommand,
  watchCommand,
];
