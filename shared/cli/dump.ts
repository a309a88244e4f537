// `physlite dump FILE --branch NAME [--tree NAME] [--start N] [--stop M]`:
// one branch's values as one JSON array, one element per entry.
//
// stdout holds nothing or valid JSON, never a half-written array:
//  - before anything is written, the branch is looked up (a misspelt name
//    gets the nearest names) and its baskets must cover the entry range (a
//    tree that claims more entries than its branches hold fails here);
//  - values are decoded cluster by cluster; the text is held in memory until
//    the dump is complete or it passes HOLD_BYTES, so a dump of up to that
//    size is written whole or not at all;
//  - a larger dump streams in bounded memory, each cluster written once it
//    decoded; if a later cluster fails, the array is closed (stdout is a valid
//    array of the entries before it) and the error line on stderr says which
//    entries stdout holds. The exit code is 1 either way.

import { openRootFile, RootError, elementToPlain, contentLength, type Branch, type TreeReader } from '../root/index';
import { checkTreeName, defaultTree, orList } from './file-contents';
import { nearestNames, parseCommandLine, UsageError, type CommandSpec } from './usage';

const HOLD_BYTES = 16 << 20;

export const DUMP: CommandSpec = {
  name: 'dump',
  summary: "one branch's values as JSON, one element per entry",
  help: `Usage: physlite dump FILE_OR_URL --branch NAME [--tree NAME] [--start N] [--stop M]

The branch's values over entries [N, M) (default: all) as one JSON array, one
element per entry. --tree defaults to CollectionTree, or to the file's only
tree with entries. A misspelt branch or tree gets the nearest names; on an
error stdout holds nothing or a complete JSON array (see the exit code: 1).

Example: physlite dump ../shared/data/PHYSLITE_example.root --branch AnalysisElectronsAuxDyn.pt --stop 3
`,
  run: (args, out) => dumpCommand(args, out),
};

function entryOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** `holdBytes`: how much JSON text is held back until the dump is complete (a test sets it to 0 to see the streaming case). */
export async function dumpCommand(args: string[], out: NodeJS.WritableStream, options: { holdBytes?: number } = {}): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { tree: { type: 'string' }, branch: { type: 'string' }, start: { type: 'string' }, stop: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError(`dump takes one FILE_OR_URL${positionals.length ? `, got ${positionals.length}` : ''}`);
  if (!values.branch) throw new UsageError('dump needs --branch NAME');
  const start = entryOption(values.start, 'start');
  const stop = entryOption(values.stop, 'stop');
  if (start !== undefined && stop !== undefined && stop < start) throw new UsageError(`--start ${start} is after --stop ${stop}`);
  const file = await openRootFile(positionals[0]!);
  try {
    if (values.tree) await checkTreeName(file, values.tree);
    const tree = await file.tree(values.tree ?? (await defaultTree(file, 'dump')));
    const branch = findBranch(tree, values.branch);
    const first = Math.min(start ?? 0, tree.tree.entries);
    const last = Math.max(first, Math.min(stop ?? tree.tree.entries, tree.tree.entries));
    checkCoverage(tree, branch, first, last);
    // an empty read: an undecodable type fails before any output
    await tree.read([values.branch], { entryStart: first, entryStop: first });
    await writeArray(tree, values.branch, first, last, out, options.holdBytes ?? HOLD_BYTES);
  } finally {
    await file.close();
  }
  return 0;
}

/** The branch, or a NOT_FOUND error naming the nearest branch names. */
function findBranch(tree: TreeReader, name: string): Branch {
  if (tree.tree.hasBranch(name)) return tree.tree.branch(name);
  const names = new Set<string>();
  for (const b of tree.tree.allBranches()) names.add(b.name);
  let near = nearestNames(name, names);
  if (near.length === 0) {
    // nothing close as a whole: names that contain the last part ("pt" of "Muons.pt")
    const part = (name.split('.').pop() || name).toLowerCase();
    near = [...names].filter((n) => n.toLowerCase().includes(part)).slice(0, 3);
  }
  throw new RootError('NOT_FOUND', `no branch "${name}"${near.length ? `; did you mean ${orList(near)}?` : ''} (${names.size} branches: physlite inspect lists them)`, tree.tree.context);
}

/**
 * The entries [first, last) must lie in the baskets of every branch that
 * holds data (the branch and its sub-branches): a tree whose header claims
 * more entries than its branches hold is found here, before any output.
 */
function checkCoverage(tree: TreeReader, branch: Branch, first: number, last: number): void {
  if (last <= first) return;
  for (const b of branch.walk()) {
    if (b.branches.length > 0 && b.baskets.length === 0) continue; // a split object's parent holds no data itself
    let covered = first;
    for (const basket of [...b.baskets].sort((x, y) => x.entryStart - y.entryStart)) {
      if (basket.entryStart <= covered && basket.entryStop > covered) covered = basket.entryStop;
      if (covered >= last) break;
    }
    if (covered < last) {
      const held = b.baskets.reduce((n, x) => Math.max(n, x.entryStop), 0);
      throw new RootError('CORRUPT', `the tree has ${tree.tree.entries} entries but this branch's baskets hold entries up to ${held}${covered < held ? ` with a gap at ${covered}` : ''}: entries [${first}, ${last}) cannot be read`, { ...tree.tree.context, branch: b.name });
    }
  }
}

/** Writes text, waiting when the stream asks to (so a large dump into a slow pipe stays bounded). */
async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (out.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}

async function writeArray(tree: TreeReader, name: string, first: number, last: number, out: NodeJS.WritableStream, holdBytes: number): Promise<void> {
  let held: string[] | null = ['['];
  let heldBytes = 1;
  let entries = 0;
  try {
    // cluster by cluster, so a dump of a large file stays in bounded memory
    for await (const chunk of tree.iterate([name], { entryStart: first, entryStop: last })) {
      const column = chunk.columns.get(name)!;
      const n = contentLength(column);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push((entries + i ? ',\n' : '\n') + JSON.stringify(elementToPlain(column, i)));
      entries += n;
      const text = parts.join('');
      if (held) {
        held.push(text);
        heldBytes += text.length;
        if (heldBytes <= holdBytes) continue;
        await write(out, held.join(''));
        held = null;
      } else await write(out, text);
    }
  } catch (e) {
    if (held === null) {
      // part of the array is out: close it so stdout stays valid JSON, and say what it holds
      await write(out, entries ? '\n]\n' : ']\n');
      if (e instanceof Error) e.message += ` (stdout holds only entries [${first}, ${first + entries}), as a complete JSON array)`;
    }
    throw e;
  }
  const end = entries ? '\n]\n' : ']\n';
  await write(out, held ? held.join('') + end : end);
}
