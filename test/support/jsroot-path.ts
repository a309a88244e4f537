// jsroot reading a ROOT file from a local path (its Node file reader, which
// fetches byte ranges as needed), for files too large to hand over in memory:
// one branch over an entry range, as plain values (see jsroot-oracle.ts).

/// <reference types="jsroot" />
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess } from 'jsroot/tree';
import { toPlain, type Plain } from './jsroot-oracle';

interface JFile {
  readObject(name: string): Promise<unknown>;
}

export async function jsrootReadPath(path: string, treeName: string, branch: string, entryStart: number, entryStop: number): Promise<{ entries: number; values: Plain[] }> {
  const file = (await openFile(path)) as JFile;
  const tree = (await file.readObject(treeName)) as { fEntries: number } | null;
  if (!tree) throw new Error(`jsroot: no tree ${treeName} in ${path}`);
  const values: Plain[] = [];
  const selector = new TSelector() as { addBranch(b: string, name: string): number; Process(entry: number): void; tgtobj: Record<string, unknown> };
  selector.addBranch(branch, 'v');
  selector.Process = function () {
    values.push(toPlain(this.tgtobj.v));
  };
  await (treeProcess as (t: unknown, s: unknown, a: unknown) => Promise<unknown>)(tree, selector, { firstentry: entryStart, numentries: entryStop - entryStart });
  return { entries: Number(tree.fEntries), values };
}
