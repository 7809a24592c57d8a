/**
 * A line chart as a standalone SVG string: one polyline per series, axes
 * with round-number ticks, a legend. Pure and dependency-free so any report
 * can inline it; the caller puts values in the units the axes name.
 */

export interface ChartSeries {
  label: string;
  /** [x, y] in axis units, x ascending. */
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions {
  series: readonly ChartSeries[];
  /** Axis titles with their units: "time (s)", "RSS (MiB)". */
  xLabel: string;
  yLabel: string;
  title?: string;
  width?: number;
  height?: number;
  /** Start the y axis at 0 (memory: a bar that starts elsewhere exaggerates). Default true. */
  yFromZero?: boolean;
}

/** Okabe-Ito: eight colours told apart with any common colour-vision deficiency. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const MARGIN = { top: 32, right: 16, bottom: 56, left: 64 };
const LEGEND_ROW = 18;

export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 720;
  const legendRows = Math.ceil(opts.series.length / 3);
  const height = opts.height ?? 360;
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom - legendRows * LEGEND_ROW - 4,
  };
  const all = opts.series.flatMap((s) => s.points);
  const xs = axisRange(
    all.map(([x]) => x),
    false,
  );
  const ys = axisRange(
    all.map(([, y]) => y),
    opts.yFromZero ?? true,
  );
  const px = (x: number): number => plot.left + ((x - xs.min) / (xs.max - xs.min)) * plot.width;
  const py = (y: number): number => plot.top + plot.height - ((y - ys.min) / (ys.max - ys.min)) * plot.height;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
      `font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(opts.title ?? opts.yLabel)}">`,
  );
  if (opts.title) {
    parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(opts.title)}</text>`);
  }
  // Grid and tick labels.
  for (const y of ys.ticks) {
    parts.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${fmt(py(y))}" y2="${fmt(py(y))}" stroke="#ddd"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${fmt(py(y) + 4)}" text-anchor="end">${tickText(y, ys.step)}</text>`);
  }
  for (const x of xs.ticks) {
    parts.push(`<line x1="${fmt(px(x))}" x2="${fmt(px(x))}" y1="${plot.top}" y2="${plot.top + plot.height}" stroke="#eee"/>`);
    parts.push(`<text x="${fmt(px(x))}" y="${plot.top + plot.height + 16}" text-anchor="middle">${tickText(x, xs.step)}</text>`);
  }
  // Axes and their titles.
  parts.push(
    `<path d="M${plot.left},${plot.top}V${plot.top + plot.height}H${plot.left + plot.width}" fill="none" stroke="#333"/>`,
    `<text x="${plot.left + plot.width / 2}" y="${plot.top + plot.height + 34}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`,
    `<text transform="translate(14 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`,
  );
  // One line per series, then the legend below the plot.
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const points = s.points.map(([x, y]) => `${fmt(px(x))},${fmt(py(y))}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"><title>${escapeXml(s.label)}</title></polyline>`);
    const lx = plot.left + (i % 3) * (plot.width / 3);
    const ly = plot.top + plot.height + MARGIN.bottom + 4 + Math.floor(i / 3) * LEGEND_ROW;
    parts.push(
      `<line x1="${fmt(lx)}" x2="${fmt(lx + 18)}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${fmt(lx + 24)}" y="${ly}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

interface AxisRange {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** A range widened to round numbers, with 3-7 ticks (plus the ends) at 1, 2 or 5 x 10^k apart. */
export function axisRange(values: readonly number[], fromZero: boolean): AxisRange {
  let lo = values.length > 0 ? values.reduce((a, b) => Math.min(a, b)) : 0;
  let hi = values.length > 0 ? values.reduce((a, b) => Math.max(a, b)) : 1;
  if (fromZero) lo = Math.min(lo, 0);
  if (hi - lo <= 0) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const rough = (hi - lo) / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { min, max, step, ticks };
}

function tickText(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(decimals);
}

function fmt(n: number): string {
  return n.toFixed(1);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
