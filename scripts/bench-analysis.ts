// Analysis benchmark: the full reference analysis (decode + selection +
// overlap removal + histograms) over each PHYSLITE sample held in memory,
// repeated, on one core; beside it, in the same run, the decoder alone on
// the same columns and the analysis alone on decoded columns.
//
//   npm run bench:analysis [-- --seconds 3]

import { parseArgs } from 'node:util';
import { BufferSource } from '../shared/root/source';
import { PhysliteFile } from '../shared/physlite/index';
import { referenceAnalysis } from '../shared/analysis/reference/index';
import { analyseOpenFile } from '../shared/analysis/runner';
import { SAMPLES, sampleBytes } from './lib/samples';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
const TARGET: Record<string, number> = { r21: 20000, r22: 40000 };

/** Runs fn repeatedly for about `seconds` (after warm-up calls); returns calls per second. */
async function rate(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await fn();
    calls++;
  }
  return calls / ((performance.now() - t0) / 1000);
}

const fmt = (x: number) => x.toFixed(0).padStart(8);

console.log(`analysis benchmark: reference analysis, samples in memory, one core, ~${SECONDS} s per measurement (node ${process.version})`);
for (const s of SAMPLES.filter((x) => x.profile)) {
  const bytes = await sampleBytes(s.name);
  const file = await PhysliteFile.open(new BufferSource(bytes, s.name));
  const analysis = referenceAnalysis();
  const prepared = analysis.prepare(file.schema, s.name);
  const n = file.entries;
  const chunk = await file.read(prepared.columns);

  const decode = (await rate(() => file.read(prepared.columns))) * n;
  const process = (await rate(() => prepared.process(chunk))) * n;
  const full = (await rate(() => analyseOpenFile(file, analysis))) * n;
  await file.close();

  const share = (1 / process) / (1 / decode);
  console.log(`\n${s.name} (${prepared.profile}, ${n} events, ${prepared.columns.length} columns)`);
  console.log(`  decode only            ${fmt(decode)} events/s`);
  console.log(`  analysis only          ${fmt(process)} events/s   (costs ${(100 * share).toFixed(1)}% of the decode time; target < 33%)`);
  console.log(`  end to end             ${fmt(full)} events/s   (target ${TARGET[prepared.profile]} events/s: ${full >= TARGET[prepared.profile]! ? 'met' : 'NOT met'})`);
  console.log(`  ratio end-to-end/decode ${(full / decode).toFixed(2)}`);
}
