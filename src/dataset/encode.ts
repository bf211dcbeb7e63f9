import { getColumn, numericValues, requireColumn, columnStrings, type Column, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { asText, isDefinedText } from './definitions.ts';

/**
 * How each model input is computed from a table column. Persisted in model manifests, so a model applied to a new
 * table computes exactly the inputs it was trained on, in the same order.
 */
export type FeatureSpec =
  | { name: string; source: string; kind: 'number' }
  /** Category index in `categories` (unknown or missing: NaN). */
  | { name: string; source: string; kind: 'ordinal'; categories: string[] }
  /** 1 when the text equals `category`, else 0. */
  | { name: string; source: string; kind: 'onehot'; category: string };

export interface EncodeOptions {
  /** Encoding of text features (default one-hot). */
  textEncoding?: 'onehot' | 'ordinal';
  /** Most frequent categories kept per text column (default 32 for one-hot, 1024 for ordinal). */
  maxCategories?: number;
}

/** Derives the feature specs from the training table: text columns get their categories from it. */
export function planFeatures(t: Table, featureColumns: readonly string[], opts: EncodeOptions = {}): FeatureSpec[] {
  const specs: FeatureSpec[] = [];
  const enc = opts.textEncoding ?? 'onehot';
  for (const name of featureColumns) {
    const c0 = requireColumn(t, name, 'feature column');
    // A defined text column is encoded as text even when this table read it as numbers (all empty or digits).
    const c = c0.kind === 'number' && isDefinedText(name) ? asText(c0) : c0;
    if (c.kind === 'number') { specs.push({ name, source: name, kind: 'number' }); continue; }
    const cats = frequentCategories(c, opts.maxCategories ?? (enc === 'onehot' ? 32 : 1024));
    if (enc === 'ordinal') specs.push({ name, source: name, kind: 'ordinal', categories: cats });
    else for (const cat of cats) specs.push({ name: `${name}=${cat}`, source: name, kind: 'onehot', category: cat });
  }
  return specs;
}

function frequentCategories(c: Column, max: number): string[] {
  if (c.kind !== 'string') return [];
  const counts = new Int32Array(c.dictionary.length);
  for (let i = 0; i < c.codes.length; i++) { const k = c.codes[i]!; if (k >= 0) counts[k]!++; }
  const order = [...c.dictionary.keys()].filter((k) => counts[k]! > 0);
  order.sort((a, b) => counts[b]! - counts[a]! || (c.dictionary[a]! < c.dictionary[b]! ? -1 : 1));
  return order.slice(0, max).map((k) => c.dictionary[k]!);
}

/** Source columns the specs need that the table lacks. */
export function missingColumns(t: Table, specs: readonly FeatureSpec[]): string[] {
  const out: string[] = [];
  for (const s of specs) if (!getColumn(t, s.source) && !out.includes(s.source)) out.push(s.source);
  return out;
}

/**
 * Computes the model inputs, one Float64Array per spec (column-major). Refuses a table lacking any source column,
 * naming all the missing ones.
 */
export function encodeFeatures(
  t: Table, specs: readonly FeatureSpec[], what = 'the model', warn?: (message: string) => void,
): Float64Array[] {
  const missing = missingColumns(t, specs);
  if (missing.length) {
    throw new DatasetError(
      DatasetErrorCode.MISSING_COLUMN,
      `${t.source}: lacks ${missing.length} column(s) ${what} was trained on: ${missing.join(', ')}`,
    );
  }
  const cache = new Map<string, Float64Array>();
  const textCache = new Map<string, Int32Array>();
  return specs.map((s) => {
    const c = getColumn(t, s.source)!;
    if (s.kind === 'number') {
      let v = cache.get(s.source);
      if (!v) {
        v = numericValues(c, t.source, (n, ex) => warn?.(`${t.source}: column '${c.name}' should hold numbers, but ${n} row(s) hold text (e.g. '${ex.slice(0, 60)}'): read as missing`));
        cache.set(s.source, v);
      }
      return v;
    }
    // Map the table's dictionary to the spec's categories once, then rows by code.
    const codes = textCodes(c, textCache);
    const dict = c.kind === 'string' ? c.dictionary : [...new Set(columnStrings(c).filter((x): x is string => x !== null))];
    const out = new Float64Array(t.rows);
    if (s.kind === 'ordinal') {
      const idx = new Map(s.categories.map((x, i) => [x, i]));
      const map = Float64Array.from(dict, (d) => idx.get(d) ?? NaN);
      for (let i = 0; i < t.rows; i++) { const k = codes[i]!; out[i] = k < 0 ? NaN : map[k]!; }
    } else {
      const target = dict.indexOf(s.category);
      for (let i = 0; i < t.rows; i++) out[i] = codes[i] === target && target >= 0 ? 1 : 0;
    }
    return out;
  });
}

function textCodes(c: Column, cache: Map<string, Int32Array>): Int32Array {
  if (c.kind === 'string') return c.codes;
  let v = cache.get(c.name);
  if (v) return v;
  // A text feature read as numbers (all values numeric in this file): code by printed value.
  const strs = columnStrings(c);
  const dict = [...new Set(strs.filter((x): x is string => x !== null))];
  const idx = new Map(dict.map((x, i) => [x, i]));
  v = Int32Array.from(strs, (x) => (x === null ? -1 : idx.get(x)!));
  cache.set(c.name, v);
  return v;
}

/** Class labels: `classes` sorted, and per row the class index (-1 for a missing label). */
export interface EncodedLabels {
  classes: string[];
  y: Int32Array;
}

/**
 * Encodes a label column. With `classes` given (a model's), labels outside it are appended after them so an
 * evaluation can count rows of classes the model never saw.
 */
export function encodeLabels(c: Column, classes?: readonly string[]): EncodedLabels {
  const strs = columnStrings(c);
  let cls: string[];
  if (classes) {
    cls = [...classes];
    const known = new Set(cls);
    const extra = [...new Set(strs.filter((x): x is string => x !== null && !known.has(x)))].sort();
    cls.push(...extra);
  } else {
    cls = [...new Set(strs.filter((x): x is string => x !== null))].sort();
  }
  const idx = new Map(cls.map((x, i) => [x, i]));
  const y = Int32Array.from(strs, (x) => (x === null ? -1 : idx.get(x)!));
  return { classes: cls, y };
}
