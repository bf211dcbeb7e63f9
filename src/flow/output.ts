import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import type { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { CellValue, ColumnDef } from './columns.ts';

export type OutputFormat = 'csv' | 'jsonl' | 'parquet';

/** Streaming sink for flow rows; header and column order come from the column definitions. */
export interface RowWriter {
  write(row: readonly CellValue[]): void;
  /** Text formats: bytes already formatted by another writer of the same format (no header). */
  writeRaw?(chunk: Buffer): void;
  close(): Promise<void>;
}

/** Format from an explicit name or the output file's extension (default CSV). */
export function formatFor(path: string, explicit?: string): OutputFormat {
  const f = (explicit ?? '').toLowerCase();
  if (f === 'csv' || f === 'jsonl' || f === 'parquet') return f;
  if (f) throw new Error(`unknown output format '${explicit}' (csv, jsonl, parquet)`);
  if (/\.jsonl?$/i.test(path) || /\.ndjson$/i.test(path)) return 'jsonl';
  if (/\.parquet$/i.test(path)) return 'parquet';
  return 'csv';
}

export function openWriter(path: string, format: OutputFormat, columns: readonly ColumnDef[]): RowWriter {
  if (format === 'parquet') return new ParquetRowWriter(path, columns);
  const out: NodeJS.WritableStream = path === '-' ? process.stdout : createWriteStream(path);
  return format === 'csv' ? new CsvWriter(out, columns) : new JsonlWriter(out, columns);
}

/**
 * A text writer (CSV or JSONL) whose bytes go to `sink` instead of a stream, without a header: worker threads
 * format their rows this way and hand the bytes to the thread that owns the output file.
 */
export function openChunkWriter(format: 'csv' | 'jsonl', columns: readonly ColumnDef[], sink: (chunk: Buffer) => void): RowWriter {
  const out = { write: (chunk: Buffer | string) => { sink(typeof chunk === 'string' ? Buffer.from(chunk) : chunk); return true; } } as unknown as NodeJS.WritableStream;
  const w = format === 'csv' ? new CsvWriter(out, columns, false) : new JsonlWriter(out, columns);
  return { write: (row) => w.write(row), close: async () => { (w as unknown as { flush(): void }).flush(); } };
}

/** The header line a CSV writer starts with. */
export function csvHeader(columns: readonly ColumnDef[]): string {
  return columns.map((c) => csvCell(c.name)).join(',') + '\n';
}

/** Text writers batch rows into ~64 KiB strings; `flushEach` writes every row at once (live capture). */
abstract class TextWriter implements RowWriter {
  private buf = '';
  flushEach = false;
  constructor(protected readonly out: NodeJS.WritableStream) {}
  protected push(s: string): void {
    this.buf += s;
    if (this.flushEach || this.buf.length > 65536) { this.out.write(this.buf); this.buf = ''; }
  }
  abstract write(row: readonly CellValue[]): void;
  flush(): void {
    if (this.buf) this.out.write(this.buf);
    this.buf = '';
  }
  writeRaw(chunk: Buffer): void {
    this.flush();
    this.out.write(chunk);
  }
  close(): Promise<void> {
    this.flush();
    if (this.out === process.stdout) return new Promise((r) => { if (process.stdout.writableNeedDrain) process.stdout.once('drain', () => r()); else r(); });
    return new Promise((resolve, reject) => {
      (this.out as WriteStream).once('error', reject);
      (this.out as WriteStream).end(() => resolve());
    });
  }
}

export function csvCell(v: CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const CHUNK = 1 << 20;
/** Room kept free for one number cell (the longest integer or six-decimal value is under 32 bytes). */
const NUMBER_ROOM = 32;
/** Text cells of this many characters and more are remembered (up to CACHED_CELLS of them, then forgotten). */
const CACHED_CELL_MIN = 16;
const CACHED_CELL_MAX = 4096;
const CACHED_CELLS = 16384;

/**
 * CSV is written into a byte buffer: numbers are formatted digit by digit (non-integers with at most six
 * decimals), so a row costs no string allocation except for text cells. A full buffer is handed to the stream as
 * it is and a fresh one started (no copy).
 */
class CsvWriter implements RowWriter {
  private buf = Buffer.allocUnsafeSlow(CHUNK);
  private pos = 0;
  /** Bytes of recent long ASCII text cells, quotes included. */
  private readonly cells = new Map<string, Uint8Array>();
  flushEach = false;
  constructor(private readonly out: NodeJS.WritableStream, columns: readonly ColumnDef[], header = true) {
    if (header) this.text(csvHeader(columns));
  }

  write(row: readonly CellValue[]): void {
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
        } else if (v > -1e9 && v < 1e9) {
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
    if (!Number.isFinite(v)) return;
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

  writeRaw(chunk: Buffer): void {
    this.flush();
    this.out.write(chunk);
  }

  flush(): void {
    if (this.pos === 0) return;
    // The stream keeps the chunk until written: hand it this buffer and continue in a new one.
    this.out.write(this.buf.subarray(0, this.pos));
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
        else { this.text(csvCell(s)); return; }
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

  close(): Promise<void> {
    this.flush();
    if (this.out === process.stdout) return new Promise((r) => { if (process.stdout.writableNeedDrain) process.stdout.once('drain', () => r()); else r(); });
    return new Promise((resolve, reject) => {
      (this.out as WriteStream).once('error', reject);
      (this.out as WriteStream).end(() => resolve());
    });
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

class JsonlWriter extends TextWriter {
  private readonly names: string[];
  constructor(out: NodeJS.WritableStream, columns: readonly ColumnDef[]) {
    super(out);
    this.names = columns.map((c) => JSON.stringify(c.name));
  }
  write(row: readonly CellValue[]): void {
    let s = '{';
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      s += (i ? ',' : '') + this.names[i] + ':' + (typeof v === 'number' && !Number.isFinite(v) ? 'null' : JSON.stringify(v ?? null));
    }
    this.push(s + '}\n');
  }
}

const ROW_GROUP = 65536;

type ParquetModule = typeof import('hyparquet-writer');
let parquetModule: ParquetModule | null = null;
let parquetLoad: Promise<ParquetModule> | null = null;

/** hyparquet-writer (some 50 modules) is loaded when a Parquet file is opened, not at every start. */
function loadParquet(): Promise<ParquetModule> {
  parquetLoad ??= import('hyparquet-writer').then((m) => (parquetModule = m));
  return parquetLoad;
}

/**
 * Parquet: rows are gathered column-wise and written a row group at a time, so memory stays bounded. Row groups
 * start being written once hyparquet-writer is loaded (asynchronously, from the constructor); until then rows
 * wait, and they are cut into the same groups of ROW_GROUP rows.
 */
class ParquetRowWriter implements RowWriter {
  private cols: CellValue[][];
  private writer: ParquetWriter | null = null;
  private sink: ReturnType<ParquetModule['fileWriter']> | ByteWriter | null = null;
  private readonly ready: Promise<ParquetModule>;
  constructor(private readonly path: string, private readonly columns: readonly ColumnDef[]) {
    this.cols = columns.map(() => []);
    // Create the file now, as hyparquet-writer's fileWriter does, so that a bad path fails here.
    if (path !== '-') writeFileSync(path, '', { flag: 'w' });
    this.ready = loadParquet();
    this.ready.catch(() => {}); // reported by close()
  }
  write(row: readonly CellValue[]): void {
    for (let i = 0; i < row.length; i++) this.cols[i]!.push(row[i] ?? null);
    if (this.cols[0]!.length >= ROW_GROUP && parquetModule !== null) this.flushFullGroups(parquetModule);
  }
  private columnData(cols: CellValue[][]) {
    return this.columns.map((c, i) => ({
      name: c.name,
      data: c.type === 'string' ? cols[i]!.map((v) => (v === null ? null : String(v)))
        : c.type === 'bool' ? cols[i]!.map((v) => (v === null ? null : Boolean(v)))
        : cols[i]!.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)),
      type: (c.type === 'string' ? 'STRING' : c.type === 'bool' ? 'BOOLEAN' : 'DOUBLE') as 'STRING' | 'BOOLEAN' | 'DOUBLE',
      nullable: true,
    }));
  }
  private flushFullGroups(pq: ParquetModule): void {
    while (this.cols[0]!.length >= ROW_GROUP) {
      if (this.cols[0]!.length === ROW_GROUP) {
        this.flushGroup(pq, this.cols);
        this.cols = this.columns.map(() => []);
      } else {
        this.flushGroup(pq, this.cols.map((c) => c.slice(0, ROW_GROUP)));
        this.cols = this.cols.map((c) => c.slice(ROW_GROUP));
      }
    }
  }
  private flushGroup(pq: ParquetModule, cols: CellValue[][]): void {
    const columnData = this.columnData(cols);
    this.sink ??= this.path === '-' ? new pq.ByteWriter() : pq.fileWriter(this.path);
    this.writer ??= new pq.ParquetWriter({ writer: this.sink, schema: pq.schemaFromColumnData({ columnData }), createdBy: 'veil' });
    void this.writer.write({ columnData, rowGroupSize: ROW_GROUP });
  }
  async close(): Promise<void> {
    const pq = await this.ready;
    this.flushFullGroups(pq);
    if (this.cols[0]!.length > 0 || !this.writer) {
      this.flushGroup(pq, this.cols);
      this.cols = this.columns.map(() => []);
    }
    this.writer!.finish();
    if (this.path === '-') {
      const bw = this.sink as ByteWriter;
      process.stdout.write(new Uint8Array(bw.getBuffer()));
    }
  }
}
