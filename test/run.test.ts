// `physlite run` in process: over HTTP (byte ranges from a local server) it
// gives the local result, and on a terminal it draws a progress bar.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { runCommand, expandInputs } from '../shared/cli/run';
import { startRangeServer } from './support/range-server';
import { samplePath } from '../scripts/lib/samples';

function sink(isTTY = false): Writable & { text: string; isTTY: boolean } {
  const s = new Writable({
    write(chunk, _enc, cb) {
      s.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY: boolean };
  s.text = '';
  s.isTTY = isTTY;
  return s;
}

test('run over https-style URLs (a local range server) equals the run over the local file', async () => {
  const path = await samplePath('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
  const server = await startRangeServer(path);
  try {
    const remote = sink();
    assert.equal(await runCommand([server.url, '--json'], remote, sink()), 0);
    const local = sink();
    assert.equal(await runCommand([path, '--json'], local, sink()), 0);
    assert.deepEqual(JSON.parse(remote.text), JSON.parse(local.text));
  } finally {
    await server.close();
  }
});

test('a progress bar on a terminal, cleared at the end', async () => {
  const err = sink(true);
  const out = sink();
  assert.equal(await runCommand([await samplePath('PHYSLITE_example.root')], out, err), 0);
  assert.match(err.text, /\r\x1b\[2K\[#+\] file 1\/1 PHYSLITE_example\.root · 100 events · [\d.]+ MB/);
  assert.ok(err.text.endsWith('\r\x1b[2K'), 'the bar is erased before the table');
  assert.match(out.text, /profile r22 · 100 events read/);
});

test('directories expand to their .root files, sorted; URLs pass through', async () => {
  const dir = (await samplePath('PHYSLITE_example.root')).replace(/\/[^/]+$/, '');
  const files = await expandInputs([dir, 'gs://bucket/a.root', 'https://host/b.root']);
  const local = files.slice(0, -2);
  assert.ok(local.length >= 2 && local.every((f) => f.endsWith('.root')));
  assert.deepEqual(local, [...local].sort());
  assert.deepEqual(files.slice(-2), ['gs://bucket/a.root', 'https://host/b.root']);
});

test('selectRunInputs: a directory keeps its PHYSLITE files and names the others with the reason; a named file is kept as it is', async () => {
  const { mkdtemp, symlink, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { rntupleOnlyFile } = await import('./support/rntuple-stub');
  const { selectRunInputs } = await import('../shared/cli/run');
  const dir = await mkdtemp(`${tmpdir()}/physlite-select-`);
  const r22 = await samplePath('PHYSLITE_example.root');
  const hzz = await samplePath('uproot-HZZ-lz4.root');
  await symlink(r22, `${dir}/r22.root`);
  await symlink(hzz, `${dir}/hzz.root`);
  await writeFile(`${dir}/ntuple.root`, rntupleOnlyFile('Staff'));
  await writeFile(`${dir}/empty.root`, '');
  const got = await selectRunInputs([dir, hzz]);
  // an empty .root file is a copy that went wrong, not some other kind of file: it stays, and its error will count
  assert.deepEqual(got.files, [`${dir}/empty.root`, `${dir}/r22.root`, hzz]);
  assert.deepEqual(got.skipped, [
    { file: `${dir}/hzz.root`, reason: 'no CollectionTree (TTrees: events)' },
    { file: `${dir}/ntuple.root`, reason: 'RNTuple Staff but no CollectionTree TTree (PHYSLITE as RNTuple is not read yet)' },
  ]);
});
