import { numberColumn, stringColumn, type Column, type Table } from '../../dataset/table.ts';
import { ServiceError } from '../errors.ts';
import type { ModelRef } from '../jobs/types.ts';
import type { ServiceModel } from './types.ts';

export type FeatureRow = Record<string, number | string | boolean | null>;

/** What the worker thread needs to resolve a request: the loaded models (name, pinned ref, columns), defaults. */
export interface ClassifyCatalog {
  models: Record<string, { ref: ModelRef; columns: string[] }>;
  defaults: string[];
  maxRows: number;
}

/** A POST /classify request: the body as sent (parsed in the worker thread, not on the API thread). */
export interface ClassifyRequest {
  body: string;
  catalog: ClassifyCatalog;
}

export interface RowPrediction {
  label: string;
  confidence: number;
  unknown: boolean;
  unknownReason?: string;
}

export interface ClassifyResult {
  rows: number;
  results: { model: string; predictions: RowPrediction[] }[];
}

/** Columns that some row lacks. */
export function missingFeatureColumns(rows: readonly FeatureRow[], columns: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of columns) if (rows.some((r) => !Object.hasOwn(r, c))) out.push(c);
  return out;
}

/** The named columns of the rows as a table (numbers where every value is one, text otherwise). */
export function rowsToTable(rows: readonly FeatureRow[], columns: readonly string[]): Table {
  const n = rows.length;
  const cols: Column[] = new Array(columns.length);
  for (let j = 0; j < columns.length; j++) {
    const name = columns[j]!;
    const values = new Float64Array(n);
    let text = false;
    for (let i = 0; i < n; i++) {
      const v = rows[i]![name];
      if (typeof v === 'number') values[i] = v;
      else if (v === null || v === undefined) values[i] = NaN;
      else if (typeof v === 'boolean') values[i] = v ? 1 : 0;
      else { text = true; break; }
    }
    cols[j] = text
      ? stringColumn(name, rows.map((r) => { const v = r[name]; return v === null || v === undefined ? null : String(v); }))
      : numberColumn(name, values);
  }
  return { source: 'request', rows: n, columns: cols };
}

/** Parses and checks a request body: `{ models?: string[], rows: [{ column: number|string|boolean|null }] }`. */
export function parseClassifyBody(body: string, catalog: ClassifyCatalog): { refs: ModelRef[]; columns: string[]; rows: FeatureRow[] } {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch (e) {
    throw new ServiceError('BAD_REQUEST', `body is not JSON: ${(e as Error).message}`);
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new ServiceError('BAD_REQUEST', 'body must be an object { models?, rows }');
  const { models, rows } = req as { models?: unknown; rows?: unknown };
  if (!Array.isArray(rows) || rows.length === 0) throw new ServiceError('BAD_REQUEST', 'body/rows must be a non-empty array of rows');
  if (rows.length > catalog.maxRows) {
    throw new ServiceError('BATCH_TOO_LARGE', `${rows.length} rows; POST /classify takes at most ${catalog.maxRows}, send more as a job`);
  }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new ServiceError('BAD_REQUEST', `body/rows/${i} must be an object of column: value`);
    for (const k in r) {
      const v = r[k];
      if (v !== null && typeof v === 'object') throw new ServiceError('BAD_REQUEST', `body/rows/${i}/${k} must be a number, string, boolean or null`);
    }
  }
  if (models !== undefined && (!Array.isArray(models) || !models.every((m) => typeof m === 'string'))) {
    throw new ServiceError('BAD_REQUEST', 'body/models must be an array of model names');
  }
  const names = [...new Set((models as string[] | undefined) ?? catalog.defaults)];
  const unknown = names.filter((n) => !Object.hasOwn(catalog.models, n));
  if (unknown.length) {
    throw new ServiceError('UNKNOWN_MODEL', `unknown model(s): ${unknown.join(', ')}; loaded: ${Object.keys(catalog.models).join(', ') || 'none'}`);
  }
  if (names.length === 0) throw new ServiceError('NO_MODEL', 'no model is loaded; upload one with POST /api/v1/models');
  const columns = [...new Set(names.flatMap((n) => catalog.models[n]!.columns))];
  const missing = missingFeatureColumns(rows as FeatureRow[], columns);
  if (missing.length) {
    throw new ServiceError('MISSING_COLUMNS', `rows lack ${missing.length} column(s) the model(s) need: ${missing.slice(0, 50).join(', ')}${missing.length > 50 ? ', ...' : ''}`);
  }
  return { refs: names.map((n) => catalog.models[n]!.ref), columns, rows: rows as FeatureRow[] };
}

/** Parses, checks and predicts a small batch with each requested model (runs in a worker thread). */
export async function classifyRows(req: ClassifyRequest, model: (ref: ModelRef) => Promise<ServiceModel>): Promise<ClassifyResult> {
  const { refs, columns, rows } = parseClassifyBody(req.body, req.catalog);
  const table = rowsToTable(rows, columns);
  const results: ClassifyResult['results'] = [];
  for (const ref of refs) {
    const m = await model(ref);
    const p = m.predict(table);
    results.push({
      model: m.name,
      predictions: p.labels.map((label, i) => ({
        label, confidence: Math.round(p.confidence[i]! * 1e6) / 1e6, unknown: p.unknown[i] === 1,
        ...(p.unknown[i] === 1 && p.unknownReason[i] ? { unknownReason: p.unknownReason[i]! } : {}),
      })),
    });
  }
  return { rows: rows.length, results };
}
