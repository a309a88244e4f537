// The one small interface through which the decoder reads a file's bytes.
//
// A ByteSource is given a batch of byte ranges and returns one buffer per
// range, in order, each exactly as long as asked. How the bytes are fetched
// (positional reads of a local file, HTTP range requests, Cloud Storage media
// downloads, a buffer in memory) is the source's business; all of them share
// the planner in ./planner.ts, which coalesces nearby ranges into fewer
// requests and runs those requests in parallel under a concurrency limit.

/** A contiguous run of bytes: `length` bytes starting at absolute `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Cumulative cost of the reads made through a source. */
export interface ReadStats {
  /** Requests issued: HTTP requests (HEAD, GET, retries included), metadata calls, positional reads. */
  requests: number;
  /** Payload bytes transferred (received from the network or read from disk), gaps of coalesced requests included. */
  bytes: number;
  /** Ranges asked for by callers of read(). */
  ranges: number;
  /** Requests repeated after a transient failure (also counted in `requests`). */
  retries: number;
}

export interface ByteSource {
  /** What to call the source in messages: a path or a URL without query string or user info. */
  readonly name: string;
  /** Object size in bytes (looked up once, then cached). */
  size(): Promise<number>;
  /**
   * Reads the ranges. Resolves to one buffer per requested range, in the order
   * asked, each exactly `length` bytes. Buffers may be views into a larger
   * buffer shared with other ranges of the same call: do not write to them.
   * Rejects with a RootError.
   */
  read(ranges: readonly ByteRange[]): Promise<Uint8Array[]>;
  /** Cumulative counters; callers snapshot them before and after a read to see what it cost. */
  readonly stats: ReadStats;
  /** Releases file handles and aborts requests still in flight. Idempotent. */
  close(): Promise<void>;
}

/** How requested ranges become requests. Every field has a per-source default. */
export interface PlannerOptions {
  /** Ranges whose gap is at most this many bytes are fetched in one request. Default 64 KiB (0 disables coalescing of disjoint ranges). */
  maxGap?: number;
  /** Gap bytes a coalesced request may carry per useful byte. Default 0.5 (at most 1.5× the asked-for bytes). */
  maxWasteRatio?: number;
  /** Coalescing never builds a request larger than this; a single range larger than it is split into parallel requests. Default 8 MiB. */
  maxRequestBytes?: number;
  /** Requests in flight at once, across all concurrent read() calls on the source. Default 16 for HTTP and GCS, 8 for local files. */
  concurrency?: number;
  /** A single requested range longer than this is rejected with LIMIT. Default 512 MiB. */
  maxRangeBytes?: number;
}

/** Deadlines and retries of the network sources. */
export interface NetworkOptions extends PlannerOptions {
  /** Deadline of one request, from sending it to the last body byte, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Repeats of a request after a transient failure (5xx, 429, connection error, timeout). Default 2. */
  retries?: number;
  /** First backoff delay in ms; doubles with every retry, with jitter. Default 200. */
  retryBaseMs?: number;
  /** Largest backoff delay in ms (also caps a server's Retry-After). Default 5 000. */
  retryMaxMs?: number;
  /** The object's size if already known (for example from a bucket listing): saves the size request. */
  size?: number;
}
