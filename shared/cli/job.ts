// `physlite job --local`: the whole fan-out on this machine (orchestrator,
// queue, workers on worker_threads, reducer, status server), with the
// local implementations of storage, queue and job state.

import path from 'node:path';
import { formatUsd, largestItem, type CostReport } from '../pipeline/cost';
import { DEFAULT_CHAOS, LocalPipeline } from '../pipeline/local/job';
import type { JobStatus } from '../pipeline/model';
import { RequestError } from '../pipeline/request';
import { ProgressLine } from './progress-line';
import { formatResult } from './run';
import { parseCommandLine, UsageError, type CommandSpec } from './usage';

export const JOB: CommandSpec = {
  name: 'job',
  summary: 'the serverless pipeline, run on this machine (--local)',
  help: `Usage: physlite job --local DATASET… [--profile r21|r22] [--shard-mb N] [--workers N]
                    [--json] [--chaos] [--seed N] [--port P] [--serve] [--no-status-page] [--label TEXT]

The serverless pipeline run locally: DATASET entries (files, directories,
https:// URLs, gs:// prefixes, or a .txt index of URLs) are planned into shards,
published to an in-process queue and analysed by worker threads; the reducer
merges the shard results once. Results are printed when the job ends.

  --shard-mb N       shard size in MiB (default 1024)
  --workers N        worker threads (default: one per core)
  --json             the final job status (with the result) as JSON
  --chaos, --seed N  inject duplicate deliveries, worker crashes and transient
                     read errors (seeded): the result must not change
  --port P           the status page's port on 127.0.0.1 (default: any free one)
  --serve            keep the status page up after the job, until Ctrl-C
  --no-status-page   serve no status page
`,
  run: (args, out) => jobCommand(args, out),
};

function number(value: string | undefined, name: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

export async function jobCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    local: { type: 'boolean' },
    profile: { type: 'string' },
    'shard-mb': { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
    chaos: { type: 'boolean' },
    seed: { type: 'string' },
    port: { type: 'string' },
    serve: { type: 'boolean' },
    'no-status-page': { type: 'boolean' },
    label: { type: 'string' },
  });
  if (!values.local) throw new UsageError('job needs --local (a deployed pipeline is started with POST /jobs to its orchestrator: see the README)');
  if (values.serve && values['no-status-page']) throw new UsageError('--serve and --no-status-page contradict each other');
  if (positionals.length === 0) throw new UsageError('job needs at least one DATASET entry (a file, directory, URL or index file)');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${values.port}"`);
  const seed = values.seed === undefined ? DEFAULT_CHAOS.seed : number(values.seed, 'seed', true)!;
  const shardMB = number(values['shard-mb'], 'shard-mb', false);
  const workers = number(values.workers, 'workers', true);

  // local paths are made absolute so the records and the status page name them unambiguously
  const dataset = positionals.map((p) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? p : path.resolve(p)));
  const request: Record<string, unknown> = { dataset, analysis: 'reference', options: values.profile ? { profile: values.profile } : {} };
  if (shardMB !== undefined) request.shardMB = shardMB;
  if (values.label !== undefined) request.label = values.label;

  const bar = err.isTTY && !values.json ? new JobProgressBar(err) : undefined;
  const pipeline = new LocalPipeline({ ...(workers !== undefined ? { workers } : {}), ...(values.chaos ? { chaos: { ...DEFAULT_CHAOS, seed } } : {}) });
  try {
    const server = values['no-status-page'] ? undefined : await pipeline.serve(port);
    const t0 = performance.now();
    const job = await pipeline.submit(request).catch((e: unknown) => {
      if (e instanceof RequestError) throw new UsageError(`the job request was refused (${e.status}): ${e.message}`);
      throw e;
    });
    const url = server ? `${server.url}/jobs/${job.jobId}` : undefined;
    let announced = false;
    const s = await pipeline.waitFor(job.jobId, (s) => {
      if (!announced && !values.json) {
        announced = true;
        err.write(`job ${s.jobId}: ${s.dataset.files} file${s.dataset.files === 1 ? '' : 's'}, ${s.shards.total} shard${s.shards.total === 1 ? '' : 's'}${values.chaos ? `, chaos (seed ${seed})` : ''}\n`);
        if (url) err.write(`status page: ${url}${values.serve ? ' (kept up after the job until Ctrl-C)' : ' (while the job runs; --serve keeps it up afterwards)'}\n`);
      }
      bar?.update(s);
    });
    await pipeline.queue.idle(); // late duplicates finish before the numbers are read
    const seconds = (performance.now() - t0) / 1000;
    bar?.clear();
    printJob(s, { json: values.json === true, chaos: values.chaos ? pipeline.queue.stats() : undefined, seconds }, out);
    if (url && values.serve) await waitForInterrupt(err, url);
    return s.shards.failed > 0 || s.state !== 'finished' ? 1 : 0;
  } finally {
    bar?.clear();
    await pipeline.close();
  }
}

type QueueStats = ReturnType<LocalPipeline['queue']['stats']>;

/** The job's outcome: its status as JSON, or the result table, rate, cost, chaos counts and failed shards. */
function printJob(s: JobStatus, how: { json: boolean; chaos: QueueStats | undefined; seconds: number }, out: NodeJS.WritableStream): void {
  if (how.json) {
    out.write(JSON.stringify(s) + '\n');
    return;
  }
  if (s.result) out.write(formatResult(s.result, { files: s.dataset.files, seconds: how.seconds, bytes: s.bytesRead }));
  out.write(`\nshards: ${s.shards.done} done, ${s.shards.failed} failed of ${s.shards.total} · ${formatRate(s)}\n`);
  if (s.cost) out.write(`${costLine(s.cost)}\n`);
  if (how.chaos) {
    const q = how.chaos;
    const sum = (k: 'duplicated' | 'redelivered' | 'nacked' | 'deadLettered') => Object.values(q).reduce((a, x) => a + (x[k] ?? 0), 0);
    out.write(`chaos: ${sum('duplicated')} duplicate deliveries, ${sum('nacked')} failed attempts retried, ${sum('deadLettered')} dead-lettered\n`);
  }
  for (const f of s.failures) out.write(`FAILED shard ${f.shard} (${f.url}, part ${f.part + 1}/${f.parts}): ${f.error.code}: ${f.error.message}\n`);
  if (s.moreFailures) out.write(`… and ${s.moreFailures} more failed shards\n`);
}

/** The estimate in one line: on Cloud Run at list prices, had this run there (the status page has the table). */
function costLine(cost: CostReport): string {
  const top = largestItem(cost);
  return `estimated cost on Cloud Run: ${formatUsd(cost.totalUsd)}${top ? ` (largest: ${top.item}, ${formatUsd(top.usd)})` : ''}`;
}

function formatRate(s: JobStatus): string {
  return `${s.events} events in ${s.elapsedSeconds.toFixed(2)} s (${Math.round(s.throughput.eventsPerSecond)} events/s), ${(s.bytesRead / 1e6).toFixed(1)} MB read`;
}

function waitForInterrupt(err: NodeJS.WritableStream, url: string): Promise<void> {
  err.write(`job finished; serving ${url} until Ctrl-C (the results are above)\n`);
  return new Promise((resolve) => process.once('SIGINT', () => resolve()));
}

/** The progress of a job: shards reported of the total, and what the status says. */
class JobProgressBar {
  private readonly line: ProgressLine;
  constructor(stream: NodeJS.WritableStream) {
    this.line = new ProgressLine(stream);
  }

  update(s: JobStatus): void {
    const { total, done, failed, running } = s.shards;
    const eta = s.etaSeconds !== undefined && s.state === 'running' ? ` · ETA ${Math.ceil(s.etaSeconds)} s` : '';
    const text = `${done + failed}/${total} shards${failed ? ` (${failed} failed)` : ''} · ${running} running · ${s.events} events · ${(s.bytesRead / 1e6).toFixed(1)} MB${eta}`;
    this.line.draw(done + failed, total, text, s.state !== 'running');
  }

  clear(): void {
    this.line.clear();
  }
}
