import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import type { ByteWriter } from 'hyparquet-writer';
import type { CellValue, ColumnDef } from './columns.ts';
import { CsvEncoder, JsonlEncoder, ParquetEncoder } from './encoders.ts';

export { csvCell, csvHeader } from './encoders.ts';

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

/** Flow rows are written with the encoders of flow/encoders.ts; CSV rounds non-integers to six decimals. */
export function openWriter(path: string, format: OutputFormat, columns: readonly ColumnDef[]): RowWriter {
  if (format === 'parquet') return new ParquetRowWriter(path, columns);
  const out: NodeJS.WritableStream = path === '-' ? process.stdout : createWriteStream(path);
  return new TextWriter(out, format, columns, true);
}

/**
 * A text writer (CSV or JSONL) whose bytes go to `sink` instead of a stream, without a header: worker threads
 * format their rows this way and hand the bytes to the thread that owns the output file.
 */
export function openChunkWriter(format: 'csv' | 'jsonl', columns: readonly ColumnDef[], sink: (chunk: Buffer) => void): RowWriter {
  const e = format === 'csv' ? new CsvEncoder(sink, { decimals: 6 }) : new JsonlEncoder(columns, sink);
  return { write: (row) => e.row(row), close: async () => { e.flush(); } };
}

/** A CSV or JSONL file (or standard output) written through its encoder. */
class TextWriter implements RowWriter {
  private readonly enc: CsvEncoder | JsonlEncoder;
  constructor(private readonly out: NodeJS.WritableStream, format: 'csv' | 'jsonl', columns: readonly ColumnDef[], header: boolean) {
    const sink = (b: Buffer): void => { out.write(b); };
    if (format === 'csv') {
      const e = new CsvEncoder(sink, { decimals: 6 });
      if (header) e.header(columns);
      this.enc = e;
    } else this.enc = new JsonlEncoder(columns, sink);
  }
  /** Every row to the stream at once (live capture). */
  set flushEach(v: boolean) { this.enc.flushEach = v; }
  get flushEach(): boolean { return this.enc.flushEach; }
  write(row: readonly CellValue[]): void { this.enc.row(row); }
  writeRaw(chunk: Buffer): void { this.enc.raw(chunk); }
  close(): Promise<void> {
    this.enc.flush();
    if (this.out === process.stdout) return new Promise((r) => { if (process.stdout.writableNeedDrain) process.stdout.once('drain', () => r()); else r(); });
    return new Promise((resolve, reject) => {
      (this.out as WriteStream).once('error', reject);
      (this.out as WriteStream).end(() => resolve());
    });
  }
}

type ParquetModule = typeof import('hyparquet-writer');
let parquetModule: ParquetModule | null = null;
let parquetLoad: Promise<ParquetModule> | null = null;

/** hyparquet-writer (some 50 modules) is loaded when a Parquet file is opened, not at every start. */
export function loadParquet(): Promise<ParquetModule> {
  parquetLoad ??= import('hyparquet-writer').then((m) => (parquetModule = m));
  return parquetLoad;
}

/**
 * Parquet flow rows through the ParquetEncoder (memory bounded by one row group). hyparquet-writer loads
 * asynchronously from the constructor; rows that come before it (at most one row group's worth, then they are
 * kept in a list until it is there) are written as soon as it is.
 */
class ParquetRowWriter implements RowWriter {
  private enc: ParquetEncoder | null = null;
  private early: (readonly CellValue[])[] = [];
  private sink: ReturnType<ParquetModule['fileWriter']> | ByteWriter | null = null;
  private readonly ready: Promise<ParquetModule>;
  constructor(private readonly path: string, private readonly columns: readonly ColumnDef[]) {
    // Create the file now, as hyparquet-writer's fileWriter does, so that a bad path fails here.
    if (path !== '-') writeFileSync(path, '', { flag: 'w' });
    this.ready = loadParquet();
    this.ready.catch(() => {}); // reported by close()
  }
  private encoder(pq: ParquetModule): ParquetEncoder {
    if (!this.enc) {
      this.sink = this.path === '-' ? new pq.ByteWriter() : pq.fileWriter(this.path);
      this.enc = new ParquetEncoder(pq, this.columns, this.sink, { numberStatistics: false });
      for (const r of this.early) this.enc.row(r);
      this.early = [];
    }
    return this.enc;
  }
  write(row: readonly CellValue[]): void {
    if (this.enc) this.enc.row(row);
    else if (parquetModule) this.encoder(parquetModule).row(row);
    else this.early.push(row);
  }
  async close(): Promise<void> {
    const e = this.encoder(await this.ready);
    e.finish();
    if (this.path === '-') process.stdout.write(new Uint8Array((this.sink as ByteWriter).getBuffer()));
  }
}
