// Types of scripts/build.mjs for the TypeScript tests that call it.

export interface BuiltFunction {
  source: string;
  entryPoint: string;
  trigger: string;
  signatureType: 'http' | 'cloudevent';
  /** The function's folder, relative to the project root. */
  dir: string;
  bundleBytes: number;
  bundleSha256: string;
  /** The zipped folder, relative to the output folder. */
  zip: string;
  zipBytes: number;
  zipSha256: string;
  dependencies: Record<string, string>;
}

export interface BuildManifest {
  builtAt: string;
  functions: Record<string, BuiltFunction>;
}

export function buildCli(): Promise<void>;
export function buildFunctions(out?: string): Promise<BuildManifest>;
export function readFunctionList(): Record<string, { source: string; entryPoint: string; trigger: string }>;
export function lockfileFor(pkg: unknown, lock?: unknown): unknown;
