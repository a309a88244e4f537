// `npm start`: the main job on the sample data — the serverless pipeline run
// locally (orchestrator, queue, worker threads, reducer) over the two
// PHYSLITE samples (fetched and checked if ../shared/data is not there),
// split into half-MiB shards so the fan-out and the merge are exercised.
// Extra arguments go to `physlite job`, e.g. `npm start -- --chaos`.
//
// The job takes about two seconds, so its status page is only served with
// `npm start -- --serve`, which keeps it up after the job until Ctrl-C
// (an address printed without it would be dead by the time it is read).

import { quietOnClosedPipe, run } from '../shared/cli/physlite';
import { missingSamplesHelp, SAMPLES, SampleMissingError, samplePath } from './lib/samples';

quietOnClosedPipe();
const wanted = SAMPLES.filter((s) => s.profile);
const found = await Promise.allSettled(wanted.map((s) => samplePath(s.name)));
const missing = found.flatMap((r) => (r.status === 'rejected' && r.reason instanceof SampleMissingError ? [r.reason] : []));
const other = found.flatMap((r) => (r.status === 'rejected' && !(r.reason instanceof SampleMissingError) ? [r.reason as Error] : []));
if (missing.length || other.length) {
  if (missing.length) process.stderr.write(`npm start: ${missingSamplesHelp(missing, 'The main job needs')}`);
  for (const e of other) process.stderr.write(`npm start: ${e.message}\n`);
  process.exitCode = 1;
} else {
  const files = found.map((r) => (r as PromiseFulfilledResult<string>).value);
  const extra = process.argv.slice(2);
  const serve = extra.includes('--serve');
  const args = ['job', '--local', ...files, '--shard-mb', '0.5', ...(serve ? [] : ['--no-status-page']), ...extra];
  console.log(`physlite ${args.join(' ')}\n`);
  const code = await run(args);
  if (code === 0 && !serve) console.log('\nThe job is over in seconds, so no status page was served: `npm start -- --serve` serves it and keeps it up after the job, until Ctrl-C.');
  console.log('Try: npx physlite job --local ../shared/data/*PHYSLITE* --chaos   ·   npx physlite job --local DIR --json > job.json && npx physlite plot job.json --out plots   ·   npx physlite --help');
}
