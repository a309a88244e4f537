// Analysis results as SVG: one step histogram per Histogram, a cut-flow bar
// chart and a small HTML page with all of them. Pure: result in, string out
// (no DOM, no fonts, no scripts), the same bytes for the same input, and no
// element ids, so several plots can sit inline in one page.
//
// Style: ROOT/ATLAS-like. Frame with ticks inside on all four sides, axis
// titles at the axis ends, y axis "Entries / <bin width> <unit>", a step
// outline with a light fill, and a statistics box beside the frame (so it
// never hides data): entries, mean and std dev of the in-range bins (from
// bin centres, as ROOT does), underflow, overflow and NaN.

import type { AnalysisResult, Histogram } from '../analysis/result';
import { escapeXml, formatCount, formatPercent, formatSig, num, plainText, richText, textWidth, truncate } from './text';
import { linearTicks, logTicks, type AxisTicks } from './ticks';

export interface HistogramSvgOptions {
  /** Pixels; default 800 (at least 360). */
  width?: number;
  /** Pixels; default 500 (at least 240). */
  height?: number;
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Shown as the heading of the statistics box, e.g. the histogram's key. */
  label?: string;
}

export interface HistogramStats {
  /** Every fill: in range, underflow, overflow and NaN (ROOT's "Entries"). */
  entries: number;
  inRange: number;
  underflow: number;
  overflow: number;
  nan: number;
  /** Of the in-range bins, at bin centres; NaN without in-range entries. */
  mean: number;
  /** Population standard deviation (ROOT's "Std Dev"); NaN without in-range entries. */
  stdDev: number;
  /** The largest in-range bin count. */
  max: number;
}

export const FONT_FAMILY = 'Helvetica, Arial, sans-serif';
const COLOR = '#1f5fa8';
const FILL_OPACITY = '0.22';
const GREY = '#666666';

export function histogramStats(h: Histogram): HistogramStats {
  const w = (h.hi - h.lo) / h.bins;
  const centre = (i: number) => h.lo + (i + 0.5) * w;
  let inRange = 0;
  let sum = 0;
  let max = 0;
  for (let i = 0; i < h.bins; i++) {
    const n = h.counts[i + 1]!;
    inRange += n;
    sum += n * centre(i);
    if (n > max) max = n;
  }
  const mean = inRange > 0 ? sum / inRange : NaN;
  let sq = 0;
  if (inRange > 0) for (let i = 0; i < h.bins; i++) sq += h.counts[i + 1]! * (centre(i) - mean) ** 2;
  const underflow = h.counts[0]!;
  const overflow = h.counts[h.bins + 1]!;
  return { entries: inRange + underflow + overflow + h.nan, inRange, underflow, overflow, nan: h.nan, mean, stdDev: inRange > 0 ? Math.sqrt(sq / inRange) : NaN, max };
}

/** The unit in the last "[…]" of an axis label: "p_{T} [GeV]" → "GeV"; "" without one. */
export function axisUnit(xLabel: string): string {
  const m = /\[([^\][]*)\]\s*$/.exec(xLabel);
  return m ? m[1]!.trim() : '';
}

/** "Entries / 5 GeV", "Entries / 0.1" (bin width with 3 significant digits). */
export function yAxisLabel(h: Histogram): string {
  const unit = axisUnit(h.xLabel);
  return `Entries / ${formatSig((h.hi - h.lo) / h.bins, 3)}${unit ? ` ${unit}` : ''}`;
}

function attrs(a: Record<string, string | number | undefined>): string {
  let s = '';
  for (const [k, v] of Object.entries(a)) if (v !== undefined) s += ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`;
  return s;
}

function text(x: number, y: number, content: string, size: number, a: Record<string, string | number | undefined> = {}): string {
  return `<text${attrs({ x, y, 'font-size': size, ...a })}>${richText(content, size)}</text>`;
}

function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">\n` +
    `<title>${escapeXml(title)}</title>\n` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>\n`
  );
}

function clampInt(v: number | undefined, dflt: number, min: number): number {
  return Number.isFinite(v) ? Math.max(min, Math.min(10000, Math.round(v!))) : dflt;
}

/** A standalone SVG document of one histogram. */
export function histogramSvg(h: Histogram, options: HistogramSvgOptions = {}): string {
  const W = clampInt(options.width, 800, 360);
  const H = clampInt(options.height, 500, 240);
  const logY = options.logY === true;
  const stats = histogramStats(h);
  const values = h.counts.slice(1, h.bins + 1);

  const TICK_FONT = 12;
  const LABEL_FONT = 14;
  const top = 50;
  const bottom = H - 58;
  const plotH = bottom - top;

  // y scale and ticks
  let yLo: number;
  let yHi: number;
  let yTicks: AxisTicks;
  if (logY) {
    let minPos = Infinity;
    for (const v of values) if (v > 0 && v < minPos) minPos = v;
    yLo = minPos >= 1 || minPos === Infinity ? 0.5 : 0.5 * 10 ** Math.floor(Math.log10(minPos));
    const peak = stats.max > yLo ? stats.max : 1;
    const span = Math.log10(peak) - Math.log10(yLo);
    yHi = Math.max(10 ** (Math.log10(peak) + 0.12 * span), 20 * yLo);
    yTicks = logTicks(yLo, yHi, Math.max(2, Math.floor(plotH / 26)));
  } else {
    yLo = 0;
    yHi = stats.max > 0 ? stats.max * 1.05 : 1;
    yTicks = linearTicks(0, yHi, Math.max(4, Math.floor(plotH / 45)), { integer: values.every(Number.isInteger), multiplierFrom: 1e5 });
  }
  const lyLo = Math.log10(yLo);
  const lySpan = Math.log10(yHi) - lyLo;
  const yOf = (v: number): number => {
    if (!logY) return bottom - (v / yHi) * plotH;
    if (!(v > 0)) return bottom;
    return Math.min(bottom, Math.max(top, bottom - ((Math.log10(v) - lyLo) / lySpan) * plotH));
  };

  // statistics box: its width decides where the frame ends
  const rows: [string, string][] = [
    ['Entries', formatCount(stats.entries)],
    ['Mean', stats.inRange > 0 ? formatSig(stats.mean, 4) : '—'],
    ['Std Dev', stats.inRange > 0 ? formatSig(stats.stdDev, 4) : '—'],
    ['Underflow', formatCount(stats.underflow)],
    ['Overflow', formatCount(stats.overflow)],
  ];
  if (stats.nan !== 0) rows.push(['NaN', formatCount(stats.nan)]);
  const BOX_FONT = 12;
  const rowsW = Math.max(...rows.map(([k, v]) => textWidth(k, BOX_FONT) + textWidth(v, BOX_FONT))) + 34;
  const headerW = options.label ? textWidth(options.label, BOX_FONT, false) * 1.1 + 16 : 0; // bold: ~10 % wider
  const boxW = Math.ceil(Math.min(260, Math.max(150, rowsW, headerW)));
  const header = options.label ? truncate(options.label, (boxW - 16) / 1.1, BOX_FONT) : '';

  // x layout
  const yTickW = Math.max(0, ...yTicks.major.map((t) => textWidth(t.label, TICK_FONT)));
  const left = Math.ceil(Math.max(64, yTickW + 38));
  const right = W - boxW - 30;
  const plotW = right - left;
  const xOf = (v: number): number => left + ((v - h.lo) / (h.hi - h.lo)) * plotW;

  // x ticks: as many as fit without labels touching
  let xTicks: AxisTicks;
  for (let maxN = Math.max(2, Math.floor(plotW / 50)); ; maxN--) {
    xTicks = linearTicks(h.lo, h.hi, maxN);
    const m = xTicks.major;
    const spacing = m.length > 1 ? ((m[1]!.value - m[0]!.value) / (h.hi - h.lo)) * plotW : plotW;
    const widest = Math.max(0, ...m.map((t) => textWidth(t.label, TICK_FONT)));
    if (widest + 12 <= spacing || maxN <= 2) break;
  }

  const title = h.title;
  const parts: string[] = [svgOpen(W, H, plainText(title || options.label || 'histogram'))];
  if (title) parts.push(text((left + right) / 2, 28, title, 16, { 'text-anchor': 'middle', class: 'title' }) + '\n');

  // the histogram: fill, then outline (ROOT's step: down to the axis at both ends)
  if (stats.inRange > 0) {
    const pts: string[] = [`${num(xOf(h.lo))} ${num(bottom)}`];
    for (let i = 0; i < h.bins; i++) {
      const y = num(yOf(values[i]!));
      pts.push(`${num(left + (i / h.bins) * plotW)} ${y}`, `${num(left + ((i + 1) / h.bins) * plotW)} ${y}`);
    }
    pts.push(`${num(right)} ${num(bottom)}`);
    const d = 'M' + pts.join(' L');
    parts.push(`<path class="hist-fill" d="${d} Z" fill="${COLOR}" fill-opacity="${FILL_OPACITY}" stroke="none"/>\n`);
    parts.push(`<path class="hist-line" data-bins="${h.bins}" d="${d}" fill="none" stroke="${COLOR}" stroke-width="1.5" stroke-linejoin="miter"/>\n`);
  } else {
    const msg = stats.entries > 0 ? 'no entries in range' : 'no entries';
    parts.push(text((left + right) / 2, (top + bottom) / 2, msg, LABEL_FONT, { 'text-anchor': 'middle', fill: GREY, class: 'no-entries' }) + '\n');
  }

  // frame and ticks (inside, on all four sides)
  const ticks: string[] = [];
  const MAJOR = 8;
  const MINOR = 4;
  for (const t of xTicks.major) {
    const x = num(xOf(t.value));
    ticks.push(`M${x} ${num(bottom)}v${-MAJOR}M${x} ${num(top)}v${MAJOR}`);
  }
  for (const v of xTicks.minor) {
    const x = num(xOf(v));
    ticks.push(`M${x} ${num(bottom)}v${-MINOR}M${x} ${num(top)}v${MINOR}`);
  }
  for (const t of yTicks.major) {
    const y = num(yOf(t.value));
    ticks.push(`M${num(left)} ${y}h${MAJOR}M${num(right)} ${y}h${-MAJOR}`);
  }
  for (const v of yTicks.minor) {
    const y = num(yOf(v));
    ticks.push(`M${num(left)} ${y}h${MINOR}M${num(right)} ${y}h${-MINOR}`);
  }
  parts.push(`<g stroke="#000000" stroke-width="1" fill="none" shape-rendering="crispEdges">\n`);
  parts.push(`<rect class="frame"${attrs({ x: left, y: top, width: plotW, height: plotH })}/>\n`);
  if (ticks.length) parts.push(`<path class="ticks" d="${ticks.join('')}"/>\n`);
  parts.push('</g>\n');

  // tick labels
  parts.push(`<g font-size="${TICK_FONT}" fill="#000000">\n`);
  for (const t of xTicks.major) parts.push(text(xOf(t.value), bottom + 18, t.label, TICK_FONT, { 'text-anchor': 'middle', class: 'x-tick' }) + '\n');
  for (const t of yTicks.major) parts.push(text(left - 7, yOf(t.value) + 4, t.label, TICK_FONT, { 'text-anchor': 'end', class: 'y-tick' }) + '\n');
  if (yTicks.exponent) parts.push(text(left, top - 7, `×10^{${yTicks.exponent}}`, TICK_FONT, { class: 'y-multiplier' }) + '\n');
  parts.push('</g>\n');

  // axis titles at the axis ends
  parts.push(text(right, bottom + 44, h.xLabel, LABEL_FONT, { 'text-anchor': 'end', class: 'x-label' }) + '\n');
  const yLabelX = left - 7 - yTickW - 12;
  parts.push(`<text class="y-label"${attrs({ transform: `translate(${num(yLabelX)} ${num(top)}) rotate(-90)`, 'text-anchor': 'end', 'font-size': LABEL_FONT })}>${richText(yAxisLabel(h), LABEL_FONT)}</text>\n`);

  // statistics box
  const bx = right + 18;
  const pitch = 18;
  const lines = rows.length + (header ? 1 : 0);
  parts.push(`<g class="stats" font-size="${BOX_FONT}">\n`);
  parts.push(`<rect${attrs({ x: bx, y: top, width: boxW, height: lines * pitch + 10 })} fill="#ffffff" stroke="#000000" stroke-width="1" shape-rendering="crispEdges"/>\n`);
  let y = top + pitch;
  if (header) {
    parts.push(`<text${attrs({ x: bx + boxW / 2, y, 'text-anchor': 'middle', 'font-weight': 'bold' })}>${escapeXml(header)}</text>\n`);
    parts.push(`<path d="M${num(bx)} ${num(y + 6)}h${boxW}" stroke="#000000" stroke-width="0.6" shape-rendering="crispEdges"/>\n`);
    y += pitch + 2;
  }
  for (const [k, v] of rows) {
    parts.push(`<text${attrs({ x: bx + 8, y })}>${escapeXml(k)}</text>`);
    parts.push(`<text${attrs({ x: bx + boxW - 8, y, 'text-anchor': 'end' })}>${richText(v, BOX_FONT)}</text>\n`);
    y += pitch;
  }
  parts.push('</g>\n</svg>\n');
  return parts.join('');
}

/** One SVG per histogram, in the result's order; name is the histogram's key. */
export function resultPlots(result: AnalysisResult, options: { logY?: boolean } = {}): { name: string; svg: string }[] {
  return Object.entries(result.histograms).map(([name, h]) => ({ name, svg: histogramSvg(h, { label: name, logY: options.logY }) }));
}

/** The cut-flow as horizontal bars: per step its events and its fraction of the first step. */
export function cutflowSvg(result: AnalysisResult, options: { width?: number } = {}): string {
  const W = clampInt(options.width, 800, 360);
  const steps = result.cutflow;
  const FONT = 13;
  const ROW = 26;
  const BAR = 16;
  const top = 64;
  const first = steps[0]?.events ?? 0;
  const scale = Math.max(first, ...steps.map((s) => s.events));
  const valueText = (e: number) => `${formatCount(e)} (${first > 0 ? formatPercent(e / first) : '—'})`;
  const nameW = Math.min(W * 0.4, Math.max(60, ...steps.map((s) => textWidth(s.name, FONT, false))));
  const valueW = Math.max(60, ...steps.map((s) => textWidth(valueText(s.events), FONT, false)));
  const x0 = Math.ceil(16 + nameW + 10);
  const barMax = Math.max(40, W - x0 - valueW - 24);
  const bottom = top + Math.max(1, steps.length) * ROW;
  const H = bottom + 40;
  const subtitle = [result.analysis && `analysis ${result.analysis}`, result.profile && `profile ${result.profile}`, `${formatCount(result.eventsRead)} events read`, `${formatCount(result.eventsKept)} kept`].filter(Boolean).join(' · ');

  const parts: string[] = [svgOpen(W, H, `Cut flow — ${result.analysis}`)];
  parts.push(text(W / 2, 28, 'Cut flow', 16, { 'text-anchor': 'middle', class: 'title' }) + '\n');
  parts.push(`<text${attrs({ x: W / 2, y: 48, 'font-size': 12, 'text-anchor': 'middle', fill: GREY })}>${escapeXml(subtitle)}</text>\n`);
  if (steps.length === 0) {
    parts.push(text(W / 2, top + ROW / 2 + 5, 'no cut-flow steps', FONT, { 'text-anchor': 'middle', fill: GREY, class: 'no-entries' }) + '\n');
  } else {
    // grid at 0, 25, 50, 75, 100 % of the first step
    const grid: string[] = [];
    const gridLabels: string[] = [];
    if (first > 0) {
      for (const f of [0, 0.25, 0.5, 0.75, 1]) {
        const x = num(x0 + ((f * first) / scale) * barMax);
        grid.push(`M${x} ${num(top - 4)}V${num(bottom + 4)}`);
        gridLabels.push(text(x0 + ((f * first) / scale) * barMax, bottom + 20, `${f * 100}%`, 11, { 'text-anchor': 'middle', fill: GREY }));
      }
      parts.push(`<path d="${grid.join('')}" stroke="#cccccc" stroke-width="1" shape-rendering="crispEdges"/>\n`);
      parts.push(gridLabels.join('\n') + '\n');
    }
    steps.forEach((s, i) => {
      const rowTop = top + i * ROW;
      const w = scale > 0 ? (s.events / scale) * barMax : 0;
      const base = rowTop + ROW / 2 + 4.5;
      parts.push(`<g class="cut">`);
      parts.push(`<text${attrs({ x: x0 - 10, y: base, 'font-size': FONT, 'text-anchor': 'end' })}>${escapeXml(truncate(s.name, W * 0.4, FONT))}</text>`);
      parts.push(`<rect${attrs({ x: x0, y: rowTop + (ROW - BAR) / 2, width: w, height: BAR })} fill="${COLOR}" fill-opacity="0.75" shape-rendering="crispEdges"/>`);
      parts.push(`<text${attrs({ x: x0 + w + 6, y: base, 'font-size': FONT })}>${escapeXml(valueText(s.events))}</text>`);
      parts.push('</g>\n');
    });
    parts.push(`<path d="M${num(x0)} ${num(top - 4)}V${num(bottom + 4)}" stroke="#000000" stroke-width="1" shape-rendering="crispEdges"/>\n`);
  }
  parts.push('</svg>\n');
  return parts.join('');
}

/** A self-contained HTML page: the result's numbers, the cut-flow and every histogram inline. */
export function summaryHtml(result: AnalysisResult, options: { logY?: boolean } = {}): string {
  const counts = Object.entries(result.counts)
    .flatMap(([coll, flags]) => Object.entries(flags).map(([flag, n]) => `<tr><td>${escapeXml(coll)}</td><td>${escapeXml(flag)}</td><td class="n">${escapeXml(formatCount(n))}</td></tr>`))
    .join('\n');
  const figures = resultPlots(result, options)
    .map((p) => `<figure>\n${p.svg}<figcaption>${escapeXml(p.name)}</figcaption>\n</figure>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(`${result.analysis} — analysis result`)}</title>
<style>
body { font-family: ${FONT_FAMILY}; margin: 24px; color: #111; }
figure { display: inline-block; margin: 0 16px 24px 0; vertical-align: top; }
figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #666; font-family: monospace; }
table { border-collapse: collapse; margin-bottom: 24px; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>${escapeXml(result.analysis)}</h1>
<p>Profile ${escapeXml(result.profile || '—')} · ${escapeXml(formatCount(result.eventsRead))} events read · ${escapeXml(formatCount(result.eventsKept))} kept</p>
${counts ? `<table>\n<tr><th>collection</th><th>flag</th><th>objects</th></tr>\n${counts}\n</table>\n` : ''}<figure>
${cutflowSvg(result)}<figcaption>cutflow</figcaption>
</figure>
${figures}
</body>
</html>
`;
}
