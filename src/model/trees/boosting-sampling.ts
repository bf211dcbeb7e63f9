import { Rng, deriveSeed } from '../../core/rng.ts';
import type { BoostingParams } from './boosting.ts';

/**
 * Sampling in boosting: the stratified, seeded validation rows early stopping holds out, and the low-gradient
 * sampling policy (GOSS-like: a training cell whose gradient is already small is kept with probability `share`
 * and reweighted by 1 / share), whose per-cell draws run inside the gradient pass (boosting-objective.ts).
 */

/** Training and validation rows (sorted): a `validationShare` of each class, when early stopping is on. */
export function validationSplit(all: Int32Array, y: Int32Array, K: number, p: BoostingParams): { train: Int32Array; val: Int32Array } {
  const useVal = p.earlyStopping === 'on' || (p.earlyStopping === 'auto' && all.length >= 100_000);
  if (!useVal) return { train: all, val: new Int32Array(0) };
  const rng = new Rng(deriveSeed(p.seed, 7));
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < all.length; i++) byClass[y[all[i]!]!]!.push(all[i]!);
  const t: number[] = [];
  const v: number[] = [];
  for (const rowsOf of byClass) {
    rng.shuffle(rowsOf);
    const nv = rowsOf.length >= 2 ? Math.max(1, Math.round(rowsOf.length * p.validationShare)) : 0;
    rowsOf.forEach((r, i) => (i < nv ? v : t).push(r));
  }
  return { train: Int32Array.from(t.sort((a, b) => a - b)), val: Int32Array.from(v.sort((a, b) => a - b)) };
}

/** The low-gradient sampling policy: the share of low-gradient cells kept, and what counts as low. */
export function lowGradientSampling(p: BoostingParams, K: number): { share: number; threshold: number } {
  const share = Math.min(1, Math.max(0, p.lowGradientShare));
  const threshold = p.lowGradientThreshold === 'auto' ? (K === 2 ? 0.03 : 1e-3) : p.lowGradientThreshold;
  return { share, threshold };
}
