import type * as TF from '@tensorflow/tfjs';
import { runKernel } from './kernels.ts';
import { parameterShapes, type NetworkSpec } from './spec.ts';

/**
 * One training step without tfjs's gradient tape: the forward pass keeps what each layer's backward pass needs,
 * the backward pass runs in reverse from the loss gradient. Same arithmetic as the custom-gradient ops in ops.ts
 * (test/model/nn.test.ts checks the gradients against tfjs's automatic ones), but without the tape's bookkeeping,
 * the clones it keeps of saved tensors and the per-op gradient closures, which cost as much as the arithmetic on
 * small networks. Also:
 * - the convolution's bias is a last row of its weight matrix and im2col appends a column of ones, so the bias
 *   gradient comes out of the weight gradient's matMul (no column sums); the weight gradient is patches^T g
 *   (the backend packs g, the narrower operand), the patches transposed in blocks (transposeRows);
 * - transposed weights are written from the JavaScript arrays instead of transposed by the backend;
 * - the LSTM runs with flows as rows so each step's matMul takes the (constant) weights as its second operand,
 *   which the backend packs once per batch; a step is that matMul, one sigmoid over all four gates (the g
 *   columns doubled), a sigmoid for tanh (2 sigmoid(2 c) - 1) and small element-wise kernels that also write
 *   the rows the weight gradients need into whole-batch tensors (no concatenation afterwards).
 */
type Tf = typeof TF;
type T = TF.Tensor;
type T2 = TF.Tensor2D;

export interface StepResult {
  /** Weighted mean loss of the batch. */
  loss: number;
  /** The batch's logits, [rows, classes] row-major. */
  logits: Float32Array;
  /** One gradient per parameter, in parameterShapes() order. */
  grads: Float32Array[];
}

/** w [r, c] row-major to [c, r]. */
function transposed(w: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w[i * c + j]!;
  return out;
}

/** A copy of a tensor's values: straight from the wasm heap when the backend has one (no engine read path). */
function read(tf: Tf, t: T): Float32Array {
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: T) => Float32Array };
  return b.typedArrayFromHeap ? b.typedArrayFromHeap(t).slice() : (t.dataSync() as Float32Array);
}

/**
 * x [n, w] to [w, n] as the 3-D transpose [a, n / a, w] to [w, a, n / a] with blocks of about 128 rows: the wasm
 * backend's 2-D transpose of a tall matrix is 3-4 times slower (it strides through the whole output per row).
 */
function transposeRows(tf: Tf, x: T2): T2 {
  const [n, w] = x.shape;
  let a = Math.max(1, Math.round(n / 128));
  while (n % a) a--;
  if (a === 1) return tf.transpose(x);
  return tf.reshape(tf.transpose(tf.reshape(x, [a, n / a, w]), [2, 0, 1]), [w, n]) as T2;
}

/**
 * Loss, logits and parameter gradients of the class-weighted cross-entropy on one batch: x [rows, steps *
 * channels] row-major, target [rows, classes] (each row's class weight at its class), total the summed weights.
 */
export function trainStep(
  tf: Tf, spec: NetworkSpec, weights: readonly Float32Array[], x: Float32Array, rows: number, target: Float32Array, total: number,
): StepResult {
  const shapes = parameterShapes(spec);
  const { steps, channels } = spec.input;
  const K = spec.classes;
  const grads: Float32Array[] = new Array(weights.length);
  let loss = 0;
  let lg: Float32Array = new Float32Array(0);
  tf.tidy(() => {
    const back: ((dy: T) => T | null)[] = [];
    // Gradients are read after the backward pass (one sync each), then split where parameters were joined.
    const pending: { t: T; store: (g: Float32Array) => void }[] = [];
    // A network that starts by flattening gets its input as [rows, steps * channels] (no reshape kernel).
    const flat = spec.layers[0]?.kind === 'flatten';
    let cur: T = flat
      ? tf.tensor2d(x.subarray(0, rows * steps * channels), [rows, steps * channels])
      : tf.tensor3d(x.subarray(0, rows * steps * channels), [rows, steps, channels]);
    let fromData = true;
    let k = 0;
    let skip = -1;
    // The last layer's ReLU output when it was a conv1d, and whether its gradient is taken care of above it.
    let relued: { y: T; done: boolean } | null = null;
    spec.layers.forEach((l, li) => {
      if (li === skip) return;
      let next: typeof relued = null;
      switch (l.kind) {
        case 'flatten':
          if (!flat || li > 0) cur = tf.reshape(cur, [rows, steps * channels]);
          break;
        case 'dense': {
          const kw = k, relu = l.activation === 'relu', needDx = !fromData;
          const xin = cur as T2;
          const W = tf.tensor2d(weights[kw]!, [l.inputs, l.units]);
          const y = tf.fused.matMul({ a: xin, b: W, bias: tf.tensor1d(weights[kw + 1]!), activation: relu ? 'relu' : 'linear' });
          back.push((dy) => {
            const g = relu ? (runKernel(tf, 'VeilReluBack', { dy, y }) as T2) : (dy as T2);
            pending.push({ t: tf.matMul(tf.transpose(xin), g), store: (v) => (grads[kw] = v) });
            pending.push({ t: runKernel(tf, 'VeilColSum', { x: g }) as T, store: (v) => (grads[kw + 1] = v) });
            return needDx ? tf.matMul(g, tf.tensor2d(transposed(weights[kw]!, l.inputs, l.units), [l.units, l.inputs])) : null;
          });
          cur = y; k += 2; fromData = false;
          break;
        }
        case 'conv1d': {
          const kw = k, needDx = !fromData;
          const [B, Ts, C] = cur.shape as [number, number, number];
          const F = l.filters, KC = l.kernel * C, pl = (l.kernel - 1) >> 1;
          const wb = new Float32Array((KC + 1) * F);
          wb.set(weights[kw]!); wb.set(weights[kw + 1]!, KC * F);
          const wbT = tf.tensor2d(wb, [KC + 1, F]);
          const cols = runKernel(tf, 'VeilIm2colOnes', { x: cur }, { kernel: l.kernel, pl }) as T2;
          const colsT = transposeRows(tf, cols);
          // After a conv1d with a ReLU, the input gradient comes out of VeilCol2im with that ReLU's gradient applied.
          const below = relued;
          if (below && needDx) below.done = true;
          const dx = (g: T2): T => runKernel(tf, 'VeilCol2im', {
            x: tf.matMul(g, tf.tensor2d(transposed(weights[kw]!, KC, F), [F, KC])), ...(below ? { y: below.y } : {}),
          }, { dims: [B, Ts, C, l.kernel, pl] }) as T;
          const store = (v: Float32Array): void => { grads[kw] = v.slice(0, KC * F); grads[kw + 1] = v.slice(KC * F); };
          if (spec.layers[li + 1]?.kind === 'maxpool') {
            // Convolution then max over time: the ReLU is applied after the max (they commute: same values and
            // gradients), on [B, F] instead of [B, T, F].
            const [mx, at] = runKernel(tf, 'VeilMaxTime', { x: tf.reshape(tf.matMul(cols, wbT), [B, Ts, F]) }) as [T2, T2];
            const out = tf.relu(mx);
            back.push((dy) => {
              const g = tf.reshape(runKernel(tf, 'VeilMaxTimeBack', { dy: runKernel(tf, 'VeilReluBack', { dy, y: out }) as T, at }, { steps: Ts }) as T, [B * Ts, F]) as T2;
              pending.push({ t: tf.matMul(colsT, g), store });
              return needDx ? dx(g) : null;
            });
            cur = out; k += 2; fromData = false; skip = li + 1;
            break;
          }
          const y = tf.fused.matMul({ a: cols, b: wbT, activation: 'relu' });
          const mine = { y, done: false };
          back.push((dy) => {
            const g = mine.done ? (tf.reshape(dy, [B * Ts, F]) as T2) : (runKernel(tf, 'VeilReluBack', { dy: tf.reshape(dy, [B * Ts, F]), y }) as T2);
            pending.push({ t: tf.matMul(colsT, g), store });
            return needDx ? dx(g) : null;
          });
          cur = tf.reshape(y, [B, Ts, F]); k += 2; fromData = false; next = mine;
          break;
        }
        case 'maxpool': {
          const Ts = cur.shape[1]!;
          const [m, at] = runKernel(tf, 'VeilMaxTime', { x: cur }) as [T2, T2];
          back.push((dy) => runKernel(tf, 'VeilMaxTimeBack', { dy, at }, { steps: Ts }) as T);
          cur = m;
          break;
        }
        case 'lstm': {
          const kw = k, needDx = !fromData;
          const [B, Ts, C] = cur.shape as [number, number, number];
          const H = l.units, G = 4 * H;
          // Rows = flows, step-major: row t * B + b of xtb is step t of flow b. The per-step matMuls take the
          // weights as their second operand (packed by the backend once per batch, not once per step).
          const xtb = tf.reshape(tf.transpose(cur, [1, 0, 2]), [Ts * B, C]) as T2;
          // The g columns of the weights and bias are doubled: one sigmoid gives sigmoid(2 z) there, g = 2 s - 1 = tanh z.
          const twice = (w: Float32Array): Float32Array => {
            const out = w.slice();
            for (let r = 0; r < out.length; r += G) for (let j = 3 * H; j < G; j++) out[r + j]! *= 2;
            return out;
          };
          const xp = tf.fused.matMul({ a: xtb, b: tf.tensor2d(twice(weights[kw]!), [C, G]), bias: tf.tensor1d(twice(weights[kw + 2]!)) });
          const whs = tf.tensor2d(twice(weights[kw + 1]!), [H, G]);
          const hs = tf.zeros([Ts * B, H]) as T2;
          let h = tf.zeros([B, H]) as T2;
          let c = tf.zeros([B, H]) as T2;
          const S: T[] = [], CP: T[] = [], TC: T[] = [];
          for (let t = 0; t < Ts; t++) {
            const s = tf.sigmoid(runKernel(tf, 'VeilLstmZB', { hz: tf.matMul(h, whs), xp }, { step: t }) as T2);
            const [cn, cn2] = runKernel(tf, 'VeilLstmCB', { s, c }) as [T2, T2];
            const [hn, tc] = runKernel(tf, 'VeilLstmHB', { s, q2: tf.sigmoid(cn2), hs }, { step: t }) as [T2, T2];
            S.push(s); CP.push(c); TC.push(tc);
            h = hn; c = cn;
          }
          back.push((dy) => {
            const whT = tf.tensor2d(transposed(weights[kw + 1]!, H, G), [G, H]);
            const dzt = runKernel(tf, 'VeilEmpty', {}, { shape: [G, Ts * B] }) as T2;
            const dzr = needDx ? (runKernel(tf, 'VeilEmpty', {}, { shape: [Ts * B, G] }) as T2) : null;
            let dh = dy as T2;
            let dc = tf.zeros([B, H]) as T2;
            for (let t = Ts - 1; t >= 0; t--) {
              const [dz, dcp] = runKernel(tf, 'VeilLstmBackB', { s: S[t]!, cPrev: CP[t]!, tc: TC[t]!, dh, dc, dzt, ...(dzr ? { dzr } : {}) }, { step: t }) as [T2, T2];
              dc = dcp;
              if (t > 0) dh = tf.matMul(dz, whT);
            }
            pending.push({ t: tf.transpose(tf.matMul(dzt, xtb)), store: (v) => (grads[kw] = v) });
            pending.push({ t: tf.transpose(tf.matMul(dzt, hs)), store: (v) => (grads[kw + 1] = v) });
            pending.push({ t: tf.sum(dzt, 1), store: (v) => (grads[kw + 2] = v) });
            if (!dzr) return null;
            const dx = tf.matMul(dzr, tf.tensor2d(transposed(weights[kw]!, C, G), [G, C]));
            return tf.transpose(tf.reshape(dx, [Ts, B, C]), [1, 0, 2]);
          });
          cur = h; k += 3; fromData = false;
          break;
        }
      }
      relued = next;
    });
    const [lossT, dlogits] = runKernel(tf, 'VeilSoftmaxCE', { logits: cur, target: tf.tensor2d(target.subarray(0, rows * K), [rows, K]) }, { total }) as [T, T];
    lg = read(tf, cur);
    loss = read(tf, lossT)[0]!;
    let dy: T | null = dlogits;
    for (let i = back.length - 1; i >= 0 && dy; i--) dy = back[i]!(dy);
    for (const p of pending) p.store(read(tf, p.t));
  });
  shapes.forEach((s, i) => {
    if (!grads[i] || grads[i]!.length !== weights[i]!.length) throw new Error(`no gradient for parameter ${s.name}`);
  });
  return { loss, logits: lg, grads };
}
