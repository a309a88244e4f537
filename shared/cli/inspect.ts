// `physlite inspect FILE [--tree NAME]`: the file's trees and their branches,
// with type, entries, compressed and uncompressed bytes.

import { openRootFile, type TreeReader } from '../root/index';
import { checkTreeName } from './file-contents';
import { parseCommandLine, UsageError, type CommandSpec } from './usage';

export const INSPECT: CommandSpec = {
  name: 'inspect',
  summary: 'trees and branches of a ROOT file: type, entries, sizes',
  help: `Usage: physlite inspect FILE_OR_URL [--tree NAME]

Every TTree of the file (or only --tree NAME) with its branches: type, entries,
compressed and uncompressed bytes. FILE_OR_URL is a local path, file://,
http(s):// (byte-range requests) or gs://bucket/object.
`,
  run: inspectCommand,
};

export async function inspectCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { tree: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError(`inspect takes one FILE_OR_URL${positionals.length ? `, got ${positionals.length}` : ''}`);
  const file = await openRootFile(positionals[0]!);
  try {
    if (values.tree) await checkTreeName(file, values.tree);
    const trees = values.tree ? [values.tree] : await file.trees();
    const rntuples = values.tree ? [] : await file.rntuples();
    for (const r of rntuples) out.write(`${file.name} : RNTuple ${r.path} (${r.className}) — RNTuple reading is not supported yet\n`);
    if (trees.length === 0) out.write(`${file.name}: no TTree in this file\n`);
    for (const name of trees) await showTree(await file.tree(name), out);
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
