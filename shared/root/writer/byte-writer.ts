// A growable big-endian byte buffer: how every ROOT record (keys, directory,
// TTree metadata, basket headers) is put together before it goes to the file.

const encoder = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for n more bytes (doubling, so appends are amortised O(1)). */
  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written so far (a view: copy it before writing more if it must be kept). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v & 0xffff);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, v);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v);
    this.length += 4;
  }
  /** A 64-bit integer from a JS number (exact below 2^53: seeks, sizes, entry counts). */
  i64(v: number): void {
    this.reserve(8);
    this.patchI64(this.length, v);
    this.length += 8;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  /** A TString: one length byte, or 255 and a 4-byte length for 255 bytes and more. */
  tstring(s: string): void {
    const b = encoder.encode(s);
    if (b.length < 255) this.u8(b.length);
    else {
      this.u8(255);
      this.i32(b.length);
    }
    this.raw(b);
  }

  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }
  patchI32(at: number, v: number): void {
    this.view.setInt32(at, v);
  }
  patchI16(at: number, v: number): void {
    this.view.setInt16(at, v);
  }
  patchI64(at: number, v: number): void {
    const hi = Math.floor(v / 4294967296);
    this.view.setInt32(at, hi);
    this.view.setUint32(at + 4, v - hi * 4294967296);
  }
}

/** Bytes of a TString on disk. */
export function tstringLength(s: string): number {
  const n = encoder.encode(s).length;
  return n < 255 ? 1 + n : 5 + n;
}
