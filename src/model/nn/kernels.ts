import type * as TF from '@tensorflow/tfjs';

/**
 * Small kernels written over the backend's float32 memory, for what the wasm backend does slowly: its Slice,
 * Gather, Pad and Concat read their whole input (a copy of the tensor) to take a part of it, so a row block of a
 * big tensor costs as much as copying all of it. These copy only what they return. Registered for 'wasm' and
 * 'cpu'; the network ops in ops.ts call them inside custom gradients, so they need no gradient of their own.
 */
type Tf = typeof TF;
type Info = { dataId: object; shape: number[]; dtype: string };

interface Mem {
  /** A float32 view of a tensor's data (wasm: into the heap; take views after allocating, the heap may move). */
  view(t: Info): Float32Array;
  alloc(shape: number[]): Info;
}

function memOf(backend: unknown): Mem {
  const b = backend as {
    typedArrayFromHeap?: (t: Info) => Float32Array;
    makeOutput?: (shape: number[], dtype: string) => Info;
    data?: { get(id: object): { values: Float32Array } };
    makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => Info;
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    return { view: (t) => b.typedArrayFromHeap!(t), alloc: (shape) => b.makeOutput!(shape, 'float32') };
  }
  return {
    view: (t) => b.data!.get(t.dataId).values,
    alloc: (shape) => b.makeTensorInfo!(shape, 'float32', new Float32Array(shape.reduce((x, y) => x * y, 1))),
  };
}

type Args = { inputs: Record<string, Info>; attrs: Record<string, unknown>; backend: unknown };

const KERNELS: Record<string, (a: Args) => Info | Info[]> = {
  /** Rows [r0, r0 + nr) and columns [c0, c0 + nc) of a 2-D tensor. */
  VeilBlock({ inputs: { x }, attrs, backend }) {
    const m = memOf(backend);
    const [r0, nr, c0, nc] = attrs.block as number[];
    const cols = x!.shape[1]!;
    const out = m.alloc([nr!, nc!]);
    const src = m.view(x!), dst = m.view(out);
    if (c0 === 0 && nc === cols) dst.set(src.subarray(r0! * cols, (r0! + nr!) * cols));
    else for (let r = 0; r < nr!; r++) dst.set(src.subarray((r0! + r) * cols + c0!, (r0! + r) * cols + c0! + nc!), r * nc!);
    return out;
  },
  /** [B, T, C] to the convolution's patches [B * T, K * C] ('same' padding: pl steps of zeros before). */
  VeilIm2col({ inputs: { x }, attrs, backend }) {
    const m = memOf(backend);
    const [B, T, C] = x!.shape as [number, number, number];
    const K = attrs.kernel as number, pl = attrs.pl as number;
    const out = m.alloc([B * T, K * C]);
    const src = m.view(x!), dst = m.view(out);
    // Fresh wasm memory is not zeroed: the padding cells must be written.
    dst.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * K * C;
        for (let k = 0; k < K; k++) {
          const s = t + k - pl;
          if (s < 0 || s >= T) continue;
          const from = (b * T + s) * C, to = o + k * C;
          for (let c = 0; c < C; c++) dst[to + c] = src[from + c]!;
        }
      }
    }
    return out;
  },
  /** The adjoint of VeilIm2col: patch gradients [B * T, K * C] summed back into [B, T, C]. */
  VeilCol2im({ inputs: { x }, attrs, backend }) {
    const m = memOf(backend);
    const [B, T, C, K, pl] = attrs.dims as number[];
    const out = m.alloc([B!, T!, C!]);
    const src = m.view(x!), dst = m.view(out);
    dst.fill(0);
    for (let b = 0; b < B!; b++) {
      for (let t = 0; t < T!; t++) {
        const o = (b * T! + t) * K! * C!;
        for (let k = 0; k < K!; k++) {
          const s = t + k - pl!;
          if (s < 0 || s >= T!) continue;
          const d = (b * T! + s) * C!, q = o + k * C!;
          for (let c = 0; c < C!; c++) dst[d + c]! += src[q + c]!;
        }
      }
    }
    return out;
  },
  /** Column sums of a 2-D tensor [n, m] (bias gradients; wasm's Sum over axis 0 transposes first). */
  VeilColSum({ inputs: { x }, backend }) {
    const m = memOf(backend);
    const [n, w] = x!.shape as [number, number];
    const out = m.alloc([w]);
    const src = m.view(x!), dst = m.view(out);
    dst.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) dst[j]! += src[i * w + j]!;
    return out;
  },
  /**
   * Class-weighted softmax cross-entropy of logits [B, K] against target [B, K] (each row's class weight at its
   * class): the loss sum(-w log p) / total as [1], and its gradient with respect to the logits [B, K].
   */
  VeilSoftmaxCE({ inputs: { logits, target }, attrs, backend }) {
    const m = memOf(backend);
    const [B, K] = logits!.shape as [number, number];
    const total = attrs.total as number;
    const lossI = m.alloc([]), gradI = m.alloc([B, K]);
    const L = m.view(logits!), Tg = m.view(target!), out = m.view(lossI), G = m.view(gradI);
    let loss = 0;
    for (let i = 0; i < B; i++) {
      const o = i * K;
      let mx = -Infinity, w = 0;
      for (let c = 0; c < K; c++) { if (L[o + c]! > mx) mx = L[o + c]!; w += Tg[o + c]!; }
      let z = 0;
      for (let c = 0; c < K; c++) z += Math.exp(L[o + c]! - mx);
      const lz = Math.log(z);
      for (let c = 0; c < K; c++) {
        const ls = L[o + c]! - mx - lz;
        loss -= Tg[o + c]! * ls;
        G[o + c] = (Math.exp(ls) * w - Tg[o + c]!) / total;
      }
    }
    out[0] = loss / total;
    return [lossI, gradI];
  },
  /** Maximum over time of [B, T, C]: values [B, C] and the step each came from (as float32) [B, C]. */
  VeilMaxTime({ inputs: { x }, backend }) {
    const m = memOf(backend);
    const [B, T, C] = x!.shape as [number, number, number];
    const vI = m.alloc([B, C]), iI = m.alloc([B, C]);
    const src = m.view(x!), V = m.view(vI), I = m.view(iI);
    // Steps outer, channels inner: reads the input in memory order.
    for (let b = 0; b < B; b++) {
      const o = b * C;
      for (let c = 0; c < C; c++) { V[o + c] = src[b * T * C + c]!; I[o + c] = 0; }
      for (let t = 1; t < T; t++) {
        const q = (b * T + t) * C;
        for (let c = 0; c < C; c++) { const v = src[q + c]!; if (v > V[o + c]!) { V[o + c] = v; I[o + c] = t; } }
      }
    }
    return [vI, iI];
  },
  /** Gradient of VeilMaxTime: dy [B, C] to the steps that gave the maxima, [B, T, C]. */
  VeilMaxTimeBack({ inputs: { dy, at }, attrs, backend }) {
    const m = memOf(backend);
    const [B, C] = dy!.shape as [number, number];
    const T = attrs.steps as number;
    const out = m.alloc([B, T, C]);
    const D = m.view(dy!), I = m.view(at!), dst = m.view(out);
    dst.fill(0);
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) dst[(b * T + I[b * C + c]!) * C + c] = D[b * C + c]!;
    return out;
  },
  /**
   * One step back through an LSTM cell, transposed layout (units x batch). s: gate sigmoids [4H, B] (blocks i, f,
   * o, q with g = 2q - 1 = tanh of the g pre-activation), cPrev, tc = tanh(c), dh, dc: [H, B].
   * Returns dz (pre-activation gradients, unscaled, [4H, B]) and dc for the previous step.
   */
  VeilLstmBack({ inputs: { s, cPrev, tc, dh, dc }, backend }) {
    const m = memOf(backend);
    const [G, B] = s!.shape as [number, number];
    const H = G / 4, n = H * B;
    const dzI = m.alloc([G, B]), dcI = m.alloc([H, B]);
    const S = m.view(s!), CP = m.view(cPrev!), TC = m.view(tc!), DH = m.view(dh!), DC = m.view(dc!);
    const DZ = m.view(dzI), DCP = m.view(dcI);
    for (let k = 0; k < n; k++) {
      const i = S[k]!, f = S[n + k]!, o = S[2 * n + k]!, q = S[3 * n + k]!;
      const g = 2 * q - 1, t = TC[k]!, h = DH[k]!;
      const d = DC[k]! + h * o * (1 - t * t);
      DZ[k] = d * g * i * (1 - i);
      DZ[n + k] = d * CP[k]! * f * (1 - f);
      DZ[2 * n + k] = h * t * o * (1 - o);
      DZ[3 * n + k] = d * i * (1 - g * g);
      DCP[k] = d * f;
    }
    return [dzI, dcI];
  },
};

const registered = new Set<string>();

/** Registers the kernels for the active backend (once per backend). */
export function registerKernels(tf: Tf): void {
  const backendName = tf.getBackend();
  if (registered.has(backendName)) return;
  for (const [kernelName, fn] of Object.entries(KERNELS)) {
    tf.registerKernel({ kernelName, backendName, kernelFunc: fn as unknown as TF.KernelFunc });
  }
  registered.add(backendName);
}

export function runKernel(tf: Tf, name: string, inputs: Record<string, TF.Tensor>, attrs: Record<string, unknown> = {}): TF.Tensor | TF.Tensor[] {
  return tf.engine().runKernel(name, inputs as unknown as TF.NamedTensorMap, attrs as unknown as TF.NamedAttrMap) as TF.Tensor | TF.Tensor[];
}
