// The file-level records of a ROOT file: TKey headers, the file header at
// byte 0, the TFile record at fBEGIN (its key, name and TDirectory record), a
// directory's key list, and the free-segments list.
//
// Small ("32-bit") layout: key version 4, directory version 5, header
// version < 1000000, seek pointers as 4 bytes. Large layout (a file past
// 2 GiB): key version 1004 with 8-byte seeks for a key placed past 2 GiB,
// directory version 1005, header version + 1000000 with 8-byte fEND,
// fSeekFree and fSeekInfo. Readers pick the layout per record from its version.

import { ByteWriter, tstringLength } from './byte-writer';

/** ROOT's kStartBigFile: a record starting past this needs 64-bit seeks. */
export const START_BIG_FILE = 2000000000;
/** The ROOT version we write as (6.32/06 in the header's encoding). */
export const ROOT_VERSION = 63206;
/** Where the TFile record starts: the header is padded to this size. */
export const BEGIN = 100;

/** A fixed TDatime (2024-01-01 00:00:00), so that a seed always gives the same bytes. */
export const FIXED_DATIME = ((2024 - 1995) << 26) | (1 << 22) | (1 << 17);

export interface KeyFields {
  className: string;
  name: string;
  title: string;
  /** Bytes on disk, key included. */
  nbytes: number;
  /** Uncompressed object bytes (without the key). */
  objlen: number;
  seekKey: number;
  seekPdir: number;
  cycle?: number;
  /** 64-bit seeks (key version 1004). */
  large: boolean;
  /** fKeylen when the key is followed by more header (a basket's TBasket fields). */
  keylen?: number;
}

export function keyLength(k: Pick<KeyFields, 'className' | 'name' | 'title' | 'large'>): number {
  return 18 + (k.large ? 16 : 8) + tstringLength(k.className) + tstringLength(k.name) + tstringLength(k.title);
}

/** Whether a key at this offset must use 64-bit seeks. */
export function needsLargeKey(seekKey: number): boolean {
  return seekKey > START_BIG_FILE;
}

export function writeKeyHeader(w: ByteWriter, k: KeyFields): void {
  w.i32(k.nbytes);
  w.i16(k.large ? 1004 : 4);
  w.i32(k.objlen);
  w.u32(FIXED_DATIME);
  w.i16(k.keylen ?? keyLength(k));
  w.i16(k.cycle ?? 1);
  if (k.large) {
    w.i64(k.seekKey);
    w.i64(k.seekPdir);
  } else {
    w.u32(k.seekKey);
    w.u32(k.seekPdir);
  }
  w.tstring(k.className);
  w.tstring(k.name);
  w.tstring(k.title);
}

export interface HeaderFields {
  large: boolean;
  end: number;
  seekFree: number;
  nbytesFree: number;
  nbytesName: number;
  compress: number;
  seekInfo: number;
  nbytesInfo: number;
}

/** The BEGIN bytes at the start of the file. */
export function fileHeader(h: HeaderFields): Uint8Array {
  const w = new ByteWriter(BEGIN);
  for (const c of 'root') w.u8(c.charCodeAt(0));
  w.i32(h.large ? 1000000 + ROOT_VERSION : ROOT_VERSION);
  w.i32(BEGIN);
  const seek = (v: number) => (h.large ? w.i64(v) : w.u32(v));
  seek(h.end);
  seek(h.seekFree);
  w.i32(h.nbytesFree);
  w.i32(1); // nfree: one free segment
  w.i32(h.nbytesName);
  w.u8(h.large ? 8 : 4); // fUnits
  w.i32(h.compress);
  seek(h.seekInfo);
  w.i32(h.nbytesInfo);
  w.u16(4); // fUUID version
  w.zeros(16);
  w.zeros(BEGIN - w.length);
  return w.bytes().slice();
}

/** Bytes of a TDirectory record: the same in both layouts (the small one is padded). */
export const DIRECTORY_RECORD_BYTES = 2 + 4 + 4 + 4 + 4 + 24 + 18;

export interface DirectoryFields {
  large: boolean;
  nbytesKeys: number;
  nbytesName: number;
  seekDir: number;
  seekParent: number;
  seekKeys: number;
}

export function writeDirectoryRecord(w: ByteWriter, d: DirectoryFields): void {
  const start = w.length;
  w.i16(d.large ? 1005 : 5);
  w.u32(FIXED_DATIME); // fDatimeC
  w.u32(FIXED_DATIME); // fDatimeM
  w.i32(d.nbytesKeys);
  w.i32(d.nbytesName);
  const seek = (v: number) => (d.large ? w.i64(v) : w.u32(v));
  seek(d.seekDir);
  seek(d.seekParent);
  seek(d.seekKeys);
  w.u16(4); // fUUID version
  w.zeros(16);
  w.zeros(DIRECTORY_RECORD_BYTES - (w.length - start)); // room to grow to 64-bit seeks, as ROOT leaves
}

/**
 * The TFile record at BEGIN: its key (always small: it sits at byte 100),
 * the file's name and title, and the root directory's record. Its size does
 * not depend on the layout, so it can be written first and rewritten last.
 */
export function fileRecord(name: string, title: string, d: Omit<DirectoryFields, 'nbytesName' | 'seekDir' | 'seekParent'>): { bytes: Uint8Array; nbytesName: number } {
  const key = { className: 'TFile', name, title, large: false, seekKey: BEGIN, seekPdir: 0 };
  const keylen = keyLength(key);
  const nbytesName = keylen + tstringLength(name) + tstringLength(title);
  const nbytes = nbytesName + DIRECTORY_RECORD_BYTES;
  const w = new ByteWriter(nbytes);
  writeKeyHeader(w, { ...key, nbytes, objlen: nbytes - keylen });
  w.tstring(name);
  w.tstring(title);
  writeDirectoryRecord(w, { ...d, nbytesName, seekDir: BEGIN, seekParent: 0 });
  return { bytes: w.bytes().slice(), nbytesName };
}

/** A directory's key list: its own key (class TFile for the root directory), the count, every key's header. */
export function keyListRecord(dirName: string, dirTitle: string, seekKey: number, keys: KeyFields[]): Uint8Array {
  const own = { className: 'TFile', name: dirName, title: dirTitle, large: needsLargeKey(seekKey), seekKey, seekPdir: BEGIN };
  const keylen = keyLength(own);
  let nbytes = keylen + 4;
  for (const k of keys) nbytes += keyLength(k);
  const w = new ByteWriter(nbytes);
  writeKeyHeader(w, { ...own, nbytes, objlen: nbytes - keylen });
  w.i32(keys.length);
  for (const k of keys) writeKeyHeader(w, k);
  return w.bytes().slice();
}

/** The free-segments record: one TFree from the end of the file to the largest address. */
export function freeSegmentsRecord(fileName: string, fileTitle: string, seekKey: number): Uint8Array {
  const large = needsLargeKey(seekKey);
  const key = { className: 'TFile', name: fileName, title: fileTitle, large, seekKey, seekPdir: BEGIN };
  const keylen = keyLength(key);
  const objlen = large ? 2 + 16 : 2 + 8;
  const nbytes = keylen + objlen;
  const w = new ByteWriter(nbytes);
  writeKeyHeader(w, { ...key, nbytes, objlen });
  const end = seekKey + nbytes;
  w.i16(large ? 1001 : 1);
  if (large) {
    w.i64(end);
    w.i64(2 ** 53 - 1);
  } else {
    w.u32(end);
    w.u32(START_BIG_FILE);
  }
  return w.bytes().slice();
}
