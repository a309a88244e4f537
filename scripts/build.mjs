#!/usr/bin/env node
// Builds the esbuild bundles. Run by `npm run build`; bin/physlite.js calls
// buildCli() on first use.
//
//   dist/physlite.js               the CLI
//   dist/functions/<name>/         one folder per deployed function (functions/functions.json):
//     index.js, index.js.map       the function's code, our code bundled in
//     package.json                 main, the entry point, and the runtime dependencies
//   dist/functions/manifest.json   every function: entry point, signature type, trigger, bundle hash
//
// A function folder is exactly what the deploy step zips and uploads. The
// @google-cloud/* packages stay external: their clients load .proto files
// relative to their own folder, and the Functions Framework must be the same
// module instance that the runtime's `functions-framework` command loads (it
// keeps the registry of functions). The bundle's package.json lists each
// external package that the bundle actually imports, pinned to the version
// installed here, which is the version the tests ran against.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['@google-cloud/*'],
  // bundled CommonJS code may call require(); give the ES module one
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
};

export async function buildCli() {
  await build({ ...common, entryPoints: [path.join(root, 'shared/cli/main.ts')], outfile: path.join(root, 'dist/physlite.js') });
}

/** The deployed functions, from functions/functions.json. */
export function readFunctionList() {
  const file = path.join(root, 'functions/functions.json');
  return JSON.parse(readFileSync(file, 'utf8')).functions;
}

function installedVersion(name) {
  return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** '@google-cloud/storage/build/x' → '@google-cloud/storage'; 'fflate' → 'fflate'. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export async function buildFunctions() {
  const out = path.join(root, 'dist/functions');
  rmSync(out, { recursive: true, force: true });
  const manifest = { builtAt: new Date().toISOString(), functions: {} };
  for (const [name, fn] of Object.entries(readFunctionList())) {
    const dir = path.join(out, name);
    mkdirSync(dir, { recursive: true });
    const result = await build({ ...common, entryPoints: [path.join(root, 'functions', fn.source, 'index.ts')], outfile: path.join(dir, 'index.js'), metafile: true });
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    const externals = [...new Set(imports.filter((p) => !isBuiltin(p)).map(packageName))].sort();
    if (!externals.includes('@google-cloud/functions-framework')) throw new Error(`functions/${fn.source}/index.ts does not import @google-cloud/functions-framework`);
    const signatureType = fn.trigger === 'http' ? 'http' : 'cloudevent';
    const pkg = {
      name: `physlite-${name}`,
      version: JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version,
      private: true,
      description: `physlite ${name} function (built by npm run build from functions/${fn.source}; do not edit)`,
      type: 'module',
      main: 'index.js',
      engines: { node: '>=20' },
      scripts: { start: `functions-framework --target=${fn.entryPoint} --signature-type=${signatureType}` },
      dependencies: Object.fromEntries(externals.map((p) => [p, installedVersion(p)])),
    };
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    const code = readFileSync(path.join(dir, 'index.js'));
    manifest.functions[name] = {
      ...fn,
      signatureType,
      dir: path.relative(root, dir),
      bundleBytes: code.length,
      bundleSha256: createHash('sha256').update(code).digest('hex'),
      dependencies: pkg.dependencies,
    };
  }
  writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli();
  console.log('built dist/physlite.js');
  const manifest = await buildFunctions();
  for (const [name, f] of Object.entries(manifest.functions)) {
    console.log(`built ${f.dir}/ (${f.entryPoint}, ${f.signatureType}, ${(f.bundleBytes / 1024).toFixed(0)} KiB; ${Object.keys(f.dependencies).join(', ')})`);
  }
}
