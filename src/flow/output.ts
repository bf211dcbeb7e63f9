import { createWriteStream, type WriteStream } from 'node:fs';
import { ByteWriter, fileWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { CellValue, ColumnDef } from './columns.ts';

export type OutputFormat = 'csv' | 'jsonl' | 'parquet';

/** Streaming sink for flow rows; header and column order come from the column definitions. */
export interface RowWriter {
  write(row: readonly CellValue[]): void;
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
  close(): Promise<void> {
    if (this.buf) this.out.write(this.buf);
    this.buf = '';
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

class CsvWriter extends TextWriter {
  constructor(out: NodeJS.WritableStream, columns: readonly ColumnDef[]) {
    super(out);
    this.push(columns.map((c) => csvCell(c.name)).join(',') + '\n');
  }
  write(row: readonly CellValue[]): void {
    let s = '';
    for (let i = 0; i < row.length; i++) s += (i ? ',' : '') + csvCell(row[i]!);
    this.push(s + '\n');
  }
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

/** Parquet: rows are gathered column-wise and written a row group at a time, so memory stays bounded. */
class ParquetRowWriter implements RowWriter {
  private cols: CellValue[][];
  private writer: ParquetWriter | null = null;
  private readonly sink: ReturnType<typeof fileWriter> | ByteWriter;
  constructor(private readonly path: string, private readonly columns: readonly ColumnDef[]) {
    this.cols = columns.map(() => []);
    this.sink = path === '-' ? new ByteWriter() : fileWriter(path);
  }
  write(row: readonly CellValue[]): void {
    for (let i = 0; i < row.length; i++) this.cols[i]!.push(row[i] ?? null);
    if (this.cols[0]!.length >= ROW_GROUP) this.flushGroup();
  }
  private columnData() {
    return this.columns.map((c, i) => ({
      name: c.name,
      data: c.type === 'string' ? this.cols[i]!.map((v) => (v === null ? null : String(v)))
        : c.type === 'bool' ? this.cols[i]!.map((v) => (v === null ? null : Boolean(v)))
        : this.cols[i]!.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)),
      type: (c.type === 'string' ? 'STRING' : c.type === 'bool' ? 'BOOLEAN' : 'DOUBLE') as 'STRING' | 'BOOLEAN' | 'DOUBLE',
      nullable: true,
    }));
  }
  private flushGroup(): void {
    const columnData = this.columnData();
    if (!this.writer) this.writer = new ParquetWriter({ writer: this.sink, schema: schemaFromColumnData({ columnData }), createdBy: 'veil' });
    void this.writer.write({ columnData, rowGroupSize: ROW_GROUP });
    this.cols = this.columns.map(() => []);
  }
  async close(): Promise<void> {
    if (this.cols[0]!.length > 0 || !this.writer) this.flushGroup();
    this.writer!.finish();
    if (this.path === '-') {
      const bw = this.sink as ByteWriter;
      process.stdout.write(new Uint8Array(bw.getBuffer()));
    }
  }
}
