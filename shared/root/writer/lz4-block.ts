// A small LZ4 block compressor (greedy, one hash probe per position), for
// ROOT's "L4" blocks. It favours speed over ratio, like LZ4's default mode;
// the output is a plain LZ4 block any LZ4 decoder reads.

const HASH_BITS = 16;
const MIN_MATCH = 4;
/** The format's rules: the last match starts at least 12 bytes before the end, the last 5 bytes are literals. */
const MF_LIMIT = 12;
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;

const table = new Int32Array(1 << HASH_BITS);

/** Worst-case size of a compressed block of n bytes. */
export function lz4Bound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

function read32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** Compresses src[start, end) into dst at `at` (dst needs lz4Bound bytes); returns the bytes written. */
export function lz4CompressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  let op = at;
  let anchor = start;
  const writeLength = (n: number) => {
    while (n >= 255) {
      dst[op++] = 255;
      n -= 255;
    }
    dst[op++] = n;
  };
  const emit = (litEnd: number, offset: number, matchLen: number) => {
    const lit = litEnd - anchor;
    const ml = matchLen - MIN_MATCH;
    dst[op++] = ((lit >= 15 ? 15 : lit) << 4) | (matchLen === 0 ? 0 : ml >= 15 ? 15 : ml);
    if (lit >= 15) writeLength(lit - 15);
    dst.set(src.subarray(anchor, litEnd), op);
    op += lit;
    if (matchLen === 0) return;
    dst[op++] = offset & 0xff;
    dst[op++] = offset >>> 8;
    if (ml >= 15) writeLength(ml - 15);
  };
  if (end - start >= MF_LIMIT + 1) {
    table.fill(-1);
    const limit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let ip = start;
    while (ip < limit) {
      const seq = read32(src, ip);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
      const ref = table[h]!;
      table[h] = ip;
      if (ref >= 0 && ip - ref <= MAX_OFFSET && read32(src, ref) === seq) {
        let len = MIN_MATCH;
        while (ip + len < matchLimit && src[ref + len] === src[ip + len]) len++;
        emit(ip, ip - ref, len);
        ip += len;
        anchor = ip;
      } else ip++;
    }
  }
  emit(end, 0, 0);
  return op - at;
}
