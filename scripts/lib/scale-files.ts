// The synthetic production-shaped files of `npm run bench:scale`: written once
// by the synth writer (shared/root/writer/synth.ts) into .cache/scale/ and
// reused. ZSTD level 5, AutoFlush 500, 128 KiB basket limit: DAOD_PHYSLITE's
// writer settings (../shared/PHYSLITE-PRODUCTION.md).
//
//   node --import tsx scripts/lib/scale-files.ts 1 2 4     # makes the 1, 2 and 4 GB files (seed 1)

import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCompression } from '../../shared/root/writer/compress';
import { synthesize } from '../../shared/root/writer/synth';
import { samplePath } from './samples';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCALE_CACHE = path.join(ROOT, '.cache/scale');
/** Events per GB of synth output from PHYSLITE_example.root at ZSTD 5 (measured: 52,028,979 bytes for 5,000 events, 10.4 kB/event). */
export const EVENTS_PER_GB = 96_000;

export function scaleFilePath(gb: number, seed = 1): string {
  return path.join(SCALE_CACHE, `physlite-zstd5-af500-e${Math.round(gb * EVENTS_PER_GB)}-s${seed}.root`);
}

/** The file for `gb` GB (seed `seed`), written if it is not in the cache yet; writeSeconds null when cached. */
export async function scaleFile(gb: number, seed = 1): Promise<{ path: string; bytes: number; writeSeconds: number | null }> {
  const out = scaleFilePath(gb, seed);
  if (existsSync(out)) return { path: out, bytes: statSync(out).size, writeSeconds: null };
  mkdirSync(SCALE_CACHE, { recursive: true });
  const tmp = `${out}.${process.pid}.part`;
  const t0 = performance.now();
  await synthesize({
    source: await samplePath('PHYSLITE_example.root'),
    out: tmp,
    events: Math.round(gb * EVENTS_PER_GB),
    seed,
    compression: parseCompression('zstd:5'),
    autoFlush: 500,
    maxBasket: 131072,
  });
  renameSync(tmp, out);
  return { path: out, bytes: statSync(out).size, writeSeconds: (performance.now() - t0) / 1000 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const gb of process.argv.slice(2).map(Number)) {
    const f = await scaleFile(gb);
    console.log(`${f.path}: ${f.bytes} bytes${f.writeSeconds !== null ? `, written in ${f.writeSeconds.toFixed(0)} s` : ' (cached)'}`);
  }
}
