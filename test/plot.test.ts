// Plots of analysis results: the SVG is well-formed XML, the step outline has
// one horizontal segment per bin at heights proportional to the counts, axes
// and labels say what they should, text is escaped, odd histograms (empty,
// one spike, huge counts, log scale) render, and `physlite plot` writes the
// files or names what is wrong with its input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emptyHistogram, fill, type AnalysisResult, type Histogram } from '../shared/analysis/result';
import { cutflowSvg, histogramStats, histogramSvg, resultPlots, summaryHtml, yAxisLabel } from '../shared/plot/svg';
import { formatSig, parseRich } from '../shared/plot/text';
import { linearTicks, logTicks } from '../shared/plot/ticks';
import { validateResult } from '../shared/analysis/validate';
import { plotCommand } from '../shared/cli/plot';
import { InputError, UsageError } from '../shared/cli/usage';

// ------------------------------------------------------------ a strict XML reader

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const REFERENCE = /^&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function decode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, r: string) =>
    r === 'lt' ? '<' : r === 'gt' ? '>' : r === 'amp' ? '&' : r === 'quot' ? '"' : r === 'apos' ? "'" : String.fromCodePoint(r[1] === 'x' ? parseInt(r.slice(2), 16) : parseInt(r.slice(1), 10)),
  );
}

/** Parses a document with one root element; throws on anything not well-formed XML (no DTDs). */
function parseXml(s: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (msg: string): never => {
    throw new Error(`not well-formed at ${i}: ${msg} near ${JSON.stringify(s.slice(Math.max(0, i - 30), i + 30))}`);
  };
  const checkChars = (t: string) => {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(t)) fail('character not allowed in XML');
    for (let k = 0; k < t.length; k++) {
      if (t[k] === '&' && !REFERENCE.test(t.slice(k))) fail('bare &');
    }
  };
  if (s.startsWith('<?xml')) {
    const end = s.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  while (i < s.length) {
    if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (s.slice(i + 4, end).includes('--')) fail('"--" in comment');
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      if (!stack.length) fail('CDATA outside the root');
      const end = s.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      stack[stack.length - 1]!.children.push(s.slice(i + 9, end));
      i = end + 3;
    } else if (s.startsWith('<!', i) || s.startsWith('<?', i)) {
      fail('DTD or processing instruction');
    } else if (s.startsWith('</', i)) {
      i += 2;
      const name = NAME.exec(s.slice(i))?.[0] ?? fail('bad end tag name');
      i += name.length;
      while (/\s/.test(s[i] ?? '')) i++;
      if (s[i] !== '>') fail('bad end tag');
      i++;
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> closes <${open?.name}>`);
    } else if (s[i] === '<') {
      i++;
      const name = NAME.exec(s.slice(i))?.[0] ?? fail('bad tag name');
      i += name.length;
      const el: XmlElement = { name, attrs: {}, children: [] };
      for (;;) {
        const ws = /^\s*/.exec(s.slice(i))![0].length;
        i += ws;
        if (s.startsWith('/>', i) || s[i] === '>') break;
        if (!ws) fail('attributes need white space between them');
        const an = NAME.exec(s.slice(i))?.[0] ?? fail('bad attribute name');
        i += an.length;
        if (s[i] !== '=') fail('attribute without =');
        const q = s[++i];
        if (q !== '"' && q !== "'") fail('unquoted attribute');
        const end = s.indexOf(q!, i + 1);
        if (end < 0) fail('unterminated attribute');
        const raw = s.slice(i + 1, end);
        if (raw.includes('<')) fail('< in attribute');
        checkChars(raw);
        if (an in el.attrs) fail(`duplicate attribute ${an}`);
        el.attrs[an] = decode(raw);
        i = end + 1;
      }
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail('second root element');
      else root = el;
      if (s.startsWith('/>', i)) i += 2;
      else {
        i++;
        stack.push(el);
      }
    } else {
      const end = s.indexOf('<', i) < 0 ? s.length : s.indexOf('<', i);
      const t = s.slice(i, end);
      if (t.includes(']]>')) fail(']]> in text');
      checkChars(t);
      if (stack.length) stack[stack.length - 1]!.children.push(decode(t));
      else if (t.trim()) fail('text outside the root');
      i = end;
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.name}> not closed`);
  return root ?? fail('no root element');
}

function all(el: XmlElement, pred: (e: XmlElement) => boolean, out: XmlElement[] = []): XmlElement[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) if (typeof c !== 'string') all(c, pred, out);
  return out;
}
const byClass = (root: XmlElement, cls: string) => all(root, (e) => (e.attrs.class ?? '').split(' ').includes(cls));
const textOf = (el: XmlElement): string => el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');

function one(root: XmlElement, cls: string): XmlElement {
  const found = byClass(root, cls);
  assert.equal(found.length, 1, `one element of class ${cls}`);
  return found[0]!;
}

/** The points of an "M x y L x y …" path. */
function points(d: string): [number, number][] {
  assert.match(d, /^M[-\d.]+ [-\d.]+( L[-\d.]+ [-\d.]+)*$/);
  return d
    .slice(1)
    .split(' L')
    .map((p) => p.split(' ').map(Number) as [number, number]);
}

function frameOf(root: XmlElement) {
  const f = one(root, 'frame').attrs;
  const left = Number(f.x);
  const top = Number(f.y);
  return { left, top, right: left + Number(f.width), bottom: top + Number(f.height), width: Number(f.width), height: Number(f.height) };
}

/** The text of the statistics box as "key value" lines. */
function statsLines(root: XmlElement): string[] {
  const texts = all(one(root, 'stats'), (e) => e.name === 'text').map(textOf);
  const lines: string[] = [];
  for (let k = 0; k < texts.length; k++) {
    if (['Entries', 'Mean', 'Std Dev', 'Underflow', 'Overflow', 'NaN'].includes(texts[k]!)) lines.push(`${texts[k]} ${texts[++k]}`);
  }
  return lines;
}

// ------------------------------------------------------------ data

function ptHistogram(): Histogram {
  const h = emptyHistogram('Jet p_{T}', 'p_{T} [GeV]', 0, 250, 50);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 20000; i++) fill(h, 20 - 40 * Math.log(rnd() + 1e-9));
  fill(h, -3);
  fill(h, NaN);
  return h;
}

function sampleResult(): AnalysisResult {
  const dr = emptyHistogram('ΔR', 'ΔR(e, jet)', 0, 5, 50);
  fill(dr, 0.35);
  return {
    analysis: 'reference',
    profile: 'r22',
    eventsRead: 1000,
    eventsKept: 120,
    counts: { AnalysisJets: { passOR: 900 } },
    histograms: { pt_jets_passOR: ptHistogram(), dR_e_jet: dr },
    cutflow: [
      { name: 'all', events: 1000 },
      { name: 'trigger', events: 400 },
      { name: 'one electron', events: 120 },
    ],
  };
}

// ------------------------------------------------------------ histograms

test('a histogram is a well-formed standalone SVG with size and viewBox', () => {
  const svg = histogramSvg(ptHistogram(), { width: 640, height: 420, label: 'pt_jets_passOR' });
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  assert.equal(root.attrs.width, '640');
  assert.equal(root.attrs.height, '420');
  assert.equal(root.attrs.viewBox, '0 0 640 420');
  assert.match(root.attrs['font-family']!, /sans-serif/);
  assert.doesNotMatch(svg, /<script|@import|url\(|href=/, 'no scripts, external fonts or links');
  const f = frameOf(root);
  assert.ok(f.left > 40 && f.top > 20 && f.right < 640 && f.bottom < 420, 'the frame has margins for the labels');
  // the statistics box is beside the frame, not over the data
  const box = all(one(root, 'stats'), (e) => e.name === 'rect')[0]!.attrs;
  assert.ok(Number(box.x) > f.right && Number(box.x) + Number(box.width) <= 640);
});

test('the step outline has one flat segment per bin at heights proportional to the counts', () => {
  const h = ptHistogram();
  const root = parseXml(histogramSvg(h));
  const line = one(root, 'hist-line');
  assert.equal(line.attrs['data-bins'], '50');
  const pts = points(line.attrs.d!);
  assert.equal(pts.length, 2 * h.bins + 2, 'axis, two corners per bin, axis');
  const f = frameOf(root);
  assert.deepEqual(pts[0], [f.left, f.bottom], 'starts on the axis at lo');
  assert.deepEqual(pts[pts.length - 1], [f.right, f.bottom], 'ends on the axis at hi');
  const counts = h.counts.slice(1, -1);
  const max = Math.max(...counts);
  const tallest = counts.indexOf(max);
  const yMax = pts[1 + 2 * tallest]![1];
  for (let i = 0; i < h.bins; i++) {
    const [a, b] = [pts[1 + 2 * i]!, pts[2 + 2 * i]!];
    assert.equal(a[1], b[1], `bin ${i} is flat`);
    assert.ok(Math.abs(a[0] - (f.left + (i / h.bins) * f.width)) < 0.011, `bin ${i} starts at its lower edge`);
    assert.ok(Math.abs(b[0] - (f.left + ((i + 1) / h.bins) * f.width)) < 0.011, `bin ${i} ends at its upper edge`);
    assert.ok(Math.abs((f.bottom - a[1]) / (f.bottom - yMax) - counts[i]! / max) < 1e-3, `bin ${i} height ∝ count`);
  }
  // the tallest bin reaches the top of the plot area (ROOT's 5 % head room), no higher
  assert.equal(Math.min(...pts.map((p) => p[1])), yMax);
  assert.ok(yMax > f.top && yMax - f.top < 0.06 * f.height, `tallest bin at ${yMax}, frame top ${f.top}`);
  // the fill is the same outline, closed
  assert.equal(one(root, 'hist-fill').attrs.d, `${line.attrs.d} Z`);
});

test('tick labels are round numbers placed at their values', () => {
  const h = ptHistogram();
  const root = parseXml(histogramSvg(h));
  const f = frameOf(root);
  const xs = byClass(root, 'x-tick').map((e) => ({ v: Number(textOf(e).replace('−', '-')), x: Number(e.attrs.x) }));
  assert.deepEqual(
    xs.map((t) => t.v),
    [0, 50, 100, 150, 200, 250],
  );
  for (const t of xs) assert.ok(Math.abs(t.x - (f.left + (t.v / 250) * f.width)) < 0.011);
  const pts = points(one(root, 'hist-line').attrs.d!);
  const counts = h.counts.slice(1, -1);
  const max = Math.max(...counts);
  const yMax = pts[1 + 2 * counts.indexOf(max)]![1];
  const ys = byClass(root, 'y-tick').map((e) => ({ v: Number(textOf(e)), y: Number(e.attrs.y) - 4 }));
  assert.ok(ys.length >= 4, 'several y ticks');
  const step = ys[1]!.v - ys[0]!.v;
  assert.ok([1, 2, 5].includes(step / 10 ** Math.floor(Math.log10(step))), `1-2-5 step, got ${step}`);
  for (const t of ys) assert.ok(Math.abs((f.bottom - t.y) / (f.bottom - yMax) - t.v / max) < 1e-3, `y tick ${t.v} at its height`);
  // tick marks inside the frame
  const d = one(root, 'ticks').attrs.d!;
  assert.ok(d.includes(`M${f.left} ${f.bottom}v-8`), 'major x tick at lo, pointing up from the bottom axis');
});

test('axis titles: the x label with its subscript and "Entries / <bin width> <unit>"', () => {
  const root = parseXml(histogramSvg(ptHistogram()));
  const x = one(root, 'x-label');
  assert.equal(textOf(x), 'pT [GeV]');
  const [sub, back] = x.children.filter((c): c is XmlElement => typeof c !== 'string');
  assert.equal(textOf(sub!), 'T');
  assert.ok(Number(sub!.attrs.dy) > 0 && Number(sub!.attrs['font-size']) < 14, 'subscript: lower and smaller');
  assert.equal(Number(back!.attrs.dy), -Number(sub!.attrs.dy), 'back to the baseline after it');
  assert.equal(textOf(one(root, 'y-label')), 'Entries / 5 GeV');
  assert.match(one(root, 'y-label').attrs.transform!, /rotate\(-90\)/);
  assert.equal(textOf(one(root, 'title')), 'Jet pT');

  const dr = emptyHistogram('ΔR', 'ΔR(e, jet)', 0, 5, 50);
  assert.equal(yAxisLabel(dr), 'Entries / 0.1');
  assert.equal(yAxisLabel(emptyHistogram('', 'm [MeV]', 0, 1, 3)), 'Entries / 0.333 MeV');
  assert.equal(yAxisLabel(emptyHistogram('', 'x [GeV] y', 0, 1, 3)), 'Entries / 0.333', 'unit only in a trailing [...]');
  assert.equal(yAxisLabel(emptyHistogram('', 'E [GeV]', 0, 2000, 80)), 'Entries / 25 GeV');
});

test('the statistics box: entries, mean and std dev of in-range bin centres, under/overflow, NaN when present', () => {
  const h = emptyHistogram('t', 'x', 0, 10, 10);
  h.counts[3] = 1; // bin [2, 3): centre 2.5
  h.counts[5] = 1; // bin [4, 5): centre 4.5
  h.counts[0] = 4;
  h.counts[11] = 2;
  const s = histogramStats(h);
  assert.deepEqual(s, { entries: 8, inRange: 2, underflow: 4, overflow: 2, nan: 0, mean: 3.5, stdDev: 1, max: 1 });
  let root = parseXml(histogramSvg(h, { label: 'h' }));
  assert.deepEqual(statsLines(root), ['Entries 8', 'Mean 3.5', 'Std Dev 1', 'Underflow 4', 'Overflow 2']);
  h.nan = 3;
  root = parseXml(histogramSvg(h, { label: 'h' }));
  assert.deepEqual(statsLines(root), ['Entries 11', 'Mean 3.5', 'Std Dev 1', 'Underflow 4', 'Overflow 2', 'NaN 3']);
  assert.equal(textOf(all(one(root, 'stats'), (e) => e.name === 'text')[0]!), 'h', 'label as the heading');
});

test('XML special characters are escaped everywhere', () => {
  const h = emptyHistogram(`a < b & "c" 'd' > e\u0007`, 'x & y <i> [GeV&MeV]', 0, 1, 4);
  h.counts[2] = 5;
  const svg = histogramSvg(h, { label: '<key> & "q"' });
  const root = parseXml(svg);
  assert.equal(textOf(one(root, 'title')), `a < b & "c" 'd' > e\uFFFD`);
  assert.equal(textOf(one(root, 'x-label')), 'x & y <i> [GeV&MeV]');
  assert.equal(textOf(one(root, 'y-label')), 'Entries / 0.25 GeV&MeV');
  assert.equal(textOf(all(root, (e) => e.name === 'title')[0]!), `a < b & "c" 'd' > e\uFFFD`);
  assert.ok(svg.includes('&lt;key&gt; &amp; &quot;q&quot;'));
  assert.ok(!svg.includes('<i>') && !svg.includes('<key>'));
});

test('an empty histogram draws its axes and says "no entries"', () => {
  const h = emptyHistogram('Empty', 'E_{T}^{miss} [GeV]', 0, 1000, 100);
  for (const logY of [false, true]) {
    const root = parseXml(histogramSvg(h, { logY }));
    assert.equal(textOf(one(root, 'no-entries')), 'no entries');
    assert.equal(byClass(root, 'hist-line').length, 0);
    assert.ok(byClass(root, 'x-tick').length >= 3 && byClass(root, 'y-tick').length >= 2);
    assert.deepEqual(statsLines(root), ['Entries 0', 'Mean —', 'Std Dev —', 'Underflow 0', 'Overflow 0']);
  }
  const x = one(parseXml(histogramSvg(h)), 'x-label');
  assert.deepEqual(
    x.children.filter((c): c is XmlElement => typeof c !== 'string').map((t) => [textOf(t), Math.sign(Number(t.attrs.dy))]),
    [['T', 1], ['miss', -1], [' [GeV]', 1]],
    'E, subscript T, superscript miss, back to the baseline',
  );
  h.counts[101] = 3;
  assert.equal(textOf(one(parseXml(histogramSvg(h)), 'no-entries')), 'no entries in range');
});

test('a single-bin spike, one bin, and huge counts with a ×10³ axis multiplier', () => {
  const spike = emptyHistogram('N_{jets}', 'N_{jets}', -0.5, 15.5, 16);
  spike.counts[4] = 5000;
  let root = parseXml(histogramSvg(spike));
  let pts = points(one(root, 'hist-line').attrs.d!);
  const f = frameOf(root);
  assert.equal(pts.filter((p) => p[1] < f.bottom).length, 2, 'only the spike is above the axis');
  assert.deepEqual(
    byClass(root, 'y-tick').map((e) => textOf(e)),
    ['0', '1000', '2000', '3000', '4000', '5000'],
  );

  const single = emptyHistogram('one', 'x', 0, 1, 1);
  single.counts[1] = 1;
  pts = points(one(parseXml(histogramSvg(single)), 'hist-line').attrs.d!);
  assert.equal(pts.length, 4);

  const big = emptyHistogram('big', 'm [GeV]', 0, 100, 20);
  big.counts.fill(123456);
  big.counts[5] = 2_345_678;
  root = parseXml(histogramSvg(big));
  assert.equal(textOf(one(root, 'y-multiplier')), '×106');
  const labels = byClass(root, 'y-tick').map((e) => textOf(e));
  assert.deepEqual(labels, ['0.0', '0.5', '1.0', '1.5', '2.0'], 'mantissas of ×10⁶, fixed decimals');
  assert.ok(statsLines(root).includes('Underflow 123456'));

  big.counts.fill(0);
  big.counts[5] = 150000;
  root = parseXml(histogramSvg(big));
  assert.equal(textOf(one(root, 'y-multiplier')), '×103');
  assert.ok(byClass(root, 'y-tick').every((e) => Number(textOf(e)) <= 160));
});

test('log y axis: decade labels with superscripts, empty bins drop to the axis', () => {
  const h = emptyHistogram('m', 'm [GeV]', 0, 10, 10);
  h.counts[1] = 1;
  h.counts[2] = 10;
  h.counts[3] = 100_000;
  // counts[4…] stay 0
  const root = parseXml(histogramSvg(h, { logY: true }));
  const f = frameOf(root);
  const ticks = byClass(root, 'y-tick');
  assert.deepEqual(
    ticks.map((e) => textOf(e)),
    ['1', '10', '102', '103', '104', '105'],
  );
  const sup = ticks[2]!.children.find((c): c is XmlElement => typeof c !== 'string')!;
  assert.ok(Number(sup.attrs.dy) < 0, 'exponent raised');
  const pts = points(one(root, 'hist-line').attrs.d!);
  const y = (i: number) => pts[1 + 2 * i]![1];
  assert.equal(y(3), f.bottom, 'zero count at the bottom');
  // equal ratios, equal distances: 1 → 10 as 10 → 100000 / 10^3
  const decade = y(0) - y(1);
  assert.ok(decade > 0 && Math.abs(y(1) - y(2) - 4 * decade) < 0.05);
  const one10 = Number(ticks[0]!.attrs.y) - 4;
  assert.ok(Math.abs(one10 - y(0)) < 0.05, 'the "1" tick is at the height of a count of 1');
});

test('rendering is deterministic and leaves its input alone', () => {
  const h = ptHistogram();
  const copy = structuredClone(h);
  const a = histogramSvg(h, { label: 'pt' });
  const b = histogramSvg(structuredClone(h), { label: 'pt' });
  assert.equal(a, b);
  assert.deepEqual(h, copy);
  assert.doesNotMatch(a, /\d\.\d{3,}/, 'coordinates with at most 2 decimals');
  assert.doesNotMatch(a, /="[^"]*(NaN|Infinity|undefined)/, 'no non-numbers in attributes');
});

test('text helpers: rich labels, significant digits, ticks', () => {
  assert.deepEqual(parseRich('p_{T} [GeV]'), [
    { text: 'p', level: 0 },
    { text: 'T', level: -1 },
    { text: ' [GeV]', level: 0 },
  ]);
  assert.deepEqual(parseRich('p_T'), [
    { text: 'p', level: 0 },
    { text: 'T', level: -1 },
  ]);
  assert.deepEqual(parseRich('jets_passOR'), [{ text: 'jets_passOR', level: 0 }], 'an identifier is not a subscript');
  assert.deepEqual(parseRich('#eta \\phi #Delta'), [{ text: 'η φ Δ', level: 0 }]);
  assert.equal(formatSig(59.9712), '59.97');
  assert.equal(formatSig(-0.0026531), '−0.002653');
  assert.equal(formatSig(1234567), '1.235×10^{6}');
  assert.equal(formatSig(0.5), '0.5');
  assert.deepEqual(
    linearTicks(-4.5, 4.5, 10).major.map((t) => t.label),
    ['−4', '−3', '−2', '−1', '0', '1', '2', '3', '4'],
  );
  assert.deepEqual(
    linearTicks(0, 0.3, 3).major.map((t) => t.label),
    ['0.0', '0.1', '0.2', '0.3'],
  );
  assert.deepEqual(linearTicks(0, 3, 10, { integer: true }).minor, [], 'no fractional minor ticks on a count axis');
  assert.deepEqual(
    logTicks(0.5, 2e8, 4).major.map((t) => t.label),
    ['1', '10^{3}', '10^{6}'],
    'every other decade when there are many',
  );
  assert.deepEqual(
    logTicks(0.5, 30, 10).major.map((t) => t.label),
    ['0.5', '1', '2', '5', '10', '20'],
    '2 and 5 labelled too when there are few decades',
  );
});

// ------------------------------------------------------------ results

test('resultPlots, cutflowSvg and summaryHtml', () => {
  const r = sampleResult();
  const plots = resultPlots(r);
  assert.deepEqual(
    plots.map((p) => p.name),
    ['pt_jets_passOR', 'dR_e_jet'],
  );
  for (const p of plots) parseXml(p.svg);
  assert.equal(textOf(one(parseXml(plots[1]!.svg), 'y-label')), 'Entries / 0.1');

  const root = parseXml(cutflowSvg(r));
  const cuts = byClass(root, 'cut');
  assert.equal(cuts.length, 3);
  const rows = cuts.map((c) => all(c, (e) => e.name === 'text').map(textOf));
  assert.deepEqual(rows, [
    ['all', '1000 (100.0%)'],
    ['trigger', '400 (40.0%)'],
    ['one electron', '120 (12.0%)'],
  ]);
  const widths = cuts.map((c) => Number(all(c, (e) => e.name === 'rect')[0]!.attrs.width));
  assert.ok(Math.abs(widths[1]! / widths[0]! - 0.4) < 1e-3 && Math.abs(widths[2]! / widths[0]! - 0.12) < 1e-3, 'bars ∝ events');

  const none = parseXml(cutflowSvg({ ...r, cutflow: [] }));
  assert.equal(textOf(one(none, 'no-entries')), 'no cut-flow steps');

  const html = summaryHtml(r);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal(html.split('<svg ').length - 1, 3, 'cut-flow and both histograms inline');
  assert.doesNotMatch(html, / id="/, 'no ids that could clash between inline SVGs');
});

test('validateResult names what is wrong', () => {
  const bad = (mutate: (r: any) => void) => {
    const r: any = structuredClone(sampleResult());
    mutate(r);
    return () => validateResult(r, 'R.json');
  };
  assert.doesNotThrow(bad(() => {}));
  assert.throws(
    bad((r) => (r.histograms.pt_jets_passOR.counts = r.histograms.pt_jets_passOR.counts.slice(0, 40))),
    /^ResultFormatError: R\.json: histograms\.pt_jets_passOR\.counts has 40 values, expected 52/,
  );
  assert.throws(
    bad((r) => (r.histograms.dR_e_jet.counts[3] = -1)),
    /R\.json: histograms\.dR_e_jet\.counts\[3\] is -1, expected a non-negative number/,
  );
  assert.throws(
    bad((r) => (r.histograms['a b'] = { ...r.histograms.dR_e_jet, hi: 0 })),
    /histograms\["a b"\] has hi = 0 not above lo = 0/,
  );
  assert.throws(
    bad((r) => delete r.cutflow),
    /R\.json: cutflow is missing/,
  );
  assert.throws(
    bad((r) => (r.cutflow[1].events = '400')),
    /cutflow\[1\]\.events is the string "400", expected a non-negative number/,
  );
  assert.throws(
    bad((r) => (r.histograms.pt_jets_passOR.bins = 2.5)),
    /histograms\.pt_jets_passOR\.bins is 2\.5, expected a positive integer/,
  );
  assert.throws(() => validateResult([], 'R.json'), /R\.json: the file is an array, expected an object/);
});

// ------------------------------------------------------------ the command

class Sink {
  text = '';
  write(s: string) {
    this.text += s;
    return true;
  }
}

test('physlite plot writes one SVG per histogram, cutflow.svg and index.html', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'plot-test-'));
  try {
    const r = sampleResult();
    r.histograms['../escape/me'] = r.histograms.dR_e_jet!;
    r.histograms.cutflow = r.histograms.dR_e_jet!;
    const file = path.join(dir, 'result.json');
    await writeFile(file, JSON.stringify(r));
    const outDir = path.join(dir, 'plots', 'nested');
    const out = new Sink();
    assert.equal(await plotCommand([file, '--out', outDir, '--log'], out as unknown as NodeJS.WritableStream), 0);
    const expected = ['pt_jets_passOR.svg', 'dR_e_jet.svg', '__escape_me.svg', 'cutflow_2.svg', 'cutflow.svg', 'index.html'];
    assert.deepEqual(out.text.trim().split('\n'), expected.map((f) => path.join(outDir, f)));
    assert.deepEqual((await readdir(outDir)).sort(), [...expected].sort());
    for (const f of expected.filter((f) => f.endsWith('.svg'))) parseXml(await readFile(path.join(outDir, f), 'utf8'));
    const pt = parseXml(await readFile(path.join(outDir, 'pt_jets_passOR.svg'), 'utf8'));
    assert.ok(byClass(pt, 'y-tick').some((e) => textOf(e) === '103'), '--log gives decade ticks');
    const cf = parseXml(await readFile(path.join(outDir, 'cutflow.svg'), 'utf8'));
    assert.equal(byClass(cf, 'cut').length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('physlite plot rejects bad arguments and malformed results with clear messages', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'plot-test-'));
  try {
    const out = new Sink();
    const run = (...args: string[]) => plotCommand(args, out as unknown as NodeJS.WritableStream);
    const r: any = sampleResult();
    r.histograms.pt_jets_passOR.counts = r.histograms.pt_jets_passOR.counts.slice(0, 40);
    const file = path.join(dir, 'RESULT.json');
    await writeFile(file, JSON.stringify(r));
    await assert.rejects(run(file, '--out', path.join(dir, 'p')), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, `${file}: histograms.pt_jets_passOR.counts has 40 values, expected 52 (50 bins + underflow and overflow)`);
      return true;
    });
    await assert.rejects(readdir(path.join(dir, 'p')), 'nothing written for a bad result');

    await writeFile(path.join(dir, 'bad.json'), '{"analysis": ');
    await assert.rejects(run(path.join(dir, 'bad.json'), '--out', dir), (e: Error) => e instanceof InputError && /bad\.json: not valid JSON/.test(e.message));
    await assert.rejects(run(path.join(dir, 'missing.json'), '--out', dir), (e: Error) => e instanceof InputError && /cannot read .*missing\.json: no such file/.test(e.message));
    await assert.rejects(run(file), (e: Error) => e instanceof UsageError && /--out DIR/.test(e.message));
    await assert.rejects(run('--out', dir), (e: Error) => e instanceof UsageError && /one RESULT\.json/.test(e.message));
    await assert.rejects(run(file, '--out', dir, '--bogus'), (e: Error) => e instanceof UsageError && /bogus/.test(e.message));
    assert.equal(out.text, '', 'nothing printed on failure');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
