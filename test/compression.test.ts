// Tests of shared/root/compression.ts and shared/root/xxhash64.ts.
//
// Real blocks come from the sample files in ../shared/data (the same TTree in
// five compressions); the tests that need them are skipped when that folder is
// missing. Small xz/zstd inputs for the paths ROOT does not exercise (CRC64,
// SHA-256, no check, several xz blocks or streams, uncompressed LZMA2 chunks,
// zstd content checksums, frames without a content size) are embedded below.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as nodeZlib from 'node:zlib';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { zlibSync } from 'fflate';
import {
  adler32,
  compressionAlgorithmOf,
  crc32,
  crc64,
  decompressObject,
  getInflateImplementation,
  isCompressedObject,
  lz4DecodeBlock,
  parseBlockHeader,
  replaceNodeZstdDecompress,
  setInflateImplementation,
  setZstdImplementation,
  zstdDecoders,
  zstdImplementation,
  zstdReady,
  zstdWasmFailure,
  type InflateImplementation,
  type NodeZstdDecompress,
  type ZstdDecoderName,
} from '../shared/root/compression';
import { decompress as fzstdDecompress } from 'fzstd';
import { DEFAULT_LIMITS, RootError, type ErrorContext, type RootErrorCode } from '../shared/root/errors';
import { xxhash64, xxhash64Hex } from '../shared/root/compression/xxhash64';
import lz4js from 'lz4js';
import { sampleBytes } from '../scripts/lib/samples';

// ../shared/data, or a sha256-checked download when it is absent
const SAMPLES = new Map<string, Uint8Array>();
for (const name of [...['zlib', 'lz4', 'lzma', 'zstd', 'uncompressed'].map((c) => `uproot-HZZ-${c}.root`), 'DAOD_PHYSLITE_21.2.108.0.art.pool.root']) SAMPLES.set(name, await sampleBytes(name));
const IMPLS: InflateImplementation[] = ['node', 'fflate'];
// the WASM zstd decoder starts asynchronously (RootFile.open awaits this too)
await zstdReady();
const MAXBLOCK = 0xffffff;
const CTX: ErrorContext = { file: 'sample.root', branch: 'Muon_Px', basket: 7, offset: 1000 };

// ---------------------------------------------------------------------------
// helpers

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A ROOT block: 9-byte header + payload. */
function block(tag: string, method: number, payload: Uint8Array, uncompressedSize: number): Uint8Array {
  const c = payload.length, u = uncompressedSize;
  const h = new Uint8Array([tag.charCodeAt(0), tag.charCodeAt(1), method, c & 0xff, (c >>> 8) & 0xff, c >>> 16, u & 0xff, (u >>> 8) & 0xff, u >>> 16]);
  return concat(h, payload);
}

function zlibBlock(data: Uint8Array, level = 6): Uint8Array {
  return block('ZL', 8, new Uint8Array(deflateSync(data, { level })), data.length);
}

/** An L4 block around a raw LZ4 block, with its XXH64 checksum. */
function lz4Block(raw: Uint8Array, uncompressedSize: number): Uint8Array {
  const h = xxhash64(raw);
  const sum = new Uint8Array(8);
  new DataView(sum.buffer).setUint32(0, h.hi);
  new DataView(sum.buffer).setUint32(4, h.lo);
  return block('L4', 1, concat(sum, raw), uncompressedSize);
}

function sha256(d: Uint8Array): string {
  return createHash('sha256').update(d).digest('hex');
}

function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** Runs fn, which must throw a RootError with one of `codes` whose message names the context. */
function expectRootError(fn: () => unknown, codes: RootErrorCode | RootErrorCode[], pattern?: RegExp): RootError {
  const want = Array.isArray(codes) ? codes : [codes];
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RootError, `expected a RootError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
    assert.ok(want.includes(e.code), `expected ${want.join('|')}, got ${e.code}: ${e.message}`);
    assert.match(e.message, /sample\.root/, 'message names the file');
    assert.match(e.message, /basket 7/, 'message names the basket');
    assert.equal(e.context.file, 'sample.root');
    assert.equal(e.context.branch, 'Muon_Px');
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected a RootError ${want.join('|')}, nothing was thrown`);
}

function withInflate<T>(impl: InflateImplementation, fn: () => T): T {
  const before = getInflateImplementation();
  setInflateImplementation(impl);
  try {
    return fn();
  } finally {
    setInflateImplementation(before);
  }
}

/**
 * Decodes `blk` (of `size` bytes) behind a well-compressible zlib block.
 * Small or incompressible test blocks would otherwise be stored bigger than
 * they decode, which ROOT's rule reads as "not compressed".
 */
function afterLead(blk: Uint8Array, size: number): Uint8Array {
  const lead = textData(5000, 21);
  const out = decompressObject(concat(zlibBlock(lead), blk), lead.length + size, CTX);
  assert.deepEqual(out.subarray(0, lead.length), lead);
  return out.subarray(lead.length);
}

/** Deterministic generators (the embedded fixtures were made from these). */
function textData(n: number, seed = 1): Uint8Array {
  const words = ['muon', 'electron', 'jet', 'photon', 'tau', 'MET', 'pt', 'eta', 'phi', '\n'];
  const out = new Uint8Array(n);
  let x = seed, i = 0;
  while (i < n) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    const w = words[(x >>> 16) % words.length] + ' ';
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
  }
  return out;
}
function noise(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out[i] = x >>> 23;
  }
  return out;
}
function runs(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i >>> 12) & 0xff;
  return out;
}

/** A seeded PRNG for the corruption tests. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

interface FoundBlock {
  pos: number;
  tag: string;
  raw: Uint8Array; // header + payload
  u: number;
}

const SIGNATURE_METHOD: Record<string, number> = { ZL: 8, L4: 1, XZ: 0, ZS: 1 };

/** Finds compressed blocks in a whole file by their headers and payload signatures. */
function scanBlocks(file: Uint8Array): FoundBlock[] {
  const found: FoundBlock[] = [];
  for (let i = 0; i + 9 <= file.length; i++) {
    const h = parseBlockHeader(file, i)!;
    if (SIGNATURE_METHOD[h.tag] !== h.method || h.compressedSize === 0 || h.uncompressedSize === 0) continue;
    const end = i + 9 + h.compressedSize;
    if (end > file.length) continue;
    const p = i + 9;
    const ok =
      h.tag === 'ZL' ? (file[p] & 15) === 8 && ((file[p] << 8) | file[p + 1]) % 31 === 0
      : h.tag === 'XZ' ? file[p] === 0xfd && file[p + 1] === 0x37 && file[p + 2] === 0x7a
      : h.tag === 'ZS' ? file[p] === 0x28 && file[p + 1] === 0xb5 && file[p + 2] === 0x2f && file[p + 3] === 0xfd
      : true; // L4: the checksum decides
    if (!ok) continue;
    const raw = file.subarray(i, end);
    if (h.tag === 'L4') {
      const sum = xxhash64(raw, 0, 17, raw.length);
      const dv = new DataView(raw.buffer, raw.byteOffset + 9, 8);
      if (dv.getUint32(0) !== sum.hi || dv.getUint32(4) !== sum.lo) continue;
    }
    found.push({ pos: i, tag: h.tag, raw, u: h.uncompressedSize });
    i = end - 1;
  }
  return found;
}

function readSample(name: string): Uint8Array {
  return SAMPLES.get(name)!;
}

// ---------------------------------------------------------------------------
// checksums

/** Straightforward BigInt XXH64, as an independent reference for the 32-bit version. */
function xxh64Reference(data: Uint8Array, seed = 0n): bigint {
  const M = (1n << 64n) - 1n;
  const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const lane = (p: number) => new DataView(data.buffer, data.byteOffset + p, 8).getBigUint64(0, true);
  const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
  let p = 0;
  let h: bigint;
  if (data.length >= 32) {
    const v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M];
    for (; p + 32 <= data.length; p += 32) for (let k = 0; k < 4; k++) v[k] = round(v[k], lane(p + 8 * k));
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M;
    for (const x of v) h = (((h ^ round(0n, x)) * P1) & M) + P4 & M;
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(data.length)) & M;
  for (; p + 8 <= data.length; p += 8) h = ((rotl(h ^ round(0n, lane(p)), 27n) * P1) & M) + P4 & M;
  if (p + 4 <= data.length) {
    const w = BigInt(new DataView(data.buffer, data.byteOffset + p, 4).getUint32(0, true));
    h = ((rotl(h ^ ((w * P1) & M), 23n) * P2) & M) + P3 & M;
    p += 4;
  }
  for (; p < data.length; p++) h = (rotl(h ^ ((BigInt(data[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

describe('checksums', () => {
  test('xxhash64 matches published vectors', () => {
    assert.equal(xxhash64Hex(bytes('')), 'ef46db3751d8e999');
    assert.equal(xxhash64Hex(bytes('a')), 'd24ec4f1a98c6e5b');
    assert.equal(xxhash64Hex(bytes('abc')), '44bc2cf5ad770999');
    assert.equal(xxhash64Hex(bytes('Nobody inspects the spammish repetition')), 'fbcea83c8a378bf1');
  });

  test('xxhash64 agrees with a BigInt reference on every length and several seeds', () => {
    const data = noise(5000, 99);
    const lengths = [...Array.from({ length: 100 }, (_, i) => i), 127, 128, 129, 1000, 4099, 5000];
    for (const seed of [0, 1, 2 ** 40 + 5]) {
      for (const n of lengths) {
        const d = data.subarray(5000 - n); // odd byteOffsets too
        const { hi, lo } = xxhash64(d, seed);
        const got = (BigInt(hi) << 32n) | BigInt(lo);
        assert.equal(got, xxh64Reference(d, BigInt(seed)), `length ${n} seed ${seed}`);
      }
    }
    // a sub-range gives the hash of the sub-range
    assert.deepEqual(xxhash64(data, 0, 10, 300), xxhash64(data.slice(10, 300)));
  });

  test('crc32, crc64 and adler32 match their check values', () => {
    const check = bytes('123456789');
    assert.equal(crc32(check), 0xcbf43926);
    assert.deepEqual(crc64(check), { hi: 0x995dc9bb, lo: 0xdf1939fa });
    assert.equal(adler32(bytes('Wikipedia')), 0x11e60398);
    assert.equal(adler32(new Uint8Array(0)), 1);
    // long inputs: against the adler32 zlib writes into its trailer, and Node's native CRC-32 where it exists
    for (const n of [1, 3799, 3800, 3801, 100_000]) {
      const d = noise(n, n);
      const z = deflateSync(d);
      assert.equal(adler32(d), z.readUInt32BE(z.length - 4), `adler32 of ${n} bytes`);
      const native = (nodeZlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (native) assert.equal(crc32(d), native(d) >>> 0, `crc32 of ${n} bytes`);
    }
    const all255 = new Uint8Array(100_000).fill(255); // worst case for the deferred modulo
    const z = deflateSync(all255);
    assert.equal(adler32(all255), z.readUInt32BE(z.length - 4));
  });
});

// ---------------------------------------------------------------------------
// headers and the uncompressed case

describe('block headers', () => {
  test('parseBlockHeader and compressionAlgorithmOf read the 9-byte header', () => {
    const b = block('ZS', 1, new Uint8Array(0x123456 % 50), 0xabcdef);
    const h = parseBlockHeader(b)!;
    assert.equal(h.tag, 'ZS');
    assert.equal(h.algorithm, 'zstd');
    assert.equal(h.method, 1);
    assert.equal(h.compressedSize, 0x123456 % 50);
    assert.equal(h.uncompressedSize, 0xabcdef);
    assert.equal(parseBlockHeader(b.subarray(0, 8)), null);
    assert.equal(parseBlockHeader(b, b.length - 8), null);
    const tags: [string, string][] = [['ZL', 'zlib'], ['XZ', 'lzma'], ['L4', 'lz4'], ['ZS', 'zstd'], ['CS', 'old'], ['QQ', 'unknown']];
    for (const [tag, algorithm] of tags) assert.equal(compressionAlgorithmOf(block(tag, 0, new Uint8Array(4), 100)), algorithm);
    assert.equal(compressionAlgorithmOf(block('ZL', 8, new Uint8Array(4), 100), 100), 'zlib');
    assert.equal(compressionAlgorithmOf(bytes('ZL plain bytes'), 14), 'none');
    assert.equal(compressionAlgorithmOf(new Uint8Array(1)), 'unknown');
    assert.equal(isCompressedObject(10, 11), true);
    assert.equal(isCompressedObject(10, 10), false);
  });

  test('an object whose stored size is not smaller than its size is returned without a copy', () => {
    const stored = bytes('ZL this only looks compressed');
    assert.equal(decompressObject(stored, stored.length, CTX), stored);
    const prefix = decompressObject(stored, 5, CTX);
    assert.equal(prefix.buffer, stored.buffer);
    assert.deepEqual(prefix, stored.subarray(0, 5));
    assert.equal(decompressObject(new Uint8Array(0), 0, CTX).length, 0);
  });

  test('setInflateImplementation rejects unknown names', () => {
    assert.throws(() => setInflateImplementation('pako' as InflateImplementation), (e: unknown) => e instanceof RootError && e.code === 'BAD_ARGUMENT');
    assert.equal(getInflateImplementation(), 'node');
  });
});

// ---------------------------------------------------------------------------
// zlib and the old deflate format

describe('zlib', () => {
  const data = textData(200_000, 5);

  for (const impl of IMPLS) {
    test(`${impl}: inflates what Node's zlib and fflate deflate, at several levels`, () => {
      withInflate(impl, () => {
        for (const level of [1, 6, 9]) {
          assert.deepEqual(decompressObject(zlibBlock(data, level), data.length, CTX), data, `node level ${level}`);
        }
        const viaFflate = block('ZL', 8, zlibSync(data, { level: 9 }), data.length);
        assert.deepEqual(decompressObject(viaFflate, data.length, CTX), data, 'fflate level 9');
      });
    });

    test(`${impl}: the per-call option overrides the process-wide choice`, () => {
      const other = impl === 'node' ? 'fflate' : 'node';
      withInflate(other, () => {
        assert.deepEqual(decompressObject(zlibBlock(data), data.length, CTX, DEFAULT_LIMITS, { inflate: impl }), data);
      });
    });

    test(`${impl}: a multi-block object (two zlib blocks, then an LZ4 block) decodes into one buffer`, () => {
      withInflate(impl, () => {
        const a = data.subarray(0, 70_000), b = data.subarray(70_000, 150_000);
        const lit = bytes('tail literals');
        const raw = concat(new Uint8Array([lit.length << 4]), lit);
        const object = concat(zlibBlock(a), zlibBlock(b, 1), lz4Block(raw, lit.length));
        const out = decompressObject(object, a.length + b.length + lit.length, CTX);
        assert.deepEqual(out, concat(a, b, lit));
        assert.equal(out.byteOffset, 0);
        assert.equal(out.buffer.byteLength, out.length);
        // bytes after the last block are ignored, as ROOT does
        assert.deepEqual(decompressObject(concat(object, bytes('junk')), out.length, CTX), out);
      });
    });

    test(`${impl}: a flipped adler32 byte is a CHECKSUM error naming the context`, () => {
      withInflate(impl, () => {
        const b = zlibBlock(data);
        b[b.length - 2] ^= 0x40;
        expectRootError(() => decompressObject(b, data.length, CTX), 'CHECKSUM', /adler32/);
      });
    });

    test(`${impl}: flipped bytes in the deflate data are DECOMPRESSION or CHECKSUM errors`, () => {
      withInflate(impl, () => {
        const rnd = prng(11);
        const clean = zlibBlock(data);
        for (let k = 0; k < 40; k++) {
          const b = clean.slice();
          const at = 11 + Math.floor(rnd() * (b.length - 15));
          b[at] ^= 1 + Math.floor(rnd() * 255);
          expectRootError(() => decompressObject(b, data.length, CTX), ['DECOMPRESSION', 'CHECKSUM']);
        }
      });
    });

    test(`${impl}: a block that inflates to fewer or more bytes than declared is rejected`, () => {
      withInflate(impl, () => {
        const payload = deflateSync(data);
        const short = block('ZL', 8, payload, data.length + 10);
        expectRootError(() => decompressObject(short, data.length + 10, CTX), 'DECOMPRESSION', /inflates to 200000 bytes/);
        const long = block('ZL', 8, payload, data.length - 10);
        // Node stops at the declared size; fflate drops the excess and the adler32 then disagrees
        expectRootError(() => decompressObject(long, data.length - 10, CTX), ['DECOMPRESSION', 'CHECKSUM']);
      });
    });

    test(`${impl}: a truncated zlib stream is an error`, () => {
      withInflate(impl, () => {
        const payload = deflateSync(data);
        const cut = block('ZL', 8, payload.subarray(0, payload.length - 100), data.length);
        expectRootError(() => decompressObject(cut, data.length, CTX), ['DECOMPRESSION', 'CHECKSUM']);
      });
    });

    test(`${impl}: CS blocks (ROOT's old format) are raw deflate without checksum`, () => {
      withInflate(impl, () => {
        const cs = block('CS', 8, new Uint8Array(deflateRawSync(data)), data.length);
        assert.deepEqual(decompressObject(cs, data.length, CTX), data);
        assert.equal(compressionAlgorithmOf(cs), 'old');
        const bad = cs.slice();
        bad[9] = 0xff; // block type 3 does not exist
        expectRootError(() => decompressObject(bad, data.length, CTX), 'DECOMPRESSION');
      });
    });
  }

  test('node: data after the end of the zlib stream inside its block is rejected', () => {
    const payload = concat(deflateSync(data), new Uint8Array(3));
    expectRootError(() => decompressObject(block('ZL', 8, payload, data.length), data.length, CTX, DEFAULT_LIMITS, { inflate: 'node' }), 'DECOMPRESSION', /ends after/);
  });
});

// ---------------------------------------------------------------------------
// structural errors

describe('object structure', () => {
  const data = textData(5000, 2);

  test('a truncated object is TRUNCATED', () => {
    const b = zlibBlock(data);
    expectRootError(() => decompressObject(b.subarray(0, b.length - 1), data.length, CTX), 'TRUNCATED', /runs to input byte/);
    expectRootError(() => decompressObject(b.subarray(0, 5), data.length, CTX), 'TRUNCATED');
    // the second of two blocks is missing
    const two = concat(zlibBlock(data), zlibBlock(data));
    expectRootError(() => decompressObject(two.subarray(0, b.length), 2 * data.length, CTX), 'TRUNCATED', /still to produce/);
  });

  test('a size above limits.maxObjectBytes is LIMIT, checked before allocating', () => {
    const limits = { ...DEFAULT_LIMITS, maxObjectBytes: 1 << 20 };
    const claim16MiB = block('ZL', 8, new Uint8Array(100), MAXBLOCK);
    expectRootError(() => decompressObject(claim16MiB, MAXBLOCK, CTX, limits), 'LIMIT', /limits\.maxObjectBytes/);
    expectRootError(() => decompressObject(claim16MiB, 2 ** 40, CTX, limits), 'LIMIT');
    expectRootError(() => decompressObject(claim16MiB, -1, CTX, limits), 'CORRUPT');
  });

  test('a block claiming more than the object has left is CORRUPT', () => {
    const b = zlibBlock(data);
    expectRootError(() => decompressObject(b, data.length - 1, CTX), 'CORRUPT', /only 4999/);
    const zero = block('ZL', 8, new Uint8Array(10), 0);
    expectRootError(() => decompressObject(concat(zero, b), data.length, CTX), 'CORRUPT', /zero size/);
  });

  test('an unknown tag or method is UNSUPPORTED and named', () => {
    const e = expectRootError(() => decompressObject(block('QQ', 1, new Uint8Array(10), 50), 50, CTX), 'UNSUPPORTED', /"QQ"/);
    assert.equal(e.context.offset, CTX.offset);
    expectRootError(() => decompressObject(block('\u0001\u0002', 1, new Uint8Array(10), 50), 50, CTX), 'UNSUPPORTED', /0x0102/);
    expectRootError(() => decompressObject(block('ZL', 9, new Uint8Array(10), 50), 50, CTX), 'UNSUPPORTED', /method byte 9/);
    expectRootError(() => decompressObject(block('L4', 2, new Uint8Array(10), 50), 50, CTX), 'UNSUPPORTED', /method byte 2/);
  });

  test('errors in a later block report that block and its file offset', () => {
    const good = zlibBlock(data);
    const bad = zlibBlock(data);
    bad[bad.length - 1] ^= 1;
    const e = expectRootError(() => decompressObject(concat(good, bad), 2 * data.length, CTX), 'CHECKSUM', /block 1 \(input byte \d+/);
    assert.equal(e.context.offset, CTX.offset! + good.length);
    assert.match(e.message, new RegExp(`at byte ${CTX.offset! + good.length}`));
    // without an offset in the context none is invented
    try {
      decompressObject(concat(good, bad), 2 * data.length, { file: 'x.root' });
      assert.fail('no error');
    } catch (err) {
      assert.ok(err instanceof RootError);
      assert.equal(err.context.offset, undefined);
    }
  });
});

// ---------------------------------------------------------------------------
// LZ4

describe('lz4', () => {
  const decodeAfterLead = (raw: Uint8Array, size: number) => afterLead(lz4Block(raw, size), size);

  test('literals, overlapping and non-overlapping matches decode', () => {
    // "abc", then a match of 200 at offset 3 (overlapping), then 5 literals
    const raw1 = concat(new Uint8Array([0x3f]), bytes('abc'), new Uint8Array([3, 0, 200 - 19, 0x50]), bytes('12345'));
    assert.equal(new TextDecoder().decode(decompressObject(lz4Block(raw1, 208), 208, CTX)), 'abc'.repeat(68).slice(0, 203) + '12345');
    // one literal then a run of 1000 copies of it (offset 1, doubling copies)
    const ext: number[] = [];
    for (let n = 1000 - 4 - 15; ; n -= 255) {
      ext.push(Math.min(n, 255));
      if (n < 255) break;
    }
    const raw2 = new Uint8Array([0x1f, 0x41, 1, 0, ...ext, 0x10, 0x42]);
    const out2 = decompressObject(lz4Block(raw2, 1002), 1002, CTX);
    assert.equal(out2.length, 1002);
    assert.ok(out2.subarray(0, 1001).every((c) => c === 0x41));
    assert.equal(out2[1001], 0x42);
    // 100 literals then a match of 50 at offset 100 (no overlap), then one literal
    const lits = noise(100, 4);
    const raw3 = concat(new Uint8Array([0xff, 100 - 15]), lits, new Uint8Array([100, 0, 50 - 19, 0x10, 7]));
    assert.deepEqual(decodeAfterLead(raw3, 151), concat(lits, lits.subarray(0, 50), new Uint8Array([7])));
    // the same through the bare block decoder
    const dst = new Uint8Array(151);
    assert.equal(lz4DecodeBlock(raw3, 0, raw3.length, dst), 151);
    assert.deepEqual(dst, concat(lits, lits.subarray(0, 50), new Uint8Array([7])));
  });

  test('a flipped byte anywhere in the payload or checksum is a CHECKSUM error', () => {
    const raw = concat(new Uint8Array([0xff, 200 - 15]), noise(200, 8), new Uint8Array([200, 0, 0xff, 0xff, 30, 0x10, 1]));
    const clean = lz4Block(raw, 200 + 4 + 15 + 255 + 255 + 30 + 1);
    const size = parseBlockHeader(clean)!.uncompressedSize;
    assert.equal(decompressObject(clean, size, CTX).length, size);
    for (const at of [9, 12, 16, 17, 40, clean.length - 1]) {
      const b = clean.slice();
      b[at] ^= 0x20;
      expectRootError(() => decompressObject(b, size, CTX), 'CHECKSUM', /XXH64/);
    }
  });

  test('malformed blocks with valid checksums are DECOMPRESSION errors, never out-of-bounds writes', () => {
    const cases: [string, number[], number][] = [
      ['offset before the start', [0x10, 0x41, 5, 0, 0x10, 0x42], 6],
      ['zero offset', [0x10, 0x41, 0, 0, 0x10, 0x42], 6],
      ['literal run past the input', [0x50, 1, 2], 5],
      ['more output than declared', [0xf0, 200 - 15, ...noise(200)], 100],
      ['match past the declared size', [0x1f, 0x41, 1, 0, 250, 0x10, 0x42], 20],
      ['ends after a match', [0x10, 0x41, 1, 0], 5],
      ['ends inside an offset', [0x10, 0x41, 1], 5],
      ['ends inside a length', [0xf0, 255, 255], 600],
    ];
    for (const [what, raw, size] of cases) {
      const guard = new Uint8Array(size + 64).fill(0xee);
      const dst = guard.subarray(0, size);
      assert.throws(() => lz4DecodeBlock(new Uint8Array(raw), 0, raw.length, dst), /LZ4/, what);
      assert.ok(guard.subarray(size).every((c) => c === 0xee), `${what}: nothing written past the output`);
      expectRootError(() => decodeAfterLead(new Uint8Array(raw), size), 'DECOMPRESSION');
    }
    // a block that ends early is caught by the size check
    const short = new Uint8Array([0x30, 0x41, 0x42, 0x43]);
    assert.equal(lz4DecodeBlock(short, 0, short.length, new Uint8Array(10)), 3);
    expectRootError(() => decodeAfterLead(short, 10), 'DECOMPRESSION', /decodes to 3 bytes/);
  });
});

// ---------------------------------------------------------------------------
// xz (LZMA2) and zstd on embedded fixtures

describe('xz', () => {
  const t10k = textData(10000);
  const t300 = textData(300, 3);
  const xz = (name: keyof typeof FIXTURES, size: number) => block('XZ', 0, fromBase64(FIXTURES[name]), size);

  test('decodes streams with CRC32, CRC64, SHA-256 and no check', () => {
    assert.deepEqual(decompressObject(xz('t10k_crc64_xz', 10000), 10000, CTX), t10k, 'three xz blocks, CRC64');
    assert.deepEqual(decompressObject(xz('t300_none_xz', 300), 300, CTX), t300, 'no check');
    assert.deepEqual(decompressObject(xz('t300_sha256_xz', 300), 300, CTX), t300, 'SHA-256');
    assert.deepEqual(afterLead(xz('noise_xz', 1000), 1000), noise(1000), 'uncompressed LZMA2 chunk');
    const big = runs(3 << 20);
    assert.deepEqual(decompressObject(xz('runs3m_xz', big.length), big.length, CTX), big, 'two LZMA2 chunks, the second continuing the state');
  });

  test('concatenated streams with stream padding decode', () => {
    const payload = concat(fromBase64(FIXTURES.t300_none_xz), new Uint8Array(8), fromBase64(FIXTURES.t300_sha256_xz));
    assert.deepEqual(decompressObject(block('XZ', 0, payload, 600), 600, CTX), concat(t300, t300));
    const badPadding = concat(fromBase64(FIXTURES.t300_none_xz), new Uint8Array(3));
    expectRootError(() => decompressObject(block('XZ', 0, badPadding, 300), 300, CTX), 'DECOMPRESSION', /padding/);
  });

  test('every flipped byte is caught (CRCs cover the whole stream)', () => {
    const clean = xz('t10k_crc64_xz', 10000);
    const rnd = prng(5);
    for (let k = 0; k < 60; k++) {
      const b = clean.slice();
      b[9 + Math.floor(rnd() * (b.length - 9))] ^= 1 << Math.floor(rnd() * 8);
      expectRootError(() => decompressObject(b, 10000, CTX), ['DECOMPRESSION', 'CHECKSUM']);
    }
    const crcFlip = clean.slice();
    crcFlip[crcFlip.length - 13] ^= 1; // inside the index CRC32 / last block check region
    expectRootError(() => decompressObject(crcFlip, 10000, CTX), ['DECOMPRESSION', 'CHECKSUM']);
    const headerFlip = clean.slice();
    headerFlip[9 + 8] ^= 1; // stream header CRC32
    expectRootError(() => decompressObject(headerFlip, 10000, CTX), 'CHECKSUM', /stream header CRC32/);
  });

  test('a wrong declared size or a truncated stream is an error', () => {
    expectRootError(() => decompressObject(xz('t300_none_xz', 301), 301, CTX), 'DECOMPRESSION', /more than|decodes to 300/);
    expectRootError(() => decompressObject(xz('t300_none_xz', 299), 299, CTX), 'DECOMPRESSION', /more than/);
    const p = fromBase64(FIXTURES.t10k_crc64_xz);
    for (const cut of [5, 12, 30, 500, p.length - 20, p.length - 1]) {
      expectRootError(() => decompressObject(block('XZ', 0, p.subarray(0, cut), 10000), 10000, CTX), 'DECOMPRESSION', /cut short|produces|no end marker|packed/);
    }
  });

  test('filters other than LZMA2 are UNSUPPORTED and named', () => {
    expectRootError(() => decompressObject(xz('t300_delta_xz', 300), 300, CTX), 'UNSUPPORTED', /delta/);
  });
});

describe('zstd', () => {
  const t10k = textData(10000);
  const t300 = textData(300, 3);
  const zs = (name: keyof typeof FIXTURES, size: number) => block('ZS', 1, fromBase64(FIXTURES[name]), size);

  test('the WASM decoder starts; Node >= 22.15 adds its built-in, and the default uses what there is', () => {
    const have = zstdDecoders();
    assert.ok(have.includes('wasm'), zstdWasmFailure() ?? 'wasm missing');
    assert.equal(have.includes('node'), typeof (nodeZlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function');
    assert.equal(zstdImplementation(), have.includes('node') ? 'node+wasm' : 'wasm');
  });

  // every path: each decoder of this process, and the 'node' path through a
  // stand-in for Node's built-in when this Node has none (see nodeStandIn)
  const paths: [string, ZstdDecoderName, NodeZstdDecompress | null][] = zstdDecoders().map((d) => [d, d, null]);
  if (!zstdDecoders().includes('node')) paths.push(["node (a stand-in for Node's built-in)", 'node', nodeStandIn]);

  for (const [label, d, standIn] of paths) {
    describe(`decoder ${label}`, () => {
      const run = <T>(fn: () => T): T => {
        if (standIn) replaceNodeZstdDecompress(standIn);
        try {
          return fn();
        } finally {
          if (standIn) replaceNodeZstdDecompress(null);
        }
      };
      const dec = (b: Uint8Array, size: number) => run(() => decompressObject(b, size, CTX, DEFAULT_LIMITS, { zstd: d }));

      test('decodes frames with and without content size and checksum', () => {
        assert.deepEqual(dec(zs('t10k_zst', 10000), 10000), t10k, 'content size + checksum');
        assert.deepEqual(dec(zs('t300_nofcs_zst', 300), 300), t300, 'checksum, no content size');
        assert.deepEqual(dec(zs('t300_plain_zst', 300), 300), t300, 'content size, no checksum (as ROOT writes)');
      });

      test('decodes into the middle of a multi-block object', () => {
        const out = dec(concat(zs('t300_plain_zst', 300), zs('t10k_zst', 10000)), 10300);
        assert.deepEqual(out.subarray(0, 300), t300);
        assert.deepEqual(out.subarray(300), t10k);
      });

      test('the content checksum is verified', () => {
        const b = zs('t10k_zst', 10000);
        b[b.length - 1] ^= 1;
        expectRootError(() => dec(b, 10000), 'CHECKSUM', /zstd content checksum/);
        const rnd = prng(9);
        const clean = zs('t10k_zst', 10000);
        for (let k = 0; k < 40; k++) {
          const c = clean.slice();
          c[9 + 6 + Math.floor(rnd() * (c.length - 15))] ^= 1 << Math.floor(rnd() * 8);
          expectRootError(() => dec(c, 10000), ['DECOMPRESSION', 'CHECKSUM']);
        }
      });

      test('a frame without content size that decodes to more or less than declared is an error', () => {
        expectRootError(() => dec(zs('t300_nofcs_zst', 299), 299), 'DECOMPRESSION', /more than the 299 bytes|decodes to 300 bytes/);
        expectRootError(() => dec(zs('t300_nofcs_zst', 301), 301), 'DECOMPRESSION', /decodes to 300 bytes|does not decode/);
      });

      test('a content size different from the block header, a truncated frame or trailing bytes are errors', () => {
        expectRootError(() => dec(zs('t300_plain_zst', 299), 299), 'DECOMPRESSION', /content size is 300/);
        const p = fromBase64(FIXTURES.t300_plain_zst);
        expectRootError(() => dec(block('ZS', 1, p.subarray(0, p.length - 3), 300), 300), 'DECOMPRESSION', /cut short/);
        expectRootError(() => dec(block('ZS', 1, concat(p, new Uint8Array(2)), 300), 300), 'DECOMPRESSION', /ends 2 bytes before/);
        expectRootError(() => dec(block('ZS', 1, bytes('not a zstd frame'), 300), 300), 'DECOMPRESSION', /magic/);
      });

      test('every ZS block of the HZZ sample decodes to the bytes the other decoders give', () => {
        const blocks = scanBlocks(readSample('uproot-HZZ-zstd.root')).filter((b) => b.tag === 'ZS');
        assert.ok(blocks.length >= 50);
        for (const b of blocks) {
          const ours = dec(b.raw, b.u);
          const reference = decompressObject(b.raw, b.u, CTX, DEFAULT_LIMITS, { zstd: 'fzstd' });
          assert.ok(Buffer.from(ours.buffer, ours.byteOffset, ours.length).equals(reference), `block at ${b.pos}`);
        }
      });
    });
  }

  test('forcing a decoder: unknown names and missing decoders are typed errors; auto restores the default', () => {
    assert.throws(() => setZstdImplementation('zlib' as ZstdDecoderName), (e) => e instanceof RootError && e.code === 'BAD_ARGUMENT');
    if (!zstdDecoders().includes('node')) {
      assert.throws(() => setZstdImplementation('node'), (e) => e instanceof RootError && e.code === 'UNSUPPORTED' && /22\.15/.test(e.message));
    }
    const before = zstdImplementation();
    setZstdImplementation('fzstd');
    try {
      assert.equal(zstdImplementation(), 'fzstd');
      assert.deepEqual(decompressObject(zs('t300_plain_zst', 300), 300, CTX), t300);
    } finally {
      setZstdImplementation('auto');
    }
    assert.equal(zstdImplementation(), before);
  });
});

/**
 * Stands in for Node's zlib.zstdDecompressSync where this Node has none,
 * failing the way Node's does (Node 22.22: `ERR_BUFFER_TOO_LARGE` beyond
 * maxOutputLength; libzstd's error as `code` "ZSTD_error_…" and `errno`, e.g.
 * 22 for a wrong checksum). It decodes with fzstd and checks the checksum with
 * the BigInt reference XXH64 above.
 */
function nodeStandIn(buf: Uint8Array, options: { maxOutputLength: number }): { buffer: Buffer } {
  const libzstdError = (name: string, errno: number) => Object.assign(new Error(name), { code: `ZSTD_error_${name}`, errno });
  let out: Uint8Array;
  try {
    out = fzstdDecompress(buf);
  } catch {
    throw libzstdError('corruption_detected', 20);
  }
  if (out.length > options.maxOutputLength) throw Object.assign(new RangeError('Cannot create a Buffer larger than the limit'), { code: 'ERR_BUFFER_TOO_LARGE' });
  if (buf[4] & 4) {
    const n = buf.length;
    const stored = (buf[n - 4] | (buf[n - 3] << 8) | (buf[n - 2] << 16) | (buf[n - 1] << 24)) >>> 0;
    if (Number(xxh64Reference(out) & 0xffffffffn) !== stored) throw libzstdError('checksum_wrong', 22);
  }
  return { buffer: Buffer.from(out) };
}

// ---------------------------------------------------------------------------
// the sample files: the same TTree in five compressions

describe('sample files', () => {
  const CODECS = [
    ['zlib', 'ZL'],
    ['lz4', 'L4'],
    ['lzma', 'XZ'],
    ['zstd', 'ZS'],
  ] as const;

  test('every compressed block of every codec decodes, and the baskets equal the uncompressed file', () => {
    const uncompressed = Buffer.from(readSample('uproot-HZZ-uncompressed.root'));
    const basketHashes = new Map<string, Set<string>>();
    for (const [name, tag] of CODECS) {
      const file = readSample(`uproot-HZZ-${name}.root`);
      const blocks = scanBlocks(file).filter((b) => b.tag === tag);
      assert.ok(blocks.length >= 50, `${name}: found ${blocks.length} blocks`);
      const hashes = new Set<string>();
      const impls: (InflateImplementation | undefined)[] = name === 'zlib' ? IMPLS : [undefined];
      let inUncompressed = 0;
      for (const b of blocks) {
        const ctx = { file: `uproot-HZZ-${name}.root`, offset: b.pos };
        const outs = impls.map((inflate) => decompressObject(b.raw, b.u, ctx, DEFAULT_LIMITS, { inflate }));
        for (const o of outs) assert.equal(o.length, b.u);
        if (outs.length === 2) assert.deepEqual(outs[0], outs[1], 'node and fflate agree');
        // Baskets are stored byte for byte in the uncompressed file; the TTree
        // metadata and the streamer list differ (they record the compression).
        if (uncompressed.indexOf(Buffer.from(outs[0].buffer, outs[0].byteOffset, outs[0].length)) >= 0) {
          inUncompressed++;
          hashes.add(sha256(outs[0]));
        }
      }
      assert.ok(inUncompressed >= blocks.length - 2, `${name}: ${blocks.length - inUncompressed} decoded blocks are not in the uncompressed file`);
      basketHashes.set(name, hashes);
    }
    const zlib = basketHashes.get('zlib')!;
    assert.deepEqual(basketHashes.get('lzma'), zlib);
    assert.deepEqual(basketHashes.get('zstd'), zlib);
    // LZ4 stores a few baskets uncompressed (it could not shrink them); the rest are the same
    for (const h of basketHashes.get('lz4')!) assert.ok(zlib.has(h));
    assert.ok(basketHashes.get('lz4')!.size >= zlib.size - 8);
  });

  test('our LZ4 block decoder agrees with lz4js on every LZ4 block of the sample', () => {
    const blocks = scanBlocks(readSample('uproot-HZZ-lz4.root')).filter((b) => b.tag === 'L4');
    assert.ok(blocks.length >= 50);
    for (const b of blocks) {
      const ours = new Uint8Array(b.u);
      const theirs = new Uint8Array(b.u);
      assert.equal(lz4DecodeBlock(b.raw, 9 + 8, b.raw.length, ours), b.u);
      assert.equal(lz4js.decompressBlock(b.raw, theirs, 9 + 8, b.raw.length - 17, 0), b.u);
      assert.deepEqual(ours, theirs);
    }
  });

  test('ROOT frames: zstd has a content size and no checksum, xz a CRC32 check, L4 method 1', () => {
    const zs = scanBlocks(readSample('uproot-HZZ-zstd.root')).find((b) => b.tag === 'ZS')!;
    assert.equal(zs.raw[9 + 4], 0x60);
    const xz = scanBlocks(readSample('uproot-HZZ-lzma.root')).find((b) => b.tag === 'XZ')!;
    assert.equal(xz.raw[9 + 7], 1);
    const l4 = scanBlocks(readSample('uproot-HZZ-lz4.root')).find((b) => b.tag === 'L4')!;
    assert.equal(l4.raw[2], 1);
  });

  test('corrupting real blocks only ever yields RootErrors (or, for unchecked zstd, bytes of the right length)', () => {
    const rnd = prng(1234);
    for (const [name, tag] of CODECS) {
      const blocks = scanBlocks(readSample(`uproot-HZZ-${name}.root`)).filter((b) => b.tag === tag);
      const clean = blocks[3];
      for (let k = 0; k < 25; k++) {
        const b = clean.raw.slice();
        const flips = 1 + Math.floor(rnd() * 3);
        for (let f = 0; f < flips; f++) b[9 + Math.floor(rnd() * (b.length - 9))] ^= 1 + Math.floor(rnd() * 255);
        const cut = rnd() < 0.3 ? b.subarray(0, 9 + Math.floor(rnd() * (b.length - 9))) : b;
        try {
          const out = decompressObject(cut, clean.u, CTX);
          assert.equal(out.length, clean.u);
          // only zstd without a checksum (as ROOT writes it) can miss a corruption
          assert.equal(tag, 'ZS', `${name}: corruption went unnoticed`);
        } catch (e) {
          assert.ok(e instanceof RootError, `${name}: ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
    }
  });

  test('node and fflate inflate every block of a PHYSLITE file identically', () => {
    const file = readSample('DAOD_PHYSLITE_21.2.108.0.art.pool.root');
    const blocks = scanBlocks(file).filter((b) => b.tag === 'ZL');
    assert.ok(blocks.length > 1000);
    let total = 0;
    for (const b of blocks) {
      const n = decompressObject(b.raw, b.u, CTX, DEFAULT_LIMITS, { inflate: 'node' });
      const f = decompressObject(b.raw, b.u, CTX, DEFAULT_LIMITS, { inflate: 'fflate' });
      assert.ok(Buffer.from(n.buffer, n.byteOffset, n.length).equals(f), `block at ${b.pos}`);
      total += n.length;
    }
    assert.ok(total > 10_000_000);
  });
});

// Fixtures made with the xz 5 and zstd 1.5 command-line tools from the generators below
// (textData/noise/runs); regenerate with e.g. `xz -6 --check=crc64 --block-size=4000`.
const FIXTURES = {
  t10k_crc64_xz:
    '/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4A+fAwBdADgaCWDRnAjtwGeQDleDioyzyTfmSmfpk36EsbnfTe9o+2l4fYMV2+Bjprda+vJ5LRpchx' +
    '1/t/SvP+w3rDyeR1Qk/RYv4kV5HmNAZsTu7Uj4m3UTPWD1FQvRpfv7ufggLDj1TIK7uk3Acz0tuVnWFsJW3mZtJ1X+QHSalN/Y3bO2sFQ7srsD' +
    '2s8PHnPecjR2lgo8CyJQ/5zHpsmvtjqaD1tAhKP2ddd6+Fp7s6mHtEIVjLG6IW8HqYxJS/iCxpo3G07FlaEPUifQc7o5N/uYaTA8WQr93TXfV+' +
    '44WYD8lPYMINWcTLHGAFWCicqOW+QCaV9qZyQJxflnicZN3Y0jSKbBLInnNombvp8Okkjzzyv5xyqq0sacVwqd0eiCiO+devPJMes3qywpcQnh' +
    'd+eeCWOmog0f1A1+gTbXqk1FiJfN3Dofr8sm3CP1gSYS+rQXKGpQYGrSQSQB8o+hiNR9Oh8xWgkbXXFwnrnAp2RfmvloRsf5d4/wFVZ8pY2hto' +
    'OC186/T1nhAZw8sVqq3jqKGx3mpD709qXn3VCmVrEo2CRMOrkxX1qd6rXJ3OWRMzfY7X1cPRUWfz9x3B+ayqN1uO12/k+bR6NQ31QIb3JcD2Wp' +
    'AjQrG5eFhVdfJmt2zi7+S5hgPrSBpVTKB+3sGE+/dfGvt+dlf2PPhlCCccRUcwLjF6QAi/qAtYyUmfRMb0JkRTFNxD2EpCQuwlsgeScOKj1sjK' +
    'q4wzVodmx0gwmdNShN8Ap2Kmyi2LEzZRC/8gXDoHHgOfxbOsIEDEoU/CQg4/cYh2M98Jydn+2oNIuYzNhXv5/71/CzCpTE2/8lgWiIGIMwYF0T' +
    'Z3FzmrGIzgJ5jorppJj6uOUUvKU8EwHbsvPE/wKDn44RNzNnN6F5yIKfUusFl7odMOofwa2Ia4Bmo4qVsUUFbWfUfcz0qu36TwF9yO+XOR9wYN' +
    'lNVLPdIZA5kCRt2pn5QU6gIdzxMN64RNuw8oHFjwYHOMCvui8lzXJipyGLzb1/lyPmnRGNxHP5NABVVfa4ZQeRBAIAIQEWAAAAdC/lo+APnwMG' +
    'XQA6iAing3gu89xkxp/4EgANu2UxWocKTfU9prkw73g9df6dqd4H31g+pwm+j/AFRCFjihrTxPX/TuQXOBhWyyZUP4m4QlWnN5IEYFQqtBhv7e' +
    'aeaednwiYpvDy7X9KPEsoDtMsYW+gFOOabIKoDMbgZTIF7r/xf+P6+fAjOSLkniWi5Z6QL7nfrX6JXOKkID2PI1nQuknBo056bKkuYIIAEutiZ' +
    'Rds7vYW4oPsN4RBPg14fOZnXcyxAbLvnAYJiSxn//nF31Z1Ed/F3qCiJPQWuibAMFFzVyN79C09OM5tHs3zuMzPfFjsbrfy0y91GVtxvn0UU9K' +
    'MrhYn5a/wIA40jOlJr+9MRPWCJ6JdtPOW0voYIxKKJCL4Bz6H00H2KCKBD8ZS6smM+W3XmiFy1OQH/KiJo+z2+DRH+VM7hAAM8hsLT0nBwzBCh' +
    '8Ez8pYe6w2Ffw/2X9ZExuEYFGZnRFxll3j5GDKs27XGNMOGOx7r6TTl0Q8Jh0QyUUttuNRRTEgDmcc9PK6yoRie+jbl+UDNI4AtKpanRtPqdk6' +
    'd9ZVoZ2W1fFHGAsPWzlGXe/jfAvZRuwl5YqhJRWTJjk1aFzthIaoyUBaylud4s8nB+yblb2JNmkiDhW5WKTZXpAF4CmoLgbbTK1VJ98WxcREz6' +
    'uuzuxOLBM76IikOQM90N/OAvHLMHPtoRlVR0iXGAwhm0sRHWBZQTO5zCywJpfAGOLwn307kN8UD/fhIA9rLIzfuRTmxZBBmQfz53CWymiQWpcM' +
    'WGqXISwo3EezSju0CTizcgXan+qoLH7ShKkVdTlqEmW5nIatARaz4aZcaaC7A/83soLpI92w0E7cQNJNGmiDtzmbQ2IY0HOXvGEdHNQvoCG9oA' +
    '/8iRP4/bBDMjacZXeucflwsnZxENBELO3o/U3o06j71+y7fVPfFbzeC7/K+GohEccKeqGEnJITZOqXTj4mIG2DRdAr+3yBKWHDr6zCjRdS/2xA' +
    'vmmtsxka+ZNT1ea4E4rbQDWvwzrNFFgMFzwZ1PZKUT9gAAAABWY9PRQy+pNgIAIQEWAAAAdC/lo+AHzwG7XQA3m4AFUhqtGdVxh5z7FaYkSIHU' +
    '9jl61nmkpciqn+US5YwjHtvkHcsFdT97gNJuljY3eQHFagTkQZdOWUBS8bDfCsS8V2UXQQV16oDN5VMOEX/2SVU7U8+0b37Z/3huPVHWzeCHJF' +
    'UeDs6p9HPnILkDd1WuGyKA2B9uo03mkcITu18JHoyqci7KCHer+B0krRbI0QkfxqoDcuWhPlkwk97CQbb1iP9VASvgTvHMYc7ZuQ1ODUeWs9/g' +
    'dwQgo8vUjtjnTUeo0NFym47C/N8CSO9iTngsd15n9/hQ3QhZiZLfDw15zPvF1v4YxGpw7AhM1ZESk5DVAlxgWBSnZO2KEviC1UHP5sEdNFe8dc' +
    'KfTUB3sAFEZG500a4A7ntSm1tQpQO5k0nzCPES4jFvf86gWfqF3bY+yoYSgMa3nsD9VPIXdp3WsjVXT/I6yzAv9kr8iTItu1yD5xd8zetecPwG' +
    'q8Lgbt9AN0ws7s//sOGb1SNDsQuw7hfjS/F+Zqz9x4AGHiy9n3H7tySxY8rRgSxhNRHSSa5hu3ZENeG8fKgv8wgjH5K5LWX4Eg1ZxM50bBDF1Z' +
    '0wADrTzKSEfEcVhAAAC3QU7A0V2gYAA5wGoB+iBqAf1wPQDwAAaTgQV6wnPi0EAAAAAARZWg==',  runs3m_xz:
    '/Td6WFoAAAFpIt42AgAhARYAAAB0L+Wj//7uA7xdAABv/f//o7f/Rz5IFXI5YVG4kijmo4SfiEXyfRHN/10VGuhKIG3FveC92Dr75F+eLUjUlm' +
    'vnMTcA6aVOw7pQbMgdEggbXzvHxS+i5VlkG1lln/tY88dYCTLRRhpXFHlJuGTcsuOECyBxRdPOzqPR+d04dQG4uFaSISKLJ6PyOxzQgtl4VYTd' +
    'pF+YHdsi6LbOm1g6Zaf0hxE6XKjaD4uMlDbgr0mAtlh2YbOpRVCX1F8ao+cMOVTflk9bbATflekXDB4BGd1Yi9I4T8Bx3Udh3ZJIMHC4xdXZ7y' +
    'lNXyiYYW8q57bVMdCg79hndBee0+DNvQkNwed3mfVWahx9nW9dH57ngqFJarmrOxXwF2iJmclG7DgsDxQZvJo9fs+r3iKp808vIpdajhBGBfVk' +
    'APw/ll5htm1aN0Fa4w2xZeM2kmKDieizllaBA8OkWAOmJHvJw7qLpzh4ork7ni0RwAyqiKMiUComTppjYoeQhIxIVxOZCDfHiiCm6pG4Bd0i+v' +
    '4r9bW4aLvFg0tRkJ3FE3aJRf+AK0qt9kiIOPvPDQTI1zqS6/M9+IaUPtO67/HjN56r+XzUlAc1anIGIePiKZfhad7U3Ttfe22MRQjvdXRiq8dj' +
    'hHu65cmrzCrxnouNnNbujXRzwkvUhOU4vyjUxZnagCxY2+lMQIeKga7nA7N12BEzCxkbC2+m9xBKlfmD68kQEtEF2k+MuAH7HoThRafdWkDZGv' +
    'TiDB4lLieTreW7qOjcEbJJCu5yqtJQAXmjCh63lfaRh5AnUN138XKah5X0cykw/UIoshlBq3fmOGsNh5LWLg6QT0MZE4AhB3EJwGWAgce8J1z4' +
    'Ij7VRKdk3Lk2kKg4EhWNNKF/mL94nhQmc0V3EKFVJaKl1xi/Ibg1TrgfTkCN9PQ/T9FBGEreqtTZ7YGKo5Impz0gr1kJxxFH6H61djczzs/VK4' +
    'GKNFcRcQAIzAJ95sq5YqhwNn+kjUhAC6cIOAGnnIJUtyn33xthEHC2mbLnChPB2hvuoYm/ac+KTSFZO9m1cNZJdqXZhs5H6xydDzdkRawOhSZU' +
    '4SmFC12fMDZOvcKoiPY8oPxYPtd/czwv5evlVAVhkixs3beaylE41VymWQWTRdiD+bCd18NpvgpZed3nEYzSqs1HM5yow8F6Etnp8cqQkfxfi9' +
    '9GffoI4oBW0kvA4xlLzSao38b7VDoCxfql1hk0aomcS9hsfST+XnW0lOfXcAF+abtnxc/WrN7twWdeAXSfzpQlMGr5Bw9msawXLBScZr3UkAEQ' +
    'AYYALYCOnRtQUUe2q9z8u8C6xSryq799mqHb7bMC1dKHRdwhZQTcjyArSZSOuSgW3g+tv8OMYWkA3LaIAwyBccNyVwPBF8Qv5PQ7drcOQuY/9w' +
    'catuzZrmNEQ+OP3sBaWkDXxfgs9LowP0h21u92fWVQRpEn5jmmhs5OQRWcnSbZqCnUXcrq4XVfqFx+5vsDXDEoZ23H1p8Ia1QgmaJxAHouol/r' +
    'Nqs7dCDALknuNdy31cGUBsdvEPZkFYblZIYPt7WrH/J/DsvI+XElfAUjSsEHPFl2biOqT2RyiF3iim3MY8xpzVdtmrEVrfd564oqpUgPkJsvzo' +
    'CaD5MhNLo5fCx/l1j/xATPX6PFtyJOdbsBSGtU9CGdXmQXWpZDdXiMk9dpQ0o6NMjB6n57ETdTXKcQeU52+wZmx8cAE4r4HYOifJDdQVOCghde' +
    '30Z3iZR+hzpYXLKivYXrVEtPcXCR65Www0LjAj+fg3DRiqngiDYiU0uKKBTURpDIw5/RWxRMENGFcXjbI5l4AI4poR8AAeAKgIDAAZ2dMC8+MA' +
    '2LAgAAAAABWVo=',  noise_xz:
    '/Td6WFoAAAFpIt42AgAhARYAAAB0L+WjAQPnmExUsf4a+vg+VVfG58oFAm64lToBkCfnjXL3js52bWTRI9W8ohpO6ZxqBuAlemg3KhtG0DyWmu' +
    'ClVAOERfh9ppl4iWa9H0K5xQCMhEO/69lROBSe/PDlT2DTxBFULwjS/mOLrCFG7EV+ratcKBWoUR/lJrv/OerrLcGHfU+Rda9qcw3EeaX6H+N+' +
    'O0yV8FTCJ2u7edwDIibYZ7BHZJDDupmxWxpGTLGTavgtbiK9OwVVjypgAdmgJoCFvCWVk4sqpZrXVONB76fhGYkVP99AreqM4TKzPAzMnlZAB8' +
    'D8/Oz7KPtNgoIqFWxXcMw0tN4DgxZo6BGoqa8FjOgUmCPdp2PJWxsuBW9SiZ4aViKQKgoTWFuyEo5QIN1PeaqpV4+4/WShDMe5ZIkNVdmuAcDQ' +
    'euT1dPqDWnImqEHRYFniCTU/WY+jCoVHniVYFgaghxLHmwh/YAtuG4I+e+IG4gXb7PmAAZ6GR+4uVf5Qy6gizRoxJmS9KCPqq9GPu6JZ9ixkUS' +
    'jp8qjVxY19EyGemsd0VvxaISMvzRvS6oeAdKvovNnIGFHMsf3Txc/dOFvNoBMTpCfO2lC2ft5q423xmwLjQzSRXpC8h7ac2xpgFXHTTqQviJhj' +
    'kSF+b4qd18rGZZFOxEhI3Lkxo42F/nkXkHtgE/fxx3fORxzd3Ccs5aApTGEAbmOEdbBozAk4euIIrx0ir065B8Bb8ThJau9gdV42mseqGpaQtW' +
    'pF/ux2NJJ58UpiAuU89IkwSBLHvZRpDgXOTxzuVobkqJ1RuZT9v97gvnTo2nbP8aKNzxhLDnk4CY0pW3xCp9y2LkazFWr224Ron1M9UJGvqD9z' +
    'r2aXeNUrGzt2dg0fNMMMe2lT3XllEur4EM+ZUNU9TUdV8iwT1ul2xfWlpvB7lQXl373yXmZWnehhZVv5bvJh60rsBM4iW1Vd2O4y9DaIm9KS3H' +
    'qWxbOTNAPv11R78dlZSWqQBZsxJfOVSgzc5ZML5nlSguleJJf3KHKF/fj8zuKElnTsGLMNzxzNyjT9Q0geAdZM+AQ/KqN8Dxdr12wPL6O2kpFr' +
    'weqO1aA6Xe2//9EQOlI6hS2GBCL6de0CMiVCyCj+1lvRUimgCF+RG8OUqgJmSQGls549toTAqVvZT3SMXwl3qfST79Jdd+PmpiKwrVsacx8tGs' +
    'lLElKdvoOFdQHoOgoO0rSHPRT3PqVUfT9eMemSqo5ee20ku5786HhPsGdO+zmqce8nt4tipVUxDNwaETXxY4OAH1DEXOBbj2Ocmz6M1FNCgFDo' +
    'GesuxYMlY10kDJjNWlncRW9cLcbqazxWONx/PlPo72K+Sn1abgBYH+DVAAH8B+gHAAD9rqEFPjANiwIAAAAAAVla',  t300_none_xz:
    '/Td6WFoAAAD/EtlBAgAhARYAAAB0L+Wj4AErAGpdADKdCEEeHbLyxr/ry/ya/sPXA5mawppiWEQmGfg4/hKjaOSeQdNWL1KMWQ2vxcKhx3BX3h' +
    'nBj/DVMKSjJ38ZQjjmDMZWUkGRuJQ/u8qvJHV4zFZ/Ss3xDukO8eiSgVHcFMbIPicaCF0iJMAAAAAAAX6sAgAAAHACo+2oAAr8AgAAAAAAWVo=',  t300_sha256_xz:
    '/Td6WFoAAArh+wyhAgAhARYAAAB0L+Wj4AErAGpdADKdCEEeHbLyxr/ry/ya/sPXA5mawppiWEQmGfg4/hKjaOSeQdNWL1KMWQ2vxcKhx3BX3h' +
    'nBj/DVMKSjJ38ZQjjmDMZWUkGRuJQ/u8qvJHV4zFZ/Ss3xDukO8eiSgVHcFMbIPicaCF0iJMAAAABCgl8hP/4XD1bcAmvJokR3eLms5fj81mnf' +
    'B3aFwHZBdgABngGsAgAAjfhg3bbp3xwCAAAAAApZWg==',  t300_delta_xz:
    '/Td6WFoAAAFpIt42AgEDAQMhARaXj3H84AErAMpdADKdCEEU4zFQG+85gCPFHw5zBQHDxW5MF4poVCUoQVj1e4lc1jGPZ4+4aDKBgg4Spb+l3M' +
    'X85SjFg+mLpV3yep39+HQb4rRGhD76E8KH5ftgbk7KYCCxjsXtpSTMFyo/BlwD0lnQJ35fuC+MbQOfmVnJCsN/b/LyinWbMVnxe5gST5xse72h' +
    'vSy/ZZz+TnLIM1f/ZW6YBkPjHLgCQmbldGwBC33Cld2ac9hwuarBJICecUfVZJ2u5hdVCnjnth6rY7l73ERGCFfVa+IAAACCXU3DAAHiAawCAA' +
    'A3NYChPjANiwIAAAAAAVla',  t10k_zst:
    'KLUv/WQQJhUzAKJJFRKgKR354Fvzu9uCtxgABxXgCQH++jHq6qpr1PjZvUejOlWdplW6vorRC62GOBrpGm2Iq1johf7s43JsoUfX3GdXMYckyz' +
    'G6hiTKQxk1AQiGJCczxAmDHqgyT0na/w0iEAgGBcQScRhtBxJAIDAIHWFoJKELjDdBSZrCxhpDej1KkSxBmLeBNz4e6Mg3WQdiaqbUjay/La1Y' +
    '1a0ArSPV/N1RNnVkvTmTlqED+vVqe9yZBLrJkZwB+yiRjmXjMsVteKzSE3jH0gn/naMx9H0e+p9W6HOTbDHbhyJDCKz+OONqlJ+FzFSNKBaKqQ' +
    '/2NFnxbR7mi5xpQhoQOwg4biDEO9kTqEYkPBDku5GsosAi5x3zZ/l96s6eAU0ojBiMTu+W9A9kkNhAMOCt/udR1Golp2yMlpXA8tokUVgeD3x7' +
    'X3QBsGa4Kj8QK8KOfm6lMRVaXRkJA88IF8EOtVeBvmdYjh/Fc0chBELNTcYY60sF9ZGHshOBJbzUV0rXIZJsHLprtbs1TIhTjk5YQrCGY7snYz' +
    'IIpYr6C0W4Rfe2D0oQOPqnM9GW9sbYW4Bo1PqNkbJ1v01n1T0etbTtbkSrhZecStsgBHqMrnHqsEdohDfmVN68EiPhflqG68mgEj2e5M55TOkQ' +
    'NFLwI0R0K+MaSpCItUy+ooQVJw69DlpY0/jaWTjklkevMDjJTKe32kWJ6ewrehPgw2sIEeUtVvv/QC7CirCu7DyR+0k/1UwL4fetEG10brk04t' +
    'XAnmTRmZosIpkjEpRWR0k17fjGMifPdwC0YNZiCNqvJXnUCeScmfjKGfjlJydeDvNzbYjfeUlNod5yz1ifEJ5Z26zk7r5dINF0fiYWhzO4nUy1' +
    'CCRklhejC1nwppUsi3CX5zoolc5eMHg8fFYXRTjiqz6JeDQdWp/Yeolg5PbnxlkLqM2SewEW+XcManA/4UP0iFLAlS2AEDe8KTSYbnFsz96C/E' +
    'j2WQwecF+6xw1dqDka3aIQl07r1SryMmkMw+xEBWY3tjArz32Cy2xNkTeegG5vVEJ+ZRIwQfDqvSmfCTwP9CbanA6JkBqsJOzuCJ44rZFicvcL' +
    'jTSXlAc3JNzZ5qoD2SHiQh3XugYcd/jROu5O9wMdVWFnnxzf6jWn7mcOaaEH3yl+Uss/b4ei1yQ4JVUGZcl/OJ36hfMip4o8GhEWHQBtFsaZKw' +
    'NmPMNWpTu/8PxxJLapJ0FSawKLImE5J/4ufYd3Wcur52DVN8rZ/svi5AkUMr5m7i9MDRVjWqO7CMaddKnZt1bMIb6Ev2jT8pUGoAFOGvFdzalC' +
    'aB1SrstVCb3n67CaWtw905B6tpyV0K1L6wVR6Y7+GGIaJtS2oZWMxMnHD0hs897q19s7ypt2Ce9+aOB5ZhwPBxnhwkS7cqoJTX+7SQNGETEFmg' +
    'Z2Q7vfMUw1t1hwsvNNgwECjoXA72M6a0N+L2yhi9kY0l+Bd1IxxME5T8VbhnuiT+B6Ij+wKaWCAWwsus86yFrcf0EaHR05z6f+/rGE94tbG0oK' +
    '5PFt2EP6GO+MsbQPgdL2KgLqlriVnK8a5XNwA7h1AXDBlpsvQOIAFgMxbDVJ4eW4AQrqrCv5crGrGOCuFS71WAlwpyGgy6BAddz/o/Q/GTrSfh' +
    '6nZwASc0AXYMKrJNPPMNRIvHcHnVfZ9Uml5Cf8kJk3Vx5r6fNKK5DCuRLX/jfoe3hsuBI8m8pUrlfskkM9+sHLPRRbLkw9sDvDQNf8azzAEBzh' +
    'PsaESF6+svL+YAXPD0ph2bIqOj72RFIAwAPj5i4DE51i48Z1LLIcQEZ8zG2CR2Lno8/fGTiWDd1I3jOEdu9ouvFDdJlR2426Ps7a6XwgcViIxX' +
    'yoYiTCGwDEZJPD14BD8FQsUTRwLnQGtsNdschDdTvubd35v4RYf5gP+Ld+/xnUwbdE6vDEBaXcoaxfHzgjagyL5Xh10P3f9yjyAPAQ1x58XHX5' +
    'YgXPmNibXPdP7/L8PVi60BQhm5XmWZJg6kQJtL0zVOomy11th9PDomdZAAfJr/bEWRNwyOT7YEeBRh755QraTDceSoA0FbO4bslGDvJcWXK2AH' +
    'Bm3QJQfQ0m5jpa1u01GePkvvnTlwYjJ9jU3jSC/43kDq0c0FQdWFGBHFws8mCl4hsGhAV3vA6IUfnJCahIbQHfEslwcl4QFazFNKUF7Ahd0Q==',  t300_nofcs_zst:
    'KLUv/QRYJQQA0oQOE7AVpgPJnpDGotlun7jhEhBBHBDl1bz68k7EMCVKgwEWMFN6A00pA68+ARFjOyidSnm3QyIGa2NtAR0ALAXI3Hq0RMoGGD' +
    'GgYnVAuIG0AFKQcxOCVQhzvHsDBkwDBx+I6MCAEa3a5OGBywMrGuMcnqmMXcgMVSAnAaTuUKHjy9UBZh5/8Q==',  t300_plain_zst:
    'KLUv/WAsAFUEAJQDZXRhIGV0YSBNRVQgamV0cHQgcGhvdG9ubXV0YXUgCiBwaGkgCnB0cGhpZWxlY3RyaXB0dHRhdSBwIyAQEuYgH4kEYAXke9' +
    'rZOCqQcoCBASorbEOgC5A+MAe4N1g2+JB7mYAvOAhcZhgaQBNl3MlDwCZgFYwPz5jRZmQsDBdICdABjAA06fgCdQ==',};
