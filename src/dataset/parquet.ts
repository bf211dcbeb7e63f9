import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ParquetEncoder } from '../flow/encoders.ts';
import { parquetFileSink } from '../flow/parquet-writer.ts';
import { StringColumnBuilder, concatTables, encodedColumns, forEachRow, makeTable, type Column, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { tableLimits, type TableLimits } from './limits.ts';

/**
 * Parquet through hyparquet (read) and our flat writer (flow/parquet-writer.ts, through the Parquet encoder). Numeric and boolean columns become numbers (INT64
 * as doubles, exact below 2^53), text and everything else text (nested values as JSON). Reading streams by row
 * windows: a file is never decoded whole into row objects.
 *
 * Nothing in the file is trusted. The footer is checked here (column cap, unique names, row counts); hyparquet
 * decodes in a thread of its own (parquet-worker.mjs) under a heap limit and a deadline, because a damaged page
 * can make it loop over billions of values; there every read it starts is settled before a window's answer (a
 * damaged chunk rejects while its siblings still read: left dangling, they would fail later, with the upload
 * deleted, as unhandled rejections). Running out of heap or time is a DatasetError like any other damage.
 */
export interface ParquetReadOptions {
  /** Rows per chunk (fewer for wide files: a window holds at most PARQUET_WINDOW_CELLS cells). */
  chunkRows?: number;
  /** Cap on columns (defaults: TABLE_LIMITS). */
  limits?: TableLimits;
  /** Receives the fraction of the footer's rows decoded. */
  onProgress?: (fraction: number) => void;
}

/** Cells (rows x columns) decoded at once at most, whatever the caller or the footer says. */
export const PARQUET_WINDOW_CELLS = 1 << 21;
/** Heap of the decoding thread: a window's decoded values fit many times over; a runaway decode does not. */
export const PARQUET_DECODER_HEAP_MB = 768;

interface Reply {
  ok: boolean;
  message?: string;
  own?: boolean;
  names?: string[];
  numRows?: string;
  groupRows?: string[];
  chunks?: { columnName: string; rowStart: number; data: ArrayLike<unknown> }[];
}

/** One decoding thread, leased to one file at a time; idle ones are kept (unreferenced) for the next file. */
class Decoder {
  private static readonly idle: Decoder[] = [];
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private dead: Error | null = null;

  static lease(): Decoder {
    return Decoder.idle.pop() ?? new Decoder();
  }

  private constructor() {
    this.worker = new Worker(new URL('./parquet-worker.mjs', import.meta.url), {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: PARQUET_DECODER_HEAP_MB, maxYoungGenerationSizeMb: 64 },
    });
    this.worker.on('message', (m: Reply & { id: number }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (this.waiting.size === 0) this.worker.unref();
      w.resolve(m);
    });
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => this.die(new Error(`decoder thread exited (${code})`)));
    // After the listeners: adding a 'message' listener refs the thread again. Idle, it must not keep a process alive.
    this.worker.unref();
  }

  private die(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.reject(this.dead); }
    this.waiting.clear();
  }

  request(msg: { op: 'open'; path: string } | { op: 'read'; start: number; end: number } | { op: 'close' }, deadlineMs: number): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.die(new DecoderOverrun(`took more than ${deadlineMs} ms to decode`));
        void this.worker.terminate();
      }, deadlineMs);
      timer.unref();
      this.waiting.set(id, { resolve, reject, timer });
      // Referenced while a request waits (the process must wait for the answer), unreferenced when idle.
      this.worker.ref();
      this.worker.postMessage({ id, ...msg });
    });
  }

  /** Hands the thread back after a file: kept when it is healthy and few are idle, else ended. */
  async release(): Promise<void> {
    if (!this.dead) {
      try {
        await this.request({ op: 'close' }, 10_000);
      } catch { /* died meanwhile */ }
    }
    if (!this.dead && Decoder.idle.length < 2) Decoder.idle.push(this);
    else await this.worker.terminate();
  }
}

class DecoderOverrun extends Error {}

/** What a decoder's death means for the file being read. */
function decoderFailure(path: string, where: string, e: unknown): DatasetError {
  const code = (e as { code?: unknown }).code;
  const why = code === 'ERR_WORKER_OUT_OF_MEMORY' ? `needed more than ${PARQUET_DECODER_HEAP_MB} MiB to decode`
    : e instanceof DecoderOverrun ? e.message
    : `the decoder failed (${(e as Error)?.message ?? String(e)})`;
  return new DatasetError(DatasetErrorCode.MALFORMED, `${path}: ${where}${why}: a damaged or hostile file`);
}

/** An open Parquet file whose footer passed the checks. */
interface OpenedParquet {
  decoder: Decoder;
  names: string[];
  total: number;
  deadlineMs: number;
}

/** Opens a Parquet file in a decoder and checks its footer (column cap, unique names, row counts). */
async function openParquet(path: string, limits: TableLimits | undefined): Promise<OpenedParquet> {
  const { maxColumns, parquetWindowMs: deadlineMs } = tableLimits(limits);
  const malformed = (what: string): DatasetError => new DatasetError(DatasetErrorCode.MALFORMED, `${path}: ${what}`);
  await stat(path); // a missing file is the file system's error, as for the text formats
  const decoder = Decoder.lease();
  try {
    let r: Reply;
    try {
      r = await decoder.request({ op: 'open', path }, deadlineMs);
    } catch (e) {
      throw decoderFailure(path, 'the footer ', e);
    }
    if (!r.ok) throw malformed(r.own ? r.message!.replace(`${path}: `, '') : `not a readable Parquet file (${r.message})`);
    const names = r.names!;
    if (names.length > maxColumns) throw malformed(`${names.length} columns, more than the limit of ${maxColumns}`);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw malformed(`column '${dup.slice(0, 40)}' appears twice in the schema`);
    const total = Number(r.numRows);
    const inGroups = r.groupRows!.reduce((a, g) => a + Number(g), 0);
    if (!Number.isSafeInteger(total) || total < 0 || total !== inGroups) {
      throw malformed(`the footer declares ${r.numRows} rows but its row groups hold ${inGroups}`);
    }
    return { decoder, names, total, deadlineMs };
  } catch (e) {
    await decoder.release();
    throw e;
  }
}

/** Column names of a Parquet file, from its footer alone (no data page is read). */
export async function parquetColumnNames(path: string, opts: { limits?: TableLimits } = {}): Promise<string[]> {
  const { decoder, names } = await openParquet(path, opts.limits);
  await decoder.release();
  return names;
}

export async function* readParquetChunks(path: string, opts: ParquetReadOptions = {}): AsyncGenerator<Table> {
  const malformed = (what: string): DatasetError => new DatasetError(DatasetErrorCode.MALFORMED, `${path}: ${what}`);
  const { decoder, names, total, deadlineMs } = await openParquet(path, opts.limits);
  try {
    const step = Math.max(1, Math.min(opts.chunkRows ?? 65536, Math.floor(PARQUET_WINDOW_CELLS / Math.max(1, names.length))));
    if (total === 0 || names.length === 0) {
      yield makeTable(path, names.map((n): Column => ({ kind: 'number', name: n, values: new Float64Array(0) })));
      return;
    }
    for (let start = 0; start < total; start += step) {
      const end = Math.min(total, start + step);
      let r: Reply;
      try {
        r = await decoder.request({ op: 'read', start, end }, deadlineMs);
      } catch (e) {
        throw decoderFailure(path, `rows ${start}-${end}: `, e);
      }
      if (!r.ok) throw malformed(r.own ? r.message!.replace(`${path}: `, '') : `rows ${start}-${end}: ${r.message}`);
      const parts = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
      let landed = 0;
      for (const c of r.chunks!) {
        const list = parts.get(c.columnName) ?? [];
        list.push({ rowStart: c.rowStart, data: c.data });
        parts.set(c.columnName, list);
        if (c.rowStart < end && c.rowStart + c.data.length > start) landed++;
      }
      // A footer claiming rows the pages do not hold would otherwise have us walk empty windows up to its count.
      if (landed === 0) throw malformed(`the footer declares ${total} rows but the data ends before row ${start}`);
      yield makeTable(path, names.map((n) => assemble(n, parts.get(n) ?? [], start, end)));
      opts.onProgress?.(end / total);
    }
  } finally {
    await decoder.release();
  }
}

export async function readParquet(path: string, opts: Omit<ParquetReadOptions, 'chunkRows'> = {}): Promise<Table> {
  const chunks: Table[] = [];
  for await (const t of readParquetChunks(path, { ...opts, chunkRows: 1 << 20 })) chunks.push(t);
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

/** Writes a whole table to a Parquet file. */
export function writeParquet(t: Table, path: string): void {
  const w = new ParquetTableWriter(path);
  w.write(t);
  w.close();
}

/** Parquet bytes of a table (tests, services). */
export function tableToParquet(t: Table): Uint8Array {
  const parts: Uint8Array[] = [];
  const e = new ParquetEncoder(encodedColumns(t), (b) => parts.push(b));
  forEachRow(t, (cells) => e.row(cells));
  e.finish();
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Streaming Parquet writer through the one Parquet encoder (flow/encoders.ts): row groups of a bounded number of
 * cells, whatever the chunks written; the schema comes from the first chunk.
 */
export class ParquetTableWriter {
  private enc: ParquetEncoder | null = null;
  private file: ReturnType<typeof parquetFileSink> | null = null;
  private names: string[] = [];
  constructor(private readonly path: string) {}
  write(t: Table): void {
    if (!this.enc) {
      this.names = t.columns.map((c) => c.name);
      const file = (this.file = parquetFileSink(this.path));
      this.enc = new ParquetEncoder(encodedColumns(t), (b) => file.write(b));
    } else if (t.columns.map((c) => c.name).join('\0') !== this.names.join('\0')) {
      throw new Error(`${this.path}: every chunk written must have the same columns`);
    }
    const e = this.enc;
    forEachRow(t, (cells) => e.row(cells));
  }
  close(): void {
    if (!this.enc) return;
    this.enc.finish();
    this.file!.close();
    this.enc = null;
  }
}
