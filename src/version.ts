/** memwhy's own version, from package.json (in the package or the single executable: installation.ts). */
import { readPackageFile } from './installation.js';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const text = readPackageFile('package.json');
    if (text === undefined) throw new Error("memwhy's package.json is missing");
    cached = (JSON.parse(text) as { version: string }).version;
  }
  return cached;
}
