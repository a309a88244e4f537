#!/usr/bin/env node
// Builds the esbuild bundles: dist/physlite.js (the CLI). Run by `npm run build`,
// and on first use by bin/physlite.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildCli() {
  await build({
    entryPoints: [path.join(root, 'shared/cli/main.ts')],
    outfile: path.join(root, 'dist/physlite.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // the Cloud Storage client loads files relative to its own folder: keep it external
    external: ['@google-cloud/*'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli();
  console.log('built dist/physlite.js');
}
