/** The command table: the order here is the order in --help. */
import type { CommandSpec } from './spec.js';
import { psCommand } from './ps.js';
import { rssCommand } from './rss.js';
import { execCommand } from './exec.js';
import { shellCommand } from './shell.js';
import { stacksCommand } from './stacks.js';
import { coreCommand } from './core.js';
import { runCommand } from './run.js';
import { compareCommand } from './compare.js';

export const COMMANDS: CommandSpec<never>[] = [
  psCommand,
  rssCommand,
  execCommand,
  shellCommand,
  stacksCommand,
  coreCommand,
  runCommand,
  compareCommand,
];
