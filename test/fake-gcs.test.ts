// The Cloud Storage stand-in (test/support/fake-gcs.ts) as the real
// @google-cloud/storage client sees it: uploads in each of the ways the client
// makes them (resumable in one request or in chunks, multipart), their
// preconditions and checksums, deletes, per-request faults and the arrival
// hook, and a child process that finds the stand-in through
// STORAGE_EMULATOR_HOST alone, as the deployed functions will.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRC32C, Storage, type File } from '@google-cloud/storage';
import { applyFields, crc32c, crc32cBase64, startFakeGcs, type FakeGcs, type GcsRequest } from './support/fake-gcs';
import { prng } from './support/prng';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUCKET = 'rehearsal-bucket';
const KiB = 1024;

function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('base64');

/** The request lines of the log since the last resetStats(), e.g. 'PUT /upload/… uploadType=resumable → 308'. */
function lines(gcs: FakeGcs): string[] {
  return gcs.log.map((r) => `${r.method} ${r.path}${r.query} → ${r.status ?? '-'}`);
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  assert.fail('expected the call to fail');
}

/** Reads a range through the client's stream, giving up after `deadlineMs` (the client has no deadline of its own for a body). */
function readRange(file: File, start: number, end: number, deadlineMs: number): Promise<Buffer | 'timeout'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = file.createReadStream({ start, end });
    const timer = setTimeout(() => {
      stream.destroy();
      resolve('timeout');
    }, deadlineMs);
    stream
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => (clearTimeout(timer), resolve(Buffer.concat(chunks))))
      .on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

describe('fake GCS: uploads, deletes, faults and hooks through the real client', () => {
  let gcs: FakeGcs;
  let storage: Storage;
  let dir: string;
  const big = randomBytes(3 * 1024 * KiB + 123, 1); // ~3 MB, not a multiple of anything
  let bigPath: string;

  before(async () => {
    gcs = await startFakeGcs({ [`${BUCKET}/seed.bin`]: randomBytes(1000, 2) });
    storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test' });
    dir = mkdtempSync(path.join(tmpdir(), 'fake-gcs-'));
    bigPath = path.join(dir, 'big.root');
    writeFileSync(bigPath, big);
  });
  after(async () => {
    await gcs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function fresh(): void {
    gcs.setMode('normal');
    gcs.clearFaultRule();
    gcs.resetStats();
  }

  test('our CRC-32C is the standard one and agrees with the client', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    const b = randomBytes(100_003, 3);
    const theirs = new CRC32C();
    theirs.update(b);
    assert.equal(crc32cBase64(b), theirs.toString());
  });

  test('file.save defaults to a resumable upload in one PUT; the client validates the crc32c we return', async () => {
    fresh();
    const file = storage.bucket(BUCKET).file('dir/small.bin');
    const data = Buffer.from('hello, rehearsal');
    await file.save(data);
    assert.deepEqual(lines(gcs), [
      `POST /upload/storage/v1/b/${BUCKET}/o?name=dir%2Fsmall.bin&uploadType=resumable → 200`,
      `PUT /upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=dir%2Fsmall.bin&upload_id=1 → 200`,
    ]);
    // the one PUT carries the rest of the object; no X-Goog-Hash: the client checks the answer's crc32c instead
    assert.equal(gcs.lastHeaders['content-range'], 'bytes 0-*/*');
    assert.deepEqual(gcs.getObject(`${BUCKET}/dir/small.bin`), new Uint8Array(data));
    assert.equal(file.metadata.crc32c, crc32cBase64(data));
    assert.equal(file.metadata.md5Hash, md5(data));
    assert.equal(file.metadata.generation, gcs.generationOf(`${BUCKET}/dir/small.bin`));
    assert.equal(Number(file.metadata.size), data.length);

    // a second save is a new generation; GET metadata has the same shape
    const first = file.metadata.generation;
    await file.save(Buffer.from('v2'));
    const [meta] = await file.getMetadata();
    assert.notEqual(meta.generation, first);
    assert.equal(meta.crc32c, crc32cBase64(Buffer.from('v2')));
    assert.equal(meta.size, '2');
    assert.equal(gcs.bytesReceived, data.length + 2 + 2 * 2); // two bodies and two empty `{}` metadata bodies
  });

  test('file.save with resumable: false is one multipart POST; metadata is kept', async () => {
    fresh();
    const file = storage.bucket(BUCKET).file('dir/multi.json');
    const data = Buffer.from(JSON.stringify({ a: 1 }));
    await file.save(data, { resumable: false, metadata: { contentType: 'application/json', cacheControl: 'no-store', metadata: { job: 'j1' } } });
    assert.deepEqual(lines(gcs), [`POST /upload/storage/v1/b/${BUCKET}/o?uploadType=multipart&name=dir%2Fmulti.json → 200`]);
    assert.match(String(gcs.lastHeaders['content-type']), /^multipart\/related; boundary=/);
    assert.deepEqual(gcs.getObject(`${BUCKET}/dir/multi.json`), new Uint8Array(data));
    const [meta] = await file.getMetadata();
    assert.equal(meta.contentType, 'application/json');
    assert.equal(meta.cacheControl, 'no-store');
    assert.deepEqual(meta.metadata, { job: 'j1' });
    assert.equal(meta.md5Hash, md5(data));
    const [back] = await file.download();
    assert.deepEqual(back, data);
  });

  test('bucket.upload of a 3 MB file, resumable and not: same bytes, a new generation, ifGenerationMatch: 0 refused with 412', async () => {
    fresh();
    const bucket = storage.bucket(BUCKET);
    const key = `${BUCKET}/data/big.root`;
    await bucket.upload(bigPath, { destination: 'data/big.root' });
    assert.deepEqual(lines(gcs).map((l) => l.replace(/\?.*uploadType=(\w+).* →/, ' $1 →')), [`POST /upload/storage/v1/b/${BUCKET}/o resumable → 200`, `PUT /upload/storage/v1/b/${BUCKET}/o resumable → 200`]);
    assert.ok(Buffer.from(gcs.getObject(key)!).equals(big));
    const g1 = gcs.generationOf(key)!;

    gcs.resetStats();
    const [file] = await bucket.upload(bigPath, { destination: 'data/big.root', resumable: false });
    assert.match(lines(gcs).join('\n'), /^POST \/upload\/storage\/v1\/b\/[\w-]+\/o\?uploadType=multipart&name=data%2Fbig\.root → 200$/);
    assert.ok(Buffer.from(gcs.getObject(key)!).equals(big));
    const g2 = gcs.generationOf(key)!;
    assert.ok(BigInt(g2) > BigInt(g1), `${g2} after ${g1}`);
    assert.equal(file.metadata.generation, g2);
    const [back] = await file.download();
    assert.ok(back.equals(big));

    for (const resumable of [true, false]) {
      const err = await rejection(bucket.upload(bigPath, { destination: 'data/big.root', resumable, preconditionOpts: { ifGenerationMatch: 0 } }));
      assert.equal(err.code, 412, `resumable: ${resumable}: ${err.message}`);
      assert.equal(gcs.generationOf(key), g2, 'the object is untouched');
    }
    // a matching generation is accepted
    await bucket.upload(bigPath, { destination: 'data/big.root', resumable: false, preconditionOpts: { ifGenerationMatch: Number(g2) } });
    assert.notEqual(gcs.generationOf(key), g2);
    // and 0 on a new name too
    await bucket.upload(bigPath, { destination: 'data/big-copy.root', preconditionOpts: { ifGenerationMatch: 0 } });
    assert.deepEqual(gcs.keys(`${BUCKET}/data/`), [`${BUCKET}/data/big-copy.root`, `${BUCKET}/data/big.root`]);
  });

  test('chunked resumable uploads: 308 with Range per chunk, 256 KiB quantum kept, a 503 chunk retried', async () => {
    fresh();
    const data = randomBytes(1_000_003, 4);
    const file = storage.bucket(BUCKET).file('chunks/a.bin');
    await file.save(data, { chunkSize: 256 * KiB });
    const puts = gcs.log.filter((r) => r.method === 'PUT');
    assert.deepEqual(puts.map((r) => r.status), [308, 308, 308, 200]);
    assert.equal(gcs.lastHeaders['content-range'], `bytes ${3 * 256 * KiB}-${data.length - 1}/${data.length}`);
    assert.ok(Buffer.from(gcs.getObject(`${BUCKET}/chunks/a.bin`)!).equals(data));
    assert.equal(file.metadata.crc32c, crc32cBase64(data));

    // a chunk size that is not a multiple of 256 KiB: only the multiple is kept and the client resends the rest
    gcs.resetStats();
    await storage.bucket(BUCKET).file('chunks/b.bin').save(data, { chunkSize: 300_000 });
    assert.ok(Buffer.from(gcs.getObject(`${BUCKET}/chunks/b.bin`)!).equals(data));
    assert.equal(gcs.log.filter((r) => r.method === 'PUT').length, 4); // kept 256 Ki, 512 Ki, 768 Ki, then the rest

    // a 503 on the chunk at 512 KiB, once: the client asks where it stands and goes on
    // (only with a precondition: the client does not retry a write that is not
    // idempotent; and after 1 s: it refuses a maxRetryDelay under its 1 s minimum backoff)
    gcs.resetStats();
    const seen: GcsRequest[] = [];
    gcs.setFaultRule((r) => {
      seen.push(r);
      return r.kind === 'upload' && r.range?.start === 512 * KiB && gcs.faultsApplied === 0 ? 503 : undefined;
    });
    const quick = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test', retryOptions: { maxRetryDelay: 1 } });
    await quick.bucket(BUCKET).file('chunks/c.bin').save(data, { chunkSize: 256 * KiB, preconditionOpts: { ifGenerationMatch: 0 } });
    assert.equal(gcs.faultsApplied, 1);
    assert.ok(Buffer.from(gcs.getObject(`${BUCKET}/chunks/c.bin`)!).equals(data));
    assert.ok(seen.every((r) => r.kind === 'upload' && r.key === `${BUCKET}/chunks/c.bin`));
    assert.deepEqual(
      seen.filter((r) => r.method === 'PUT').map((r) => r.range?.start ?? '*'),
      [0, 256 * KiB, 512 * KiB, '*', 512 * KiB, 768 * KiB], // the '*' is the status query after the 503
    );
  });

  test('the resumable protocol by hand: status queries, short chunks, finished and failed sessions, unknown sessions', async () => {
    fresh();
    const open = async (name: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${gcs.endpoint}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
      assert.equal(r.status, 200);
      const session = r.headers.get('location')!;
      return (contentRange: string | undefined, body: Uint8Array = new Uint8Array(0), extra: Record<string, string> = {}) =>
        fetch(session, { method: 'PUT', headers: { ...(contentRange ? { 'content-range': contentRange } : {}), ...extra }, body });
    };
    const put = await open('hand/x.bin', { 'x-upload-content-type': 'text/plain' });
    let r = await put('bytes */*');
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('range'), null, 'nothing kept yet: no Range');
    const data = randomBytes(256 * KiB + 10, 5);
    r = await put('bytes 0-9/*', data.subarray(0, 10));
    assert.equal(r.status, 400, 'a chunk that is not the last must hold 256 KiB');
    r = await put(`bytes 0-${256 * KiB - 1}/*`, data.subarray(0, 256 * KiB));
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('range'), `bytes=0-${256 * KiB - 1}`);
    r = await put(`bytes */${data.length}`);
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('range'), `bytes=0-${256 * KiB - 1}`);
    r = await put(`bytes ${256 * KiB}-${data.length - 1}/${data.length}`, data.subarray(256 * KiB), { 'x-goog-hash': `crc32c=${crc32cBase64(data)},md5=${md5(data)}` });
    assert.equal(r.status, 200);
    const meta = (await r.json()) as Record<string, string>;
    assert.deepEqual([meta.name, meta.size, meta.contentType, meta.crc32c], ['hand/x.bin', String(data.length), 'text/plain', crc32cBase64(data)]);
    // a finished session answers its object's metadata
    r = await put('bytes */*');
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as Record<string, string>).generation, meta.generation);

    // the whole object in one PUT with a wrong checksum: refused, and the session is over
    const bad = await open('hand/bad.bin');
    r = await bad(undefined, data, { 'x-goog-hash': 'crc32c=AAAAAA==' });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /Provided CRC32C "AAAAAA==" doesn't match/);
    assert.equal((await bad('bytes */*')).status, 400);
    assert.equal(gcs.getObject(`${BUCKET}/hand/bad.bin`), undefined);

    r = await fetch(`${gcs.endpoint}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&upload_id=999`, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    assert.equal(r.status, 404);
    r = await fetch(`${gcs.endpoint}/upload/storage/v1/b/no-such-bucket/o?uploadType=media&name=x`, { method: 'POST', body: 'x' });
    assert.equal(r.status, 404);
    r = await fetch(`${gcs.endpoint}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=hand%2Fmedia.txt`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'media upload' });
    assert.equal(r.status, 200);
    assert.equal(Buffer.from(gcs.getObject(`${BUCKET}/hand/media.txt`)!).toString(), 'media upload');
  });

  test('delete: 204, then gone; 404 for a missing object; ifGenerationMatch → 412', async () => {
    fresh();
    const file = storage.bucket(BUCKET).file('del/a.bin');
    await file.save(Buffer.from('x'), { resumable: false });
    const generation = Number(file.metadata.generation);
    assert.equal((await rejection(file.delete({ ifGenerationMatch: generation + 1 }))).code, 412);
    await file.delete({ ifGenerationMatch: generation });
    assert.equal(gcs.log.at(-1)!.status, 204);
    assert.equal(gcs.getObject(`${BUCKET}/del/a.bin`), undefined);
    assert.deepEqual(await file.exists(), [false]);
    assert.equal((await rejection(file.delete())).code, 404);
    assert.equal(gcs.deleteRequests, 3);
  });

  test('a write whose answer is lost (drop-mid-body) is stored; a retry with ifGenerationMatch: 0 then gets 412', async () => {
    fresh();
    const noRetry = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test', retryOptions: { autoRetry: false } });
    const file = noRetry.bucket(BUCKET).file('lost/a.bin');
    gcs.setMode('drop-mid-body', { target: 'upload', times: 1 });
    await rejection(file.save(Buffer.from('once'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    assert.equal(Buffer.from(gcs.getObject(`${BUCKET}/lost/a.bin`)!).toString(), 'once');
    assert.equal((await rejection(file.save(Buffer.from('once'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }))).code, 412);
    // 'all' is the reads: uploads are not faulted by it
    gcs.setMode(503);
    await noRetry.bucket(BUCKET).file('lost/b.bin').save(Buffer.from('b'), { resumable: false });
    assert.equal((await rejection(file.download())).code, 503);
  });

  test('the fault rule: 503 on every third range of X, a stall on the first range of Y, normal otherwise', async () => {
    fresh();
    gcs.putObject(`${BUCKET}/x.root`, randomBytes(100_000, 6));
    gcs.putObject(`${BUCKET}/y.root`, randomBytes(100_000, 7));
    const x = gcs.getObject(`${BUCKET}/x.root`)!;
    const y = gcs.getObject(`${BUCKET}/y.root`)!;
    const noRetry = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test', retryOptions: { autoRetry: false } });
    const fx = noRetry.bucket(BUCKET).file('x.root');
    const fy = noRetry.bucket(BUCKET).file('y.root');
    const counts = new Map<string, number>();
    const seen: GcsRequest[] = [];
    gcs.setFaultRule((r) => {
      seen.push(r);
      if (r.kind !== 'media') return undefined;
      const n = (counts.get(r.key) ?? 0) + 1;
      counts.set(r.key, n);
      if (r.key === `${BUCKET}/x.root` && n % 3 === 0) return 503;
      if (r.key === `${BUCKET}/y.root` && n === 1) return 'stall';
      return undefined;
    });
    gcs.resetStats();
    const outcomes: (string | number)[] = [];
    for (let i = 0; i < 6; i++) {
      const start = i * 1000;
      const got = await fx.download({ start, end: start + 99 }).then(
        ([b]) => b,
        (e: { code: number }) => e.code,
      );
      if (typeof got === 'number') outcomes.push(got);
      else outcomes.push(got.equals(x.subarray(start, start + 100)) ? 'ok' : 'wrong bytes');
    }
    assert.deepEqual(outcomes, ['ok', 'ok', 503, 'ok', 'ok', 503]);
    // what the rule saw: the media ranges, as asked for, numbered as in the log
    assert.deepEqual(
      seen.map((r) => [r.kind, r.key, r.method, r.range]),
      Array.from({ length: 6 }, (_, i) => ['media', `${BUCKET}/x.root`, 'GET', { start: i * 1000, end: i * 1000 + 99 }]),
    );
    assert.deepEqual(seen.map((r) => r.requestNo), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(gcs.log.map((r) => r.mode), ['normal', 'normal', 503, 'normal', 'normal', 503]);

    assert.equal(await readRange(fy, 0, 99, 200), 'timeout');
    const again = await readRange(fy, 0, 99, 1000);
    assert.ok(again !== 'timeout' && again.equals(y.subarray(0, 100)));
    assert.equal(gcs.faultsApplied, 3);

    // the rule decides first; undefined leaves the request to setMode
    gcs.setMode(503, { target: 'media' });
    gcs.setFaultRule((r) => (r.key === `${BUCKET}/y.root` ? 'normal' : undefined));
    assert.equal((await fy.download({ start: 5, end: 9 }))[0].length, 5);
    assert.equal((await rejection(fx.download({ start: 5, end: 9 }))).code, 503);
    gcs.clearFaultRule();
    gcs.setMode('normal');
    assert.equal((await fx.download({ start: 5, end: 9 }))[0].length, 5);
    assert.equal(gcs.faultsApplied, 4);
  });

  test('the fault rule sees metadata, listing and upload requests too, with their keys', async () => {
    fresh();
    const kinds: string[] = [];
    gcs.setFaultRule((r) => {
      kinds.push(`${r.kind} ${r.key}`);
      return r.kind === 'list' ? 429 : undefined;
    });
    const noRetry = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'test', retryOptions: { autoRetry: false } });
    const bucket = noRetry.bucket(BUCKET);
    assert.equal((await rejection(bucket.getFiles({ prefix: 'dir/' }))).code, 429);
    await bucket.file('seed.bin').getMetadata();
    await bucket.file('rule/u.bin').save(Buffer.from('u'));
    await bucket.file('rule/u.bin').delete();
    assert.deepEqual(kinds, [`list ${BUCKET}/dir/`, `metadata ${BUCKET}/seed.bin`, `upload ${BUCKET}/rule/u.bin`, `upload ${BUCKET}/rule/u.bin`, `delete ${BUCKET}/rule/u.bin`]);
  });

  test('onMedia is called on arrival, before the answer; onRequest sees every request; undefined removes them', async () => {
    fresh();
    const arrivals: { key: string; range?: { start: number; end: number }; answered: boolean; inFlight: number }[] = [];
    gcs.onMedia((r) => arrivals.push({ key: r.key, range: r.range, answered: gcs.log[r.requestNo - 1]!.status !== undefined, inFlight: gcs.inFlight }));
    const all: string[] = [];
    const remove = gcs.onRequest((r) => all.push(r.kind));
    const file = storage.bucket(BUCKET).file('seed.bin');
    await file.download({ start: 10, end: 19 });
    await file.getMetadata();
    assert.deepEqual(arrivals, [{ key: `${BUCKET}/seed.bin`, range: { start: 10, end: 19 }, answered: false, inFlight: 1 }]);
    assert.deepEqual(all, ['media', 'metadata']);
    gcs.onMedia(undefined);
    remove();
    await file.download({ start: 0, end: 0 });
    assert.equal(arrivals.length, 1);
    assert.equal(all.length, 2);
  });
});

test('a child process with only STORAGE_EMULATOR_HOST: list, stat, range, uploads, no credentials, no metadata server', async () => {
  const seed = randomBytes(5000, 8);
  const gcs = await startFakeGcs({ [`${BUCKET}/in/a.root`]: seed, [`${BUCKET}/in/b.root`]: randomBytes(10, 9) });
  try {
    const script = `
      import { Storage } from '@google-cloud/storage';
      const bucket = new Storage().bucket(${JSON.stringify(BUCKET)});
      const [files] = await bucket.getFiles({ prefix: 'in/' });
      const [meta] = await bucket.file('in/a.root').getMetadata();
      const [range] = await bucket.file('in/a.root').download({ start: 100, end: 109 });
      await bucket.file('out/resumable.json').save(Buffer.from('{"r":1}'));
      await bucket.file('out/simple.json').save(Buffer.from('{"s":1}'), { resumable: false });
      console.log(JSON.stringify({ names: files.map((f) => f.name), size: meta.size, range: [...range] }));
    `;
    // The metadata server is pointed at the stand-in too, so a probe would show in its log.
    const env = { PATH: process.env.PATH ?? '', STORAGE_EMULATOR_HOST: gcs.endpoint, GCE_METADATA_HOST: `127.0.0.1:${gcs.port}`, GCE_METADATA_IP: `127.0.0.1:${gcs.port}` };
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env, timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    assert.deepEqual(JSON.parse(out), { names: ['in/a.root', 'in/b.root'], size: '5000', range: [...seed.subarray(100, 110)] });
    assert.equal(Buffer.from(gcs.getObject(`${BUCKET}/out/resumable.json`)!).toString(), '{"r":1}');
    assert.equal(Buffer.from(gcs.getObject(`${BUCKET}/out/simple.json`)!).toString(), '{"s":1}');
    assert.ok(!gcs.log.some((r) => r.path.startsWith('/computeMetadata')), 'no metadata server probe');
    // under STORAGE_EMULATOR_HOST the client sends the JSON API calls without /storage/v1
    assert.deepEqual(
      gcs.log.map((r) => `${r.method} ${r.path.replace(/\/o\/.*/, '/o/…')}`),
      [`GET /b/${BUCKET}/o`, `GET /b/${BUCKET}/o/…`, `GET /b/${BUCKET}/o/…`, `POST /upload/storage/v1/b/${BUCKET}/o`, `PUT /upload/storage/v1/b/${BUCKET}/o`, `POST /upload/storage/v1/b/${BUCKET}/o`],
    );
    assert.ok(gcs.log.every((r) => r.status === 200 || r.status === 206));
  } finally {
    await gcs.close();
  }
});

test('fields masks are applied as the JSON API applies them', () => {
  const value = { kind: 'storage#objects', items: [{ name: 'a', size: '1', generation: '7', bucket: 'b' }], nextPageToken: 't' };
  assert.deepEqual(applyFields(value, 'items(name,size,generation),nextPageToken'), { items: [{ name: 'a', size: '1', generation: '7' }], nextPageToken: 't' });
  assert.deepEqual(applyFields(value, 'items(name)'), { items: [{ name: 'a' }] });
  assert.deepEqual(applyFields(value, null), value);
});
