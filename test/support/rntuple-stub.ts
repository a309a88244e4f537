// A ROOT file whose only object is an RNTuple anchor key ("EventData", class
// ROOT::RNTuple, as Athena writes PHYSLITE as RNTuple): the key list is all
// that the CLI's file classification reads, so the anchor's body is zeros.
// Laid out like synthetic-tree.ts: header, object, key list, root directory.

import { keyLength, writeFileHeader, writeKey, Writer } from './root-layout';

export function rntupleOnlyFile(name = 'EventData'): Uint8Array {
  const w = new Writer();
  for (let i = 0; i < 100; i++) w.u8(0); // header, written last
  const anchor = { className: 'ROOT::RNTuple', name, title: '' };
  const anchorLen = keyLength(anchor, false);
  const body = 64;
  const anchorAt = w.length;
  writeKey(w, { ...anchor, nbytes: anchorLen + body, objlen: body, seekKey: anchorAt, seekPdir: 100 }, false);
  for (let i = 0; i < body; i++) w.u8(0);

  const keysAt = w.length;
  const listKey = { className: 'TFile', name: 'rntuple-stub.root', title: '' };
  const keysLen = keyLength(listKey, false) + 4 + anchorLen;
  writeKey(w, { ...listKey, nbytes: keysLen, objlen: keysLen - keyLength(listKey, false), seekKey: keysAt, seekPdir: 100 }, false);
  w.u32(1);
  writeKey(w, { ...anchor, nbytes: anchorLen + body, objlen: body, seekKey: anchorAt, seekPdir: 100 }, false);

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
