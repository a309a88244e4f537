#!/usr/bin/env node
// `physlite` command. Runs the esbuild bundle dist/physlite.js, building it
// first when it is missing or older than the sources (so `npx physlite` works
// right after `npm ci`, with no separate build step).
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(root, 'dist/physlite.js');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const sources = path.join(root, 'shared');
const stale = !existsSync(bundle) || (existsSync(sources) && newestSource(sources) > statSync(bundle).mtimeMs);
if (stale) {
  const { buildCli } = await import(pathToFileURL(path.join(root, 'scripts/build.mjs')).href);
  await buildCli();
}
await import(pathToFileURL(bundle).href);
