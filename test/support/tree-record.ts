// Builds hostile variants of a sample file for tests: the TTree record is
// inflated (node's zlib, block by block), selected counts are overwritten
// (the tree's fEntries and fAutoFlush, the fEntries of every top-level
// branch), and the record is appended uncompressed with a new key list that
// points the root directory at it. Everything else in the file (baskets,
// streamer infos) stays where it was, so the result is a well-formed ROOT
// file whose only fault is the edited counts.
//
// Offsets are found by walking the ROOT layout here, independently of the
// decoder: TTree v19/v20 and TBranch v12/v13 (every sample used in the tests).

import { inflateSync } from 'node:zlib';
import { Writer, writeKey, keyLength } from './root-layout';

export interface TreeEdit {
  /** New fEntries of the tree. */
  entries?: number;
  /** New fAutoFlush of the tree. */
  autoFlush?: number;
  /** New fEntries of every top-level branch. */
  branchEntries?: number;
}

const dec = new TextDecoder('latin1');

class Reader {
  constructor(readonly b: Uint8Array, public p = 0) {}
  get view() {
    return new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
  }
  u8() {
    return this.b[this.p++]!;
  }
  u16() {
    const v = this.view.getUint16(this.p);
    this.p += 2;
    return v;
  }
  u32() {
    const v = this.view.getUint32(this.p);
    this.p += 4;
    return v;
  }
  str() {
    let n = this.u8();
    if (n === 255) n = this.u32();
    const s = dec.decode(this.b.subarray(this.p, this.p + n));
    this.p += n;
    return s;
  }
  /** Skips an object written with a byte count (4 bytes + count). */
  skipCounted() {
    const n = this.u32() & ~0x40000000;
    this.p += n;
  }
  /** A (byte count, version) header: returns the version. */
  version() {
    this.p += 4;
    return this.u16();
  }
}

function putI64(b: Uint8Array, at: number, v: number) {
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  d.setUint32(at, Math.floor(v / 2 ** 32));
  d.setUint32(at + 4, v % 2 ** 32);
}

interface RawKey {
  nbytes: number;
  objlen: number;
  keylen: number;
  cycle: number;
  seekKey: number;
  className: string;
  name: string;
  title: string;
}

function readKey(r: Reader): RawKey {
  const nbytes = r.u32();
  const version = r.u16();
  const objlen = r.u32();
  r.u32(); // datime
  const keylen = r.u16();
  const cycle = r.u16();
  let seekKey: number;
  if (version > 1000) {
    seekKey = r.u32() * 2 ** 32 + r.u32();
    r.p += 8;
  } else {
    seekKey = r.u32();
    r.p += 4;
  }
  return { nbytes, objlen, keylen, cycle, seekKey, className: r.str(), name: r.str(), title: r.str() };
}

/** The object bytes of a key record: inflated block by block when compressed. */
function payloadOf(file: Uint8Array, key: RawKey): Uint8Array {
  const raw = file.subarray(key.seekKey + key.keylen, key.seekKey + key.nbytes);
  if (raw.length === key.objlen) return raw.slice();
  const parts: Uint8Array[] = [];
  let p = 0;
  while (p < raw.length) {
    if (raw[p] !== 0x5a || raw[p + 1] !== 0x4c) throw new Error('tree-record: only zlib-compressed records are supported');
    const csize = raw[p + 3]! | (raw[p + 4]! << 8) | (raw[p + 5]! << 16);
    parts.push(inflateSync(raw.subarray(p + 9, p + 9 + csize)));
    p += 9 + csize;
  }
  const out = Buffer.concat(parts);
  if (out.length !== key.objlen) throw new Error('tree-record: inflated size differs from fObjlen');
  return new Uint8Array(out);
}

/** Offsets (in the payload) of the tree's fEntries and fAutoFlush, and of every top-level branch's fEntries. */
function locateCounts(payload: Uint8Array, keylen: number): { entries: number; autoFlush: number; branchEntries: number[] } {
  const r = new Reader(payload);
  const version = r.version();
  if (version < 19 || version > 20) throw new Error(`tree-record: TTree v${version} not handled`);
  r.skipCounted(); // TNamed
  r.skipCounted(); // TAttLine
  r.skipCounted(); // TAttFill
  r.skipCounted(); // TAttMarker
  const entries = r.p;
  // fEntries fTotBytes fZipBytes fSavedBytes fFlushedBytes, fWeight, 5 ints, 4 longs
  r.p += 5 * 8 + 8 + 5 * 4;
  const nClusterRange = new DataView(payload.buffer, payload.byteOffset).getInt32(r.p - 4);
  r.p += 4 * 8;
  const autoFlush = r.p;
  r.p += 8 + 8; // fAutoFlush, fEstimate
  for (let k = 0; k < 2; k++) if (r.u8() !== 0) r.p += 8 * nClusterRange;
  if (version >= 20) r.skipCounted(); // TIOFeatures
  // fBranches: TObjArray header, then the elements
  r.version();
  r.u16(); // TObject version
  r.u32();
  const bits = r.u32();
  if (bits & (1 << 4)) r.u16();
  r.str();
  const n = r.u32();
  r.u32(); // fLowerBound
  const branchEntries: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = r.p;
    const count = r.u32();
    if (count === 0) continue;
    const end = start + 4 + (count & ~0x40000000);
    const tag = r.u32();
    let cls: string;
    if (tag === 0xffffffff) cls = cstringAt(payload, r.p);
    else cls = cstringAt(payload, (tag & 0x7fffffff) - 2 - keylen + 4); // a class reference: the record position of an earlier tag
    if (tag === 0xffffffff) r.p += cls.length + 1;
    const b = new Reader(payload, r.p);
    if (cls !== 'TBranch') b.version(); // TBranchElement, TBranchObject, TBranchRef: their own header, then the TBranch part
    const bv = b.version();
    b.skipCounted(); // TNamed
    b.skipCounted(); // TAttFill
    b.p += 4 * 4 + 8; // fCompress fBasketSize fEntryOffsetLen fWriteBasket fEntryNumber
    if (bv >= 13) b.skipCounted(); // TIOFeatures
    b.p += 3 * 4; // fOffset fMaxBaskets fSplitLevel
    branchEntries.push(b.p);
    r.p = end;
  }
  return { entries, autoFlush, branchEntries };
}

function cstringAt(b: Uint8Array, at: number): string {
  const z = b.indexOf(0, at);
  return dec.decode(b.subarray(at, z));
}

/**
 * Returns a copy of `original` whose TTree `treeName` has the edited counts.
 * Only small-format files (32-bit seeks, as all the samples are) are handled.
 */
export function editTree(original: Uint8Array, treeName: string, edit: TreeEdit): Uint8Array {
  const h = new Reader(original);
  h.p = 4;
  if (h.u32() >= 1000000) throw new Error('tree-record: large-format files are not handled');
  const begin = h.u32();
  h.p = 28;
  const nbytesName = h.u32();
  const dirAt = begin + nbytesName;
  const d = new Reader(original, dirAt);
  if (d.u16() > 1000) throw new Error('tree-record: 64-bit directory not handled');
  d.p = dirAt + 26;
  const seekKeys = d.u32();
  const list = new Reader(original, seekKeys);
  const listKey = readKey(list);
  list.p = seekKeys + listKey.keylen;
  const nkeys = list.u32();
  const keys: RawKey[] = [];
  for (let i = 0; i < nkeys; i++) keys.push(readKey(list));
  const tree = keys.filter((k) => k.name === treeName).sort((a, b) => b.cycle - a.cycle)[0];
  if (!tree) throw new Error(`tree-record: no key ${treeName}`);

  const payload = payloadOf(original, tree);
  const at = locateCounts(payload, tree.keylen);
  if (edit.entries !== undefined) putI64(payload, at.entries, edit.entries);
  if (edit.autoFlush !== undefined) putI64(payload, at.autoFlush, edit.autoFlush);
  if (edit.branchEntries !== undefined) for (const p of at.branchEntries) putI64(payload, p, edit.branchEntries);

  const w = new Writer();
  w.raw(original);
  // the tree record, uncompressed (fObjlen = bytes after the key)
  const treeAt = w.length;
  const fields = { className: tree.className, name: tree.name, title: tree.title, cycle: tree.cycle };
  const klen = keyLength(fields, false);
  writeKey(w, { ...fields, nbytes: klen + payload.length, objlen: payload.length, seekKey: treeAt, seekPdir: begin }, false);
  w.raw(payload);
  // a key list holding the other keys as they were and the tree's new key
  const listAt = w.length;
  const listFields = { className: listKey.className, name: listKey.name, title: listKey.title };
  const others = keys.filter((k) => k !== tree);
  const entriesOut = [...others.map((k) => ({ ...k, seekPdir: begin, keylen: k.keylen })), { ...fields, nbytes: klen + payload.length, objlen: payload.length, seekKey: treeAt, seekPdir: begin }];
  const listLen = keyLength(listFields, false) + 4 + entriesOut.reduce((s, k) => s + keyLength(k, false), 0);
  writeKey(w, { ...listFields, nbytes: listLen, objlen: listLen - keyLength(listFields, false), seekKey: listAt, seekPdir: 0 }, false);
  w.u32(entriesOut.length);
  for (const k of entriesOut) writeKey(w, k, false);
  const out = Uint8Array.from(w.bytes);
  const v = new DataView(out.buffer);
  v.setUint32(12, out.length); // fEND
  v.setUint32(dirAt + 10, listLen); // fNbytesKeys
  v.setUint32(dirAt + 26, listAt); // fSeekKeys
  return out;
}
