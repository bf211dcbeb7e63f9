/**
 * Big-endian byte cursor over a view. Reads return numbers or `subarray` views (never copies) and throw
 * {@link TlsParseError} on truncation without advancing, so a caller can catch once per message.
 */

/** A length field or structure that does not fit the bytes it claims to describe. */
export class TlsParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsParseError';
  }
}

export class Cursor {
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

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new TlsParseError(`${what}: need ${n} bytes, have ${this.end - this.pos}`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(what = 'u24'): number {
    this.need(3, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A cursor over the next `n` bytes; this cursor moves past them. */
  sub(n: number, what = 'sub'): Cursor {
    this.need(n, what);
    const c = new Cursor(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return c;
  }

  /** opaque x<0..2^8-1>, x<0..2^16-1>, x<0..2^24-1> as a sub-cursor. */
  vec8(what = 'vec8'): Cursor {
    const save = this.pos;
    const n = this.u8(what);
    try {
      return this.sub(n, what);
    } catch (e) {
      this.pos = save;
      throw e;
    }
  }

  vec16(what = 'vec16'): Cursor {
    const save = this.pos;
    const n = this.u16(what);
    try {
      return this.sub(n, what);
    } catch (e) {
      this.pos = save;
      throw e;
    }
  }

  vec24(what = 'vec24'): Cursor {
    const save = this.pos;
    const n = this.u24(what);
    try {
      return this.sub(n, what);
    } catch (e) {
      this.pos = save;
      throw e;
    }
  }

  /** The rest of this cursor's range as a list of u16 values; an odd byte count is a parse error. */
  u16List(what = 'u16 list'): number[] {
    if ((this.end - this.pos) & 1) throw new TlsParseError(`${what}: odd length ${this.end - this.pos}`);
    const out: number[] = [];
    const b = this.buf;
    for (let p = this.pos; p < this.end; p += 2) out.push((b[p]! << 8) | b[p + 1]!);
    this.pos = this.end;
    return out;
  }

  /** The rest of this cursor's range as a list of u8 values. */
  u8List(): number[] {
    const out: number[] = [];
    for (let p = this.pos; p < this.end; p++) out.push(this.buf[p]!);
    this.pos = this.end;
    return out;
  }
}

/** Lower-case hex of a view. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/** Bytes as a latin1 string: one char per byte, so the raw bytes stay recoverable. */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
