// A basket record as ROOT writes one: a TKey (class TBasket, named after the
// branch, titled after the tree), the TBasket header (fVersion, fBufferSize,
// fNevBufSize, fNevBuf, fLast, flag 0 = on disk), then the compressed payload:
// the entries' bytes and, for variable-size entries, the entry-offset table
// (count fNevBuf + 1, each entry's start counted from the key's start, then a
// 0, as ROOT 6 leaves it).

import { ByteWriter } from './byte-writer';
import type { Compressor } from './compress';
import { BEGIN, FIXED_DATIME, needsLargeKey } from './records';

const TBASKET_HEADER = 19;

export function basketKeyLength(branchName: string, treeName: string, seekKey: number): number {
  return 18 + (needsLargeKey(seekKey) ? 16 : 8) + namesOf(branchName, treeName).length + TBASKET_HEADER;
}

/** Bytes of the entry-offset table for n entries. */
export function offsetTableBytes(entries: number): number {
  return 4 + 4 * (entries + 1);
}

/** Writes the entry-offset table at payload[at]: starts[0..entries) are relative to the data, keylen is added. */
export function writeOffsetTable(payload: Uint8Array, at: number, starts: Int32Array, entries: number, keylen: number): void {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  v.setInt32(at, entries + 1);
  for (let i = 0; i < entries; i++) v.setInt32(at + 4 + 4 * i, starts[i]! + keylen);
  v.setInt32(at + 4 + 4 * entries, 0);
}

export interface BasketSpec {
  branchName: string;
  treeName: string;
  seekKey: number;
  /** Data then (for variable-size entries) the offset table. */
  payload: Uint8Array;
  dataLength: number;
  entries: number;
  version: number;
  nevBufSize: number;
  compressor: Compressor;
}

export interface BasketRecord {
  record: Uint8Array;
  keylen: number;
  objlen: number;
}

const header = new ByteWriter(512);
/** The key's three strings (class, branch, tree) as written, per branch: encoded once, not once per basket. */
const names = new Map<string, Uint8Array>();

function namesOf(branchName: string, treeName: string): Uint8Array {
  const id = `${treeName}\u0000${branchName}`;
  let b = names.get(id);
  if (!b) {
    const w = new ByteWriter(64);
    w.tstring('TBasket');
    w.tstring(branchName);
    w.tstring(treeName);
    b = w.bytes().slice();
    if (names.size > 100_000) names.clear();
    names.set(id, b);
  }
  return b;
}

export function basketRecord(s: BasketSpec): BasketRecord {
  const large = needsLargeKey(s.seekKey);
  const strings = namesOf(s.branchName, s.treeName);
  const keylen = 18 + (large ? 16 : 8) + strings.length + TBASKET_HEADER;
  const objlen = s.payload.length;
  const stored = s.compressor.compress(s.payload) ?? s.payload;
  const nbytes = keylen + stored.length;
  header.reset();
  // the TKey (see records.ts writeKeyHeader), with the strings pre-encoded
  header.i32(nbytes);
  header.i16(large ? 1004 : 4);
  header.i32(objlen);
  header.u32(FIXED_DATIME);
  header.i16(keylen);
  header.i16(1);
  if (large) {
    header.i64(s.seekKey);
    header.i64(BEGIN);
  } else {
    header.u32(s.seekKey);
    header.u32(BEGIN);
  }
  header.raw(strings);
  header.u16(s.version);
  header.i32(keylen + objlen); // fBufferSize
  header.i32(s.nevBufSize);
  header.i32(s.entries);
  header.i32(keylen + s.dataLength); // fLast
  header.u8(0);
  const record = new Uint8Array(nbytes);
  record.set(header.bytes(), 0);
  record.set(stored, keylen);
  return { record, keylen, objlen };
}
