import { IDENTITY_COLUMNS, type ColumnDef } from '../flow/columns.ts';
import { buildFamilies, DEFAULT_FEATURE_OPTIONS, familyNames } from '../flow/features/index.ts';
import { numericValues, StringColumnBuilder, type Column, type NumberColumn, type StringColumn, type Table } from './table.ts';

/**
 * The column definitions of Veil's own flow tables (identity columns, every feature family, the verdict columns),
 * looked up by name, so a table read back from CSV, JSONL or Parquet gets each column's type and role from its
 * definition rather than from its values: a text column empty in every row (`tls_ja4_retry`) or holding only
 * digits (`tls_cipher` 4865) is still text. Columns of other tools' tables have no definition and are guessed.
 */
let byName: Map<string, ColumnDef> | null = null;

/** Verdict columns (dataset/verdict.ts) are declared here too, so this module does not import the names layer. */
const VERDICT_TEXT = ['app', 'app_source', 'category', 'category_source'];

function definitions(): Map<string, ColumnDef> {
  if (byName) return byName;
  byName = new Map();
  for (const c of IDENTITY_COLUMNS) byName.set(c.name, c);
  for (const f of buildFamilies(familyNames(), DEFAULT_FEATURE_OPTIONS)) for (const c of f.columns) byName.set(c.name, c);
  for (const n of VERDICT_TEXT) {
    byName.set(n, { name: n, role: 'metadata', type: 'string', unit: '', direction: 'none', description: 'verdict', ...(n === 'app' ? { leaky: true } : {}) });
  }
  return byName;
}

/** Early-packet sequence columns exist for any --sequence-length: `seq_len_40` is defined like `seq_len_1`. */
const SEQUENCE = /^(seq_(?:len|dir|gap))_(\d+)(_us)?$/;

/** The definition of a Veil column by name, or undefined for a column Veil does not write. */
export function columnDefinition(name: string): ColumnDef | undefined {
  const d = definitions().get(name);
  if (d) return d;
  const m = SEQUENCE.exec(name);
  return m ? definitions().get(`${m[1]}_1${m[3] ?? ''}`) : undefined;
}

/** Whether the definition says text (the column is never read as numbers, whatever its values look like). */
export function isDefinedText(name: string): boolean {
  return columnDefinition(name)?.type === 'string';
}

/** Names of every defined text column (for readers that fix a column's kind at its header). */
export function definedTextColumns(): string[] {
  return [...definitions().values()].filter((c) => c.type === 'string').map((c) => c.name);
}

/** A number column as text, each value printed (NaN: missing). */
export function asText(c: NumberColumn): StringColumn {
  const b = new StringColumnBuilder(c.name, c.values.length);
  for (let i = 0; i < c.values.length; i++) { const v = c.values[i]!; b.push(Number.isNaN(v) ? null : String(v)); }
  return b.finish();
}

/** What conforming a table changed: values of defined numeric columns that were not numbers, per column. */
export interface OddValues {
  column: string;
  count: number;
  example: string;
}

/**
 * Gives each defined column of `t` the kind its definition says: a text column read as numbers (all empty, or
 * all digits) becomes text again; a numeric column holding text is parsed, and a value that is not a number is
 * read as missing and reported in `odd` (one odd value costs that cell, never the run). Columns in `keep` (the
 * label, asked to stay text) and undefined columns are left as they are.
 */
export function conformToDefinitions(t: Table, keep: ReadonlySet<string> = new Set(), odd?: (o: OddValues) => void): Table {
  let changed = false;
  const cols = t.columns.map((c): Column => {
    if (keep.has(c.name)) return c;
    const d = columnDefinition(c.name);
    if (!d) return c;
    if (d.type === 'string' && c.kind === 'number') { changed = true; return asText(c); }
    if (d.type !== 'string' && c.kind === 'string') {
      changed = true;
      // Booleans may be spelt true/false by other writers; everything else parses as a table cell does.
      const bools = d.type === 'bool' ? c.dictionary.map((s) => (s === 'true' ? '1' : s === 'false' ? '0' : s)) : c.dictionary;
      const values = numericValues({ ...c, dictionary: bools }, t.source, (count, example) => odd?.({ column: c.name, count, example }));
      return { kind: 'number', name: c.name, values };
    }
    return c;
  });
  return changed ? { source: t.source, rows: t.rows, columns: cols } : t;
}
