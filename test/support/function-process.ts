// One instance of a deployed function, as Cloud Run runs it: a Node process
// running `functions-framework --target=… --signature-type=…` over the
// function's bundle folder (dist/functions/<name>/, made by `npm run build`),
// listening on 127.0.0.1:PORT, with only the environment we give it.
//
//   const fn = await startFunction({ name: 'worker', dir, entryPoint: 'worker', signatureType: 'cloudevent', env });
//   fn.url            // http://127.0.0.1:PORT
//   fn.kill()         // SIGKILL, as when an instance crashes or is scaled in
//   await fn.restart()  // a new instance on the same port (so push endpoints stay valid)
//   fn.output         // everything it printed (stdout and stderr), for diagnostics
//
// The framework is the one the bundle's own node_modules holds (found as Node
// finds it from the bundle folder), so the function registers with the very
// module that serves it.

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './range-server';

/**
 * The `functions-framework` command the bundle in `dir` would run: its own installed copy
 * (the module the bundle registers its function with), else the first one up the tree.
 * The package's exports hide package.json and main.js: its folder is found from the entry it exports.
 */
export function frameworkMainFor(dir: string): string {
  const entry = createRequire(path.join(dir, 'package.json')).resolve('@google-cloud/functions-framework');
  return path.join(frameworkDir(entry), 'build/src/main.js');
}

function frameworkDir(entry: string): string {
  const marker = `${path.sep}@google-cloud${path.sep}functions-framework${path.sep}`;
  const i = entry.lastIndexOf(marker);
  if (i < 0) throw new Error(`cannot find the Functions Framework's folder from ${entry}`);
  return entry.slice(0, i + marker.length - 1);
}
const LOOPBACK_ONLY = fileURLToPath(new URL('./listen-loopback.mjs', import.meta.url));

export interface FunctionSpec {
  /** Deployed name, e.g. 'worker' (also K_SERVICE). */
  name: string;
  /** The bundle folder (index.js + package.json). */
  dir: string;
  entryPoint: string;
  signatureType: 'http' | 'cloudevent';
  /** The whole environment of the process (nothing is inherited but PATH). */
  env: Record<string, string>;
  /** Port to listen on; a free one is found when absent. */
  port?: number;
  /** Called with every line the process prints. */
  onLine?: (line: string) => void;
  /** Extra options for node itself, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** How long to wait for the server to answer after start (default 20 s). */
  startTimeoutMs?: number;
}

export interface FunctionProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Pid of the current process (changes with restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Starts counted from 1: 2 after the first restart. */
  readonly generation: number;
  /** Everything printed so far, by every generation. */
  readonly output: string;
  /** SIGKILL; resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills it if running, then starts a new process on the same port (concurrent calls share one restart). */
  restart(): Promise<void>;
  /** Stops it for good (SIGTERM, then SIGKILL after 2 s). */
  stop(): Promise<void>;
}

export async function startFunction(spec: FunctionSpec): Promise<FunctionProcess> {
  const port = spec.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  let generation = 0;

  const launch = async () => {
    generation++;
    const gen = generation;
    const args = [frameworkMainFor(spec.dir), `--target=${spec.entryPoint}`, `--signature-type=${spec.signatureType}`, `--source=${spec.dir}`, `--port=${port}`];
    const env = { PATH: process.env.PATH ?? '', ...spec.env, PORT: String(port), K_SERVICE: spec.name, K_REVISION: `${spec.name}-${String(gen).padStart(5, '0')}` };
    const proc = spawn(process.execPath, ['--enable-source-maps', ...(spec.nodeArgs ?? []), '--import', LOOPBACK_ONLY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        output += `[${spec.name}#${gen}] ${line}\n`;
        spec.onLine?.(line);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    await waitUntilServing(url, proc, spec.startTimeoutMs ?? 20_000, () => output);
  };

  await launch();
  let restarting: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    name: spec.name,
    port,
    url,
    get pid() {
      return child?.pid ?? -1;
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    get generation() {
      return generation;
    },
    get output() {
      return output;
    },
    kill,
    restart() {
      // one restart at a time: a second caller waits for the new process instead of starting another on the port
      restarting ??= kill()
        .then(launch)
        .finally(() => (restarting = undefined));
      return restarting;
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Resolves once the server answers an HTTP request (any status: a cloudevent function
 * answers a GET with 404 without running the function); rejects if the process exits
 * first or it takes too long. The framework's "Serving function..." line is not
 * printed under NODE_ENV=production, so it cannot be the signal.
 */
async function waitUntilServing(url: string, proc: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`function process for ${url} exited during start (${proc.exitCode ?? proc.signalCode}):\n${output()}`);
    try {
      const r = await fetch(`${url}/__rehearsal_ready`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`function process for ${url} was not serving within ${timeoutMs} ms:\n${output()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
