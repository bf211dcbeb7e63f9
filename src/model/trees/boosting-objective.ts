import type { Rng } from '../../core/rng.ts';

/**
 * The boosting objective: the multinomial log-loss (binary: logistic) as gradients and hessians per training cell,
 * its initial scores (log class priors) and the validation loss early stopping watches. The low-gradient sampling
 * of boosting-sampling.ts is applied inside the gradient pass (one pass over the cells), its draws from the stream
 * that file seeds.
 */

/** Initial scores: log class priors of the weighted training rows (binary: the log-odds of class 1, class 0 at 0). */
export function initialScores(yl: Int32Array, w: Float64Array, mt: number, K: number): Float64Array {
  const prior = new Float64Array(K);
  let wsum = 0;
  for (let i = 0; i < mt; i++) { prior[yl[i]!]! += w[i]!; wsum += w[i]!; }
  const base = new Float64Array(K);
  const eps = 1e-12;
  if (K === 2) base[1] = Math.log((prior[1]! + eps) / (prior[0]! + eps));
  else for (let c = 0; c < K; c++) base[c] = Math.log((prior[c]! + eps) / wsum);
  return base;
}

/** Mean log-loss of the validation rows mt..m-1 under the current scores. */
export function validationLoss(raw: Float64Array, m: number, mt: number, K: number, yl: Int32Array, prob: Float64Array): number {
  let loss = 0;
  for (let i = mt; i < m; i++) {
    softmaxAt(raw, m, i, K, prob);
    loss -= Math.log(Math.max(prob[yl[i]!]!, 1e-15));
  }
  return loss / (m - mt);
}

/**
 * Gradients and hessians of the multinomial log-loss for every training row (rows 0..mt-1) and every class that
 * grows a tree (binary: class 1 only, its probability a logistic of the score difference), with the low-gradient
 * sampling of {@link BoostingParams.lowGradientShare}.
 */
export function gradients(
  raw: Float64Array, m: number, mt: number, K: number, yl: Int32Array, w: Float64Array, share: number, th: number,
  rng: Rng, use: Uint8Array, grad: Float32Array, hess: Float32Array, scratch: Float64Array,
): void {
  // A cell (row, class) with |p - y| < th is already fitted: kept with probability `share`, reweighted by
  // 1 / share. The draws come from a xorshift32 stream in a local, seeded by the round's generator: much cheaper
  // per draw than the generator object, and with many classes most cells draw.
  let state = rng.u32() | 1;
  const sampled = share < 1;
  const keep = Math.floor(share * 4294967296);
  const inv = 1 / share;
  const boost = sampled && share > 0 ? inv - 1 : 0;
  if (K === 2) {
    for (let i = 0; i < mt; i++) {
      const pc = 1 / (1 + expApprox(raw[i]! - raw[m + i]!));
      const r = yl[i] === 1 ? pc - 1 : pc;
      // Without branches on the data (about half the rows are low-gradient, in no order): a draw for every row.
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
      const low = sampled ? +(Math.abs(r) < th) : 0;
      const kept = +(state >>> 0 < keep);
      const o = m + i;
      use[o] = 1 - low + low * kept;
      const scale = w[i]! * (1 + low * kept * boost);
      grad[o] = scale * r;
      const hv = scale * pc * (1 - pc);
      hess[o] = hv > 1e-16 ? hv : 1e-16;
    }
    return;
  }
  // Multi-class: rows in blocks, each class's scores read in memory order (raw is class-major).
  const B = GRADIENT_BLOCK;
  const mx = scratch.subarray(0, B);
  const sum = scratch.subarray(B, 2 * B);
  const e = scratch.subarray(2 * B);
  for (let i0 = 0; i0 < mt; i0 += B) {
    const nb = Math.min(B, mt - i0);
    mx.fill(-Infinity);
    sum.fill(0);
    for (let c = 0; c < K; c++) {
      const o = c * m + i0;
      for (let j = 0; j < nb; j++) { const v = raw[o + j]!; if (v > mx[j]!) mx[j] = v; }
    }
    for (let c = 0; c < K; c++) {
      const o = c * m + i0;
      const eo = c * B;
      for (let j = 0; j < nb; j++) { const v = expApprox(raw[o + j]! - mx[j]!); e[eo + j] = v; sum[j]! += v; }
    }
    for (let j = 0; j < nb; j++) sum[j] = 1 / sum[j]!;
    for (let c = 0; c < K; c++) {
      const o = c * m + i0;
      const eo = c * B;
      for (let j = 0; j < nb; j++) {
        const pc = e[eo + j]! * sum[j]!;
        const r = yl[i0 + j] === c ? pc - 1 : pc;
        let scale = w[i0 + j]!;
        if (sampled && r < th && r > -th) {
          state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
          // Left out: its gradient is never read (the grower takes only rows in use), so it is not written.
          if (state >>> 0 >= keep) { use[o + j] = 0; continue; }
          scale *= inv;
        }
        use[o + j] = 1;
        grad[o + j] = scale * r;
        const hv = scale * pc * (1 - pc);
        hess[o + j] = hv > 1e-16 ? hv : 1e-16;
      }
    }
  }
}

const GRADIENT_BLOCK = 256;

/** 2^k for k in [-1024, 1024], at POW2[k + 1024]. */
const POW2 = Float64Array.from({ length: 2049 }, (_, i) => Math.pow(2, i - 1024));
const ROUND = 6755399441055744.0; // 1.5 * 2^52: adding and subtracting it rounds a double to an integer

/**
 * e^x for the loss gradients, clamped to [e^-700, e^700]: 2^k times a degree-10 polynomial of the remainder
 * (Estrin's scheme; relative error below 3e-13), about a third cheaper than Math.exp. Gradients are then stored
 * in single precision, so the error never shows.
 */
function expApprox(x: number): number {
  const xc = x < -700 ? -700 : x > 700 ? 700 : x;
  const k = (xc * Math.LOG2E + ROUND) - ROUND;
  const r = (xc - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  const r2 = r * r, r4 = r2 * r2;
  const p = (1 + r + r2 * (0.5 + r * (1 / 6)))
    + r4 * ((1 / 24 + r * (1 / 120)) + r2 * (1 / 720 + r * (1 / 5040)))
    + r4 * r4 * ((1 / 40320 + r * (1 / 362880)) + r2 * (1 / 3628800));
  return p * POW2[(k | 0) + 1024]!;
}

/** Scratch length {@link gradients} needs for K classes. */
export function gradientScratch(K: number): number {
  return GRADIENT_BLOCK * (K + 2);
}

export function softmaxAt(raw: Float64Array, m: number, i: number, K: number, out: Float64Array): void {
  let mx = -Infinity;
  for (let c = 0; c < K; c++) { const v = raw[c * m + i]!; if (v > mx) mx = v; }
  let s = 0;
  for (let c = 0; c < K; c++) { const e = Math.exp(raw[c * m + i]! - mx); out[c] = e; s += e; }
  for (let c = 0; c < K; c++) out[c]! /= s;
}

