// Running an analysis over files, chunk by chunk: the one loop that the CLI,
// the benchmark and (later) the cloud worker share.
//
// Memory stays bounded by one chunk's columns (a cluster by default), and
// each chunk's partial result is added to the running total, so a file of any
// size is processed the same way as the samples.

import type { ByteSource, OpenRootOptions } from '../root/index';
import { PhysliteFile, type ChunkOptions } from '../physlite/index';
import type { Analysis } from './analysis';
import { mergeInto, type AnalysisResult } from './result';

export interface RunOptions extends ChunkOptions {
  /** Stop after this many events (counted from entryStart). */
  maxEvents?: number;
  /** Called after each chunk with the events done so far in this file. */
  onChunk?: (progress: { file: string; eventsDone: number; eventsTotal: number; bytesRead: number }) => void;
  open?: OpenRootOptions;
}

export interface FileRun {
  file: string;
  profile: string;
  result: AnalysisResult;
  /** Entries in the file, and the range processed. */
  entries: number;
  entryStart: number;
  entryStop: number;
  chunks: number;
  /** What the source transferred (whole file open included) and in how many requests. */
  bytesRead: number;
  requests: number;
  /** Wall time reading+decoding and in the analysis itself. */
  readMs: number;
  processMs: number;
}

/** Runs the analysis over one file (or an entry range of it). */
export async function analyseFile(input: string | ByteSource, analysis: Analysis, options: RunOptions = {}): Promise<FileRun> {
  const file = await PhysliteFile.open(input, options.open);
  try {
    return await analyseOpenFile(file, analysis, options);
  } finally {
    await file.close();
  }
}

export async function analyseOpenFile(file: PhysliteFile, analysis: Analysis, options: RunOptions = {}): Promise<FileRun> {
  const prepared = analysis.prepare(file.schema, file.name);
  const entryStart = Math.min(Math.max(0, options.entryStart ?? 0), file.entries);
  let entryStop = Math.max(entryStart, Math.min(file.entries, options.entryStop ?? file.entries));
  if (options.maxEvents !== undefined) entryStop = Math.min(entryStop, entryStart + Math.max(0, options.maxEvents));
  const total = analysis.empty();
  total.profile = prepared.profile;
  let chunks = 0;
  let readMs = 0;
  let processMs = 0;
  let done = 0;
  const iterator = file.chunks(prepared.columns, { ...options, entryStart, entryStop });
  for (;;) {
    const t0 = performance.now();
    const next = await iterator.next();
    const t1 = performance.now();
    readMs += t1 - t0;
    if (next.done) break;
    const chunk = next.value;
    mergeInto(total, prepared.process(chunk));
    processMs += performance.now() - t1;
    chunks++;
    done += chunk.length;
    options.onChunk?.({ file: file.name, eventsDone: done, eventsTotal: entryStop - entryStart, bytesRead: file.handle.source.stats.bytes });
  }
  const stats = file.handle.source.stats;
  return { file: file.name, profile: prepared.profile, result: total, entries: file.entries, entryStart, entryStop, chunks, bytesRead: stats.bytes, requests: stats.requests, readMs, processMs };
}
