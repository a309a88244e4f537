// Fault injection for local runs: an ObjectStore whose byte sources fail
// transiently now and then, or end the worker thread in the middle of a shard,
// so the retry, redelivery and idempotency paths get exercised on one machine.

import type { ObjectInfo, ObjectStore } from '../ports';
import type { ByteRange, ByteSource } from '../../root/source/types';
import { RootError } from '../../root/errors';

export interface ChaosOptions {
  /** Probability per read() of process.exit(CHAOS_EXIT_CODE): in a worker thread, ends only that thread. */
  crashRate?: number;
  /** Probability per read() of a transient SOURCE_UNAVAILABLE error. */
  transientReadRate?: number;
  /** Base seed; each thread uses seed + its thread number. Default 0. */
  seed?: number;
}

/** Exit code of an injected crash (EX_SOFTWARE). */
export const CHAOS_EXIT_CODE = 70;

export function chaosEnabled(chaos: ChaosOptions | undefined): boolean {
  return !!chaos && ((chaos.crashRate ?? 0) > 0 || (chaos.transientReadRate ?? 0) > 0);
}

/** A small deterministic PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `inner`, with faults injected into the sources open() returns. Listing,
 * stat and readText pass through untouched. Call it only in a worker thread
 * when crashRate > 0: in the main thread process.exit ends the whole process.
 */
export function chaosObjectStore(inner: ObjectStore, chaos: ChaosOptions, random: () => number): ObjectStore {
  const crashRate = chaos.crashRate ?? 0;
  const transientReadRate = chaos.transientReadRate ?? 0;
  return {
    list: (prefix, limit) => inner.list(prefix, limit),
    stat: (url) => inner.stat(url),
    readText: (url, maxBytes) => inner.readText(url, maxBytes),
    async open(url: string, info?: ObjectInfo): Promise<ByteSource> {
      const source = await inner.open(url, info);
      return {
        name: source.name,
        get stats() {
          return source.stats;
        },
        size: () => source.size(),
        close: () => source.close(),
        async read(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
          // Both draws are made on every read, so one rate does not shift the other's sequence.
          const crash = random() < crashRate;
          const fail = random() < transientReadRate;
          if (crash) process.exit(CHAOS_EXIT_CODE);
          if (fail) throw new RootError('SOURCE_UNAVAILABLE', 'injected transient read error (chaos)', { file: source.name });
          return source.read(ranges);
        },
      };
    },
  };
}
