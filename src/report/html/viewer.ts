/**
 * The viewer of `memwhy diagnose`'s HTML report: a browser script, bundled
 * with its libraries at package build time (scripts/build-viewer.mjs) and
 * inlined into the page by src/report/diagnosisHtml.ts. It reads the
 * Diagnosis from the page's JSON block and draws it, verdict first.
 *
 * Every string from the data goes in through textContent (never innerHTML):
 * type names, labels and paths come from the target process.
 *
 * Long paths are shortened on screen (src/report/html/paths.ts) but kept
 * whole in the page: the cut-off prefix stays in the DOM at zero size, so a
 * select-and-copy gives the full path, and the full path is the element's
 * title. A copy whose selection ends inside a shortened path is widened to the
 * whole path (widenCopyToWholePaths), so dragging over the visible part is enough.
 */
import uPlot from 'uplot';
import dagre from '@dagrejs/dagre';
import type { AllocationSite, BreakdownLine, Cause, CauseFinding, Diagnosis, Suspect } from '../../analyze/diagnosis.js';
import { formatSeconds } from '../../util/units.js';
import { CAUSE_LABEL, DATA_ELEMENT_ID, ROOT_ELEMENT_ID } from './shared.js';
import { isShortened, shortenPath, shortenPathsIn, shownText, splitPaths, type PathPart } from './paths.js';

// --- DOM helpers -------------------------------------------------------------------

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

// --- long paths and names ---------------------------------------------------------------

/**
 * Text with a line-break opportunity (<wbr>, which adds no text to a copy)
 * after each joint character, so `sqlalchemy.orm.state.InstanceState` or a
 * path wraps at its dots or slashes before the browser breaks inside a word.
 */
function breakable(text: string, joints: string): Child[] {
  const out: Child[] = [];
  let from = 0;
  for (let i = 0; i < text.length - 1; i++) {
    if (!joints.includes(text[i]!)) continue;
    out.push(text.slice(from, i + 1), h('wbr', null));
    from = i + 1;
  }
  out.push(text.slice(from));
  return out;
}

/** The class of an element that holds one shortened path (and has it whole in its title). */
const SHORT = 'short';

function pathParts(parts: readonly PathPart[]): Child[] {
  return parts.flatMap((p): Child[] =>
    p.elided
      ? [p.marker ? h('span', { class: 'elision', 'data-marker': p.marker, 'aria-hidden': 'true' }) : null, h('span', { class: 'elided' }, p.text)]
      : breakable(p.text, '/'),
  );
}

/** A `file:line` cell: shortened on screen, whole in the title and in a copy. */
function pathCode(path: string): HTMLElement {
  const parts = shortenPath(path);
  const short = isShortened(parts);
  return h('code', { class: short ? `path-text ${SHORT}` : 'path-text', title: short ? path : undefined }, ...pathParts(parts));
}

/**
 * Free text (a label, a sentence) with any long absolute path in it shortened,
 * each with its own title; `joints` adds break opportunities to the rest (`.`
 * for a referrer label full of dotted names).
 */
function withPaths(text: string, joints = ''): Child[] {
  return splitPaths(text).flatMap((piece): Child[] => {
    if (!piece.isPath) return joints ? breakable(piece.text, joints) : [piece.text];
    const parts = shortenPath(piece.text);
    return isShortened(parts) ? [h('span', { class: SHORT, title: piece.text }, ...pathParts(parts))] : breakable(piece.text, '/');
  });
}

/** A dotted name (a type, a module) that may wrap at its dots. */
const dotted = (name: string): Child[] => breakable(name, '.');

/**
 * A selection that starts or ends inside a shortened path would copy only the
 * visible tail (or only the hidden head): widen it to the whole path first.
 * The browser copies the selection as it is after the copy event's listeners.
 */
function widenCopyToWholePaths(): void {
  document.addEventListener('copy', () => {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount !== 1 || sel.isCollapsed) return;
    const range = sel.getRangeAt(0);
    const shortAround = (n: Node): Element | null => (n instanceof Element ? n : n.parentElement)?.closest(`.${SHORT}`) ?? null;
    const first = shortAround(range.startContainer);
    const last = shortAround(range.endContainer);
    if (!first && !last) return;
    const wide = range.cloneRange();
    if (first) wide.setStartBefore(first);
    if (last) wide.setEndAfter(last);
    sel.removeAllRanges();
    sel.addRange(wide);
  });
}

// --- numbers with units ---------------------------------------------------------------

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const DEC1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

const BYTE_UNIT_NAMES = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * As src/util/units.ts's formatBytes, with one more digit below 10 GiB:
 * in a report of a 1.4 GiB process, "1.43 GiB → 1.68 GiB" shows the growth.
 */
function formatBytes(n: number): string {
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNIT_NAMES.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 ? 0 : i >= 3 && v < 10 ? 2 : 1;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)} ${BYTE_UNIT_NAMES[i]}`;
}

const plus = (n: number): string => (n > 0 ? '+' : '');
const count = (n: number, unit = 'obj'): string => `${INT.format(n)} ${unit}`;
const countDelta = (n: number, unit = 'obj'): string => `${plus(n)}${count(n, unit)}`;
const bytesDelta = (n: number): string => `${plus(n)}${formatBytes(n)}`;
const countRate = (n: number, unit = 'obj'): string => `${plus(n)}${Math.abs(n) >= 1000 ? INT.format(n) : DEC1.format(n)} ${unit}/s`;
const bytesRate = (n: number): string => `${plus(n)}${formatBytes(n)}/s`;
const ms = (n: number): string => `${Math.abs(n) >= 100 ? INT.format(n) : DEC1.format(n)} ms`;
const percent = (f: number): string => `${Math.round(f * 100)}%`;

/**
 * A finding's raw numbers carry no units, so read them off the key's name,
 * the convention the analysers follow (`rss_growth_bytes`, `pause_ms`).
 */
function numberByKey(key: string, v: number | null): string {
  if (v === null) return 'not measured';
  const k = key.toLowerCase();
  if (/bytes_per_s$|bytes_s$/.test(k)) return bytesRate(v);
  if (/per_min$/.test(k)) return `${DEC1.format(v)}/min`;
  if (/per_s$/.test(k)) return `${DEC1.format(v)}/s`;
  if (/bytes$|_size$|^size$|^rss(_start|_end)?$/.test(k)) return formatBytes(v);
  if (/_ms$/.test(k)) return ms(v);
  if (/_s$|seconds$|duration$/.test(k)) return formatSeconds(v);
  if (k === 'r2') return `r² ${v.toFixed(2)}`;
  if (/ratio$|share$|fraction$|score$/.test(k)) return percent(v);
  if (/threads$|^threads_(start|end)$/.test(k)) return `${INT.format(v)} threads`;
  if (/count$|objects$|instances$|uncollectable$|garbage$/.test(k)) return count(v);
  return Number.isInteger(v) ? INT.format(v) : v.toPrecision(3);
}

function windowText(w: Diagnosis['window']): string {
  const at = (iso: string): string => {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? iso : new Date(t).toISOString().replace('T', ' ').slice(0, 19);
  };
  return `${at(w.start)} → ${at(w.end).slice(11)} UTC (${formatSeconds(w.duration_s)})`;
}

// --- sections ---------------------------------------------------------------------

function section(id: string, title: string, ...content: Child[]): HTMLElement {
  return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

function causeBadge(cause: Cause, small = false): HTMLElement {
  return h('span', { class: `badge cause-${cause}${small ? ' small' : ''}`, title: cause }, CAUSE_LABEL[cause] ?? cause);
}

/** "Not measured", with the notes that say why when there are any. */
function notMeasured(d: Diagnosis, about: RegExp): HTMLElement {
  const why = d.notes.filter((n) => about.test(n));
  return h('p', { class: 'not-measured' }, h('strong', null, 'Not measured.'), why.length ? ` ${why.join(' ')}` : null);
}

/** A column: its heading, and the class its <col> and <th> carry (the stylesheet gives the text columns their shares). */
type Column = [title: string, cls: string];

/**
 * A table whose text cells wrap anywhere (viewer.css): a long path wraps
 * inside its column instead of pushing the table past its card.
 */
function table(columns: Column[], rows: HTMLTableRowElement[], cls: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: cls },
      h('colgroup', null, ...columns.map(([, c]) => h('col', { class: c }))),
      h('thead', null, h('tr', null, ...columns.map(([t, c]) => h('th', { class: c }, t)))),
      h('tbody', null, ...rows),
    ),
  );
}

function bar(fraction: number, cls = ''): HTMLElement {
  const fill = h('span', { class: `fill ${cls}` });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return h('span', { class: 'bar' }, fill);
}

function header(d: Diagnosis): HTMLElement {
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
 * A sentence with break opportunities only where a reader expects a line to
 * break: after the dots of a dotted name (`app.cache._SESSIONS`), not the dot
 * of `2.6 MiB` or a sentence's end; paths are shortened as everywhere else.
 */
function prose(text: string): Child[] {
  const isName = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
  return splitPaths(text).flatMap((piece): Child[] => {
    if (piece.isPath) return withPaths(piece.text);
    const out: Child[] = [];
    let from = 0;
    const t = piece.text;
    for (let i = 1; i < t.length - 1; i++) {
      if (t[i] !== '.' || !isName(t[i - 1]) || !/[A-Za-z_]/.test(t[i + 1]!)) continue;
      out.push(t.slice(from, i + 1), h('wbr', null));
      from = i + 1;
    }
    out.push(t.slice(from));
    return out;
  });
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

function verdict(d: Diagnosis): HTMLElement {
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
      ? h(
          'div',
          { class: 'others' },
          h('h3', null, 'Also found'),
          h('ul', null, ...v.other_causes.map((o) => h('li', null, causeBadge(o.cause, true), ' ', ...withPaths(o.summary)))),
        )
      : null,
  );
}

function stat(label: string, value: string, detail?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), detail ? h('div', { class: 'stat-detail' }, detail) : null);
}

function timeline(d: Diagnosis, mount: (fn: () => void) => void): HTMLElement {
  const r = d.rss;
  const stats = h(
    'div',
    { class: 'stats' },
    stat('RSS', `${formatBytes(r.start)} → ${formatBytes(r.end)}`, `${bytesDelta(r.end - r.start)} in ${formatSeconds(d.window.duration_s)}`),
    stat('Growth rate', bytesRate(r.slope), r.r2 === null ? 'fit not measured' : `least squares, r² ${r.r2.toFixed(2)}`),
    stat('Threads', `${INT.format(d.threads.start)} → ${INT.format(d.threads.end)}`, `${plus(d.threads.slope_per_min)}${DEC1.format(d.threads.slope_per_min)} threads/min`),
    d.heap
      ? stat(
          'Python heap',
          `${formatBytes(d.heap.start.bytes)} → ${formatBytes(d.heap.end.bytes)}`,
          `${count(d.heap.start.count)} → ${count(d.heap.end.count)}; longest census pause ${ms(d.heap.pause_ms)}`,
        )
      : stat('Python heap', 'not measured'),
  );
  const chart = h('div', { class: 'chart', id: 'timeline-chart' });
  const steps = r.samples.length >= 2 ? labelSteps(r.steps ?? []) : [];
  const key = steps.length ? stepsKey(steps) : null;
  if (r.samples.length >= 2) mount(() => drawTimeline(chart, r, steps, key?.hover ?? null));
  else chart.append(h('p', { class: 'not-measured' }, h('strong', null, 'Too few samples to draw.'), ` ${r.samples.length} RSS sample(s) taken.`));
  // The RSS memwhy's in-target steps added is in the samples drawn, but not in the slope.
  const added = r.memwhy_steps_bytes ?? 0;
  const note = added
    ? h(
        'p',
        { class: 'steps-note' },
        `memwhy's own steps ${added > 0 ? `added ${formatBytes(added)}` : `changed RSS by ${formatBytes(added)}`} inside the target; taken out of the fitted slope`,
      )
    : null;
  return section('timeline', 'RSS and threads over time', stats, chart, key?.el, note);
}

// --- memwhy's own steps on the timeline ----------------------------------------------------

type Step = NonNullable<Diagnosis['rss']['steps']>[number];
interface LabelledStep {
  step: Step;
  /** "memwhy: census (2 of 5), in a forked child" */
  label: string;
}

const stepWhere = (st: Step): string => (st.in_target ? 'inside the target' : 'in a forked child');

/** Each step with its label, numbered in time order among the steps of its kind. */
function labelSteps(steps: readonly Step[]): LabelledStep[] {
  const sorted = [...steps].sort((a, b) => a.start_s - b.start_s);
  const total = new Map<string, number>();
  for (const st of sorted) total.set(st.what, (total.get(st.what) ?? 0) + 1);
  const seen = new Map<string, number>();
  return sorted.map((step) => {
    const n = (seen.get(step.what) ?? 0) + 1;
    seen.set(step.what, n);
    return { step, label: `memwhy: ${step.what} (${n} of ${total.get(step.what)}), ${stepWhere(step)}` };
  });
}

/**
 * The key under the chart: one swatch per kind of band drawn, and a line that
 * names the step under the cursor (the bands sit under uPlot's cursor layer,
 * so a title alone would never show on hover).
 */
function stepsKey(steps: readonly LabelledStep[]): { el: HTMLElement; hover: HTMLElement } {
  const kinds = [
    { in_target: false, text: 'memwhy in a forked child: touched nothing in the target' },
    { in_target: true, text: 'memwhy inside the target: may have moved its RSS' },
  ];
  // A line of its own that keeps its height when empty, so the page does not jump as the cursor crosses a band.
  const hover = h('p', { class: 'step-hover', 'aria-live': 'polite' });
  const el = h(
    'div',
    { class: 'steps-key' },
    h(
      'ul',
      { class: 'legend' },
      ...kinds.map((k) => {
        const n = steps.filter((x) => x.step.in_target === k.in_target).length;
        return n ? h('li', null, h('span', { class: `step-swatch${k.in_target ? ' in-target' : ''}` }), `${k.text} (${INT.format(n)})`) : null;
      }),
    ),
    hover,
  );
  return { el, hover };
}

// --- the timeline chart ---------------------------------------------------------------

function drawTimeline(el: HTMLElement, r: Diagnosis['rss'], steps: readonly LabelledStep[], hover: HTMLElement | null): void {
  const t = r.samples.map((x) => x[0]);
  const maxBytes = Math.max(1, ...r.samples.map((x) => Math.max(x[1], x[2])));
  // Plot in one unit picked from the peak, so uPlot's round ticks are round MiB, not round bytes.
  const power = Math.min(BYTE_UNIT_NAMES.length - 1, Math.floor(Math.log(maxBytes) / Math.log(1024)));
  const unit = 1024 ** power;
  const unitName = BYTE_UNIT_NAMES[power]!;
  const tSpan = t[t.length - 1]! - t[0]!;
  const [tUnit, tName] = tSpan > 3 * 3600 ? [3600, 'h'] : tSpan > 180 ? [60, 'min'] : [1, 's'];

  // The least-squares line through the samples with the slope the analysis reported.
  const meanT = t.reduce((a, b) => a + b, 0) / t.length;
  const meanR = r.samples.reduce((a, x) => a + x[1], 0) / t.length;
  const trend = t.map((x) => (meanR + r.slope * (x - meanT)) / unit);

  const data: uPlot.AlignedData = [
    t.map((x) => x / tUnit),
    r.samples.map((x) => x[1] / unit),
    r.samples.map((x) => x[2] / unit),
    trend,
    r.samples.map((x) => x[3]),
  ];
  // memwhy's steps: a band each under the series (in uPlot's .u-under, which the canvas covers with its transparent plot).
  const bands = steps.map(({ step, label }) =>
    h('div', {
      class: `step-band${step.in_target ? ' in-target' : ''}`,
      'data-what': step.what,
      'data-in-target': String(step.in_target),
      'data-start-s': String(step.start_s),
      'data-end-s': String(step.end_s),
      'data-label': label,
      title: `${label}, at ${formatSeconds(step.start_s)} for ${formatSeconds(Math.max(0, step.end_s - step.start_s))}`,
    }),
  );
  // A census lasts a fraction of a second in a window of minutes: never narrower than this, or it vanishes.
  const MIN_BAND_PX = 4;
  const placeBands = (u: uPlot): void => {
    const width = u.bbox.width / uPlot.pxRatio;
    bands.forEach((band, i) => {
      const { step } = steps[i]!;
      let x0 = Math.max(0, Math.min(width, u.valToPos(step.start_s / tUnit, 'x')));
      let x1 = Math.max(0, Math.min(width, u.valToPos(step.end_s / tUnit, 'x')));
      if (x1 - x0 < MIN_BAND_PX) {
        const mid = (x0 + x1) / 2;
        x0 = Math.max(0, mid - MIN_BAND_PX / 2);
        x1 = Math.min(width, x0 + MIN_BAND_PX);
      }
      band.style.left = `${x0}px`;
      band.style.width = `${x1 - x0}px`;
      if (band.parentNode !== u.under) u.under.append(band);
    });
  };
  const showStepAt = (left: number): void => {
    if (!hover) return;
    // The cursor is on a band when it is within its drawn span (or 2 px of it: thin bands are hard to hit).
    const on = left < 0 ? -1 : bands.findIndex((b) => left >= b.offsetLeft - 2 && left <= b.offsetLeft + b.offsetWidth + 2);
    bands.forEach((b, i) => b.classList.toggle('active', i === on));
    hover.textContent = on >= 0 ? steps[on]!.label : '';
  };

  const bytesValue = (_u: uPlot, v: number | null): string => (v === null ? '–' : formatBytes(v * unit));
  const axisFont = '12px system-ui, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif';
  const axis = { stroke: '#5b6475', font: axisFont, labelFont: axisFont, grid: { stroke: '#eceef2', width: 1 }, ticks: { stroke: '#d9dde3', width: 1 } };
  const opts: uPlot.Options = {
    width: Math.max(320, el.clientWidth),
    height: 300,
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    // The legend shows the values under the cursor; before any hover, those at the end of the window.
    hooks: {
      ready: [(u) => u.setLegend({ idx: t.length - 1 })],
      draw: [(u) => placeBands(u)],
      setCursor: [(u) => showStepAt(u.cursor.left ?? -1)],
    },
    scales: {
      x: { time: false },
      bytes: { range: (_u, _min, max) => [0, max * 1.08] },
      threads: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.25))] },
    },
    axes: [
      { ...axis, label: `time since start (${tName})`, values: (_u, splits) => splits.map((v) => `${+v.toFixed(2)} ${tName}`) },
      { ...axis, scale: 'bytes', label: `memory (${unitName})`, size: 78, values: (_u, splits) => splits.map((v) => `${+v.toFixed(2)} ${unitName}`) },
      {
        ...axis,
        scale: 'threads',
        side: 1,
        label: 'threads',
        size: 60,
        grid: { show: false },
        values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? `${v}` : '')),
      },
    ],
    series: [
      { label: 'time', value: (_u, v) => (v === null ? '–' : formatSeconds(v * tUnit)) },
      { label: 'RSS', scale: 'bytes', points: { show: false }, stroke: '#0072B2', width: 2, fill: 'rgba(0, 114, 178, 0.08)', value: bytesValue },
      { label: 'anonymous', scale: 'bytes', points: { show: false }, stroke: '#56B4E9', width: 1.5, dash: [6, 4], value: bytesValue },
      { label: 'RSS trend', scale: 'bytes', points: { show: false }, stroke: '#8a93a3', width: 1, dash: [2, 3], value: bytesValue },
      {
        label: 'threads',
        scale: 'threads',
        points: { show: false },
        stroke: '#D55E00',
        width: 1.5,
        paths: uPlot.paths.stepped?.({ align: 1 }),
        value: (_u, v) => (v === null ? '–' : `${INT.format(v)} threads`),
      },
    ],
  };
  const plot = new uPlot(opts, data, el);
  let pending = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => plot.setSize({ width: Math.max(320, el.clientWidth), height: 300 }));
  });
}

// --- breakdown, suspects, sites ---------------------------------------------------------

function breakdown(d: Diagnosis): HTMLElement {
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
      h('td', { class: 'barcell' }, l.bytes === null ? null : bar(l.bytes / whole, `d${Math.min(l.depth, 3)}`), l.bytes === null ? null : h('span', { class: 'pct' }, percent(l.bytes / whole))),
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
  return h(
    'ol',
    { class: 'path' },
    ...path.map((p, i) => h('li', null, i ? h('span', { class: 'arrow' }, '\u00a0→\u00a0') : null, h('code', null, ...withPaths(p, '.')))),
  );
}

function suspects(d: Diagnosis): HTMLElement {
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
      h('td', { class: 'held' }, x.path?.length ? pathChips(x.path) : h('span', { class: 'muted' }, 'not traced')),
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

function sites(d: Diagnosis): HTMLElement {
  const title = 'Allocation sites (tracemalloc)';
  if (d.allocation_sites === null) return section('sites', title, notMeasured(d, /tracemalloc|allocation site/i));
  if (!d.allocation_sites.length) return section('sites', title, h('p', { class: 'muted' }, 'No allocation site grew over the window.'));
  const row = (a: AllocationSite): HTMLTableRowElement => {
    const frames = a.traceback ?? [];
    const where =
      frames.length > 1
        ? h('details', null, h('summary', null, pathCode(a.site)), h('ol', { class: 'traceback' }, ...frames.map((f) => h('li', null, pathCode(f)))))
        : pathCode(a.site);
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

// --- the referrer graph -------------------------------------------------------------------

/** Okabe-Ito fills and strokes per node kind, as in src/report/refsGraph.ts. */
const KIND_STYLE: Record<string, { fill: string; stroke: string; name: string }> = {
  module: { fill: '#d9e9f5', stroke: '#0072B2', name: 'root: module' },
  class: { fill: '#d9e9f5', stroke: '#0072B2', name: 'root: class' },
  frame: { fill: '#d9e9f5', stroke: '#0072B2', name: 'root: frame' },
  garbage: { fill: '#f7dacd', stroke: '#D55E00', name: 'gc.garbage' },
  object: { fill: '#f3f4f6', stroke: '#7b8494', name: 'object on the path' },
  target: { fill: '#fce7bf', stroke: '#c98a00', name: 'growing type' },
  referrer: { fill: '#ffffff', stroke: '#a3aab6', name: 'other referrer' },
};
const kindStyle = (kind: string): { fill: string; stroke: string; name: string } => KIND_STYLE[kind] ?? KIND_STYLE['object']!;

const GRAPH_FONT = 'system-ui, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif';
const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

interface NodeBox {
  width: number;
  height: number;
  x?: number;
  y?: number;
}
interface EdgeBox {
  width?: number;
  height?: number;
  labelpos?: 'l' | 'c' | 'r';
  points?: { x: number; y: number }[];
  x?: number;
  y?: number;
}

function refsGraph(d: Diagnosis, mount: (fn: () => void) => void): HTMLElement {
  const title = 'Who holds the growing objects';
  const g = d.refs_graph;
  if (!g) return section('refs', title, notMeasured(d, /referr|refs|graph/i));
  if (!g.nodes.length) return section('refs', title, h('p', { class: 'muted' }, 'No referrer chain was found.'));
  const kinds = [...new Set(g.nodes.map((n) => n.kind))];
  const legend = h(
    'ul',
    { class: 'legend' },
    ...kinds.map((k) => {
      const sw = h('span', { class: `swatch kind-${k}` });
      sw.style.background = kindStyle(k).fill;
      sw.style.borderColor = kindStyle(k).stroke;
      return h('li', null, sw, kindStyle(k).name);
    }),
  );
  const box = h('div', { class: 'graph', id: 'refs-graph' });
  mount(() => drawGraph(box, g));
  return section('refs', title, h('p', { class: 'lede' }, 'Arrows point from an object to what it refers to; the roots are at the top.'), legend, box);
}

function drawGraph(el: HTMLElement, graph: NonNullable<Diagnosis['refs_graph']>): void {
  const ctx = document.createElement('canvas').getContext('2d');
  const measure = (text: string, px: number, weight = 400): number => {
    if (!ctx) return text.length * px * 0.6;
    ctx.font = `${weight} ${px}px ${GRAPH_FONT}`;
    return ctx.measureText(text).width;
  };
  const g = new dagre.graphlib.Graph<object, NodeBox, EdgeBox>({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 54, edgesep: 14, marginx: 14, marginy: 14 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(graph.nodes.map((n) => n.id));
  const text = new Map<string, { title: string; sub: string }>();
  for (const n of graph.nodes) {
    // Paths shortened before clipping, so what is left is the informative tail; the node's <title> has them whole.
    const t = { title: clip(shownText(shortenPathsIn(n.label)), 44), sub: clip(n.type === n.label ? n.id : `${n.type} · ${n.id}`, 52) };
    text.set(n.id, t);
    g.setNode(n.id, { width: Math.max(96, Math.max(measure(t.title, 12.5, 600), measure(t.sub, 10.5)) + 26), height: 42 });
  }
  const edgeText = new Map<string, string>();
  graph.edges.forEach((e, i) => {
    if (!ids.has(e.from) || !ids.has(e.to)) return;
    const label = clip(e.label, 30);
    edgeText.set(`e${i}`, label);
    g.setEdge(e.from, e.to, { width: label ? measure(label, 11) + 10 : 0, height: label ? 16 : 0, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const W = Math.ceil(Number(g.graph().width ?? 200));
  const H = Math.ceil(Number(g.graph().height ?? 100));

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'referrer graph', 'font-family': GRAPH_FONT });
  svg.append(
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#6b7383' }))),
  );
  const edges = s('g', { class: 'edges' });
  const labels = s('g', { class: 'edge-labels' });
  for (const e of g.edges()) {
    const lab = g.edge(e);
    const pts = lab.points ?? [];
    if (pts.length < 2) continue;
    // Through dagre's control points with quadratic segments: smooth, and still ending on the node border.
    let dPath = `M${pts[0]!.x},${pts[0]!.y}`;
    for (let i = 1; i < pts.length - 1; i++) {
      const p = pts[i]!;
      const q = pts[i + 1]!;
      const end = i === pts.length - 2 ? q : { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
      dPath += ` Q${p.x},${p.y} ${end.x},${end.y}`;
    }
    if (pts.length === 2) dPath += ` L${pts[1]!.x},${pts[1]!.y}`;
    edges.append(s('path', { d: dPath, fill: 'none', stroke: '#8a93a3', 'stroke-width': 1.3, 'marker-end': 'url(#arrow)' }));
    const label = edgeText.get(e.name ?? '');
    if (label && lab.x !== undefined && lab.y !== undefined) {
      const w = measure(label, 11) + 8;
      labels.append(
        s(
          'g',
          { transform: `translate(${lab.x} ${lab.y})` },
          s('rect', { x: -w / 2, y: -8, width: w, height: 16, rx: 3, fill: '#fff', stroke: '#e3e6eb' }),
          s('text', { 'text-anchor': 'middle', y: 4, 'font-size': 11, fill: '#3d4556', 'font-family': 'ui-monospace, "DejaVu Sans Mono", monospace' }, label),
        ),
      );
    }
  }
  const nodes = s('g', { class: 'nodes' });
  for (const n of graph.nodes) {
    const box = g.node(n.id);
    if (!box || box.x === undefined || box.y === undefined) continue;
    const st = kindStyle(n.kind);
    const t = text.get(n.id)!;
    nodes.append(
      s(
        'g',
        { class: `node kind-${n.kind}`, transform: `translate(${box.x - box.width / 2} ${box.y - box.height / 2})` },
        s('title', {}, `${n.label}\n${n.type} at ${n.id} (${n.kind})`),
        s('rect', {
          width: box.width,
          height: box.height,
          rx: 7,
          fill: st.fill,
          stroke: st.stroke,
          'stroke-width': n.kind === 'target' ? 2 : 1.2,
          ...(n.kind === 'referrer' ? { 'stroke-dasharray': '4 3' } : {}),
        }),
        s('text', { x: box.width / 2, y: 18, 'text-anchor': 'middle', 'font-size': 12.5, 'font-weight': 600, fill: '#1d2330' }, t.title),
        s('text', { x: box.width / 2, y: 33, 'text-anchor': 'middle', 'font-size': 10.5, fill: '#5b6475' }, t.sub),
      ),
    );
  }
  svg.append(edges, labels, nodes);
  // Shrink a wide graph to the column, but not below 60%: past that, scroll.
  svg.style.minWidth = `${Math.min(W, Math.round(W * 0.6))}px`;
  el.append(svg);
}

// --- recommendations, signals, collector, trim, notes ----------------------------------------

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

function recommendations(d: Diagnosis): HTMLElement {
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

function signals(d: Diagnosis): HTMLElement | null {
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

function dl(items: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...items.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function collector(d: Diagnosis): HTMLElement {
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

function trim(d: Diagnosis): HTMLElement {
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

function notes(d: Diagnosis): HTMLElement | null {
  if (!d.notes.length) return null;
  return section('notes', 'Notes', h('ul', { class: 'notes' }, ...d.notes.map((n) => h('li', null, ...withPaths(n)))));
}

// --- entry -----------------------------------------------------------------------------

function render(d: Diagnosis, root: HTMLElement): void {
  const later: (() => void)[] = [];
  const mount = (fn: () => void): void => void later.push(fn);
  const main = h(
    'main',
    null,
    verdict(d),
    timeline(d, mount),
    breakdown(d),
    suspects(d),
    sites(d),
    refsGraph(d, mount),
    recommendations(d),
    signals(d),
    h('div', { class: 'pair' }, collector(d), trim(d)),
    notes(d),
  );
  root.replaceChildren(header(d), main, h('footer', null, `memwhy ${d.memwhy_version}. A self-contained page: it loads nothing from the network.`));
  // Charts measure their container, so they are drawn once it is in the page.
  for (const fn of later) fn();
}

function start(): void {
  widenCopyToWholePaths();
  const root = document.getElementById(ROOT_ELEMENT_ID) ?? document.body;
  const block = document.getElementById(DATA_ELEMENT_ID);
  try {
    if (!block?.textContent) throw new Error(`no #${DATA_ELEMENT_ID} data block in the page`);
    render(JSON.parse(block.textContent) as Diagnosis, root);
  } catch (err) {
    root.replaceChildren(h('p', { class: 'fatal' }, `memwhy could not draw this report: ${String(err)}. The data is in the page source, in the #${DATA_ELEMENT_ID} block.`));
    throw err;
  }
}

start();
