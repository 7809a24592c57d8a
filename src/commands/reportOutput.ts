/** Prints a diagnosis as the user asked: terminal text or JSON on stdout, and an HTML file. */
import type { Diagnosis } from '../analyze/diagnosis.js';
import { renderDiagnosisText } from '../report/diagnosis.js';
import { writeOutputFile } from '../util/outputFile.js';
import { printJson } from './spec.js';

export async function writeHtmlReport(d: Diagnosis, path: string, opts: { force?: boolean } = {}): Promise<void> {
  // Loaded only when asked for: the viewer bundle is the largest file memwhy reads.
  const { loadViewerAssets, renderDiagnosisHtml } = await import('../report/diagnosisHtml.js');
  writeOutputFile(path, renderDiagnosisHtml(d, loadViewerAssets()), { force: opts.force });
}

export async function emitDiagnosis(d: Diagnosis, opts: { json?: boolean; html?: string; force?: boolean }): Promise<void> {
  if (opts.html) {
    await writeHtmlReport(d, opts.html, { force: opts.force });
    process.stderr.write(`memwhy: report written to ${opts.html}\n`);
  }
  if (opts.json) printJson(d);
  else process.stdout.write(renderDiagnosisText(d, { color: Boolean(process.stdout.isTTY), width: process.stdout.columns }));
}
