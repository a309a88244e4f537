// What a ROOT file holds, as far as the commands need to know before reading
// it: whether a file found in a directory is a PHYSLITE file `run` should
// analyse, which tree `dump` reads when no --tree is given, and names to
// suggest when one is misspelt.

import { openRootFile, RootError, type RootFileHandle } from '../root/index';
import { nearestNames, UsageError } from './usage';

/** The tree holding a PHYSLITE file's events. */
export const EVENT_TREE = 'CollectionTree';

/** Names of the RNTuples in the top directory (ROOT's newer event format, which these commands do not read). */
export function rntupleNames(file: RootFileHandle): string[] {
  return [...new Set(file.file.root.keys.filter((k) => /RNTuple/.test(k.className)).map((k) => k.name))];
}

/** Why a file is not a PHYSLITE file `run` can analyse, or null when it is one. */
export type Classification = { physlite: true } | { physlite: false; reason: string };

/**
 * Whether a file met in a directory is a PHYSLITE file (a ROOT file with a
 * CollectionTree TTree). Only the definite "no" cases are skipped: not a ROOT
 * file, no CollectionTree (RNTuple-only files included). A ROOT file that
 * cannot be opened (truncated, corrupt, unreadable) counts as PHYSLITE, so
 * the analysis reports its error instead of the run silently dropping events.
 */
export async function classifyForRun(path: string): Promise<Classification> {
  let file: RootFileHandle;
  try {
    file = await openRootFile(path);
  } catch (e) {
    if (e instanceof RootError && e.code === 'BAD_MAGIC') return { physlite: false, reason: 'not a ROOT file' };
    return { physlite: true };
  }
  try {
    if (file.file.root.keys.some((k) => k.name === EVENT_TREE && k.className === 'TTree')) return { physlite: true };
    const rntuples = rntupleNames(file);
    if (rntuples.length) return { physlite: false, reason: `RNTuple ${rntuples.join(', ')} but no ${EVENT_TREE} TTree (PHYSLITE as RNTuple is not read yet)` };
    const trees = await file.trees();
    return { physlite: false, reason: trees.length ? `no ${EVENT_TREE} (TTrees: ${shortList(trees)})` : `no ${EVENT_TREE}, no TTree at all` };
  } catch {
    return { physlite: true };
  } finally {
    await file.close();
  }
}

function shortList(names: string[], max = 4): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * The tree a command reads when none is named: CollectionTree when it has
 * entries, else the file's only tree with entries (or its only tree). With
 * several candidates the user must choose: a UsageError listing them.
 */
export async function defaultTree(file: RootFileHandle, command: string): Promise<string> {
  const trees = await file.trees();
  if (trees.length === 0) {
    const rntuples = rntupleNames(file);
    throw new RootError('NOT_FOUND', `no TTree in this file${rntuples.length ? ` (it holds RNTuple ${rntuples.join(', ')}, which ${command} does not read)` : ''}`, file.file.context);
  }
  if (trees.includes(EVENT_TREE) && (await file.tree(EVENT_TREE)).tree.entries > 0) return EVENT_TREE;
  if (trees.length === 1) return trees[0]!;
  const entries = new Map<string, number>();
  for (const name of trees) entries.set(name, (await file.tree(name)).tree.entries);
  const filled = trees.filter((t) => entries.get(t)! > 0);
  if (filled.length === 1) return filled[0]!;
  const rntuples = rntupleNames(file);
  const also = rntuples.length ? ` (and RNTuple ${rntuples.join(', ')}, which ${command} does not read)` : '';
  throw new UsageError(`${file.name} has ${trees.length} trees, name one with --tree: ${trees.map((t) => `${t} (${entries.get(t)} entries)`).join(', ')}${also}`, command);
}

/** A NOT_FOUND error for a tree name the file does not have, suggesting the nearest ones; null when it has it. */
export async function checkTreeName(file: RootFileHandle, name: string): Promise<void> {
  if (name.includes(';')) return; // a cycle: the reader checks it
  const trees = await file.trees();
  if (trees.includes(name)) return;
  const near = nearestNames(name, trees);
  const rntuples = rntupleNames(file).includes(name) ? ` ("${name}" is an RNTuple, which is not read)` : '';
  throw new RootError('NOT_FOUND', `no tree "${name}"${rntuples}${near.length ? `; did you mean ${orList(near)}?` : ''} (trees: ${trees.length ? shortList(trees, 10) : 'none'})`, file.file.context);
}

/** "a", "a or b", "a, b or c". */
export function orList(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}
