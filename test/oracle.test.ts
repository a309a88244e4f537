// Sanity checks of the test oracle itself (test/support/jsroot-oracle.ts):
// its values are checked by routes that do not go through jsroot's decoding
// of the same bytes — other compressions of the same tree, counter branches,
// the raw float32 bytes of a basket, two jsroot read paths that must agree,
// and batched versus single reads.

/// <reference types="jsroot" />
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { inflateSync } from 'node:zlib';
import { TBuffer } from 'jsroot/io';
import { openOracle, openOracleSample, jsrootInt64Fix, toPlain, shapeOf, type OracleTree, type Plain } from './support/jsroot-oracle';
import { SAMPLES, SHARED_DATA, CACHE_DIR, samplePath, sampleBytes } from '../scripts/lib/samples';

const R21 = 'DAOD_PHYSLITE_21.2.108.0.art.pool.root';
const R22 = 'PHYSLITE_example.root';

function ok(v: Plain[] | Error | undefined, what: string): Plain[] {
  assert.ok(v !== undefined, `${what}: no result`);
  if (v instanceof Error) assert.fail(`${what}: ${v.message}`);
  return v;
}

describe('samples', () => {
  test('every known sample is found and has its sha256', async () => {
    for (const s of SAMPLES) {
      const p = await samplePath(s.name);
      assert.ok(p.startsWith(SHARED_DATA) || p.startsWith(CACHE_DIR), `${s.name} at ${p}`);
      assert.equal(await samplePath(s.name), p, 'cached per process');
    }
    assert.throws(() => samplePath('no-such-sample.root'), /unknown sample "no-such-sample.root"/);
  });
});

describe('jsroot oracle: flat and jagged leaves (HZZ)', () => {
  test('the five compressions of the HZZ tree read to identical values', async () => {
    const reference = await openOracleSample('uproot-HZZ-uncompressed.root', 'events');
    assert.equal(reference.entries, 2421);
    assert.equal(reference.branchNames.length, 51);
    const want = await reference.readMany(reference.branchNames);
    for (const v of want.values()) ok(v, 'uncompressed');
    for (const c of ['zlib', 'lz4', 'lzma', 'zstd']) {
      const other = await openOracleSample(`uproot-HZZ-${c}.root`, 'events');
      assert.deepEqual(other.branchNames, reference.branchNames);
      const got = await other.readMany(other.branchNames);
      for (const [name, v] of got) assert.ok(isDeepStrictEqual(ok(v, `${c} ${name}`), want.get(name)), `${c}: ${name} differs from the uncompressed file`);
    }
  });

  test('a jagged leaf has as many values per entry as its counter branch says; bools are 0/1', async () => {
    const o = await openOracleSample('uproot-HZZ-zlib.root', 'events');
    const pairs: [string, string[]][] = [
      ['NJet', ['Jet_Px', 'Jet_E', 'Jet_ID']],
      ['NMuon', ['Muon_Px', 'Muon_Charge']],
      ['NElectron', ['Electron_E']],
      ['NPhoton', ['Photon_Iso']],
    ];
    const m = await o.readMany(pairs.flatMap(([c, vs]) => [c, ...vs]));
    for (const [counter, jagged] of pairs) {
      const n = ok(m.get(counter), counter) as number[];
      assert.ok(n.some((x) => x > 1), `${counter} has entries with several objects`);
      assert.equal(o.info(jagged[0]!)?.counter, counter);
      for (const name of jagged) {
        const v = ok(m.get(name), name);
        assert.deepEqual(
          v.map((x) => (x as Plain[]).length),
          n,
          `${name} lengths follow ${counter}`,
        );
      }
    }
    const ids = (ok(m.get('Jet_ID'), 'Jet_ID') as number[][]).flat();
    assert.ok(ids.length > 0 && ids.every((x) => x === 0 || x === 1), 'Jet_ID (bool[NJet]) is 0/1');
    const trig = ok((await o.readMany(['triggerIsoMu24'])).get('triggerIsoMu24'), 'triggerIsoMu24');
    assert.ok(trig.every((x) => x === 0 || x === 1) && trig.includes(1), 'scalar bool is 0/1');
  });

  test('a branch read alone, in a batch with its counter, and over a sub-range gives the same values', async () => {
    const o = await openOracleSample('uproot-HZZ-zlib.root', 'events');
    const alone = await o.readRange('Jet_Px');
    const batch = ok((await o.readMany(['NJet', 'Jet_Px', 'Jet_Py', 'MET_px'])).get('Jet_Px'), 'batch');
    assert.ok(isDeepStrictEqual(alone, batch));
    const part = await o.readRange('Jet_Px', { entryStart: 1000, entryStop: 1234 });
    assert.ok(isDeepStrictEqual(part, alone.slice(1000, 1234)));
    assert.deepEqual(await o.readRange('Jet_Px', { entryStart: 7, entryStop: 7 }), []);
    await assert.rejects(o.readMany(['Jet_Px'], { entryStart: 5, entryStop: 99999 }), RangeError);
    const missing = (await o.readMany(['NoSuchBranch'])).get('NoSuchBranch');
    assert.ok(missing instanceof Error && /no branch "NoSuchBranch"/.test(missing.message));
  });
});

/** jsroot's TBranch object, for the basket addresses only. */
interface JsrootBranchMeta {
  fName: string;
  fBasketSeek: number[];
  fBasketBytes: number[];
  fBasketEntry: number[];
  fBranches: { arr: JsrootBranchMeta[] };
}

function findBranch(o: OracleTree, name: string): JsrootBranchMeta {
  const tree = o.jsrootTree as { fBranches: { arr: JsrootBranchMeta[] } };
  const walk = (l: JsrootBranchMeta[]): JsrootBranchMeta | undefined => {
    for (const b of l) {
      if (b.fName === name) return b;
      const sub = walk(b.fBranches.arr);
      if (sub) return sub;
    }
    return undefined;
  };
  const b = walk(tree.fBranches.arr);
  assert.ok(b, name);
  return b;
}

/** A basket's object bytes, located and inflated here (TKey header + ROOT "ZL" zlib blocks). */
function basketPayload(file: Uint8Array, seek: number, nbytes: number): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset + seek, nbytes);
  assert.equal(view.getInt32(0), nbytes, 'TKey fNbytes');
  const objlen = view.getInt32(6);
  const keylen = view.getInt16(14);
  const data = file.subarray(seek + keylen, seek + nbytes);
  if (data.length === objlen) return data;
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; ) {
    assert.equal(String.fromCharCode(data[at]!, data[at + 1]!), 'ZL', 'zlib block header');
    const csize = data[at + 3]! | (data[at + 4]! << 8) | (data[at + 5]! << 16);
    parts.push(inflateSync(data.subarray(at + 9, at + 9 + csize)));
    at += 9 + csize;
  }
  const out = Buffer.concat(parts);
  assert.equal(out.length, objlen, 'inflated basket size');
  return out;
}

describe('jsroot oracle: PHYSLITE', () => {
  test('AnalysisElectronsAuxDyn.pt: the first entries equal the big-endian float32 bytes of the inflated basket', async () => {
    const bytes = await sampleBytes(R22);
    const o = await openOracle(bytes, 'CollectionTree');
    const pt = await o.readRange('AnalysisElectronsAuxDyn.pt', { entryStart: 0, entryStop: 5 });
    const meta = findBranch(o, 'AnalysisElectronsAuxDyn.pt');
    assert.equal(meta.fBasketEntry[0], 0);
    const payload = basketPayload(bytes, meta.fBasketSeek[0]!, meta.fBasketBytes[0]!);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    // each entry: [byte count | 0x40000000][version u16][n u32][n × float32], one after the other
    let at = 0;
    let checked = 0;
    for (let entry = 0; entry < 5; entry++) {
      const count = view.getUint32(at);
      assert.ok(count & 0x40000000, 'byte count flag');
      const n = view.getUint32(at + 6);
      assert.equal(2 + 4 + n * 4, count & ~0x40000000, 'entry size');
      const raw = Array.from({ length: n }, (_, i) => view.getFloat32(at + 10 + 4 * i));
      assert.ok(isDeepStrictEqual(pt[entry], raw), `entry ${entry}: jsroot ${JSON.stringify(pt[entry])}, bytes ${JSON.stringify(raw)}`);
      checked += n;
      at += 4 + (count & ~0x40000000);
    }
    assert.ok(checked >= 3, `checked ${checked} values`);
  });

  test('pt, eta and phi are finite float32 values; pt is positive', async () => {
    for (const sample of [R21, R22]) {
      const o = await openOracleSample(sample, 'CollectionTree');
      const names = ['AnalysisElectronsAuxDyn.pt', 'AnalysisMuonsAuxDyn.pt', 'AnalysisJetsAuxDyn.pt', 'AnalysisJetsAuxDyn.eta', 'AnalysisJetsAuxDyn.phi'];
      const m = await o.readMany(names);
      for (const name of names) {
        const v = ok(m.get(name), `${sample} ${name}`);
        assert.equal(v.length, o.entries);
        const flat = (v as number[][]).flat();
        assert.ok(flat.length > 0, `${sample} ${name}: no values`);
        for (const x of flat) {
          assert.ok(Number.isFinite(x) && Math.fround(x) === x, `${sample} ${name}: ${x} is a finite float32`);
          if (name.endsWith('.pt')) assert.ok(x > 0, `${sample} ${name}: ${x} > 0`);
        }
      }
    }
  });

  test('a split vector<ElementLink> read through its parent equals its m_persKey and m_persIndex sub-branches', async () => {
    const o = await openOracleSample(R21, 'CollectionTree');
    const parents = ['AnalysisMuonsAuxDyn.inDetTrackParticleLink', 'AnalysisJetsAuxDyn.btaggingLink'];
    const m = await o.readMany(parents.flatMap((p) => [p, `${p}.m_persKey`, `${p}.m_persIndex`]));
    for (const p of parents) {
      const links = ok(m.get(p), p) as { m_persKey: number; m_persIndex: number }[][];
      const keys = ok(m.get(`${p}.m_persKey`), p) as number[][];
      const indices = ok(m.get(`${p}.m_persIndex`), p) as number[][];
      assert.ok(links.flat().length > 0, `${p} has links`);
      assert.equal(shapeOf(links.find((l) => l.length)!), '{m_persKey,m_persIndex}[]');
      assert.deepEqual(
        links,
        keys.map((k, e) => k.map((key, i) => ({ m_persKey: key, m_persIndex: indices[e]![i]! }))),
      );
    }
    // unsplit vector<vector<ElementLink>>: arrays of arrays of links
    const ghost = await o.readRange('AnalysisJetsAuxDyn.GhostTrack', { entryStart: 0, entryStop: 3 });
    assert.equal(shapeOf(ghost[0]!), '{m_persKey,m_persIndex}[][]');
  });

  test('interface containers jsroot does not fill are errors, not values', async () => {
    const o = await openOracleSample(R21, 'CollectionTree');
    const m = await o.readMany(['AnalysisElectronsAux.', 'AnalysisElectrons', 'EventInfoAux.eventNumber']);
    assert.ok(m.get('AnalysisElectronsAux.') instanceof Error);
    // DataVector<T>: jsroot gives one empty object per element
    const dv = ok(m.get('AnalysisElectrons'), 'AnalysisElectrons') as { This: Plain[] }[];
    const pt = await o.readRange('AnalysisElectronsAuxDyn.pt');
    assert.deepEqual(
      dv.map((x) => x.This.length),
      pt.map((x) => (x as Plain[]).length),
    );
    const ev = ok(m.get('EventInfoAux.eventNumber'), 'eventNumber');
    assert.ok(ev.every((x) => Number.isSafeInteger(x) && (x as number) > 0));
  });
});

describe('jsroot oracle: other shapes', () => {
  test('a fully split object read whole equals its member branches', async () => {
    const o = await openOracleSample('uproot-small-evnt-tree-fullsplit.root', 'tree');
    const all = await o.readAll();
    const byName = new Map(o.branches.map((b, i) => [b.name, all[i]!]));
    const evt = ok(byName.get('evt'), 'evt') as { [k: string]: Plain }[];
    let compared = 0;
    for (const b of o.branches) {
      if (b.parent !== 'evt') continue;
      const member = b.name.replace(/\[.*$/, '');
      if (!(member in evt[0]!)) continue;
      assert.ok(isDeepStrictEqual(ok(byName.get(b.name), b.name), evt.map((x) => x[member])), `${b.name} equals evt.${member}`);
      compared++;
    }
    assert.ok(compared >= 35, `compared ${compared} members`);
    assert.deepEqual(ok(byName.get('P3.Py'), 'P3.Py'), evt.map((x) => (x.P3 as { Py: number }).Py));
    assert.deepEqual(ok(byName.get('StlVecStr'), 'StlVecStr').slice(0, 3), [[], ['vec-001'], ['vec-002', 'vec-002']]);
  });

  test('vector<vector<double>> is an array of arrays (the values uproot documents for this file)', async () => {
    const o = await openOracleSample('uproot-vectorVectorDouble.root', 't');
    assert.deepEqual(await o.readRange('x'), [[], [[], []], [[10], [], [10, 20]], [[20, -21, -22]], [[200], [-201], [202]]]);
  });

  test('64-bit integers: jsroot’s signed reader is replaced, values become numbers', () => {
    assert.equal(jsrootInt64Fix, true, 'jsroot 7.11 mis-decodes int64 below -2^31 (if this fails, jsroot was fixed: drop the patch)');
    const view = new DataView(new ArrayBuffer(8));
    for (const v of [-1n, -2147483648n, -2147483649n, -4294967295n, -8589934592n, -(2n ** 53n) + 1n, -(2n ** 62n), 2n ** 40n, 2n ** 62n + 1n]) {
      view.setBigInt64(0, v);
      const got = new TBuffer(view, 0, null).ntoi8() as number | bigint;
      assert.equal(BigInt(got), v, `ntoi8 ${v}`);
      assert.equal(typeof got, v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? 'number' : 'bigint');
      assert.equal(toPlain(got), Number(v));
    }
    assert.equal(toPlain(true), 1);
    assert.deepEqual(toPlain(new BigUint64Array([2n ** 64n - 1n])), [2 ** 64]);
    assert.equal(toPlain('caf\u00c3\u00a9'), 'café', 'Latin-1 strings from jsroot are re-decoded as UTF-8');
  });
});
