// What a job cost, estimated at list prices: the status shows it for running
// and finished jobs, and `npm run estimate` uses the same arithmetic for a
// job that has not run.
//
// What is measured and what is modelled:
//   measured  the workers' own timings (Σ wallMs of the shard records), their
//             storage requests (Σ requests: each ranged GET or metadata call is
//             one Class B operation) and bytes, and the deliveries (Σ attempts)
//   modelled  everything the state protocol does per step (Firestore reads and
//             writes, Pub/Sub messages, function requests): counted from the
//             code in state.ts / worker.ts / reducer.ts / orchestrator.ts
//             (firestoreModel below; test/cost.test.ts checks it against a
//             metered store on real runs), Cloud Run's rounding up to 100 ms,
//             and the orchestrator's and reducer's instance time.
//
// Prices and instance shapes are configuration (PHYSLITE_COST_MODEL, set by
// the Terraform module from its variables): a typo in a key is an error, never
// a silent default.

import { classifyEntry } from './plan';

/** One function's instance: what Cloud Run bills per second of a request. */
export interface Shape {
  vcpu: number;
  memoryGiB: number;
  /** Requests one instance serves at once (max_instance_request_concurrency; default 1): they share its seconds. */
  concurrency?: number;
}

/** Unit list prices, USD. */
export interface Prices {
  vcpuSecond: number;
  gibSecond: number;
  millionRequests: number;
  pubsubTiB: number;
  firestoreReads100k: number;
  firestoreWrites100k: number;
  firestoreDeletes100k: number;
  storageClassA10k: number;
  storageClassB10k: number;
  egressGiB: number;
}

export interface CostModel {
  prices: Prices;
  instances: { worker: Shape; orchestrator: Shape; reducer: Shape };
}

/** List prices of ../shared/GCP-FACTS.md section 7 (us-central1, 2026-11): verify on the live pages. */
export const DEFAULT_COST_MODEL: CostModel = deepFreeze({
  prices: {
    vcpuSecond: 0.000024, // Cloud Run tier 1, request-based CPU
    gibSecond: 0.0000025, // Cloud Run tier 1, request-based memory
    millionRequests: 0.4, // Cloud Run requests
    pubsubTiB: 40, // Pub/Sub throughput, ≥ 1000 B per publish/push
    firestoreReads100k: 0.03, // Firestore Standard, regional US
    firestoreWrites100k: 0.09, // same row
    firestoreDeletes100k: 0.01, // same row
    storageClassA10k: 0.05, // GCS Class A, Standard regional ($0.005 / 1,000)
    storageClassB10k: 0.004, // GCS Class B, Standard regional ($0.0004 / 1,000)
    egressGiB: 0, // same-region transfer: no charge
  },
  // the Terraform module's defaults: 1 vCPU 2 GiB workers and reducer, 1 vCPU 1 GiB orchestrator
  instances: {
    worker: { vcpu: 1, memoryGiB: 2 },
    orchestrator: { vcpu: 1, memoryGiB: 1 },
    reducer: { vcpu: 1, memoryGiB: 2 },
  },
});

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}

const PRICE_KEYS = Object.keys(DEFAULT_COST_MODEL.prices) as (keyof Prices)[];
const FUNCTION_KEYS = Object.keys(DEFAULT_COST_MODEL.instances) as (keyof CostModel['instances'])[];
const SHAPE_KEYS: (keyof Shape)[] = ['vcpu', 'memoryGiB', 'concurrency'];

/**
 * A cost model from JSON: any part of it, over the defaults (prices and each
 * function's shape merged key by key). Every value must be a finite number,
 * ≥ 0 for prices and > 0 for vcpu, memoryGiB and concurrency; an unknown key is an error
 * naming its path, so a misspelt price never falls back to the default.
 */
export function parseCostModel(json: string, source = 'PHYSLITE_COST_MODEL'): CostModel {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  const top = object(raw, source);
  known(top, source, ['prices', 'instances']);
  const prices: Prices = { ...DEFAULT_COST_MODEL.prices };
  if (top.prices !== undefined) {
    const p = object(top.prices, `${source}.prices`);
    known(p, `${source}.prices`, PRICE_KEYS);
    for (const key of PRICE_KEYS) if (p[key] !== undefined) prices[key] = numberAt(p[key], `${source}.prices.${key}`, false);
  }
  const instances = { worker: { ...DEFAULT_COST_MODEL.instances.worker }, orchestrator: { ...DEFAULT_COST_MODEL.instances.orchestrator }, reducer: { ...DEFAULT_COST_MODEL.instances.reducer } };
  if (top.instances !== undefined) {
    const i = object(top.instances, `${source}.instances`);
    known(i, `${source}.instances`, FUNCTION_KEYS);
    for (const fn of FUNCTION_KEYS) {
      if (i[fn] === undefined) continue;
      const at = `${source}.instances.${fn}`;
      const shape = object(i[fn], at);
      known(shape, at, SHAPE_KEYS);
      for (const key of SHAPE_KEYS) if (shape[key] !== undefined) instances[fn][key] = numberAt(shape[key], `${at}.${key}`, true);
    }
  }
  return { prices, instances };
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${at} must be a JSON object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function known(o: Record<string, unknown>, at: string, keys: readonly string[]): void {
  for (const key of Object.keys(o)) if (!keys.includes(key)) throw new Error(`${at}.${key} is not a known field (known: ${keys.join(', ')})`);
}

function numberAt(v: unknown, at: string, positive: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive ? v <= 0 : v < 0)) {
    throw new Error(`${at} must be a finite number ${positive ? 'above 0' : '≥ 0'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

// ---------------------------------------------------------------------------
// What a job used

/** A job's usage so far: measured sums from its records, plus what the model needs. */
export interface JobUsage {
  /** Planned shards. */
  shards: number;
  /** Shards with a record (done or failed). */
  shardsReported: number;
  /** Shard deliveries that counted an attempt (Σ attempts): first tries, retries, duplicates that got that far, and those still running. */
  deliveries: number;
  /** Σ wallMs of the shard records: each worker's own time for its shard, open to record. */
  workerWallMs: number;
  /** Σ requests of the shard records: ranged GETs and metadata calls, each one Class B operation. */
  storageRequests: number;
  /** Σ bytes the workers read. */
  bytesRead: number;
  /** The orchestrator's planning requests (modelled from the dataset entries, see planningStorageOps): listings are Class A, metadata and index reads Class B. */
  listRequests: number;
  metadataReads: number;
  /** The orchestrator's time from the job record to its last publish (publishedAt − createdAt); 0 when unknown. */
  orchestratorMs: number;
  /** The reducer's merge; 0 before it. */
  mergeMs: number;
  /** The final merge has run: its reads and writes are counted. */
  merged: boolean;
  /** Shards a worker instance runs at once (default 1): their wall times then share the instance's seconds. */
  workerConcurrency?: number;
}

/** Cloud Run bills each request's time rounded up to this (GCP-FACTS §7, "Billing granularity"). */
export const BILLING_GRANULARITY_MS = 100;
/** Pub/Sub bills every publish and push at least this many bytes (GCP-FACTS §7). */
export const PUBSUB_MIN_BYTES = 1000;
/** Firestore bills an aggregation 1 read per up to this many index entries (GCP-FACTS §3). */
export const AGGREGATE_ENTRIES_PER_READ = 1000;
/** Shards per plan page and shard records per merge page (JobStore's PLAN_CHUNK and PAGE). */
export const STATE_PAGE = 500;
/** Orchestrator time before the job record is stamped (validating, listing, planning): not measured. */
const PLANNING_MS = 100;

export interface StepOps {
  reads: number;
  writes: number;
}

/** Firestore operations of a job by step, and in total. */
export interface FirestoreModel extends StepOps {
  orchestrator: StepOps;
  workers: StepOps;
  /** The reducer's per-message check (job, final, count of shard records) for each shard that reported. */
  reducerChecks: StepOps;
  /** The final merge: claim, shard records, attempts sum, final record, job record. */
  merge: StepOps;
}

/** Σ_{i=1..n} ceil(i/1000): the reads of n counts of 1, 2, … n shard records. */
export function countReads(n: number): number {
  const k = AGGREGATE_ENTRIES_PER_READ;
  const q = Math.floor(n / k);
  return (k * q * (q + 1)) / 2 + (n - k * q) * (q + 1);
}

/** Reads of one aggregation over `matched` documents. */
export function aggregateReads(matched: number): number {
  return Math.max(1, Math.ceil(matched / AGGREGATE_ENTRIES_PER_READ));
}

/**
 * Firestore reads and writes of a job, from the state protocol (S shards, P =
 * ceil(S/500) plan pages, R shards reported, D deliveries):
 *
 *   orchestrator  get job (absent) = 1 read; P plan pages merged + job created + marked published = P + 2 writes
 *   workers       per delivery: get shard record (absent) + get attempts after the increment = 2 reads;
 *                 the increment = 1 write; the shard record create() = 1 write (R of them) — a delivery
 *                 that left no record is taken to be a retry after a transient error, whose error note
 *                 is its 2nd write: 2D reads, 2D writes
 *   reducer       per reported shard's message: get job, get final, count() of the shard records,
 *                 which the i-th message sees at i: 2R + Σ ceil(i/1000) reads
 *   merge         claim create() = 1 write; shard records in pages of 500 = S reads (+1 for the empty
 *                 last page when S is a multiple of 500); sum of attempts = ceil(S/1000) reads;
 *                 final record create() + job marked finished = 2 writes
 *
 * Messages handled after the merge (duplicates) and polling the status are not counted.
 */
export function firestoreModel(u: Pick<JobUsage, 'shards' | 'shardsReported' | 'deliveries' | 'merged'>): FirestoreModel {
  const S = u.shards;
  const R = u.shardsReported;
  const D = Math.max(u.deliveries, R);
  const planPages = Math.ceil(S / STATE_PAGE);
  const orchestrator = { reads: 1, writes: planPages + 2 };
  const workers = { reads: 2 * D, writes: 2 * D };
  const reducerChecks = { reads: 2 * R + countReads(R), writes: 0 };
  // paging stops at the first short page, so a multiple of 500 ends with an empty query (billed 1 read)
  const merge = u.merged ? { reads: S + (S % STATE_PAGE === 0 ? 1 : 0) + aggregateReads(S), writes: 3 } : { reads: 0, writes: 0 };
  const steps = [orchestrator, workers, reducerChecks, merge];
  return { orchestrator, workers, reducerChecks, merge, reads: steps.reduce((n, s) => n + s.reads, 0), writes: steps.reduce((n, s) => n + s.writes, 0) };
}

/** Pub/Sub messages: S shard messages and R shard-done messages published; D + R pushed to the functions. */
export function pubsubModel(u: Pick<JobUsage, 'shards' | 'shardsReported' | 'deliveries'>): { publishes: number; pushes: number } {
  const R = u.shardsReported;
  return { publishes: u.shards + R, pushes: Math.max(u.deliveries, R) + R };
}

/**
 * The orchestrator's storage requests for a dataset, from the job record's
 * entries (the preview holds the first 10; the rest are taken to be like
 * them). Without prefixes every file was statted (Class B) and each index file
 * read (Class B). With prefixes the files are taken to come from the listings:
 * one list request (Class A) per prefix and per further 1000 objects.
 */
export function planningStorageOps(job: { datasetPreview: readonly string[]; datasetEntries: number; files: number }): { listRequests: number; metadataReads: number } {
  const preview = job.datasetPreview;
  if (preview.length === 0) return { listRequests: 0, metadataReads: job.files };
  const scale = job.datasetEntries / preview.length;
  const kinds = { prefix: 0, index: 0, object: 0 };
  for (const entry of preview) kinds[classifyEntry(entry)]++;
  const prefixes = Math.round(kinds.prefix * scale);
  const indexes = Math.round(kinds.index * scale);
  if (prefixes === 0) return { listRequests: 0, metadataReads: job.files + indexes };
  return { listRequests: prefixes + Math.floor(job.files / 1000), metadataReads: Math.round(kinds.object * scale) + indexes };
}

// ---------------------------------------------------------------------------
// The report

export interface CostItem {
  item: string;
  quantity: number;
  unit: string;
  unitPriceUsd: number;
  usd: number;
  basis: 'measured' | 'modelled';
}

export interface CostReport {
  currency: 'USD';
  totalUsd: number;
  items: CostItem[];
  assumptions: string[];
}

function roundUpToBilling(ms: number): number {
  return Math.ceil(ms / BILLING_GRANULARITY_MS) * BILLING_GRANULARITY_MS;
}

/** The cost of a job's usage at the model's prices. */
export function estimateCost(usage: JobUsage, model: CostModel = DEFAULT_COST_MODEL): CostReport {
  const p = model.prices;
  const { worker, orchestrator, reducer } = model.instances;
  const concurrency = Math.max(1, usage.workerConcurrency ?? worker.concurrency ?? 1);
  const R = usage.shardsReported;
  const D = Math.max(usage.deliveries, R);
  const unrecorded = D - R;
  const meanShardMs = R > 0 ? usage.workerWallMs / R : 0;
  const instanceSecondPrice = (s: Shape) => s.vcpu * p.vcpuSecond + s.memoryGiB * p.gibSecond;
  const shapeText = (s: Shape) => `${s.vcpu} vCPU, ${s.memoryGiB} GiB`;

  const items: CostItem[] = [];
  const add = (item: string, quantity: number, unit: string, unitPriceUsd: number, basis: CostItem['basis']) => items.push({ item, quantity, unit, unitPriceUsd, usd: quantity * unitPriceUsd, basis });

  // workers: their own timings, shared by `concurrency` shards per instance
  const workerSeconds = usage.workerWallMs / 1000 / concurrency;
  add('worker vCPU time (shard records)', workerSeconds * worker.vcpu, 'vCPU-s', p.vcpuSecond, 'measured');
  add('worker memory time (shard records)', workerSeconds * worker.memoryGiB, 'GiB-s', p.gibSecond, 'measured');
  const otherWorkerSeconds = (D * BILLING_GRANULARITY_MS + unrecorded * meanShardMs) / 1000 / concurrency;
  add('worker time outside the records', otherWorkerSeconds, `instance-s (${shapeText(worker)})`, instanceSecondPrice(worker), 'modelled');
  const orchestratorSeconds = roundUpToBilling(PLANNING_MS + usage.orchestratorMs) / 1000;
  add('orchestrator time', orchestratorSeconds, `instance-s (${shapeText(orchestrator)})`, instanceSecondPrice(orchestrator), 'modelled');
  const reducerSeconds = (R * BILLING_GRANULARITY_MS + (usage.merged ? roundUpToBilling(usage.mergeMs) : 0)) / 1000;
  add('reducer time', reducerSeconds, `instance-s (${shapeText(reducer)})`, instanceSecondPrice(reducer), 'modelled');
  add('function requests', 1 + D + R, 'request', p.millionRequests / 1e6, 'modelled');

  const messages = pubsubModel(usage);
  add('Pub/Sub publishes and pushes', messages.publishes + messages.pushes, 'message', (PUBSUB_MIN_BYTES / 1024 ** 4) * p.pubsubTiB, 'modelled');
  const fs = firestoreModel(usage);
  add('Firestore document reads', fs.reads, 'read', p.firestoreReads100k / 1e5, 'modelled');
  add('Firestore writes', fs.writes, 'write', p.firestoreWrites100k / 1e5, 'modelled');

  add('Storage reads by the workers (Class B)', usage.storageRequests, 'operation', p.storageClassB10k / 1e4, 'measured');
  add('Storage metadata reads, planning (Class B)', usage.metadataReads, 'operation', p.storageClassB10k / 1e4, 'modelled');
  add('Storage listings, planning (Class A)', usage.listRequests, 'operation', p.storageClassA10k / 1e4, 'modelled');
  add('Storage data read', usage.bytesRead / 1024 ** 3, 'GiB', p.egressGiB, 'measured');

  const assumptions = [
    'List prices of the cost model (PHYSLITE_COST_MODEL, see shared/pipeline/cost.ts); free tiers are ignored, so small jobs cost less than shown.',
    `Worker time is the shards' own wall times (open to record)${concurrency > 1 ? `, with ${concurrency} shards sharing an instance` : ', one shard per instance at a time'}; Cloud Run's rounding up to 100 ms and the state calls outside that time are counted as 100 ms per delivery; deliveries that left no record (retries, duplicates, shards still running) at the mean shard time.`,
    'Orchestrator: from the job record to the last publish (its timestamps) plus 100 ms of planning; reducer: 100 ms per shard-done message plus the merge time.',
    'Pub/Sub: every publish and push billed at its 1000-byte minimum (shard messages are smaller unless a URL is long); Eventarc charges, if any, are not included.',
    'Firestore: counted from the state protocol (firestoreModel in cost.ts), each shard-done message handled before the next shard records; a delivery without a record counts as a retry after a transient error. Polling the status is not part of the job and is not counted. Nothing is deleted: removing a job later costs one delete per document (about 2 per shard).',
    'Cloud Storage: the requests the workers counted (each ranged GET or metadata call is one Class B operation); the planning requests are modelled from the dataset entries; data stays in the region (egress price as configured).',
  ];
  if (!usage.merged) assumptions.push('The job has not finished: the figures cover the work so far.');
  return { currency: 'USD', totalUsd: items.reduce((s, i) => s + i.usd, 0), items, assumptions };
}

// ---------------------------------------------------------------------------
// Formatting (status page, CLI, estimate script)

/** Dollars for people: "$0", "$0.000123", "$0.0456", "$12.35", "$1,234". */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  const a = Math.abs(usd);
  if (a >= 1000) return `$${Math.round(usd).toLocaleString('en-US')}`;
  if (a >= 1) return `$${usd.toFixed(2)}`;
  // 3 significant digits, no exponent
  const decimals = Math.min(20, 2 - Math.floor(Math.log10(a)));
  return `$${Number(usd.toFixed(decimals)).toFixed(decimals).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** A quantity: integers with separators, others with 3 significant digits. */
export function formatQuantity(q: number): string {
  if (!Number.isFinite(q)) return '—';
  if (Number.isInteger(q) || Math.abs(q) >= 100) return Math.round(q).toLocaleString('en-US');
  if (q === 0) return '0';
  const decimals = Math.min(20, 2 - Math.floor(Math.log10(Math.abs(q))));
  return Number(q.toFixed(decimals)).toString();
}

/** The most expensive item (the first of equals); undefined for an empty report. */
export function largestItem(report: CostReport): CostItem | undefined {
  return report.items.reduce<CostItem | undefined>((best, i) => (best === undefined || i.usd > best.usd ? i : best), undefined);
}

/** The report as a plain-text table, for terminals. */
export function costReportText(report: CostReport): string {
  const rows = report.items.map((i) => [i.item, formatQuantity(i.quantity), i.unit, formatUsd(i.unitPriceUsd), formatUsd(i.usd), i.basis]);
  const header = ['item', 'quantity', 'unit', 'unit price', 'USD', 'basis'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const right = new Set([1, 3, 4]);
  const line = (r: string[]) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line), `total ${formatUsd(report.totalUsd)} (estimate, ${report.currency})`].join('\n') + '\n';
}
