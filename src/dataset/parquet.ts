import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { ByteWriter, ParquetWriter, fileWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { StringColumnBuilder, makeTable, type Column, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';

/**
 * Parquet through hyparquet (read) and hyparquet-writer (write). Numeric and boolean columns become numbers (INT64
 * as doubles, exact below 2^53), text and everything else text (nested values as JSON). Reading streams by row
 * groups: a file is never decoded whole into row objects.
 */
export async function* readParquetChunks(path: string, opts: { chunkRows?: number } = {}): AsyncGenerator<Table> {
  let file;
  let meta;
  try {
    file = await asyncBufferFromFile(path);
    meta = await parquetMetadataAsync(file);
  } catch (e) {
    throw new DatasetError(DatasetErrorCode.MALFORMED, `${path}: not a readable Parquet file (${(e as Error).message})`);
  }
  const names = parquetSchema(meta).children.map((c) => c.element.name);
  const total = Number(meta.num_rows);
  const step = opts.chunkRows ?? 65536;
  if (total === 0) {
    yield makeTable(path, names.map((n): Column => ({ kind: 'number', name: n, values: new Float64Array(0) })));
    return;
  }
  for (let start = 0; start < total; start += step) {
    const end = Math.min(total, start + step);
    const parts = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
    try {
      await parquetRead({
        file,
        metadata: meta,
        rowStart: start,
        rowEnd: end,
        onChunk: (chunk) => {
          const list = parts.get(chunk.columnName) ?? [];
          list.push({ rowStart: chunk.rowStart, data: chunk.columnData as ArrayLike<unknown> });
          parts.set(chunk.columnName, list);
        },
      });
    } catch (e) {
      throw new DatasetError(DatasetErrorCode.MALFORMED, `${path}: rows ${start}-${end}: ${(e as Error).message}`);
    }
    yield makeTable(path, names.map((n) => assemble(n, parts.get(n) ?? [], start, end)));
  }
}

export async function readParquet(path: string): Promise<Table> {
  const chunks: Table[] = [];
  for await (const t of readParquetChunks(path, { chunkRows: Number.MAX_SAFE_INTEGER })) chunks.push(t);
  return chunks[0]!;
}

function assemble(name: string, chunks: { rowStart: number; data: ArrayLike<unknown> }[], start: number, end: number): Column {
  const n = end - start;
  // Decide the kind from the first non-null value.
  let kind: 'number' | 'string' = 'number';
  outer: for (const c of chunks) {
    for (let i = 0; i < c.data.length; i++) {
      const v = c.data[i];
      if (v === null || v === undefined) continue;
      kind = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? 'number' : 'string';
      break outer;
    }
  }
  if (kind === 'number') {
    const out = new Float64Array(n).fill(NaN);
    for (const c of chunks) {
      for (let i = 0; i < c.data.length; i++) {
        const r = c.rowStart + i - start;
        if (r < 0 || r >= n) continue;
        const v = c.data[i];
        out[r] = v === null || v === undefined ? NaN : typeof v === 'number' ? v : Number(v as bigint | boolean);
      }
    }
    return { kind: 'number', name, values: out };
  }
  const vals: (string | null)[] = new Array(n).fill(null);
  for (const c of chunks) {
    for (let i = 0; i < c.data.length; i++) {
      const r = c.rowStart + i - start;
      if (r < 0 || r >= n) continue;
      const v = c.data[i];
      vals[r] = v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
    }
  }
  const b = new StringColumnBuilder(name, n);
  for (const v of vals) b.push(v);
  return b.finish();
}

function columnSources(t: Table): ColumnSource[] {
  return t.columns.map((c): ColumnSource => {
    if (c.kind === 'number') {
      const data: (number | null)[] = new Array(t.rows);
      for (let i = 0; i < t.rows; i++) { const v = c.values[i]!; data[i] = Number.isNaN(v) ? null : v; }
      return { name: c.name, data, type: 'DOUBLE', nullable: true };
    }
    const data: (string | null)[] = new Array(t.rows);
    for (let i = 0; i < t.rows; i++) { const k = c.codes[i]!; data[i] = k < 0 ? null : c.dictionary[k]!; }
    return { name: c.name, data, type: 'STRING', nullable: true };
  });
}

/** Writes a whole table to a Parquet file. */
export function writeParquet(t: Table, path: string): void {
  const w = new ParquetTableWriter(path);
  w.write(t);
  w.close();
}

/** Parquet bytes of a table (tests, services). */
export function tableToParquet(t: Table): Uint8Array {
  const writer = new ByteWriter();
  const columnData = columnSources(t);
  const pw = new ParquetWriter({ writer, schema: schemaFromColumnData({ columnData }) });
  pw.write({ columnData });
  pw.finish();
  return writer.getBytes();
}

/** Streaming Parquet writer: one row group per table written; the schema comes from the first. */
export class ParquetTableWriter {
  private pw: ParquetWriter | null = null;
  private names: string[] = [];
  constructor(private readonly path: string) {}
  write(t: Table): void {
    const columnData = columnSources(t);
    if (!this.pw) {
      this.names = t.columns.map((c) => c.name);
      this.pw = new ParquetWriter({ writer: fileWriter(this.path), schema: schemaFromColumnData({ columnData }) });
    } else if (t.columns.map((c) => c.name).join('\0') !== this.names.join('\0')) {
      throw new Error(`${this.path}: every chunk written must have the same columns`);
    }
    this.pw.write({ columnData });
  }
  close(): void {
    if (!this.pw) return;
    this.pw.finish();
    this.pw = null;
  }
}
