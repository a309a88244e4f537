// Checks that a parsed JSON value (a result file, a stored partial result) has
// the shape of an AnalysisResult, with messages that name the field:
// "histograms.pt.counts has 40 values, expected 52".

import type { AnalysisResult } from './result';

export class ResultFormatError extends Error {
  override readonly name = 'ResultFormatError';
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}

/** "histograms.pt_jets", or histograms["p t"] for keys that are not identifiers. */
function key(path: string, k: string): string {
  const part = /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return path ? path + part : part.replace(/^\./, '');
}

/** The value as an AnalysisResult; throws ResultFormatError "<source>: <what is wrong>". */
export function validateResult(value: unknown, source = 'result'): AnalysisResult {
  const fail = (msg: string): never => {
    throw new ResultFormatError(`${source}: ${msg}`);
  };
  const object = (v: unknown, path: string): Obj => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path || 'the file'} is ${describe(v)}, expected an object`);
    return v as Obj;
  };
  const field = (o: Obj, path: string, k: string): [unknown, string] => {
    const p = key(path, k);
    if (!(k in o)) fail(`${p} is missing`);
    return [o[k], p];
  };
  const string = (o: Obj, path: string, k: string): string => {
    const [v, p] = field(o, path, k);
    if (typeof v !== 'string') fail(`${p} is ${describe(v)}, expected a string`);
    return v as string;
  };
  const count = (v: unknown, p: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${p} is ${describe(v)}, expected a non-negative number`);
    return v as number;
  };
  const finite = (o: Obj, path: string, k: string): number => {
    const [v, p] = field(o, path, k);
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${p} is ${describe(v)}, expected a finite number`);
    return v as number;
  };

  const root = object(value, '');
  string(root, '', 'analysis');
  string(root, '', 'profile');
  count(field(root, '', 'eventsRead')[0], 'eventsRead');
  count(field(root, '', 'eventsKept')[0], 'eventsKept');

  const counts = object(field(root, '', 'counts')[0], 'counts');
  for (const [coll, flags] of Object.entries(counts)) {
    const p = key('counts', coll);
    for (const [flag, n] of Object.entries(object(flags, p))) count(n, key(p, flag));
  }

  const histograms = object(field(root, '', 'histograms')[0], 'histograms');
  for (const [name, hv] of Object.entries(histograms)) {
    const p = key('histograms', name);
    const h = object(hv, p);
    string(h, p, 'title');
    string(h, p, 'xLabel');
    const lo = finite(h, p, 'lo');
    const hi = finite(h, p, 'hi');
    if (!(hi > lo)) fail(`${p} has hi = ${hi} not above lo = ${lo}`);
    const [bins] = field(h, p, 'bins');
    if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 1) fail(`${p}.bins is ${describe(bins)}, expected a positive integer`);
    const [c, cp] = field(h, p, 'counts');
    if (!Array.isArray(c)) fail(`${cp} is ${describe(c)}, expected an array of bins + 2 counts`);
    const arr = c as unknown[];
    const expected = (bins as number) + 2;
    if (arr.length !== expected) fail(`${cp} has ${arr.length} values, expected ${expected} (${bins} bins + underflow and overflow)`);
    arr.forEach((n, i) => count(n, `${cp}[${i}]`));
    count(field(h, p, 'nan')[0], `${p}.nan`);
  }

  const [cutflow] = field(root, '', 'cutflow');
  if (!Array.isArray(cutflow)) fail(`cutflow is ${describe(cutflow)}, expected an array`);
  (cutflow as unknown[]).forEach((s, i) => {
    const p = `cutflow[${i}]`;
    const step = object(s, p);
    string(step, p, 'name');
    count(field(step, p, 'events')[0], `${p}.events`);
  });
  return value as AnalysisResult;
}
