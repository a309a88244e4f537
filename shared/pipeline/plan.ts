// Job planning: dataset entries → objects with sizes → shards.
//
// The orchestrator never opens a ROOT file. It learns sizes from listings
// (gs:// prefixes) or metadata requests (explicit objects, made in parallel),
// and splits a file bigger than the shard size into `parts` by size alone.
// The worker that opens the file maps "part k of n" to a cluster-aligned entry
// range (partEntryRange), the same way every time, so the parts of a file
// cover each entry exactly once whatever worker runs them.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RootError } from '../root/errors';
import { displayName } from '../root/source/url-policy';
import { scrubMessage } from '../root/source/util';
import type { PipelineConfig } from './config';
import { MAX_ENTRY_CHARS, RequestError } from './request';
import type { ObjectInfo, ObjectStore } from './ports';
import { isRootObjectName } from './object-names';

export interface PlannedShard {
  url: string;
  size?: number;
  generation?: string;
  part: number;
  parts: number;
}

export interface ExpandedDataset {
  objects: ObjectInfo[];
  /** Objects named more than once (by overlapping prefixes, or twice in a list): read once. */
  duplicates: number;
}

const INDEX_FILE = /\.(txt|list|lst)$/i;

function baseName(url: string): string {
  const noQuery = /^https?:/i.test(url) ? url.replace(/[?#].*$/s, '') : url;
  return noQuery.replace(/\/+$/, '').split('/').pop() ?? '';
}

/** What one dataset entry names: a text file of URLs, one ROOT object, or a prefix to list. */
export function classifyEntry(entry: string): 'index' | 'object' | 'prefix' {
  if (entry.endsWith('/')) return 'prefix';
  const name = baseName(entry);
  if (INDEX_FILE.test(name)) return 'index';
  if (isRootObjectName(name)) return 'object';
  return /^https?:/i.test(entry) ? 'object' : 'prefix';
}

/**
 * One spelling per object, so the same file named two ways is read once:
 * local paths and file:// URLs become absolute paths; a relative entry of an
 * index file is resolved against the index file's own location.
 */
export function normalizeEntry(entry: string, indexFile?: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(entry)?.[1]?.toLowerCase();
  const slash = entry.endsWith('/') ? '/' : '';
  if (scheme && scheme.length > 1) {
    if (scheme !== 'file') return entry;
    try {
      return fileURLToPath(entry) + slash;
    } catch {
      return entry; // a malformed file: URL fails with its own message when read
    }
  }
  if (indexFile && /^(gs|https?):\/\//i.test(indexFile)) return new URL(entry, indexFile).href;
  const base = indexFile ? path.dirname(indexFile) : process.cwd();
  const resolved = path.resolve(base, entry);
  return slash && !resolved.endsWith('/') ? resolved + '/' : resolved;
}

/**
 * Lists and stats the dataset. Errors become RequestErrors that name the
 * entry: not found or unlistable → 4xx, transient trouble → 503 (retry).
 */
export async function expandDataset(entries: readonly string[], objects: ObjectStore, config: PipelineConfig): Promise<ExpandedDataset> {
  const limit = config.maxShards;
  const seen = new Set<string>();
  const explicit: { url: string; from: string; secrets: string[] }[] = [];
  const listed: ObjectInfo[] = [];
  let duplicates = 0;
  const add = (url: string): boolean => {
    if (seen.has(url)) {
      duplicates++;
      return false;
    }
    seen.add(url);
    if (seen.size > limit) throw tooMany(seen.size, limit);
    return true;
  };
  for (const given of entries) {
    const entry = normalizeEntry(given);
    const kind = classifyEntry(entry);
    const shown = displayName(given);
    if (kind === 'index') {
      const text = await describe(shown, [], () => objects.readText(entry, config.maxIndexBytes));
      const lines = text.split(/\r?\n/);
      let named = 0;
      // the lines are named by number, never quoted: "index file" may be any readable text file
      // (the local server reads the caller's paths), and its content is not the reply's business
      for (let n = 0; n < lines.length; n++) {
        const line = lines[n]!.trim();
        if (line === '' || line.startsWith('#')) continue;
        named++;
        const where = `line ${n + 1} of index file ${shown}`;
        if (line.length > MAX_ENTRY_CHARS) throw new RequestError(400, `${where} is longer than ${MAX_ENTRY_CHARS} characters`, 'dataset');
        const url = normalizeEntry(line, entry);
        if (url.length > MAX_ENTRY_CHARS) throw new RequestError(400, `${where} resolves to a URL longer than ${MAX_ENTRY_CHARS} characters`, 'dataset');
        if (classifyEntry(url) === 'index') throw new RequestError(400, `${where} names another index file; list ROOT files only`, 'dataset');
        if (add(url)) explicit.push({ url, from: where, secrets: [line, url] });
      }
      if (named === 0) throw new RequestError(400, `index file ${shown} lists no URLs (one per line expected)`, 'dataset');
    } else if (kind === 'object') {
      if (add(entry)) explicit.push({ url: entry, from: shown, secrets: [] });
    } else {
      const found = await describe(shown, [], () => objects.list(entry, limit + 1));
      if (found.length === 0) throw new RequestError(400, `no ROOT files (*.root, *.root.N) under ${shown}`, 'dataset');
      for (const o of found) if (add(o.url)) listed.push(o);
    }
  }
  const statted = await mapLimit(explicit, config.statConcurrency, (e) => describe(e.from, e.secrets, () => objects.stat(e.url)));
  // one file reached by several paths (symbolic links) is one file
  const files = new Set<string>();
  const unique: ObjectInfo[] = [];
  for (const o of [...listed, ...statted]) {
    const id = o.identity ?? o.url;
    if (files.has(id)) duplicates++;
    else {
      files.add(id);
      unique.push(o);
    }
  }
  return { objects: unique, duplicates };
}

/** One shard per `shardBytes` of each file (at least one per file; one when the size is unknown). */
export function planShards(objects: readonly ObjectInfo[], shardBytes: number, maxShards = Infinity): PlannedShard[] {
  if (!(shardBytes > 0)) throw new RangeError(`shard size must be positive, got ${shardBytes}`);
  let total = 0;
  for (const o of objects) total += partsOf(o, shardBytes);
  if (total > maxShards) throw tooMany(total, maxShards, true);
  const out: PlannedShard[] = [];
  for (const o of objects) {
    const parts = partsOf(o, shardBytes);
    for (let part = 0; part < parts; part++) {
      const s: PlannedShard = { url: o.url, part, parts };
      if (o.size !== undefined) s.size = o.size;
      if (o.generation !== undefined) s.generation = o.generation;
      out.push(s);
    }
  }
  return out;
}

function partsOf(o: ObjectInfo, shardBytes: number): number {
  return o.size === undefined ? 1 : Math.max(1, Math.ceil(o.size / shardBytes));
}

/**
 * The entries of part `part` of `parts`: the clusters whose first entry falls
 * in [part·E/parts, (part+1)·E/parts). Every cluster belongs to exactly one
 * part and the parts are contiguous, so together they cover the file once. A
 * part with no cluster start in its slice is empty (entryStart = entryStop).
 */
export function partEntryRange(clusters: readonly { entryStart: number; entryStop: number }[], entries: number, part: number, parts: number): { entryStart: number; entryStop: number } {
  if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(part) || part < 0 || part >= parts) {
    throw new RootError('BAD_ARGUMENT', `part ${part} of ${parts} is not a valid part (0 ≤ part < parts)`);
  }
  if (entries <= 0) return { entryStart: 0, entryStop: 0 };
  let start = -1;
  let stop = -1;
  for (const c of clusters) {
    // integer arithmetic: entry counts times parts stay far below 2^53
    const owner = Math.floor((c.entryStart * parts) / entries);
    if (owner === part) {
      if (start < 0) start = c.entryStart;
      stop = c.entryStop;
    } else if (owner > part) {
      // an empty part sits where the next part begins, so every part ends where the next starts
      return start < 0 ? { entryStart: c.entryStart, entryStop: c.entryStart } : { entryStart: start, entryStop: stop };
    }
  }
  return start < 0 ? { entryStart: entries, entryStop: entries } : { entryStart: start, entryStop: stop };
}

function tooMany(n: number, limit: number, shards = false): RequestError {
  return new RequestError(413, `the dataset makes ${n} ${shards ? 'shards' : 'files'}, more than the ${limit} shards one job may have: split it into several jobs${shards ? ' or raise shardMB' : ''}`, shards ? 'shardMB' : 'dataset');
}

/**
 * Runs `fn`, turning storage errors into RequestErrors that name the dataset
 * entry (`entry`, already safe to show). `secrets` (the line of an index file
 * and what it resolved to) mark an entry read from an index file: its storage
 * error is reduced to its code, as a system or network error quotes the path,
 * URL or host it could not reach.
 */
async function describe<T>(entry: string, secrets: readonly string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RequestError) throw e;
    if (e instanceof RootError) {
      // a listing's error may be about one file under the entry: name it
      const file = e.context.file;
      const detail = file && file !== entry && !e.detail.includes(file) ? `${file}: ${e.detail}` : e.detail;
      // scrubbing the line's own forms would miss what a library quotes differently (a redacted URL, the host)
      const why = secrets.length > 0 ? `error ${e.code}; the line is not quoted` : scrubMessage(detail, secrets);
      switch (e.code) {
        case 'SOURCE_NOT_FOUND':
          throw new RequestError(400, `dataset entry ${entry} was not found: ${why}`, 'dataset');
        case 'SOURCE_FORBIDDEN':
          throw new RequestError(403, `dataset entry ${entry} cannot be read by the pipeline's service account: ${why}`, 'dataset');
        case 'LIMIT':
          throw new RequestError(413, `dataset entry ${entry}: ${why}`, 'dataset');
        case 'BAD_ARGUMENT':
          throw new RequestError(400, `dataset entry ${entry}: ${why}`, 'dataset');
        default:
          if (e.transient) throw new RequestError(503, `could not reach the storage of ${entry} (${why}); try again`, 'dataset');
          throw new RequestError(400, `dataset entry ${entry}: ${why}`, 'dataset');
      }
    }
    throw e;
  }
}

/** Maps with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const run = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, run));
  return out;
}
