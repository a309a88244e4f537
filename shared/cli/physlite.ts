// The `physlite` command line: a dispatcher over the subcommands. Each
// command module exports a CommandSpec (name, one-line summary, help, run);
// adding a command is one line in COMMANDS.
//
//   physlite COMMAND [ARGS…]     physlite COMMAND --help     physlite help COMMAND
//   physlite --help              physlite --version

import { RootError } from '../root/index';
import { scrubMessage } from '../root/source/util';
import { MergeError } from '../analysis/result';
import packageJson from '../../package.json';
import { asksForHelp, InputError, nearestNames, UsageError, type CommandSpec } from './usage';
import { INSPECT } from './inspect';
import { DUMP } from './dump';
import { RUN } from './run';
import { JOB } from './job';
import { PLOT } from './plot';
import { SYNTH_USAGE, synthCommand } from './synth';

export { UsageError };

const SYNTH: CommandSpec = {
  name: 'synth',
  summary: 'write a production-shaped PHYSLITE file resampled from a sample',
  help: `Usage:\n${SYNTH_USAGE}`,
  run: (args, out) => synthCommand(args, out),
};

export const COMMANDS: readonly CommandSpec[] = [INSPECT, DUMP, RUN, JOB, PLOT, SYNTH];

export const VERSION: string = packageJson.version;

/** The overview: every command in one line, and how to get a command's own help. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `physlite ${VERSION} — read ATLAS DAOD_PHYSLITE (and other ROOT) files

Usage: physlite COMMAND [ARGS…]

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

physlite COMMAND --help (or physlite help COMMAND) shows a command's options.
FILE_OR_URL is a local path, file://, http(s):// (byte-range requests) or gs://bucket/object.
`;
}

function findCommand(name: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (spec) return spec;
  const near = nearestNames(name, COMMANDS.map((c) => c.name), 1);
  throw new UsageError(`unknown command "${name}"${near.length ? ` (did you mean ${near[0]}?)` : ''}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
}

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    err.write(overview());
    return 2;
  }
  if (command === '--help' || command === '-h') {
    out.write(overview());
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    out.write(`physlite ${VERSION}\n`);
    return 0;
  }
  if (command === 'help') {
    if (rest.length === 0) out.write(overview());
    else out.write(findCommand(rest[0]!).help);
    return 0;
  }
  const spec = findCommand(command);
  if (asksForHelp(rest)) {
    out.write(spec.help);
    return 0;
  }
  try {
    return await spec.run(rest, out);
  } catch (e) {
    if (e instanceof UsageError) e.command ??= spec.name;
    throw e;
  }
}

/** The message of a usage error: one line, then where the help is. */
export function usageMessage(e: UsageError): string {
  if (!e.command) return `physlite: ${e.message}\nsee physlite --help\n`;
  const message = e.message.startsWith(`${e.command} `) ? e.message.slice(e.command.length + 1) : e.message; // "dump needs --branch" → "needs --branch"
  return `physlite ${e.command}: ${message}\nsee physlite ${e.command} --help\n`;
}

/**
 * Output into a closed pipe (`physlite inspect FILE | head -1`) ends the
 * command quietly: the reader has what it wanted. Without a listener Node
 * would throw EPIPE with a stack trace.
 */
let pipeHandled = false;
export function quietOnClosedPipe(): void {
  if (pipeHandled) return;
  pipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

/** Entry point: prints errors as one line with their code, never a stack for bad input; returns (and sets) the exit code. */
export async function run(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(scrubMessage(usageMessage(e)));
      process.exitCode = 2;
    } else if (e instanceof RootError || e instanceof MergeError || e instanceof InputError) {
      process.stderr.write(`physlite: ${scrubMessage(e.message)}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`physlite: internal error: ${scrubMessage(String((e as Error)?.stack ?? e))}\n`);
      process.exitCode = 70;
    }
  }
  return Number(process.exitCode);
}
