// Writes a small ROOT file whose TTree keeps its last basket inside the TTree
// record (what ROOT does for baskets not yet flushed when a tree is saved, and
// what a recovered file holds). None of the sample files has one.
//
// Tree "t", 7 entries, three TBranches:
//   n       Int_t        n[i] = i % 3
//   x[n]    Int_t[n]     x[i] = [10*i, 10*i+1, …] (n[i] values)
//   ab      a/I:b/I      a leaf list: {a: i, b: -i}
// Entries 0–3 are in one on-disk basket per branch, entries 4–6 in a basket
// embedded in the branch's fBaskets array (flag 12: fixed-size, flag 11: with
// entry offsets; both followed by the basket's buffer).

import { finishOneKeyFile, keyLength, writeKey, Writer } from './root-layout';

export const SYNTHETIC_ENTRIES = 7;
export const nValue = (i: number): number => i % 3;
export const xValues = (i: number): number[] => Array.from({ length: nValue(i) }, (_, k) => 10 * i + k);
export const abValue = (i: number): { a: number; b: number } => ({ a: i, b: 0 - i }); // 0 - 0 is +0, as an int32 decodes

type BranchName = 'n' | 'x' | 'ab';

const ON_DISK = 4; // entries in the on-disk basket

interface BasketPayload {
  data: number[];
  /** entry start offsets within data, or null for fixed-size entries */
  offsets: number[] | null;
  entries: number;
}

function payload(branch: BranchName, first: number, stop: number): BasketPayload {
  const w = new Writer();
  const offsets: number[] = [];
  for (let i = first; i < stop; i++) {
    offsets.push(w.length);
    if (branch === 'n') w.u32(nValue(i));
    else if (branch === 'ab') {
      w.u32(abValue(i).a);
      w.u32(abValue(i).b >>> 0);
    } else for (const v of xValues(i)) w.u32(v);
  }
  return { data: w.bytes, offsets: branch === 'x' ? offsets : null, entries: stop - first };
}

/** TKey fields of a basket (small-file format) followed by the TBasket header; returns the key length. */
function basketHeader(w: Writer, b: { nbytes: number; objlen: number; seek: number; name: string; last: number; entries: number; flag: number; keylen: number }): void {
  w.u32(b.nbytes);
  w.u16(4); // key version
  w.u32(b.objlen);
  w.u32(0); // datime
  w.u16(b.keylen);
  w.u16(1); // cycle
  w.u32(b.seek);
  w.u32(100); // seek of the parent directory
  w.str('TBasket');
  w.str(b.name);
  w.str('t');
  w.u16(3); // TBasket version
  w.u32(32000); // fBufferSize
  w.u32(b.flag === 11 || b.flag === 1 ? 0 : b.name === 'ab' ? 8 : 4); // fNevBufSize: entry size if fixed
  w.u32(b.entries);
  w.u32(b.last);
  w.u8(b.flag);
}

const basketKeyLength = (name: string) => 4 + 2 + 4 + 4 + 2 + 2 + 4 + 4 + (1 + 7) + (1 + name.length) + (1 + 1) + 2 + 4 * 4 + 1;

/** An on-disk basket record: key, data, then (variable-size) the entry offset table. */
function diskBasket(name: string, p: BasketPayload, seek: number): number[] {
  const keylen = basketKeyLength(name);
  const body = new Writer();
  body.raw(p.data);
  if (p.offsets) {
    body.u32(p.entries + 1);
    for (const o of p.offsets) body.u32(o + keylen);
    body.u32(0);
  }
  const w = new Writer();
  basketHeader(w, { nbytes: keylen + body.length, objlen: body.length, seek, name, last: keylen + p.data.length, entries: p.entries, flag: 0, keylen });
  if (w.length !== keylen) throw new Error('basket key length');
  w.raw(body.bytes);
  return w.bytes;
}

function tnamed(w: Writer, name: string, title: string): void {
  w.object(1, () => {
    w.u16(1); // TObject version
    w.u32(0); // fUniqueID
    w.u32(0x03000000); // fBits
    w.str(name);
    w.str(title);
  });
}

function objArray(w: Writer, items: ((w: Writer) => void)[]): void {
  w.object(3, () => {
    w.u16(1);
    w.u32(0);
    w.u32(0x03000000);
    w.str('');
    w.u32(items.length);
    w.u32(0); // lower bound
    for (const item of items) item(w);
  });
}

/** An object pointer with a new class tag ("ReadObjectAny"). */
function newObject(w: Writer, className: string, body: () => void): void {
  const at = w.length;
  w.u32(0);
  w.u32(0xffffffff);
  for (const c of className) w.u8(c.charCodeAt(0));
  w.u8(0);
  body();
  w.patch32(at, 0x40000000 | (w.length - at - 4));
}

function leafI(w: Writer, name: string, title: string, count: boolean): void {
  newObject(w, 'TLeafI', () =>
    w.object(1, () => {
      w.object(2, () => {
        tnamed(w, name, title);
        w.u32(1); // fLen
        w.u32(4); // fLenType
        w.u32(0); // fOffset
        w.u8(0); // fIsRange
        w.u8(0); // fIsUnsigned
        if (count) leafI(w, 'n', 'n/I', false);
        else w.u32(0); // fLeafCount: null
      });
      w.u32(0); // fMinimum
      w.u32(0); // fMaximum
    }),
  );
}

function branch(w: Writer, name: string, title: string, disk: { seek: number; bytes: number }, embedded: BasketPayload): void {
  newObject(w, 'TBranch', () =>
    w.object(13, () => {
      tnamed(w, name, title);
      w.object(2, () => {
        w.u16(0);
        w.u16(1001);
      }); // TAttFill
      w.u32(0); // fCompress
      w.u32(32000); // fBasketSize
      w.u32(embedded.offsets ? 10 : 0); // fEntryOffsetLen
      w.u32(1); // fWriteBasket: one basket on disk
      w.u64(SYNTHETIC_ENTRIES); // fEntryNumber
      w.object(1, () => w.u8(0)); // fIOFeatures
      w.u32(0); // fOffset
      w.u32(2); // fMaxBaskets
      w.u32(0); // fSplitLevel
      w.u64(SYNTHETIC_ENTRIES); // fEntries
      w.u64(0); // fFirstEntry
      w.u64(0); // fTotBytes
      w.u64(0); // fZipBytes
      objArray(w, []); // fBranches
      const leaves = name === 'ab' ? [(w: Writer) => leafI(w, 'a', 'a', false), (w: Writer) => leafI(w, 'b', 'b', false)] : [(w: Writer) => leafI(w, name, title, name === 'x')];
      objArray(w, leaves); // fLeaves
      objArray(w, [(w) => w.u32(0), (w) => embeddedBasket(w, name, embedded)]); // fBaskets
      w.u8(1);
      w.u32(disk.bytes);
      w.u32(0); // fBasketBytes
      w.u8(1);
      w.u64(0);
      w.u64(ON_DISK); // fBasketEntry
      w.u8(1);
      w.u64(disk.seek);
      w.u64(0); // fBasketSeek
      w.str(''); // fFileName
    }),
  );
}

/** A TBasket kept in the TTree: key fields, header, entry offsets (if any), then fLast bytes of buffer. */
function embeddedBasket(w: Writer, name: string, p: BasketPayload): void {
  newObject(w, 'TBasket', () => {
    const keylen = basketKeyLength(name);
    const last = keylen + p.data.length;
    basketHeader(w, { nbytes: 0, objlen: p.data.length, seek: 0, name, last, entries: p.entries, flag: p.offsets ? 11 : 12, keylen });
    if (p.offsets) {
      w.u32(p.entries);
      for (const o of p.offsets) w.u32(o + keylen);
    }
    for (let i = 0; i < keylen; i++) w.u8(0); // the buffer starts with room for the key
    w.raw(p.data);
  });
}

function tree(w: Writer, disk: Record<BranchName, { seek: number; bytes: number }>): void {
  w.object(20, () => {
    tnamed(w, 't', 'synthetic tree with embedded baskets');
    w.object(2, () => {
      w.u16(1);
      w.u16(1);
      w.u16(1);
    }); // TAttLine
    w.object(2, () => {
      w.u16(0);
      w.u16(1001);
    }); // TAttFill
    w.object(2, () => {
      w.u16(1);
      w.u16(1);
      w.f32(1);
    }); // TAttMarker
    w.u64(SYNTHETIC_ENTRIES); // fEntries
    w.u64(0); // fTotBytes
    w.u64(0); // fZipBytes
    w.u64(0); // fSavedBytes
    w.u64(0); // fFlushedBytes
    w.f64(1); // fWeight
    w.u32(0); // fTimerInterval
    w.u32(25); // fScanField
    w.u32(0); // fUpdate
    w.u32(1000); // fDefaultEntryOffsetLen
    w.u32(0); // fNClusterRange
    w.u64(1e12); // fMaxEntries
    w.u64(1e12); // fMaxEntryLoop
    w.u64(0); // fMaxVirtualSize
    w.u64(0); // fAutoSave
    w.u64(ON_DISK); // fAutoFlush
    w.u64(1000000); // fEstimate
    w.u8(1); // fClusterRangeEnd (none)
    w.u8(1); // fClusterSize (none)
    w.object(1, () => w.u8(0)); // fIOFeatures
    objArray(w, [
      (w) => branch(w, 'n', 'n/I', disk.n, payload('n', ON_DISK, SYNTHETIC_ENTRIES)),
      (w) => branch(w, 'x', 'x[n]/I', disk.x, payload('x', ON_DISK, SYNTHETIC_ENTRIES)),
      (w) => branch(w, 'ab', 'a/I:b/I', disk.ab, payload('ab', ON_DISK, SYNTHETIC_ENTRIES)),
    ]);
    objArray(w, []); // fLeaves (readers take leaves from the branches)
  });
}

/** The whole file: header, the two on-disk baskets, the TTree key, the root directory and its keys. */
export function syntheticTreeFile(): Uint8Array {
  const w = new Writer();
  for (let i = 0; i < 100; i++) w.u8(0); // header, written last
  const disk = {} as Record<BranchName, { seek: number; bytes: number }>;
  for (const name of ['n', 'x', 'ab'] as const) {
    const seek = w.length;
    const rec = diskBasket(name, payload(name, 0, ON_DISK), seek);
    w.raw(rec);
    disk[name] = { seek, bytes: rec.length };
  }
  const treeBody = new Writer();
  tree(treeBody, disk);
  const treeKey = { className: 'TTree', name: 't', title: 'synthetic tree with embedded baskets' };
  const treeKeylen = smallKeyLength(treeKey);
  const treeAt = w.length;
  smallKey(w, { ...treeKey, nbytes: treeKeylen + treeBody.length, objlen: treeBody.length, seekKey: treeAt });
  w.raw(treeBody.bytes);

  return finishOneKeyFile(w, 'synthetic.root', { ...treeKey, nbytes: treeKeylen + treeBody.length, objlen: treeBody.length, seekKey: treeAt, seekPdir: 100 });
}

const smallKeyLength = (k: { className: string; name: string; title: string }) => keyLength(k, false);

function smallKey(w: Writer, k: { className: string; name: string; title: string; nbytes: number; objlen: number; seekKey: number }): void {
  writeKey(w, { ...k, seekPdir: 100 }, false);
}
