/**
 * Two hand-written SVG charts, enough for the bench report and no more: a line chart on log-log
 * axes (throughput against batch size) and a grouped bar chart on a log axis (latency
 * percentiles). Written for GitHub's Markdown view: a white background, system fonts, titled and
 * labelled axes with units, a legend beside the plot. Every series is a `<g class="series">`
 * with its name in `data-series`, every plotted value an element of class `point` (a marker or
 * a bar), so a test can find them again.
 */

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond';

export interface Series {
  name: string;
  /** [x, y] pairs; pairs with a non-finite or non-positive value are left out (log axes). */
  points: Array<[number, number]>;
  color: string;
  /** Dashed line and hollow markers: a baseline rather than Quiver. @default false */
  dashed?: boolean;
  /** @default 'circle' */
  marker?: Marker;
}

export interface Tick {
  value: number;
  label: string;
}

export interface LineChartSpec {
  title: string;
  /** A second line under the title, e.g. what was measured and how. */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Ticks of the x axis. @default decades over the data */
  xTicks?: Tick[];
  /** Formats a y tick value. @default {@link formatTick} */
  yFormat?: (v: number) => string;
  /** @default 860 */
  width?: number;
  /** @default 500 */
  height?: number;
}

export interface Bar {
  /** Legend entry, e.g. "p50". */
  name: string;
  color: string;
  /** One value per group; a non-finite or non-positive value leaves the bar out. */
  values: number[];
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  yLabel: string;
  /** Under the group labels. @default none */
  xLabel?: string;
  /** Group labels along the x axis; a `\n` splits one into two lines. */
  groups: string[];
  bars: Bar[];
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

// ---- text and numbers -----------------------------------------------------------------------

/** `s` with XML's five special characters escaped, for text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A tick label: 1, 20, 500, 1K, 20K, 1M, 2G; 0.5, 0.01 below one. */
export function formatTick(v: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) if (v >= scale) return `${trim(v / scale)}${unit}`;
  return trim(v);
}

const trim = (v: number): string => String(Number(v.toPrecision(3)));

/** Rounds to 0.1 px: enough for a 1x screen, and the files stay small. */
const px = (v: number): string => String(Math.round(v * 10) / 10);

const FONT = 'font-family="-apple-system, BlinkMacSystemFont, \'Segoe UI\', Helvetica, Arial, sans-serif"';
const INK = '#24292f';
const MUTED = '#57606a';
const GRID = '#d0d7de';
const GRID_MINOR = '#eaeef2';

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;
}

// ---- log axes ---------------------------------------------------------------------------------

interface LogScale {
  lo: number;
  hi: number;
  /** Maps a value to a pixel between `from` and `to`. */
  at: (v: number) => number;
}

function logScale(min: number, max: number, from: number, to: number): LogScale {
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const span = hi - lo || 1;
  return { lo, hi, at: (v) => from + ((Math.log10(v) - lo) / span) * (to - from) };
}

/** Decade bounds around [min, max]: 10^floor .. 10^ceil (one decade at least). */
function decades(min: number, max: number): [number, number] {
  const lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo + 1;
  return [10 ** lo, 10 ** hi];
}

/**
 * Ticks of a log axis from `min` to `max` (both powers of ten): labelled decades, and 2 and 5
 * labelled too when the axis spans at most two decades; the other multiples are minor grid lines.
 */
export function logTicks(min: number, max: number, format: (v: number) => string = formatTick): { major: Tick[]; minor: number[] } {
  const major: Tick[] = [];
  const minor: number[] = [];
  const lo = Math.round(Math.log10(min));
  const hi = Math.round(Math.log10(max));
  const dense = hi - lo <= 2;
  for (let e = lo; e <= hi; e++) {
    const base = 10 ** e;
    major.push({ value: base, label: format(base) });
    if (e === hi) break;
    for (let m = 2; m <= 9; m++) {
      const v = m * base;
      if (dense && (m === 2 || m === 5)) major.push({ value: v, label: format(v) });
      else minor.push(v);
    }
  }
  return { major, minor };
}

function finitePositive(v: number): boolean {
  return Number.isFinite(v) && v > 0;
}

// ---- frame: background, title, plot box, legend ------------------------------------------------

interface Frame {
  width: number;
  height: number;
  /** The plot area. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function frame(width: number, height: number, legendWidth: number, hasSubtitle: boolean): Frame {
  return { width, height, left: 96, right: width - legendWidth - 24, top: hasSubtitle ? 74 : 56, bottom: height - 64 };
}

function open(f: Frame, title: string, subtitle: string | undefined): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${escapeXml(title)}" ${FONT}>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${f.width}" height="${f.height}" fill="#ffffff"/>`,
    text(f.width / 2, 28, title, `text-anchor="middle" font-size="18" font-weight="600" fill="${INK}"`),
  ];
  if (subtitle) out.push(text(f.width / 2, 50, subtitle, `text-anchor="middle" font-size="12" fill="${MUTED}"`));
  return out;
}

/** The y axis: grid lines, tick labels and the rotated axis title. */
function yAxis(f: Frame, y: LogScale, ticks: { major: Tick[]; minor: number[] }, label: string): string[] {
  const out: string[] = [];
  for (const v of ticks.minor) out.push(`<line x1="${f.left}" x2="${f.right}" y1="${px(y.at(v))}" y2="${px(y.at(v))}" stroke="${GRID_MINOR}"/>`);
  for (const t of ticks.major) {
    const ty = y.at(t.value);
    out.push(`<line x1="${f.left}" x2="${f.right}" y1="${px(ty)}" y2="${px(ty)}" stroke="${GRID}"/>`);
    out.push(text(f.left - 8, ty + 4, t.label, `text-anchor="end" font-size="12" fill="${MUTED}"`));
  }
  const cy = (f.top + f.bottom) / 2;
  out.push(text(20, cy, label, `text-anchor="middle" font-size="13" fill="${INK}" transform="rotate(-90 20 ${px(cy)})"`));
  return out;
}

function box(f: Frame): string {
  return `<rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}" fill="none" stroke="${MUTED}"/>`;
}

function markerShape(kind: Marker, x: number, y: number, color: string, hollow: boolean, cls = ''): string {
  const fill = hollow ? '#ffffff' : color;
  const c = cls ? ` class="${cls}"` : '';
  const style = `fill="${fill}" stroke="${color}" stroke-width="1.8"`;
  const r = 4.5;
  switch (kind) {
    case 'square':
      return `<rect${c} x="${px(x - r)}" y="${px(y - r)}" width="${px(2 * r)}" height="${px(2 * r)}" ${style}/>`;
    case 'triangle':
      return `<path${c} d="M${px(x)} ${px(y - r - 1)}L${px(x + r + 1)} ${px(y + r)}L${px(x - r - 1)} ${px(y + r)}Z" ${style}/>`;
    case 'diamond':
      return `<path${c} d="M${px(x)} ${px(y - r - 1)}L${px(x + r + 1)} ${px(y)}L${px(x)} ${px(y + r + 1)}L${px(x - r - 1)} ${px(y)}Z" ${style}/>`;
    default:
      return `<circle${c} cx="${px(x)}" cy="${px(y)}" r="${r}" ${style}/>`;
  }
}

interface LegendEntry {
  name: string;
  color: string;
  dashed?: boolean;
  marker?: Marker;
  /** A filled square swatch (bars) instead of a line with a marker. */
  swatch?: boolean;
}

function legend(f: Frame, entries: LegendEntry[]): string[] {
  const x = f.right + 20;
  const out = [`<g class="legend">`];
  entries.forEach((e, i) => {
    const y = f.top + 8 + i * 22;
    if (e.swatch) {
      out.push(`<rect x="${x}" y="${y - 6}" width="22" height="12" fill="${e.color}"/>`);
    } else {
      out.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${e.color}" stroke-width="2.2"${e.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      out.push(markerShape(e.marker ?? 'circle', x + 14, y, e.color, e.dashed === true));
    }
    out.push(text(x + 36, y + 4, e.name, `font-size="12" fill="${INK}"`));
  });
  out.push('</g>');
  return out;
}

// ---- the charts ---------------------------------------------------------------------------------

/** A line chart on log-log axes, one line with markers per series, the legend on the right. */
export function lineChart(spec: LineChartSpec): string {
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => finitePositive(x) && finitePositive(y)) }));
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...(spec.xTicks ?? []).map((t) => t.value)];
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const f = frame(spec.width ?? 860, spec.height ?? 500, 250, !!spec.subtitle);
  const out = open(f, spec.title, spec.subtitle);
  if (xs.length === 0 || ys.length === 0) {
    out.push(box(f), text((f.left + f.right) / 2, (f.top + f.bottom) / 2, 'no data', `text-anchor="middle" fill="${MUTED}"`), '</svg>');
    return out.join('\n') + '\n';
  }
  // x: a little room either side of the outermost points, so markers do not sit on the frame.
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const xPad = Math.max(Math.log10(xMax / xMin) * 0.06, 0.15);
  const x = logScale(xMin / 10 ** xPad, xMax * 10 ** xPad, f.left, f.right);
  const [yMin, yMax] = decades(Math.min(...ys), Math.max(...ys));
  const y = logScale(yMin, yMax, f.bottom, f.top);
  out.push(...yAxis(f, y, logTicks(yMin, yMax, spec.yFormat), spec.yLabel));
  const xTicks = spec.xTicks ?? logTicks(...decades(xMin, xMax)).major.filter((t) => t.value >= xMin / 10 ** xPad && t.value <= xMax * 10 ** xPad);
  for (const t of xTicks) {
    const tx = x.at(t.value);
    out.push(`<line x1="${px(tx)}" x2="${px(tx)}" y1="${f.top}" y2="${f.bottom}" stroke="${GRID}"/>`);
    out.push(text(tx, f.bottom + 18, t.label, `text-anchor="middle" font-size="12" fill="${MUTED}"`));
  }
  out.push(text((f.left + f.right) / 2, f.bottom + 44, spec.xLabel, `text-anchor="middle" font-size="13" fill="${INK}"`));
  out.push(box(f));
  for (const s of series) {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]).map(([vx, vy]) => [x.at(vx), y.at(vy)] as const);
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    if (pts.length > 1) {
      const d = pts.map(([cx, cy], i) => `${i === 0 ? 'M' : 'L'}${px(cx)} ${px(cy)}`).join('');
      out.push(`<path class="line" d="${d}" fill="none" stroke="${s.color}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    }
    for (const [cx, cy] of pts) out.push(markerShape(s.marker ?? 'circle', cx, cy, s.color, s.dashed === true, 'point'));
    out.push('</g>');
  }
  out.push(...legend(f, series));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Grouped bars on a log y axis: one group per label, one bar per {@link Bar} in each group. */
export function barChart(spec: BarChartSpec): string {
  const values = spec.bars.flatMap((b) => b.values).filter(finitePositive);
  const f = frame(spec.width ?? 860, spec.height ?? 500, 130, !!spec.subtitle);
  f.bottom -= 14; // two-line group labels
  const out = open(f, spec.title, spec.subtitle);
  if (values.length === 0 || spec.groups.length === 0) {
    out.push(box(f), text((f.left + f.right) / 2, (f.top + f.bottom) / 2, 'no data', `text-anchor="middle" fill="${MUTED}"`), '</svg>');
    return out.join('\n') + '\n';
  }
  const [yMin, yMax] = decades(Math.min(...values), Math.max(...values));
  const y = logScale(yMin, yMax, f.bottom, f.top);
  out.push(...yAxis(f, y, logTicks(yMin, yMax, spec.yFormat), spec.yLabel));
  const groupWidth = (f.right - f.left) / spec.groups.length;
  const barWidth = Math.min(28, (groupWidth * 0.75) / spec.bars.length);
  spec.groups.forEach((g, i) => {
    const cx = f.left + groupWidth * (i + 0.5);
    g.split('\n').forEach((line, j) => out.push(text(cx, f.bottom + 18 + j * 15, line, `text-anchor="middle" font-size="12" fill="${j === 0 ? INK : MUTED}"`)));
  });
  if (spec.xLabel) out.push(text((f.left + f.right) / 2, f.height - 12, spec.xLabel, `text-anchor="middle" font-size="13" fill="${INK}"`));
  spec.bars.forEach((b, k) => {
    out.push(`<g class="series" data-series="${escapeXml(b.name)}">`);
    b.values.forEach((v, i) => {
      if (!finitePositive(v)) return;
      const x0 = f.left + groupWidth * (i + 0.5) - (barWidth * spec.bars.length) / 2 + k * barWidth;
      const top = y.at(v);
      const label = `${spec.groups[i]!.replace('\n', ' ')} ${b.name}: ${(spec.yFormat ?? formatTick)(v)}`;
      out.push(
        `<rect class="point" x="${px(x0 + 1)}" y="${px(top)}" width="${px(barWidth - 2)}" height="${px(f.bottom - top)}" fill="${b.color}"><title>${escapeXml(label)}</title></rect>`,
      );
    });
    out.push('</g>');
  });
  out.push(box(f));
  out.push(...legend(f, spec.bars.map((b) => ({ name: b.name, color: b.color, swatch: true }))));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
