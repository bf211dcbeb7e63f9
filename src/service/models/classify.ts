import { numberColumn, stringColumn, type Column, type Table } from '../../dataset/table.ts';
import type { ModelRef } from '../jobs/types.ts';
import type { ServiceModel } from './types.ts';

export type FeatureRow = Record<string, number | string | boolean | null>;

export interface ClassifyRequest {
  models: ModelRef[];
  rows: FeatureRow[];
}

export interface RowPrediction {
  label: string;
  confidence: number;
  unknown: boolean;
}

/** Per model, per row (in request order). */
export type ClassifyResult = { model: string; predictions: RowPrediction[] }[];

/** Source columns a set of models needs that none of the rows carries... or that some row lacks. */
export function missingFeatureColumns(rows: readonly FeatureRow[], columns: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of columns) if (rows.some((r) => !(c in r))) out.push(c);
  return out;
}

/** Rows as a columnar table holding the named columns (numbers where every value is one, text otherwise). */
export function rowsToTable(rows: readonly FeatureRow[], columns: readonly string[]): Table {
  const cols: Column[] = columns.map((name) => {
    const vals = rows.map((r) => r[name] ?? null);
    if (vals.every((v) => v === null || typeof v === 'number' || typeof v === 'boolean')) {
      return numberColumn(name, vals.map((v) => (v === null ? NaN : Number(v))));
    }
    return stringColumn(name, vals.map((v) => (v === null ? null : String(v))));
  });
  return { source: 'request', rows: rows.length, columns: cols };
}

/** Predicts a small batch with each requested model (runs in a worker thread). */
export async function classifyRows(req: ClassifyRequest, model: (ref: ModelRef) => Promise<ServiceModel>): Promise<ClassifyResult> {
  const out: ClassifyResult = [];
  for (const ref of req.models) {
    const m = await model(ref);
    const p = m.predict(rowsToTable(req.rows, m.columns));
    out.push({
      model: m.name,
      predictions: p.labels.map((label, i) => ({ label, confidence: Math.round(p.confidence[i]! * 1e6) / 1e6, unknown: p.unknown[i] === 1 })),
    });
  }
  return out;
}
