// Collection keys: the 30-bit hashes that ElementLinks store in m_persKey.
//
// Athena names a link's target container by its StoreGate key,
// sgkey(name, CLID) = CRC-64 of the name (ATLAS polynomial 0x95AC9329AC4BC9B5,
// initial value all ones, reflected), extended with the container's class id
// byte by byte, masked to 30 bits. The file's MetaData tree holds an
// `EventFormat` object listing every stored key with its hash; when a file has
// it (the r21 sample does) it is the authority. Without it (the r22 sample has
// no MetaData tree) the hash is computed from the name and the class id of the
// known target types; the test suite checks the computation against the r21
// EventFormat.

import { RootError, elementToPlain, type RootFileHandle } from '../root/index';

const POLY = 0x95ac9329ac4bc9b5n;
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = BigInt(i);
  for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
  TABLE_HI[i] = Number(c >> 32n);
  TABLE_LO[i] = Number(c & 0xffffffffn);
}

const utf8 = new TextEncoder();

/** StoreGate key of a container: crc64(name) extended by its CLID, low 30 bits. */
export function sgKey(name: string, clid = 0): number {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  const step = (byte: number) => {
    const t = (lo ^ byte) & 0xff;
    // crc = table[t] ^ (crc >> 8), on two 32-bit halves
    const nlo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const nhi = hi >>> 8;
    lo = (TABLE_LO[t]! ^ nlo) >>> 0;
    hi = (TABLE_HI[t]! ^ nhi) >>> 0;
  };
  for (const b of utf8.encode(name)) step(b);
  // the class id is added low byte first while what remains is non-zero
  for (let x = clid >>> 0; x > 0; x = Math.floor(x / 256)) step(x & 0xff);
  return lo & 0x3fffffff;
}

/** Class ids of container types that links in PHYSLITE point to (xAOD CLASS_DEF values). */
export const CONTAINER_CLIDS: Record<string, number> = {
  'DataVector<xAOD::TrackParticle_v1>': 1287425431,
};

/** Container type of the collections analyses link to, for files without EventFormat. */
const KNOWN_TYPES: Record<string, string> = {
  InDetTrackParticles: 'DataVector<xAOD::TrackParticle_v1>',
};

export interface EventFormatEntry {
  key: string;
  className: string;
  hash: number;
}

/** Maps store keys ↔ link hashes for one file. */
export class CollectionKeys {
  private byName = new Map<string, EventFormatEntry>();
  private byHash = new Map<number, EventFormatEntry>();

  constructor(readonly entries: readonly EventFormatEntry[], readonly fromEventFormat: boolean) {
    for (const e of entries) {
      this.byName.set(e.key, e);
      this.byHash.set(e.hash, e);
    }
  }

  /** The hash links use for the container stored under `key`, or undefined when unknown. */
  hashOf(key: string): number | undefined {
    const e = this.byName.get(key);
    if (e) return e.hash;
    if (this.fromEventFormat) return undefined; // the file lists its keys, and this one is not among them
    const type = KNOWN_TYPES[key];
    return type ? sgKey(key, CONTAINER_CLIDS[type]) : undefined;
  }

  /** The store key a link hash names, when the file says. */
  keyOf(hash: number): string | undefined {
    return this.byHash.get(hash)?.key;
  }
}

/** Reads the file's MetaData EventFormat (first entry), or falls back to computed keys. */
export async function readCollectionKeys(file: RootFileHandle): Promise<CollectionKeys> {
  const trees = await file.trees();
  if (!trees.includes('MetaData')) return new CollectionKeys([], false);
  const meta = await file.tree('MetaData');
  if (!meta.tree.hasBranch('EventFormat') || meta.tree.entries === 0) return new CollectionKeys([], false);
  const { columns } = await meta.read(['EventFormat'], { entryStart: 0, entryStop: 1 });
  const plain = elementToPlain(columns.get('EventFormat')!, 0) as Record<string, unknown>;
  const names = plain.m_branchNames;
  const classes = plain.m_classNames;
  const hashes = plain.m_branchHashes;
  if (!Array.isArray(names) || !Array.isArray(hashes) || names.length !== hashes.length) {
    throw new RootError('CORRUPT', 'MetaData EventFormat does not list one hash per branch name', { file: file.name, tree: 'MetaData', branch: 'EventFormat' });
  }
  const entries = names.map((n, i) => ({ key: String(n), className: String((classes as unknown[] | undefined)?.[i] ?? ''), hash: Number(hashes[i]) >>> 0 }));
  return new CollectionKeys(entries, true);
}
