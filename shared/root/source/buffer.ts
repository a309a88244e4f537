// A file held in memory, read through the same interface as the real sources
// (benchmarks, fuzz tests, files already downloaded). Reads are views into the
// given bytes, no copies. The planner still runs, so `stats` tells how many
// requests the same reads would cost from a remote source with these options.

import { RootError } from '../errors';
import { emptyStats, planReads, resolvePlannerOptions, validateRanges, type ResolvedPlannerOptions } from './planner';
import type { ByteRange, ByteSource, PlannerOptions, ReadStats } from './types';
import { closedError } from './util';

export class BufferSource implements ByteSource {
  readonly stats: ReadStats = emptyStats();
  readonly options: ResolvedPlannerOptions;
  private bytes: Uint8Array | undefined;

  constructor(bytes: Uint8Array | ArrayBuffer, readonly name = 'memory', options: PlannerOptions = {}) {
    if (bytes instanceof ArrayBuffer) this.bytes = new Uint8Array(bytes);
    else if (bytes instanceof Uint8Array) this.bytes = bytes;
    else throw new RootError('BAD_ARGUMENT', 'BufferSource expects a Uint8Array or ArrayBuffer', { file: name });
    this.options = resolvePlannerOptions(options, { concurrency: 1 });
  }

  size(): Promise<number> {
    return this.bytes ? Promise.resolve(this.bytes.length) : Promise.reject(closedError(this.name));
  }

  async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const bytes = this.bytes;
    if (!bytes) throw closedError(this.name);
    validateRanges(ranges, this.name, this.options.maxRangeBytes, bytes.length);
    this.stats.ranges += ranges.length;
    const plan = planReads(ranges, this.options);
    this.stats.requests += plan.requests.length;
    for (const q of plan.requests) this.stats.bytes += q.length;
    // Plain Uint8Array views even when given a Buffer, so callers never meet Buffer's view-returning slice().
    return ranges.map((r) => new Uint8Array(bytes.buffer, bytes.byteOffset + r.offset, r.length));
  }

  async close(): Promise<void> {
    this.bytes = undefined;
  }
}
