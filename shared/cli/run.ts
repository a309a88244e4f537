// `physlite run`: the reference analysis over local files, directories,
// https:// and gs:// objects, one file after another, chunk by chunk.

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { RootError } from '../root/index';
import { displayName } from '../root/source/url-policy';
import { scrubMessage } from '../root/source/util';
import { referenceAnalysis, PROFILE_NAMES, type Profile } from '../analysis/reference/index';
import { analyseFile } from '../analysis/runner';
import { mergeInto, type AnalysisResult } from '../analysis/result';
import { ProgressLine } from './progress-line';
import { classifyForRun } from './file-contents';
import { InputError, parseCommandLine, UsageError, type CommandSpec } from './usage';
import { LocalObjectStore } from '../pipeline/local/object-store';

/** Most files one directory argument may expand to. */
const MAX_DIRECTORY_FILES = 1_000_000;

export const RUN: CommandSpec = {
  name: 'run',
  summary: 'the reference analysis over PHYSLITE files and directories',
  help: `Usage: physlite run FILE_OR_URL_OR_DIR… [--profile r21|r22] [--json] [--max-events N] [--keep-going]

The reference analysis (object selection and overlap removal): counts of
electrons, muons and jets passing baseline / passOR / signal, histograms and a
cut-flow. Directories are searched for *.root files; those that are not
PHYSLITE (not ROOT, no CollectionTree, RNTuple only) are skipped and listed on
stderr. A file named on the command line is always analysed.

  --profile r21|r22  the analysis profile (default: chosen per file)
  --json             one JSON object on stdout (the input of physlite plot)
  --max-events N     stop after N events in all
  --keep-going       record a failing file and go on (exit code 1 at the end)
`,
  run: (args, out) => runCommand(args, out),
};

/** Local directories become the .root files under them (sorted); everything else is passed as is. */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !input.startsWith('file://')) {
      out.push(input);
      continue;
    }
    const info = await stat(input).catch(() => null);
    if (info?.isDirectory()) {
      const found = await rootFilesUnder(input);
      if (found.length === 0) throw new UsageError(`directory ${input} holds no .root file`);
      out.push(...found);
    } else out.push(input); // a missing file fails when opened, with its name
  }
  return analysedOnce(out);
}

/** A file named twice, or reached again through a symbolic link, is analysed once (by its first name). */
async function analysedOnce(files: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const f of files) {
    const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(f);
    const id = local ? await realpath(f).catch(() => path.resolve(f)) : f;
    if (seen.has(id)) continue;
    seen.add(id);
    unique.push(f);
  }
  return unique;
}

/**
 * The ROOT files under a directory, by the same walk as `job --local`: each
 * file once however many links lead to it, each real directory once, the walk
 * bounded, and a FIFO or other non-regular file with a ROOT name refused by name.
 */
async function rootFilesUnder(dir: string): Promise<string[]> {
  const found = await new LocalObjectStore().list(dir, MAX_DIRECTORY_FILES + 1);
  if (found.length > MAX_DIRECTORY_FILES) throw new RootError('LIMIT', `directory holds more than ${MAX_DIRECTORY_FILES} ROOT files`, { file: dir });
  return found.map((o) => o.url);
}

interface Skipped {
  file: string;
  reason: string;
}

/**
 * The files a run reads: a file or URL named on the command line as it is
 * (it fails if it is not PHYSLITE), a directory's .root files only when they
 * are PHYSLITE files; the others are returned as skipped, with the reason.
 * With nothing left to analyse, an InputError lists what was skipped.
 */
export async function selectRunInputs(inputs: string[]): Promise<{ files: string[]; skipped: Skipped[] }> {
  let files: string[] = [];
  const skipped: Skipped[] = [];
  for (const input of inputs) {
    const found = await expandInputs([input]);
    const isDirectory = !/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && (await stat(input).catch(() => null))?.isDirectory();
    if (!isDirectory) {
      files.push(...found);
      continue;
    }
    for (const file of found) {
      const kind = await classifyForRun(file);
      if (kind.physlite) files.push(file);
      else skipped.push({ file, reason: kind.reason });
    }
  }
  files = await analysedOnce(files);
  if (files.length === 0) throw new InputError(`no PHYSLITE file to analyse: skipped ${skipped.map((s) => `${s.file} (${s.reason})`).join(', ')}`);
  return { files, skipped };
}

/** The skipped files on stderr, one line each, before the run starts. */
function reportSkipped(skipped: Skipped[], err: NodeJS.WritableStream): void {
  if (skipped.length === 0) return;
  err.write(`skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} that ${skipped.length === 1 ? 'is' : 'are'} not PHYSLITE:\n`);
  for (const s of skipped) err.write(`  ${s.file}: ${s.reason}\n`);
}

interface Failure {
  file: string;
  code: string;
  message: string;
}

export async function runCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { profile: { type: 'string' }, json: { type: 'boolean' }, 'max-events': { type: 'string' }, 'keep-going': { type: 'boolean' } });
  if (positionals.length === 0) throw new UsageError('run needs at least one FILE_OR_URL_OR_DIR');
  const profile = values.profile;
  if (profile !== undefined && !(PROFILE_NAMES as string[]).includes(profile)) throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}, got "${profile}"`);
  let maxEvents: number | undefined;
  if (values['max-events'] !== undefined) {
    maxEvents = Number(values['max-events']);
    if (!Number.isInteger(maxEvents) || maxEvents < 0) throw new UsageError(`--max-events must be a non-negative integer, got "${values['max-events']}"`);
  }

  const { files, skipped } = await selectRunInputs(positionals);
  reportSkipped(skipped, err);
  const analysis = referenceAnalysis({ profile: profile as Profile | undefined });
  const total = analysis.empty();
  const failures: Failure[] = [];
  const progress = err.isTTY ? new ProgressBar(err, files.length) : null;
  const t0 = performance.now();
  let bytes = 0;
  let remaining = maxEvents ?? Infinity;
  for (let k = 0; k < files.length && remaining > 0; k++) {
    const file = files[k]!;
    try {
      const run = await analyseFile(file, analysis, {
        maxEvents: Number.isFinite(remaining) ? remaining : undefined,
        onChunk: (p) => progress?.update(k, file, p.eventsDone, p.eventsTotal, total.eventsRead + p.eventsDone, bytes + p.bytesRead),
      });
      mergeInto(total, run.result);
      bytes += run.bytesRead;
      remaining -= run.result.eventsRead;
    } catch (e) {
      if (!(e instanceof RootError) || !values['keep-going']) {
        progress?.clear();
        throw e;
      }
      failures.push({ file: displayName(file), code: e.code, message: scrubMessage(e.message) });
    }
  }
  progress?.clear();
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) {
    out.write(JSON.stringify(failures.length ? { ...total, failures } : total) + '\n');
  } else {
    out.write(formatResult(total, { files: files.length - failures.length, seconds, bytes }));
    for (const f of failures) out.write(`FAILED ${f.message}\n`);
  }
  return failures.length ? 1 : 0;
}

/** The human-readable table of a result. */
export function formatResult(r: AnalysisResult, run?: { files: number; seconds: number; bytes: number }): string {
  const lines: string[] = [];
  const head = `profile ${r.profile || '-'} · ${r.eventsRead} events read, ${r.eventsKept} kept`;
  lines.push(run ? `${head} · ${run.files} file${run.files === 1 ? '' : 's'} · ${run.seconds.toFixed(2)} s · ${(run.bytes / 1e6).toFixed(1)} MB read` : head, '');
  const flags = ['baseline', 'passOR', 'signal'];
  const collections = Object.keys(r.counts);
  const width = Math.max(9, ...flags.map((f) => Math.max(f.length, ...collections.map((c) => String(r.counts[c]![f] ?? 0).length))));
  lines.push(''.padEnd(10) + flags.map((f) => f.padStart(width)).join('  '));
  for (const c of collections) lines.push(c.padEnd(10) + flags.map((f) => String(r.counts[c]![f] ?? 0).padStart(width)).join('  '));
  lines.push('', 'cut-flow');
  const first = r.cutflow[0]?.events ?? 0;
  const nameWidth = Math.max(...r.cutflow.map((s) => s.name.length));
  for (const s of r.cutflow) lines.push(`  ${s.name.padEnd(nameWidth)}  ${String(s.events).padStart(9)}  ${first ? ((100 * s.events) / first).toFixed(1).padStart(5) + '%' : ''}`);
  lines.push('', 'histograms: ' + Object.keys(r.histograms).join(', ') + ' (--json, then physlite plot)');
  return lines.join('\n') + '\n';
}

/** The progress of `run`: the file being read and the totals so far. */
class ProgressBar {
  private readonly line: ProgressLine;
  constructor(
    stream: NodeJS.WritableStream,
    private readonly files: number,
  ) {
    this.line = new ProgressLine(stream);
  }

  update(k: number, file: string, done: number, total: number, events: number, bytes: number): void {
    const name = path.basename(displayName(file)); // a signed URL's signature is not for the terminal
    this.line.draw(done, total, `file ${k + 1}/${this.files} ${name.length > 40 ? '…' + name.slice(-39) : name} · ${events} events · ${(bytes / 1e6).toFixed(1)} MB`);
  }

  clear(): void {
    this.line.clear();
  }
}
