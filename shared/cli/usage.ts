import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** A command's options and positional arguments; an unknown or malformed option is a UsageError. */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** An input file the command cannot use (unreadable, not JSON, wrong shape): one line, exit code 1. */
export class InputError extends Error {}
