// How a shard's baskets are fetched: a cost model that chooses, per file (or
// part of a file), between three read plans, priced in dollars.
//
//   ranges    each chunk's wanted baskets, coalesced by the source's planner
//             (fewest bytes, most requests: ~16 per cluster on PHYSLITE)
//   clusters  one span per chunk, from its first wanted basket to its last
//             (the other branches' baskets in between come along)
//   spans     consecutive chunks joined into spans of up to `bufferBytes /
//             (1 + readAhead)`, each fetched in pieces of at most the source's
//             request size (one request per piece), decoded chunk by chunk
//             while the next spans arrive
//
// Every plan reads ahead (`readAhead` units in flight while one is decoded),
// so transfer and decoding overlap and the wall time is about
// max(transfer, decode) plus the first unit's arrival. The price is Cloud
// Storage's per-request price (Class B) plus the instance's price per second
// of that wall time; a plan whose buffered units would exceed `bufferBytes`
// is not eligible. The model is pure arithmetic over the byte ranges, so
// tests can assert its choice on hand-made layouts.

import { planReads, MiB, type CoalesceOptions } from './planner';
import type { ByteRange } from './types';

export type ReadPlanKind = 'ranges' | 'clusters' | 'spans';

/** What the reader will ask for: per chunk (in read order), the byte ranges of the baskets it needs. */
export interface ShardLayout {
  chunks: readonly (readonly ByteRange[])[];
}

/** Where the bytes come from and what time and requests cost. */
export interface ReadEnvironment {
  /** Time from sending a request to its first byte, ms. */
  firstByteMs: number;
  /** Bandwidth of one connection, bytes/s. */
  connectionBytesPerSecond: number;
  /** Requests in flight at once (the source's concurrency). */
  concurrency: number;
  /** Wanted (compressed) basket bytes decoded and analysed per second on one core. */
  decodeBytesPerSecond: number;
  /**
   * Bytes per second of CPU the same core spends taking in response bodies
   * (HTTP parsing, copies): every transferred byte, wanted or not, costs this
   * on the decoding thread, so a span's extra bytes are not free even when the
   * network is fast.
   */
  receiveBytesPerSecond: number;
  /** USD per request (Cloud Storage Class B: $0.004 / 10,000). */
  requestUsd: number;
  /** USD per second of the instance (vCPU + memory). */
  instanceUsdPerSecond: number;
  /** Largest bytes fetched and not yet decoded (held units plus those in flight). */
  bufferBytes: number;
  /** Units fetched ahead of the one being decoded. */
  readAhead: number;
  /** The source's largest single request; spans are fetched in pieces of at most this. */
  maxRequestBytes: number;
  /** The source's coalescing of the ranges plan. */
  coalesce: CoalesceOptions;
}

/** One unit of prefetching: the ranges fetched together, each range one request, for chunks [firstChunk, lastChunk]. */
export interface PrefetchUnit {
  firstChunk: number;
  lastChunk: number;
  /** For 'ranges': the wanted ranges (the source coalesces them); otherwise the pieces of a span, one request each. */
  ranges: ByteRange[];
  /** Whether `ranges` are passed to the source in one read (coalesced by it) or one read per piece. */
  coalesced: boolean;
}

export interface PlanEstimate {
  kind: ReadPlanKind;
  /** For 'spans': the piece size, bytes. */
  pieceBytes?: number;
  units: PrefetchUnit[];
  requests: number;
  /** Bytes transferred (gaps included). */
  bytes: number;
  /** Bytes of the wanted baskets (the same for every plan). */
  wantedBytes: number;
  /** Largest unit, bytes; (1 + readAhead) of them are buffered at most. */
  largestUnitBytes: number;
  transferSeconds: number;
  /** CPU seconds of the decoding core: decoding the wanted bytes plus taking in all transferred bytes. */
  decodeSeconds: number;
  wallSeconds: number;
  requestUsd: number;
  instanceUsd: number;
  usd: number;
  /** False when (1 + readAhead) × largest unit exceeds bufferBytes. */
  fits: boolean;
}

export interface ReadChoice {
  chosen: PlanEstimate;
  /** Every plan considered, the chosen one included, cheapest first. */
  alternatives: PlanEstimate[];
}

// --- Defaults -----------------------------------------------------------------

/**
 * A Cloud-Storage-shaped network, from published figures (see
 * scripts/lib/shaped-server.ts for the sources): in-region ranged reads reach
 * their first byte in ~17-21 ms under load (gcsfuse docs/benchmarks.md, VM and
 * bucket in us-west1), 30 ms is taken; one connection streams ~57-175 MiB/s
 * (gcsfuse sequential-read benchmarks, commits babd421 and d4bbf69), 100 MiB/s
 * is taken.
 */
export const GCS_FIRST_BYTE_MS = 30;
export const GCS_CONNECTION_BYTES_PER_SECOND = 100 * MiB;
/**
 * Wanted (compressed) basket bytes the reference analysis gets through per
 * second on one core, ZSTD-5 production-shaped files: the figure
 * `npm run bench:scale` measures ("MB/s of wanted baskets"; 8.3 MB/s median
 * of 3 trials on a 1 GB synthetic file with the WASM zstd decoder, a shared
 * 2-core machine at load ~12, 2026-12-02); a job can pass its own.
 */
export const DEFAULT_DECODE_BYTES_PER_SECOND = 8.3e6;
/**
 * Response bytes one core takes in per CPU-second through HttpSource:
 * `npm run bench:scale` measures it (the CPU time of a child that only fetches
 * the chosen plan's bytes): 192 MB per CPU-s on the shared machine, 2026-12-02.
 */
export const DEFAULT_RECEIVE_BYTES_PER_SECOND = 192e6;
/** Class B: $0.004 per 10,000 (GCP-FACTS §7). */
export const GCS_REQUEST_USD = 0.004 / 10_000;
/** 1 vCPU + 2 GiB at Cloud Run tier-1 request-based prices (cost.ts DEFAULT_COST_MODEL). */
export const DEFAULT_INSTANCE_USD_PER_SECOND = 0.000024 + 2 * 0.0000025;
export const DEFAULT_BUFFER_BYTES = 128 * MiB;
export const DEFAULT_READ_AHEAD = 1;

/** The environment of a remote, Cloud-Storage-shaped source; fields given override the defaults. */
export function networkEnvironment(over: Partial<ReadEnvironment> = {}): ReadEnvironment {
  return {
    firstByteMs: GCS_FIRST_BYTE_MS,
    connectionBytesPerSecond: GCS_CONNECTION_BYTES_PER_SECOND,
    concurrency: 16,
    decodeBytesPerSecond: DEFAULT_DECODE_BYTES_PER_SECOND,
    receiveBytesPerSecond: DEFAULT_RECEIVE_BYTES_PER_SECOND,
    requestUsd: GCS_REQUEST_USD,
    instanceUsdPerSecond: DEFAULT_INSTANCE_USD_PER_SECOND,
    bufferBytes: DEFAULT_BUFFER_BYTES,
    readAhead: DEFAULT_READ_AHEAD,
    maxRequestBytes: 8 * MiB,
    coalesce: { maxGap: 64 * 1024, maxRequestBytes: 8 * MiB, maxWasteRatio: 0.5 },
    ...over,
  };
}

/** A local disk or memory: requests cost nothing and arrive at once, so reading only what is wanted wins. */
export function localEnvironment(over: Partial<ReadEnvironment> = {}): ReadEnvironment {
  return networkEnvironment({ firstByteMs: 0.05, connectionBytesPerSecond: 2000 * MiB, receiveBytesPerSecond: 4000e6, requestUsd: 0, concurrency: 8, ...over });
}

// --- The model ----------------------------------------------------------------

function rangeEnd(r: ByteRange): number {
  return r.offset + r.length;
}

/** Distinct bytes of the wanted ranges (overlaps counted once), over all chunks. */
function wantedBytesOf(layout: ShardLayout): number {
  const all = layout.chunks.flat().filter((r) => r.length > 0);
  all.sort((a, b) => a.offset - b.offset);
  let total = 0;
  let end = -1;
  for (const r of all) {
    const e = rangeEnd(r);
    if (e <= end) continue;
    total += e - Math.max(r.offset, end);
    end = e;
  }
  return total;
}

/** The smallest range covering a chunk's wanted ranges; null for a chunk that needs nothing. */
function extent(ranges: readonly ByteRange[]): ByteRange | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of ranges) {
    if (r.length <= 0) continue;
    lo = Math.min(lo, r.offset);
    hi = Math.max(hi, rangeEnd(r));
  }
  return lo < hi ? { offset: lo, length: hi - lo } : null;
}

/** Splits a span into equal pieces of at most `pieceBytes`. */
function pieces(span: ByteRange, pieceBytes: number): ByteRange[] {
  const n = Math.max(1, Math.ceil(span.length / pieceBytes));
  const step = Math.ceil(span.length / n);
  const out: ByteRange[] = [];
  for (let at = 0; at < span.length; at += step) out.push({ offset: span.offset + at, length: Math.min(step, span.length - at) });
  return out;
}

/** The prefetch units of a plan. */
export function planUnits(kind: ReadPlanKind, layout: ShardLayout, env: ReadEnvironment, pieceBytes = env.maxRequestBytes): PrefetchUnit[] {
  const units: PrefetchUnit[] = [];
  const n = layout.chunks.length;
  if (kind === 'ranges') {
    for (let i = 0; i < n; i++) units.push({ firstChunk: i, lastChunk: i, ranges: layout.chunks[i]!.filter((r) => r.length > 0), coalesced: true });
    return units;
  }
  if (kind === 'clusters') {
    for (let i = 0; i < n; i++) {
      const e = extent(layout.chunks[i]!);
      units.push({ firstChunk: i, lastChunk: i, ranges: e ? pieces(e, env.maxRequestBytes) : [], coalesced: false });
    }
    return units;
  }
  // spans: join chunks while the span stays within the buffer's share; a span only grows forward
  const spanLimit = Math.max(1, Math.floor(env.bufferBytes / (1 + env.readAhead)));
  let first = 0;
  let cur: ByteRange | null = null;
  const flush = (last: number) => {
    units.push({ firstChunk: first, lastChunk: last, ranges: cur ? pieces(cur, Math.min(pieceBytes, env.maxRequestBytes)) : [], coalesced: false });
  };
  for (let i = 0; i < n; i++) {
    const e = extent(layout.chunks[i]!);
    if (!e) continue; // a chunk that needs nothing rides along with its neighbours
    if (!cur) {
      cur = e;
      continue;
    }
    const lo = Math.min(cur.offset, e.offset);
    const hi = Math.max(rangeEnd(cur), rangeEnd(e));
    if (e.offset < cur.offset || hi - lo > spanLimit) {
      flush(i - 1);
      first = i;
      cur = e;
    } else cur = { offset: lo, length: hi - lo };
  }
  if (n > 0) flush(n - 1);
  return units;
}

/** Requests and bytes of a unit: a coalesced unit as the source's planner would fetch it, pieces one request each. */
function unitCost(u: PrefetchUnit, env: ReadEnvironment): { requests: number; bytes: number } {
  if (!u.coalesced) return { requests: u.ranges.length, bytes: u.ranges.reduce((s, r) => s + r.length, 0) };
  const plan = planReads(u.ranges, env.coalesce);
  return { requests: plan.requests.length, bytes: plan.requests.reduce((s, r) => s + r.length, 0) };
}

/** Prices one plan. */
export function estimatePlan(kind: ReadPlanKind, layout: ShardLayout, env: ReadEnvironment, pieceBytes?: number): PlanEstimate {
  const units = planUnits(kind, layout, env, pieceBytes);
  let requests = 0;
  let bytes = 0;
  let largest = 0;
  let first = { requests: 0, bytes: 0 };
  for (const u of units) {
    const c = unitCost(u, env);
    if (requests === 0 && c.requests > 0) first = c;
    requests += c.requests;
    bytes += c.bytes;
    largest = Math.max(largest, c.bytes);
  }
  const wantedBytes = wantedBytesOf(layout);
  const latency = env.firstByteMs / 1000;
  const bw = env.connectionBytesPerSecond;
  // connections busy at once: a unit's requests, times the units in flight, within the source's limit
  const perUnit = units.length > 0 ? requests / units.length : 0;
  const parallel = Math.max(1, Math.min(env.concurrency, perUnit * (1 + env.readAhead)));
  const transferSeconds = (requests * latency + bytes / bw) / parallel;
  // the decoding core also takes in every transferred byte
  const decodeSeconds = wantedBytes / env.decodeBytesPerSecond + bytes / env.receiveBytesPerSecond;
  // the pipeline fills with the first unit; after that the slower side sets the pace
  const fill = first.requests > 0 ? latency + first.bytes / (bw * Math.min(env.concurrency, first.requests)) : 0;
  const wallSeconds = Math.max(transferSeconds, decodeSeconds) + fill;
  const requestUsd = requests * env.requestUsd;
  const instanceUsd = wallSeconds * env.instanceUsdPerSecond;
  return {
    kind,
    ...(kind === 'spans' ? { pieceBytes: Math.min(pieceBytes ?? env.maxRequestBytes, env.maxRequestBytes) } : {}),
    units,
    requests,
    bytes,
    wantedBytes,
    largestUnitBytes: largest,
    transferSeconds,
    decodeSeconds,
    wallSeconds,
    requestUsd,
    instanceUsd,
    usd: requestUsd + instanceUsd,
    fits: (1 + env.readAhead) * largest <= env.bufferBytes,
  };
}

/**
 * Prices every plan (spans with pieces of the whole request size and of
 * 1/2, 1/4, 1/8 of it, so a slow link can buy parallel connections with
 * requests) and picks the cheapest that fits the buffer; 'ranges' when none
 * fits (its units are one chunk's wanted baskets, which the reader needs anyway).
 */
export function chooseReadPlan(layout: ShardLayout, env: ReadEnvironment): ReadChoice {
  const all: PlanEstimate[] = [estimatePlan('ranges', layout, env), estimatePlan('clusters', layout, env)];
  const seen = new Set<number>();
  for (const div of [1, 2, 4, 8]) {
    const piece = Math.max(MiB, Math.floor(env.maxRequestBytes / div));
    if (seen.has(piece)) continue;
    seen.add(piece);
    all.push(estimatePlan('spans', layout, env, piece));
  }
  all.sort((a, b) => a.usd - b.usd || a.requests - b.requests);
  const chosen = all.find((p) => p.fits) ?? all.find((p) => p.kind === 'ranges')!;
  return { chosen, alternatives: all };
}

/** A one-line summary of a plan: "spans (8 MiB pieces): 12 requests, 96.0 MB, 4.1 s, $0.000123". */
export function describePlan(p: PlanEstimate): string {
  const piece = p.pieceBytes !== undefined ? ` (${(p.pieceBytes / MiB).toFixed(0)} MiB pieces)` : '';
  return `${p.kind}${piece}: ${p.requests} requests, ${(p.bytes / 1e6).toFixed(1)} MB, ${p.wallSeconds.toFixed(2)} s, $${p.usd.toPrecision(3)}${p.fits ? '' : ' (over the buffer)'}`;
}
