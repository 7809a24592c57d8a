/** `memwhy report DIR`: analyse evidence saved by `diagnose --save`, anywhere, later. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVIDENCE_FORMAT, type Evidence } from '../collect/diagnose.js';
import { diagnose } from '../analyze/verdict.js';
import { UserError } from '../errors.js';
import { emitDiagnosis } from './reportOutput.js';
import type { CommandSpec } from './spec.js';

export function readEvidence(dir: string): Evidence {
  const path = join(dir, 'evidence.json');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message} (make it with memwhy diagnose PID --save ${dir})`);
  }
  if (typeof data !== 'object' || data === null || (data as { format?: unknown }).format !== EVIDENCE_FORMAT) {
    throw new UserError(`${path} is not memwhy evidence (${EVIDENCE_FORMAT})`);
  }
  return data as Evidence;
}

export const reportCommand: CommandSpec<{ json?: boolean; html?: string }> = {
  name: 'report',
  args: '<dir>',
  summary: 'analyse evidence saved by `memwhy diagnose --save DIR`',
  options: [{ flags: '--html <file>', description: 'also write a self-contained HTML report' }],
  async run(args, opts) {
    await emitDiagnosis(diagnose(readEvidence(args[0]!)), opts);
    return 0;
  },
};
