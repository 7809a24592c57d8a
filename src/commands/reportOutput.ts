/** Prints a diagnosis as the user asked: terminal text or JSON on stdout, and an HTML file. */
import type { Diagnosis } from '../analyze/diagnosis.js';
import { renderDiagnosisText } from '../report/diagnosis.js';
import { writeAtomic } from './diagnose.js';
import { printJson } from './spec.js';

export async function writeHtmlReport(d: Diagnosis, path: string): Promise<void> {
  // Loaded only when asked for: the viewer bundle is the largest file memwhy reads.
  const { loadViewerAssets, renderDiagnosisHtml } = await import('../report/diagnosisHtml.js');
  writeAtomic(path, renderDiagnosisHtml(d, loadViewerAssets()));
}

export async function emitDiagnosis(d: Diagnosis, opts: { json?: boolean; html?: string }): Promise<void> {
  if (opts.html) {
    await writeHtmlReport(d, opts.html);
    process.stderr.write(`memwhy: report written to ${opts.html}\n`);
  }
  if (opts.json) printJson(d);
  else process.stdout.write(renderDiagnosisText(d, { color: Boolean(process.stdout.isTTY), width: process.stdout.columns }));
}
