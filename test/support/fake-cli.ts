// Fake `gcloud`, `terraform` and `npm` for testing the shell scripts in
// scripts/ without a cloud: each fake logs its arguments and answers with
// canned output from a JSON config that a test can change between runs.
//
// The scripts run with PATH set to one temporary bin folder holding the fakes
// and links to the few real tools they need (bash, node, curl, coreutils), so
// a real gcloud or terraform on this machine can never be reached.

import { accessSync, constants, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';

export type FakeTool = 'gcloud' | 'terraform' | 'npm';

export interface FakeConfig {
  /** Active gcloud account; '' = nobody logged in. */
  account?: string;
  /** `gcloud config get-value project`; '' = unset. */
  project?: string;
  /** Application-default credentials present (default true). */
  adc?: boolean;
  /** What `gcloud auth print-identity-token` prints. */
  identityToken?: string;
  /** The message id `gcloud pubsub topics publish` reports. */
  messageId?: string;
  /** `gcloud pubsub topics publish` fails. */
  publishFails?: boolean;
  /** `terraform output -raw NAME` values; a missing name is an error as with real Terraform. */
  outputs?: Record<string, string>;
  /** `terraform plan -detailed-exitcode` status: 2 changes (default), 0 none, 1 error. */
  planExit?: number;
}

export interface FakeCall {
  cmd: FakeTool;
  argv: string[];
  cwd: string;
}

/** The real tools the scripts may run besides the fakes. */
const REAL_TOOLS = ['bash', 'curl', 'date', 'sleep', 'mktemp', 'rm', 'sed', 'tr', 'head', 'tail', 'cat', 'dirname'];

function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  throw new Error(`the tests need ${name} on PATH`);
}

// One script for all three fakes: argv[2] names the tool.
const FAKE_SOURCE = String.raw`
import fs from 'node:fs';
import path from 'node:path';
const dir = __FAKE_DIR__;
const [tool, ...argv] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify({ cmd: tool, argv, cwd: process.cwd() }) + '\n');
const out = (s) => process.stdout.write(s);
const fail = (msg, code = 1) => { process.stderr.write(msg + '\n'); process.exit(code); };
const words = argv.filter((a) => !a.startsWith('-'));
const has = (...w) => w.every((x, i) => words[i] === x);

if (tool === 'gcloud') {
  if (has('auth', 'list')) { if (cfg.account) out(cfg.account + '\n'); process.exit(0); }
  if (has('config', 'get-value', 'project')) { if (cfg.project) out(cfg.project + '\n'); else process.stderr.write('(unset)\n'); process.exit(0); }
  if (has('auth', 'application-default', 'print-access-token')) {
    if (cfg.adc === false) fail('ERROR: (gcloud.auth.application-default.print-access-token) Your default credentials were not found.');
    out('ya29.fake-adc\n'); process.exit(0);
  }
  if (has('auth', 'print-identity-token')) { out((cfg.identityToken ?? 'fake-id-token') + '\n'); process.exit(0); }
  if (has('pubsub', 'topics', 'publish')) {
    if (cfg.publishFails) fail('ERROR: (gcloud.pubsub.topics.publish) NOT_FOUND: Resource not found');
    out((cfg.messageId ?? '1234567890') + '\n'); process.exit(0);
  }
  if (has('storage', 'cp')) { process.stderr.write('Copying ' + words.slice(2, -1).join(', ') + ' to ' + words.at(-1) + '\n'); process.exit(0); }
  fail('fake gcloud: unexpected command: ' + argv.join(' '), 99);
}

if (tool === 'terraform') {
  const sub = argv.find((a) => !a.startsWith('-'));
  if (sub === 'init') { out('Terraform has been successfully initialized!\n'); process.exit(0); }
  if (sub === 'plan') {
    const outArg = argv.find((a) => a.startsWith('-out='));
    const planExit = cfg.planExit ?? 2;
    if (planExit === 1) fail('Error: fake plan failure');
    if (outArg) fs.writeFileSync(outArg.slice(5), 'fake plan\n');
    out(planExit === 2 ? 'Plan: 3 to add, 0 to change, 0 to destroy.\n' : 'No changes. Your infrastructure matches the configuration.\n');
    process.exit(argv.includes('-detailed-exitcode') ? planExit : 0);
  }
  if (sub === 'apply') {
    const plan = argv.at(-1);
    if (!plan || plan.startsWith('-') || !fs.existsSync(plan)) fail('fake terraform: apply needs an existing saved plan, got ' + plan);
    out('Apply complete! Resources: 3 added, 0 changed, 0 destroyed.\n'); process.exit(0);
  }
  if (sub === 'output') {
    const outputs = cfg.outputs ?? {};
    const i = argv.indexOf('-raw');
    if (i >= 0) {
      const name = argv[i + 1];
      if (!(name in outputs)) fail('Error: Output "' + name + '" not found');
      out(outputs[name]); process.exit(0);
    }
    for (const [k, v] of Object.entries(outputs)) out(k + ' = ' + JSON.stringify(v) + '\n');
    process.exit(0);
  }
  fail('fake terraform: unexpected command: ' + argv.join(' '), 99);
}

if (tool === 'npm') {
  if (words[0] === 'ci') {
    fs.mkdirSync('node_modules', { recursive: true });
    fs.writeFileSync('node_modules/.package-lock.json', '{}\n');
    process.exit(0);
  }
  if (words[0] === 'run' && words[1] === 'build') {
    fs.mkdirSync('dist/functions', { recursive: true });
    fs.writeFileSync('dist/functions/manifest.json', '{}\n');
    process.exit(0);
  }
  fail('fake npm: unexpected command: ' + argv.join(' '), 99);
}
`;

export class FakeCli {
  /** Temporary folder: bin/, home/, config.json, calls.jsonl. */
  readonly dir: string;
  readonly bin: string;
  readonly home: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.bin = path.join(dir, 'bin');
    this.home = path.join(dir, 'home');
  }

  /** A bin folder with the given fakes (default all three) and the real basic tools. */
  static create(config: FakeConfig = {}, tools: readonly FakeTool[] = ['gcloud', 'terraform', 'npm']): FakeCli {
    const cli = new FakeCli(mkdtempSync(path.join(tmpdir(), 'fake-cli-')));
    mkdirSync(cli.bin);
    mkdirSync(cli.home);
    for (const t of REAL_TOOLS) symlinkSync(which(t), path.join(cli.bin, t));
    symlinkSync(process.execPath, path.join(cli.bin, 'node'));
    const fake = path.join(cli.dir, 'fake.mjs');
    writeFileSync(fake, FAKE_SOURCE.replace('__FAKE_DIR__', JSON.stringify(cli.dir)));
    for (const t of tools) {
      writeFileSync(path.join(cli.bin, t), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(fake)} ${t} "$@"\n`, { mode: 0o755 });
    }
    cli.configure(config);
    writeFileSync(path.join(cli.dir, 'calls.jsonl'), '');
    return cli;
  }

  /** Replaces the canned answers. */
  configure(config: FakeConfig): void {
    writeFileSync(path.join(this.dir, 'config.json'), JSON.stringify({ account: 'dev@example.com', project: 'fake-project', ...config }));
  }

  /** Every fake invocation so far, in order. */
  calls(): FakeCall[] {
    const file = path.join(this.dir, 'calls.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeCall);
  }

  clearCalls(): void {
    writeFileSync(path.join(this.dir, 'calls.jsonl'), '');
  }

  /** The environment a script runs with: only the temporary bin on PATH. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { PATH: this.bin, HOME: this.home, LANG: 'C.UTF-8', ...extra };
  }

  /** Runs a script (directly, through its #! line) with this environment; never throws on a non-zero exit. */
  run(script: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ScriptResult> {
    return new Promise((resolve) => {
      const child = execFile(script, [...args], { cwd: opts.cwd ?? this.dir, env: this.env(opts.env), timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
      child.stdin?.end();
    });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}
