// The `physlite` command line: look into ROOT files and dump branches.
//
//   physlite inspect FILE_OR_URL [--tree NAME]
//   physlite dump FILE_OR_URL --tree NAME --branch NAME [--start N] [--stop M]
//   physlite run FILE_OR_URL_OR_DIR… [--profile r21|r22] [--json] [--max-events N]
//   physlite job --local DATASET… [--chaos] [--json]
//   physlite plot RESULT.json --out DIR

import { openRootFile, RootError, elementToPlain, contentLength, type TreeReader, type PlainValue } from '../root/index';
import { InputError, parseCommandLine, UsageError } from './usage';
import { RUN_USAGE, runCommand } from './run';
import { PLOT_USAGE, plotCommand } from './plot';
import { JOB_USAGE, jobCommand } from './job';
import { SYNTH_USAGE, synthCommand } from './synth';
import { MergeError } from '../analysis/result';

export { UsageError };

const USAGE = `physlite — read ATLAS DAOD_PHYSLITE (and other ROOT) files

Usage:
  physlite inspect FILE_OR_URL [--tree NAME]
      Trees and their branches: type, entries, compressed and uncompressed bytes.
  physlite dump FILE_OR_URL --tree NAME --branch NAME [--start N] [--stop M]
      The branch's values as one JSON array, one element per entry.
${RUN_USAGE}${JOB_USAGE}${PLOT_USAGE}${SYNTH_USAGE}
FILE_OR_URL is a local path, file://, http(s):// (byte-range requests) or gs://bucket/object.
`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out.write(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'inspect':
      return inspect(rest, out);
    case 'dump':
      return dump(rest, out);
    case 'run':
      return runCommand(rest, out);
    case 'plot':
      return plotCommand(rest, out);
    case 'job':
      return jobCommand(rest, out);
    case 'synth':
      return synthCommand(rest, out);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

async function inspect(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { tree: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('inspect takes one FILE_OR_URL');
  const file = await openRootFile(positionals[0]!);
  try {
    const trees = values.tree ? [values.tree] : await file.trees();
    if (trees.length === 0) out.write(`${file.name}: no TTree in this file\n`);
    for (const name of trees) {
      const tree = await file.tree(name);
      await showTree(tree, out);
    }
  } finally {
    await file.close();
  }
  return 0;
}

function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

async function showTree(reader: TreeReader, out: NodeJS.WritableStream): Promise<void> {
  const tree = reader.tree;
  const rows: string[][] = [];
  let comp = 0;
  let uncomp = 0;
  for (const b of tree.allBranches()) {
    const depth = b.path.split('/').length - 1;
    rows.push(['  '.repeat(depth) + b.name, await reader.typeName(b), String(b.entries), human(b.compressedBytes), human(b.totBytes)]);
    comp += b.compressedBytes;
    uncomp += b.totBytes;
  }
  const clusters = tree.clusters().length;
  out.write(`${tree.file.name} : TTree ${tree.name} "${tree.title}" — ${tree.entries} entries, ${rows.length} branches, ${clusters} cluster${clusters === 1 ? '' : 's'}, ${human(comp)} compressed / ${human(uncomp)} uncompressed\n`);
  const header = ['name', 'type', 'entries', 'compressed', 'uncompressed'];
  const widths = header.map((h, i) => Math.min(i === 0 ? 70 : i === 1 ? 60 : 14, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd() + '\n';
  out.write(line(header));
  out.write(widths.map((w) => '-'.repeat(w)).join('-+-') + '\n');
  for (const r of rows) out.write(line(r));
}

/** JSON with NaN/±Infinity as null (JSON has no such numbers). */
function jsonValue(v: PlainValue): string {
  return JSON.stringify(v);
}

async function dump(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { tree: { type: 'string' }, branch: { type: 'string' }, start: { type: 'string' }, stop: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('dump takes one FILE_OR_URL');
  if (!values.tree) throw new UsageError('dump needs --tree NAME');
  if (!values.branch) throw new UsageError('dump needs --branch NAME');
  const start = intOption(values.start, 'start');
  const stop = intOption(values.stop, 'stop');
  const file = await openRootFile(positionals[0]!);
  try {
    const tree = await file.tree(values.tree);
    const first = start ?? 0;
    const last = Math.max(first, Math.min(stop ?? tree.tree.entries, tree.tree.entries));
    // an empty read first: a missing branch or an undecodable type fails before any output
    await tree.read([values.branch], { entryStart: first, entryStop: first });
    out.write('[');
    let written = 0;
    // cluster by cluster, so a dump of a large file streams in bounded memory
    for await (const chunk of tree.iterate([values.branch], { entryStart: first, entryStop: last })) {
      const column = chunk.columns.get(values.branch)!;
      const n = contentLength(column);
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push((written++ ? ',\n' : '\n') + jsonValue(elementToPlain(column, i)));
      out.write(lines.join(''));
    }
    out.write(written ? '\n]\n' : ']\n');
  } finally {
    await file.close();
  }
  return 0;
}

/** Entry point: prints errors as one line with their code, never a stack for bad input. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`physlite: ${e.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (e instanceof RootError || e instanceof MergeError || e instanceof InputError) {
      process.stderr.write(`physlite: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`physlite: internal error: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = 70;
    }
  }
}
