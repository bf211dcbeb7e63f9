import { ModelError, ModelErrorCode } from './errors.ts';
import { isNnArchitecture } from './nn/spec.ts';
import type { ModelManifest } from './types.ts';

/**
 * The one schema of a model manifest. Every reader of model files goes through `deserializeModel`, which calls
 * `validateManifest` before it trusts a field: types, ranges (finite numbers, 0 <= unknownBelow <= 1, meter
 * timeouts 1 ms .. 1e6 s, counts as non-negative integers) and lengths that must agree (feature importance per
 * feature, support ranges per feature). A violation is a ModelError (MODEL_CORRUPT) naming the file and the field,
 * e.g. `m.veilmodel: manifest field 'unknownBelow' must be a number in [0, 1] (found "NaN")`.
 *
 * The neural network's layers and input plan are checked against its blobs by `networkFromBlobs`, the trees by
 * `checkEnsemble` (artifact.ts); this schema covers everything else.
 */

/** Meter timeouts a model may ask for, in seconds. */
export const METER_TIMEOUT_RANGE_S = [0.001, 1e6] as const;
/** Longest text field (names, messages) a manifest may hold. */
const MAX_TEXT = 1 << 16;
/** Most entries in a manifest list (classes, features, categories). */
const MAX_LIST = 1 << 20;

type Path = string;

class Checker {
  constructor(readonly file: string) {}

  fail(path: Path, want: string, got: unknown): never {
    throw new ModelError(ModelErrorCode.CORRUPT, `${this.file}: manifest field '${path}' must be ${want} (found ${show(got)})`);
  }

  object(v: unknown, path: Path): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Record<string, unknown>;
  }

  string(v: unknown, path: Path, opts: { nonEmpty?: boolean } = {}): string {
    if (typeof v !== 'string' || v.length > MAX_TEXT || (opts.nonEmpty && v.length === 0)) {
      this.fail(path, opts.nonEmpty ? 'a non-empty string' : 'a string', v);
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, path: Path, values: readonly T[]): T {
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(path, `one of ${values.map((s) => JSON.stringify(s)).join(', ')}`, v);
    return v as T;
  }

  boolean(v: unknown, path: Path): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false', v);
    return v;
  }

  number(v: unknown, path: Path, lo = -Number.MAX_VALUE, hi = Number.MAX_VALUE): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
      this.fail(path, lo === -Number.MAX_VALUE && hi === Number.MAX_VALUE ? 'a finite number' : `a number in [${lo}, ${hi}]`, v);
    }
    return v;
  }

  /** An integer in [lo, hi] (default: any non-negative safe integer). */
  int(v: unknown, path: Path, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) this.fail(path, `an integer in [${lo}, ${hi}]`, v);
    return v;
  }

  array(v: unknown, path: Path, opts: { min?: number; length?: number } = {}): unknown[] {
    if (!Array.isArray(v) || v.length > MAX_LIST) this.fail(path, 'a list', v);
    if (opts.length !== undefined && v.length !== opts.length) this.fail(path, `a list of ${opts.length} entries`, `${v.length} entries`);
    if (opts.min !== undefined && v.length < opts.min) this.fail(path, `a list of at least ${opts.min} entries`, `${v.length} entries`);
    return v;
  }

  strings(v: unknown, path: Path, opts: { min?: number; unique?: boolean } = {}): string[] {
    const a = this.array(v, path, opts);
    a.forEach((s, i) => this.string(s, `${path}[${i}]`));
    if (opts.unique && new Set(a).size !== a.length) this.fail(path, 'a list without repeats', v);
    return a as string[];
  }

  optional<T>(o: Record<string, unknown>, key: string, path: Path, check: (v: unknown, path: Path) => T): T | undefined {
    return o[key] === undefined ? undefined : check(o[key], `${path}.${key}`);
  }
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list`;
  if (typeof v === 'object') return v === null ? 'null' : 'an object';
  return typeof v;
}

const SPLIT_KINDS = ['kfold', 'holdout', 'group', 'blocked', 'none'] as const;

/**
 * Checks a parsed manifest against the schema and returns it typed; throws a ModelError naming the file and the
 * first field that is wrong.
 *
 * @example
 * const m = validateManifest(JSON.parse(text), 'm.veilmodel'); // m.unknownBelow is a number in [0, 1]
 */
export function validateManifest(raw: unknown, file: string): ModelManifest {
  const c = new Checker(file);
  const m = c.object(raw, 'manifest');
  const modelType = c.string(m.modelType, 'modelType');
  if (modelType !== 'forest' && modelType !== 'boosting' && !isNnArchitecture(modelType)) {
    throw new ModelError(
      ModelErrorCode.WRONG_VERSION,
      `${file}: model type ${JSON.stringify(modelType)} is not supported by this build (it reads forest, boosting, mlp, cnn, lstm, cnn-lstm)`,
    );
  }
  c.string(m.name, 'name');
  c.string(m.createdAt, 'createdAt');
  c.string(m.veilVersion, 'veilVersion');
  c.string(m.label, 'label', { nonEmpty: true });
  const classes = c.strings(m.classes, 'classes', { min: 1, unique: true });
  const features = c.array(m.features, 'features', { min: 1 });
  features.forEach((f, i) => {
    const p = `features[${i}]`;
    const o = c.object(f, p);
    c.string(o.name, `${p}.name`, { nonEmpty: true });
    c.string(o.source, `${p}.source`, { nonEmpty: true });
    const kind = c.oneOf(o.kind, `${p}.kind`, ['number', 'ordinal', 'onehot']);
    if (kind === 'ordinal') c.strings(o.categories, `${p}.categories`);
    if (kind === 'onehot') c.string(o.category, `${p}.category`);
  });
  const F = features.length;
  c.strings(m.identityColumns, 'identityColumns');

  const pre = c.object(m.preprocessing, 'preprocessing');
  c.oneOf(pre.textEncoding, 'preprocessing.textEncoding', ['onehot', 'ordinal']);
  c.array(pre.excluded, 'preprocessing.excluded').forEach((e, i) => {
    const o = c.object(e, `preprocessing.excluded[${i}]`);
    c.string(o.name, `preprocessing.excluded[${i}].name`);
    c.string(o.reason, `preprocessing.excluded[${i}].reason`);
  });
  const order = c.object(pre.columnOrder, 'preprocessing.columnOrder');
  c.oneOf(order.status, 'preprocessing.columnOrder.status', ['ok', 'fixed', 'permuted']);
  c.optional(order, 'message', 'preprocessing.columnOrder', (v, p) => c.string(v, p));
  c.int(pre.maxBins, 'preprocessing.maxBins', 2, 65_536);

  checkParams(c, m.params);
  c.oneOf(m.output, 'output', ['sum', 'softmax']);
  const cal = c.object(m.calibration, 'calibration');
  if (c.oneOf(cal.method, 'calibration.method', ['none', 'temperature']) === 'temperature') {
    c.number(cal.temperature, 'calibration.temperature', 1e-6, 1e6);
    c.string(cal.fittedOn, 'calibration.fittedOn');
    c.int(cal.rows, 'calibration.rows');
    c.number(cal.nllBefore, 'calibration.nllBefore');
    c.number(cal.nllAfter, 'calibration.nllAfter');
  }
  c.number(m.unknownBelow, 'unknownBelow', 0, 1);

  const tr = c.object(m.training, 'training');
  c.string(tr.source, 'training.source');
  c.int(tr.rows, 'training.rows');
  const counts = c.object(tr.classCounts, 'training.classCounts');
  for (const [k, v] of Object.entries(counts)) c.int(v, `training.classCounts.${k}`);
  c.number(tr.seed, 'training.seed');
  c.int(tr.threads, 'training.threads', 1, 1 << 16);
  c.number(tr.fitSeconds, 'training.fitSeconds', 0);
  c.int(tr.trees, 'training.trees');
  c.int(tr.nodes, 'training.nodes');
  c.optional(tr, 'rounds', 'training', (v, p) => c.int(v, p));
  c.optional(tr, 'rowSketch', 'training', (v, p) => {
    const sk = c.object(v, p);
    c.int(sk.rows, `${p}.rows`);
    c.array(sk.hashes, `${p}.hashes`).forEach((h, i) => c.int(h, `${p}.hashes[${i}]`, 0, 2 ** 52));
  });

  if (m.metrics !== undefined) {
    const mt = c.object(m.metrics, 'metrics');
    checkSplit(c, mt.split, 'metrics.split');
    c.int(mt.rows, 'metrics.rows');
    for (const k of ['accuracy', 'balancedAccuracy', 'macroF1', 'weightedF1']) c.number(mt[k], `metrics.${k}`, 0, 1);
  }
  c.array(m.featureImportance, 'featureImportance', { length: F }).forEach((e, i) => {
    const o = c.object(e, `featureImportance[${i}]`);
    c.string(o.feature, `featureImportance[${i}].feature`);
    c.number(o.impurity, `featureImportance[${i}].impurity`);
  });
  if (m.novelty !== undefined) {
    const nv = c.object(m.novelty, 'novelty');
    c.int(nv.trees, 'novelty.trees', 1, 1 << 20);
    c.int(nv.sampleSize, 'novelty.sampleSize', 1, 1 << 30);
    c.number(nv.threshold, 'novelty.threshold', 0, 1);
    c.number(nv.quantile, 'novelty.quantile', 0, 1);
  }
  if (m.meter !== undefined) {
    const mt = c.object(m.meter, 'meter');
    const [lo, hi] = METER_TIMEOUT_RANGE_S;
    c.optional(mt, 'idleTimeoutS', 'meter', (v, p) => c.number(v, p, lo, hi));
    c.optional(mt, 'activeTimeoutS', 'meter', (v, p) => c.number(v, p, lo, hi));
    c.optional(mt, 'earlyPackets', 'meter', (v, p) => c.int(v, p, 1, 64));
  }
  if (m.support !== undefined) checkSupport(c, m.support, F, features as { name: string }[]);
  // A missing network is networkFromBlobs' to report ('the neural model has no network description').
  if (isNnArchitecture(modelType) && m.network !== undefined) {
    const net = c.object(m.network, 'network');
    c.int(net.parameters, 'network.parameters');
    const t = c.object(net.training, 'network.training');
    for (const k of ['epochsRun', 'bestEpoch', 'validationRows']) c.int(t[k], `network.training.${k}`);
    c.number(t.epochSeconds, 'network.training.epochSeconds', 0);
    c.array(net.curves, 'network.curves').forEach((e, i) => {
      const o = c.object(e, `network.curves[${i}]`);
      c.int(o.epoch, `network.curves[${i}].epoch`);
      for (const k of ['loss', 'accuracy']) c.number(o[k], `network.curves[${i}].${k}`);
      for (const k of ['valLoss', 'valAccuracy']) c.optional(o, k, `network.curves[${i}]`, (v, p) => c.number(v, p));
    });
  }
  const st = c.object(m.storage, 'storage');
  c.array(st.blobs, 'storage.blobs').forEach((b, i) => {
    const o = c.object(b, `storage.blobs[${i}]`);
    c.string(o.name, `storage.blobs[${i}].name`, { nonEmpty: true });
    c.oneOf(o.dtype, `storage.blobs[${i}].dtype`, ['int32', 'float64', 'uint8', 'float32']);
    c.int(o.offset, `storage.blobs[${i}].offset`);
    c.int(o.length, `storage.blobs[${i}].length`);
  });
  if (typeof st.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(st.sha256)) c.fail('storage.sha256', 'a SHA-256 in hex', st.sha256);
  void classes;
  return m as unknown as ModelManifest;
}

/** Learner parameters that may be text (every other one is a finite number, a flag or a list of numbers). */
const TEXT_PARAMS: Record<string, readonly string[]> = {
  maxFeatures: ['sqrt', 'log2', 'all'], classWeight: ['balanced', 'none'], minChildWeight: ['auto'],
  earlyStopping: ['auto', 'on', 'off'], lowGradientThreshold: ['auto'], architecture: ['mlp', 'cnn', 'lstm', 'cnn-lstm'],
  input: ['auto', 'features', 'sequence'], scaling: ['log-standard', 'standard'],
};

/** Learner parameters: an object of finite numbers, known words, flags and lists of numbers (as the learners wrote them). */
function checkParams(c: Checker, v: unknown): void {
  const o = c.object(v, 'params');
  for (const [k, x] of Object.entries(o)) {
    const p = `params.${k}`;
    const words = TEXT_PARAMS[k];
    if (typeof x === 'string' && words) c.oneOf(x, p, words);
    else if (typeof x === 'boolean') continue;
    else if (Array.isArray(x)) c.array(x, p).forEach((e, i) => c.number(e, `${p}[${i}]`));
    else c.number(x, p);
  }
}

function checkSplit(c: Checker, v: unknown, path: Path): void {
  const o = c.object(v, path);
  c.oneOf(o.kind, `${path}.kind`, SPLIT_KINDS);
  c.optional(o, 'folds', path, (x, p) => c.int(x, p, 1, 1 << 20));
  c.optional(o, 'testShare', path, (x, p) => c.number(x, p, 0, 1));
  c.optional(o, 'groupBy', path, (x, p) => c.string(x, p));
  c.boolean(o.shuffled, `${path}.shuffled`);
  c.number(o.seed, `${path}.seed`);
  c.string(o.description, `${path}.description`);
}

/** The support guard (see support.ts): packet-count floor, per-feature ranges, how the thresholds were chosen. */
function checkSupport(c: Checker, v: unknown, F: number, features: { name: string }[]): void {
  const s = c.object(v, 'support');
  if (s.packets !== undefined) {
    const p = c.object(s.packets, 'support.packets');
    c.oneOf(p.from, 'support.packets.from', ['fwd_pkts+bwd_pkts', 'flowPktsPerSecond*duration']);
    c.int(p.min, 'support.packets.min', 0, 1 << 30);
    c.number(p.share, 'support.packets.share', 0, 1);
    const names = new Set(features.map((f) => f.name));
    const need = p.from === 'fwd_pkts+bwd_pkts' ? ['fwd_pkts', 'bwd_pkts'] : ['flowPktsPerSecond', 'duration'];
    for (const n of need) if (!names.has(n)) c.fail('support.packets.from', `computable from the model's features (no '${n}')`, p.from);
  }
  if (s.ranges !== undefined) {
    const r = c.object(s.ranges, 'support.ranges');
    const lo = c.array(r.lo, 'support.ranges.lo', { length: F });
    const hi = c.array(r.hi, 'support.ranges.hi', { length: F });
    for (let f = 0; f < F; f++) {
      // null: no finite training value, so no range check on that input.
      if (lo[f] === null && hi[f] === null) continue;
      const a = c.number(lo[f], `support.ranges.lo[${f}]`);
      c.number(hi[f], `support.ranges.hi[${f}]`, a);
    }
  }
  if (s.confidence !== undefined) {
    const k = c.object(s.confidence, 'support.confidence');
    c.number(k.target, 'support.confidence.target', 0, 1);
    c.number(k.threshold, 'support.confidence.threshold', 0, 1);
    c.number(k.accuracy, 'support.confidence.accuracy', 0, 1);
    c.number(k.coverage, 'support.confidence.coverage', 0, 1);
    c.int(k.rows, 'support.confidence.rows');
    c.string(k.heldOut, 'support.confidence.heldOut');
  }
}
