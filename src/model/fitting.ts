import { shared } from './trees/pool.ts';
import { accumulate, accumulateColumns, toRowMajor, type TreeEnsemble } from './trees/ensemble.ts';
import { ModelError, ModelErrorCode } from './errors.ts';

/**
 * What the tree learners share (learners.ts: the forest and the registry; trees/boosting-*.ts: boosting): fit
 * options, the fitted ensemble, input checks, class weights, flattened bin edges, and probabilities from an
 * ensemble's sums.
 */

/** How raw ensemble sums become probabilities: forest leaves already hold averaged shares; boosting sums are logits. */
export type OutputKind = 'sum' | 'softmax';

export interface FitOptions {
  threads?: number;
  maxBins?: number;
  /** Also return held-out probabilities (forest: out-of-bag; boosting: its validation rows) for calibration. */
  heldOut?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface Fitted {
  ensemble: TreeEnsemble;
  output: OutputKind;
  /** Impurity-based importance per feature, sums to 1 (forest: Gini decrease; boosting: loss reduction, 'total gain'). */
  importance: Float64Array;
  /** Probabilities of rows the model did not train on: `rows` (input indices) x classes. */
  heldOut?: { rows: Int32Array; proba: Float64Array; what: string };
  /** Boosting: rounds kept (after early stopping). */
  rounds?: number;
}

export function checkInput(columns: readonly Float64Array[], y: Int32Array, nClasses: number, rows: Int32Array): void {
  if (!columns.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no feature columns');
  if (!rows.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no training rows');
  if (nClasses < 2) throw new ModelError(ModelErrorCode.BAD_TRAINING, `need at least 2 classes to learn from (have ${nClasses})`);
  for (const c of columns) if (c.length !== y.length) throw new Error('feature columns and labels differ in length');
}

export function labelledRows(y: Int32Array): Int32Array {
  let m = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) m++;
  const out = new Int32Array(m);
  for (let i = 0, j = 0; i < y.length; i++) if (y[i]! >= 0) out[j++] = i;
  return out;
}

export function classWeights(kind: 'balanced' | 'none', y: Int32Array, rows: Int32Array, K: number): Float64Array {
  const w = new Float64Array(K).fill(1);
  if (kind !== 'balanced') return w;
  const counts = new Float64Array(K);
  for (let i = 0; i < rows.length; i++) counts[y[rows[i]!]!]!++;
  let present = 0;
  for (let c = 0; c < K; c++) if (counts[c]! > 0) present++;
  for (let c = 0; c < K; c++) w[c] = counts[c]! > 0 ? rows.length / (present * counts[c]!) : 1;
  return w;
}

export function flatEdges(edges: Float64Array[]): { edges: Float64Array; edgeStart: Int32Array } {
  const edgeStart = new Int32Array(edges.length + 1);
  for (let f = 0; f < edges.length; f++) edgeStart[f + 1] = edgeStart[f]! + edges[f]!.length;
  const flat = new Float64Array(edgeStart[edges.length]!);
  edges.forEach((e, f) => flat.set(e, edgeStart[f]!));
  return { edges: shared(flat), edgeStart: shared(edgeStart) };
}

export function normalise(a: Float64Array): void {
  let s = 0;
  for (const v of a) s += v;
  if (s > 0) for (let i = 0; i < a.length; i++) a[i]! /= s;
}

const PREDICT_BLOCK = 4096;

/**
 * Class probabilities (rows x classes, row-major) for the given rows of the feature columns (default all).
 * Works block by block through a reused row-major buffer: no allocation per row.
 */
export function predictProba(e: TreeEnsemble, output: OutputKind, columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
  const K = e.nClasses;
  const F = e.nFeatures;
  if (columns.length !== F) throw new Error(`model expects ${F} features, got ${columns.length}`);
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const out = new Float64Array(n * K);
  // Complete-tree ensembles (boosting) bin straight from the columns; others walk row-major blocks.
  const direct = accumulateColumns(e, columns, rows ?? null, n, out);
  const x = new Float64Array(direct ? 0 : PREDICT_BLOCK * F);
  for (let r0 = 0; r0 < (direct ? 0 : n); r0 += PREDICT_BLOCK) {
    const r1 = Math.min(n, r0 + PREDICT_BLOCK);
    if (rows) {
      for (let i = r0; i < r1; i++) { const r = rows[i]!; const b = (i - r0) * F; for (let f = 0; f < F; f++) x[b + f] = columns[f]![r]!; }
    } else {
      toRowMajor(columns, r0, r1, x);
    }
    accumulate(e, x, r1 - r0, out.subarray(r0 * K, r1 * K));
  }
  if (output === 'softmax') {
    for (let i = 0; i < n; i++) {
      const o = i * K;
      let mx = -Infinity;
      for (let c = 0; c < K; c++) if (out[o + c]! > mx) mx = out[o + c]!;
      let s = 0;
      for (let c = 0; c < K; c++) { const v = Math.exp(out[o + c]! - mx); out[o + c] = v; s += v; }
      for (let c = 0; c < K; c++) out[o + c]! /= s;
    }
  }
  return out;
}
