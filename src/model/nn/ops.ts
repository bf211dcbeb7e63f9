import type * as TF from '@tensorflow/tfjs';
import { runKernel } from './kernels.ts';
import type { LayerSpec, NetworkSpec } from './spec.ts';

/**
 * Network layers as tfjs ops with hand-written gradients. The wasm backend has no gradient for conv1d
 * (Conv2DBackpropFilter is not registered) and its matMul is several times slower when asked to transpose an
 * operand, so each layer here computes its backward pass from plain, untransposed matMuls (transposing the small
 * operand explicitly), its own patch kernels (im2col) and a fused LSTM cell gradient. Gradients are checked
 * against tfjs's automatic ones in test/model/nn.test.ts.
 */
type Tf = typeof TF;
type T = TF.Tensor;
type T1 = TF.Tensor1D;
type T2 = TF.Tensor2D;
type T3 = TF.Tensor3D;

/**
 * A custom-gradient op. `f` computes the value and lists the tensors its gradient needs; tfjs keeps clones of those
 * (the originals are released with the forward pass) and hands them back, in the same order, to `grad`.
 */
function custom(
  tf: Tf, f: (args: T[]) => { value: T; save: T[]; grad: (dy: T, saved: T[]) => T[] },
): (...args: T[]) => T {
  return tf.customGrad(((...all: unknown[]) => {
    const save = all.pop() as TF.GradSaveFunc;
    const r = f(all as T[]);
    save(r.save);
    return { value: r.value, gradFunc: (dy: T, saved: T[]) => r.grad(dy, saved) };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
}

const colSum = (tf: Tf, g: T): T => runKernel(tf, 'VeilColSum', { x: g }) as T;

/** act(x W + b) for x [n, inputs]; `needDx` false when x is the data (no gradient wanted). */
export function dense(tf: Tf, x: T2, W: T2, b: T1, relu: boolean, needDx: boolean): T2 {
  const fn = custom(tf, (args) => {
    const [w, bb] = args as [T2, T1];
    const xin = needDx ? (args[2] as T2) : x;
    const y = tf.fused.matMul({ a: xin, b: w, bias: bb, activation: relu ? 'relu' : 'linear' });
    return {
      value: y,
      save: [xin, w, y],
      grad: (dy, [xin, w, y]) => {
        const g = relu ? (tf.mul(dy, tf.step(y!)) as T2) : (dy as T2);
        const grads: T[] = [tf.matMul(tf.transpose(xin!), g), colSum(tf, g)];
        if (needDx) grads.push(tf.matMul(g, tf.transpose(w!)));
        return grads;
      },
    };
  });
  return (needDx ? fn(W, b, x) : fn(W, b)) as T2;
}

/** relu(conv1d(x, W) + b), 'same' padding, stride 1: x [B, T, C], W [K * C, F] (im2col order). */
export function conv1d(tf: Tf, x: T3, W: T2, b: T1, kernel: number, needDx: boolean): T3 {
  const [B, T, C] = x.shape;
  const F = W.shape[1];
  const pl = (kernel - 1) >> 1;
  const fn = custom(tf, (args) => {
    const [w, bb] = args as [T2, T1];
    const xin = needDx ? (args[2] as T3) : x;
    const cols = runKernel(tf, 'VeilIm2col', { x: xin }, { kernel, pl }) as T2;
    const y = tf.fused.matMul({ a: cols, b: w, bias: bb, activation: 'relu' });
    return {
      value: tf.reshape(y, [B, T, F]),
      save: [cols, w, y],
      grad: (dy, [cols, w, y]) => {
        const g = tf.mul(tf.reshape(dy, [B * T, F]), tf.step(y!)) as T2;
        // dW = cols^T g; transposing g instead (dW^T = g^T cols) moves less data when g is the narrower.
        const dW = F < kernel * C ? tf.transpose(tf.matMul(tf.transpose(g), cols!)) : tf.matMul(tf.transpose(cols!), g);
        const grads: T[] = [dW, colSum(tf, g)];
        if (needDx) grads.push(runKernel(tf, 'VeilCol2im', { x: tf.matMul(g, tf.transpose(w!)) }, { dims: [B, T, C, kernel, pl] }) as T);
        return grads;
      },
    };
  });
  return (needDx ? fn(W, b, x) : fn(W, b)) as T3;
}

/** Maximum over time: [B, T, C] to [B, C] (the gradient goes to the first step holding the maximum). */
export function maxOverTime(tf: Tf, x: T3): T2 {
  const T = x.shape[1];
  return custom(tf, ([xx]) => {
    const [m, at] = runKernel(tf, 'VeilMaxTime', { x: xx! }) as [T2, T2];
    return {
      value: m,
      save: [at],
      grad: (dy, [at]) => [runKernel(tf, 'VeilMaxTimeBack', { dy, at: at! }, { steps: T }) as T],
    };
  })(x) as T2;
}

const block = (tf: Tf, x: T, r0: number, nr: number, c0: number, nc: number): T2 =>
  runKernel(tf, 'VeilBlock', { x }, { block: [r0, nr, c0, nc] }) as T2;

/**
 * LSTM over x [B, T, C], returning the last hidden state [B, H]. Weights Wx [C, 4H], Wh [H, 4H], b [4H], gate
 * blocks i, f, o, g. Runs in a transposed layout (units x batch) so each gate is a contiguous row block; tanh is
 * computed as 2 sigmoid(2x) - 1 (the g rows are pre-scaled by 2), one sigmoid over all four gates per step.
 */
export function lstm(tf: Tf, x: T3, Wx: T2, Wh: T2, b: T1, needDx: boolean): T2 {
  const [B, T, C] = x.shape;
  const H = Wh.shape[0];
  const G = 4 * H;
  const fn = custom(tf, (args) => {
    const [wx, wh, bb] = args as [T2, T2, T1];
    const xin = needDx ? (args[3] as T3) : x;
    const scale = tf.concat([tf.ones([3 * H, 1]), tf.fill([H, 1], 2)], 0);
    // Column t * B + b of xcb is step t of flow b.
    const xcb = tf.reshape(tf.transpose(xin, [2, 1, 0]), [C, T * B]);
    const xp = tf.mul(tf.add(tf.matMul(tf.transpose(wx), xcb), tf.reshape(bb, [G, 1])), scale);
    const whs = tf.mul(tf.transpose(wh), scale);
    let h = tf.zeros([H, B]) as T2;
    let c = tf.zeros([H, B]) as T2;
    const S: T2[] = [], CP: T2[] = [], TC: T2[] = [], HP: T2[] = [];
    for (let t = 0; t < T; t++) {
      const s = tf.sigmoid(tf.add(tf.matMul(whs, h), block(tf, xp, 0, G, t * B, B))) as T2;
      const i = block(tf, s, 0, H, 0, B), f = block(tf, s, H, H, 0, B), o = block(tf, s, 2 * H, H, 0, B);
      const g = tf.sub(tf.mul(block(tf, s, 3 * H, H, 0, B), 2), 1);
      const cn = tf.add(tf.mul(f, c), tf.mul(i, g)) as T2;
      const tc = tf.sub(tf.mul(tf.sigmoid(tf.mul(cn, 2)), 2), 1) as T2;
      S.push(s); CP.push(c); TC.push(tc); HP.push(h);
      h = tf.mul(o, tc);
      c = cn;
    }
    return {
      value: tf.transpose(h),
      save: [...S, ...CP, ...TC, ...HP, xcb, wx, wh],
      grad: (dy, saved) => {
        const at = (k: number, t: number): T2 => saved[k * T + t] as T2;
        const [xcb, wx, wh] = saved.slice(4 * T) as [T2, T2, T2];
        let dh = tf.transpose(dy) as T2;
        let dc = tf.zeros([H, B]) as T2;
        const DZ: T2[] = new Array(T);
        for (let t = T - 1; t >= 0; t--) {
          const [dz, dcp] = runKernel(tf, 'VeilLstmBack', { s: at(0, t), cPrev: at(1, t), tc: at(2, t), dh, dc }) as [T2, T2];
          DZ[t] = dz;
          dc = dcp;
          if (t > 0) dh = tf.matMul(wh, dz);
        }
        const dz = tf.concat(DZ, 1) as T2;
        const hp = tf.concat(saved.slice(3 * T, 4 * T), 1) as T2;
        const grads: T[] = [
          tf.transpose(tf.matMul(dz, tf.transpose(xcb))),
          tf.transpose(tf.matMul(dz, tf.transpose(hp))),
          tf.sum(dz, 1),
        ];
        if (needDx) grads.push(tf.transpose(tf.reshape(tf.matMul(wx, dz), [C, T, B]), [2, 1, 0]));
        return grads;
      },
    };
  });
  return (needDx ? fn(Wx, Wh, b, x) : fn(Wx, Wh, b)) as T2;
}

/**
 * Class-weighted cross-entropy of logits [B, K]: target holds each row's class weight at its class (0
 * elsewhere); the loss is sum(-w log p) / total (PyTorch's weighted mean when total is the summed weights).
 */
export function weightedCrossEntropy(tf: Tf, logits: T2, target: T2, total: number): TF.Scalar {
  return custom(tf, ([lg]) => {
    const [loss, grad] = runKernel(tf, 'VeilSoftmaxCE', { logits: lg!, target }, { total }) as [T, T];
    return { value: loss, save: [grad], grad: (dy, [grad]) => [tf.mul(grad!, dy)] };
  })(logits) as TF.Scalar;
}

/** The network's logits for x [B, steps, channels], from weight tensors in parameterShapes() order. */
export function logits(tf: Tf, spec: NetworkSpec, weights: readonly T[], x: T3): T2 {
  let cur: T = x;
  let fromData = true;
  let k = 0;
  const steps = spec.input.steps;
  for (const l of spec.layers as LayerSpec[]) {
    switch (l.kind) {
      case 'flatten':
        cur = tf.reshape(cur, [cur.shape[0]!, steps * spec.input.channels]);
        break;
      case 'dense':
        cur = dense(tf, cur as T2, weights[k] as T2, weights[k + 1] as T1, l.activation === 'relu', !fromData);
        k += 2; fromData = false;
        break;
      case 'conv1d':
        cur = conv1d(tf, cur as T3, weights[k] as T2, weights[k + 1] as T1, l.kernel, !fromData);
        k += 2; fromData = false;
        break;
      case 'maxpool':
        cur = maxOverTime(tf, cur as T3);
        break;
      case 'lstm':
        cur = lstm(tf, cur as T3, weights[k] as T2, weights[k + 1] as T2, weights[k + 2] as T1, !fromData);
        k += 3; fromData = false;
        break;
    }
  }
  return cur as T2;
}
