import { createWriteStream, type WriteStream } from 'node:fs';
import type { CellValue, ColumnDef } from './columns.ts';
import { CsvEncoder, JsonlEncoder, ParquetEncoder } from './encoders.ts';
import { parquetFileSink } from './parquet-writer.ts';

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

/** Parquet flow rows through the ParquetEncoder (memory bounded by one row group). */
class ParquetRowWriter implements RowWriter {
  private readonly file: ReturnType<typeof parquetFileSink>;
  private readonly enc: ParquetEncoder;
  constructor(path: string, columns: readonly ColumnDef[]) {
    this.file = parquetFileSink(path); // a bad path fails here
    this.enc = new ParquetEncoder(columns, (b) => this.file.write(b));
  }
  write(row: readonly CellValue[]): void {
    this.enc.row(row);
  }
  async close(): Promise<void> {
    this.enc.finish();
    this.file.close();
    if (process.stdout.writableNeedDrain) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
  }
}
