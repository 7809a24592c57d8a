/** The command table: the order here is the order in --help. */
import type { CommandSpec } from './spec.js';
import { psCommand } from './ps.js';
import { rssCommand } from './rss.js';

export const COMMANDS: CommandSpec<never>[] = [
  psCommand,
  rssCommand,
];
