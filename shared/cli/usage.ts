import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * One `physlite` subcommand. Each command module exports one of these next to
 * its code, and physlite.ts lists them: the overview, `physlite CMD --help`,
 * `physlite help CMD` and the usage errors all come from here.
 */
export interface CommandSpec {
  name: string;
  /** One line for the command list of `physlite --help`. */
  summary: string;
  /** The command's own help: usage line, what it does, its options (a few lines). */
  help: string;
  run(args: string[], out: NodeJS.WritableStream): Promise<number>;
}

/**
 * A mistake in the command line: one line, then "see physlite CMD --help", exit code 2.
 * `command` is filled in by the dispatcher when the command does not set it.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    public command?: string,
  ) {
    super(message);
  }
}

/** A command's options and positional arguments; an unknown or malformed option is a UsageError. */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs explains at length over several lines: keep one
    const message = (e as Error).message;
    const ambiguous = /^Option '(--[^']+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const value = args[args.indexOf(ambiguous[1]!) + 1] ?? '-VALUE';
      throw new UsageError(`Option '${ambiguous[1]}' argument is ambiguous (a value that starts with '-' is written ${ambiguous[1]}=${value})`);
    }
    throw new UsageError(message.replace(/\. To specify .*$/s, '').split('\n')[0]!);
  }
}

/** An input file the command cannot use (unreadable, not JSON, wrong shape): one line, exit code 1. */
export class InputError extends Error {}

/** Whether the arguments ask for help (`--help` or `-h` before any `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Levenshtein distance, with an early exit once every cell of a row exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (cur[j]! < rowMin) rowMin = cur[j]!;
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The known names nearest to a misspelt one (case-insensitive edit distance),
 * closest first, at most `max`; names too far away (more than a third of the
 * longer name changed) are not suggested.
 */
export function nearestNames(wanted: string, known: Iterable<string>, max = 3): string[] {
  const w = wanted.toLowerCase();
  const scored: { name: string; d: number }[] = [];
  for (const name of known) {
    const limit = Math.max(1, Math.floor(Math.max(w.length, name.length) / 3));
    const d = editDistance(w, name.toLowerCase(), limit);
    if (d <= limit) scored.push({ name, d });
  }
  scored.sort((a, b) => a.d - b.d || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return scored.slice(0, max).map((s) => s.name);
}
