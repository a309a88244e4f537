// Tools for structure-aware tests of hostile files:
//
//   uncompressMetadata  re-lays a sample so its TTree record and its streamer
//                       info list are stored uncompressed (a key whose payload
//                       is objlen bytes, as ROOT writes small objects), so the
//                       metadata's fields sit at fixed file offsets;
//   recordFields        an instrumented parse: every integer a Cursor reads
//                       from the file's own bytes (file header, directory
//                       records, key lists and key headers, the TTree, TBranch,
//                       TLeaf records, the streamer infos) with its file
//                       offset, width and the function that read it (basket
//                       keys are parsed with a DataView: the fuzz test lists
//                       their fields itself);
//   patch               writes a big-endian integer of a field's width.
//
// The copies are appended at the end of the file and the directory entry and
// the file header are pointed at them; the original bytes stay where they were.
// Key headers are copied byte for byte (only fNbytes and fSeekKey change), so
// the record keeps its key length and the object references inside it, which
// ROOT counts from the start of the key, stay valid.

import { Cursor } from '../../shared/root/cursor';
import { RootFile } from '../../shared/root/file';
import { BufferSource } from '../../shared/root/source';

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A key header's fields that matter here, parsed at `at`. */
function keyAt(bytes: Uint8Array, at: number): { nbytes: number; keylen: number; large: boolean; cycle: number; name: string; length: number } {
  const v = view(bytes);
  const nbytes = v.getInt32(at);
  const version = v.getInt16(at + 4);
  const keylen = v.getInt16(at + 14);
  const cycle = v.getInt16(at + 16);
  const large = version > 1000;
  let p = at + 18 + (large ? 16 : 8);
  const str = () => {
    let n = bytes[p]!;
    p += 1;
    if (n === 255) {
      n = v.getInt32(p);
      p += 4;
    }
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  str(); // class name
  const name = str();
  str(); // title
  return { nbytes, keylen, large, cycle, name, length: p - at };
}

function setSeek(bytes: Uint8Array, at: number, large: boolean, value: number): void {
  const v = view(bytes);
  if (large) {
    v.setUint32(at, Math.floor(value / 2 ** 32));
    v.setUint32(at + 4, value % 2 ** 32);
  } else v.setUint32(at, value);
}

export interface Relaid {
  bytes: Uint8Array;
  /** File offset of the uncompressed TTree payload (just after its key header). */
  treePayload: number;
  treeKeylen: number;
  /** Where the uncompressed copies start: bytes before it are the original file's. */
  appendedAt: number;
}

/**
 * `original` with tree `treeName` (a key of the top directory) and the
 * streamer info list stored uncompressed at the end of the file.
 */
export async function uncompressMetadata(original: Uint8Array, treeName: string): Promise<Relaid> {
  const file = await RootFile.open(new BufferSource(original, 'relayout'));
  const treeKey = file.root.key(treeName);
  const tree = await file.readKeyObject(treeKey);
  const raw = original.subarray(file.header.seekInfo, file.header.seekInfo + file.header.nbytesInfo);
  const streamers = await file.objectFromRecord(raw, file.header.seekInfo, 'streamer info list');

  const parts: Uint8Array[] = [original];
  let end = original.length;
  const append = (seek: number, keylen: number, data: Uint8Array): number => {
    const key = original.slice(seek, seek + keylen);
    const at = end;
    const k = keyAt(key, 0);
    view(key).setInt32(0, keylen + data.length);
    setSeek(key, 18, k.large, at);
    parts.push(key, data);
    end += keylen + data.length;
    return at;
  };
  const treeAt = append(treeKey.seekKey, tree.keylen, tree.data);
  const infoAt = append(file.header.seekInfo, streamers.keylen, streamers.data);
  const out = new Uint8Array(end);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  if (end >= 2 ** 31) throw new Error('relayout: file too large for 32-bit seeks');

  // the directory's entry for the tree: same key header, new size and place
  const v = view(out);
  const large = v.getInt32(4) >= 1000000;
  const dirAt = file.header.begin + file.header.nbytesName;
  const dirLarge = v.getInt16(dirAt) > 1000;
  const seekKeys = dirLarge ? Number(v.getBigUint64(dirAt + 2 + 4 + 4 + 4 + 4 + 8 + 8)) : v.getUint32(dirAt + 2 + 4 + 4 + 4 + 4 + 4 + 4);
  const listKey = keyAt(out, seekKeys);
  let p = seekKeys + listKey.keylen;
  const n = v.getInt32(p);
  p += 4;
  let patched = false;
  for (let i = 0; i < n; i++) {
    const k = keyAt(out, p);
    if (k.name === treeName && k.cycle === treeKey.cycle) {
      v.setInt32(p, tree.keylen + tree.data.length);
      setSeek(out, p + 18, k.large, treeAt);
      patched = true;
    }
    p += k.length;
  }
  if (!patched) throw new Error(`relayout: no directory entry for ${treeName}`);
  // the header: fEND, fSeekInfo, fNbytesInfo
  if (large) {
    setSeek(out, 12, true, end);
    setSeek(out, 45, true, infoAt);
    v.setInt32(53, streamers.keylen + streamers.data.length);
  } else {
    v.setUint32(12, end);
    v.setUint32(37, infoAt);
    v.setInt32(41, streamers.keylen + streamers.data.length);
  }
  return { bytes: out, treePayload: treeAt + tree.keylen, treeKeylen: tree.keylen, appendedAt: original.length };
}

// ---------------------------------------------------------------------------
// field recorder

export interface Field {
  offset: number;
  width: 1 | 2 | 4 | 8;
  /** The decoder function that read it, e.g. "readTBranch" or "readKeyHeader". */
  reader: string;
}

type Method = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'i64';
const WIDTH: Record<Method, 1 | 2 | 4 | 8> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, i64: 8 };

/** The first stack frame outside the Cursor class and this module (call sites, not formatted text: much cheaper). */
function callerName(): string {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_e, sites) => sites;
  Error.stackTraceLimit = 8;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, callerName);
  const sites = holder.stack as NodeJS.CallSite[];
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = limit;
  for (const site of sites) {
    const file = site.getFileName() ?? '';
    if (file.includes('structure-layout') || file.includes('cursor.ts')) continue;
    return site.getFunctionName() ?? '?';
  }
  return '?';
}

/**
 * Runs `body` with every integer read by a Cursor over `bytes` (views into
 * it, as BufferSource gives) recorded; returns the fields, one per offset.
 * Naming the reader takes a stack trace: `label` picks the offsets worth it
 * (the others are named "?").
 */
export async function recordFields(bytes: Uint8Array, body: () => Promise<void>, label: (offset: number) => boolean = () => true): Promise<Field[]> {
  const proto = Cursor.prototype as unknown as Record<Method, (this: Cursor) => number>;
  const saved = new Map<Method, (this: Cursor) => number>();
  const fields = new Map<number, Field>();
  for (const m of Object.keys(WIDTH) as Method[]) {
    const original = proto[m];
    saved.set(m, original);
    proto[m] = function (this: Cursor) {
      if (this.buf.buffer === bytes.buffer) {
        const offset = this.buf.byteOffset - bytes.byteOffset + this.pos;
        if (offset >= 0 && offset < bytes.length && !fields.has(offset)) fields.set(offset, { offset, width: WIDTH[m], reader: label(offset) ? callerName() : '?' });
      }
      return original.call(this);
    };
  }
  try {
    await body();
  } finally {
    for (const [m, f] of saved) proto[m] = f;
  }
  return [...fields.values()].sort((a, b) => a.offset - b.offset);
}

/** The field's current value as a number (i64 as a double). */
export function readField(bytes: Uint8Array, f: Field): number {
  const v = view(bytes);
  switch (f.width) {
    case 1:
      return v.getUint8(f.offset);
    case 2:
      return v.getInt16(f.offset);
    case 4:
      return v.getInt32(f.offset);
    case 8:
      return Number(v.getBigInt64(f.offset));
  }
}

/** Writes `value` into the field, big-endian, wrapped to its width (two's complement). */
export function patch(bytes: Uint8Array, f: Field, value: number | bigint): void {
  const v = view(bytes);
  const big = BigInt.asUintN(f.width * 8, typeof value === 'bigint' ? value : BigInt(Math.trunc(value)));
  switch (f.width) {
    case 1:
      v.setUint8(f.offset, Number(big));
      return;
    case 2:
      v.setUint16(f.offset, Number(big));
      return;
    case 4:
      v.setUint32(f.offset, Number(big));
      return;
    case 8:
      v.setBigUint64(f.offset, big);
      return;
  }
}
