import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { ColumnBuilder, forEachRow, makeTable, type Table } from './table.ts';
import { JsonlEncoder } from '../flow/encoders.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { readLineBatches, splitLines, type LineReadOptions } from './lines.ts';
import { sizeText, tableLimits, type TableLimits } from './limits.ts';

/**
 * JSON Lines reader: one object per line. Numbers and booleans (as 0/1) make numeric columns, strings make text
 * columns, null is missing; nested arrays/objects are kept as their JSON text. A key that first appears late is
 * missing in earlier rows.
 */
export interface JsonlReadOptions {
  chunkRows?: number;
  warn?: (message: string) => void;
  /** Caps on distinct keys (columns) and line length (defaults: TABLE_LIMITS). */
  limits?: TableLimits;
  /** Receives the fraction of the file consumed (compressed bytes for `.gz`). */
  onProgress?: (fraction: number) => void;
}

export class JsonlParser {
  private builders = new Map<string, ColumnBuilder>();
  private order: string[] = [];
  private lineNo = 0;
  rows = 0;
  private base = 0;
  readonly ready: Table[] = [];

  private readonly maxColumns: number;
  private readonly maxLine: number;

  constructor(private readonly source: string, private readonly chunkRows = 0, limits?: TableLimits) {
    const l = tableLimits(limits);
    this.maxColumns = l.maxColumns;
    this.maxLine = l.maxLineBytes;
  }

  private fail(msg: string): never {
    throw new DatasetError(DatasetErrorCode.MALFORMED, `${this.source}:${this.lineNo}: ${msg}`);
  }

  push(lines: readonly string[]): void {
    for (const line of lines) {
      this.lineNo++;
      if (line.length > this.maxLine) this.fail(`line longer than ${sizeText(this.maxLine)} (the limit)`);
      const s = line.trim();
      if (s === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(s);
      } catch (e) {
        this.fail(`not valid JSON (${(e as Error).message})`);
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) this.fail('expected a JSON object per line');
      const n = this.rows;
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        let b = this.builders.get(k);
        if (!b) {
          if (this.order.length >= this.maxColumns) this.fail(`more than ${this.maxColumns} columns (the limit): key '${k.slice(0, 40)}' is one too many`);
          b = new ColumnBuilder(k);
          for (let i = this.base; i < n; i++) b.pushMissing();
          this.builders.set(k, b);
          this.order.push(k);
        }
        if (b.length !== n - this.base) continue; // duplicate key in one object: first wins
        if (v === null || v === undefined) b.pushMissing();
        else if (typeof v === 'number') b.pushNumber(v);
        else if (typeof v === 'boolean') b.pushNumber(v ? 1 : 0);
        else if (typeof v === 'string') {
          // Writers spell non-finite numbers as strings; keep such a column numeric.
          if (b.kind === 'number' && (v === 'Infinity' || v === '-Infinity' || v === 'NaN')) b.pushNumber(Number(v));
          else b.pushString(v);
        }
        else b.pushString(nestedText(v, () => this.fail(`column '${k.slice(0, 40)}': value nested too deeply to keep`)));
      }
      this.rows++;
      for (const b of this.builders.values()) if (b.length < this.rows - this.base) b.pushMissing();
      if (this.chunkRows && this.rows - this.base >= this.chunkRows) this.ready.push(this.take());
    }
  }

  /** Rows parsed and not yet taken. */
  get pendingRows(): number {
    return this.rows - this.base;
  }

  take(): Table {
    const t = makeTable(this.source, this.order.map((k) => this.builders.get(k)!.finish()));
    for (const k of this.order) this.builders.set(k, new ColumnBuilder(k));
    this.base = this.rows;
    return t;
  }
}

/** A nested value as JSON text; `tooDeep` decides what a stack overflow (thousands of levels) becomes. */
function nestedText(v: unknown, tooDeep: () => never): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (e instanceof RangeError) tooDeep();
    throw e;
  }
}

function lineOptions(opts: JsonlReadOptions): LineReadOptions {
  const l = tableLimits(opts.limits);
  return { maxLineBytes: l.maxLineBytes, maxInflatedBytes: l.maxInflatedBytes, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
}

export async function* readJsonlChunks(path: string, opts: JsonlReadOptions = {}): AsyncGenerator<Table> {
  const p = new JsonlParser(path, opts.chunkRows ?? 65536, opts.limits);
  let yielded = 0;
  for await (const lines of readLineBatches(path, lineOptions(opts))) {
    p.push(lines);
    while (p.ready.length) { yielded++; yield p.ready.shift()!; }
  }
  if (p.pendingRows > 0 || yielded === 0) yield p.take();
}

export async function readJsonl(path: string, opts: JsonlReadOptions = {}): Promise<Table> {
  const p = new JsonlParser(path, 0, opts.limits);
  for await (const lines of readLineBatches(path, lineOptions(opts))) p.push(lines);
  return p.take();
}

export function parseJsonl(text: string, source = '<jsonl>', opts: JsonlReadOptions = {}): Table {
  const p = new JsonlParser(source, 0, opts.limits);
  p.push(splitLines(text));
  return p.take();
}

/** Rows of a table as JSON lines through the one JSONL encoder (flow/encoders.ts: NaN and missing as null,
 * infinities as the strings "Infinity" / "-Infinity"). */
export function tableToJsonl(t: Table): string {
  const parts: Buffer[] = [];
  const e = new JsonlEncoder(t.columns, (b) => parts.push(b));
  forEachRow(t, (cells) => e.row(cells));
  e.flush();
  return Buffer.concat(parts).toString('utf8');
}

export class JsonlWriter {
  private readonly out: Writable;
  constructor(target: string | Writable) {
    this.out = typeof target === 'string' ? createWriteStream(target) : target;
  }
  async write(t: Table): Promise<void> {
    if (!this.out.write(tableToJsonl(t))) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
  async close(): Promise<void> {
    if ((this.out as unknown) === process.stdout) return;
    await new Promise<void>((resolve, reject) => {
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }
}
