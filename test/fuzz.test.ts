// Fuzz test: mutated sample files (byte flips, truncations, inserted and
// overwritten garbage) must decode to the pristine file's values or fail with
// a RootError naming the file — never another exception, a hang, or memory
// beyond a bound. Runs in a worker so a hang or a runaway allocation is
// caught from outside. FUZZ_ITERATIONS and FUZZ_SEED override the defaults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { sampleBytes } from '../scripts/lib/samples';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const STALL_MS = 20_000;
const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
const MAX_ARRAY_BUFFERS = 512 * 1024 * 1024;

const E = 'AnalysisElectronsAuxDyn.';
const J = 'AnalysisJetsAuxDyn.';
const M = 'AnalysisMuonsAuxDyn.';

test(`fuzz: ${ITERATIONS} mutated files give the right values or a typed error`, { timeout: 600_000 }, async () => {
  const samples = [
    {
      name: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root',
      tree: 'CollectionTree',
      branches: [`${E}pt`, `${E}DFCommonElectronsLHLooseBL`, `${J}NumTrkPt500`, `${J}GhostTrack`, `${M}inDetTrackParticleLink`, 'EventInfoAux.eventNumber', 'EventInfoAux.streamTagNames', 'EventInfoAuxDyn.GenFiltHT'],
    },
    {
      name: 'PHYSLITE_example.root',
      tree: 'CollectionTree',
      branches: [`${E}pt`, `${J}SumPtTrkPt500`, `${J}NNJvtPass`, `${M}inDetTrackParticleLink`, 'PrimaryVerticesAuxDyn.x'],
    },
    { name: 'uproot-HZZ-lz4.root', tree: 'events', branches: ['Jet_Px', 'NMuon', 'MET_px'] },
    { name: 'uproot-HZZ-zstd.root', tree: 'events', branches: ['Muon_E', 'NElectron'] },
    { name: 'uproot-HZZ-lzma.root', tree: 'events', branches: ['Photon_Py', 'Muon_Charge'] },
    { name: 'uproot-small-evnt-tree-fullsplit.root', tree: 'tree', branches: ['StdStr', 'SliceI64', 'StlVecStr', 'P3', 'ArrayF64[10]'] },
  ];
  const loaded = await Promise.all(samples.map(async (s) => ({ ...s, bytes: await sampleBytes(s.name) })));

  const failures: { where: string; message: string }[] = [];
  let done: { counts: { identical: number; typedError: number; iterations: number; uncheckedChanges: number }; codes: Record<string, number>; peakArrayBuffers: number } | undefined;

  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL('./support/ts-worker.mjs', import.meta.url), {
      workerData: { __module: new URL('./support/fuzz-worker.ts', import.meta.url).href, samples: loaded, iterations: ITERATIONS, seed: SEED, maxObjectBytes: MAX_OBJECT_BYTES },
      resourceLimits: { maxOldGenerationSizeMb: 768 },
    });
    let lastProgress = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > STALL_MS) {
        failures.push({ where: 'watchdog', message: `no progress for ${STALL_MS} ms: a mutated file made the decoder hang` });
        void worker.terminate();
      }
    }, 1000);
    worker.on('message', (m) => {
      lastProgress = Date.now();
      if (m.type === 'failure') failures.push({ where: m.where, message: m.message });
      if (m.type === 'done') done = m;
    });
    worker.on('error', (e) => {
      clearInterval(watchdog);
      reject(e);
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      resolve();
    });
  });

  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} fuzz failures`);
  assert.ok(done, 'the fuzz worker did not finish');
  assert.equal(done.counts.iterations, ITERATIONS);
  assert.ok(done.counts.typedError > 0 && done.counts.identical > 0, 'mutations produced both typed errors and intact reads');
  assert.ok(done.peakArrayBuffers < MAX_ARRAY_BUFFERS, `array buffers peaked at ${done.peakArrayBuffers} bytes`);
  console.log(`fuzz: ${done.counts.iterations} iterations, ${done.counts.identical} intact branch reads, ${done.counts.uncheckedChanges} changed values in baskets no checksum covers (stored uncompressed, or ZSTD without checksum), ${done.counts.typedError} typed errors ${JSON.stringify(done.codes)}, peak array buffers ${(done.peakArrayBuffers / 1048576).toFixed(0)} MiB`);
});
