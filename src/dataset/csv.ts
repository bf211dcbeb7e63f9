import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { ColumnBuilder, forEachRow, makeTable, type Table } from './table.ts';
import { CsvEncoder } from '../flow/encoders.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { readLineBatches, splitLines, type LineReadOptions } from './lines.ts';
import { sizeText, tableLimits, type TableLimits } from './limits.ts';

/**
 * CSV reader for Veil's own flow tables and CICFlowMeter-style exports: RFC 4180 quoting (fields with delimiters,
 * quotes and newlines), `,` `;` or tab delimiters (guessed from the header), header names trimmed (CICFlowMeter
 * writes " Destination Port"), duplicate names made unique (`name.1`), repeated header rows skipped, trailing
 * empty fields tolerated. Column kinds are inferred: numeric unless a non-numeric, non-missing value appears.
 */
export interface CsvReadOptions {
  /** Field delimiter; guessed from the header line when absent. */
  delimiter?: string;
  /** Rows per chunk when streaming. */
  chunkRows?: number;
  /** Receives non-fatal notices (duplicate names, skipped lines). */
  warn?: (message: string) => void;
  /** Columns to force to text (e.g. a numeric label). */
  textColumns?: readonly string[];
  /** Caps on columns and line length (defaults: TABLE_LIMITS). */
  limits?: TableLimits;
  /** Receives the fraction of the file consumed (compressed bytes for `.gz`). */
  onProgress?: (fraction: number) => void;
}

/** Incremental CSV parser: feed lines, take tables. Keeps the line number for error messages. */
export class CsvParser {
  private header: string[] | null = null;
  private builders: ColumnBuilder[] = [];
  private delimiter: string | undefined;
  private pending: string | null = null;
  private pendingStart = 0;
  /** Quotes in `pending` are odd (a field is open). */
  private pendingOpen = false;
  private readonly maxColumns: number;
  private readonly maxLine: number;
  private lineNo = 0;
  private repeatedHeaders = 0;
  rows = 0;
  /** Full chunks (when `chunkRows` is set), taken by the streaming reader. */
  readonly ready: Table[] = [];

  constructor(private readonly source: string, private readonly opts: CsvReadOptions = {}) {
    this.delimiter = opts.delimiter;
    const l = tableLimits(opts.limits);
    this.maxColumns = l.maxColumns;
    this.maxLine = l.maxLineBytes;
  }

  /** Feeds complete lines in order. */
  push(lines: readonly string[]): void {
    for (const raw of lines) {
      this.lineNo++;
      // Characters, not bytes, for text in memory (file readers check bytes first): never more than the bytes.
      if (raw.length > this.maxLine) {
        throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}:${this.lineNo}: line longer than ${sizeText(this.maxLine)} (the limit)`);
      }
      const odd = raw.indexOf('"') >= 0 && !quotesBalanced(raw);
      if (this.pending !== null) {
        const line = this.pending + '\n' + raw;
        if (line.length > this.maxLine) {
          throw new DatasetError(
            DatasetErrorCode.MALFORMED,
            `${this.source}:${this.pendingStart}: record longer than ${sizeText(this.maxLine)} (the limit): a quoted field opened there runs on to line ${this.lineNo}`,
          );
        }
        // Parity of quotes is kept per line, so a long quoted field costs linear time.
        this.pendingOpen = this.pendingOpen !== odd;
        if (this.pendingOpen) { this.pending = line; continue; }
        this.pending = null;
        this.record(line, this.pendingStart);
      } else if (odd) {
        // A quoted field spans lines: keep collecting until the quotes close.
        this.pending = raw;
        this.pendingStart = this.lineNo;
        this.pendingOpen = true;
        continue;
      } else {
        this.record(raw, this.lineNo);
      }
      if (this.opts.chunkRows && this.rows >= this.opts.chunkRows) { this.ready.push(this.take()); this.rows = 0; }
    }
  }

  private record(line: string, lineNo: number): void {
    if (this.header === null) {
      if (line.trim() === '') return;
      this.delimiter ??= guessDelimiter(line);
      const names = splitFields(line, this.delimiter).map((n) => n.trim());
      while (names.length > 1 && names[names.length - 1] === '') names.pop();
      if (names.length > this.maxColumns) {
        throw new DatasetError(
          DatasetErrorCode.MALFORMED,
          `${this.source}:${lineNo}: ${names.length} columns, more than the limit of ${this.maxColumns} (column ${this.maxColumns + 1} is '${names[this.maxColumns]!.slice(0, 40)}')`,
        );
      }
      this.header = uniqueNames(names, this.source, this.opts.warn);
      const text = new Set(this.opts.textColumns ?? []);
      this.builders = this.header.map((n) => new ColumnBuilder(n, text.has(n) ? 'string' : undefined));
      return;
    }
    if (line === '') return;
    const fields = line.indexOf('"') >= 0 ? splitFields(line, this.delimiter!) : line.split(this.delimiter!);
    const h = this.header;
    if (fields.length !== h.length) {
      while (fields.length > h.length && fields[fields.length - 1]!.trim() === '') fields.pop();
      if (fields.length !== h.length) {
        if (fields.every((f) => f.trim() === '')) return;
        throw new DatasetError(
          DatasetErrorCode.MALFORMED,
          `${this.source}:${lineNo}: ${fields.length} fields, the header has ${h.length}` +
            (fields.length < h.length ? ` (first missing column '${h[fields.length]}')` : ''),
        );
      }
    }
    if (fields[0]!.trim() === h[0] && fields.every((f, i) => f.trim() === h[i])) {
      this.repeatedHeaders++;
      return;
    }
    const b = this.builders;
    for (let i = 0; i < fields.length; i++) b[i]!.pushText(fields[i]!);
    this.rows++;
  }

  /** Rows parsed since the last take, as a table; the parser continues with empty columns. */
  take(): Table {
    const t = makeTable(this.source, this.builders.map((b) => b.finish()));
    this.builders = (this.header ?? []).map((n, i) => new ColumnBuilder(n, this.builders[i]?.forced));
    return t;
  }

  /** Ends the input: an unclosed quote is an error; notices are sent to `warn`. */
  end(): void {
    if (this.pending !== null) {
      throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}:${this.pendingStart}: quoted field never closed`);
    }
    if (this.header === null) throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}: empty file (no header line)`);
    if (this.repeatedHeaders) this.opts.warn?.(`${this.source}: skipped ${this.repeatedHeaders} repeated header line(s)`);
  }
}

/**
 * Streams a CSV file as tables of at most `chunkRows` rows.
 *
 * @example
 * for await (const chunk of readCsvChunks('flows.csv', { chunkRows: 50_000 })) console.log(chunk.rows);
 */
export async function* readCsvChunks(path: string, opts: CsvReadOptions = {}): AsyncGenerator<Table> {
  const p = new CsvParser(path, { ...opts, chunkRows: opts.chunkRows ?? 65536 });
  let yielded = 0;
  for await (const lines of readLineBatches(path, lineOptions(opts))) {
    p.push(lines);
    while (p.ready.length) { yielded++; yield p.ready.shift()!; }
  }
  p.end();
  if (p.rows > 0 || yielded === 0) yield p.take();
}

/** Reads a whole CSV file. */
export async function readCsv(path: string, opts: CsvReadOptions = {}): Promise<Table> {
  const p = new CsvParser(path, opts);
  for await (const lines of readLineBatches(path, lineOptions(opts))) p.push(lines);
  p.end();
  return p.take();
}

/** Parses CSV text held in memory. */
export function parseCsv(text: string, source = '<csv>', opts: CsvReadOptions = {}): Table {
  const p = new CsvParser(source, opts);
  p.push(splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text));
  p.end();
  return p.take();
}

function lineOptions(opts: CsvReadOptions): LineReadOptions {
  const l = tableLimits(opts.limits);
  return { maxLineBytes: l.maxLineBytes, maxInflatedBytes: l.maxInflatedBytes, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
}

function quotesBalanced(line: string): boolean {
  let n = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) n++;
  return (n & 1) === 0;
}

function guessDelimiter(header: string): string {
  let best = ',';
  let bestN = 0;
  for (const d of [',', ';', '\t', '|']) {
    const n = header.split(d).length - 1;
    if (n > bestN) { best = d; bestN = n; }
  }
  return best;
}

/** Splits one record honouring double quotes ("" inside quotes is a quote). */
export function splitFields(line: string, delim: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i <= n) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) { s += line.slice(i); i = n; break; }
        s += line.slice(i, q);
        if (line[q + 1] === '"') { s += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
      // Text between the closing quote and the delimiter is kept (lenient, as spreadsheets do).
      const d = line.indexOf(delim, i);
      if (d < 0) { s += line.slice(i); out.push(s); break; }
      s += line.slice(i, d);
      out.push(s);
      i = d + delim.length;
      if (i === n) { out.push(''); break; }
    } else {
      const d = line.indexOf(delim, i);
      if (d < 0) { out.push(line.slice(i)); break; }
      out.push(line.slice(i, d));
      i = d + delim.length;
      if (i === n) { out.push(''); break; }
    }
  }
  return out;
}

function uniqueNames(names: string[], source: string, warn?: (m: string) => void): string[] {
  const seen = new Map<string, number>();
  return names.map((n, i) => {
    const name = n === '' ? `column_${i + 1}` : n;
    const k = seen.get(name);
    if (k === undefined) { seen.set(name, 1); return name; }
    let alt = `${name}.${k}`;
    while (seen.has(alt)) alt += '_';
    seen.set(name, k + 1);
    seen.set(alt, 1);
    warn?.(`${source}: duplicate column name '${name}' renamed to '${alt}'`);
    return alt;
  });
}

/** Quotes a field when it holds the delimiter, a quote or a line break. */
export { csvField } from '../flow/encoders.ts';

/** A table's rows as CSV text through the one CSV encoder (flow/encoders.ts), header first when `header`. */
export function tableToCsv(t: Table, header = true): string {
  const parts: Buffer[] = [];
  const e = new CsvEncoder((b) => parts.push(Buffer.from(b)));
  if (header) e.header(t.columns);
  forEachRow(t, (cells) => e.row(cells));
  e.flush();
  return Buffer.concat(parts).toString('utf8');
}

/** Streaming CSV writer: the header comes from the first table written. */
export class CsvWriter {
  private readonly out: Writable;
  private wroteHeader = false;
  constructor(target: string | Writable) {
    this.out = typeof target === 'string' ? createWriteStream(target) : target;
  }
  async write(t: Table): Promise<void> {
    let drained = true;
    const e = new CsvEncoder((b) => { drained = this.out.write(b); });
    if (!this.wroteHeader) e.header(t.columns);
    this.wroteHeader = true;
    forEachRow(t, (cells) => e.row(cells));
    e.flush();
    if (!drained) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
  async close(): Promise<void> {
    if ((this.out as unknown) === process.stdout) return;
    await new Promise<void>((resolve, reject) => {
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }
}
