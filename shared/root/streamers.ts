// TStreamerInfo: the file's own description of how each class is serialized.
// We need it to learn the C++ type of members of split classes (a branch
// "Container.member" of class "Container" says only fStreamerType=kSTL) and to
// decode simple classes member by member.

import type { Cursor } from './cursor';

export interface StreamerElement {
  /** TStreamerBase, TStreamerBasicType, TStreamerSTL, … */
  kind: string;
  name: string;
  title: string;
  /** ROOT's EDataType / TVirtualStreamerInfo code (kInt=3, kSTL=500, kBase=0, …). */
  type: number;
  size: number;
  arrayLength: number;
  arrayDim: number;
  maxIndex: number[];
  typeName: string;
  /** TStreamerBase: version of the base class. */
  baseVersion?: number;
  /** TStreamerBasicPointer / TStreamerLoop: the member holding the count. */
  countName?: string;
  /** TStreamerSTL: the container kind (1 vector, 2 list, 3 deque, 4 map, …) and the content type code. */
  stlType?: number;
  ctype?: number;
}

export interface StreamerInfo {
  name: string;
  classVersion: number;
  checksum: number;
  elements: StreamerElement[];
}

const ELEMENT_CLASSES = new Set([
  'TStreamerBase',
  'TStreamerBasicType',
  'TStreamerBasicPointer',
  'TStreamerLoop',
  'TStreamerObject',
  'TStreamerObjectPointer',
  'TStreamerObjectAny',
  'TStreamerObjectAnyPointer',
  'TStreamerString',
  'TStreamerSTL',
  'TStreamerSTLstring',
  'TStreamerArtificial',
]);

/** Parses the TList of TStreamerInfo stored at fSeekInfo (other entries, e.g. schema rules, are skipped). */
export function parseStreamerInfos(c: Cursor): StreamerInfo[] {
  const list = c.tlist((cls, cur) => (cls === 'TStreamerInfo' ? readStreamerInfo(cur) : undefined), 'streamer info list');
  return list.filter((x): x is StreamerInfo => !!x);
}

function readStreamerInfo(c: Cursor): StreamerInfo {
  const { end } = c.versionHeader('TStreamerInfo');
  const { name } = c.tnamed();
  const checksum = c.u32();
  const classVersion = c.i32();
  const elements = c.objectAny((cls, cur) => {
    if (cls !== 'TObjArray') return undefined;
    return cur.objArray((ecls, ecur) => (ELEMENT_CLASSES.has(ecls) ? readElement(ecls, ecur) : undefined), 'TStreamerInfo elements');
  });
  c.skipTo(end, 'TStreamerInfo');
  return {
    name,
    classVersion,
    checksum,
    elements: (elements ?? []).filter((e): e is StreamerElement => !!e),
  };
}

function readElement(kind: string, c: Cursor): StreamerElement {
  const outer = c.versionHeader(kind);
  // TStreamerSTLstring derives from TStreamerSTL: one more header level
  const stl = kind === 'TStreamerSTLstring' ? c.versionHeader('TStreamerSTL') : null;
  const inner = c.versionHeader('TStreamerElement');
  const { name, title } = c.tnamed();
  let type = c.i32();
  const size = c.i32();
  const arrayLength = c.i32();
  const arrayDim = c.i32();
  let maxIndex: number[];
  if (inner.version === 1) {
    const n = c.i32();
    maxIndex = Array.from(c.i32Array(Math.max(0, Math.min(n, 5)), false));
  } else {
    maxIndex = Array.from(c.i32Array(5, false));
  }
  const typeName = c.tstring();
  // Old files record bool members as kUChar.
  if (type === 11 && (typeName === 'Bool_t' || typeName === 'bool')) type = 18;
  c.skipTo(inner.end, 'TStreamerElement');
  const el: StreamerElement = { kind, name, title, type, size, arrayLength, arrayDim, maxIndex, typeName };
  if (kind === 'TStreamerBase' && outer.version > 2) el.baseVersion = c.i32();
  if (kind === 'TStreamerBasicPointer' || kind === 'TStreamerLoop') {
    c.i32(); // fCountVersion
    el.countName = c.tstring();
    c.tstring(); // fCountClass
  }
  if (kind === 'TStreamerSTL' || kind === 'TStreamerSTLstring') {
    el.stlType = c.i32();
    el.ctype = c.i32();
  }
  if (stl) c.skipTo(stl.end, 'TStreamerSTL');
  c.skipTo(outer.end, kind);
  return el;
}

/**
 * Finds a member by name in a class or, recursively, in its base classes.
 * Returns the element and the class that declares it.
 */
export async function findMember(
  lookup: (className: string) => Promise<StreamerInfo | undefined>,
  className: string,
  member: string,
  depth = 0,
): Promise<StreamerElement | undefined> {
  if (depth > 16) return undefined;
  const info = await lookup(className);
  if (!info) return undefined;
  for (const el of info.elements) {
    if (el.name === member && el.kind !== 'TStreamerBase') return el;
  }
  for (const el of info.elements) {
    if (el.kind === 'TStreamerBase') {
      const found = await findMember(lookup, el.name, member, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
