// `npm start`: the main job on the sample data, as far as the project goes today.
// Opens each PHYSLITE sample with our decoder, shows its tree, reads the
// reference analysis' branch set cluster by cluster and prints what it found
// (and what the reads cost). Later issues turn this into the local pipeline.

import { openRootFile, contentLength, type Content, type ListContent } from '../shared/root/index';
import { samplePath } from './lib/samples';
import { analysisBranches, type Profile } from './lib/analysis-branches';

const SAMPLES: { name: string; profile: Profile }[] = [
  { name: 'DAOD_PHYSLITE_21.2.108.0.art.pool.root', profile: 'r21' },
  { name: 'PHYSLITE_example.root', profile: 'r22' },
];

function objects(c: Content): number {
  return c.kind === 'list' ? (c as ListContent).offsets[contentLength(c)]! : contentLength(c);
}

for (const s of SAMPLES) {
  const path = await samplePath(s.name);
  const t0 = performance.now();
  const file = await openRootFile(path);
  const tree = await file.tree('CollectionTree');
  const openMs = performance.now() - t0;
  let decodable = 0;
  let total = 0;
  for (const b of tree.tree.allBranches()) {
    total++;
    if (!(await tree.typeName(b)).endsWith('not decoded)')) decodable++;
  }
  console.log(`\n${s.name}: ${tree.tree.entries} events, ${total} branches (${decodable} decodable), ${tree.tree.clusters().length} clusters, opened in ${openMs.toFixed(1)} ms`);

  const names = analysisBranches(s.profile);
  const counts = new Map<string, number>();
  const t1 = performance.now();
  for await (const chunk of tree.iterate(names)) {
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + objects(chunk.columns.get(n)!));
  }
  const readMs = performance.now() - t1;
  const collections = new Map<string, number>();
  for (const [n, c] of counts) {
    const coll = n.split('AuxDyn.')[0]!;
    collections.set(coll, Math.max(collections.get(coll) ?? 0, c));
  }
  console.log(`  analysis branch set (${s.profile}): ${names.length} branches read in ${readMs.toFixed(1)} ms — ${tree.stats.baskets} baskets, ${(tree.stats.compressedBytes / 1e3).toFixed(0)} kB compressed, ${(tree.stats.uncompressedBytes / 1e3).toFixed(0)} kB uncompressed`);
  for (const [coll, n] of collections) console.log(`    ${coll.padEnd(28)} ${String(n).padStart(7)} objects`);
  console.log(`  source: ${file.source.stats.requests} read requests, ${(file.source.stats.bytes / 1e3).toFixed(0)} kB`);
  await file.close();
}
console.log('\nTry: npx physlite inspect ../shared/data/PHYSLITE_example.root | less');
