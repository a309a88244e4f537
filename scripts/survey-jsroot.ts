// What jsroot can read in the sample files: every branch (sub-branches
// included) with its ROOT class, fType, fStreamerType, class name and leaves,
// whether jsroot reads it, and the shape of its first non-empty value. Prints
// one summary table per tree, grouped by (class, fType, fStreamerType, class
// name pattern), with counts, shapes and example names.
//
//   node --import tsx scripts/survey-jsroot.ts                 # every sample
//   node --import tsx scripts/survey-jsroot.ts --sample PHYSLITE_example.root
//   node --import tsx scripts/survey-jsroot.ts --json survey.json   # every branch as JSON too
//
// Reads through the test oracle (test/support/jsroot-oracle.ts), so the
// values and errors are the ones the differential tests compare against.

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openOracleSample, shapeOf, isNonEmpty, jsrootKind, jsrootInt64Fix, type BranchInfo, type Plain } from '../test/support/jsroot-oracle';

const TREES: { sample: string; tree: string }[] = [
  { sample: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root', tree: 'CollectionTree' },
  { sample: 'PHYSLITE_example.root', tree: 'CollectionTree' },
  ...['zlib', 'lz4', 'lzma', 'zstd', 'uncompressed'].map((c) => ({ sample: `uproot-HZZ-${c}.root`, tree: 'events' })),
  { sample: 'uproot-vectorVectorDouble.root', tree: 't' },
  { sample: 'uproot-small-evnt-tree-fullsplit.root', tree: 'tree' },
];

export interface SurveyRow extends BranchInfo {
  readable: boolean;
  error: string | null;
  /** Entry of the first non-empty value (or 0 when every entry is empty). */
  firstEntry: number | null;
  /** Shape of that value in the oracle's plain form. */
  shape: string | null;
  /** What jsroot itself returned there (number, boolean, Float32Array, Array<…>, object<Class>). */
  jsroot: string | null;
}

/** Collapses class names so that similar branches group together. */
export function classPattern(name: string): string {
  let s = name.replace(/\s+>/g, '>');
  s = collapseTemplate(s, 'ElementLink<', 'ElementLink<…>');
  s = s.replace(/DataVector<xAOD::[\w:]+>/g, 'DataVector<xAOD::…>');
  s = s.replace(/xAOD::\w*AuxContainer\w*/g, 'xAOD::…AuxContainer…');
  s = s.replace(/xAOD::\w*AuxInfo\w*/g, 'xAOD::…AuxInfo…');
  s = s.replace(/xAOD::\w*Aux\w*/g, 'xAOD::…Aux…');
  s = s.replace(/xAOD::(?!…)\w+/g, 'xAOD::…');
  return s;
}

function collapseTemplate(s: string, head: string, replacement: string): string {
  for (let at = s.indexOf(head); at >= 0; at = s.indexOf(head, at + replacement.length)) {
    let depth = 0;
    let end = at + head.length - 1;
    for (; end < s.length; end++) {
      if (s[end] === '<') depth++;
      else if (s[end] === '>' && --depth === 0) break;
    }
    s = s.slice(0, at) + replacement + s.slice(end + 1);
  }
  return s;
}

function pattern(r: SurveyRow): string {
  if (r.kind === 'TBranch') return r.leaves.map((l) => l.replace(/\[.*\]/, '[n]')).join(',');
  if (r.memberType !== null) return `${classPattern(r.memberType)} in ${classPattern(r.className)}`;
  return classPattern(r.className);
}

function shortError(message: string): string {
  const said = /\(jsroot said: ([^;)]*)/.exec(message)?.[1];
  let m = message.replace(/\s*\(jsroot said:.*$/s, '');
  if (/gave no value/.test(m)) m = 'no value (jsroot fills nothing)';
  else if (/Fail to add branch/.test(m)) m = `cannot add: ${said ?? ''}`;
  return m.replace(/branch \S+/g, 'branch X').slice(0, 90);
}

async function surveyTree(sample: string, treeName: string): Promise<{ rows: SurveyRow[]; openMs: number; readMs: number; passes: number; entries: number; failedPasses: number }> {
  const t0 = performance.now();
  const oracle = await openOracleSample(sample, treeName);
  const openMs = performance.now() - t0;
  const firstRaw = new Map<number, { entry: number; kind: string }>();
  const anyRaw = new Map<number, string>();
  const t1 = performance.now();
  const results = await oracle.readAll({
    inspect(_name, entry, raw, index) {
      if (!anyRaw.has(index)) anyRaw.set(index, jsrootKind(raw));
      if (!firstRaw.has(index)) {
        const plain = raw === undefined ? null : rawNonEmpty(raw);
        if (plain) firstRaw.set(index, { entry, kind: jsrootKind(raw) });
      }
    },
  });
  const readMs = performance.now() - t1;
  const rows = oracle.branches.map((info, i): SurveyRow => {
    const r = results[i]!;
    if (r instanceof Error) return { ...info, readable: false, error: r.message, firstEntry: null, shape: null, jsroot: anyRaw.get(i) ?? null };
    const at = r.findIndex((v: Plain) => isNonEmpty(v));
    const entry = at < 0 ? 0 : at;
    return {
      ...info,
      readable: true,
      error: null,
      firstEntry: entry,
      shape: r.length ? shapeOf(r[entry]!) + (at < 0 ? ' (all empty)' : '') : null,
      jsroot: firstRaw.get(i)?.kind ?? anyRaw.get(i) ?? null,
    };
  });
  return { rows, openMs, readMs, passes: oracle.stats.passes, failedPasses: oracle.stats.failedPasses, entries: oracle.entries };
}

function rawNonEmpty(raw: unknown): boolean {
  if (raw === null) return false;
  if (typeof raw !== 'object') return true;
  if (ArrayBuffer.isView(raw)) return (raw as unknown as ArrayLike<unknown>).length > 0;
  if (Array.isArray(raw)) return raw.length > 0;
  return Object.entries(raw).some(([k, v]) => k !== '_typename' && !k.startsWith('$') && typeof v !== 'function' && rawNonEmpty(v));
}

interface Group {
  kind: string;
  fType: number | null;
  st: number | null;
  pattern: string;
  n: number;
  ok: number;
  fail: number;
  shapes: Map<string, number>;
  jsroot: Map<string, number>;
  errors: Map<string, number>;
  examples: string[];
}

function top(m: Map<string, number>, k: number): string {
  const all = [...m].sort((a, b) => b[1] - a[1]);
  const cut = (s: string) => (s.length > 160 ? `${s.slice(0, 159)}…` : s);
  const shown = all.slice(0, k).map(([s, c]) => (all.length > 1 ? `${cut(s)} ×${c}` : cut(s)));
  if (all.length > k) shown.push(`…+${all.length - k}`);
  return shown.join('; ');
}

export function summarize(rows: SurveyRow[]): string {
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const p = pattern(r);
    const key = `${r.kind}|${r.fType}|${r.fStreamerType}|${p}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kind: r.kind, fType: r.fType, st: r.fStreamerType, pattern: p, n: 0, ok: 0, fail: 0, shapes: new Map(), jsroot: new Map(), errors: new Map(), examples: [] }));
    g.n++;
    if (r.readable) {
      g.ok++;
      g.shapes.set(r.shape!, (g.shapes.get(r.shape!) ?? 0) + 1);
    } else {
      g.fail++;
      const e = shortError(r.error!);
      g.errors.set(e, (g.errors.get(e) ?? 0) + 1);
    }
    if (r.jsroot) g.jsroot.set(r.jsroot, (g.jsroot.get(r.jsroot) ?? 0) + 1);
    if (g.examples.length < 3) g.examples.push(r.name);
  }
  const sorted = [...groups.values()].sort((a, b) => a.kind.localeCompare(b.kind) || (a.fType ?? -9) - (b.fType ?? -9) || (a.st ?? -9) - (b.st ?? -9) || a.pattern.localeCompare(b.pattern));
  const lines: string[] = [];
  for (const g of sorted) {
    const head = `${g.kind === 'TBranchElement' ? 'TBE' : g.kind} fType=${g.fType ?? '-'} st=${g.st ?? '-'}  ${g.pattern}`;
    lines.push(`${head}\n    n=${g.n} readable=${g.ok} unreadable=${g.fail}` + (g.ok ? `  shape: ${top(g.shapes, 3)}` : '') + (g.fail ? `  error: ${top(g.errors, 2)}` : '') + `\n    jsroot gives: ${top(g.jsroot, 3) || '-'}\n    e.g. ${g.examples.join(', ')}`);
  }
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({ options: { sample: { type: 'string', multiple: true }, json: { type: 'string' } } });
  const wanted = values.sample?.length ? TREES.filter((t) => values.sample!.includes(t.sample)) : TREES;
  if (values.sample?.length && wanted.length !== values.sample.length) {
    throw new Error(`unknown sample among ${values.sample.join(', ')}; known: ${TREES.map((t) => t.sample).join(', ')}`);
  }
  console.log(`jsroot survey (TBuffer.ntoi8 ${jsrootInt64Fix ? 'replaced: jsroot mis-decodes int64 < -2^31' : 'as shipped'})\n`);
  const all: Record<string, SurveyRow[]> = {};
  const timing: string[] = [];
  for (const { sample, tree } of wanted) {
    const s = await surveyTree(sample, tree);
    all[`${sample}:${tree}`] = s.rows;
    const ok = s.rows.filter((r) => r.readable).length;
    console.log(`=== ${sample} — tree ${tree}: ${s.entries} entries, ${s.rows.length} branches, ${ok} readable by jsroot, ${s.rows.length - ok} not`);
    console.log(summarize(s.rows));
    console.log();
    timing.push(`${sample.padEnd(40)} open ${s.openMs.toFixed(0).padStart(5)} ms, read all ${s.rows.length} branches × ${s.entries} entries ${s.readMs.toFixed(0).padStart(5)} ms in ${s.passes} passes (${s.failedPasses} failed and split)`);
  }
  console.log('timing:');
  for (const t of timing) console.log(`  ${t}`);
  if (values.json) {
    await writeFile(values.json, JSON.stringify(all, null, 1));
    console.log(`every branch written to ${values.json}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
