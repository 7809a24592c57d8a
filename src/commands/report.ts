/** `memwhy report DIR`: analyse evidence saved by `diagnose --save`, anywhere, later. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvidenceError, parseEvidence, type Evidence } from '../evidence/evidence.js';
import { diagnose } from '../analyze/verdict.js';
import { UserError } from '../errors.js';
import { emitDiagnosis } from './reportOutput.js';
import { defineCommand, FORCE_OPTION } from './spec.js';
import { checkOutputFile, EVIDENCE_FILE } from '../util/outputFile.js';

export function readEvidence(dir: string): Evidence {
  const path = join(dir, EVIDENCE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message} (make it with memwhy diagnose PID --save ${dir})`);
  }
  try {
    return parseEvidence(text);
  } catch (err) {
    if (err instanceof EvidenceError) throw new UserError(`${path} is not evidence memwhy can read: ${err.message}`);
    throw err;
  }
}

export const reportCommand = defineCommand({
  name: 'report',
  args: '<dir>',
  summary: 'analyse evidence saved by `memwhy diagnose --save DIR`',
  options: [{ flags: '--html <file>', description: 'also write a self-contained HTML report' }, FORCE_OPTION],
  async run(args, opts) {
    if (opts.html) checkOutputFile(opts.html, { force: opts.force });
    await emitDiagnosis(diagnose(readEvidence(args[0]!)), opts);
    return 0;
  },
});
