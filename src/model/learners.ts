import { Rng, deriveSeed } from '../core/rng.ts';
import { binColumns, fitBinEdges, toRowMajorBins, MAX_BINS } from './binning.ts';
import { accumulate, accumulateColumns, joinTrees, prepareInference, toRowMajor, type FlatTree, type TreeEnsemble } from './trees/ensemble.ts';
import { bootstrapCounts, FOREST_DEFAULTS, type ForestData, type ForestParams, type GrownForestTree } from './trees/forest.ts';
import { BOOSTING_DEFAULTS, histogramSlots, type BoostData, type BoostingParams } from './trees/boosting.ts';
import { runTasks, shared, sharedZeros } from './trees/pool.ts';
import type { TreeTask } from './trees/tasks.ts';
import { ModelError, ModelErrorCode } from './errors.ts';

/**
 * Fitting and applying tree ensembles on numeric feature columns (one Float64Array per feature, NaN = missing) and
 * class indices. Table handling, labels and calibration live in classifier.ts; this is the numeric core.
 */
export type LearnerSpec =
  | { type: 'forest'; params: ForestParams }
  | { type: 'boosting'; params: BoostingParams };

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

export function forestParams(p: Partial<ForestParams> = {}): ForestParams {
  return { ...FOREST_DEFAULTS, ...p };
}
export function boostingParams(p: Partial<BoostingParams> = {}): BoostingParams {
  return { ...BOOSTING_DEFAULTS, ...p };
}

function checkInput(columns: readonly Float64Array[], y: Int32Array, nClasses: number, rows: Int32Array): void {
  if (!columns.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no feature columns');
  if (!rows.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no training rows');
  if (nClasses < 2) throw new ModelError(ModelErrorCode.BAD_TRAINING, `need at least 2 classes to learn from (have ${nClasses})`);
  for (const c of columns) if (c.length !== y.length) throw new Error('feature columns and labels differ in length');
}

function labelledRows(y: Int32Array): Int32Array {
  let m = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) m++;
  const out = new Int32Array(m);
  for (let i = 0, j = 0; i < y.length; i++) if (y[i]! >= 0) out[j++] = i;
  return out;
}

function classWeights(kind: 'balanced' | 'none', y: Int32Array, rows: Int32Array, K: number): Float64Array {
  const w = new Float64Array(K).fill(1);
  if (kind !== 'balanced') return w;
  const counts = new Float64Array(K);
  for (let i = 0; i < rows.length; i++) counts[y[rows[i]!]!]!++;
  let present = 0;
  for (let c = 0; c < K; c++) if (counts[c]! > 0) present++;
  for (let c = 0; c < K; c++) w[c] = counts[c]! > 0 ? rows.length / (present * counts[c]!) : 1;
  return w;
}

function flatEdges(edges: Float64Array[]): { edges: Float64Array; edgeStart: Int32Array } {
  const edgeStart = new Int32Array(edges.length + 1);
  for (let f = 0; f < edges.length; f++) edgeStart[f + 1] = edgeStart[f]! + edges[f]!.length;
  const flat = new Float64Array(edgeStart[edges.length]!);
  edges.forEach((e, f) => flat.set(e, edgeStart[f]!));
  return { edges: shared(flat), edgeStart: shared(edgeStart) };
}

/**
 * Fits a forest or a boosted ensemble on `rows` (default: every row with a label >= 0).
 *
 * @example
 * const fitted = await fitEnsemble(cols, y, 3, { type: 'forest', params: forestParams({ trees: 50 }) });
 * const proba = predictProba(fitted.ensemble, fitted.output, cols);
 */
export async function fitEnsemble(
  columns: readonly Float64Array[], y: Int32Array, nClasses: number, spec: LearnerSpec, opts: FitOptions = {}, rows?: Int32Array,
): Promise<Fitted> {
  const train = rows ?? labelledRows(y);
  checkInput(columns, y, nClasses, train);
  const fitted = spec.type === 'forest'
    ? await fitForest(columns, y, nClasses, spec.params, opts, train)
    : await fitBoosting(columns, y, nClasses, spec.params, opts, train);
  prepareInference(fitted.ensemble);
  return fitted;
}

async function fitForest(
  columns: readonly Float64Array[], y: Int32Array, K: number, p: ForestParams, opts: FitOptions, train: Int32Array,
): Promise<Fitted> {
  const F = columns.length;
  const m = train.length;
  const edges = fitBinEdges(columns, train, opts.maxBins ?? MAX_BINS);
  const X = binColumns(columns, edges, train);
  const yl = sharedZeros(Int32Array, 4, m);
  for (let i = 0; i < m; i++) yl[i] = y[train[i]!]!;
  const local = sharedZeros(Int32Array, 4, m);
  for (let i = 0; i < m; i++) local[i] = i;
  const data: ForestData = {
    X, n: m, F, K, y: yl, rows: local,
    classWeight: shared(classWeights(p.classWeight, yl, local, K)),
    ...flatEdges(edges),
  };
  const threads = Math.max(1, opts.threads ?? 1);
  const nTrees = Math.max(1, p.trees);
  // Several trees per task amortise messaging; enough tasks to balance the threads.
  const per = threads > 1 ? Math.max(1, Math.floor(nTrees / (threads * 8))) : nTrees;
  const tasks: TreeTask[] = [];
  for (let t = 0; t < nTrees; t += per) {
    const ids: number[] = [];
    for (let j = t; j < Math.min(nTrees, t + per); j++) ids.push(j);
    tasks.push({ kind: 'forest', data, params: p, trees: ids });
  }
  let done = 0;
  const results: GrownForestTree[][] = [];
  if (threads <= 1) {
    // In-thread: one task per tree so progress moves.
    for (let t = 0; t < nTrees; t++) {
      results.push(await runTasks<GrownForestTree[]>([{ kind: 'forest', data, params: p, trees: [t] }], 1).then((r) => r[0]!));
      opts.onProgress?.(++done, nTrees);
    }
  } else {
    const parts = await Promise.all(
      tasks.map((task) => runTasks<GrownForestTree[]>([task], threads).then((r) => {
        done += (task as { trees: number[] }).trees.length;
        opts.onProgress?.(done, nTrees);
        return r[0]!;
      })),
    );
    results.push(...parts);
  }
  const grown = results.flat();
  // Leaves store class shares divided by the tree count, so summing over trees gives the forest's mean.
  for (const g of grown) for (let j = 0; j < g.tree.leafValue.length; j++) g.tree.leafValue[j]! /= nTrees;
  const ensemble = joinTrees(grown.map((g) => g.tree), F, K);
  const importance = new Float64Array(F);
  for (const g of grown) for (let f = 0; f < F; f++) importance[f]! += g.importance[f]!;
  normalise(importance);
  const fitted: Fitted = { ensemble, output: 'sum', importance };
  if (opts.heldOut && p.bootstrap) fitted.heldOut = outOfBag(ensemble, grown, columns, train, p, K);
  return fitted;
}

function normalise(a: Float64Array): void {
  let s = 0;
  for (const v of a) s += v;
  if (s > 0) for (let i = 0; i < a.length; i++) a[i]! /= s;
}

/** Out-of-bag probabilities: each training row scored by the trees whose bootstrap left it out. */
function outOfBag(
  e: TreeEnsemble, grown: GrownForestTree[], columns: readonly Float64Array[], train: Int32Array, p: ForestParams, K: number,
): { rows: Int32Array; proba: Float64Array; what: string } {
  const m = train.length;
  const F = columns.length;
  const sums = new Float64Array(m * K);
  const votes = new Int32Array(m);
  const x = new Float64Array(F);
  const one = joinTrees([grown[0]!.tree], F, K);
  for (let t = 0; t < grown.length; t++) {
    const counts = bootstrapCounts(m, p, t)!;
    const tree = t === 0 ? one : joinTrees([grown[t]!.tree], F, K);
    for (let i = 0; i < m; i++) {
      if (counts[i]! > 0) continue;
      const r = train[i]!;
      for (let f = 0; f < F; f++) x[f] = columns[f]![r]!;
      accumulate(tree, x, 1, sums.subarray(i * K, i * K + K));
      votes[i]!++;
    }
  }
  let n = 0;
  for (let i = 0; i < m; i++) if (votes[i]! > 0) n++;
  const rows = new Int32Array(n);
  const proba = new Float64Array(n * K);
  for (let i = 0, j = 0; i < m; i++) {
    if (!votes[i]) continue;
    rows[j] = train[i]!;
    let s = 0;
    for (let c = 0; c < K; c++) s += sums[i * K + c]!;
    for (let c = 0; c < K; c++) proba[j * K + c] = s > 0 ? sums[i * K + c]! / s : 1 / K;
    j++;
  }
  return { rows, proba, what: `out-of-bag rows of the training data (${n} rows)` };
}

async function fitBoosting(
  columns: readonly Float64Array[], y: Int32Array, K: number, p: BoostingParams, opts: FitOptions, all: Int32Array,
): Promise<Fitted> {
  const F = columns.length;
  // Validation share for early stopping, stratified and seeded.
  const useVal = p.earlyStopping === 'on' || (p.earlyStopping === 'auto' && all.length >= 100_000);
  let train = all;
  let val = new Int32Array(0);
  if (useVal) {
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
    train = Int32Array.from(t.sort((a, b) => a - b));
    val = Int32Array.from(v.sort((a, b) => a - b));
  }
  // Local row space: training rows first, then validation rows.
  const mt = train.length;
  const mv = val.length;
  const m = mt + mv;
  const need = new Int32Array(m);
  need.set(train);
  need.set(val, mt);
  // The compact histogram addresses slots in 16 bits: with very many features, fewer bins per feature.
  const maxBins = Math.min(opts.maxBins ?? MAX_BINS, Math.max(2, Math.floor(0xffff / F) - 1));
  const edges = fitBinEdges(columns, train, maxBins);
  // Bins once, column-major (partitioning reads one feature's column), and a row-major copy (histograms and
  // routing read a row's cells together).
  const Xc = binColumns(columns, edges, need);
  const X = toRowMajorBins(Xc, m, F);
  const fe = flatEdges(edges);
  const hs = histogramSlots(X, m, F, fe.edgeStart);
  if (!hs) throw new Error('histogram slots overflow');
  const yl = new Int32Array(m);
  for (let i = 0; i < m; i++) yl[i] = y[need[i]!]!;
  const localTrain = new Int32Array(mt);
  for (let i = 0; i < mt; i++) localTrain[i] = i;
  const localVal = new Int32Array(mv);
  for (let i = 0; i < mv; i++) localVal[i] = mt + i;
  const cw = classWeights(p.classWeight, yl, localTrain, K);
  const w = new Float64Array(mt);
  for (let i = 0; i < mt; i++) w[i] = cw[yl[i]!]!;

  // Initial scores: log class priors (binary: the log-odds of class 1, class 0 fixed at 0).
  const prior = new Float64Array(K);
  let wsum = 0;
  for (let i = 0; i < mt; i++) { prior[yl[i]!]! += w[i]!; wsum += w[i]!; }
  const base = new Float64Array(K);
  const eps = 1e-12;
  if (K === 2) base[1] = Math.log((prior[1]! + eps) / (prior[0]! + eps));
  else for (let c = 0; c < K; c++) base[c] = Math.log((prior[c]! + eps) / wsum);
  const treeClasses = K === 2 ? [1] : [...Array(K).keys()];

  const data: BoostData = {
    X, Xc, n: m, F, ...fe, ...hs,
    rows: shared(localTrain), valRows: shared(localVal),
    grad: sharedZeros(Float32Array, 4, K * m), hess: sharedZeros(Float32Array, 4, K * m), raw: sharedZeros(Float64Array, 8, K * m),
    use: sharedZeros(Uint8Array, 1, K * m),
    classes: K,
  };
  const share = Math.min(1, Math.max(0, p.lowGradientShare));
  const threshold = p.lowGradientThreshold === 'auto' ? (K === 2 ? 0.03 : 1e-3) : p.lowGradientThreshold;
  for (let c = 0; c < K; c++) data.raw.fill(base[c]!, c * m, (c + 1) * m);

  const threads = Math.max(1, opts.threads ?? 1);
  const trees: FlatTree[] = [];
  const gainImportance = new Float64Array(F);
  const prob = new Float64Array(K);
  const gradScratch = new Float64Array(gradientScratch(K));
  let best = Infinity;
  let bestRound = -1;
  let rounds = 0;
  for (let it = 0; it < p.maxIter; it++) {
    const { grad, hess, raw, use } = data;
    const rng = new Rng(deriveSeed(p.seed, it, 3));
    gradients(raw, m, mt, K, yl, w, share, threshold, rng, use, grad, hess, gradScratch);
    const tasks: TreeTask[] = treeClasses.map((k) => ({ kind: 'boost', data, params: p, k }));
    const grown = await runTasks<FlatTree>(tasks, Math.min(threads, tasks.length));
    trees.push(...grown);
    rounds = it + 1;
    opts.onProgress?.(rounds, p.maxIter);
    if (mv > 0) {
      let loss = 0;
      for (let i = mt; i < m; i++) {
        softmaxAt(raw, m, i, K, prob);
        loss -= Math.log(Math.max(prob[yl[i]!]!, 1e-15));
      }
      loss /= mv;
      if (loss < best - 1e-7) { best = loss; bestRound = it; }
      else if (it - bestRound >= p.patience) break;
    }
  }
  const keep = mv > 0 ? bestRound + 1 : rounds;
  const bias: FlatTree = {
    feature: Int32Array.of(-K), threshold: new Float64Array(1), left: new Int32Array(1), missingLeft: new Uint8Array(1),
    leafClass: Int32Array.from({ length: K }, (_, c) => c), leafValue: Float64Array.from(base),
  };
  const kept = trees.slice(0, keep * treeClasses.length);
  const ensemble = joinTrees([bias, ...kept], F, K);
  // Importance from the kept rounds only.
  gainImportance.fill(0);
  for (const t of kept) if (t.featureGain) for (let f = 0; f < F; f++) gainImportance[f]! += t.featureGain[f]!;
  normalise(gainImportance);
  const fitted: Fitted = { ensemble, output: 'softmax', importance: gainImportance, rounds: keep };
  if (opts.heldOut && mv > 0) {
    fitted.heldOut = { rows: val, proba: predictProba(ensemble, 'softmax', columns, val), what: `early-stopping validation rows (${mv})` };
  }
  return fitted;
}


/**
 * Gradients and hessians of the multinomial log-loss for every training row (rows 0..mt-1) and every class that
 * grows a tree (binary: class 1 only, its probability a logistic of the score difference), with the low-gradient
 * sampling of {@link BoostingParams.lowGradientShare}.
 */
function gradients(
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
function gradientScratch(K: number): number {
  return GRADIENT_BLOCK * (K + 2);
}

function softmaxAt(raw: Float64Array, m: number, i: number, K: number, out: Float64Array): void {
  let mx = -Infinity;
  for (let c = 0; c < K; c++) { const v = raw[c * m + i]!; if (v > mx) mx = v; }
  let s = 0;
  for (let c = 0; c < K; c++) { const e = Math.exp(raw[c * m + i]! - mx); out[c] = e; s += e; }
  for (let c = 0; c < K; c++) out[c]! /= s;
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
