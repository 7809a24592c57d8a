/**
 * The timeline section: RSS, its trend and the threads over the window,
 * drawn with uPlot, with memwhy's own steps shaded under the series.
 */
import uPlot from 'uplot';
import type { Diagnosis } from '../../analyze/diagnosis.js';
import { BYTE_UNITS, formatSeconds } from '../../util/units.js';
import { h } from './dom.js';
import { bytesDelta, bytesRate, count, DEC1, formatBytes, INT, ms, plus } from './format.js';
import { section, stat, type Mount } from './layout.js';
import { colour, DRAWING_FONT } from './theme.js';

export function timeline(d: Diagnosis, mount: Mount): HTMLElement {
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

// --- the chart ---------------------------------------------------------------

function drawTimeline(el: HTMLElement, r: Diagnosis['rss'], steps: readonly LabelledStep[], hover: HTMLElement | null): void {
  const t = r.samples.map((x) => x[0]);
  const maxBytes = Math.max(1, ...r.samples.map((x) => Math.max(x[1], x[2])));
  // Plot in one unit picked from the peak, so uPlot's round ticks are round MiB, not round bytes.
  const power = Math.min(BYTE_UNITS.length - 1, Math.floor(Math.log(maxBytes) / Math.log(1024)));
  const unit = 1024 ** power;
  const unitName = BYTE_UNITS[power]!;
  const tSpan = t[t.length - 1]! - t[0]!;
  const [tUnit, tName] = tSpan > 3 * 3600 ? [3600, 'h'] : tSpan > 180 ? [60, 'min'] : [1, 's'];

  // The least-squares line through the samples with the slope the analysis reported.
  const meanT = t.reduce((a, b) => a + b, 0) / t.length;
  const meanR = r.samples.reduce((a, x) => a + x[1], 0) / t.length;
  const trend = t.map((x) => (meanR + r.slope * (x - meanT)) / unit);

  const data: uPlot.AlignedData = [t.map((x) => x / tUnit), r.samples.map((x) => x[1] / unit), r.samples.map((x) => x[2] / unit), trend, r.samples.map((x) => x[3])];
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
  const axisFont = `12px ${DRAWING_FONT}`;
  const axis = { stroke: colour('muted'), font: axisFont, labelFont: axisFont, grid: { stroke: colour('chart-grid'), width: 1 }, ticks: { stroke: colour('chart-tick'), width: 1 } };
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
      { label: 'RSS', scale: 'bytes', points: { show: false }, stroke: colour('cool'), width: 2, fill: colour('rss-fill'), value: bytesValue },
      { label: 'anonymous', scale: 'bytes', points: { show: false }, stroke: colour('sky'), width: 1.5, dash: [6, 4], value: bytesValue },
      { label: 'RSS trend', scale: 'bytes', points: { show: false }, stroke: colour('faint'), width: 1, dash: [2, 3], value: bytesValue },
      {
        label: 'threads',
        scale: 'threads',
        points: { show: false },
        stroke: colour('warm'),
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
