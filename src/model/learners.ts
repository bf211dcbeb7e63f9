import { binColumns, fitBinEdges, MAX_BINS } from './binning.ts';
import { accumulate, joinTrees, prepareInference, type TreeEnsemble } from './trees/ensemble.ts';
import { bootstrapCounts, FOREST_DEFAULTS, type ForestData, type ForestParams, type GrownForestTree } from './trees/forest.ts';
import { BOOSTING_DEFAULTS, type BoostingParams } from './trees/boosting.ts';
import { fitBoosting } from './trees/boosting-driver.ts';
import { runTasks, shared, sharedZeros } from './trees/pool.ts';
import type { TreeTask } from './trees/tasks.ts';
import { checkInput, classWeights, flatEdges, labelledRows, normalise, type FitOptions, type Fitted } from './fitting.ts';

export { predictProba, type FitOptions, type Fitted, type OutputKind } from './fitting.ts';

/**
 * Fitting and applying tree ensembles on numeric feature columns (one Float64Array per feature, NaN = missing) and
 * class indices. Table handling, labels and calibration live in classifier.ts; this is the numeric core.
 */
export type LearnerSpec =
  | { type: 'forest'; params: ForestParams }
  | { type: 'boosting'; params: BoostingParams };

export function forestParams(p: Partial<ForestParams> = {}): ForestParams {
  return { ...FOREST_DEFAULTS, ...p };
}
export function boostingParams(p: Partial<BoostingParams> = {}): BoostingParams {
  return { ...BOOSTING_DEFAULTS, ...p };
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
  const fitted = await (LEARNERS[spec.type].fit as TreeLearner<ForestParams | BoostingParams>['fit'])(columns, y, nClasses, spec.params, opts, train);
  prepareInference(fitted.ensemble);
  return fitted;
}

/** A tree learner: fits an ensemble on the rows given (validated by fitEnsemble), with held-out scores if asked. */
export interface TreeLearner<P> {
  defaults: P;
  fit(columns: readonly Float64Array[], y: Int32Array, K: number, params: P, opts: FitOptions, rows: Int32Array): Promise<Fitted>;
}

/** One learner per tree kind (neural kinds: nn/). */
const LEARNERS: { [K in LearnerSpec['type']]: TreeLearner<Extract<LearnerSpec, { type: K }>['params']> } = {
  forest: { defaults: FOREST_DEFAULTS, fit: fitForest },
  boosting: { defaults: BOOSTING_DEFAULTS, fit: fitBoosting },
};

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


