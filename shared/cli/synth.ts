// `physlite synth`: a production-shaped PHYSLITE file from a small sample, to
// rehearse a deployment at scale (see shared/root/writer/synth.ts).

import { parseCommandLine, UsageError } from './usage';
import { synthesize, type SynthResult } from '../root/writer/synth';
import { parseCompression, zstdEncoderName } from '../root/writer/compress';
import { openRootFile, RootError } from '../root/index';
import { PhysliteSchema } from '../physlite/index';
import { chooseProfile, profileColumns } from '../analysis/reference/profiles';

export const SYNTH_USAGE = `  physlite synth --from SAMPLE.root --events N --out FILE [--compression zstd:5]
                 [--auto-flush 500] [--max-basket 131072] [--seed S] [--files K] [--report]
      A production-shaped file: SAMPLE's trees, branches and streamer infos,
      with N events resampled whole from SAMPLE (seeded: the same seed gives
      the same bytes), floats jittered in their lowest bits, baskets flushed
      every --auto-flush events as Athena does (production: zstd:5, 500,
      131072; about 870 MB per 107,000 events). Codecs: zlib:N, zstd:N, lz4:N,
      lzma:N (our lzma codes literals only, no matches: larger than xz's).
      Prints size, speed and compressed/uncompressed ratios against SAMPLE's
      (analysis branches flagged beyond ±25%; --report lists every branch).
      --files K writes K files FILE_0001.root … with seeds S … S+K-1: a
      dataset to rehearse a deployment with (ratios shown for the last file).
`;

function intOption(value: string | undefined, name: string, fallback: number | undefined, min = 1): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`synth needs --${name}`);
    return fallback;
  }
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** FILE.root → FILE_0001.root, … (zero-padded to the count's width, at least 4 digits). */
function numbered(out: string, i: number, count: number): string {
  const digits = Math.max(4, String(count).length);
  const m = /^(.*?)(\.root)?$/.exec(out)!;
  return `${m[1]}_${String(i + 1).padStart(digits, '0')}${m[2] ?? ''}`;
}

/** The analysis branches of a PHYSLITE tree (empty when no analysis profile fits it). */
async function analysisBranches(source: string): Promise<string[]> {
  const file = await openRootFile(source);
  try {
    const tree = (await file.tree('CollectionTree')).tree;
    const schema = PhysliteSchema.fromBranches([...tree.allBranches()].map((b) => ({ name: b.name, parent: b.parent?.name })));
    let profile;
    try {
      profile = chooseProfile(schema);
    } catch {
      return [];
    }
    return profileColumns(profile).map((c) => schema.branchOf(c)).filter((b): b is string => b !== undefined);
  } finally {
    await file.close();
  }
}

const ratio = (zip: number, tot: number) => (tot > 0 ? zip / tot : 0);

/** Per-branch ratio lines; returns the analysis branches outside ±25% of the source's ratio. */
export function ratioReport(result: SynthResult, analysis: string[], all: boolean): { lines: string[]; outside: string[] } {
  const isAnalysis = (name: string) => analysis.some((a) => name === a || name.startsWith(a + '.'));
  const lines: string[] = [];
  const outside: string[] = [];
  for (const b of result.branches) {
    const a = isAnalysis(b.name);
    if (!all && !a) continue;
    const src = ratio(b.sourceZipBytes, b.sourceTotBytes);
    const out = ratio(b.zipBytes, b.totBytes);
    const rel = src > 0 ? out / src - 1 : 0;
    const flag = a && Math.abs(rel) > 0.25;
    if (flag) outside.push(b.name);
    lines.push(`  ${b.name.padEnd(60)} ${src.toFixed(3).padStart(7)} ${out.toFixed(3).padStart(7)} ${((rel >= 0 ? '+' : '') + (rel * 100).toFixed(0) + '%').padStart(6)}${a ? ' analysis' : ''}${flag ? ' OUTSIDE ±25%' : ''}${b.jittered ? '' : ' (not jittered)'}`);
  }
  return { lines, outside };
}

export async function synthCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    from: { type: 'string' },
    events: { type: 'string' },
    out: { type: 'string' },
    compression: { type: 'string' },
    'auto-flush': { type: 'string' },
    'max-basket': { type: 'string' },
    seed: { type: 'string' },
    tree: { type: 'string' },
    report: { type: 'boolean' },
    files: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`synth takes no positional arguments (got ${positionals.join(' ')})`);
  if (!values.from) throw new UsageError('synth needs --from SAMPLE.root');
  if (!values.out) throw new UsageError('synth needs --out FILE');
  const events = intOption(values.events, 'events', undefined);
  const autoFlush = intOption(values['auto-flush'], 'auto-flush', 500);
  const maxBasket = intOption(values['max-basket'], 'max-basket', 131072, 1024);
  const seed = intOption(values.seed, 'seed', 1, 0);
  if (seed > 0xffffffff) throw new UsageError(`--seed must be below 2^32, got ${seed}`);
  let compression;
  try {
    compression = parseCompression(values.compression ?? 'zstd:5');
  } catch (e) {
    throw new UsageError(e instanceof RootError ? e.detail : String(e));
  }
  const files = intOption(values.files, 'files', 1);
  if (seed + files - 1 > 0xffffffff) throw new UsageError(`--seed + --files must stay below 2^32`);
  const outputs = files === 1 ? [values.out] : Array.from({ length: files }, (_, i) => numbered(values.out!, i, files));
  let last: SynthResult | undefined;
  for (let i = 0; i < outputs.length; i++) {
    const fileSeed = seed + i;
    const started = Date.now();
    const cpuStart = process.cpuUsage();
    let peakRss = process.memoryUsage().rss;
    const result = await synthesize({
      source: values.from,
      out: outputs[i]!,
      events,
      seed: fileSeed,
      compression,
      autoFlush,
      maxBasket,
      tree: values.tree,
      onCluster: (done, total) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (done % 20 === 0 || done === total) process.stderr.write(`\rsynth: ${outputs.length > 1 ? `file ${i + 1}/${outputs.length}, ` : ''}cluster ${done}/${total}`);
        if (done === total) process.stderr.write('\n');
      },
    });
    const seconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const mb = result.bytes / 1e6;
    out.write(
      `${result.file}: ${mb.toFixed(1)} MB, ${result.events} events resampled from ${result.sourceEvents} (seed ${fileSeed}), ` +
        `${result.clusters} clusters of ${autoFlush}, ${result.baskets} baskets, ${compression.codec}:${compression.level}${result.large ? ', 64-bit layout' : ''}\n` +
        `written in ${seconds.toFixed(1)} s: ${(mb / seconds).toFixed(1)} MB/s of file (${(mb / cpuSeconds).toFixed(1)} MB per CPU second: the figure on a busy machine) on one core, ` +
        `Node ${process.version}, ${zstdEncoderName()}, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB\n`,
    );
    last = result;
  }
  const result = last!;
  const analysis = values.tree && values.tree !== 'CollectionTree' ? [] : await analysisBranches(values.from);
  const { lines, outside } = ratioReport(result, analysis, values.report ?? false);
  if (lines.length) {
    out.write(`compressed/uncompressed per branch: ${'source'.padStart(59 + 8)} ${'synth'.padStart(7)} change\n`);
    out.write(lines.join('\n') + '\n');
  }
  if (outside.length) out.write(`${outside.length} analysis branch(es) outside ±25% of the source's ratio (the source's codec may differ: compare with --compression of the source's)\n`);
  return 0;
}
