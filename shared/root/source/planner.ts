// The layer every byte source shares: validate the requested ranges, coalesce
// the ones that are close together into fewer requests, run the requests in
// parallel under the source's concurrency limit, and hand back exactly the
// requested ranges as zero-copy views of the fetched buffers.
//
//   requested ranges ──sort──▶ spans (coalesced, ≤ maxRequestBytes unless one
//   range is bigger) ──split──▶ requests (≤ maxRequestBytes each, written
//   straight into their span's buffer) ──slice──▶ one view per requested range
//
// Duplicate and overlapping ranges land in the same span and are fetched once.

import { setMaxListeners } from 'node:events';
import { RootError } from '../errors';
import type { ByteRange, ByteSource, PlannerOptions, ReadStats } from './types';
import { checkCount, closedError, Semaphore } from './util';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const DEFAULT_MAX_GAP = 64 * KiB;
/** Gap bytes a span may carry per useful byte: at most 1.5× the asked-for bytes are transferred. */
export const DEFAULT_MAX_WASTE_RATIO = 0.5;
export const DEFAULT_MAX_REQUEST_BYTES = 8 * MiB;
export const DEFAULT_MAX_RANGE_BYTES = 512 * MiB;
export const DEFAULT_NETWORK_CONCURRENCY = 16;
export const DEFAULT_LOCAL_CONCURRENCY = 8;

export interface CoalesceOptions {
  /** Largest gap (bytes) between two ranges that are still fetched in one request. */
  maxGap: number;
  /** Largest request built by coalescing; longer spans are split into requests of at most this size. */
  maxRequestBytes: number;
  /**
   * A gap is bridged only while the span's gap bytes stay within this
   * fraction of its useful bytes, so coalescing saves requests without
   * fetching much more than was asked for (small baskets far apart stay
   * separate requests). Default 0.5.
   */
  maxWasteRatio?: number;
}

/** A contiguous run of bytes fetched into one buffer, by one or more requests. */
export interface PlannedSpan extends ByteRange {
  /** The requests that fill this span, in order; they tile it exactly. */
  requests: ByteRange[];
}

export interface ReadPlan {
  spans: PlannedSpan[];
  /** All requests of all spans, in file order. */
  requests: ByteRange[];
  /** For each requested range, the span it is cut from and where in the span it starts; null for an empty range. */
  slices: ({ span: number; start: number } | null)[];
}

/**
 * Plans the requests for a batch of ranges (assumed valid: non-negative safe
 * integers). Ranges are visited in file order; a range joins the current span
 * when the gap to it is at most `maxGap` and either it lies inside the span
 * already or the grown span stays within `maxRequestBytes`. A span longer than
 * `maxRequestBytes` (only possible when one range is) is split into equal
 * requests so a big range is still fetched in parallel.
 */
export function planReads(ranges: readonly ByteRange[], options: CoalesceOptions): ReadPlan {
  const { maxGap, maxRequestBytes } = options;
  const maxWaste = options.maxWasteRatio ?? DEFAULT_MAX_WASTE_RATIO;
  const order: number[] = [];
  for (let i = 0; i < ranges.length; i++) if (ranges[i]!.length > 0) order.push(i);
  // By offset; at equal offsets the longer range first, so the shorter ones are contained.
  order.sort((a, b) => ranges[a]!.offset - ranges[b]!.offset || ranges[b]!.length - ranges[a]!.length);

  const spanBounds: { offset: number; end: number; useful: number; waste: number }[] = [];
  const spanOf = new Int32Array(ranges.length).fill(-1);
  for (const i of order) {
    const r = ranges[i]!;
    const end = r.offset + r.length;
    const cur = spanBounds[spanBounds.length - 1];
    const gap = cur ? Math.max(0, r.offset - cur.end) : 0;
    const added = cur ? Math.max(0, end - Math.max(r.offset, cur.end)) : 0;
    if (cur && (end <= cur.end || (r.offset - cur.end <= maxGap && end - cur.offset <= maxRequestBytes && cur.waste + gap <= maxWaste * (cur.useful + added)))) {
      if (end > cur.end) {
        cur.end = end;
        cur.useful += added;
        cur.waste += gap;
      }
    } else {
      spanBounds.push({ offset: r.offset, end, useful: r.length, waste: 0 });
    }
    spanOf[i] = spanBounds.length - 1;
  }

  const spans: PlannedSpan[] = [];
  const requests: ByteRange[] = [];
  for (const b of spanBounds) {
    const length = b.end - b.offset;
    const pieces = Math.ceil(length / maxRequestBytes);
    const step = Math.ceil(length / pieces);
    const reqs: ByteRange[] = [];
    for (let at = 0; at < length; at += step) reqs.push({ offset: b.offset + at, length: Math.min(step, length - at) });
    spans.push({ offset: b.offset, length, requests: reqs });
    requests.push(...reqs);
  }
  const slices = ranges.map((r, i) => (spanOf[i]! < 0 ? null : { span: spanOf[i]!, start: r.offset - spanBounds[spanOf[i]!]!.offset }));
  return { spans, requests, slices };
}

export interface ResolvedPlannerOptions extends CoalesceOptions {
  concurrency: number;
  maxRangeBytes: number;
}

export function resolvePlannerOptions(options: PlannerOptions, defaults: { concurrency: number }): ResolvedPlannerOptions {
  if (options.maxGap !== undefined && !Number.isSafeInteger(options.maxGap)) throw new RootError('BAD_ARGUMENT', `option maxGap must be an integer, got ${options.maxGap}`);
  if (options.maxWasteRatio !== undefined && !(options.maxWasteRatio >= 0)) throw new RootError('BAD_ARGUMENT', `option maxWasteRatio must be a non-negative number, got ${options.maxWasteRatio}`);
  return {
    maxGap: options.maxGap ?? DEFAULT_MAX_GAP,
    maxWasteRatio: options.maxWasteRatio ?? DEFAULT_MAX_WASTE_RATIO,
    maxRequestBytes: checkCount('maxRequestBytes', options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES, 1),
    concurrency: checkCount('concurrency', options.concurrency, defaults.concurrency, 1),
    maxRangeBytes: checkCount('maxRangeBytes', options.maxRangeBytes, DEFAULT_MAX_RANGE_BYTES, 1),
  };
}

/**
 * Checks the shape of requested ranges (BAD_ARGUMENT), their length against
 * the per-range bound (LIMIT) and, when the size is known, that they end inside
 * the object (TRUNCATED).
 */
export function validateRanges(ranges: readonly ByteRange[], name: string, maxRangeBytes: number, size: number | undefined): void {
  if (!Array.isArray(ranges)) throw new RootError('BAD_ARGUMENT', 'read() expects an array of byte ranges', { file: name });
  for (const r of ranges) {
    const offset = r?.offset;
    const length = r?.length;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || !Number.isSafeInteger(offset + length)) {
      throw new RootError('BAD_ARGUMENT', `invalid byte range ${String(offset)}+${String(length)}`, { file: name });
    }
    if (length > maxRangeBytes) {
      throw new RootError('LIMIT', `range of ${length} bytes at ${offset} is over the ${maxRangeBytes}-byte limit of one read`, { file: name, offset });
    }
    if (size !== undefined && offset + length > size) {
      throw new RootError('TRUNCATED', `range ${offset}+${length} runs past the end of the ${size}-byte object`, { file: name, offset });
    }
  }
}

/** Cuts the requested ranges out of the span buffers (views, no copies). */
export function sliceResults(ranges: readonly ByteRange[], plan: ReadPlan, buffers: readonly Uint8Array[]): Uint8Array[] {
  return ranges.map((r, i) => {
    const s = plan.slices[i];
    return s ? buffers[s.span]!.subarray(s.start, s.start + r.length) : new Uint8Array(0);
  });
}

/**
 * An AbortController whose signal may have many listeners: every request in
 * flight (up to the concurrency limit, 16 by default) listens to it, which is
 * by design, not the leak Node's default limit of 10 warns about.
 */
function unboundedController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

export function emptyStats(): ReadStats {
  return { requests: 0, bytes: 0, ranges: 0, retries: 0 };
}

/**
 * Base class of the sources that fetch bytes into buffers (local files, HTTP,
 * Cloud Storage). A subclass supplies `fetchSize()` and `fetchInto()`; this
 * class validates, plans, allocates, runs the requests, slices the results,
 * caches the size and handles close().
 */
export abstract class PlannedSource implements ByteSource {
  readonly stats: ReadStats = emptyStats();
  readonly options: ResolvedPlannerOptions;
  /** Limits the requests in flight across every read() on this source. */
  protected readonly limiter: Semaphore;
  /** Aborted by close(). */
  protected readonly closeController = unboundedController();
  /** Set once the size is known (from fetchSize() or learnt from a response). */
  protected knownSize: number | undefined;
  /** When false, read() does not look up the size first; fetchInto() must detect a range past the end. */
  protected sizeNeededForRead = true;
  private sizePromise: Promise<number> | undefined;

  constructor(readonly name: string, options: PlannerOptions, defaults: { concurrency: number }) {
    this.options = resolvePlannerOptions(options, defaults);
    this.limiter = new Semaphore(this.options.concurrency);
  }

  get closed(): boolean {
    return this.closeController.signal.aborted;
  }

  /** The object size in bytes, looked up once. A failed lookup is not cached. */
  size(): Promise<number> {
    if (this.closed) return Promise.reject(closedError(this.name));
    if (this.knownSize !== undefined) return Promise.resolve(this.knownSize);
    if (!this.sizePromise) {
      this.sizePromise = this.fetchSize().then(
        (n) => {
          this.knownSize ??= n;
          return this.knownSize;
        },
        (e) => {
          this.sizePromise = undefined;
          throw e;
        },
      );
    }
    return this.sizePromise;
  }

  /** Looks up the object size (one request). */
  protected abstract fetchSize(): Promise<number>;

  /**
   * Fills `dest` with the bytes at [offset, offset + dest.length). Runs under
   * no slot of the limiter: the implementation takes one per attempt (so a
   * backoff sleep does not hold a slot), through `this.limiter`. Must stop
   * promptly when `signal` aborts.
   */
  protected abstract fetchInto(offset: number, dest: Uint8Array, signal: AbortSignal): Promise<void>;

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    if (this.closed) throw closedError(this.name);
    validateRanges(ranges, this.name, this.options.maxRangeBytes, this.knownSize);
    this.stats.ranges += ranges.length;
    if (this.knownSize === undefined && this.sizeNeededForRead && ranges.some((r) => r.length > 0)) {
      validateRanges(ranges, this.name, this.options.maxRangeBytes, await this.size());
    }
    const plan = planReads(ranges, this.options);
    const buffers = plan.spans.map((s) => new Uint8Array(s.length));
    const jobs: { offset: number; dest: Uint8Array }[] = [];
    plan.spans.forEach((s, i) => {
      for (const q of s.requests) jobs.push({ offset: q.offset, dest: buffers[i]!.subarray(q.offset - s.offset, q.offset - s.offset + q.length) });
    });
    if (jobs.length === 1) {
      await this.fetchInto(jobs[0]!.offset, jobs[0]!.dest, this.closeController.signal);
    } else if (jobs.length > 1) {
      await this.runAll(jobs);
    }
    return sliceResults(ranges, plan, buffers);
  }

  /** Runs the jobs; on the first failure aborts the others, waits for them to stop, and throws that failure. */
  private async runAll(jobs: { offset: number; dest: Uint8Array }[]): Promise<void> {
    const controller = unboundedController();
    const onClose = () => controller.abort(this.closeController.signal.reason);
    this.closeController.signal.addEventListener('abort', onClose, { once: true });
    let failure: { error: unknown } | undefined;
    try {
      await Promise.all(
        jobs.map((j) =>
          this.fetchInto(j.offset, j.dest, controller.signal).catch((e: unknown) => {
            if (!failure) {
              failure = { error: e };
              controller.abort(e);
            }
          }),
        ),
      );
    } finally {
      this.closeController.signal.removeEventListener('abort', onClose);
    }
    if (failure) throw failure.error;
  }

  async close(): Promise<void> {
    if (!this.closed) this.closeController.abort(closedError(this.name));
    await this.release();
  }

  /** Frees resources after close() (file handles). */
  protected async release(): Promise<void> {}

  /** Runs one attempt of a request under a slot of the concurrency limit, unless the read was aborted meanwhile. */
  protected async withSlot<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    await this.limiter.acquire();
    try {
      if (signal.aborted) throw signal.reason instanceof RootError ? signal.reason : closedError(this.name);
      return await fn();
    } finally {
      this.limiter.release();
    }
  }
}
