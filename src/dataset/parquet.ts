import { open, type FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { ByteWriter, ParquetWriter, fileWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { StringColumnBuilder, concatTables, makeTable, type Column, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { tableLimits, type TableLimits } from './limits.ts';

/**
 * Parquet through hyparquet (read) and hyparquet-writer (write). Numeric and boolean columns become numbers (INT64
 * as doubles, exact below 2^53), text and everything else text (nested values as JSON). Reading streams by row
 * groups: a file is never decoded whole into row objects.
 *
 * The footer is not trusted: more columns than the cap, row counts that disagree, column chunks outside the file or
 * overlapping are a DatasetError. Every read the decoder starts is settled before the reader returns or throws
 * (a damaged chunk rejects while its siblings are still reading: left dangling, they would fail later, with the
 * upload deleted, as unhandled rejections).
 */
export interface ParquetReadOptions {
  /** Rows per chunk (at most 2^20 are decoded at once whatever is asked; `loadTable` joins the chunks). */
  chunkRows?: number;
  /** Cap on columns (defaults: TABLE_LIMITS). */
  limits?: TableLimits;
  /** Receives the fraction of the footer's rows decoded. */
  onProgress?: (fraction: number) => void;
}

/** Rows decoded at once at most: bounds one window's arrays whatever the caller or the footer says. */
const MAX_WINDOW_ROWS = 1 << 20;

/** An open Parquet file whose footer passed the checks. */
interface OpenedParquet {
  file: FileBuffer;
  meta: FileMetaData;
  names: string[];
  total: number;
}

/** Opens a Parquet file and checks its footer (column cap, unique names, row counts); closes it on failure. */
async function openParquet(path: string, limits: TableLimits | undefined): Promise<OpenedParquet> {
  const maxColumns = tableLimits(limits).maxColumns;
  const malformed = (what: string): DatasetError => new DatasetError(DatasetErrorCode.MALFORMED, `${path}: ${what}`);
  const file = await FileBuffer.open(path);
  try {
    let meta: FileMetaData;
    let names: string[];
    try {
      meta = await parquetMetadataAsync(file);
      names = parquetSchema(meta).children.map((c) => String(c.element.name));
    } catch (e) {
      throw await file.failure(e, (m) => malformed(`not a readable Parquet file (${m})`));
    }
    if (names.length > maxColumns) throw malformed(`${names.length} columns, more than the limit of ${maxColumns}`);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw malformed(`column '${dup.slice(0, 40)}' appears twice in the schema`);
    const total = Number(meta.num_rows);
    const inGroups = meta.row_groups.reduce((a, g) => a + Number(g.num_rows), 0);
    if (!Number.isSafeInteger(total) || total < 0 || total !== inGroups) {
      throw malformed(`the footer declares ${String(meta.num_rows)} rows but its row groups hold ${inGroups}`);
    }
    return { file, meta, names, total };
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** Column names of a Parquet file, from its footer alone (no data page is read). */
export async function parquetColumnNames(path: string, opts: { limits?: TableLimits } = {}): Promise<string[]> {
  const { file, names } = await openParquet(path, opts.limits);
  await file.close();
  return names;
}

export async function* readParquetChunks(path: string, opts: ParquetReadOptions = {}): AsyncGenerator<Table> {
  const malformed = (what: string): DatasetError => new DatasetError(DatasetErrorCode.MALFORMED, `${path}: ${what}`);
  const { file, meta, names, total } = await openParquet(path, opts.limits);
  try {
    const step = Math.max(1, Math.min(opts.chunkRows ?? 65536, MAX_WINDOW_ROWS));
    if (total === 0 || names.length === 0) {
      yield makeTable(path, names.map((n): Column => ({ kind: 'number', name: n, values: new Float64Array(0) })));
      return;
    }
    for (let start = 0; start < total; start += step) {
      const end = Math.min(total, start + step);
      const parts = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
      let landed = 0;
      file.window();
      try {
        await parquetRead({
          file,
          metadata: meta,
          rowStart: start,
          rowEnd: end,
          onChunk: (chunk) => {
            const list = parts.get(chunk.columnName) ?? [];
            const data = chunk.columnData as ArrayLike<unknown>;
            list.push({ rowStart: chunk.rowStart, data });
            parts.set(chunk.columnName, list);
            if (chunk.rowStart < end && chunk.rowStart + data.length > start) landed++;
          },
        });
      } catch (e) {
        throw await file.failure(e, (m) => malformed(`rows ${start}-${end}: ${m}`));
      }
      // A footer claiming rows the pages do not hold would otherwise have us walk empty windows up to its count.
      if (landed === 0) throw malformed(`the footer declares ${total} rows but the data ends before row ${start}`);
      yield makeTable(path, names.map((n) => assemble(n, parts.get(n) ?? [], start, end)));
      opts.onProgress?.(end / total);
    }
  } finally {
    await file.close();
  }
}

/**
 * hyparquet's view of a file, read through one open handle (an upload removed meanwhile stays readable). Each read
 * is checked against the file's extent and against a budget of twice the file's size per window (column chunks do
 * not overlap in a sound file), and tracked, so `failure` and `close` can wait for every read in flight.
 */
class FileBuffer implements AsyncBuffer {
  private readonly inFlight = new Set<Promise<ArrayBuffer>>();
  private firstError: unknown = undefined;
  private budget = 0;

  private constructor(private readonly fh: FileHandle, readonly byteLength: number, private readonly path: string) {
    this.window();
  }

  static async open(path: string): Promise<FileBuffer> {
    const fh = await open(path, 'r');
    try {
      return new FileBuffer(fh, (await fh.stat()).size, path);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Starts a new read window (one call of the decoder): resets the byte budget. */
  window(): void {
    this.budget = 2 * this.byteLength + (1 << 20);
  }

  slice(start: number, end: number = this.byteLength): Promise<ArrayBuffer> {
    const p = this.read(start, end);
    this.inFlight.add(p);
    p.then(
      () => { this.inFlight.delete(p); },
      (e: unknown) => { this.inFlight.delete(p); this.firstError ??= e; },
    );
    return p;
  }

  private async read(start: number, end: number): Promise<ArrayBuffer> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > this.byteLength) {
      throw new DatasetError(
        DatasetErrorCode.MALFORMED,
        `${this.path}: the footer points at bytes ${start}-${end}, outside the file's ${this.byteLength}`,
      );
    }
    this.budget -= end - start;
    if (this.budget < 0) {
      throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.path}: the footer's column chunks overlap (bytes ${start}-${end} read again)`);
    }
    const out = new Uint8Array(end - start);
    for (let off = 0; off < out.length;) {
      const { bytesRead } = await this.fh.read(out, off, out.length - off, start + off);
      if (bytesRead === 0) throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.path}: the file ended at byte ${start + off} while reading`);
      off += bytesRead;
    }
    return out.buffer;
  }

  /** Waits for every read in flight to settle. */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * The error to throw for a failed decode, once every read has settled: a DatasetError as it is (the first read
   * failure first), anything else wrapped by `wrap` with its message.
   */
  async failure(e: unknown, wrap: (message: string) => DatasetError): Promise<DatasetError> {
    await this.settle();
    const cause = e instanceof DatasetError ? e : this.firstError ?? e;
    if (cause instanceof DatasetError) return cause;
    return wrap(cause instanceof Error ? cause.message : String(cause));
  }

  async close(): Promise<void> {
    await this.settle();
    await this.fh.close();
  }
}

export async function readParquet(path: string, opts: Omit<ParquetReadOptions, 'chunkRows'> = {}): Promise<Table> {
  const chunks: Table[] = [];
  for await (const t of readParquetChunks(path, { ...opts, chunkRows: MAX_WINDOW_ROWS })) chunks.push(t);
  return concatTables(chunks, path);
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
