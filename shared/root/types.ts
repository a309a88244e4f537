// C++ type names as ROOT writes them ("vector<vector<ElementLink<DataVector<xAOD::IParticle> > > >")
// turned into a type tree that a decoder can be compiled from. Classes are
// resolved through the file's streamer infos into records of their members.

import { RootError, type ErrorContext } from './errors';
import type { Dtype } from './content';
import type { StreamerInfo } from './streamers';

export type TypeNode =
  | { kind: 'primitive'; dtype: Dtype; /** stored as float32, returned as float64 */ double32?: boolean }
  | { kind: 'string' }
  | { kind: 'vector'; item: TypeNode; container: string }
  | { kind: 'array'; size: number; item: TypeNode }
  | { kind: 'record'; className: string; version: number; fields: { name: string; type: TypeNode; header: boolean }[]; bases: TypeNode[] }
  /** A class the file has no streamer info for: decodable only where no value of it occurs (an empty vector). */
  | { kind: 'unknown'; className: string };

/**
 * Whether a class member is written with a byte count + version header:
 * STL containers and std::string members (kSTL/kStreamer) and embedded
 * objects are; primitives, fixed arrays and TString are not.
 */
export function memberHasHeader(code: number, type: TypeNode): boolean {
  return code === 300 || code === 365 || code === 500 || code === 61 || code === 62 || type.kind === 'record';
}

const PRIMITIVES: Record<string, Dtype> = {
  bool: 'bool',
  Bool_t: 'bool',
  char: 'int8',
  Char_t: 'int8',
  'signed char': 'int8',
  'unsigned char': 'uint8',
  UChar_t: 'uint8',
  Byte_t: 'uint8',
  short: 'int16',
  Short_t: 'int16',
  'short int': 'int16',
  'unsigned short': 'uint16',
  'unsigned short int': 'uint16',
  UShort_t: 'uint16',
  int: 'int32',
  Int_t: 'int32',
  'unsigned int': 'uint32',
  unsigned: 'uint32',
  UInt_t: 'uint32',
  // ROOT writes long as 64 bits whatever the writer's platform
  long: 'int64',
  Long_t: 'int64',
  'long int': 'int64',
  'unsigned long': 'uint64',
  'unsigned long int': 'uint64',
  ULong_t: 'uint64',
  'long long': 'int64',
  Long64_t: 'int64',
  int64_t: 'int64',
  'unsigned long long': 'uint64',
  ULong64_t: 'uint64',
  uint64_t: 'uint64',
  size_t: 'uint64',
  int8_t: 'int8',
  uint8_t: 'uint8',
  int16_t: 'int16',
  uint16_t: 'uint16',
  int32_t: 'int32',
  uint32_t: 'uint32',
  float: 'float32',
  Float_t: 'float32',
  double: 'float64',
  Double_t: 'float64',
};

const SEQUENCES = new Set(['vector', 'set', 'list', 'deque', 'multiset', 'unordered_set', 'unordered_multiset', 'RVec', 'ROOT::VecOps::RVec']);

/** ROOT's basic type codes (EDataType) as found in fStreamerType / TStreamerElement.fType. */
export function dtypeOfCode(code: number): Dtype | 'double32' | 'float16' | undefined {
  switch (code) {
    case 1:
      return 'int8';
    case 2:
      return 'int16';
    case 3:
    case 6: // kCounter
      return 'int32';
    case 4:
      return 'int64';
    case 5:
      return 'float32';
    case 8:
      return 'float64';
    case 9:
      return 'double32';
    case 11:
      return 'uint8';
    case 12:
      return 'uint16';
    case 13:
    case 15: // kBits
      return 'uint32';
    case 14:
      return 'uint64';
    case 16:
      return 'int64';
    case 17:
      return 'uint64';
    case 18:
      return 'bool';
    case 19:
      return 'float16';
    default:
      return undefined;
  }
}

/** Normalises spacing, std:: prefixes and const so names compare equal. */
export function normalizeTypeName(name: string): string {
  return name
    .replace(/\bstd::/g, '')
    .replace(/\bconst\s+/g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*<\s*/g, '<')
    .replace(/\s*>/g, '>')
    .replace(/\s*,\s*/g, ',')
    .trim();
}

/** Splits "a<b,c<d>>,e" at top-level commas. */
function splitTemplateArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '<') depth++;
    else if (ch === '>') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim());
}

export interface TypeResolver {
  streamer(className: string): Promise<StreamerInfo | undefined>;
  context: ErrorContext;
}

/** Resolves a C++ type name into a type tree (classes through streamer infos). */
export async function resolveTypeName(name: string, r: TypeResolver, depth = 0): Promise<TypeNode> {
  if (depth > 24) throw new RootError('UNSUPPORTED', `type ${name} is nested too deeply (recursive?)`, r.context);
  const n = normalizeTypeName(name);
  if (n.endsWith('*')) throw new RootError('UNSUPPORTED', `type ${name}: pointers are not decoded`, r.context);
  const prim = PRIMITIVES[n];
  if (prim) return { kind: 'primitive', dtype: prim };
  if (n === 'Double32_t') return { kind: 'primitive', dtype: 'float64', double32: true };
  if (n === 'string' || n === 'TString' || n === 'basic_string<char>') return { kind: 'string' };
  const lt = n.indexOf('<');
  if (lt > 0 && n.endsWith('>')) {
    const outer = n.slice(0, lt);
    const args = splitTemplateArgs(n.slice(lt + 1, -1));
    if (SEQUENCES.has(outer)) {
      // vector<T, allocator<T>>: the allocator argument is irrelevant on disk
      return { kind: 'vector', container: outer, item: await resolveTypeName(args[0]!, r, depth + 1) };
    }
  }
  return resolveClass(n, r, depth);
}

/**
 * ElementLink<T> always streams as its base ElementLinkBase {m_persKey, m_persIndex};
 * files leave out the streamer info of link types that were never filled.
 */
const ELEMENT_LINK_BASE: TypeNode = {
  kind: 'record',
  className: 'ElementLinkBase',
  version: 1,
  bases: [],
  fields: [
    { name: 'm_persKey', type: { kind: 'primitive', dtype: 'uint32' }, header: false },
    { name: 'm_persIndex', type: { kind: 'primitive', dtype: 'uint32' }, header: false },
  ],
};

async function resolveClass(className: string, r: TypeResolver, depth: number): Promise<TypeNode> {
  const info = await r.streamer(className);
  if (!info && className.startsWith('ElementLink<')) return { kind: 'record', className, version: 1, bases: [ELEMENT_LINK_BASE], fields: [] };
  if (!info) return { kind: 'unknown', className };
  const fields: { name: string; type: TypeNode; header: boolean }[] = [];
  const bases: TypeNode[] = [];
  for (const el of info.elements) {
    if (el.name === 'This' && normalizeTypeName(el.typeName) === normalizeTypeName(className)) {
      // A class streamed through a collection proxy: an xAOD interface
      // container (DataVector<T>) keeps its data in the Aux branches; per event
      // it stores its elements member-wise, usually with no members at all.
      const element = /^DataVector<(.+)>$/.exec(normalizeTypeName(className))?.[1];
      const item: TypeNode = element ? await resolveTypeName(element, r, depth + 1) : { kind: 'unknown', className: `element of ${className}` };
      return { kind: 'record', className, version: info.classVersion, bases: [], fields: [{ name: 'This', type: { kind: 'vector', container: 'DataVector', item }, header: true }] };
    }
    if (el.kind === 'TStreamerBase') {
      if (el.name === 'TObject' || el.name === 'TNamed') {
        throw new RootError('UNSUPPORTED', `type ${className}: TObject-derived classes are not decoded column-wise`, r.context);
      }
      bases.push(await resolveClass(el.name, r, depth + 1));
      continue;
    }
    const type = await elementType(className, el.name, el.type, el.typeName, el.arrayLength, r, depth, el.title);
    fields.push({ name: el.name, type, header: memberHasHeader(el.type, type) });
  }
  return { kind: 'record', className, version: info.classVersion, fields, bases };
}

/** The type of one streamer element (a class member). */
export async function elementType(
  className: string,
  member: string,
  code: number,
  typeName: string,
  arrayLength: number,
  r: TypeResolver,
  depth: number,
  title = '',
): Promise<TypeNode> {
  const unsupported = () =>
    new RootError('UNSUPPORTED', `member ${className}::${member} of type ${typeName} (streamer type ${code}) is not decoded`, r.context);
  if (code % 20 === 9 && hasPackingRange(title)) {
    throw new RootError('UNSUPPORTED', `member ${className}::${member} is a Double32_t packed with a range ("${title}"), which is not decoded`, r.context);
  }
  if (code > 0 && code < 20) {
    const d = dtypeOfCode(code);
    if (d === 'double32') return { kind: 'primitive', dtype: 'float64', double32: true };
    if (!d || d === 'float16') throw unsupported();
    return { kind: 'primitive', dtype: d };
  }
  if (code > 20 && code < 40) {
    const d = dtypeOfCode(code - 20);
    if (!d || d === 'float16' || d === 'double32') throw unsupported();
    return { kind: 'array', size: arrayLength, item: { kind: 'primitive', dtype: d } };
  }
  if (code === 65 || code === 365) return { kind: 'string' };
  if (code === 300 || code === 500 || code === 61 || code === 62) return resolveTypeName(typeName, r, depth + 1);
  throw unsupported();
}

/**
 * Whether a Double32_t/Float16_t member's title asks for packing, "[min,max(,nbits)]":
 * then the value is stored as a scaled integer, not as a float.
 */
export function hasPackingRange(title: string): boolean {
  return /^\s*\[[^\],]*,[^\]]*\]/.test(title);
}

/** A C++-like name for a type tree, for `inspect`. */
export function typeNodeName(t: TypeNode): string {
  switch (t.kind) {
    case 'primitive':
      return t.double32 ? 'Double32_t' : t.dtype;
    case 'string':
      return 'string';
    case 'vector':
      return `${t.container}<${typeNodeName(t.item)}>`;
    case 'array':
      return `${typeNodeName(t.item)}[${t.size}]`;
    case 'record':
    case 'unknown':
      return t.className;
  }
}
