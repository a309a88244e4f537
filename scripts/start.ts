// `npm start`: the main job on the sample data — the serverless pipeline run
// locally (orchestrator, queue, worker threads, reducer, status page) over the
// two PHYSLITE samples (fetched and checked if ../shared/data is not there),
// split into half-MiB shards so the fan-out and the merge are exercised.
// Extra arguments go to `physlite job`, e.g. `npm start -- --chaos` or `-- --serve`.

import { main } from '../shared/cli/physlite';
import { SAMPLES, samplePath } from './lib/samples';

const files: string[] = [];
for (const s of SAMPLES) if (s.profile) files.push(await samplePath(s.name));
const args = ['job', '--local', ...files, '--shard-mb', '0.5', ...process.argv.slice(2)];
console.log(`physlite ${args.join(' ')}\n`);
process.exitCode = await main(args);
console.log('\nTry: npx physlite job --local ../shared/data/*PHYSLITE* --chaos   ·   npx physlite job --local DIR --json > job.json && npx physlite plot job.json --out plots');
