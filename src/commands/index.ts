/** The command table: the order here is the order in --help. */
import type { CommandSpec } from './spec.js';

export const COMMANDS: CommandSpec<never>[] = [];
