import { DatasetError, DatasetErrorCode } from './errors.ts';

/**
 * The in-memory, columnar flow table every reader produces and every learner consumes. Numbers live in
 * Float64Array (NaN = missing); text is dictionary-encoded (Int32Array codes into a dictionary, -1 = missing), so a
 * million rows of a 30-valued column cost 4 MB, not a million strings.
 */
export interface NumberColumn {
  readonly kind: 'number';
  readonly name: string;
  readonly values: Float64Array;
}

export interface StringColumn {
  readonly kind: 'string';
  readonly name: string;
  /** Index into `dictionary` per row; -1 marks a missing value. */
  readonly codes: Int32Array;
  readonly dictionary: readonly string[];
}

export type Column = NumberColumn | StringColumn;

export interface Table {
  /** Where the rows came from (a path, or a description for derived tables). */
  readonly source: string;
  readonly rows: number;
  readonly columns: readonly Column[];
}

/** Tokens read as a missing value in text formats. */
const MISSING = new Set(['', '?', 'NaN', 'nan', 'NA', 'N/A', 'null', 'NULL', 'None']);
const INFINITIES: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, Inf: Infinity, '-Inf': -Infinity };

/** Parses a text cell: a number, NaN for a missing token, or undefined when the text is not numeric. */
export function parseNumber(s: string): number | undefined {
  const v = Number(s);
  if (v === v) {
    // Number('') and Number('  ') are 0: blank cells are missing, not zero.
    if (v === 0 && s.trim() === '') return NaN;
    return v;
  }
  if (MISSING.has(s) || MISSING.has(s.trim())) return NaN;
  const inf = INFINITIES[s.trim()];
  return inf;
}

export function numberColumn(name: string, values: Float64Array | ArrayLike<number>): NumberColumn {
  return { kind: 'number', name, values: values instanceof Float64Array ? values : Float64Array.from(values) };
}

/** Dictionary-encodes plain strings (null/undefined = missing). */
export function stringColumn(name: string, values: ArrayLike<string | null | undefined>): StringColumn {
  const dict = new Map<string, number>();
  const dictionary: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) { codes[i] = -1; continue; }
    let c = dict.get(v);
    if (c === undefined) { c = dictionary.length; dict.set(v, c); dictionary.push(v); }
    codes[i] = c;
  }
  return { kind: 'string', name, codes, dictionary };
}

/**
 * Builds a table, checking that every column has the same length and names are unique.
 *
 * @example
 * const t = makeTable('mem', [numberColumn('x', [1, 2]), stringColumn('y', ['a', 'b'])]);
 */
export function makeTable(source: string, columns: readonly Column[]): Table {
  const rows = columns.length ? columnLength(columns[0]!) : 0;
  const seen = new Set<string>();
  for (const c of columns) {
    if (columnLength(c) !== rows) throw new Error(`column '${c.name}' has ${columnLength(c)} rows, expected ${rows}`);
    if (seen.has(c.name)) throw new Error(`duplicate column '${c.name}'`);
    seen.add(c.name);
  }
  return { source, rows, columns };
}

export function columnLength(c: Column): number {
  return c.kind === 'number' ? c.values.length : c.codes.length;
}

export function getColumn(t: Table, name: string): Column | undefined {
  return t.columns.find((c) => c.name === name);
}

/** The column, or a DatasetError naming the file and what the column was wanted for. */
export function requireColumn(t: Table, name: string, role = 'column'): Column {
  const c = getColumn(t, name);
  if (!c) {
    const names = t.columns.map((x) => x.name);
    const close = names.filter((n) => n.toLowerCase().replace(/[^a-z0-9]/g, '') === name.toLowerCase().replace(/[^a-z0-9]/g, ''));
    const hint = close.length ? ` (did you mean '${close[0]}'?)` : ` (columns: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', ...' : ''})`;
    throw new DatasetError(DatasetErrorCode.MISSING_COLUMN, `${t.source}: no ${role} '${name}'${hint}`);
  }
  return c;
}

/** The value of one cell: number (NaN = missing) for number columns, string or null for string columns. */
export function cellValue(c: Column, row: number): number | string | null {
  if (c.kind === 'number') return c.values[row]!;
  const code = c.codes[row]!;
  return code < 0 ? null : c.dictionary[code]!;
}

/** Encoder column types of a table's columns (numbers and text). */
export function encodedColumns(t: Table): { name: string; type: 'number' | 'string' }[] {
  return t.columns.map((c) => ({ name: c.name, type: c.kind === 'number' ? 'number' : 'string' }));
}

/** Calls `each` with every row's cells in column order (one reused array: copy it to keep it). */
export function forEachRow(t: Table, each: (cells: (number | string | null)[]) => void): void {
  const cells: (number | string | null)[] = new Array(t.columns.length);
  for (let r = 0; r < t.rows; r++) {
    for (let j = 0; j < t.columns.length; j++) cells[j] = cellValue(t.columns[j]!, r);
    each(cells);
  }
}

/** The cell as text ('' for missing). */
export function cellText(c: Column, row: number): string {
  const v = cellValue(c, row);
  if (v === null) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? '' : String(v);
  return v;
}

/** Labels of a column as strings per row (numbers printed, missing as null). */
export function columnStrings(c: Column): (string | null)[] {
  const out: (string | null)[] = new Array(columnLength(c));
  for (let i = 0; i < out.length; i++) {
    const v = cellValue(c, i);
    out[i] = v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
  }
  return out;
}

/**
 * A column as numbers: number columns as they are, text parsed. A value that is not a number is read as missing
 * (one odd cell costs that cell, never the run) and reported to `odd` with how many rows hold such values.
 */
export function numericValues(c: Column, _source?: string, odd?: (count: number, example: string) => void): Float64Array {
  if (c.kind === 'number') return c.values;
  const parsed = new Float64Array(c.dictionary.length);
  const bad = new Uint8Array(c.dictionary.length);
  let example = -1;
  for (let d = 0; d < c.dictionary.length; d++) {
    const v = parseNumber(c.dictionary[d]!);
    if (v === undefined) { bad[d] = 1; if (example < 0) example = d; }
    parsed[d] = v ?? NaN;
  }
  const out = new Float64Array(c.codes.length);
  let count = 0;
  for (let i = 0; i < out.length; i++) {
    const code = c.codes[i]!;
    if (code < 0) { out[i] = NaN; continue; }
    out[i] = parsed[code]!;
    count += bad[code]!;
  }
  if (count) odd?.(count, c.dictionary[example]!);
  return out;
}

/** A new table holding the given rows, in that order. */
export function selectRows(t: Table, rows: ArrayLike<number>, source = t.source): Table {
  const cols = t.columns.map((c): Column => {
    if (c.kind === 'number') {
      const v = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c.values[rows[i]!]!;
      return { kind: 'number', name: c.name, values: v };
    }
    const codes = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) codes[i] = c.codes[rows[i]!]!;
    return { kind: 'string', name: c.name, codes, dictionary: c.dictionary };
  });
  return { source, rows: rows.length, columns: cols };
}

/** A new table with only the named columns (in that order). */
export function selectColumns(t: Table, names: readonly string[]): Table {
  return { source: t.source, rows: t.rows, columns: names.map((n) => requireColumn(t, n)) };
}

/** Replaces or appends a column. */
export function withColumn(t: Table, col: Column): Table {
  if (columnLength(col) !== t.rows) throw new Error(`column '${col.name}' has ${columnLength(col)} rows, table has ${t.rows}`);
  const i = t.columns.findIndex((c) => c.name === col.name);
  const cols = t.columns.slice();
  if (i >= 0) cols[i] = col;
  else cols.push(col);
  return { source: t.source, rows: t.rows, columns: cols };
}

/** Renames columns (old name -> new name); names not in the map stay. */
export function renameColumns(t: Table, names: ReadonlyMap<string, string>): Table {
  const cols = t.columns.map((c): Column => {
    const n = names.get(c.name);
    return n === undefined ? c : { ...c, name: n };
  });
  return makeTable(t.source, cols);
}

/**
 * Appends tables row-wise (chunks of one file). Columns are matched by name; a column that is text in any chunk
 * becomes text; a column absent from a chunk is missing there.
 */
export function concatTables(tables: readonly Table[], source?: string): Table {
  if (tables.length === 1) return tables[0]!;
  const names: string[] = [];
  const kinds = new Map<string, 'number' | 'string'>();
  for (const t of tables) {
    for (const c of t.columns) {
      if (!kinds.has(c.name)) { names.push(c.name); kinds.set(c.name, c.kind); }
      else if (c.kind === 'string') kinds.set(c.name, 'string');
    }
  }
  const rows = tables.reduce((s, t) => s + t.rows, 0);
  const cols: Column[] = names.map((name) => {
    if (kinds.get(name) === 'number') {
      const v = new Float64Array(rows);
      let off = 0;
      for (const t of tables) {
        const c = getColumn(t, name);
        if (c && c.kind === 'number') v.set(c.values, off);
        else v.fill(NaN, off, off + t.rows);
        off += t.rows;
      }
      return { kind: 'number', name, values: v };
    }
    const b = new StringColumnBuilder(name, rows);
    for (const t of tables) {
      const c = getColumn(t, name);
      for (let i = 0; i < t.rows; i++) {
        if (!c) { b.push(null); continue; }
        const v = cellValue(c, i);
        b.push(v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v));
      }
    }
    return b.finish();
  });
  return { source: source ?? tables[0]?.source ?? '', rows, columns: cols };
}

/** Grows a dictionary-encoded column one value at a time. */
export class StringColumnBuilder {
  private codes: Int32Array;
  private readonly dict = new Map<string, number>();
  private readonly dictionary: string[] = [];
  length = 0;
  constructor(readonly name: string, capacity = 1024) {
    this.codes = new Int32Array(Math.max(16, capacity));
  }
  push(v: string | null): void {
    if (this.length === this.codes.length) {
      const n = new Int32Array(this.codes.length * 2);
      n.set(this.codes);
      this.codes = n;
    }
    if (v === null) { this.codes[this.length++] = -1; return; }
    let c = this.dict.get(v);
    if (c === undefined) { c = this.dictionary.length; this.dict.set(v, c); this.dictionary.push(v); }
    this.codes[this.length++] = c;
  }
  finish(): StringColumn {
    return { kind: 'string', name: this.name, codes: this.codes.slice(0, this.length), dictionary: this.dictionary };
  }
}

/**
 * Grows one column of a text format, deciding its kind from the values: numeric until a non-numeric, non-missing
 * cell arrives, then text (earlier numbers are kept as their printed form). `kind` forces a type (ARFF declares it).
 */
export class ColumnBuilder {
  private nums: Float64Array | null;
  private str: StringColumnBuilder | null = null;
  length = 0;
  constructor(readonly name: string, readonly forced?: 'number' | 'string', capacity = 1024) {
    this.nums = forced === 'string' ? null : new Float64Array(Math.max(16, capacity));
    if (forced === 'string') this.str = new StringColumnBuilder(name, capacity);
  }

  get kind(): 'number' | 'string' {
    return this.str ? 'string' : 'number';
  }

  /** Adds a text cell; returns false when the column is forced numeric and the text is not a number. */
  pushText(s: string): boolean {
    if (this.str) {
      this.str.push(MISSING.has(s) ? null : s);
      this.length++;
      return true;
    }
    const v = parseNumber(s);
    if (v === undefined) {
      if (this.forced === 'number') return false;
      this.toText();
      this.str!.push(s);
      this.length++;
      return true;
    }
    this.pushNumber(v);
    return true;
  }

  pushNumber(v: number): void {
    if (this.str) {
      this.str.push(Number.isNaN(v) ? null : String(v));
      this.length++;
      return;
    }
    let a = this.nums!;
    if (this.length === a.length) {
      const n = new Float64Array(a.length * 2);
      n.set(a);
      this.nums = a = n;
    }
    a[this.length++] = v;
  }

  pushString(s: string | null): void {
    if (!this.str) {
      if (s === null) { this.pushNumber(NaN); return; }
      this.toText();
    }
    this.str!.push(s);
    this.length++;
  }

  pushMissing(): void {
    if (this.str) { this.str.push(null); this.length++; } else this.pushNumber(NaN);
  }

  private toText(): void {
    const b = new StringColumnBuilder(this.name, this.nums!.length);
    for (let i = 0; i < this.length; i++) {
      const v = this.nums![i]!;
      b.push(Number.isNaN(v) ? null : String(v));
    }
    this.str = b;
    this.nums = null;
  }

  finish(): Column {
    if (this.str) return this.str.finish();
    return { kind: 'number', name: this.name, values: this.nums!.slice(0, this.length) };
  }
}
