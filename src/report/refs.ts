/** Renders `memwhy refs`: who holds instances of a type, one chain per sample, verdict first. */
import type { Chain, RefsResult } from '../collect/refs.js';
import { formatBytes } from '../util/units.js';

/** `maxDepthFlag`: the command's option for deeper walks, as it names it ("--max-depth"), for the hint. */
export function renderRefs(pid: number, r: RefsResult, maxDepthFlag?: string): string {
  const name = r.matched.length === 1 ? r.matched[0]! : r.type;
  let out = `pid ${pid}: ${r.instances} live ${name} object${r.instances === 1 ? '' : 's'}`;
  const roots = summarizeRoots(r.chains, maxDepthFlag);
  out += roots ? `; ${roots}\n` : '\n';
  if (r.matched.length > 1) out += `matched ${r.matched.join(', ')}\n`;
  r.chains.forEach((c, i) => {
    const kept = c.kept_bytes === undefined ? '' : `, keeps ${formatBytes(c.kept_bytes)} alive in ${(c.kept_objects ?? 1).toLocaleString('en')} object${c.kept_objects === 1 ? '' : 's'}`;
    out += `\nsample ${i + 1} (${c.sample}${kept})${c.complete ? '' : ': no root within reach; the deepest path found'}:\n`;
    out += '  ' + c.hops.map((h) => h.label).join('\n    -> ') + '\n';
  });
  out += `\n(walked in ${r.elapsed_ms.toFixed(0)} ms)\n`;
  return out;
}

/** "held by module app.cache (3 of 3 samples)": the root most chains share. */
function summarizeRoots(chains: readonly Chain[], maxDepthFlag: string | undefined): string {
  const complete = chains.filter((c) => c.complete && c.hops.length > 0);
  if (chains.length === 0) return '';
  if (complete.length === 0) return `no sample reached a root (held from C code, or deeper than ${maxDepthFlag ?? 'the depth limit'})`;
  const counts = new Map<string, number>();
  for (const c of complete) {
    const root = c.hops[0]!;
    // A module global reads as the name that holds the chain: the likeliest fix.
    const key = root.kind === 'module' && root.edge && !root.edge.startsWith('[') ? `${root.label} global ${root.edge}` : root.label;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [best, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return `held by ${best} (${n} of ${chains.length} sample${chains.length === 1 ? '' : 's'})`;
}
