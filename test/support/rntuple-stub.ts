// A ROOT file whose only object is an RNTuple anchor key ("EventData", class
// ROOT::RNTuple, as Athena writes PHYSLITE as RNTuple): the key list is all
// that the CLI's file classification reads, so the anchor's body is zeros.
// Laid out like synthetic-tree.ts: header, object, then finishOneKeyFile.

import { finishOneKeyFile, keyLength, writeKey, Writer } from './root-layout';

export function rntupleOnlyFile(name = 'EventData'): Uint8Array {
  const w = new Writer();
  for (let i = 0; i < 100; i++) w.u8(0); // header, written last
  const anchor = { className: 'ROOT::RNTuple', name, title: '' };
  const anchorLen = keyLength(anchor, false);
  const body = 64;
  const anchorAt = w.length;
  writeKey(w, { ...anchor, nbytes: anchorLen + body, objlen: body, seekKey: anchorAt, seekPdir: 100 }, false);
  for (let i = 0; i < body; i++) w.u8(0);

  return finishOneKeyFile(w, 'rntuple-stub.root', { ...anchor, nbytes: anchorLen + body, objlen: body, seekKey: anchorAt, seekPdir: 100 });
}
