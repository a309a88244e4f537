// Makes sure every sample file is present (../shared/data, or downloaded into
// .cache/samples; sha256-checked either way) and prints where each one is.
//   node --import tsx scripts/fetch-samples.ts      (npm run fetch-samples)
import { missingSamplesHelp, SAMPLES, SampleMissingError, SHARED_DATA, samplePath } from './lib/samples';

const missing: SampleMissingError[] = [];
let failed = 0;
for (const s of SAMPLES) {
  try {
    const where = await samplePath(s.name);
    const from = where.startsWith(SHARED_DATA) ? 'shared' : 'cache ';
    console.log(`${s.name.padEnd(40)} ${from} ${where}`);
  } catch (e) {
    failed++;
    if (e instanceof SampleMissingError) missing.push(e);
    console.error(`${s.name.padEnd(40)} MISSING ${e instanceof SampleMissingError ? e.why : (e as Error).message}`);
  }
}
console.log(failed ? `${failed} of ${SAMPLES.length} samples missing` : `all ${SAMPLES.length} samples present, sha256 verified`);
if (missing.length) console.error(`\n${missingSamplesHelp(missing, 'The tests and benchmarks use')}`);
process.exitCode = failed ? 1 : 0;
