import { createRequire } from 'node:module';
import {
  assignRoles, blockedKFold, columnStrings, encodeFeatures, encodeLabels, groupCodes, groupKFold, holdout, planFeatures,
  requireColumn, stratifiedKFold, Rng, identityReason,
  type ColumnRoles, type FeatureSpec, type RoleOptions, type Split, type SplitInfo, type Table,
} from '../dataset/index.ts';
import { fitEnsemble, predictProba, forestParams, boostingParams, type LearnerSpec } from './learners.ts';
import type { ForestParams } from './trees/forest.ts';
import type { BoostingParams } from './trees/boosting.ts';
import { applyCalibration, fitTemperature, type Calibration } from './calibration.ts';
import { fitNovelty } from './novelty.ts';
import {
  chooseThreshold, fitSupport, reasonCounts, riskCoverage, unknownReasons, UNKNOWN_REASONS, type GuardConfig, type ModelSupport,
  type UnknownReason,
} from './support.ts';
import { macroF1, scores, type Scores } from './metrics.ts';
import type { EvaluationResult } from './evaluation.ts';
import type { ModelManifest, VeilModel } from './artifact.ts';
import type { ModelKind } from './types.ts';
import { MODEL_FORMAT_VERSION } from './artifact.ts';
import { ModelError, ModelErrorCode } from './errors.ts';
import {
  fitNetwork, networkProba, nnParams, isNnArchitecture, sequenceColumns, parameterCount,
  type FittedNetwork, type NnArchitecture, type NnParams, type NnProgress,
} from './nn/index.ts';

/**
 * The classifier as users see it: a flow table and a label column in, a model out; a model and a table in,
 * predictions (label, calibrated confidence, 'unknown') or an evaluation out.
 */
export const VEIL_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export interface TrainConfig {
  label: string;
  model: 'forest' | 'boosting' | NnArchitecture;
  /** Neural models: training parameters over the architecture's defaults (nnParams). */
  nn?: Partial<NnParams>;
  roles?: Omit<RoleOptions, 'label'>;
  textEncoding?: 'onehot' | 'ordinal';
  forest?: Partial<ForestParams>;
  boosting?: Partial<BoostingParams>;
  seed?: number;
  threads?: number;
  maxBins?: number;
  /** Answer 'unknown' below this calibrated confidence (default 0: never). */
  unknownBelow?: number;
  /** Temperature-scale probabilities on held-out rows (default true). */
  calibrate?: boolean;
  /** Quantile of training novelty scores above which a flow is 'unknown' (default 0.995; false: no novelty check). */
  novelty?: number | false;
  /**
   * The support guard (`veil train` turns it on; default off here): record the training rows' packet-count floor and
   * input ranges, and, unless `unknownBelow` is given, choose the confidence threshold on held-out rows (support.ts).
   */
  guard?: GuardConfig | false;
  name?: string;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** A table turned into model inputs: roles, feature specs, feature columns, classes and class per row. */
export interface PreparedData {
  table: Table;
  roles: ColumnRoles;
  specs: FeatureSpec[];
  columns: Float64Array[];
  classes: string[];
  y: Int32Array;
}

/**
 * Decides columns and encodes features and labels for training.
 *
 * @example
 * const prep = prepareTraining(table, { label: 'app', model: 'forest' });
 * prep.roles.features; // the columns the model will learn from
 */
export function prepareTraining(table: Table, cfg: Pick<TrainConfig, 'label' | 'roles' | 'textEncoding'> & Partial<Pick<TrainConfig, 'model' | 'nn'>>): PreparedData {
  const roles = assignRoles(table, { ...nnRoles(table, cfg), label: cfg.label });
  const specs = planFeatures(table, roles.features, { textEncoding: cfg.textEncoding });
  const columns = encodeFeatures(table, specs);
  const { classes, y } = encodeLabels(requireColumn(table, cfg.label, 'label column'));
  if (classes.length < 2) {
    throw new ModelError(ModelErrorCode.BAD_TRAINING, `${table.source}: label '${cfg.label}' has ${classes.length} class(es); need at least 2`);
  }
  return { table, roles, specs, columns, classes, y };
}

/**
 * A sequence model (cnn, lstm, cnn-lstm; input 'sequence', or 'auto' on a table that has one) learns from the
 * early-packet sequence columns only, unless the features are named explicitly.
 */
function nnRoles(table: Table, cfg: Partial<Pick<TrainConfig, 'model' | 'nn' | 'roles'>>): TrainConfig['roles'] {
  if (!cfg.model || !isNnArchitecture(cfg.model) || cfg.roles?.features) return cfg.roles;
  const input = cfg.nn?.input ?? 'auto';
  if (input === 'features' || (input === 'auto' && cfg.model === 'mlp')) return cfg.roles;
  const exclude = new Set(cfg.roles?.exclude ?? []);
  const seq = sequenceColumns(table.columns.map((c) => c.name)).filter((n) => !exclude.has(n));
  if (!seq.length) {
    if (input === 'auto') return cfg.roles;
    throw new ModelError(ModelErrorCode.BAD_TRAINING, `${table.source}: --input sequence needs the early-packet sequence columns (seq_len_i, seq_dir_i, seq_gap_i_us; \`veil extract --features sequence\` writes them)`);
  }
  return { ...cfg.roles, features: seq };
}

function isNn(cfg: Pick<TrainConfig, 'model'>): cfg is Pick<TrainConfig, 'model'> & { model: NnArchitecture } {
  return isNnArchitecture(cfg.model);
}

function netParams(cfg: TrainConfig): NnParams {
  return nnParams(cfg.model as NnArchitecture, { seed: cfg.seed ?? 0, ...cfg.nn });
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Fits a network on `rows`, reporting epoch, loss, accuracy and time left through cfg.onProgress. */
async function fitNet(prep: PreparedData, cfg: TrainConfig, rows: Int32Array, stage: string, heldOut: boolean): Promise<FittedNetwork> {
  return fitNetwork(prep.columns, prep.y, prep.classes.length, prep.specs.map((s) => s.name), netParams(cfg), {
    heldOut,
    onProgress: (p: NnProgress) => cfg.onProgress?.(
      `${stage}: epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}, loss ${p.loss.toFixed(4)}, accuracy ${(100 * p.accuracy).toFixed(1)} %` +
        `${p.curve?.valLoss !== undefined ? `, validation loss ${p.curve.valLoss.toFixed(4)}` : ''}, ${fmtSeconds(p.secondsLeft)} left`,
      p.epoch - (p.batch < p.batches ? 1 : 0), p.epochs,
    ),
  }, rows);
}

/** Class probabilities of a model (tree ensemble or network) for the given rows of its inputs (default all). */
export function modelProba(model: VeilModel, columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
  if (model.network) return networkProba(model.network, columns, rows);
  if (!model.ensemble) throw new ModelError(ModelErrorCode.CORRUPT, `${model.manifest.name}: the model has neither trees nor a network`);
  return predictProba(model.ensemble, model.manifest.output, columns, rows);
}

export type SplitSpec =
  | { kind: 'kfold'; folds: number }
  | { kind: 'holdout'; testShare: number }
  | { kind: 'group'; column: string; folds: number }
  | { kind: 'blocked'; folds: number };

export function makeSplit(prep: PreparedData, spec: SplitSpec, seed = 0): Split {
  switch (spec.kind) {
    case 'kfold': return stratifiedKFold(prep.y, spec.folds, seed);
    case 'holdout': return holdout(prep.y, spec.testShare, seed);
    case 'blocked': return blockedKFold(prep.y, spec.folds);
    case 'group': {
      const col = requireColumn(prep.table, spec.column, 'group column');
      return groupKFold(groupCodes(columnStrings(col)), prep.y, spec.folds, seed, spec.column);
    }
  }
}

function learnerSpec(cfg: TrainConfig): LearnerSpec {
  if (isNn(cfg)) throw new Error(`learnerSpec: ${cfg.model} is not a tree learner`);
  const seed = cfg.seed ?? 0;
  return cfg.model === 'forest'
    ? { type: 'forest', params: forestParams({ seed, ...cfg.forest }) }
    : { type: 'boosting', params: boostingParams({ seed, ...cfg.boosting }) };
}

export interface CrossValidation {
  split: SplitInfo;
  /** Out-of-fold probabilities, rows x classes (rows never tested stay 0; see `tested`). */
  proba: Float64Array;
  tested: Uint8Array;
  scores: Scores;
  fitSeconds: number;
  predictSeconds: number;
}

/** Fits the configured learner on each fold's training rows and scores its test rows. */
export async function crossValidate(prep: PreparedData, cfg: TrainConfig, split: Split): Promise<CrossValidation> {
  const K = prep.classes.length;
  const n = prep.y.length;
  const proba = new Float64Array(n * K);
  const tested = new Uint8Array(n);
  const spec = isNn(cfg) ? null : learnerSpec(cfg);
  let fitSeconds = 0;
  let predictSeconds = 0;
  for (let k = 0; k < split.folds.length; k++) {
    const fold = split.folds[k]!;
    cfg.onProgress?.(`fold ${k + 1}/${split.folds.length}`, k, split.folds.length);
    const t0 = performance.now();
    let p: Float64Array;
    let t1: number;
    if (spec) {
      const fitted = await fitEnsemble(prep.columns, prep.y, K, spec, {
        threads: cfg.threads, maxBins: cfg.maxBins,
        onProgress: (d, t) => cfg.onProgress?.(`fold ${k + 1}/${split.folds.length}`, d, t),
      }, fold.train);
      t1 = performance.now();
      p = predictProba(fitted.ensemble, fitted.output, prep.columns, fold.test);
    } else {
      const fitted = await fitNet(prep, cfg, fold.train, `fold ${k + 1}/${split.folds.length}`, false);
      t1 = performance.now();
      p = networkProba(fitted.network, prep.columns, fold.test);
    }
    predictSeconds += (performance.now() - t1) / 1000;
    fitSeconds += (t1 - t0) / 1000;
    for (let i = 0; i < fold.test.length; i++) {
      const r = fold.test[i]!;
      proba.set(p.subarray(i * K, i * K + K), r * K);
      tested[r] = 1;
    }
  }
  const yTrue = Int32Array.from(prep.y, (t, i) => (tested[i] ? t : -1));
  const yPred = argmaxRows(proba, K);
  return {
    split: split.info, proba, tested, fitSeconds, predictSeconds,
    scores: scores({ classes: prep.classes, modelClasses: K, yTrue, yPred, proba }),
  };
}

/** 'stratified 5-fold cross-validation' and the like, for one-line mentions. */
export function shortSplit(s: SplitInfo): string {
  switch (s.kind) {
    case 'kfold': return `stratified ${s.folds}-fold cross-validation`;
    case 'blocked': return `blocked ${s.folds}-fold cross-validation`;
    case 'group': return `group ${s.folds}-fold cross-validation by '${s.groupBy}'`;
    case 'holdout': return `${Math.round((s.testShare ?? 0) * 100)} % hold-out`;
    default: return s.description;
  }
}

function argmaxRows(proba: Float64Array, K: number): Int32Array {
  const n = proba.length / K;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let c = 1; c < K; c++) if (proba[i * K + c]! > proba[i * K + b]!) b = c;
    out[i] = b;
  }
  return out;
}

function labelledRows(y: Int32Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) out.push(i);
  return Int32Array.from(out);
}

/**
 * Fits the final model on every labelled row. Calibration comes from the cross-validation's out-of-fold
 * probabilities when given, else from the learner's own held-out rows (forest: out-of-bag; boosting: its
 * early-stopping validation share).
 */
export async function trainModel(
  prep: PreparedData, cfg: TrainConfig,
  extras: { cv?: CrossValidation; columnOrder?: ModelManifest['preprocessing']['columnOrder'] } = {},
): Promise<VeilModel> {
  const K = prep.classes.length;
  const rows = labelledRows(prep.y);
  const t0 = performance.now();
  const wantHeldOut = cfg.calibrate !== false && !extras.cv;
  // Networks calibrate on their early-stopping validation share.
  const net = isNn(cfg) ? await fitNet(prep, cfg, rows, 'final model', wantHeldOut) : null;
  const spec = net ? null : learnerSpec(cfg);
  const fitted = spec ? await fitEnsemble(prep.columns, prep.y, K, spec, {
    threads: cfg.threads, maxBins: cfg.maxBins, heldOut: wantHeldOut,
    onProgress: (d, t) => cfg.onProgress?.('final model', d, t),
  }, rows) : null;
  const fitSeconds = (performance.now() - t0) / 1000;
  const heldOut = net ? net.heldOut : fitted!.heldOut;

  let calibration: Calibration = { method: 'none' };
  if (cfg.calibrate !== false) {
    if (extras.cv) {
      const tr = labelledRows(Int32Array.from(prep.y, (t, i) => (extras.cv!.tested[i] ? t : -1)));
      const p = new Float64Array(tr.length * K);
      tr.forEach((r, i) => p.set(extras.cv!.proba.subarray(r * K, r * K + K), i * K));
      calibration = fitTemperature(p, K, Int32Array.from(tr, (r) => prep.y[r]!), `out-of-fold rows of the ${shortSplit(extras.cv.split)} (${tr.length} rows)`);
    } else if (heldOut) {
      calibration = fitTemperature(heldOut.proba, K, Int32Array.from(heldOut.rows, (r) => prep.y[r]!), heldOut.what);
    }
  }
  const novelty = cfg.novelty === false ? undefined : fitNovelty(prep.columns, rows, { seed: cfg.seed ?? 0, quantile: cfg.novelty ?? 0.995 });
  let support: ModelSupport | undefined;
  let unknownBelow = cfg.unknownBelow ?? 0;
  if (cfg.guard) {
    support = fitSupport(prep.specs, prep.columns, rows, cfg.guard);
    // Held-out rows: the cross-validation's out-of-fold rows, else the learner's own (out-of-bag, validation share).
    let ho: { rows: Int32Array; proba: Float64Array; what: string } | null = null;
    if (extras.cv) {
      const tr = labelledRows(Int32Array.from(prep.y, (t, i) => (extras.cv!.tested[i] ? t : -1)));
      const p = new Float64Array(tr.length * K);
      tr.forEach((r, i) => p.set(extras.cv!.proba.subarray(r * K, r * K + K), i * K));
      ho = { rows: tr, proba: p, what: `out-of-fold rows of the ${shortSplit(extras.cv.split)}` };
    } else if (heldOut) {
      ho = { rows: heldOut.rows, proba: heldOut.proba.slice(), what: heldOut.what };
    }
    if (ho && cfg.unknownBelow === undefined) {
      applyCalibration(ho.proba, K, calibration);
      const pred = argmaxRows(ho.proba, K);
      const conf = Float64Array.from(pred, (c, i) => ho!.proba[i * K + c]!);
      const correct = Uint8Array.from(pred, (c, i) => (c === prep.y[ho!.rows[i]!] ? 1 : 0));
      // The threshold is chosen among the rows the other checks let through.
      const sub = prep.columns.map((c) => Float64Array.from(ho!.rows, (r) => c[r]!));
      const { reason } = unknownReasons({ manifest: { features: prep.specs, support, unknownBelow: 0 }, ...(novelty ? { novelty } : {}) }, sub, conf, 0);
      support.confidence = chooseThreshold(conf, correct, cfg.guard, ho.what, Uint8Array.from(reason, (x) => (x === 0 ? 1 : 0)));
      unknownBelow = support.confidence.threshold;
    }
  }

  const classCounts: Record<string, number> = {};
  for (const r of rows) { const c = prep.classes[prep.y[r]!]!; classCounts[c] = (classCounts[c] ?? 0) + 1; }
  const cv = extras.cv;
  const k: ModelKind = spec
    ? (spec.type === 'forest' ? { modelType: 'forest', params: spec.params } : { modelType: 'boosting', params: spec.params })
    : { modelType: cfg.model as NnArchitecture, params: { ...netParams(cfg), input: net!.network.spec.input.kind } };
  // Fields in their persisted order (a model written again gives the same bytes); `k` keeps kind and params paired.
  const manifest = {
    kind: 'veil-model' as const,
    formatVersion: MODEL_FORMAT_VERSION,
    modelType: k.modelType,
    name: cfg.name ?? `${cfg.model} on ${prep.table.source}`,
    createdAt: new Date().toISOString(),
    veilVersion: VEIL_VERSION,
    label: cfg.label,
    classes: prep.classes,
    features: prep.specs,
    identityColumns: prep.roles.identity,
    preprocessing: {
      textEncoding: cfg.textEncoding ?? 'onehot',
      excluded: prep.roles.excluded,
      columnOrder: extras.columnOrder ?? { status: 'ok' },
      maxBins: cfg.maxBins ?? 255,
    },
    params: k.params,
    output: fitted ? fitted.output : 'softmax',
    calibration,
    unknownBelow,
    training: {
      source: prep.table.source, rows: rows.length, classCounts, seed: cfg.seed ?? 0, threads: cfg.threads ?? 1,
      fitSeconds, trees: fitted ? fitted.ensemble.roots.length : 0, nodes: fitted ? fitted.ensemble.feature.length : 0,
      ...(fitted?.rounds !== undefined ? { rounds: fitted.rounds } : {}),
    },
    ...(cv ? {
      metrics: {
        split: cv.split, rows: cv.scores.rows, accuracy: cv.scores.accuracy, balancedAccuracy: cv.scores.balancedAccuracy,
        macroF1: cv.scores.macro.f1, weightedF1: cv.scores.weighted.f1,
      },
    } : {}),
    featureImportance: prep.specs.map((s, f) => ({ feature: s.name, impurity: fitted ? fitted.importance[f]! : 0 })),
    ...(novelty ? { novelty: { trees: novelty.trees, sampleSize: novelty.sampleSize, threshold: novelty.threshold, quantile: novelty.quantile } } : {}),
    ...(support ? { support } : {}),
    ...(net ? {
      network: {
        ...net.network.spec, parameters: parameterCount(net.network),
        training: { backend: net.backend, epochsRun: net.epochsRun, bestEpoch: net.bestEpoch, epochSeconds: net.epochSeconds, validationRows: net.validationRows },
        curves: net.curves,
      },
    } : {}),
  } as ModelManifest;
  return { manifest, ...(fitted ? { ensemble: fitted.ensemble } : { network: net!.network }), ...(novelty ? { novelty } : {}) };
}

export interface Predictions {
  /** Calibrated probabilities, rows x classes. */
  proba: Float64Array;
  /** Predicted class index per row, -1 = unknown. */
  label: Int32Array;
  /** Why each row is unknown: an index into `reasonNames` (0 'answered'; see support.ts `unknownReasons`). */
  reason: Uint8Array;
  reasonNames: readonly UnknownReason[];
  /** Calibrated probability of the most probable class. */
  confidence: Float64Array;
  /** Isolation score per row (when the model has a novelty check). */
  novelty?: Float64Array;
  unknownBelow: number;
  seconds: number;
}

/** Model inputs from a table; a table lacking feature columns is refused with the full list of what is missing. */
export function modelInputs(model: VeilModel, table: Table): Float64Array[] {
  return encodeFeatures(table, model.manifest.features, `the model '${model.manifest.name}'`);
}

/**
 * Predicts every row: calibrated probabilities, the answer (or -1 'unknown' when the confidence is below the
 * threshold or the row is novel) and the confidence.
 */
export function predictColumns(model: VeilModel, columns: Float64Array[], opts: { unknownBelow?: number } = {}): Predictions {
  const t0 = performance.now();
  const m = model.manifest;
  const K = m.classes.length;
  const proba = modelProba(model, columns);
  applyCalibration(proba, K, m.calibration);
  const n = proba.length / K;
  const label = argmaxRows(proba, K);
  const confidence = new Float64Array(n);
  for (let i = 0; i < n; i++) confidence[i] = proba[i * K + label[i]!]!;
  const unknownBelow = opts.unknownBelow ?? m.unknownBelow;
  const { reason, novelty } = unknownReasons(model, columns, confidence, unknownBelow);
  for (let i = 0; i < n; i++) if (reason[i]) label[i] = -1;
  return {
    proba, label, reason, reasonNames: UNKNOWN_REASONS, confidence, ...(novelty ? { novelty } : {}), unknownBelow,
    seconds: (performance.now() - t0) / 1000,
  };
}

export function predictTable(model: VeilModel, table: Table, opts: { unknownBelow?: number } = {}): Predictions {
  return predictColumns(model, modelInputs(model, table), opts);
}

export interface EvaluateOptions {
  label: string;
  unknownBelow?: number;
  /** Permutation importance on up to this many rows (0: skip), within PERMUTATION_TREE_BUDGET. Default 20 000. */
  permutationRows?: number;
  /** Told, before each feature is permuted, how far permutation importance is and what it samples. */
  onPermutationProgress?: (featuresDone: number, sample: PermutationSample) => void;
  seed?: number;
  modelPath?: string;
  split?: SplitInfo;
}

/** Scores a model on a labelled table (rows it did not train on, unless you want an optimistic number). */
export function evaluateModel(model: VeilModel, table: Table, opts: EvaluateOptions): EvaluationResult {
  const m = model.manifest;
  const K = m.classes.length;
  const columns = modelInputs(model, table);
  const { classes, y } = encodeLabels(requireColumn(table, opts.label, 'label column'), m.classes);
  const pred = predictColumns(model, columns, { unknownBelow: opts.unknownBelow });
  const s = scores({ classes, modelClasses: K, yTrue: y, yPred: pred.label, proba: pred.proba });
  const perm = permutationImportance(model, columns, y, opts.permutationRows ?? 20_000, opts.seed ?? 0,
    opts.onPermutationProgress ? { onProgress: opts.onPermutationProgress } : {});
  return buildEvaluation({
    model: { kind: m.modelType, name: m.name, ...(opts.modelPath ? { path: opts.modelPath } : {}) },
    source: table.source, label: opts.label,
    split: opts.split ?? {
      kind: 'none', shuffled: false, seed: 0,
      description: m.training.source === table.source && m.training.rows === table.rows
        ? `model applied to its own training data (${table.source}): optimistic, not a test`
        : `model trained on ${m.training.source}, applied to every row of ${table.source}`,
    },
    classes, K, s, yTrue: y, yPred: pred.label, proba: pred.proba,
    unknown: { threshold: pred.unknownBelow, count: s.unknownCount, reasons: reasonCounts(pred.reason, known(y, K)) },
    featureImportance: m.featureImportance.map((fi, f) => ({ feature: fi.feature, impurity: fi.impurity, permutation: perm ? perm.importance[f]! : 0 })),
    ...(perm ? { permutationSample: perm.sample } : {}),
    timings: { predictSeconds: pred.seconds, rowsPerSecond: pred.seconds > 0 ? table.rows / pred.seconds : 0 },
    ...(m.network ? { curves: m.network.curves } : {}),
  });
}

/**
 * The one builder of an evaluation result (`veil evaluate` on a table, the cross-validation of `veil train` and
 * `veil evaluate --folds`): scores, the unknown answers, the risk-coverage curve, the open set (true classes the
 * model does not know), importance and timings, in the persisted layout of EvaluationResult.
 */
function buildEvaluation(a: {
  model: EvaluationResult['model']; source: string; label: string; split: EvaluationResult['split'];
  classes: string[]; K: number; s: Scores; yTrue: Int32Array; yPred: Int32Array; proba: Float64Array;
  unknown: EvaluationResult['unknown']; featureImportance: EvaluationResult['featureImportance'];
  permutationSample?: EvaluationResult['permutationSample'];
  timings: EvaluationResult['timings']; curves?: EvaluationResult['curves'];
}): EvaluationResult {
  const { s, K, yTrue: y, yPred } = a;
  const result: EvaluationResult = {
    kind: 'veil-evaluation',
    version: 1,
    model: a.model,
    data: { source: a.source, rows: s.rows, label: a.label },
    split: a.split,
    classes: a.classes,
    accuracy: s.accuracy,
    balancedAccuracy: s.balancedAccuracy,
    macro: s.macro,
    weighted: s.weighted,
    topK: s.topK,
    perClass: s.perClass,
    confusion: s.confusion,
    unknown: a.unknown,
    riskCoverage: riskCoverageOf(a.proba, K, y, yPred),
    featureImportance: a.featureImportance,
    ...(a.permutationSample ? { permutationSample: a.permutationSample } : {}),
    classCounts: s.classCounts,
    timings: a.timings,
    createdAt: new Date().toISOString(),
    ...(a.curves ? { curves: a.curves } : {}),
  };
  const unseen = a.classes.slice(K).filter((c) => (s.classCounts[c] ?? 0) > 0);
  if (unseen.length) {
    let rows = 0, unk = 0;
    for (let i = 0; i < y.length; i++) if (y[i]! >= K) { rows++; if (yPred[i]! < 0) unk++; }
    result.openSet = { unseenClasses: unseen, rows, unknown: unk, unknownRate: rows ? unk / rows : 0 };
  }
  return result;
}

/** Scores from a cross-validation as an evaluation result. */
export function cvEvaluation(
  prep: PreparedData, cv: CrossValidation, cfg: TrainConfig, model?: VeilModel,
): EvaluationResult {
  const K = prep.classes.length;
  const proba = cv.proba.slice();
  const cal = model?.manifest.calibration ?? { method: 'none' as const };
  applyCalibration(proba, K, cal);
  const yTrue = Int32Array.from(prep.y, (t, i) => (cv.tested[i] ? t : -1));
  const yPred = argmaxRows(proba, K);
  const thr = cfg.unknownBelow ?? model?.manifest.unknownBelow ?? 0;
  const confidence = Float64Array.from(yPred, (c, i) => proba[i * K + c]!);
  // The same rule as prediction, with the final model's support (without a model: the confidence threshold alone).
  const guard = model ?? { manifest: { features: prep.specs, unknownBelow: thr } };
  const { reason } = unknownReasons(guard, prep.columns, confidence, thr);
  let unknown = 0;
  for (let i = 0; i < yPred.length; i++) if (cv.tested[i] && reason[i]) { yPred[i] = -1; unknown++; }
  const s = scores({ classes: prep.classes, modelClasses: K, yTrue, yPred, proba });
  return buildEvaluation({
    model: { kind: cfg.model, name: cfg.name ?? `${cfg.model} (cross-validated)` },
    source: prep.table.source, label: cfg.label, split: cv.split,
    classes: prep.classes, K, s, yTrue, yPred, proba,
    unknown: { threshold: thr, count: unknown, reasons: reasonCounts(reason, cv.tested) },
    featureImportance: (model?.manifest.featureImportance ?? prep.specs.map((sp) => ({ feature: sp.name, impurity: 0 })))
      .map((fi) => ({ feature: fi.feature, impurity: fi.impurity, permutation: 0 })),
    timings: { fitSeconds: cv.fitSeconds, predictSeconds: cv.predictSeconds, rowsPerSecond: cv.predictSeconds > 0 ? s.rows / cv.predictSeconds : 0 },
    ...(model?.manifest.network ? { curves: model.manifest.network.curves } : {}),
  });
}

function known(y: Int32Array, K: number): Uint8Array {
  return Uint8Array.from(y, (t) => (t >= 0 && t < K ? 1 : 0));
}

/**
 * The risk-coverage curve of an evaluation over the rows whose true class the model knows (by confidence: share
 * answered against the accuracy of the answered rows), and the point the model's unknown rule answers at.
 */
function riskCoverageOf(proba: Float64Array, K: number, y: Int32Array, label: Int32Array): NonNullable<EvaluationResult['riskCoverage']> {
  const top = argmaxRows(proba, K);
  const confidence = Float64Array.from(top, (c, i) => proba[i * K + c]!);
  const correct = Uint8Array.from(top, (c, i) => (c === y[i] ? 1 : 0));
  const use = known(y, K);
  let n = 0, answered = 0, right = 0;
  for (let i = 0; i < y.length; i++) {
    if (!use[i]) continue;
    n++;
    if (label[i]! >= 0) { answered++; if (label[i] === y[i]) right++; }
  }
  return { ...riskCoverage(confidence, correct, use), answered: { coverage: n ? answered / n : 0, accuracy: answered ? right / answered : 0 } };
}

/**
 * Work allowed for permutation importance, in tree evaluations (one row through one tree; ~20 ns each here): about
 * 10 s on this project's 2-core machine for any tree model. Networks count as NETWORK_ROW_COST trees per row.
 */
export const PERMUTATION_TREE_BUDGET = 6e8;
const NETWORK_ROW_COST = 50;
/** Rows sampled at least (all if fewer are labelled), repeats at most. */
const PERMUTATION_MIN_ROWS = 200;
const PERMUTATION_MAX_REPEATS = 3;

/** What permutation importance was computed on (reported with the scores). */
export interface PermutationSample {
  /** Rows sampled (stratified by class, seeded) of the labelled rows. */
  rows: number;
  labelledRows: number;
  /** Shuffles per feature, averaged. */
  repeats: number;
  /** Features permuted; the others are left at 0: unused by every tree (their permutation changes nothing), or
   * beyond the budget (then the ones with the highest impurity importance were kept). */
  features: number;
  unusedFeatures: number;
  seed: number;
}

/**
 * Mean drop in macro-F1 when one input column is shuffled across sampled evaluation rows (seeded), bounded so it
 * costs at most PERMUTATION_TREE_BUDGET tree evaluations whatever the model and the table: features no tree splits
 * on are skipped (exactly 0), then rows are sampled per class and the repeats chosen to fit (at least
 * PERMUTATION_MIN_ROWS rows; below that, fewer features: those with the highest impurity importance). Null when
 * skipped (`maxRows` 0 or fewer than two labelled rows).
 */
export function permutationImportance(
  model: VeilModel, columns: Float64Array[], y: Int32Array, maxRows: number, seed: number,
  opts: { budget?: number; onProgress?: (featuresDone: number, sample: PermutationSample) => void } = {},
): { importance: Float64Array; sample: PermutationSample } | null {
  const budget = opts.budget ?? PERMUTATION_TREE_BUDGET;
  if (maxRows <= 0) return null;
  const m = model.manifest;
  const K = m.classes.length;
  const labelled: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) labelled.push(i);
  if (labelled.length < 2) return null;
  const rowCost = m.modelType === 'forest' || m.modelType === 'boosting' ? Math.max(1, m.training.trees) : NETWORK_ROW_COST;
  const trees = m.modelType === 'forest' || m.modelType === 'boosting';
  // A feature no tree splits on has impurity 0 and cannot change a prediction.
  let features = columns.map((_, f) => f).filter((f) => !trees || (m.featureImportance[f]?.impurity ?? 0) > 0);
  const unused = columns.length - features.length;
  const rowsFor = (nf: number, reps: number): number => Math.floor(budget / rowCost / (nf * reps + 1));
  let repeats = PERMUTATION_MAX_REPEATS;
  const want = Math.min(labelled.length, maxRows);
  while (repeats > 1 && rowsFor(features.length, repeats) < want) repeats--;
  let n = Math.min(want, rowsFor(Math.max(1, features.length), repeats));
  const floor = Math.min(want, PERMUTATION_MIN_ROWS);
  if (n < floor) {
    // Keep the features with the most impurity importance that fit the budget at the floor's rows.
    const nf = Math.max(1, Math.floor((budget / rowCost / floor - 1) / repeats));
    features = [...features].sort((a, b) => (m.featureImportance[b]?.impurity ?? 0) - (m.featureImportance[a]?.impurity ?? 0) || a - b).slice(0, nf).sort((a, b) => a - b);
    n = floor;
  }
  const rng = new Rng(seed);
  const rows = Int32Array.from(stratifiedSample(labelled, y, n, rng));
  const yr = Int32Array.from(rows, (r) => y[r]!);
  const sub = columns.map((c) => Float64Array.from(rows, (r) => c[r]!));
  let nc = K;
  for (const t of yr) if (t >= nc) nc = t + 1;
  const sample: PermutationSample = { rows: rows.length, labelledRows: labelled.length, repeats, features: features.length, unusedFeatures: unused, seed };
  opts.onProgress?.(0, sample);
  const base = macroF1(yr, argmaxRows(modelProba(model, sub), K), nc);
  const out = new Float64Array(columns.length);
  let done = 0;
  for (const f of features) {
    opts.onProgress?.(done++, sample);
    const orig = sub[f]!;
    let drop = 0;
    for (let k = 0; k < repeats; k++) {
      sub[f] = rng.shuffle(orig.slice());
      drop += base - macroF1(yr, argmaxRows(modelProba(model, sub), K), nc);
    }
    out[f] = drop / repeats;
    sub[f] = orig;
  }
  return { importance: out, sample };
}

/** `n` of `rows`, each class keeping its share (at least one row of every class while n allows), sorted. */
function stratifiedSample(rows: number[], y: Int32Array, n: number, rng: Rng): number[] {
  if (n >= rows.length) return rows;
  const byClass = new Map<number, number[]>();
  for (const r of rows) { const c = y[r]!; let l = byClass.get(c); if (!l) byClass.set(c, (l = [])); l.push(r); }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  // Largest-remainder quotas of n, then at least one per class while rows remain.
  const quota = classes.map((c) => (byClass.get(c)!.length * n) / rows.length);
  const take = quota.map((q) => Math.floor(q));
  let left = n - take.reduce((a, b) => a + b, 0);
  const order = classes.map((_, i) => i).sort((a, b) => (quota[b]! - take[b]!) - (quota[a]! - take[a]!) || a - b);
  for (const i of order) { if (left <= 0) break; take[i]!++; left--; }
  classes.forEach((c, i) => { out.push(...rng.shuffle(byClass.get(c)!.slice()).slice(0, take[i]!)); });
  return out.sort((a, b) => a - b);
}

/** Names of identity columns in a table (for prediction output and reports). */
export function identityColumnsOf(table: Table): string[] {
  return table.columns.map((c) => c.name).filter((n) => identityReason(n) !== null || n.startsWith('id_'));
}

