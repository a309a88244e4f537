#!/usr/bin/env node
// Builds the esbuild bundles. Run by `npm run build`; bin/physlite.js calls
// buildCli() on first use.
//
//   dist/physlite.js               the CLI
//   dist/functions/<name>/         one folder per deployed function (functions/functions.json):
//     index.js, index.js.map       the function's code, our code bundled in
//     package.json                 main, the entry point, and the runtime dependencies
//     package-lock.json            those dependencies' tree, cut from this project's lockfile
//   dist/functions/<name>.zip      that folder zipped: what Terraform uploads as the function's source
//   dist/functions/manifest.json   every function: entry point, signature type, trigger, bundle and zip hashes
//
// The zips are reproducible (fixed order and timestamps), so the same code
// gives the same zip hash, and Terraform, which names the uploaded object by
// that hash, neither uploads nor redeploys an unchanged function. The
// @google-cloud/* packages stay external: their clients load .proto files
// relative to their own folder, and the Functions Framework must be the same
// module instance that the runtime's `functions-framework` command loads (it
// keeps the registry of functions). The bundle's package.json lists each
// external package that the bundle actually imports, pinned to the version
// installed here, which is the version the tests ran against.
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The bundle's package-lock.json: this project's lockfile cut down to the packages its
 * dependencies reach, at the same places, so the deploy's `npm ci` installs exactly the
 * versions the tests ran against (without one, `npm install` resolves them afresh).
 */
export function lockfileFor(pkg, lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'))) {
  if (lock.lockfileVersion < 2) throw new Error('package-lock.json must be lockfileVersion 2 or 3');
  const all = lock.packages;
  // where Node finds `dep` from the package at `from` ('' is the root): the nearest node_modules up the tree
  const resolve = (from, dep) => {
    for (let dir = from; ; dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : '') {
      const key = dir ? `${dir}/node_modules/${dep}` : `node_modules/${dep}`;
      if (all[key]) return key;
      if (!dir) return undefined;
    }
  };
  const packages = { '': { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies, engines: pkg.engines } };
  const queue = Object.keys(pkg.dependencies).map((d) => ['', d, false]);
  while (queue.length) {
    const [from, dep, optional] = queue.pop();
    const key = resolve(from, dep);
    if (!key) {
      if (optional) continue;
      throw new Error(`package-lock.json has no ${dep} reachable from ${from || 'the root'}`);
    }
    if (packages[key]) continue;
    packages[key] = all[key];
    for (const d of Object.keys(all[key].dependencies ?? {})) queue.push([key, d, false]);
    for (const d of Object.keys(all[key].optionalDependencies ?? {})) queue.push([key, d, true]);
    for (const d of Object.keys(all[key].peerDependencies ?? {})) queue.push([key, d, !!all[key].peerDependenciesMeta?.[d]?.optional]);
  }
  return { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages };
}

/** The files of a function folder as a zip with sorted names and a fixed timestamp: same files, same bytes. */
function zipFolder(dir) {
  const files = {};
  for (const name of readdirSync(dir).sort()) files[name] = [readFileSync(path.join(dir, name)), { mtime: ZIP_TIME }];
  return zipSync(files, { level: 9 });
}
const ZIP_TIME = new Date('2000-01-01T00:00:00Z');

/** Builds every function into `out` (default dist/functions); tests build into their own folder. */
export async function buildFunctions(out = path.join(root, 'dist/functions')) {
  rmSync(out, { recursive: true, force: true });
  const manifest = { builtAt: new Date().toISOString(), functions: {} };
  const project = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
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
      version: project.version,
      private: true,
      description: `physlite ${name} function (built by npm run build from functions/${fn.source}; do not edit)`,
      type: 'module',
      main: 'index.js',
      engines: { node: '>=20' },
      scripts: { start: `functions-framework --target=${fn.entryPoint} --signature-type=${signatureType}` },
      dependencies: Object.fromEntries(externals.map((p) => [p, installedVersion(p)])),
    };
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lockfileFor(pkg, lock), null, 2)}\n`);
    const code = readFileSync(path.join(dir, 'index.js'));
    const zip = zipFolder(dir);
    writeFileSync(path.join(out, `${name}.zip`), zip);
    manifest.functions[name] = {
      ...fn,
      signatureType,
      dir: path.relative(root, dir),
      bundleBytes: code.length,
      bundleSha256: createHash('sha256').update(code).digest('hex'),
      zip: `${name}.zip`,
      zipBytes: zip.length,
      zipSha256: createHash('sha256').update(zip).digest('hex'),
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
