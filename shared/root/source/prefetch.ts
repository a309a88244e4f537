// A byte source that fetches ahead on a schedule: the chunked reader tells it
// which units of ranges (from read-strategy.ts) it will need, and before each
// chunk which unit it is on; the source then holds that unit and fetches the
// next `readAhead` units while the current one is decoded. A read of ranges
// inside the held unit is served from its buffers (no request); any other
// read, and every read without a schedule, goes to the inner source as is, so
// a wrong or stale schedule costs requests, never correctness.

import type { ByteRange, ByteSource, ReadStats } from './types';
import type { PrefetchUnit } from './read-strategy';

interface Piece {
  offset: number;
  end: number;
  bytes: Uint8Array;
}

type Fetched = { ok: true; pieces: Piece[] } | { ok: false; error: unknown };

export class PrefetchSource implements ByteSource {
  private units: readonly PrefetchUnit[] = [];
  private readAhead = 0;
  private current = -1;
  /** Unit index → its fetch (settled, never rejecting: failures are kept as values). */
  private fetches = new Map<number, Promise<Fetched>>();
  /** Reads served from prefetched buffers, and those passed through. */
  readonly prefetchStats = { served: 0, passedThrough: 0 };

  constructor(readonly inner: ByteSource) {}

  get name(): string {
    return this.inner.name;
  }

  get stats(): ReadStats {
    return this.inner.stats;
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  /** Installs a schedule (replacing any earlier one and dropping what it held). */
  schedule(units: readonly PrefetchUnit[], readAhead: number): void {
    this.clear();
    this.units = units;
    this.readAhead = Math.max(0, Math.floor(readAhead));
  }

  /** Drops the schedule and its buffers; reads pass through again. */
  clear(): void {
    this.units = [];
    this.fetches.clear();
    this.current = -1;
  }

  /** Before reading from unit `u`: drops the units before it, starts it and the next `readAhead`. */
  advance(u: number): void {
    if (u < 0 || u >= this.units.length) return;
    for (const k of [...this.fetches.keys()]) if (k < u) this.fetches.delete(k);
    this.current = u;
    for (let k = u; k <= Math.min(this.units.length - 1, u + this.readAhead); k++) {
      if (!this.fetches.has(k)) this.fetches.set(k, this.fetch(this.units[k]!));
    }
  }

  private async fetch(unit: PrefetchUnit): Promise<Fetched> {
    try {
      const ranges = unit.ranges.filter((r) => r.length > 0);
      let buffers: Uint8Array[];
      if (unit.coalesced) buffers = await this.inner.read(ranges);
      else buffers = (await Promise.all(ranges.map((r) => this.inner.read([r])))).map((b) => b[0]!);
      const pieces = ranges.map((r, i) => ({ offset: r.offset, end: r.offset + r.length, bytes: buffers[i]! }));
      pieces.sort((a, b) => a.offset - b.offset || b.end - a.end);
      return { ok: true, pieces };
    } catch (error) {
      return { ok: false, error };
    }
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const pending = this.fetches.get(this.current);
    if (!pending) return this.passThrough(ranges);
    const fetched = await pending;
    // a failed prefetch is retried by the reader's own read, which then reports the error in its own terms
    if (!fetched.ok) return this.passThrough(ranges);
    const out: (Uint8Array | null)[] = ranges.map((r) => (r.length === 0 ? new Uint8Array(0) : find(fetched.pieces, r)));
    const missing: number[] = [];
    out.forEach((b, i) => b === null && missing.push(i));
    if (missing.length === 0) {
      this.prefetchStats.served++;
      return out as Uint8Array[];
    }
    const rest = await this.passThrough(missing.map((i) => ranges[i]!));
    missing.forEach((i, k) => (out[i] = rest[k]!));
    return out as Uint8Array[];
  }

  private passThrough(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    this.prefetchStats.passedThrough++;
    return this.inner.read(ranges);
  }

  async close(): Promise<void> {
    this.clear();
    await this.inner.close();
  }
}

/** The bytes of `r` from a piece that contains it (pieces sorted by offset), or null. */
function find(pieces: readonly Piece[], r: ByteRange): Uint8Array | null {
  if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) return null;
  let lo = 0;
  let hi = pieces.length - 1;
  let at = -1; // last piece starting at or before r.offset
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pieces[mid]!.offset <= r.offset) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const end = r.offset + r.length;
  // overlapping pieces (duplicate ranges) are few: look back a little for one that contains r
  for (let k = at; k >= 0 && k > at - 8; k--) {
    const p = pieces[k]!;
    if (p.end >= end) return p.bytes.subarray(r.offset - p.offset, end - p.offset);
  }
  // a range across the boundary of two pieces of a span: copied together from the adjacent pieces
  if (at < 0 || pieces[at]!.end <= r.offset) return null;
  let covered = pieces[at]!.end;
  let k = at + 1;
  while (covered < end && k < pieces.length && pieces[k]!.offset === covered) covered = pieces[k++]!.end;
  if (covered < end) return null;
  const out = new Uint8Array(r.length);
  for (let j = at, pos = r.offset; pos < end; j++) {
    const p = pieces[j]!;
    const stop = Math.min(end, p.end);
    out.set(p.bytes.subarray(pos - p.offset, stop - p.offset), pos - r.offset);
    pos = stop;
  }
  return out;
}
