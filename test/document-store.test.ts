// One conformance suite for the DocumentStore implementations: the in-memory
// store, and the Firestore store against a local emulator
// (@firestore-emulator/server, see test/support/firestore-emulator.ts). The
// expected results are real Firestore's behaviour.
//
// Where the emulator differs from real Firestore, the Firestore backend lists
// the difference in EMULATOR_DEVIATIONS and the test asserts what the emulator
// does instead, next to what Firestore does: nothing is skipped, and a new
// emulator version that fixes (or changes) one of these fails here, so the
// list stays true. The deviations (all in the emulator, none in our code):
//
//   insertion-order             Firestore orders results by document id when
//                               there is no orderBy, breaks orderBy ties by
//                               document id, and orders by the range-filtered
//                               field when there is a range filter and no
//                               orderBy. The emulator returns insertion order
//                               in all three cases (with integer-like ids such
//                               as "5" first, a JS object-key quirk).
//   orderby-keeps-missing       Firestore's orderBy leaves out documents that
//                               lack the field; the emulator returns them last.
//   int-double-incomparable     Firestore compares integers and doubles as
//                               numbers; in the emulator an integer field never
//                               matches a range/equality filter with a
//                               fractional value (and vice versa), and orderBy
//                               does not order an integer against a double.
//   boolean-unordered           Firestore orders false < true; the emulator's
//                               booleans match == only (no range, no order).
//   utf16-string-order          Firestore orders strings by UTF-8 bytes; the
//                               emulator by UTF-16 units (differs above U+FFFF).
//   increment-non-number-fails  Firestore's increment() of a string/null/map
//                               field sets it to the increment; the emulator
//                               fails the write (gRPC UNKNOWN).
//   no-size-limit               Firestore refuses documents over 1 MiB; the
//                               emulator stores them.
//   merge-drops-quoted-names    merge() of a top-level field whose name is not
//                               a simple identifier (letters, digits and _, not
//                               starting with a digit; e.g. "a-b", "with space",
//                               "$x", "ü") is silently dropped by the emulator:
//                               the client sends such names backtick-quoted in
//                               the update mask, and the emulator only unquotes
//                               names that contain a dot. create() stores them.
//
// Not run against the emulator, because it fails them in a way that costs
// seconds (the client retries): dotted field paths (`a.b`) in filters,
// orderBy and sums ("Not implemented" on the server). They are covered for the
// memory store in "MemoryDocumentStore extras". Also, the emulator ignores
// startAfter/offset/select (the stores do not use them) and treats an IS_NAN
// filter (where x == NaN) as no filter at all (nothing here uses NaN).
//
// The pipeline relies on none of the deviating behaviours: its ordered
// queries are over fields every document has (integers compared with
// integers), and its paging is `where index > last, orderBy index`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FirestoreDocumentStore } from '../shared/pipeline/google/firestore-store';
import { MAX_DOCUMENT_BYTES, MemoryDocumentStore } from '../shared/pipeline/local/memory-store';
import { increment, type Doc, type DocumentStore, type StoredDoc } from '../shared/pipeline/ports';
import { startFirestoreEmulator, type FirestoreEmulator } from './support/firestore-emulator';

type Deviation =
  | 'insertion-order'
  | 'orderby-keeps-missing'
  | 'int-double-incomparable'
  | 'boolean-unordered'
  | 'utf16-string-order'
  | 'increment-non-number-fails'
  | 'no-size-limit'
  | 'merge-drops-quoted-names';

const EMULATOR_DEVIATIONS: ReadonlySet<Deviation> = new Set<Deviation>([
  'insertion-order',
  'orderby-keeps-missing',
  'int-double-incomparable',
  'boolean-unordered',
  'utf16-string-order',
  'increment-non-number-fails',
  'no-size-limit',
  'merge-drops-quoted-names',
]);

interface Backend {
  name: string;
  deviations: ReadonlySet<Deviation>;
  open(): Promise<DocumentStore>;
  close(): Promise<void>;
}

let emulator: FirestoreEmulator | undefined;
let firestoreStore: FirestoreDocumentStore | undefined;

const backends: Backend[] = [
  {
    name: 'MemoryDocumentStore',
    deviations: new Set(),
    open: async () => new MemoryDocumentStore(),
    close: async () => undefined,
  },
  {
    name: 'FirestoreDocumentStore on @firestore-emulator/server',
    deviations: EMULATOR_DEVIATIONS,
    open: async () => {
      emulator = await startFirestoreEmulator();
      firestoreStore = new FirestoreDocumentStore(emulator.firestore());
      return firestoreStore;
    },
    close: async () => {
      await firestoreStore?.close();
      await emulator?.close();
    },
  },
];

let roots = 0;
/** A collection no other test uses. */
function freshRoot(): string {
  return `t${++roots}`;
}

function ids(docs: StoredDoc[]): string[] {
  return docs.map((d) => d.id);
}

function sortedIds(docs: StoredDoc[]): string[] {
  return ids(docs).sort();
}

/** Deterministic shuffle (so creation order never happens to be the expected order). */
function shuffled<T>(items: readonly T[], seed = 12345): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function createAll(store: DocumentStore, collection: string, docs: Record<string, Doc>): Promise<void> {
  for (const [id, data] of Object.entries(docs)) assert.equal(await store.create(`${collection}/${id}`, data), true);
}

for (const backend of backends) {
  describe(`DocumentStore conformance: ${backend.name}`, () => {
    let store: DocumentStore;
    const deviates = (d: Deviation) => backend.deviations.has(d);

    before(async () => {
      store = await backend.open();
    });
    after(() => backend.close());

    test('create() returns true once, then false, and keeps the first data', async () => {
      const root = freshRoot();
      assert.equal(await store.create(`${root}/a`, { v: 1 }), true);
      assert.equal(await store.create(`${root}/a`, { v: 2 }), false);
      assert.equal(await store.create(`${root}/a`, {}), false);
      assert.deepEqual(await store.get(`${root}/a`), { v: 1 });
      // a document made by merge() exists as well
      await store.merge(`${root}/b`, { v: 1 });
      assert.equal(await store.create(`${root}/b`, { v: 2 }), false);
      assert.deepEqual(await store.get(`${root}/b`), { v: 1 });
      // the same id in another collection is another document
      assert.equal(await store.create(`${root}/a/sub/a`, { v: 3 }), true);
    });

    test('20 concurrent create() calls of one path: exactly one true, and its data is stored', async () => {
      const path = `${freshRoot()}/contested`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(path, { writer: i })));
      assert.equal(results.filter((r) => r).length, 1, `results: ${results}`);
      assert.deepEqual(await store.get(path), { writer: results.indexOf(true) });
      // and 20 concurrent creates of distinct paths all succeed
      const root = freshRoot();
      const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(`${root}/d${i}`, { i })));
      assert.deepEqual(distinct, Array(20).fill(true));
    });

    test('get() of an absent document is undefined', async () => {
      const root = freshRoot();
      assert.equal(await store.get(`${root}/nothing`), undefined);
      await store.create(`${root}/a`, { v: 1 });
      assert.equal(await store.get(`${root}/b`), undefined);
      assert.equal(await store.get(`${root}/a/sub/x`), undefined);
      // a document that only has sub-collections does not exist
      await store.create(`${root}/ghost/sub/x`, { v: 1 });
      assert.equal(await store.get(`${root}/ghost`), undefined);
    });

    test('merge() creates the document, sets the given top-level fields, keeps the others', async () => {
      const root = freshRoot();
      const path = `${root}/m`;
      await store.merge(path, { a: 1, m: { x: 1, y: 2 } });
      assert.deepEqual(await store.get(path), { a: 1, m: { x: 1, y: 2 } });
      await store.merge(path, { b: 'two' });
      assert.deepEqual(await store.get(path), { a: 1, b: 'two', m: { x: 1, y: 2 } });
      // a map given to merge() replaces the field as a whole (top-level semantics)
      await store.merge(path, { m: { z: 3 } });
      assert.deepEqual(await store.get(path), { a: 1, b: 'two', m: { z: 3 } });
      await store.merge(path, { a: null, m: [] });
      assert.deepEqual(await store.get(path), { a: null, b: 'two', m: [] });
      await store.merge(path, {});
      assert.deepEqual(await store.get(path), { a: null, b: 'two', m: [] });
      // merge({}) of an absent document creates it, without fields
      await store.merge(`${root}/empty`, {});
      assert.deepEqual(await store.get(`${root}/empty`), {});
      assert.equal(await store.create(`${root}/empty`, { v: 1 }), false);
      // merge() after create() keeps the created fields
      await store.create(`${root}/c`, { k: 1, keep: true });
      await store.merge(`${root}/c`, { k: 2 });
      assert.deepEqual(await store.get(`${root}/c`), { k: 2, keep: true });
    });

    test('increment(): from absent, adding, negative and fractional, beside plain fields, in create()', async () => {
      const root = freshRoot();
      const path = `${root}/n`;
      await store.merge(path, { n: increment(1), tag: 'x' });
      assert.deepEqual(await store.get(path), { n: 1, tag: 'x' });
      await store.merge(path, { n: increment(2) });
      await store.merge(path, { n: increment(-5), other: increment(10) });
      assert.deepEqual(await store.get(path), { n: -2, tag: 'x', other: 10 });
      await store.merge(path, { f: increment(0.25) });
      await store.merge(path, { f: increment(0.5), n: increment(0.5) });
      assert.deepEqual(await store.get(path), { n: -1.5, tag: 'x', other: 10, f: 0.75 });
      assert.equal(await store.create(`${root}/c`, { n: increment(7), k: 1 }), true);
      assert.deepEqual(await store.get(`${root}/c`), { n: 7, k: 1 });
      // a map that only looks like the sentinel (more keys) is data
      await store.merge(`${root}/d`, { m: { $increment: 1, other: 2 } });
      assert.deepEqual(await store.get(`${root}/d`), { m: { $increment: 1, other: 2 } });
    });

    test('50 concurrent increments of an absent document sum exactly', async () => {
      const path = `${freshRoot()}/counter`;
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.merge(path, { n: increment(1), big: increment(1000), [`w${i % 5}`]: i })));
      const doc = await store.get(path);
      assert.equal(doc?.n, 50);
      assert.equal(doc?.big, 50_000);
      await Promise.all(Array.from({ length: 50 }, () => store.merge(path, { n: increment(-1) })));
      assert.equal((await store.get(path))?.n, 0);
    });

    test('increment() of a field that is not a number starts from 0', async () => {
      const path = `${freshRoot()}/n`;
      await store.merge(path, { s: 'text', z: null, m: { a: 1 }, keep: 1 });
      if (deviates('increment-non-number-fails')) {
        // emulator: the write fails and changes nothing
        await assert.rejects(store.merge(path, { s: increment(2) }));
        assert.deepEqual(await store.get(path), { s: 'text', z: null, m: { a: 1 }, keep: 1 });
      } else {
        await store.merge(path, { s: increment(2), z: increment(3), m: increment(-1) });
        assert.deepEqual(await store.get(path), { s: 2, z: 3, m: -1, keep: 1 });
      }
    });

    test('query(): == and range filters on numbers, strings and booleans', async () => {
      const coll = `${freshRoot()}/job/docs`;
      for (const k of shuffled([...Array(10).keys()])) {
        await store.create(`${coll}/d${k}`, { i: k, name: `n${k}`, even: k % 2 === 0, group: k < 5 ? 'low' : 'high' });
      }
      const q = async (where: Parameters<DocumentStore['query']>[1]) => sortedIds(await store.query(coll, where));
      assert.deepEqual(await q({ where: [{ field: 'i', op: '==', value: 3 }] }), ['d3']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '<', value: 3 }] }), ['d0', 'd1', 'd2']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '<=', value: 3 }] }), ['d0', 'd1', 'd2', 'd3']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '>', value: 7 }] }), ['d8', 'd9']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '>=', value: 7 }] }), ['d7', 'd8', 'd9']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '>', value: 2 }, { field: 'i', op: '<=', value: 5 }] }), ['d3', 'd4', 'd5']);
      assert.deepEqual(await q({ where: [{ field: 'group', op: '==', value: 'low' }, { field: 'i', op: '>=', value: 3 }] }), ['d3', 'd4']);
      assert.deepEqual(await q({ where: [{ field: 'group', op: '==', value: 'high' }, { field: 'even', op: '==', value: true }] }), ['d6', 'd8']);
      assert.deepEqual(await q({ where: [{ field: 'even', op: '==', value: false }] }), ['d1', 'd3', 'd5', 'd7', 'd9']);
      assert.deepEqual(await q({ where: [{ field: 'name', op: '>', value: 'n6' }] }), ['d7', 'd8', 'd9']);
      assert.deepEqual(await q({ where: [{ field: 'name', op: '==', value: 'n1' }] }), ['d1']);
      assert.deepEqual(await q({ where: [{ field: 'i', op: '>', value: 100 }] }), []);
      // a filter value of another type matches nothing
      assert.deepEqual(await q({ where: [{ field: 'i', op: '==', value: '3' }] }), []);
      assert.deepEqual(await q({ where: [{ field: 'name', op: '>', value: 0 }] }), []);
      assert.deepEqual(await q({ where: [{ field: 'missing', op: '==', value: 1 }] }), []);
      assert.deepEqual(await q({}), ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9']);
    });

    test('a filter leaves out documents where the field is absent or of another type', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await createAll(store, coll, {
        num: { v: 1 },
        num2: { v: 2 },
        str: { v: '1' },
        bool: { v: true },
        nul: { v: null },
        arr: { v: [1] },
        map: { v: { a: 1 } },
        absent: { w: 1 },
        empty: {},
      });
      const q = async (op: '==' | '<' | '<=' | '>' | '>=', value: string | number | boolean) => sortedIds(await store.query(coll, { where: [{ field: 'v', op, value }] }));
      assert.deepEqual(await q('==', 1), ['num']);
      assert.deepEqual(await q('>=', 0), ['num', 'num2']);
      assert.deepEqual(await q('<', 10), ['num', 'num2']);
      assert.deepEqual(await q('>', ''), ['str']);
      assert.deepEqual(await q('==', '1'), ['str']);
      assert.deepEqual(await q('==', true), ['bool']);
      const counted = await store.aggregate(coll, [{ field: 'v', op: '>=', value: 0 }], ['v']);
      assert.deepEqual(counted, { count: 2, sums: { v: 3 } });
    });

    test('query(): orderBy asc/desc and limit', async () => {
      const coll = `${freshRoot()}/job/docs`;
      const values = [5, 3, 9, 1, 7, 2, 8, 0, 6, 4];
      // ids unrelated to the order of i
      for (const [n, i] of shuffled(values.map((i, n) => [n, i] as const))) await store.create(`${coll}/x${n}`, { i, name: `name-${String.fromCharCode(106 - i)}` });
      const byI = (docs: StoredDoc[]) => docs.map((d) => d.data.i);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'i' } })), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'i', direction: 'asc' }, limit: 3 })), [0, 1, 2]);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'i', direction: 'desc' } })), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'i', direction: 'desc' }, limit: 4 })), [9, 8, 7, 6]);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'name' } })), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(byI(await store.query(coll, { orderBy: { field: 'name', direction: 'desc' }, limit: 2 })), [0, 1]);
      assert.deepEqual(byI(await store.query(coll, { where: [{ field: 'i', op: '<', value: 5 }], orderBy: { field: 'i', direction: 'desc' }, limit: 2 })), [4, 3]);
      assert.deepEqual(byI(await store.query(coll, { where: [{ field: 'i', op: '>=', value: 7 }], orderBy: { field: 'i' }, limit: 10 })), [7, 8, 9]);
      assert.deepEqual(await store.query(coll, { orderBy: { field: 'i' }, limit: 0 }), []);
      assert.equal((await store.query(coll, { limit: 4 })).length, 4);
      // the results carry the document id and its data
      const [first] = await store.query(coll, { where: [{ field: 'i', op: '==', value: 9 }] });
      assert.deepEqual(first, { id: `x${values.indexOf(9)}`, data: { i: 9, name: 'name-a' } });
    });

    test('paging with where index > last, orderBy index, limit 10 visits every document once, in order', async () => {
      const coll = `${freshRoot()}/job/shards`;
      const total = 95;
      await Promise.all(shuffled([...Array(total).keys()]).map((i) => store.create(`${coll}/${String(i).padStart(6, '0')}`, { index: i, state: i % 7 === 0 ? 'failed' : 'done' })));
      const seen: number[] = [];
      let last = -1;
      let pages = 0;
      for (;;) {
        const page = await store.query(coll, { where: [{ field: 'index', op: '>', value: last }], orderBy: { field: 'index' }, limit: 10 });
        pages++;
        for (const d of page) {
          assert.equal(d.id, String(d.data.index).padStart(6, '0'));
          seen.push(d.data.index as number);
        }
        if (page.length < 10) break;
        last = page[page.length - 1]!.data.index as number;
      }
      assert.equal(pages, 10);
      assert.deepEqual(seen, [...Array(total).keys()]);
      // the same with an equality filter beside the range (Firestore needs a composite index for it)
      const failed = [];
      last = -1;
      for (;;) {
        const page = await store.query(coll, { where: [{ field: 'state', op: '==', value: 'failed' }, { field: 'index', op: '>', value: last }], orderBy: { field: 'index' }, limit: 5 });
        failed.push(...page.map((d) => d.data.index));
        if (page.length < 5) break;
        last = page[page.length - 1]!.data.index as number;
      }
      assert.deepEqual(failed, [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91]);
    });

    test('query() and aggregate() see only the documents directly in the collection', async () => {
      const root = `${freshRoot()}/r`;
      await createAll(store, root, {
        'c/a': { k: 1 },
        'c/b': { k: 2 },
        'c/a/c/x': { k: 3 }, // a sub-collection with the same name
        'c/a/sub/y': { k: 4 },
        'c/b/c/z': { k: 5 },
        'c/ghost/c/g': { k: 6 }, // under a document that does not exist
        'c2/w': { k: 7 }, // a sibling whose name starts alike
        'cc/v': { k: 8 },
      });
      assert.deepEqual(sortedIds(await store.query(`${root}/c`)), ['a', 'b']);
      assert.deepEqual(ids(await store.query(`${root}/c`, { orderBy: { field: 'k' } })), ['a', 'b']);
      assert.deepEqual(sortedIds(await store.query(`${root}/c`, { where: [{ field: 'k', op: '>', value: 0 }] })), ['a', 'b']);
      assert.deepEqual(await store.aggregate(`${root}/c`, [], ['k']), { count: 2, sums: { k: 3 } });
      assert.deepEqual(sortedIds(await store.query(`${root}/c/a/c`)), ['x']);
      assert.deepEqual(sortedIds(await store.query(`${root}/c/ghost/c`)), ['g']);
      assert.deepEqual(await store.aggregate(`${root}/c/b/c`, [], ['k']), { count: 1, sums: { k: 5 } });
      assert.deepEqual(await store.query(`${root}/none`), []);
    });

    test('order by document id without orderBy; ties broken by id; a range filter orders by its field', async () => {
      const coll = `${freshRoot()}/job/docs`;
      const created = ['m', 'b', '10', 'a', '5', 'Z', 'é', '😀'];
      for (const [n, id] of created.entries()) await store.create(`${coll}/${id}`, { n, k: n % 2, r: created.length - n });
      const all = ids(await store.query(coll));
      const byK = ids(await store.query(coll, { orderBy: { field: 'k' } }));
      const byKDesc = ids(await store.query(coll, { orderBy: { field: 'k', direction: 'desc' } }));
      const ranged = ids(await store.query(coll, { where: [{ field: 'r', op: '>', value: 2 }] }));
      if (deviates('insertion-order')) {
        assert.deepEqual(all, ['5', '10', 'm', 'b', 'a', 'Z', 'é', '😀']);
        assert.deepEqual(byK, ['5', '10', 'm', 'é', 'b', 'a', 'Z', '😀']);
        assert.deepEqual(byKDesc, ['b', 'a', 'Z', '😀', '5', '10', 'm', 'é']);
        assert.deepEqual(ranged, ['5', '10', 'm', 'b', 'a', 'Z']);
      } else {
        assert.deepEqual(all, ['10', '5', 'Z', 'a', 'b', 'm', 'é', '😀']);
        assert.deepEqual(byK, ['10', '5', 'm', 'é', 'Z', 'a', 'b', '😀']);
        assert.deepEqual(byKDesc, ['😀', 'b', 'a', 'Z', 'é', 'm', '5', '10']);
        assert.deepEqual(ranged, ['Z', '5', 'a', '10', 'b', 'm']); // by r ascending
      }
    });

    test('orderBy leaves out documents without the field', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await createAll(store, coll, { c: { k: 2 }, none: { other: 1 }, a: { k: 1 }, empty: {}, b: { k: 3 } });
      const asc = ids(await store.query(coll, { orderBy: { field: 'k' } }));
      const desc = ids(await store.query(coll, { orderBy: { field: 'k', direction: 'desc' }, limit: 4 }));
      if (deviates('orderby-keeps-missing')) {
        assert.deepEqual(asc, ['a', 'c', 'b', 'none', 'empty']);
        assert.deepEqual(desc, ['b', 'c', 'a', 'none']);
      } else {
        assert.deepEqual(asc, ['a', 'c', 'b']);
        assert.deepEqual(desc, ['b', 'c', 'a']);
      }
      // with a filter on the field, documents without it are out everywhere
      assert.deepEqual(ids(await store.query(coll, { where: [{ field: 'k', op: '>', value: 0 }], orderBy: { field: 'k' } })), ['a', 'c', 'b']);
    });

    test('integers and fractional numbers compare as numbers', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await createAll(store, coll, { a: { v: 1 }, b: { v: 2.5 }, c: { v: 3 }, d: { v: -0.5 } });
      const where = async (op: '==' | '>' | '>=', value: number) => sortedIds(await store.query(coll, { where: [{ field: 'v', op, value }] }));
      assert.deepEqual(await where('==', 3.0), ['c']);
      assert.deepEqual(await where('==', 2.5), ['b']);
      const gt = await where('>', 1.5);
      const ge = await where('>=', 2);
      const ordered = ids(await store.query(coll, { orderBy: { field: 'v' } }));
      const agg = await store.aggregate(coll, [{ field: 'v', op: '>', value: 0 }], ['v']);
      if (deviates('int-double-incomparable')) {
        assert.deepEqual(gt, ['b']);
        assert.deepEqual(ge, ['c']);
        assert.deepEqual(ordered, ['a', 'b', 'c', 'd']);
        assert.deepEqual(agg, { count: 2, sums: { v: 4 } });
      } else {
        assert.deepEqual(gt, ['b', 'c']);
        assert.deepEqual(ge, ['b', 'c']);
        assert.deepEqual(ordered, ['d', 'a', 'b', 'c']);
        assert.deepEqual(agg, { count: 3, sums: { v: 6.5 } });
      }
    });

    test('booleans order false < true', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await createAll(store, coll, { t: { f: true }, u: { f: false } });
      const gt = ids(await store.query(coll, { where: [{ field: 'f', op: '>', value: false }] }));
      const ordered = ids(await store.query(coll, { orderBy: { field: 'f' } }));
      if (deviates('boolean-unordered')) {
        assert.deepEqual(gt, []);
        assert.deepEqual(ordered, ['t', 'u']);
      } else {
        assert.deepEqual(gt, ['t']);
        assert.deepEqual(ordered, ['u', 't']);
      }
    });

    test('strings order by UTF-8 bytes (code points)', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await createAll(store, coll, { x: { s: '\uFFFD' }, y: { s: '😀' }, z: { s: 'z' } });
      const ordered = ids(await store.query(coll, { orderBy: { field: 's' } }));
      const above = ids(await store.query(coll, { where: [{ field: 's', op: '>', value: '\uFFFD' }] }));
      if (deviates('utf16-string-order')) {
        assert.deepEqual(ordered, ['z', 'y', 'x']);
        assert.deepEqual(above, []);
      } else {
        assert.deepEqual(ordered, ['z', 'x', 'y']);
        assert.deepEqual(above, ['y']);
      }
    });

    test('aggregate(): count and sums, with and without filters', async () => {
      const coll = `${freshRoot()}/job/shards`;
      await createAll(store, coll, {
        s1: { state: 'done', events: 10, bytes: 1000, a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 },
        s2: { state: 'done', events: 20, bytes: 2000, a: 1, f: 6 },
        s3: { state: 'failed', events: 0, bytes: 500 },
        s4: { state: 'failed', bytes: 250 }, // no events
        s5: { state: 'done', events: '7', bytes: 125 }, // not a number: adds 0
        s6: { state: 'done', events: null, bytes: 2 ** 52 },
      });
      assert.deepEqual(await store.aggregate(coll), { count: 6, sums: {} });
      assert.deepEqual(await store.aggregate(coll, [], ['events', 'bytes']), { count: 6, sums: { events: 30, bytes: 3875 + 2 ** 52 } });
      assert.deepEqual(await store.aggregate(coll, [{ field: 'state', op: '==', value: 'failed' }], ['events', 'bytes']), { count: 2, sums: { events: 0, bytes: 750 } });
      assert.deepEqual(await store.aggregate(coll, [{ field: 'events', op: '>=', value: 10 }], ['events']), { count: 2, sums: { events: 30 } });
      assert.deepEqual(await store.aggregate(coll, [{ field: 'state', op: '==', value: 'done' }, { field: 'bytes', op: '<', value: 2000 }], ['bytes']), { count: 2, sums: { bytes: 1125 } });
      // more sums than Firestore takes in one request (count + 4)
      assert.deepEqual(await store.aggregate(coll, [], ['a', 'b', 'c', 'd', 'e', 'f', 'events']), { count: 6, sums: { a: 2, b: 2, c: 3, d: 4, e: 5, f: 12, events: 30 } });
      assert.deepEqual(await store.aggregate(coll, [], ['events', 'events']), { count: 6, sums: { events: 30 } });
      assert.deepEqual(await store.aggregate(coll, [], ['missing', 'state']), { count: 6, sums: { missing: 0, state: 0 } });
      assert.deepEqual(await store.aggregate(coll, [{ field: 'state', op: '==', value: 'none' }], ['events']), { count: 0, sums: { events: 0 } });
      assert.deepEqual(await store.aggregate(`${coll}/s1/nothing`, [], ['events']), { count: 0, sums: { events: 0 } });
      // fractional sums
      const f = `${freshRoot()}/job/floats`;
      await createAll(store, f, { a: { x: 0.5 }, b: { x: 0.25 }, c: { x: -1.5 } });
      assert.deepEqual(await store.aggregate(f, [], ['x']), { count: 3, sums: { x: -0.75 } });
    });

    test('data round-trips exactly through create, merge, get and query', async () => {
      const unit = 'ASCII, Grüße, 世界, שלום, e\u0301, \u0000, \t\n, 😀🚀; ';
      const long = unit.repeat(Math.ceil(500_000 / Buffer.byteLength(unit)));
      assert.ok(Buffer.byteLength(long) > 500_000 && Buffer.byteLength(long) < 600_000);
      const data: Doc = {
        str: 'plain',
        empty: '',
        unicode: 'Grüße, 世界, 😀, שלום, e\u0301, \u0000 inside, \uFFFF',
        int: 42,
        zero: 0,
        negative: -17,
        maxSafe: 2 ** 53 - 1,
        minSafe: -(2 ** 53 - 1),
        float: 3.141592653589793,
        negativeFloat: -0.001,
        tiny: 5e-324,
        huge: 1.7976931348623157e308,
        notSafe: 2 ** 60,
        negativeZero: -0,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', true, null, { three: 3, list: [4] }, 4.5, -0.25],
        emptyList: [],
        emptyMap: {},
        nested: { a: { b: { c: [{ d: 'deep', e: { f: null } }] } }, sibling: 1 },
        'field with spaces': 1,
        'dotted.name': 'a field name with a dot',
        'ünïcödé 🔑': 'key',
        $increment: 'a string, not an increment',
        long,
      };
      const root = freshRoot();
      assert.equal(await store.create(`${root}/created`, data), true);
      await store.merge(`${root}/merged`, data);
      // the long string is compared on its own, so that a failure does not print it
      const same = (back: Doc | undefined, what: string) => {
        const { long: backLong, ...rest } = back ?? {};
        const { long: _long, ...expected } = data;
        assert.deepStrictEqual(rest, expected, what);
        assert.ok(backLong === long, `${what}: the long string differs`);
        assert.ok(Object.is(rest.negativeZero, -0), `${what}: negative zero stays negative`);
      };
      same(await store.get(`${root}/created`), 'created');
      const queried = await store.query(root, { where: [{ field: 'str', op: '==', value: 'plain' }] });
      assert.equal(queried.length, 2);
      if (deviates('merge-drops-quoted-names')) {
        const merged = await store.get(`${root}/merged`);
        const quoted = ['field with spaces', 'ünïcödé 🔑', '$increment'];
        assert.deepEqual(quoted.filter((k) => merged && k in merged), []);
        same({ ...merged, ...Object.fromEntries(quoted.map((k) => [k, data[k]!])) }, 'merged');
        same(queried.find((d) => d.id === 'created')?.data, 'query created');
      } else {
        same(await store.get(`${root}/merged`), 'merged');
        for (const d of queried) same(d.data, `query ${d.id}`);
      }
      const found = await store.query(root, { where: [{ field: 'unicode', op: '==', value: data.unicode as string }] });
      assert.equal(found.length, 2);
      assert.equal((await store.query(root, { where: [{ field: 'maxSafe', op: '==', value: 2 ** 53 - 1 }] })).length, 2);
      assert.equal((await store.query(root, { where: [{ field: 'minSafe', op: '<', value: -(2 ** 53 - 2) }] })).length, 2);
    });

    test('merge() stores fields whose names are not simple identifiers', async () => {
      const path = `${freshRoot()}/q`;
      const data = { 'a-b': 1, 'with space': 2, '1abc': 3, $x: 4, ü: 5, 'x.y': 6, simple_1: 7, m: { 'in-a-map': 8 } };
      await store.merge(path, data);
      const back = await store.get(path);
      if (deviates('merge-drops-quoted-names')) assert.deepEqual(back, { 'x.y': 6, simple_1: 7, m: { 'in-a-map': 8 } });
      else assert.deepEqual(back, data);
    });

    test('a caller mutating its arguments or the returned objects does not change the store', async () => {
      const root = freshRoot();
      const data = { m: { x: 1 }, list: [1, 2], s: 'a' };
      await store.create(`${root}/a`, data);
      data.m.x = 99;
      data.list.push(3);
      const expected = { m: { x: 1 }, list: [1, 2], s: 'a' };
      const got = (await store.get(`${root}/a`)) as typeof data;
      assert.deepEqual(got, expected);
      got.m.x = 5;
      got.list.push(9);
      got.s = 'changed';
      assert.deepEqual(await store.get(`${root}/a`), expected);
      const [listed] = await store.query(root);
      (listed!.data.m as { x: number }).x = 7;
      listed!.data.extra = true;
      assert.deepEqual(await store.get(`${root}/a`), expected);
      const patch = { m: { y: 2 } };
      await store.merge(`${root}/a`, patch);
      patch.m.y = 3;
      assert.deepEqual(await store.get(`${root}/a`), { m: { y: 2 }, list: [1, 2], s: 'a' });
    });

    test('invalid paths are refused with an error naming the path', async () => {
      const badDocuments = ['', 'jobs', 'jobs/a/b', '/jobs/a', 'jobs/a/', 'jobs//a', 'jobs/.', 'jobs/..', './a', 'jobs/__x__', '__jobs__/a', `jobs/${'x'.repeat(1501)}`, 'jobs/\uD800'];
      const badCollections = ['', 'jobs/a', '/jobs', 'jobs/', 'jobs//b/c', 'a/b/c/d', '..', 'jobs/a/__sub__'];
      const naming = (path: string) => (err: unknown) => err instanceof Error && err.message.includes(JSON.stringify(path));
      for (const path of badDocuments) {
        await assert.rejects(store.create(path, { v: 1 }), naming(path), `create ${path}`);
        await assert.rejects(store.get(path), naming(path), `get ${path}`);
        await assert.rejects(store.merge(path, { v: 1 }), naming(path), `merge ${path}`);
      }
      for (const path of badCollections) {
        await assert.rejects(store.query(path), naming(path), `query ${path}`);
        await assert.rejects(store.aggregate(path), naming(path), `aggregate ${path}`);
      }
      // ids may hold most other characters
      const root = freshRoot();
      for (const id of ['a b', 'ü', '😀', 'x.y', '-_~!@#$%^&*()', '_x_', '__x', 'x'.repeat(1500)]) {
        assert.equal(await store.create(`${root}/${id}`, { id }), true, id);
        assert.deepEqual(await store.get(`${root}/${id}`), { id });
      }
    });

    test('data Firestore cannot store is refused, and nothing is written', async () => {
      const root = freshRoot();
      let deep: Doc = { leaf: 1 };
      for (let i = 0; i < 21; i++) deep = { d: deep };
      const bad: [string, Doc][] = [
        ['undefined', { v: undefined } as unknown as Doc],
        ['nested undefined', { m: { v: undefined } } as unknown as Doc],
        ['array in array', { v: [1, [2]] }],
        ['empty field name', { '': 1 }],
        ['empty nested field name', { m: { '': 1 } }],
        ['reserved field name', { __name__: 1 }],
        ['reserved nested field name', { m: { __x__: 1 } }],
        ['function', { f: (() => 1) as unknown as Doc }],
        ['Date', { d: new Date(0) as unknown as Doc }],
        ['Map', { m: new Map() as unknown as Doc }],
        ['bigint', { b: 1n as unknown as Doc }],
        ['lone surrogate', { s: 'a\uD800b' }],
        ['lone surrogate in a key', { 'k\uDC00': 1 }],
        ['increment in a map', { m: { n: increment(1) } }],
        ['increment in an array', { a: [increment(1)] }],
        ['increment(NaN)', { n: increment(NaN) }],
        ['maps nested 21 deep', deep],
        ['not an object', [1, 2] as unknown as Doc],
      ];
      for (const [what, data] of bad) {
        await assert.rejects(store.create(`${root}/c`, data), Error, `create: ${what}`);
        await assert.rejects(store.merge(`${root}/m`, data), Error, `merge: ${what}`);
      }
      assert.equal(await store.get(`${root}/c`), undefined);
      assert.equal(await store.get(`${root}/m`), undefined);
      // 20 deep is fine
      assert.equal(await store.create(`${root}/ok`, (deep.d as Doc)), true);
    });

    test('invalid query options are refused', async () => {
      const coll = `${freshRoot()}/job/docs`;
      await store.create(`${coll}/a`, { x: 1, y: 2 });
      const bad: Parameters<DocumentStore['query']>[1][] = [
        { where: [{ field: 'x', op: '>', value: 0 }, { field: 'y', op: '<', value: 5 }] }, // range on two fields
        { where: [{ field: 'x', op: 'in' as '==', value: 1 }] },
        { where: [{ field: 'x', op: '==', value: null as unknown as number }] },
        { where: [{ field: '', op: '==', value: 1 }] },
        { where: [{ field: 'x', op: '<', value: NaN }] },
        { orderBy: { field: 'x', direction: 'up' as 'asc' } },
        { limit: -1 },
        { limit: 1.5 },
      ];
      for (const options of bad) await assert.rejects(store.query(coll, options), Error, JSON.stringify(options));
      await assert.rejects(store.aggregate(coll, [{ field: 'x', op: '>', value: 0 }, { field: 'y', op: '<', value: 5 }]), Error);
      await assert.rejects(store.aggregate(coll, [], ['']), Error);
    });

    test('a document over 1 MiB is refused', async () => {
      const root = freshRoot();
      // a shard record with a 1 MB result fits
      assert.equal(await store.create(`${root}/fits`, { result: 'r'.repeat(1_000_000), index: 1 }), true);
      const over = { result: 'r'.repeat(MAX_DOCUMENT_BYTES) };
      if (deviates('no-size-limit')) {
        assert.equal(await store.create(`${root}/over`, over), true);
      } else {
        await assert.rejects(store.create(`${root}/over`, over), /over the limit/);
        // a merge that would grow a document past the limit fails and changes nothing
        await assert.rejects(store.merge(`${root}/fits`, { more: 'm'.repeat(60_000) }), /over the limit/);
        assert.deepEqual(Object.keys((await store.get(`${root}/fits`))!).sort(), ['index', 'result']);
      }
    });
  });
}

describe('MemoryDocumentStore extras', () => {
  test('stats count operations and documents read', async () => {
    const store = new MemoryDocumentStore();
    await store.create('c/a', { i: 1 });
    await store.create('c/a', { i: 1 });
    await store.create('c/b', { i: 2 });
    await store.merge('c/c', { i: increment(3) });
    await store.get('c/a');
    await store.get('c/none');
    await store.query('c', { limit: 2 });
    await store.query('c', { where: [{ field: 'i', op: '>', value: 1 }] });
    await store.aggregate('c', [], ['i']);
    await assert.rejects(store.get('bad'));
    assert.deepEqual(store.stats, { creates: 2, createConflicts: 1, gets: 2, merges: 1, queries: 2, aggregates: 1, docsRead: 5 });
    store.resetStats();
    assert.deepEqual(store.stats, { creates: 0, createConflicts: 0, gets: 0, merges: 0, queries: 0, aggregates: 0, docsRead: 0 });
  });

  test('snapshot() lists every document by path, as copies', async () => {
    const store = new MemoryDocumentStore();
    await store.create('jobs/j2', { n: 2 });
    await store.create('jobs/j1', { n: 1, m: { x: 1 } });
    await store.create('jobs/j1/shards/000001', { i: 1 });
    await store.merge('jobs/j1/shards/000000', { i: 0 });
    const snap = store.snapshot();
    assert.deepEqual(Object.keys(snap), ['jobs/j1', 'jobs/j1/shards/000000', 'jobs/j1/shards/000001', 'jobs/j2']);
    assert.deepEqual(snap['jobs/j1'], { n: 1, m: { x: 1 } });
    (snap['jobs/j1']!.m as { x: number }).x = 5;
    assert.deepEqual(await store.get('jobs/j1'), { n: 1, m: { x: 1 } });
    assert.equal(store.stats.gets, 1);
  });

  test('dotted field paths address fields of maps in filters, orderBy and sums (not run on the emulator, which fails them)', async () => {
    const store = new MemoryDocumentStore();
    await store.create('c/a', { m: { n: 2, s: 'x' }, 'm.n': 100 });
    await store.create('c/b', { m: { n: 1 } });
    await store.create('c/c', { m: 5 });
    assert.deepEqual(ids(await store.query('c', { where: [{ field: 'm.n', op: '>=', value: 1 }], orderBy: { field: 'm.n', direction: 'desc' } })), ['a', 'b']);
    assert.deepEqual(ids(await store.query('c', { orderBy: { field: 'm.n' } })), ['b', 'a']);
    assert.deepEqual(await store.aggregate('c', [{ field: 'm.s', op: '==', value: 'x' }], ['m.n']), { count: 1, sums: { 'm.n': 2 } });
  });

  test('maxDocumentBytes', async () => {
    const small = new MemoryDocumentStore({ maxDocumentBytes: 100 });
    await small.create('c/a', { s: 'x'.repeat(40) });
    await assert.rejects(small.create('c/b', { s: 'x'.repeat(100) }), /would be \d+ bytes, over the limit of 100/);
    const unlimited = new MemoryDocumentStore({ maxDocumentBytes: Infinity });
    assert.equal(await unlimited.create('c/a', { s: 'x'.repeat(2 * MAX_DOCUMENT_BYTES) }), true);
  });
});

describe('Firestore emulator helper, and FirestoreDocumentStore specifics', () => {
  test('reset() forgets every document; close() is idempotent', async () => {
    const emu = await startFirestoreEmulator({ projectId: 'demo-reset' });
    try {
      const store = new FirestoreDocumentStore(emu.firestore());
      assert.equal(await store.create('c/a', { v: 1 }), true);
      emu.reset();
      assert.equal(await store.get('c/a'), undefined);
      assert.equal(await store.create('c/a', { v: 2 }), true);
      assert.deepEqual(await store.get('c/a'), { v: 2 });
      assert.match(emu.host, /^127\.0\.0\.1:\d+$/);
    } finally {
      await emu.close();
      await emu.close();
    }
    assert.throws(() => emu.firestore(), /closed/);
  });

  test('firestore() refuses to make a client while FIRESTORE_EMULATOR_HOST names another host', async () => {
    const emu = await startFirestoreEmulator();
    const saved = process.env.FIRESTORE_EMULATOR_HOST;
    try {
      process.env.FIRESTORE_EMULATOR_HOST = '127.0.0.1:1';
      assert.throws(() => emu.firestore(), /FIRESTORE_EMULATOR_HOST/);
    } finally {
      if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = saved;
      await emu.close();
    }
  });

  test('FirestoreDocumentStore: a client made from settings; values that are not plain JSON are flattened', async () => {
    const emu = await startFirestoreEmulator();
    const store = new FirestoreDocumentStore({ projectId: emu.projectId, host: emu.host, ssl: false, credentials: { client_email: 'test@example.com', private_key: 'unused' } });
    try {
      assert.equal(await store.create('c/a', { n: 2 ** 53 - 1 }), true);
      assert.deepEqual(await store.get('c/a'), { n: 2 ** 53 - 1 });
      // written by another client: types our data never holds
      const { Timestamp, GeoPoint } = await import('@google-cloud/firestore');
      const raw = emu.firestore();
      await raw.doc('c/b').set({ date: new Date(1234), ts: Timestamp.fromMillis(5678), ref: raw.doc('x/y'), geo: new GeoPoint(1.5, -2), bytes: Buffer.from('hi'), list: [new Date(1)] });
      assert.deepEqual(await store.get('c/b'), { date: 1234, ts: 5678, ref: 'x/y', geo: { latitude: 1.5, longitude: -2 }, bytes: 'aGk=', list: [1] });
      // a client that returns integers as bigint
      const bigints = new FirestoreDocumentStore(emu.firestore({ useBigInt: true }));
      assert.deepEqual(await bigints.get('c/a'), { n: 2 ** 53 - 1 });
      assert.deepEqual(await bigints.aggregate('c', [], ['n']), { count: 2, sums: { n: 2 ** 53 - 1 } });
      await bigints.close(); // leaves the injected client open
      assert.deepEqual((await raw.doc('c/a').get()).data(), { n: 2 ** 53 - 1 });
    } finally {
      await store.close();
      await emu.close();
    }
  });
});
