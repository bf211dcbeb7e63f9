import { Rng, deriveSeed } from '../../core/rng.ts';
import { ModelError, ModelErrorCode } from '../errors.ts';
import { fitScaling, inputGrid, planInput, resolveInputKind } from './inputs.ts';
import { networkProba } from './forward.ts';
import { logits } from './ops.ts';
import { trainStep } from './step.ts';
import { loadTf, type NnBackend, type Tf } from './tf.ts';
import { buildLayers, parameterShapes, sizeOf, type NetworkSpec, type NeuralNetwork, type NnParams } from './spec.ts';

/**
 * Training: mini-batch Adam on the class-weighted cross-entropy, in tfjs, with seeded initialisation and
 * shuffling, early stopping on a stratified validation share (the best epoch's weights are kept), and loss and
 * accuracy per epoch. Weights live in JavaScript arrays between batches; Adam updates them there (one pass per
 * array, where tfjs's optimizer would run a dozen tensor ops per weight).
 */
export interface EpochCurve {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface NnProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean training loss and accuracy so far in this epoch. */
  loss: number;
  accuracy: number;
  /** Estimated seconds until the last epoch ends. */
  secondsLeft: number;
  /** Set at the end of an epoch. */
  curve?: EpochCurve;
}

export interface FitNetworkOptions {
  backend?: NnBackend;
  /** Also return the validation rows' probabilities (for calibration). */
  heldOut?: boolean;
  onProgress?: (p: NnProgress) => void;
}

export interface FittedNetwork {
  network: NeuralNetwork;
  curves: EpochCurve[];
  /** Epochs run, and the (1-based) epoch whose weights were kept. */
  epochsRun: number;
  bestEpoch: number;
  backend: NnBackend;
  backendNote?: string;
  fitSeconds: number;
  /** Mean wall and CPU (this process) seconds per epoch. */
  epochSeconds: number;
  epochCpuSeconds: number;
  validationRows: number;
  heldOut?: { rows: Int32Array; proba: Float64Array; what: string };
}

function labelledRows(y: Int32Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) out.push(i);
  return Int32Array.from(out);
}

/** Stratified, seeded hold-out of `share` of each class (classes with fewer than 2 rows stay in training). */
export function validationSplit(y: Int32Array, rows: Int32Array, K: number, share: number, seed: number): { fit: Int32Array; val: Int32Array } {
  if (share <= 0) return { fit: rows, val: new Int32Array(0) };
  const rng = new Rng(deriveSeed(seed, 11));
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (const r of rows) byClass[y[r]!]!.push(r);
  const fit: number[] = [], val: number[] = [];
  for (const rs of byClass) {
    rng.shuffle(rs);
    const nv = rs.length >= 2 ? Math.min(rs.length - 1, Math.max(1, Math.round(rs.length * share))) : 0;
    rs.forEach((r, i) => (i < nv ? val : fit).push(r));
  }
  return { fit: Int32Array.from(fit.sort((a, b) => a - b)), val: Int32Array.from(val.sort((a, b) => a - b)) };
}

/** The network `fitNetwork` builds for these parameters, inputs (`names`) and `K` classes. */
export function networkSpec(p: NnParams, names: readonly string[], K: number): NetworkSpec {
  const plan = planInput(names, resolveInputKind(p.architecture, p.input, names), p.scaling);
  return { architecture: p.architecture, input: plan, layers: buildLayers(p, plan, K), classes: K };
}

/**
 * Epoch `epoch`'s batch order: `order` (the training rows' local indices, carried over from the previous epoch)
 * shuffled in place by a stream that depends on the seed and the epoch number alone.
 */
export function shuffleForEpoch(order: Int32Array, seed: number, epoch: number): void {
  new Rng(deriveSeed(seed, 2, epoch)).shuffle(order);
}

/** Glorot-uniform weights, zero biases (LSTM forget gate: 1), from the seed. */
export function initialWeights(spec: NetworkSpec, seed: number): Float32Array[] {
  const rng = new Rng(deriveSeed(seed, 1));
  const out: Float32Array[] = [];
  const glorot = (shape: number[], fanIn: number, fanOut: number): Float32Array => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return Float32Array.from({ length: sizeOf(shape) }, () => (rng.float() * 2 - 1) * lim);
  };
  for (const l of spec.layers) {
    if (l.kind === 'dense') out.push(glorot([l.inputs, l.units], l.inputs, l.units), new Float32Array(l.units));
    else if (l.kind === 'conv1d') out.push(glorot([l.kernel * l.channels, l.filters], l.kernel * l.channels, l.kernel * l.filters), new Float32Array(l.filters));
    else if (l.kind === 'lstm') {
      const b = new Float32Array(4 * l.units);
      b.fill(1, l.units, 2 * l.units);
      out.push(glorot([l.inputs, 4 * l.units], l.inputs, 4 * l.units), glorot([l.units, 4 * l.units], l.units, 4 * l.units), b);
    }
  }
  return out;
}

/**
 * Adam (Kingma and Ba), PyTorch's arithmetic: step lr / (1 - b1^t) along m / (sqrt(v / (1 - b2^t)) + eps). The moments
 * are kept in float64 (no float32 rounding on every store, which costs time here; PyTorch keeps them in float32).
 */
class Adam {
  private t = 0;
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  constructor(private readonly lr: number, params: readonly Float32Array[], private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-8) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(params: Float32Array[], grads: readonly Float32Array[]): void {
    this.t++;
    const { b1, b2, eps } = this;
    const step = this.lr / (1 - b1 ** this.t);
    const bc2 = Math.sqrt(1 - b2 ** this.t);
    params.forEach((p, k) => {
      const g = grads[k]!, m = this.m[k]!, v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i]! -= (step * mi) / (Math.sqrt(vi) / bc2 + eps);
      }
    });
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Loss and correct answers of a network (as tensors) on prepared rows, in chunks, without gradients. */
function score(
  tf: Tf, spec: NetworkSpec, weights: readonly Float32Array[], X: Float32Array, y: Int32Array, cw: Float64Array,
): { loss: number; accuracy: number } {
  const n = y.length;
  const K = spec.classes;
  const width = spec.input.steps * spec.input.channels;
  const shapes = parameterShapes(spec);
  let lossSum = 0, wSum = 0, correct = 0;
  const CHUNK = 1024;
  tf.tidy(() => {
    const ws = weights.map((w, k) => tf.tensor(w, shapes[k]!.shape));
    for (let r0 = 0; r0 < n; r0 += CHUNK) {
      const r1 = Math.min(n, r0 + CHUNK);
      const lg = tf.tidy(() => logits(tf, spec, ws, tf.tensor3d(X.subarray(r0 * width, r1 * width), [r1 - r0, spec.input.steps, spec.input.channels])));
      const v = lg.dataSync();
      lg.dispose();
      for (let i = 0; i < r1 - r0; i++) {
        const o = i * K, t = y[r0 + i]!;
        let mx = -Infinity, best = 0;
        for (let c = 0; c < K; c++) if (v[o + c]! > mx) { mx = v[o + c]!; best = c; }
        let z = 0;
        for (let c = 0; c < K; c++) z += Math.exp(v[o + c]! - mx);
        lossSum += cw[t]! * -(v[o + t]! - mx - Math.log(z));
        wSum += cw[t]!;
        if (best === t) correct++;
      }
    }
  });
  return { loss: wSum > 0 ? lossSum / wSum : 0, accuracy: n ? correct / n : 0 };
}

/**
 * Trains a network on `rows` (default: every labelled row) of the model inputs (`names` in the order of `columns`).
 *
 * @example
 * const fit = await fitNetwork(cols, y, 2, names, nnParams('cnn', { epochs: 5 }));
 * networkProba(fit.network, cols);
 */
export async function fitNetwork(
  columns: readonly Float64Array[], y: Int32Array, K: number, names: readonly string[], p: NnParams,
  opts: FitNetworkOptions = {}, rows?: Int32Array,
): Promise<FittedNetwork> {
  const train = rows ?? labelledRows(y);
  if (!columns.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no feature columns');
  if (!train.length) throw new ModelError(ModelErrorCode.BAD_TRAINING, 'no training rows');
  if (K < 2) throw new ModelError(ModelErrorCode.BAD_TRAINING, `need at least 2 classes to learn from (have ${K})`);
  if (!(p.epochs >= 1 && p.batchSize >= 1 && p.learningRate > 0)) {
    throw new ModelError(ModelErrorCode.BAD_TRAINING, `bad training parameters (epochs ${p.epochs}, batch size ${p.batchSize}, learning rate ${p.learningRate})`);
  }
  const { tf, backend, note } = await loadTf(opts.backend);
  const t0 = performance.now();
  const spec = networkSpec(p, names, K);
  const plan = spec.input;
  const { fit, val } = validationSplit(y, train, K, p.validationShare, p.seed);
  const { mean, scale } = fitScaling(plan, columns, fit);
  const width = plan.steps * plan.channels;
  const Xfit = inputGrid(plan, mean, scale, columns, fit);
  const yfit = Int32Array.from(fit, (r) => y[r]!);
  const Xval = inputGrid(plan, mean, scale, columns, val);
  const yval = Int32Array.from(val, (r) => y[r]!);

  const cw = new Float64Array(K).fill(1);
  if (p.classWeight === 'balanced') {
    const counts = new Float64Array(K);
    for (const t of yfit) counts[t]!++;
    let present = 0;
    for (let c = 0; c < K; c++) if (counts[c]! > 0) present++;
    for (let c = 0; c < K; c++) cw[c] = counts[c]! > 0 ? yfit.length / (present * counts[c]!) : 1;
  }

  const weights = initialWeights(spec, p.seed);
  const adam = new Adam(p.learningRate, weights);
  const n = fit.length;
  const B = Math.min(p.batchSize, n);
  const batches = Math.ceil(n / B);
  const xb = new Float32Array(B * width);
  const tb = new Float32Array(B * K);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const curves: EpochCurve[] = [];
  let best = Infinity, bestEpoch = 0, bestWeights = weights.map((w) => w.slice());
  let wall = 0, cpu = 0;
  let epochsRun = 0;
  for (let e = 0; e < p.epochs; e++) {
    const e0 = performance.now(), c0 = cpuSeconds();
    // Each epoch's order comes from the seed and the epoch number alone.
    shuffleForEpoch(order, p.seed, e);
    let lossSum = 0, wSum = 0, correct = 0;
    for (let bi = 0; bi < batches; bi++) {
      const r0 = bi * B, nb = Math.min(B, n - r0);
      tb.fill(0);
      let total = 0;
      for (let i = 0; i < nb; i++) {
        const r = order[r0 + i]!;
        // Element copy: a subarray per row would allocate 15 000 small objects an epoch.
        for (let j = 0, a = r * width, o = i * width; j < width; j++) xb[o + j] = Xfit[a + j]!;
        const t = yfit[r]!;
        tb[i * K + t] = cw[t]!;
        total += cw[t]!;
      }
      const { loss, logits: lg, grads } = trainStep(tf, spec, weights, xb, nb, tb, total);
      lossSum += loss * total;
      wSum += total;
      adam.step(weights, grads);
      for (let i = 0; i < nb; i++) {
        let b = 0;
        for (let c = 1; c < K; c++) if (lg[i * K + c]! > lg[i * K + b]!) b = c;
        if (b === yfit[order[r0 + i]!]) correct++;
      }
      if (opts.onProgress) {
        const done = e + (bi + 1) / batches;
        const elapsed = wall + (performance.now() - e0) / 1000;
        opts.onProgress({
          epoch: e + 1, epochs: p.epochs, batch: bi + 1, batches, loss: lossSum / wSum, accuracy: correct / (r0 + nb),
          secondsLeft: (elapsed / done) * (p.epochs - done),
        });
      }
    }
    const curve: EpochCurve = { epoch: e + 1, loss: wSum ? lossSum / wSum : 0, accuracy: correct / n };
    if (val.length) {
      const s = score(tf, spec, weights, Xval, yval, cw);
      curve.valLoss = s.loss;
      curve.valAccuracy = s.accuracy;
    }
    curves.push(curve);
    wall += (performance.now() - e0) / 1000;
    cpu += cpuSeconds() - c0;
    epochsRun = e + 1;
    const watched = curve.valLoss ?? curve.loss;
    if (!val.length || watched < best - 1e-7) {
      best = watched; bestEpoch = e + 1; bestWeights = weights.map((w) => w.slice());
    }
    opts.onProgress?.({
      epoch: e + 1, epochs: p.epochs, batch: batches, batches, loss: curve.loss, accuracy: curve.accuracy,
      secondsLeft: (wall / (e + 1)) * (p.epochs - e - 1), curve,
    });
    if (val.length && e + 1 - bestEpoch >= p.patience) break;
  }
  const network: NeuralNetwork = { spec, weights: bestWeights, mean, scale };
  const out: FittedNetwork = {
    network, curves, epochsRun, bestEpoch, backend, ...(note ? { backendNote: note } : {}),
    fitSeconds: (performance.now() - t0) / 1000, epochSeconds: wall / epochsRun, epochCpuSeconds: cpu / epochsRun,
    validationRows: val.length,
  };
  if (opts.heldOut && val.length) {
    out.heldOut = { rows: val, proba: networkProba(network, columns, val), what: `early-stopping validation rows (${val.length})` };
  }
  return out;
}
