// How a PHYSLITE CollectionTree's ~1500 branches group into collections.
//
// xAOD stores each container as columns of an "auxiliary store": static
// members under `<Key>Aux.<field>` (sub-branches of one split branch) and
// dynamic ones under `<Key>AuxDyn.<field>`. Following coffea's PHYSLITE
// schema, a collection is named by its store key with the "Analysis" prefix
// dropped (AnalysisElectrons → Electrons), and its fields are the union of
// both kinds. Interface branches (`AnalysisElectrons`, a DataVector with no
// data of its own) and base-class sub-branches (`…Aux.xAOD::AuxContainerBase`)
// are not fields.

import { RootError } from '../root/index';

export interface CollectionSchema {
  /** Name in the event model, e.g. "Electrons". */
  name: string;
  /** Store key the file uses (and ElementLinks hash), e.g. "AnalysisElectrons". */
  key: string;
  /** field name → branch name */
  fields: Map<string, string>;
}

/** "Electrons.pt" → { collection: "Electrons", field: "pt" } */
export interface ColumnRef {
  collection: string;
  field: string;
}

export function parseColumnRef(ref: string): ColumnRef {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new RootError('BAD_ARGUMENT', `column "${ref}" is not of the form Collection.field`);
  return { collection: ref.slice(0, dot), field: ref.slice(dot + 1) };
}

const ANALYSIS_PREFIX = 'Analysis';

export function collectionNameOfKey(key: string): string {
  return key.startsWith(ANALYSIS_PREFIX) && key.length > ANALYSIS_PREFIX.length ? key.slice(ANALYSIS_PREFIX.length) : key;
}

export class PhysliteSchema {
  readonly collections = new Map<string, CollectionSchema>();

  /**
   * From the tree's branch names (top-level and sub-branches, each once).
   * `parentOf` gives a sub-branch's parent name (undefined for top-level ones).
   */
  static fromBranches(branches: Iterable<{ name: string; parent?: string }>): PhysliteSchema {
    const schema = new PhysliteSchema();
    const dyn: [string, string, string][] = [];
    const stat: [string, string, string][] = [];
    for (const { name, parent } of branches) {
      if (parent === undefined) {
        const k = name.indexOf('AuxDyn.');
        if (k > 0 && k + 7 < name.length) dyn.push([name.slice(0, k), name.slice(k + 7), name]);
      } else if (parent.endsWith('Aux.') && name.startsWith(parent)) {
        const field = name.slice(parent.length);
        if (field && !field.includes('::') && !field.includes('.')) stat.push([parent.slice(0, -4), field, name]);
      }
    }
    // dynamic columns first: they are what PHYSLITE analyses read, and win a clash
    for (const [key, field, branch] of [...dyn, ...stat]) schema.add(key, field, branch);
    return schema;
  }

  private add(key: string, field: string, branch: string): void {
    const name = collectionNameOfKey(key);
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = { name, key, fields: new Map() }));
    if (c.key !== key) return; // two keys mapping to one name: the first keeps it
    if (!c.fields.has(field)) c.fields.set(field, branch);
  }

  collection(name: string): CollectionSchema | undefined {
    return this.collections.get(name);
  }

  /** The branch of Collection.field, or undefined when the file lacks it. */
  branchOf(ref: ColumnRef | string): string | undefined {
    const r = typeof ref === 'string' ? parseColumnRef(ref) : ref;
    return this.collections.get(r.collection)?.fields.get(r.field);
  }

  has(ref: ColumnRef | string): boolean {
    return this.branchOf(ref) !== undefined;
  }

  /** Column refs among `refs` that the file lacks (as branch-like names for messages). */
  missing(refs: readonly string[]): string[] {
    return refs.filter((r) => !this.has(r));
  }
}

/** Store keys of the collections whose name differs from their key in PHYSLITE files. */
const KNOWN_KEYS: Record<string, string> = {
  Electrons: 'AnalysisElectrons',
  Muons: 'AnalysisMuons',
  Jets: 'AnalysisJets',
  Photons: 'AnalysisPhotons',
  TauJets: 'AnalysisTauJets',
  LargeRJets: 'AnalysisLargeRJets',
};

/** The branch a column would have (for messages about a column the file lacks). */
export function expectedBranch(schema: PhysliteSchema, ref: string): string {
  const r = parseColumnRef(ref);
  const existing = schema.branchOf(r);
  if (existing) return existing;
  const key = schema.collection(r.collection)?.key ?? KNOWN_KEYS[r.collection] ?? r.collection;
  return `${key}AuxDyn.${r.field}`;
}
