import { Rng, deriveSeed } from '../../core/rng.ts';
import { binColumns, fitBinEdges, toRowMajorBins, MAX_BINS } from '../binning.ts';
import { classWeights, flatEdges, normalise, predictProba, type FitOptions, type Fitted } from '../fitting.ts';
import { joinTrees, type FlatTree } from './ensemble.ts';
import { histogramSlots, type BoostData, type BoostingParams } from './boosting.ts';
import { gradients, gradientScratch, initialScores, validationLoss } from './boosting-objective.ts';
import { lowGradientSampling, validationSplit } from './boosting-sampling.ts';
import { runTasks, shared, sharedZeros } from './pool.ts';
import type { TreeTask } from './tasks.ts';

/**
 * The boosting driver: bins the rows once, then round after round computes the objective's gradients
 * (boosting-objective.ts, with the sampling of boosting-sampling.ts), grows one tree per class in the worker pool
 * (boosting.ts), and stops early on the validation loss. Returns the kept rounds as one ensemble.
 */
export async function fitBoosting(
  columns: readonly Float64Array[], y: Int32Array, K: number, p: BoostingParams, opts: FitOptions, all: Int32Array,
): Promise<Fitted> {
  const F = columns.length;
  const { train, val } = validationSplit(all, y, K, p);
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

  const base = initialScores(yl, w, mt, K);
  const treeClasses = K === 2 ? [1] : [...Array(K).keys()];

  const data: BoostData = {
    X, Xc, n: m, F, ...fe, ...hs,
    rows: shared(localTrain), valRows: shared(localVal),
    grad: sharedZeros(Float32Array, 4, K * m), hess: sharedZeros(Float32Array, 4, K * m), raw: sharedZeros(Float64Array, 8, K * m),
    use: sharedZeros(Uint8Array, 1, K * m),
    classes: K,
  };
  const { share, threshold } = lowGradientSampling(p, K);
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
      const loss = validationLoss(raw, m, mt, K, yl, prob);
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

