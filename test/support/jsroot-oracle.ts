// The test oracle: branch values read by jsroot (an independent ROOT reader),
// in the same plain form as our `toPlainArray`: numbers (64-bit integers as
// numbers, booleans as 0/1), arrays, strings, and objects for classes with
// jsroot's bookkeeping fields (`_typename`) removed.

import { openFile, TSelector, treeProcess } from 'jsroot';

export type Plain = number | string | Plain[] | { [k: string]: Plain };

/** jsroot's value for one entry → plain JS. Float32 values stay exactly as jsroot decoded them. */
export function toPlain(v: unknown): Plain {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Set) return [...v].map(toPlain);
  if (v && typeof v === 'object') {
    const out: { [k: string]: Plain } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '_typename' || k.startsWith('$')) continue;
      out[k] = toPlain(x);
    }
    return out;
  }
  return v === null || v === undefined ? [] : String(v);
}

export interface OracleTree {
  entries: number;
  /** Every branch name, depth first, as jsroot lists them. */
  branchNames: string[];
  /** All entries of one branch as plain values, or the error jsroot gave. */
  read(branch: string): Promise<Plain[] | Error>;
}

/** Opens a tree with jsroot from bytes in memory. */
export async function openOracle(bytes: Uint8Array, treeName: string): Promise<OracleTree> {
  interface JsrootBranch {
    fName: string;
    fBranches: { arr: JsrootBranch[] };
  }
  const file = await quietly(async () => openFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer));
  const tree = (await quietly(async () => file.readObject(treeName))) as { fEntries: number; fBranches: { arr: JsrootBranch[] } };
  const branchNames: string[] = [];
  // jsroot finds a sub-branch whose name does not repeat its parent's as "parent.child"
  const dotted = new Map<string, string>();
  const walk = (b: JsrootBranch, parent: string | null) => {
    branchNames.push(b.fName);
    // (array members are named "x[10]" but found as "parent.x")
    if (parent !== null && !b.fName.startsWith(parent.replace(/\.$/, ''))) dotted.set(b.fName, `${parent.replace(/\.$/, '')}.${b.fName.replace(/\[.*$/, '')}`);
    for (const c of b.fBranches.arr) walk(c, dotted.get(b.fName) ?? b.fName);
  };
  for (const b of tree.fBranches.arr) walk(b, null);
  const entries = Number(tree.fEntries);
  return {
    entries,
    branchNames,
    async read(branch: string) {
      const first = await readWith(tree, branch, entries);
      const alias = dotted.get(branch);
      if (first instanceof Error && alias && /Fail to add branch/.test(first.message)) return readWith(tree, alias, entries);
      return first;
    },
  };
}

/** Runs fn with jsroot's console chatter ("Did not found branch", …) silenced. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  console.log = console.warn = console.error = console.info = () => {};
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

async function readWith(tree: unknown, branch: string, entries: number): Promise<Plain[] | Error> {
  return quietly(() => readLoud(tree, branch, entries));
}

async function readLoud(tree: unknown, branch: string, entries: number): Promise<Plain[] | Error> {
  const sel = new TSelector();
  sel.addBranch(branch, 'value');
  const values: Plain[] = [];
  sel.Process = function (this: { tgtobj: { value: unknown } }) {
    values.push(toPlain(this.tgtobj.value));
  };
  try {
    await treeProcess(tree as never, sel);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  if (values.length !== entries) return new Error(`jsroot produced ${values.length} of ${entries} entries`);
  return values;
}
