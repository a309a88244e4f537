// Where the sample ROOT files come from. They are never committed: they are
// read from ../shared/data/ beside the checkout when it exists, otherwise
// downloaded once from their upstream address into .cache/samples/ (ignored
// by git). Either way the sha256 is checked, once per process.
//
// The table below is ../shared/data/SOURCES.md, kept here so that a machine
// without ../shared can still fetch the files.
//
// Environment (for tests and unusual layouts):
//   PHYSLITE_SAMPLES_DIR  the read-only sample folder instead of ../shared/data
//   PHYSLITE_CACHE_DIR    the download cache instead of .cache/samples
//   PHYSLITE_OFFLINE=1    never download: a missing sample is a SampleMissingError at once

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Sample {
  name: string;
  url: string;
  sha256: string;
  description: string;
  /** The analysis profile of a PHYSLITE sample. */
  profile?: 'r21' | 'r22';
  /** The tree the tests read, and its number of entries. */
  tree: string;
  entries: number;
}

const HZZ = 'https://raw.githubusercontent.com/scikit-hep/scikit-hep-testdata/f51b8fb0aa3b3609996375a745eac8084472245f/src/skhep_testdata/data';

/** The table of ../shared/data/SOURCES.md. */
export const SAMPLES: readonly Sample[] = [
  {
    name: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root',
    url: 'https://raw.githubusercontent.com/CoffeaTeam/coffea/fc26a14a659949976cd841168e8c37488a182dd9/tests/samples/DAOD_PHYSLITE_21.2.108.0.art.pool.root',
    sha256: '6922b36c4017c9766e6982c0fe939f88cc25f2333d1012429370e70b82ef30b0',
    description: 'ATLAS DAOD_PHYSLITE, release 21.2.108, 40 events, ~1580 branches, zlib',
    profile: 'r21',
    tree: 'CollectionTree',
    entries: 40,
  },
  {
    name: 'PHYSLITE_example.root',
    url: 'https://raw.githubusercontent.com/CoffeaTeam/coffea/fbce12fb1b0d921ce303f513234b0e84b3c2104a/tests/samples/PHYSLITE_example.root',
    sha256: '6ebbafb5a1f72ca0b6fa47de73c28906101997e6f8a58d97536e4c040a15aa0b',
    description: 'ATLAS DAOD_PHYSLITE of a later release, 100 events, ~1490 branches, zlib',
    profile: 'r22',
    tree: 'CollectionTree',
    entries: 100,
  },
  { name: 'uproot-HZZ-zlib.root', url: `${HZZ}/uproot-HZZ-zlib.root`, sha256: '8ae0f4d39bbba9bc1d3feab721ba7a8720837a0f344a29873fcc0c0bbe92c9a7', description: 'flat + jagged TTree events, zlib', tree: 'events', entries: 2421 },
  { name: 'uproot-HZZ-lz4.root', url: `${HZZ}/uproot-HZZ-lz4.root`, sha256: '73e401455c6824cff56790ffc179ebe60d4bdd4f573a4d085daddcabd977cc87', description: 'the same, LZ4 (with xxhash64 checksum)', tree: 'events', entries: 2421 },
  { name: 'uproot-HZZ-lzma.root', url: `${HZZ}/uproot-HZZ-lzma.root`, sha256: '770e3a54b13c5cb7378b994f13d263ba83b811f9089bd730aa26440a0dd2a4ac', description: 'the same, LZMA (xz)', tree: 'events', entries: 2421 },
  { name: 'uproot-HZZ-zstd.root', url: `${HZZ}/uproot-HZZ-zstd.root`, sha256: 'd758791f28ac6120cd06a7099dd7ab5e03c5ecc5d0f3de4f75743841791ba9d2', description: 'the same, ZSTD', tree: 'events', entries: 2421 },
  { name: 'uproot-HZZ-uncompressed.root', url: `${HZZ}/uproot-HZZ-uncompressed.root`, sha256: '789930081ff7f6f9eb70432c5b9b256d80d366b23ba0d807d3e01bbe10405e52', description: 'the same, no compression', tree: 'events', entries: 2421 },
  { name: 'uproot-vectorVectorDouble.root', url: `${HZZ}/uproot-vectorVectorDouble.root`, sha256: '517b55b93bcc6e2eb0cc1e311c702dbf398a17319f0b8d7b43f5675ada8d4e67', description: 'TTree t with a vector<vector<double>> branch', tree: 't', entries: 5 },
  { name: 'uproot-small-evnt-tree-fullsplit.root', url: `${HZZ}/uproot-small-evnt-tree-fullsplit.root`, sha256: 'e5032b776cafd9e048d8b88bfdb00d7e7eff785b0fe120d628aec3b30e4c7b1a', description: 'fully split class with many member types (TTree tree)', tree: 'tree', entries: 100 },
  { name: 'uproot-physlite-rntuple_v1-0-0-0.root', url: `${HZZ}/uproot-physlite-rntuple_v1-0-0-0.root`, sha256: '320483c251a168dc4e8b97982836d2e44d374a6498fffdaa483a47206be85d23', description: 'PHYSLITE written as RNTuple EventData (not decoded), with metadata TTrees (MetaData: member-wise collections, std::string branches)', tree: 'MetaData', entries: 1 },
];

/** The repository root (two levels above this file), whatever the working directory. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Read-only sample folder beside the checkout (or $PHYSLITE_SAMPLES_DIR). */
export const SHARED_DATA = process.env.PHYSLITE_SAMPLES_DIR ? path.resolve(process.env.PHYSLITE_SAMPLES_DIR) : path.resolve(REPO_ROOT, '..', 'shared', 'data');
/** Download cache inside the repository, git-ignored (or $PHYSLITE_CACHE_DIR). */
export const CACHE_DIR = process.env.PHYSLITE_CACHE_DIR ? path.resolve(process.env.PHYSLITE_CACHE_DIR) : path.join(REPO_ROOT, '.cache', 'samples');
/** No downloads: set PHYSLITE_OFFLINE=1. */
const OFFLINE = !!process.env.PHYSLITE_OFFLINE && process.env.PHYSLITE_OFFLINE !== '0';

/** A sample that is in neither folder and could not be downloaded. */
export class SampleMissingError extends Error {
  constructor(
    readonly sample: Sample,
    readonly why: string,
  ) {
    super(`sample ${sample.name} is neither in ${SHARED_DATA} nor in ${CACHE_DIR}, and ${why}`);
  }
}

/**
 * What to do about missing samples, for a person: which files, where to put
 * them, where they come from and their sha256. One paragraph, then a line per file.
 */
export function missingSamplesHelp(errors: SampleMissingError[], what = 'This needs'): string {
  const names = errors.map((e) => e.sample.name);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  const whys = [...new Set(errors.map((e) => e.why))].join('; ');
  const lines = [
    `${what} the sample file${names.length === 1 ? '' : 's'} ${list}, which ${names.length === 1 ? 'is' : 'are'} neither in ${SHARED_DATA} (${process.env.PHYSLITE_SAMPLES_DIR ? 'PHYSLITE_SAMPLES_DIR' : 'the read-only ../shared/data beside the checkout'}) nor in the download cache ${CACHE_DIR}, and ${whys}. ` +
      `Copy ${names.length === 1 ? 'it' : 'them'} into either folder (the sha256 is checked), or run \`npm run fetch-samples\` on a machine that reaches raw.githubusercontent.com; ../shared/data/SOURCES.md describes every sample.`,
    '',
  ];
  for (const e of errors) lines.push(`  ${e.sample.name}`, `    sha256 ${e.sample.sha256}`, `    from   ${e.sample.url}`);
  return lines.join('\n') + '\n';
}

const DOWNLOAD_TIMEOUT_MS = 120_000;

const located = new Map<string, Promise<string>>();

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The table entry of a sample; throws for an unknown name. */
export function sampleInfo(name: string): Sample {
  const s = SAMPLES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown sample "${name}" (known: ${SAMPLES.map((x) => x.name).join(', ')})`);
  return s;
}

/**
 * The local path of a sample: ../shared/data/NAME when it is there, else
 * .cache/samples/NAME (downloaded from the upstream address when missing).
 * The file's sha256 is checked the first time in a process; the answer is
 * cached (a failure is not, so a later call tries again).
 */
export function samplePath(name: string): Promise<string> {
  let p = located.get(name);
  if (!p) {
    p = locate(sampleInfo(name));
    located.set(name, p);
    p.catch(() => located.delete(name));
  }
  return p;
}

/** The bytes of a sample (a fresh copy, starting at byteOffset 0). */
export async function sampleBytes(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(await samplePath(name)));
}

async function locate(s: Sample): Promise<string> {
  const shared = path.join(SHARED_DATA, s.name);
  if (existsSync(shared)) {
    const digest = sha256(await readFile(shared));
    if (digest === s.sha256) return shared;
    throw new Error(`${shared} has sha256 ${digest}, expected ${s.sha256} (see ../shared/data/SOURCES.md); not using it`);
  }
  const cached = path.join(CACHE_DIR, s.name);
  if (existsSync(cached)) {
    if (sha256(await readFile(cached)) === s.sha256) return cached;
    await rm(cached, { force: true }); // a stale or damaged download: fetch again
  }
  if (OFFLINE) throw new SampleMissingError(s, 'PHYSLITE_OFFLINE is set, so nothing was downloaded');
  return download(s, cached);
}

async function download(s: Sample, file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const res = await fetch(s.url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    const why = e instanceof Error ? (e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message) : String(e);
    throw new SampleMissingError(s, `the download failed (${why})`);
  }
  await mkdir(CACHE_DIR, { recursive: true });
  const part = `${file}.${process.pid}.part`;
  await writeFile(part, bytes);
  const digest = sha256(bytes);
  if (digest !== s.sha256) {
    await rm(part, { force: true });
    throw new Error(`downloaded ${s.url} has sha256 ${digest}, expected ${s.sha256}; the download was deleted`);
  }
  await rename(part, file);
  return file;
}
