import { readCsvChunks, CsvWriter } from './csv.ts';
import { readJsonlChunks, JsonlWriter } from './jsonl.ts';
import { readParquetChunks, ParquetTableWriter } from './parquet.ts';
import { readArffChunks } from './arff.ts';
import { concatTables, renameColumns, type Table } from './table.ts';
import { verifyColumnOrder, type ColumnOrderPolicy, type OrderVerdict } from './checks.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import type { TableLimits } from './limits.ts';
import { conformToDefinitions, definedTextColumns } from './definitions.ts';

/** File formats of flow tables. */
export type TableFormat = 'csv' | 'jsonl' | 'parquet' | 'arff';

/** The format from the file name (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.parquet`, `.arff`, each optionally `.gz`). */
export function detectFormat(path: string): TableFormat {
  const p = path.toLowerCase().replace(/\.gz$/, '');
  if (p.endsWith('.csv') || p.endsWith('.tsv') || p.endsWith('.txt')) return 'csv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  if (p.endsWith('.parquet') || p.endsWith('.pq')) return 'parquet';
  if (p.endsWith('.arff')) return 'arff';
  throw new DatasetError(
    DatasetErrorCode.UNSUPPORTED_FORMAT,
    `${path}: unknown table format (expected .csv, .tsv, .jsonl, .ndjson, .parquet or .arff)`,
  );
}

export interface LoadOptions {
  format?: TableFormat;
  /** What to do when the column-order check fails: fix a known header error (default), refuse, or keep and warn. */
  columnOrder?: ColumnOrderPolicy;
  /** Receives notices; loud ones (wrong column order) start with 'WARNING'. */
  warn?: (message: string) => void;
  /** Add the command-line option that changes a warning's outcome (default true; the service turns it off: its
   * users pass no flags). */
  flagAdvice?: boolean;
  /** Columns to keep as text even when they look numeric (labels such as 0/1). */
  textColumns?: readonly string[];
  /** Rows per chunk when streaming. */
  chunkRows?: number;
  /** Caps on columns and line length (defaults: TABLE_LIMITS, 4,096 columns and 1 MiB lines). */
  limits?: TableLimits;
  /**
   * Receives the fraction of the input read, as the read goes: file bytes consumed for text formats (compressed
   * bytes for `.gz`, so gzipped tables report true progress), rows decoded out of the footer's count for Parquet.
   */
  onProgress?: (fraction: number) => void;
}

export interface LoadedTable {
  table: Table;
  format: TableFormat;
  /** Outcome of the column-order check. */
  order: Pick<OrderVerdict, 'status' | 'message' | 'report'>;
}

/**
 * Reads a whole flow table and runs the column-order check on it.
 *
 * @example
 * const { table } = await loadTable('flows.csv', { warn: (m) => process.stderr.write(m + '\n') });
 */
export async function loadTable(path: string, opts: LoadOptions = {}): Promise<LoadedTable> {
  const format = opts.format ?? detectFormat(path);
  const chunks: Table[] = [];
  for await (const t of rawChunks(path, format, { ...opts, chunkRows: opts.chunkRows ?? Number.MAX_SAFE_INTEGER })) chunks.push(t);
  const table = concatTables(chunks, path);
  const verdict = applyOrderPolicy(table, opts);
  return { table: verdict.table, format, order: verdict };
}

/**
 * Streams a table in chunks (for prediction over files larger than memory). The column-order check runs on the
 * first chunk and its verdict (a rename, a refusal) applies to all.
 */
export async function* streamTable(path: string, opts: LoadOptions = {}): AsyncGenerator<Table> {
  const format = opts.format ?? detectFormat(path);
  let rename: Map<string, string> | null | undefined;
  for await (const t of rawChunks(path, format, { ...opts, chunkRows: opts.chunkRows ?? 65536 })) {
    if (rename === undefined) {
      const v = applyOrderPolicy(t, opts);
      rename = null;
      if (v.status === 'fixed') {
        rename = new Map();
        t.columns.forEach((c, i) => { const n = v.table.columns[i]!.name; if (n !== c.name) rename!.set(c.name, n); });
      }
      yield v.table;
      continue;
    }
    yield rename ? renameColumns(t, rename) : t;
  }
}

function applyOrderPolicy(t: Table, opts: LoadOptions): OrderVerdict {
  const policy = opts.columnOrder ?? 'fix';
  const v = verifyColumnOrder(t, policy);
  if (v.status === 'ok') return v;
  if (policy === 'refuse') {
    throw new DatasetError(DatasetErrorCode.PERMUTED_COLUMNS, `${v.message} Refusing to load (--column-order refuse).`);
  }
  opts.warn?.(`WARNING: ${v.message}${v.flagAdvice && opts.flagAdvice !== false ? ` ${v.flagAdvice}` : ''}`);
  return v;
}

/**
 * The reader's chunks with Veil's defined columns given their defined kinds (dataset/definitions.ts): the CSV
 * reader keeps defined text columns as text from the header on; the other formats are conformed chunk by chunk.
 * A value of a defined numeric column that is not a number is read as missing, with one notice per column.
 */
async function* rawChunks(path: string, format: TableFormat, opts: LoadOptions): AsyncGenerator<Table> {
  const keep = new Set(opts.textColumns ?? []);
  const told = new Set<string>();
  for await (const t of readerChunks(path, format, opts)) {
    yield conformToDefinitions(t, keep, (o) => {
      if (told.has(o.column)) return;
      told.add(o.column);
      opts.warn?.(`${path}: column '${o.column}' holds numbers by its definition, but ${o.count} value(s) are not numbers ` +
        `(e.g. '${o.example.slice(0, 60)}'): read as missing`);
    });
  }
}

function readerChunks(path: string, format: TableFormat, opts: LoadOptions): AsyncGenerator<Table> {
  const common = {
    chunkRows: opts.chunkRows,
    ...(opts.warn ? { warn: opts.warn } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  switch (format) {
    case 'csv':
      return readCsvChunks(path, {
        ...common,
        textColumns: [...(opts.textColumns ?? []), ...definedTextColumns()],
        delimiter: path.toLowerCase().replace(/\.gz$/, '').endsWith('.tsv') ? '\t' : undefined,
      });
    case 'jsonl':
      return readJsonlChunks(path, common);
    case 'parquet':
      return readParquetChunks(path, common);
    case 'arff':
      return readArffChunks(path, common);
  }
}

/** Sink for tables written chunk by chunk. */
export interface TableWriter {
  write(t: Table): Promise<void>;
  close(): Promise<void>;
}

/** Opens a writer by file extension (`-` writes CSV to standard output). ARFF output is not offered. */
export function openTableWriter(path: string): TableWriter {
  if (path === '-') return new CsvWriter(process.stdout);
  const format = detectFormat(path);
  if (format === 'csv') return new CsvWriter(path);
  if (format === 'jsonl') return new JsonlWriter(path);
  if (format === 'parquet') {
    const w = new ParquetTableWriter(path);
    return { write: async (t) => w.write(t), close: async () => w.close() };
  }
  throw new DatasetError(DatasetErrorCode.UNSUPPORTED_FORMAT, `${path}: writing ARFF is not supported; use .csv, .jsonl or .parquet`);
}

export async function writeTable(t: Table, path: string): Promise<void> {
  const w = openTableWriter(path);
  await w.write(t);
  await w.close();
}
