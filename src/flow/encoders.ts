import type { CellValue } from './columns.ts';
import { FlatParquetWriter } from './parquet-writer.ts';

/**
 * One encoder per output format (CSV, JSONL, Parquet), used by the flow writers (flow/output.ts) and the table
 * writers (dataset/csv.ts, jsonl.ts, parquet.ts), so a value is written the same way whoever writes it.
 *
 * Cells are numbers, strings, booleans or null. One rule for values that are not plain numbers, in every format:
 * - null (and undefined) and NaN are missing: an empty CSV cell, JSON null, a Parquet null;
 * - +Infinity and -Infinity are values: `Infinity` / `-Infinity` as CSV text, the JSON strings "Infinity" /
 *   "-Infinity" (JSON has no such number), a Parquet double; our readers read all three back as the number.
 * Booleans: CSV 1 / 0, JSON true / false, Parquet BOOLEAN.
 *
 * Numbers: JSONL and Parquet keep every double exactly. CSV writes the shortest text that reads back as the double,
 * except with `decimals: 6` (the meter's rows): non-integers are rounded to six decimals (a millionth of a second's
 * microsecond is below any clock's resolution), which keeps flow tables short.
 */
export interface EncodedColumn {
  name: string;
  /** int / float / number are doubles; string; bool. */
  type: 'int' | 'float' | 'number' | 'string' | 'bool';
}

/** Where an encoder's bytes go. The encoder does not touch a buffer once it has handed it over. */
export type ByteSink = (chunk: Buffer) => void;

/** Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One cell as CSV text (the general path of CsvEncoder; exact numbers). */
export function csvCell(v: CellValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return v !== v ? '' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return csvField(v);
}

/** The CSV header line. */
export function csvHeader(columns: readonly { name: string }[]): string {
  return columns.map((c) => csvField(c.name)).join(',') + '\n';
}

/** One number as JSON (the non-finite rule above). */
export function jsonNumber(v: number): string {
  return v !== v ? 'null' : v === Infinity ? '"Infinity"' : v === -Infinity ? '"-Infinity"' : JSON.stringify(v);
}

const CHUNK = 1 << 20;
/** Room kept free for one number cell (the longest integer or six-decimal value is under 32 bytes). */
const NUMBER_ROOM = 32;
/** Text cells of this many characters and more are remembered (up to CACHED_CELLS of them, then forgotten). */
const CACHED_CELL_MIN = 16;
const CACHED_CELL_MAX = 4096;
const CACHED_CELLS = 16384;

/**
 * CSV is written into a byte buffer: numbers are formatted digit by digit, so a row costs no string allocation
 * except for text cells. A full buffer is handed to the sink as it is and a fresh one started (no copy).
 *
 * @example
 * const e = new CsvEncoder((b) => out.write(b), { decimals: 6 });
 * e.header(columns); e.row([1, 'a', 0.5]); e.flush();
 */
export class CsvEncoder {
  private buf = Buffer.allocUnsafeSlow(CHUNK);
  private pos = 0;
  /** Bytes of recent long ASCII text cells, quotes included. */
  private readonly cells = new Map<string, Uint8Array>();
  /** Hand every row to the sink at once (live capture). */
  flushEach = false;
  private readonly round6: boolean;
  constructor(private readonly sink: ByteSink, opts: { decimals?: 6 | null } = {}) {
    this.round6 = opts.decimals === 6;
  }

  header(columns: readonly { name: string }[]): void {
    this.text(csvHeader(columns));
  }

  row(row: readonly (CellValue | undefined)[]): void {
    const round6 = this.round6;
    let buf = this.buf;
    let pos = this.pos;
    let limit = buf.length - NUMBER_ROOM;
    for (let i = 0; i < row.length; i++) {
      if (pos > limit) {
        this.pos = pos;
        this.flush();
        buf = this.buf; pos = 0; limit = buf.length - NUMBER_ROOM;
      }
      if (i) buf[pos++] = 44;
      const v = row[i];
      // Helpers get integers only (v | 0, ... | 0): a double argument would be boxed in a new HeapNumber per call.
      if (typeof v === 'number') {
        if ((v | 0) === v) {
          if (v >= 0 && v < 10) buf[pos++] = 48 + v;
          else pos = writeInt32(buf, pos, v | 0);
        } else if (v > -1e9 && v < 1e9 && (round6 || Math.round((v < 0 ? -v : v) * 1e6) / 1e6 === (v < 0 ? -v : v))) {
          // Six decimals or fewer: exact when it reads back (the argument in bigNumber), else rounded (round6).
          const neg = v < 0;
          const scaled = Math.round((neg ? -v : v) * 1e6);
          const ip = Math.floor(scaled / 1e6);
          pos = writeDecimal(buf, pos, neg && scaled !== 0, ip | 0, (scaled - ip * 1e6) | 0);
        } else {
          this.pos = pos;
          this.bigNumber(v);
          buf = this.buf; pos = this.pos; limit = buf.length - NUMBER_ROOM;
        }
      } else if (typeof v === 'string') {
        if (v.length === 0) continue;
        this.pos = pos;
        this.str(v);
        buf = this.buf; pos = this.pos; limit = buf.length - NUMBER_ROOM;
      } else if (typeof v === 'boolean') buf[pos++] = v ? 49 : 48;
      else if (v !== null && v !== undefined) {
        this.pos = pos;
        this.text(csvCell(v));
        buf = this.buf; pos = this.pos; limit = buf.length - NUMBER_ROOM;
      }
    }
    this.pos = pos;
    this.byte(10);
    if (this.flushEach || this.pos > this.buf.length - 65536) this.flush();
  }

  /**
   * A number beyond the six-decimal range: an integer up to 2^53 digit by digit; a non-integer as String(v), which
   * for a value with at most six decimals (timestamps in seconds) is those decimals, written without a string.
   */
  private bigNumber(v: number): void {
    if (Number.isInteger(v) && v >= -9007199254740991 && v <= 9007199254740991) { this.int(v); return; }
    if (v !== v) return; // NaN: missing
    if (v === Infinity || v === -Infinity) { this.ascii(v > 0 ? 'Infinity' : '-Infinity'); return; }
    const a = v < 0 ? -v : v;
    if (a < 4e9) {
      // String(v) is the shortest decimal that reads back as v. Decimals with at most six places are 1e-6 apart,
      // over twice the spacing of doubles below 4e9, so at most one of them reads back as v: if the rounded
      // six-place value does (n / 1e6 is exactly how such a decimal parses), it is String(v).
      const n = Math.round(a * 1e6);
      if (n / 1e6 === a) {
        this.ensure(24);
        this.pos = writeFixed(this.buf, this.pos, v);
        return;
      }
    }
    this.ascii(String(v));
  }

  /** Bytes already encoded by another CsvEncoder (a worker thread's rows), after this one's. */
  raw(chunk: Buffer): void {
    this.flush();
    this.sink(chunk);
  }

  flush(): void {
    if (this.pos === 0) return;
    // The sink keeps the chunk until written: hand it this buffer and continue in a new one.
    this.sink(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafeSlow(CHUNK);
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafeSlow(n * 2);
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** An integer beyond 32 bits (up to 2^53). */
  private int(v: number): void {
    this.ensure(24);
    const buf = this.buf;
    if (v < 0) { buf[this.pos++] = 45; v = -v; }
    let digits = 0;
    for (let t = v; t >= 1; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (v >= 1) { const q = Math.floor(v / 10); buf[--p] = 48 + (v - q * 10); v = q; }
  }

  /**
   * A text cell. Printable ASCII is copied byte by byte, and quoted when it holds a comma or a line break; a
   * quote, another control character or non-ASCII takes the general path. Longer cells (fingerprints, cipher
   * lists, certificate names) repeat from flow to flow: their bytes are remembered and copied in one go.
   */
  private str(s: string): void {
    const n = s.length;
    if (n >= CACHED_CELL_MIN) {
      const known = this.cells.get(s);
      if (known !== undefined) {
        this.ensure(known.length);
        this.buf.set(known, this.pos);
        this.pos += known.length;
        return;
      }
    }
    this.ensure(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let quote = false;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c > 126 || c === 34 || c === 44) {
        if (c === 44 || c === 10 || c === 13) quote = true;
        else { this.text(csvField(s)); return; }
      }
      buf[p++] = c;
    }
    if (quote) {
      buf.copyWithin(start + 1, start, p);
      buf[start] = 34;
      buf[p + 1] = 34;
      p += 2;
    }
    this.pos = p;
    if (n >= CACHED_CELL_MIN && n <= CACHED_CELL_MAX) {
      if (this.cells.size >= CACHED_CELLS) this.cells.clear();
      this.cells.set(s, new Uint8Array(buf.subarray(start, p))); // a copy
    }
  }

  /** A string known to be ASCII without CSV specials (a number's text). */
  private ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  private text(s: string): void {
    const n = Buffer.byteLength(s);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos);
  }
}

/**
 * Writes a non-integer below 4e9 in magnitude with at most six decimals (a millionth of a microsecond is below any
 * clock's resolution) at `p`; returns the position after it. Needs at most 18 bytes.
 */
function writeFixed(buf: Buffer, p: number, v: number): number {
  const neg = v < 0;
  const scaled = Math.round((neg ? -v : v) * 1e6);
  const ip = Math.floor(scaled / 1e6); // exact: scaled is below 4e15
  const frac = scaled - ip * 1e6;
  if (neg && scaled !== 0) buf[p++] = 45;
  p = ip < 2147483648 ? writeInt32(buf, p, ip) : writeUint(buf, p, ip);
  return writeFraction(buf, p, frac | 0);
}

/** `-`, the integer part and the six-decimal fraction (0 ... 999999) of a value below 2^31. */
function writeDecimal(buf: Buffer, p: number, neg: boolean, ip: number, frac: number): number {
  if (neg) buf[p++] = 45;
  return writeFraction(buf, writeInt32(buf, p, ip), frac);
}

/** `.` and six decimals of `frac` (0 ... 999999) with trailing zeros dropped; nothing for 0. */
function writeFraction(buf: Buffer, p: number, frac: number): number {
  if (frac === 0) return p;
  buf[p] = 46;
  for (let k = p + 6; k > p; k--) { const q = (frac / 10) | 0; buf[k] = 48 + (frac - q * 10); frac = q; }
  p += 7;
  while (buf[p - 1] === 48) p--; // the last digit written is not a zero
  return p;
}

/** Digits of a non-negative integer below 2^53 at `p`; returns the position after them. */
function writeUint(buf: Buffer, p: number, v: number): number {
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  const end = p + digits;
  for (let k = end - 1; k >= p; k--) { const q = Math.floor(v / 10); buf[k] = 48 + (v - q * 10); v = q; }
  return end;
}

/** Writes a 32-bit integer's decimal digits at `p`; returns the position after them. */
function writeInt32(buf: Buffer, p: number, v: number): number {
  if (v < 0) {
    buf[p++] = 45;
    v = -v; // -2^31 becomes 2^31: still exact below
  }
  if (v < 10) { buf[p++] = 48 + v; return p; }
  const digits = v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7
    : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
  let k = p + digits;
  const end = k;
  while (v >= 10) { const q = (v / 10) | 0; buf[--k] = 48 + (v - q * 10); v = q; }
  buf[--k] = 48 + v;
  return end;
}


/**
 * JSON lines: one object per row, keys in column order. Rows are gathered into ~64 KiB strings before the sink.
 *
 * @example
 * const e = new JsonlEncoder(columns, (b) => out.write(b));
 * e.row([1, 'a', null]); e.flush();   // {"n":1,"s":"a","x":null}
 */
export class JsonlEncoder {
  private readonly keys: string[];
  private buf = '';
  /** Hand every row to the sink at once (live capture). */
  flushEach = false;
  constructor(columns: readonly { name: string }[], private readonly sink: ByteSink) {
    this.keys = columns.map((c, i) => (i ? ',' : '{') + JSON.stringify(c.name) + ':');
  }

  row(row: readonly (CellValue | undefined)[]): void {
    let s = '';
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const v = row[i];
      s += keys[i]! + (v === null || v === undefined ? 'null' : typeof v === 'number' ? jsonNumber(v) : JSON.stringify(v));
    }
    this.buf += (keys.length ? s : '{') + '}\n';
    if (this.flushEach || this.buf.length > 65536) this.flush();
  }

  /** Bytes already encoded by another JsonlEncoder, after this one's. */
  raw(chunk: Buffer): void {
    this.flush();
    this.sink(chunk);
  }

  flush(): void {
    if (this.buf) this.sink(Buffer.from(this.buf));
    this.buf = '';
  }
}

/** Cells held at most before a row group is written (rows per group: this over the column count, 1024 to 65536). */
export const PARQUET_GROUP_CELLS = 1 << 22;

/**
 * Parquet: rows are stored column-wise into one row group's typed arrays (numbers in a Float64Array, NaN for
 * missing; booleans in a Uint8Array; text in an array), written when full by our flat Parquet writer
 * (flow/parquet-writer.ts), so memory is bounded by one row group (PARQUET_GROUP_CELLS cells) whatever the number
 * of rows. Numbers are DOUBLE, text STRING, booleans BOOLEAN, all nullable.
 *
 * @example
 * const e = new ParquetEncoder(columns, (b) => chunks.push(b));
 * e.row([1, 'a', true]); e.finish();
 */
export class ParquetEncoder {
  readonly groupRows: number;
  private readonly kinds: Uint8Array; // 0 number, 1 string, 2 bool
  private readonly nums: (Float64Array | null)[];
  private readonly strs: ((string | null)[] | null)[];
  private readonly bools: (Uint8Array | null)[];
  private n = 0;
  private readonly writer: FlatParquetWriter;

  constructor(columns: readonly EncodedColumn[], sink: (b: Uint8Array) => void, opts: { groupRows?: number } = {}) {
    this.groupRows = opts.groupRows ?? Math.max(1024, Math.min(65536, Math.floor(PARQUET_GROUP_CELLS / Math.max(1, columns.length))));
    this.kinds = Uint8Array.from(columns, (c) => (c.type === 'string' ? 1 : c.type === 'bool' ? 2 : 0));
    const g = this.groupRows;
    this.nums = columns.map((_, i) => (this.kinds[i] === 0 ? new Float64Array(g) : null));
    this.strs = columns.map((_, i) => (this.kinds[i] === 1 ? new Array<string | null>(g).fill(null) : null));
    this.bools = columns.map((_, i) => (this.kinds[i] === 2 ? new Uint8Array(g) : null));
    this.writer = new FlatParquetWriter(columns.map((c, i) => ({ name: c.name, kind: this.kinds[i] === 1 ? 'string' : this.kinds[i] === 2 ? 'bool' : 'number' })), sink);
  }

  row(row: readonly (CellValue | undefined)[]): void {
    const r = this.n, kinds = this.kinds;
    for (let i = 0; i < kinds.length; i++) {
      const v = row[i];
      const k = kinds[i];
      if (k === 0) this.nums[i]![r] = typeof v === 'number' ? v : typeof v === 'boolean' ? +v : v === null || v === undefined || v === '' ? NaN : Number(v);
      else if (k === 1) this.strs[i]![r] = v === null || v === undefined ? null : typeof v === 'string' ? v : typeof v === 'number' && v !== v ? null : String(v);
      else this.bools[i]![r] = v === null || v === undefined ? 2 : v ? 1 : 0;
    }
    if (++this.n === this.groupRows) this.flushGroup();
  }

  private flushGroup(): void {
    if (this.n === 0) return;
    this.writer.writeGroup(this.n, this.kinds.reduce<(Float64Array | Uint8Array | (string | null)[])[]>((a, k, i) => {
      a.push(k === 0 ? this.nums[i]! : k === 1 ? this.strs[i]! : this.bools[i]!);
      return a;
    }, []));
    this.n = 0;
  }

  /** Writes the last (partial) row group and the footer; a file without rows still gets its schema. */
  finish(): void {
    this.flushGroup();
    this.writer.finish();
  }
}
