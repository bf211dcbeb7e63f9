/** Minimal big-endian reader for QUIC headers and frames (RFC 9000 §16 variable-length integers). */

export class QuicParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuicParseError';
  }
}

export class QuicReader {
  pos: number;
  readonly end: number;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw new QuicParseError(`${what}: truncated`);
    return this.buf[this.pos++]!;
  }

  u32(what: string): number {
    if (this.end - this.pos < 4) throw new QuicParseError(`${what}: truncated`);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  bytes(n: number, what: string): Uint8Array {
    if (n < 0 || this.end - this.pos < n) throw new QuicParseError(`${what}: need ${n} bytes, have ${this.end - this.pos}`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /*
   * RFC 9000 §16: the two most significant bits of the first byte give the length (1, 2, 4, 8 bytes).
   * Values above 2^53 lose precision; lengths and offsets that large are rejected by the callers' bounds.
   */
  varint(what: string): number {
    if (this.pos >= this.end) throw new QuicParseError(`${what}: truncated varint`);
    const b = this.buf;
    const first = b[this.pos]!;
    const n = 1 << (first >> 6);
    if (this.end - this.pos < n) throw new QuicParseError(`${what}: truncated varint`);
    let v = first & 0x3f;
    for (let i = 1; i < n; i++) v = v * 256 + b[this.pos + i]!;
    this.pos += n;
    return v;
  }
}

/** Encode a variable-length integer in the shortest form (or `len` bytes when given). */
export function encodeVarint(v: number, len?: number): Uint8Array {
  const n = len ?? (v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8);
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = x % 256;
    x = Math.floor(x / 256);
  }
  out[0]! |= (n === 1 ? 0 : n === 2 ? 1 : n === 4 ? 2 : 3) << 6;
  return out;
}
