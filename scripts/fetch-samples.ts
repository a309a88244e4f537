// Makes sure every sample file is present (../shared/data or downloaded into
// .cache/samples, sha256-checked) and prints where each one is.
import { SAMPLES, samplePath } from './lib/samples';

let failed = 0;
for (const s of SAMPLES) {
  try {
    console.log(`${s.name.padEnd(42)} ${await samplePath(s.name)}`);
  } catch (e) {
    failed++;
    console.error(`${s.name.padEnd(42)} MISSING: ${(e as Error).message}`);
  }
}
process.exitCode = failed ? 1 : 0;
