// Choosing how to decode a branch: from its ROOT class, leaves, fType and
// fStreamerType, and (for members of split classes) the file's streamer infos.

import { RootError, type ErrorContext } from './errors';
import type { Dtype } from './content';
import {
  FixedPrimitiveDecoder,
  GenericDecoder,
  JaggedGenericDecoder,
  JaggedPrimitiveDecoder,
  NestedVectorDecoder,
  VectorPrimitiveDecoder,
  flatRecordOf,
  type BasketDecoder,
} from './decode';
import { findMember } from './streamers';
import type { Branch, Tree } from './tree';
import { dtypeOfCode, elementType, hasPackingRange, memberHasHeader, resolveTypeName, typeNodeName, type TypeNode, type TypeResolver } from './types';

export interface Interpretation {
  /** A C++-like type name for people (`inspect`). */
  typeName: string;
  decoder: BasketDecoder;
}

/**
 * A branch whose values are assembled from its sub-branches: a split
 * `vector<ElementLink<…>>` is read as list(record{m_persKey, m_persIndex}).
 */
export interface SplitCollection {
  typeName: string;
  members: { name: string; branch: Branch }[];
}

const LEAF_DTYPES: Record<string, [Dtype, Dtype]> = {
  TLeafB: ['int8', 'uint8'],
  TLeafS: ['int16', 'uint16'],
  TLeafI: ['int32', 'uint32'],
  TLeafL: ['int64', 'uint64'],
  TLeafG: ['int64', 'uint64'],
  TLeafF: ['float32', 'float32'],
  TLeafD: ['float64', 'float64'],
  TLeafO: ['bool', 'bool'],
};

function unsupported(ctx: ErrorContext, what: string): RootError {
  return new RootError('UNSUPPORTED', what, ctx);
}

/** Dimensions after the name in a leaf title, e.g. "x[3][4]/F" → [3, 4]; "x[n]" gives no fixed dimension. */
function fixedDims(title: string): number[] {
  const name = title.split('/')[0] ?? '';
  const dims: number[] = [];
  for (const m of name.matchAll(/\[([^\]]+)\]/g)) {
    const n = Number(m[1]);
    if (Number.isInteger(n)) dims.push(n);
  }
  return dims;
}

export function resolverFor(tree: Tree, branch: Branch): TypeResolver {
  return { streamer: (cls) => tree.file.streamer(cls), context: { file: tree.file.name, tree: tree.name, branch: branch.name } };
}

/** Sub-branches that make a split collection (fType 3 TClonesArray, 4 STL collection). */
export function splitCollectionOf(branch: Branch): SplitCollection | null {
  if (branch.rootClass !== 'TBranchElement' || (branch.type !== 3 && branch.type !== 4) || branch.branches.length === 0) return null;
  const prefix = branch.name + '.';
  const members = branch.branches.map((b) => ({ name: b.name.startsWith(prefix) ? b.name.slice(prefix.length) : b.name, branch: b }));
  return { typeName: branch.className, members };
}

export async function interpret(tree: Tree, branch: Branch): Promise<Interpretation> {
  const ctx: ErrorContext = { file: tree.file.name, tree: tree.name, branch: branch.name };
  if (branch.rootClass === 'TBranch') return interpretLeaves(branch, ctx);
  if (branch.rootClass !== 'TBranchElement') throw unsupported(ctx, `branches of class ${branch.rootClass} are not decoded`);
  return interpretElement(tree, branch, ctx);
}

function interpretLeaves(branch: Branch, ctx: ErrorContext): Interpretation {
  if (branch.leaves.length > 1) return interpretLeafList(branch, ctx);
  if (branch.leaves.length === 0) throw unsupported(ctx, `branch has no leaves`);
  const leaf = branch.leaves[0]!;
  if (leaf.className === 'TLeafC') {
    return { typeName: 'char*', decoder: new GenericDecoder({ kind: 'string' }, false, 'string') };
  }
  const [signed, unsigned] = LEAF_DTYPES[leaf.className] ?? [];
  let dtype = leaf.isUnsigned ? unsigned : signed;
  let double32 = false;
  // a TLeafD32 title "x/d[min,max,nbits]" asks for packing; without it the value is a float
  if (!dtype && leaf.className === 'TLeafD32' && !hasPackingRange(leaf.title.split('/').pop()?.replace(/^d/, '') ?? '')) {
    dtype = 'float64';
    double32 = true;
  }
  if (!dtype) throw unsupported(ctx, `leaf type ${leaf.className} (title "${leaf.title}") is not decoded`);
  const dims = fixedDims(leaf.title);
  const perEntry = Math.max(1, leaf.len);
  const dimText = dims.map((d) => `[${d}]`).join('');
  if (leaf.countLeaf || leaf.len < 0) {
    // fLen -1 without a count leaf object: still variable length, counted by the entry offsets
    const counter = leaf.countLeaf?.name ?? '';
    return { typeName: `${dtype}[${counter}]${dimText}`, decoder: new JaggedPrimitiveDecoder(dtype, perEntry, double32) };
  }
  return { typeName: perEntry > 1 ? `${dtype}${dimText || `[${perEntry}]`}` : dtype, decoder: new FixedPrimitiveDecoder(dtype, perEntry, double32) };
}

/**
 * A leaf list ("px/F:py/F:n/I"): each entry holds the leaves back to back, read
 * as a record with one field per leaf. Only fixed-size numeric leaves.
 */
function interpretLeafList(branch: Branch, ctx: ErrorContext): Interpretation {
  const fields = branch.leaves.map((leaf) => {
    const dtype = LEAF_DTYPES[leaf.className]?.[leaf.isUnsigned ? 1 : 0];
    if (!dtype || leaf.countLeaf) throw unsupported(ctx, `leaf ${leaf.name} (${leaf.className}${leaf.countLeaf ? `, counted by ${leaf.countLeaf.name}` : ''}) in leaf list "${branch.title}" is not decoded`);
    const item: TypeNode = { kind: 'primitive', dtype };
    return { name: leaf.name, type: leaf.len > 1 ? ({ kind: 'array', size: leaf.len, item } as TypeNode) : item, header: false };
  });
  const type: TypeNode = { kind: 'record', className: branch.title, version: 0, bases: [], fields };
  const typeName = `{${fields.map((f) => `${f.name}: ${typeNodeName(f.type)}`).join(', ')}}`;
  return { typeName, decoder: new GenericDecoder(type, false, typeName) };
}

function primitiveType(code: number, ctx: ErrorContext, what: string): { dtype: Dtype; double32: boolean } {
  const d = dtypeOfCode(code);
  if (d === 'double32') return { dtype: 'float64', double32: true };
  if (!d || d === 'float16') throw unsupported(ctx, `${what}: streamer type ${code} is not decoded`);
  return { dtype: d, double32: false };
}

async function interpretElement(tree: Tree, branch: Branch, ctx: ErrorContext): Promise<Interpretation> {
  const st = branch.streamerType;
  const resolver = resolverFor(tree, branch);
  const member = memberName(branch);
  const inCollection = branch.type === 31 || branch.type === 41;
  if (st > 0 && st < 60 && st % 20 === 9) {
    // Double32_t: a plain float unless its title asks for packing into a scaled integer
    const el = await findMember(resolver.streamer, branch.className, member);
    if (!el || hasPackingRange(el.title)) {
      throw unsupported(ctx, `Double32_t member ${member} of ${branch.className}${el ? ` packed with a range ("${el.title}")` : ' without streamer info'} is not decoded`);
    }
  }

  if (branch.branches.length > 0) {
    // the reader assembles these from their member branches
    throw unsupported(ctx, `split ${splitCollectionOf(branch) ? 'collection' : 'object'} of class ${branch.className || '?'} has no data of its own`);
  }

  if (inCollection) {
    // a member of a split collection: items back to back, counts from entry offsets
    if (st > 0 && st < 20) {
      const { dtype, double32 } = primitiveType(st, ctx, `member ${member}`);
      return { typeName: `${dtype}[]`, decoder: new JaggedPrimitiveDecoder(dtype, 1, double32) };
    }
    if (st > 20 && st < 40) {
      const { dtype, double32 } = primitiveType(st - 20, ctx, `member ${member}`);
      const el = await findMember(resolver.streamer, branch.className, member);
      if (!el || el.arrayLength <= 0) throw unsupported(ctx, `array member ${member} of ${branch.className} has no known length`);
      return { typeName: `${dtype}[${el.arrayLength}][]`, decoder: new JaggedPrimitiveDecoder(dtype, el.arrayLength, double32) };
    }
    const el = await findMember(resolver.streamer, branch.className, member);
    if (!el) throw unsupported(ctx, `member ${member} of ${branch.className}: no streamer info (streamer type ${st})`);
    const item = await elementType(branch.className, member, el.type, el.typeName, el.arrayLength, resolver, 0, el.title);
    const itemHeader = item.kind === 'vector' || item.kind === 'record';
    // kSTL members of a split collection: each entry's run of items is wrapped in one header
    const entryHeader = st === 300 || st === 365;
    return { typeName: `${typeNodeName(item)}[]`, decoder: new JaggedGenericDecoder(item, itemHeader, `${typeNodeName(item)}[]`, entryHeader) };
  }

  if (st > 0 && st < 20) {
    const { dtype, double32 } = primitiveType(st, ctx, `branch of ${branch.className}`);
    return { typeName: double32 ? 'Double32_t' : dtype, decoder: new FixedPrimitiveDecoder(dtype, 1, double32) };
  }
  if (st > 20 && st < 40) {
    const { dtype, double32 } = primitiveType(st - 20, ctx, `branch of ${branch.className}`);
    const el = await findMember(resolver.streamer, branch.className, member);
    if (!el || el.arrayLength <= 0) throw unsupported(ctx, `array member ${member} of ${branch.className} has no known length`);
    return { typeName: `${dtype}[${el.arrayLength}]`, decoder: new FixedPrimitiveDecoder(dtype, el.arrayLength, double32) };
  }
  if (st > 40 && st < 60) {
    // a pointer member with a count ("Short_t* x; //[n]"): a flag byte, then the values
    const { dtype, double32 } = primitiveType(st - 40, ctx, `branch of ${branch.className}`);
    return { typeName: `${dtype}[]`, decoder: new JaggedPrimitiveDecoder(dtype, 1, double32, 1) };
  }

  let type: TypeNode;
  let header = true;
  if (st === -1) {
    // a whole object per entry: the branch's class is its type. A class object
    // is written member by member without its own header (its bases keep
    // theirs); an STL collection is written with one.
    // std::string (ROOT's TBufferFile::WriteStdString) has no header of its own either.
    type = await resolveTypeName(branch.className, resolver);
    header = type.kind !== 'record' && type.kind !== 'string';
  } else if (st === 0) {
    // a base-class sub-branch: the base object (element fID of the class), with its header
    const info = await resolver.streamer(branch.className);
    const el = info?.elements[branch.elementId];
    type = await resolveTypeName(el && el.kind === 'TStreamerBase' ? el.name : member, resolver);
  } else if (st === 300 || st === 500 || st === 61 || st === 62 || st === 65 || st === 365) {
    const el = await findMember(resolver.streamer, branch.className, member);
    if (!el) throw unsupported(ctx, `member ${member} of ${branch.className}: no streamer info (streamer type ${st})`);
    type = await elementType(branch.className, member, el.type, el.typeName, el.arrayLength, resolver, 0, el.title);
    header = memberHasHeader(el.type, type);
  } else {
    throw unsupported(ctx, `streamer type ${st} of ${branch.className}::${member} is not decoded`);
  }
  const typeName = typeNodeName(type);
  if (type.kind === 'vector' && type.item.kind === 'primitive' && header) {
    return { typeName, decoder: new VectorPrimitiveDecoder(type.item.dtype, !!type.item.double32) };
  }
  if (type.kind === 'primitive') {
    return { typeName, decoder: new FixedPrimitiveDecoder(type.dtype, 1, !!type.double32) };
  }
  const nested = header ? nestedDecoder(type, typeName) : null;
  if (nested) return { typeName, decoder: nested };
  return { typeName, decoder: new GenericDecoder(type, header, typeName) };
}

/** vector<vector<number>>, vector<vector<Record>> and vector<Record> get the two-pass fast path. */
function nestedDecoder(type: TypeNode, typeName: string): BasketDecoder | null {
  if (type.kind !== 'vector') return null;
  const asItem = (t: TypeNode) => {
    if (t.kind === 'primitive' && !t.double32) return { kind: 'primitive' as const, dtype: t.dtype };
    const rec = flatRecordOf(t);
    return rec ? { kind: 'record' as const, rec } : null;
  };
  if (type.item.kind === 'vector') {
    const item = asItem(type.item.item);
    return item ? new NestedVectorDecoder(item, 2, typeName, type) : null;
  }
  const item = asItem(type.item);
  return item && item.kind === 'record' ? new NestedVectorDecoder(item, 1, typeName, type) : null;
}

/** The member a branch stands for: the last name component after its parent's name. */
function memberName(branch: Branch): string {
  let name = branch.name;
  const parent = branch.parent;
  if (parent && name.startsWith(parent.name + '.')) name = name.slice(parent.name.length + 1);
  else if (parent && parent.name.endsWith('.') && name.startsWith(parent.name)) name = name.slice(parent.name.length);
  else {
    const dot = name.lastIndexOf('.');
    if (dot >= 0) name = name.slice(dot + 1);
  }
  // array members are named "x[3]"
  const br = name.indexOf('[');
  return br >= 0 ? name.slice(0, br) : name;
}
