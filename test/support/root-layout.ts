// Re-lays out an existing ROOT file for structure tests: a new 64-bit ("large
// file") header, a root directory and key lists written with 64-bit seek
// pointers, and the file's TTree moved into a subdirectory ("sub/inner/").
// The original bytes stay where they were (baskets, the TTree record, the
// streamer infos), so the tree's data is unchanged: only the way to it is new,
// mixing 64-bit directory keys with the original 32-bit object keys, as ROOT
// does in a file that grew past 2 GB.

const enc = new TextEncoder();

export class Writer {
  bytes: number[] = [];
  get length(): number {
    return this.bytes.length;
  }
  u8(v: number) {
    this.bytes.push(v & 0xff);
  }
  u16(v: number) {
    this.u8(v >>> 8);
    this.u8(v);
  }
  u32(v: number) {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  u64(v: number) {
    this.u32(Math.floor(v / 2 ** 32));
    this.u32(v % 2 ** 32);
  }
  str(s: string) {
    const b = enc.encode(s);
    this.u8(b.length);
    for (const x of b) this.u8(x);
  }
  f32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v);
    for (const x of b) this.u8(x);
  }
  f64(v: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    for (const x of b) this.u8(x);
  }
  raw(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.u8(b[i]!);
  }
  /** Patches a big-endian u32 at `at`. */
  patch32(at: number, v: number) {
    this.bytes[at] = (v >>> 24) & 0xff;
    this.bytes[at + 1] = (v >>> 16) & 0xff;
    this.bytes[at + 2] = (v >>> 8) & 0xff;
    this.bytes[at + 3] = v & 0xff;
  }
  /** Writes a byte count + version header, runs body, then fills in the count. */
  object(version: number, body: () => void) {
    const at = this.length;
    this.u32(0);
    this.u16(version);
    body();
    this.patch32(at, 0x40000000 | (this.length - at - 4));
  }
}

interface KeyFields {
  nbytes: number;
  objlen: number;
  seekKey: number;
  seekPdir: number;
  className: string;
  name: string;
  title: string;
  cycle?: number;
  /** fKeylen of the key record at seekKey, when it differs from this entry's own length (an original 32-bit key). */
  keylen?: number;
}

/** A TKey header: with 64-bit seek pointers (key version 1004) unless `large` is false (version 4). */
export function writeKey(w: Writer, k: KeyFields, large = true): void {
  w.u32(k.nbytes);
  w.u16(large ? 1004 : 4);
  w.u32(k.objlen);
  w.u32(0x7e3c1a00); // fDatime
  w.u16(k.keylen ?? keyLength(k, large));
  w.u16(k.cycle ?? 1);
  if (large) {
    w.u64(k.seekKey);
    w.u64(k.seekPdir);
  } else {
    w.u32(k.seekKey);
    w.u32(k.seekPdir);
  }
  w.str(k.className);
  w.str(k.name);
  w.str(k.title);
}

export function keyLength(k: Pick<KeyFields, 'className' | 'name' | 'title'>, large = true): number {
  return 4 + 2 + 4 + 4 + 2 + 2 + (large ? 16 : 8) + 3 + enc.encode(k.className).length + enc.encode(k.name).length + enc.encode(k.title).length;
}

/** The file header (small or large format) written over the first bytes of `out`. */
export function writeFileHeader(out: Uint8Array, f: { large: boolean; begin: number; end: number; nbytesName: number; seekInfo: number; nbytesInfo: number }): void {
  const h = new Writer();
  for (const c of 'root') h.u8(c.charCodeAt(0));
  const seek = (v: number) => (f.large ? h.u64(v) : h.u32(v));
  h.u32(f.large ? 1000000 + 63000 : 62206); // fVersion
  h.u32(f.begin); // fBEGIN
  seek(f.end); // fEND
  seek(0); // fSeekFree
  h.u32(0); // fNbytesFree
  h.u32(0); // nfree
  h.u32(f.nbytesName);
  h.u8(f.large ? 8 : 4); // fUnits
  h.u32(f.large ? 101 : 0); // fCompress
  seek(f.seekInfo);
  h.u32(f.nbytesInfo);
  if (h.length > 100) throw new Error('header too long');
  out.set(Uint8Array.from(h.bytes), 0);
}

/** A TDirectory record with 64-bit seeks (version 1005). */
function writeDirectoryRecord(w: Writer, d: { nbytesKeys: number; nbytesName: number; seekDir: number; seekParent: number; seekKeys: number }): void {
  w.u16(1005);
  w.u32(0);
  w.u32(0);
  w.u32(d.nbytesKeys);
  w.u32(d.nbytesName);
  w.u64(d.seekDir);
  w.u64(d.seekParent);
  w.u64(d.seekKeys);
}

const DIR_RECORD = 2 + 4 + 4 + 4 + 4 + 8 + 8 + 8;

/** Writes a key list holding `entries`, then the directory's own key and record; returns that key (to list in the parent). */
function writeSubdirectory(w: Writer, name: string, entries: KeyFields[]): KeyFields {
  const keysAt = w.length;
  const listKey = { className: 'TDirectory', name, title: '' };
  const keysLen = keyLength(listKey) + 4 + entries.reduce((n, k) => n + keyLength(k), 0);
  writeKey(w, { ...listKey, nbytes: keysLen, objlen: keysLen - keyLength(listKey), seekKey: keysAt, seekPdir: 0 });
  w.u32(entries.length);
  for (const k of entries) writeKey(w, k);
  const at = w.length;
  const dir = { className: 'TDirectoryFile', name, title: '' };
  const key = { ...dir, nbytes: keyLength(dir) + DIR_RECORD, objlen: DIR_RECORD, seekKey: at, seekPdir: 0 };
  writeKey(w, key);
  writeDirectoryRecord(w, { nbytesKeys: keysLen, nbytesName: 0, seekDir: at, seekParent: 0, seekKeys: keysAt });
  return key;
}

export interface OriginalKey {
  name: string;
  title: string;
  className: string;
  cycle: number;
  nbytes: number;
  objlen: number;
  keylen: number;
  seekKey: number;
}

/**
 * Returns the new file: `original` with a large-file header, and `tree` (one
 * of its keys) reachable as "sub/inner/<name>" through 64-bit directories.
 */
export function relayoutIntoSubdirectories(original: Uint8Array, tree: OriginalKey, streamer: { seek: number; nbytes: number }): Uint8Array {
  const w = new Writer();
  for (const b of original) w.u8(b);
  // innermost first: "inner" holds the tree's key, "sub" holds "inner"
  const inner = writeSubdirectory(w, 'inner', [{ ...tree, seekPdir: 0 }]);
  const subKey = writeSubdirectory(w, 'sub', [inner]);

  // the root directory: its key list holds "sub"; its record sits at fBEGIN
  const rootKeysAt = w.length;
  const rootListKey = { className: 'TFile', name: 'relayout.root', title: '' };
  const rootKeysLen = keyLength(rootListKey) + 4 + keyLength(subKey);
  writeKey(w, { ...rootListKey, nbytes: rootKeysLen, objlen: rootKeysLen - keyLength(rootListKey), seekKey: rootKeysAt, seekPdir: 0 });
  w.u32(1);
  writeKey(w, subKey);
  // at fBEGIN, as ROOT writes it: the file's own key, its name and title, then the directory record
  const begin = w.length;
  const fileKey = { className: 'TFile', name: 'relayout.root', title: '' };
  const nbytesName = keyLength(fileKey) + 2 + enc.encode(fileKey.name).length + enc.encode(fileKey.title).length;
  writeKey(w, { ...fileKey, nbytes: nbytesName + DIR_RECORD + 300, objlen: nbytesName + DIR_RECORD + 300 - keyLength(fileKey), seekKey: begin, seekPdir: 0 });
  w.str(fileKey.name);
  w.str(fileKey.title);
  writeDirectoryRecord(w, { nbytesKeys: rootKeysLen, nbytesName, seekDir: begin, seekParent: 0, seekKeys: rootKeysAt });
  for (let i = 0; i < 300; i++) w.u8(0); // UUID and spare room (readers fetch a few hundred bytes here)
  const end = w.length;

  // the large-file header over the first bytes (the original's first key starts at 100)
  const out = Uint8Array.from(w.bytes);
  writeFileHeader(out, { large: true, begin, end, nbytesName, seekInfo: streamer.seek, nbytesInfo: streamer.nbytes });
  return out;
}

/**
 * Ends a small (32-bit) file whose top directory holds one keyed object, already
 * written at `objectKey.seekKey`: its key list, the root directory record, and the
 * file header (no streamer infos). Returns the file's bytes.
 */
export function finishOneKeyFile(w: Writer, fileName: string, objectKey: KeyFields): Uint8Array {
  const keysAt = w.length;
  const listKey = { className: 'TFile', name: fileName, title: '' };
  const objectKeyLen = keyLength(objectKey, false);
  const keysLen = keyLength(listKey, false) + 4 + objectKeyLen;
  writeKey(w, { ...listKey, nbytes: keysLen, objlen: keysLen - keyLength(listKey, false), seekKey: keysAt, seekPdir: 100 }, false);
  w.u32(1);
  writeKey(w, objectKey, false);

  const begin = w.length;
  const nbytesName = keyLength(listKey, false) + 2 + listKey.name.length;
  writeKey(w, { ...listKey, nbytes: nbytesName + 300, objlen: 300, seekKey: begin, seekPdir: 0 }, false);
  w.str(listKey.name);
  w.str('');
  w.u16(5); // TDirectory version (small)
  w.u32(0); // fDatimeC
  w.u32(0); // fDatimeM
  w.u32(keysLen);
  w.u32(nbytesName);
  w.u32(begin); // fSeekDir
  w.u32(0); // fSeekParent
  w.u32(keysAt); // fSeekKeys
  for (let i = 0; i < 280; i++) w.u8(0);
  const out = Uint8Array.from(w.bytes);
  writeFileHeader(out, { large: false, begin, end: out.length, nbytesName, seekInfo: 0, nbytesInfo: 0 });
  return out;
}
