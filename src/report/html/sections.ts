/**
 * The report's sections drawn as cards and tables: the header, the verdict,
 * where the memory is, the growing types and allocation sites, what to do,
 * every signal, the collector, the trim test and the notes. (The timeline
 * and the referrer graph, which draw charts, have files of their own.)
 */
import type { AllocationSite, BreakdownLine, CauseFinding, Diagnosis, Suspect } from '../../analyze/diagnosis.js';
import { h, type Child } from './dom.js';
import { bytesDelta, bytesRate, count, countDelta, countRate, formatBytes, INT, ms, numberByKey, percent, windowText } from './format.js';
import { bar, causeBadge, dl, notMeasured, section, table, type Column } from './layout.js';
import { dotted, pathCode, prose, withPaths } from './text.js';

export function header(d: Diagnosis): HTMLElement {
  const cmd = d.cmdline.join(' ');
  return h(
    'header',
    { class: 'meta' },
    h('span', { class: 'brand' }, 'memwhy'),
    h('span', null, `pid ${d.pid}`),
    h('span', null, `Python ${d.python.version}`),
    cmd ? h('code', { class: 'cmd', title: cmd }, cmd) : null,
    h('span', null, windowText(d.window)),
  );
}

/**
 * The verdict's summary: one sentence, or two when a second cause is close
 * behind ("... Thread leak also grows: ..."). The second starts its own line,
 * so each reads as a sentence; the space between them stays in the text, so a
 * copy reads as the summary does in the JSON.
 */
function summaryText(summary: string): Child[] {
  const m = /\.(\s+)(?=[A-Z][A-Za-z -]* also grows: )/.exec(summary);
  if (!m) return prose(summary);
  const cut = m.index + 1;
  return [h('span', { class: 'main' }, ...prose(summary.slice(0, cut))), m[1], h('span', { class: 'also' }, ...prose(summary.slice(cut + m[1]!.length)))];
}

export function verdict(d: Diagnosis): HTMLElement {
  const v = d.verdict;
  const dots = { high: '●●●', medium: '●●○', low: '●○○' }[v.confidence];
  return h(
    'section',
    { id: 'verdict', class: `verdict cause-${v.cause}`, 'aria-label': 'verdict' },
    h(
      'div',
      { class: 'verdict-head' },
      causeBadge(v.cause),
      h('span', { class: `confidence ${v.confidence}`, title: 'how strongly the evidence points at this cause' }, h('span', { class: 'dots' }, dots), ` ${v.confidence} confidence`),
    ),
    h('p', { class: 'summary' }, ...summaryText(v.summary)),
    v.evidence.length ? h('ul', { class: 'evidence' }, ...v.evidence.map((e) => h('li', null, ...withPaths(e)))) : null,
    v.other_causes.length
      ? h('div', { class: 'others' }, h('h3', null, 'Also found'), h('ul', null, ...v.other_causes.map((o) => h('li', null, causeBadge(o.cause, true), ' ', ...withPaths(o.summary)))))
      : null,
  );
}

export function breakdown(d: Diagnosis): HTMLElement {
  if (!d.breakdown.length) return section('breakdown', 'Where the memory is', notMeasured(d, /breakdown|smaps|rss/i));
  const whole = d.breakdown.find((l) => l.depth === 0 && l.bytes !== null)?.bytes ?? Math.max(1, ...d.breakdown.map((l) => l.bytes ?? 0));
  const row = (l: BreakdownLine): HTMLTableRowElement => {
    const name = h('td', { class: `label depth-${Math.min(l.depth, 6)}` }, ...withPaths(l.label));
    name.style.paddingLeft = `${0.75 + l.depth * 1.4}rem`;
    return h(
      'tr',
      { class: l.depth === 0 ? 'total' : undefined },
      name,
      h('td', { class: 'num' }, l.bytes === null ? h('span', { class: 'muted' }, 'not measured') : formatBytes(l.bytes)),
      h(
        'td',
        { class: 'barcell' },
        l.bytes === null ? null : bar(l.bytes / whole, `d${Math.min(l.depth, 3)}`),
        l.bytes === null ? null : h('span', { class: 'pct' }, percent(l.bytes / whole)),
      ),
      h('td', { class: 'source' }, ...withPaths(l.source)),
    );
  };
  const columns: Column[] = [
    ['Component', 'label'],
    ['Size', 'num'],
    ['Share of RSS', 'barcell'],
    ['Measured by', 'source'],
  ];
  return section('breakdown', 'Where the memory is', table(columns, d.breakdown.map(row), 'breakdown'));
}

/**
 * The referrer chain as chips joined by arrows. The arrows are text, not
 * decoration, so a copy reads "module app.cache → dict _SESSIONS → app.Session";
 * each arrow sits in the link it leads to, so a wrapped line starts with one
 * (no-break spaces around it: a space at the edge of an inline block is dropped).
 */
function pathChips(path: string[]): HTMLElement {
  return h('ol', { class: 'path' }, ...path.map((p, i) => h('li', null, i ? h('span', { class: 'arrow' }, '\u00a0→\u00a0') : null, h('code', null, ...withPaths(p, '.')))));
}

/** What the path's holder retains in the heap dump taken at the end. */
function holderLine(holder: NonNullable<Suspect['holder']>): HTMLElement {
  return h(
    'div',
    { class: 'muted retained' },
    h('code', null, ...withPaths(holder.label, '.')),
    ` retains ${formatBytes(holder.bytes)} in ${INT.format(holder.objects)} objects, ${percent(holder.share)} of the heap dump`,
  );
}

export function suspects(d: Diagnosis): HTMLElement {
  const title = 'Growing types';
  if (!d.heap && !d.suspects.length) return section('suspects', title, notMeasured(d, /heap|census|could not attach|ptrace|python object/i));
  if (!d.suspects.length) return section('suspects', title, h('p', { class: 'muted' }, 'No type grew over the window.'));
  const most = Math.max(1, ...d.suspects.map((x) => Math.abs(x.bytes_delta)));
  const row = (x: Suspect): HTMLTableRowElement =>
    h(
      'tr',
      null,
      h('td', { class: 'type' }, h('code', null, ...dotted(x.type))),
      h('td', { class: 'num' }, countDelta(x.count_delta)),
      h('td', { class: 'num growth' }, h('span', null, bytesDelta(x.bytes_delta)), bar(Math.abs(x.bytes_delta) / most, 'warm')),
      h('td', { class: 'num rate' }, h('div', null, countRate(x.count_per_s)), h('div', { class: 'muted' }, bytesRate(x.bytes_per_s))),
      h('td', { class: 'site' }, x.site ? pathCode(x.site) : h('span', { class: 'muted' }, 'unknown')),
      h('td', { class: 'held' }, x.path?.length ? pathChips(x.path) : h('span', { class: 'muted' }, 'not traced'), x.holder ? holderLine(x.holder) : null),
    );
  const columns: Column[] = [
    ['Type', 'type'],
    ['Δ count', 'num count'],
    ['Δ size', 'num growth'],
    ['Rate', 'num rate'],
    ['Allocated at', 'site'],
    ['Held by (from a root)', 'held'],
  ];
  return section('suspects', title, table(columns, d.suspects.map(row), 'suspects'));
}

export function sites(d: Diagnosis): HTMLElement {
  const title = 'Allocation sites (tracemalloc)';
  if (d.allocation_sites === null) return section('sites', title, notMeasured(d, /tracemalloc|allocation site/i));
  if (!d.allocation_sites.length) return section('sites', title, h('p', { class: 'muted' }, 'No allocation site grew over the window.'));
  const row = (a: AllocationSite): HTMLTableRowElement => {
    const frames = a.traceback ?? [];
    const where =
      frames.length > 1 ? h('details', null, h('summary', null, pathCode(a.site)), h('ol', { class: 'traceback' }, ...frames.map((f) => h('li', null, pathCode(f))))) : pathCode(a.site);
    return h(
      'tr',
      null,
      h('td', { class: 'site' }, where),
      h('td', { class: 'num' }, bytesDelta(a.size_diff)),
      h('td', { class: 'num' }, countDelta(a.count_diff, 'blocks')),
      h('td', { class: 'num' }, formatBytes(a.size)),
      h('td', { class: 'num' }, count(a.count, 'blocks')),
    );
  };
  const columns: Column[] = [
    ['Site', 'site'],
    ['Δ size', 'num'],
    ['Δ count', 'num'],
    ['Size now', 'num'],
    ['Count now', 'num'],
  ];
  return section('sites', title, table(columns, d.allocation_sites.map(row), 'sites'));
}

async function copyText(text: string, fallbackFrom: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // file:// pages in some browsers have no clipboard API: select the text and use the old command.
    const range = document.createRange();
    range.selectNodeContents(fallbackFrom);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    document.execCommand('copy');
  }
}

export function recommendations(d: Diagnosis): HTMLElement {
  if (!d.recommendations.length) return section('recommendations', 'What to do', h('p', { class: 'muted' }, 'memwhy made no recommendation.'));
  const item = (text: string): HTMLElement => {
    const code = h('code', null, text);
    const button = h('button', { type: 'button', class: 'copy', title: 'copy to the clipboard' }, 'Copy');
    button.addEventListener('click', () => {
      void copyText(text, code).then(() => {
        button.textContent = 'Copied';
        setTimeout(() => (button.textContent = 'Copy'), 1500);
      });
    });
    return h('li', { class: 'rec' }, h('pre', null, code), button);
  };
  return section('recommendations', 'What to do', h('ol', { class: 'recs' }, ...d.recommendations.map(item)));
}

export function signals(d: Diagnosis): HTMLElement | null {
  if (!d.findings.length) return null;
  const statusText = { issue: 'issue', none: 'none', 'insufficient-data': 'no data' };
  const row = (f: CauseFinding): HTMLTableRowElement => {
    const nums = Object.entries(f.numbers);
    return h(
      'tr',
      { class: `status-${f.status}` },
      h('td', { class: 'cause' }, causeBadge(f.cause, true)),
      h('td', { class: 'state' }, h('span', { class: `status ${f.status}` }, statusText[f.status])),
      h('td', { class: 'num score' }, bar(f.score, f.status === 'issue' ? 'warm' : 'cool'), h('span', { class: 'pct' }, percent(f.score))),
      h(
        'td',
        { class: 'saw' },
        h('div', null, ...withPaths(f.summary)),
        nums.length ? h('div', { class: 'numbers' }, ...nums.map(([k, v]) => h('span', null, h('span', { class: 'k' }, k.replace(/_/g, ' ')), ' ', numberByKey(k, v)))) : null,
      ),
    );
  };
  const columns: Column[] = [
    ['Cause', 'cause'],
    ['Status', 'state'],
    ['Score', 'num score'],
    ['What it saw', 'saw'],
  ];
  return section('signals', 'Every signal checked', table(columns, d.findings.map(row), 'signals'));
}

export function collector(d: Diagnosis): HTMLElement {
  const gc = d.gc;
  if (!gc) return section('gc', 'Garbage collector', notMeasured(d, /\bgc\b|garbage collector|collector/i));
  return section(
    'gc',
    'Garbage collector',
    dl([
      ['Enabled', gc.enabled ? 'yes' : h('strong', { class: 'warn' }, 'no: gc.disable() was called, cycles are never freed')],
      ['Thresholds', gc.thresholds.length ? `${gc.thresholds.map((x) => INT.format(x)).join(' / ')} (allocations, gen 0 / 1 / 2)` : 'none'],
      ['Collections', gc.collections ? gc.collections.map((c, i) => `gen ${i}: ${count(c, 'runs')}`).join(' · ') : 'not measured'],
      ['gc.garbage', `${count(gc.garbage_start)} → ${count(gc.garbage_end)}`],
      ['Uncollectable', gc.uncollectable === null ? 'not measured' : count(gc.uncollectable)],
    ]),
  );
}

export function trim(d: Diagnosis): HTMLElement {
  const t = d.trim;
  if (!t) return section('trim', 'malloc_trim test', notMeasured(d, /trim/i));
  const share = t.rss_before > 0 ? ` (${percent(t.released / t.rss_before)} of RSS)` : '';
  return section(
    'trim',
    'malloc_trim test',
    dl([
      ['Released', `${formatBytes(t.released)}${share}`],
      ['RSS', `${formatBytes(t.rss_before)} → ${formatBytes(t.rss_after)}`],
      ['Paused the process', ms(t.pause_ms)],
    ]),
  );
}

export function notes(d: Diagnosis): HTMLElement | null {
  if (!d.notes.length) return null;
  return section('notes', 'Notes', h('ul', { class: 'notes' }, ...d.notes.map((n) => h('li', null, ...withPaths(n)))));
}
