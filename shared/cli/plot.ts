// `physlite plot RESULT.json --out DIR [--log]`: an analysis result as SVG
// files, one per histogram (<key>.svg), cutflow.svg, and index.html showing
// them all.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, parseCommandLine, UsageError, type CommandSpec } from './usage';
import { cutflowSvg, resultPlots, summaryHtml } from '../plot/svg';
import { validateResult, ResultFormatError } from '../analysis/validate';
import type { AnalysisResult } from '../analysis/result';

export const PLOT: CommandSpec = {
  name: 'plot',
  summary: 'SVG plots of a run --json or job --json result',
  help: `Usage: physlite plot RESULT.json --out DIR [--log]

An analysis result (from physlite run --json or job --json) as plots: one
DIR/<histogram>.svg each, DIR/cutflow.svg and DIR/index.html showing them all.

  --out DIR, -o DIR  where the files go (created if missing)
  --log              logarithmic y axes
`,
  run: (args, out) => plotCommand(args, out),
};

/** Reads and checks an AnalysisResult JSON file; InputError naming the file and what is wrong. */
export async function readResultFile(file: string): Promise<AnalysisResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InputError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  // `physlite job --json` prints a job status: its result is what is plotted
  if (value !== null && typeof value === 'object' && 'jobId' in value && 'result' in value) value = (value as { result: unknown }).result;
  try {
    return validateResult(value, file);
  } catch (e) {
    if (e instanceof ResultFormatError) throw new InputError(e.message);
    throw e;
  }
}

/** A file name from a histogram key: [A-Za-z0-9._-] only, no leading dot, unique (case-insensitively) among `taken`. */
function fileStem(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 120) || 'histogram';
  let stem = base;
  for (let i = 2; taken.has(stem.toLowerCase()); i++) stem = `${base}_${i}`;
  taken.add(stem.toLowerCase());
  return stem;
}

export async function plotCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { out: { type: 'string', short: 'o' }, log: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    out.write(PLOT.help);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`plot takes one RESULT.json${positionals.length ? `, got ${positionals.length} arguments` : ''}`);
  if (!values.out) throw new UsageError('plot needs --out DIR');
  const result = await readResultFile(positionals[0]!);
  const dir = values.out;

  const files: [string, string][] = [];
  const taken = new Set(['cutflow', 'index']);
  for (const p of resultPlots(result, { logY: values.log === true })) files.push([`${fileStem(p.name, taken)}.svg`, p.svg]);
  files.push(['cutflow.svg', cutflowSvg(result)]);
  files.push(['index.html', summaryHtml(result, { logY: values.log === true })]);

  try {
    await mkdir(dir, { recursive: true });
    for (const [name, content] of files) {
      const file = path.join(dir, name);
      await writeFile(file, content);
      out.write(`${file}\n`);
    }
  } catch (e) {
    throw new InputError(`cannot write to ${dir}: ${(e as Error).message}`);
  }
  return 0;
}
