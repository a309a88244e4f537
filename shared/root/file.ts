// A ROOT file: header, directories and keys, streamer infos, and reading the
// object behind a key. Everything goes through a ByteSource, so the same code
// reads local files, HTTP(S) URLs and Cloud Storage objects.

import { Cursor } from './cursor';
import { DEFAULT_LIMITS, RootError, withErrorContext, type DecodeLimits, type ErrorContext } from './errors';
import { decompressObject, zstdReady } from './compression';
import { parseStreamerInfos, type StreamerInfo } from './streamers';
import type { ByteSource } from './source/types';
import { parseTree, type Tree } from './tree';
import { normalizeTypeName } from './types';

/** One entry of a directory's key list: where an object lives and what it is. */
export interface KeyInfo {
  name: string;
  title: string;
  className: string;
  cycle: number;
  /** Bytes on disk including the key header. */
  nbytes: number;
  /** Uncompressed size of the object (without the key header). */
  objlen: number;
  keylen: number;
  seekKey: number;
}

export interface FileHeader {
  version: number;
  begin: number;
  end: number;
  seekInfo: number;
  nbytesInfo: number;
  nbytesName: number;
  compression: number;
}

/** The first read: the file header and, right after it, the root directory record. */
const HEADER_PROBE = 1024;
/**
 * The second read also takes this many bytes from the end of the file: ROOT
 * writes the key list, the streamer infos and the last objects written (the
 * TTree records of a file closed after filling) there, so the tree is usually
 * in hand without a third round trip.
 */
export const DEFAULT_TAIL_BYTES = 256 * 1024;

export interface OpenOptions {
  limits?: Partial<DecodeLimits>;
  /** Bytes read speculatively from the end of the file with the key list (default 256 KiB; 0: only what is needed). */
  tailBytes?: number;
}

export class RootFile {
  readonly source: ByteSource;
  readonly header: FileHeader;
  readonly size: number;
  readonly limits: DecodeLimits;
  readonly root: RootDirectory;
  private streamerList: StreamerInfo[] | undefined;
  private streamerMap: Map<string, StreamerInfo> | undefined;
  private streamerRecord: { seek: number; nbytes: number } | undefined;

  private constructor(source: ByteSource, size: number, header: FileHeader, limits: DecodeLimits) {
    this.source = source;
    this.size = size;
    this.header = header;
    this.limits = limits;
    this.root = new RootDirectory(this, '', [], 0);
  }

  get name(): string {
    return this.source.name;
  }

  get context(): ErrorContext {
    return { file: this.source.name };
  }

  /**
   * Opens a file in at most two sequential reads when the root directory's
   * key list and the streamer infos are at the end, as ROOT writes them: the
   * head (header + root directory record; its response also tells a remote
   * source the file size, so no separate size request), then one read of the
   * key list, the streamer record and the file's tail, which is kept so that
   * objects inside it (usually the TTree) need no further request.
   */
  static async open(source: ByteSource, options: OpenOptions = {}): Promise<RootFile> {
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    const ctx: ErrorContext = { file: source.name };
    // baskets decompress synchronously; the WASM zstd decoder starts once, here
    await zstdReady();
    const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
    if (!Number.isSafeInteger(tailBytes) || tailBytes < 0) throw new RootError('BAD_ARGUMENT', `tailBytes must be a non-negative integer, got ${tailBytes}`, ctx);
    const head = await readHead(source);
    const size = await source.size();
    if (size < 64) throw new RootError(size === 0 ? 'TRUNCATED' : 'BAD_MAGIC', `file is ${size} bytes, too small to be a ROOT file`, ctx);
    const header = parseHeader(head, size, ctx);
    const file = new RootFile(source, size, header, limits);
    file.cache.push({ offset: 0, bytes: head });
    // The root directory record follows the file's own key at fBEGIN.
    const dirOffset = header.begin + header.nbytesName;
    const dirLength = Math.min(64, size - dirOffset);
    const [dirBytes] = await file.readRanges([{ offset: dirOffset, length: dirLength }]);
    const dir = parseDirectoryRecord(new Cursor(dirBytes!, ctx, 0, dirOffset), 'root directory');
    const needStreamers = header.seekInfo > 0 && header.nbytesInfo > 0;
    // The key list, the streamer record and the tail in one round trip (the source coalesces them).
    const ranges = [{ offset: dir.seekKeys, length: dir.nbytesKeys }];
    if (needStreamers) ranges.push({ offset: header.seekInfo, length: header.nbytesInfo });
    const tailStart = Math.max(head.length, size - tailBytes);
    if (tailStart < size) ranges.push({ offset: tailStart, length: size - tailStart });
    const got = await file.readRanges(ranges);
    if (tailStart < size) file.cache.push({ offset: tailStart, bytes: got[got.length - 1]! });
    file.root.setKeys(parseKeyList(got[0]!, dir.seekKeys, ctx));
    if (needStreamers) {
      file.streamerRecord = { seek: header.seekInfo, nbytes: header.nbytesInfo };
      file.streamerBytes = got[1];
    }
    return file;
  }

  /** Bytes already read at open (the head and the tail), served without another request. */
  private readonly cache: { offset: number; bytes: Uint8Array }[] = [];

  private streamerBytes: Uint8Array | undefined;

  /** The file's TStreamerInfo records (parsed on first use). */
  async streamers(): Promise<StreamerInfo[]> {
    if (this.streamerList) return this.streamerList;
    if (!this.streamerRecord) {
      this.streamerList = [];
      return this.streamerList;
    }
    const raw = this.streamerBytes ?? (await this.readRanges([{ offset: this.streamerRecord.seek, length: this.streamerRecord.nbytes }]))[0]!;
    this.streamerBytes = undefined;
    const { data, keylen } = await this.objectFromRecord(raw, this.streamerRecord.seek, 'streamer info list');
    this.streamerList = parseStreamerInfos(new Cursor(data, this.context, 0, -1, keylen));
    return this.streamerList;
  }

  async streamer(className: string): Promise<StreamerInfo | undefined> {
    if (!this.streamerMap) {
      this.streamerMap = new Map();
      for (const s of await this.streamers()) {
        const name = normalizeTypeName(s.name);
        const prev = this.streamerMap.get(name);
        if (!prev || s.classVersion > prev.classVersion) this.streamerMap.set(name, s);
      }
    }
    return this.streamerMap.get(normalizeTypeName(className));
  }

  /** Reads ranges, first checking that each lies inside the file. */
  async readRanges(ranges: { offset: number; length: number }[]): Promise<Uint8Array[]> {
    for (const r of ranges) {
      if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) {
        throw new RootError('CORRUPT', `invalid byte range ${r.offset}+${r.length}`, this.context);
      }
      if (r.offset + r.length > this.size) {
        throw new RootError('TRUNCATED', `record at byte ${r.offset} of ${r.length} bytes runs past the end of the ${this.size}-byte file`, { ...this.context, offset: r.offset });
      }
      if (r.length > this.limits.maxObjectBytes) {
        throw new RootError('LIMIT', `record at byte ${r.offset} is ${r.length} bytes, over the ${this.limits.maxObjectBytes}-byte limit`, { ...this.context, offset: r.offset });
      }
    }
    const held = ranges.map((r) => this.cached(r.offset, r.length));
    if (held.every((b) => b !== undefined)) return held as Uint8Array[];
    return this.source.read(ranges);
  }

  /** The bytes [offset, offset + length) if a read made at open holds them. */
  private cached(offset: number, length: number): Uint8Array | undefined {
    for (const c of this.cache) {
      if (offset >= c.offset && offset + length <= c.offset + c.bytes.length) return c.bytes.subarray(offset - c.offset, offset - c.offset + length);
    }
    return undefined;
  }

  /**
   * Given the raw bytes of a keyed record (key header + payload), returns the
   * uncompressed object bytes and the key length (for object references).
   */
  async objectFromRecord(raw: Uint8Array, seek: number, what: string, extra: ErrorContext = {}): Promise<{ data: Uint8Array; keylen: number; key: KeyInfo }> {
    const ctx = { ...this.context, ...extra };
    const cur = new Cursor(raw, ctx, 0, seek);
    const key = readKeyHeader(cur);
    if (key.nbytes > raw.length) throw new RootError('TRUNCATED', `${what}: key says ${key.nbytes} bytes but the record holds ${raw.length}`, { ...ctx, offset: seek });
    if (key.keylen > key.nbytes || key.keylen < 18) throw new RootError('CORRUPT', `${what}: key length ${key.keylen} is inconsistent with its size ${key.nbytes}`, { ...ctx, offset: seek });
    if (key.objlen < 0 || key.objlen > this.limits.maxObjectBytes) {
      throw new RootError('LIMIT', `${what}: object of ${key.objlen} bytes exceeds the ${this.limits.maxObjectBytes}-byte limit`, { ...ctx, offset: seek });
    }
    const payload = raw.subarray(key.keylen, key.nbytes);
    const data = payload.length === key.objlen ? payload : await decompressObject(payload, key.objlen, { ...ctx, offset: seek + key.keylen }, this.limits);
    return { data, keylen: key.keylen, key };
  }

  /** Reads and uncompresses the object behind a key. */
  async readKeyObject(key: KeyInfo): Promise<{ data: Uint8Array; keylen: number }> {
    const [raw] = await this.readRanges([{ offset: key.seekKey, length: key.nbytes }]);
    const { data, keylen } = await this.objectFromRecord(raw!, key.seekKey, `${key.className} ${key.name}`);
    return { data, keylen };
  }

  /** Finds a key by path ("dir/sub/name", optionally ";cycle"), descending into subdirectories. */
  async getKey(path: string): Promise<KeyInfo> {
    const parts = path.split('/').filter((p) => p.length > 0);
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) dir = await dir.subdirectory(parts[i]!);
    return dir.key(parts[parts.length - 1] ?? '');
  }
}

export class RootDirectory {
  readonly file: RootFile;
  readonly path: string;
  private keyList: KeyInfo[];
  readonly seek: number;
  private subdirs = new Map<string, RootDirectory>();

  constructor(file: RootFile, path: string, keys: KeyInfo[], seek: number) {
    this.file = file;
    this.path = path;
    this.keyList = keys;
    this.seek = seek;
  }

  setKeys(keys: KeyInfo[]): void {
    this.keyList = keys;
  }

  /** All keys, every cycle. */
  get keys(): readonly KeyInfo[] {
    return this.keyList;
  }

  /** The highest cycle of a name (or the exact cycle of "name;N"). */
  key(nameWithCycle: string): KeyInfo {
    const [name, cycleText] = nameWithCycle.split(';');
    const cycle = cycleText === undefined ? undefined : Number(cycleText);
    let best: KeyInfo | undefined;
    for (const k of this.keyList) {
      if (k.name !== name) continue;
      if (cycle !== undefined ? k.cycle === cycle : !best || k.cycle > best.cycle) best = k;
    }
    if (!best) {
      const names = [...new Set(this.keyList.map((k) => k.name))].slice(0, 20).join(', ');
      throw new RootError('NOT_FOUND', `no object named "${nameWithCycle}" in directory "${this.path || '/'}" (it has: ${names || 'nothing'})`, this.file.context);
    }
    return best;
  }

  async subdirectory(name: string): Promise<RootDirectory> {
    const cached = this.subdirs.get(name);
    if (cached) return cached;
    const key = this.key(name);
    if (key.className !== 'TDirectory' && key.className !== 'TDirectoryFile') {
      throw new RootError('NOT_FOUND', `"${name}" in "${this.path || '/'}" is a ${key.className}, not a directory`, this.file.context);
    }
    const { data } = await this.file.readKeyObject(key);
    const rec = parseDirectoryRecord(new Cursor(data, this.file.context, 0, -1), `directory ${name}`);
    const [keysBytes] = await this.file.readRanges([{ offset: rec.seekKeys, length: rec.nbytesKeys }]);
    const dir = new RootDirectory(this.file, this.path ? `${this.path}/${name}` : name, parseKeyList(keysBytes!, rec.seekKeys, this.file.context), rec.seekKeys);
    this.subdirs.set(name, dir);
    return dir;
  }
}

/**
 * The first HEADER_PROBE bytes (or the whole file if smaller). The size is not
 * asked first: a remote source learns it from this response. A file shorter
 * than the probe makes the read fail as TRUNCATED; the size is known then.
 */
async function readHead(source: ByteSource): Promise<Uint8Array> {
  try {
    return (await source.read([{ offset: 0, length: HEADER_PROBE }]))[0]!;
  } catch (e) {
    if (!(e instanceof RootError) || e.code !== 'TRUNCATED') throw e;
    const size = await source.size();
    if (size >= HEADER_PROBE) throw e;
    return size === 0 ? new Uint8Array(0) : (await source.read([{ offset: 0, length: size }]))[0]!;
  }
}

function parseHeader(b: Uint8Array, size: number, ctx: ErrorContext): FileHeader {
  if (b.length < 4 || b[0] !== 0x72 || b[1] !== 0x6f || b[2] !== 0x6f || b[3] !== 0x74) {
    throw new RootError('BAD_MAGIC', `not a ROOT file: it does not start with "root"`, ctx);
  }
  const c = new Cursor(b, ctx, 4, 0);
  const version = c.i32();
  const begin = c.i32();
  const large = version >= 1000000;
  const end = large ? c.i64() : c.u32();
  large ? c.i64() : c.u32(); // fSeekFree
  c.i32(); // fNbytesFree
  c.i32(); // nfree
  const nbytesName = c.i32();
  c.u8(); // fUnits
  const compression = c.i32();
  const seekInfo = large ? c.i64() : c.u32();
  const nbytesInfo = c.i32();
  if (begin < 0 || begin > size || nbytesName < 0 || nbytesName > 1 << 20) {
    throw new RootError('CORRUPT', `file header has impossible fBEGIN=${begin} / fNbytesName=${nbytesName}`, ctx);
  }
  if (end > size) {
    throw new RootError('TRUNCATED', `file header says the file ends at byte ${end} but it has ${size} bytes (truncated copy?)`, ctx);
  }
  if (seekInfo < 0 || seekInfo + nbytesInfo > size || nbytesInfo < 0) {
    throw new RootError('TRUNCATED', `streamer info record at ${seekInfo} (+${nbytesInfo}) is outside the ${size}-byte file`, ctx);
  }
  return { version, begin, end, seekInfo, nbytesInfo, nbytesName, compression };
}

interface DirectoryRecord {
  nbytesKeys: number;
  nbytesName: number;
  seekDir: number;
  seekParent: number;
  seekKeys: number;
}

function parseDirectoryRecord(c: Cursor, what: string): DirectoryRecord {
  const version = c.u16();
  const large = version > 1000;
  c.u32(); // fDatimeC
  c.u32(); // fDatimeM
  const nbytesKeys = c.i32();
  const nbytesName = c.i32();
  const seekDir = large ? c.i64() : c.u32();
  const seekParent = large ? c.i64() : c.u32();
  const seekKeys = large ? c.i64() : c.u32();
  if (nbytesKeys <= 0 || seekKeys <= 0) throw c.error('CORRUPT', `${what} has no key list (fSeekKeys=${seekKeys}, fNbytesKeys=${nbytesKeys})`, 0);
  return { nbytesKeys, nbytesName, seekDir, seekParent, seekKeys };
}

/** Reads a TKey header; the cursor ends just after it (at fKeylen from its start, if consistent). */
export function readKeyHeader(c: Cursor): KeyInfo {
  const start = c.pos;
  const nbytes = c.i32();
  const version = c.i16();
  const objlen = c.i32();
  c.u32(); // fDatime
  const keylen = c.i16();
  const cycle = c.i16();
  const large = version > 1000;
  const seekKey = large ? c.i64() : c.u32();
  large ? c.i64() : c.u32(); // fSeekPdir
  const className = c.tstring();
  const name = c.tstring();
  const title = c.tstring();
  if (nbytes < 0 || keylen < 0 || objlen < 0) throw c.error('CORRUPT', `key "${name}" has negative sizes (nbytes=${nbytes}, keylen=${keylen}, objlen=${objlen})`, start);
  return { name, title, className, cycle, nbytes, objlen, keylen, seekKey };
}

function parseKeyList(raw: Uint8Array, seek: number, ctx: ErrorContext): KeyInfo[] {
  const c = new Cursor(raw, ctx, 0, seek);
  const header = readKeyHeader(c);
  c.seek(header.keylen);
  const n = c.i32();
  if (n < 0 || n * 26 > c.remaining()) throw c.error('CORRUPT', `key list claims ${n} keys in ${c.remaining()} bytes`);
  const keys: KeyInfo[] = [];
  for (let i = 0; i < n; i++) keys.push(readKeyHeader(c));
  return keys;
}

/** Reads and parses a TTree by path ("CollectionTree", "dir/tree;2"). */
export async function readTree(file: RootFile, path: string): Promise<Tree> {
  const key = await file.getKey(path);
  if (key.className !== 'TTree' && key.className !== 'TNtuple' && key.className !== 'TNtupleD') {
    throw new RootError('NOT_FOUND', `"${path}" is a ${key.className}, not a TTree`, file.context);
  }
  const { data, keylen } = await file.readKeyObject(key);
  return withErrorContext({ file: file.name, tree: path }, () => parseTree(file, key, data, keylen));
}

/** Paths of every TTree in the file, subdirectories included (highest cycle of each name). */
export async function listTrees(file: RootFile): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: RootDirectory, depth: number): Promise<void> => {
    const seen = new Set<string>();
    for (const k of dir.keys) {
      if (seen.has(k.name)) continue;
      seen.add(k.name);
      const path = dir.path ? `${dir.path}/${k.name}` : k.name;
      if (k.className === 'TTree' || k.className === 'TNtuple' || k.className === 'TNtupleD') out.push(path);
      else if ((k.className === 'TDirectory' || k.className === 'TDirectoryFile') && depth < 16) await visit(await dir.subdirectory(k.name), depth + 1);
    }
  };
  await visit(file.root, 0);
  return out;
}
