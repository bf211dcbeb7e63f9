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
  /** copy(from, to, at): src[from, to) to dst[at...], as one memmove when both views share a buffer. */
  copier(src: Float32Array, dst: Float32Array): (from: number, to: number, at: number) => void;
}

function copier(src: Float32Array, dst: Float32Array): (from: number, to: number, at: number) => void {
  if (src.buffer === dst.buffer) {
    const all = new Float32Array(src.buffer);
    const so = src.byteOffset >> 2, d0 = dst.byteOffset >> 2;
    return (from, to, at) => { if (to > from) all.copyWithin(d0 + at, so + from, so + to); };
  }
  return (from, to, at) => { if (to > from) dst.set(src.subarray(from, to), at); };
}

function memOf(backend: unknown): Mem {
  const b = backend as {
    typedArrayFromHeap?: (t: Info) => Float32Array;
    makeOutput?: (shape: number[], dtype: string) => Info;
    data?: { get(id: object): { values: Float32Array } };
    makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => Info;
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    return { view: (t) => b.typedArrayFromHeap!(t), alloc: (shape) => b.makeOutput!(shape, 'float32'), copier };
  }
  return {
    view: (t) => b.data!.get(t.dataId).values,
    alloc: (shape) => b.makeTensorInfo!(shape, 'float32', new Float32Array(shape.reduce((x, y) => x * y, 1))),
    copier,
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
  /** [B, T, C] to the patches with a last column of ones (for a bias row in the weights) [B * T, K * C + 1]. */
  VeilIm2colOnes({ inputs: { x }, attrs, backend }) {
    const m = memOf(backend);
    const [B, T, C] = x!.shape as [number, number, number];
    const K = attrs.kernel as number, pl = attrs.pl as number;
    const N = B * T, W = K * C + 1;
    const outI = m.alloc([N, W]);
    const src = m.view(x!), dst = m.view(outI);
    // Wide patches: one memmove per row (the patch of step t is the input's steps t - pl .. t - pl + K - 1, one
    // contiguous run); narrow ones: element by element (a call per row costs more than the copy).
    const copy = K * C >= 32 ? m.copier(src, dst) : (from: number, to: number, at: number): void => { for (let i = from; i < to; i++) dst[at++] = src[i]!; };
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * W;
        const s0 = Math.max(0, t - pl), s1 = Math.min(T, t - pl + K);
        if (s0 > t - pl) dst.fill(0, o, o + (s0 - t + pl) * C);
        copy((b * T + s0) * C, (b * T + s1) * C, o + (s0 - t + pl) * C);
        if (s1 < t - pl + K) dst.fill(0, o + (s1 - t + pl) * C, o + K * C);
        dst[o + W - 1] = 1;
      }
    }
    return outI;
  },
  /** ReLU's gradient from its output: dy where y > 0, else 0. */
  VeilReluBack({ inputs: { dy, y }, backend }) {
    const m = memOf(backend);
    const out = m.alloc(y!.shape);
    const D = m.view(dy!), Y = m.view(y!), G = m.view(out);
    // A multiplication by +(y > 0) compiles without a branch (ReLU outputs are 0 about half the time, at random).
    for (let i = 0; i < G.length; i++) G[i] = D[i]! * +(Y[i]! > 0);
    return out;
  },
  /** An uninitialised [shape] tensor for kernels that fill it in place (VeilLstmBackB's gradient rows). */
  VeilEmpty({ attrs, backend }) {
    return memOf(backend).alloc(attrs.shape as number[]);
  },
  /**
   * LSTM step pre-activations, rows = flows: hz [B, 4H] (h Wh) plus rows step * B .. + B of xp [T * B, 4H] (every
   * step's x Wx + b, step-major).
   */
  VeilLstmZB({ inputs: { hz, xp }, attrs, backend }) {
    const m = memOf(backend);
    const n = hz!.shape[0]! * hz!.shape[1]!;
    const out = m.alloc(hz!.shape);
    const HZ = m.view(hz!), XP = m.view(xp!), Z = m.view(out);
    const o = (attrs.step as number) * n;
    for (let i = 0; i < n; i++) Z[i] = HZ[i]! + XP[o + i]!;
    return out;
  },
  /**
   * LSTM cell update, rows = flows: from the gate sigmoids s [B, 4H] (column blocks i, f, o, q with g = 2 q - 1)
   * and the cell c [B, H], the new cell f c + i g and twice it (whose sigmoid gives tanh c = 2 sigmoid(2 c) - 1).
   */
  VeilLstmCB({ inputs: { s, c }, backend }) {
    const m = memOf(backend);
    const [B, H] = c!.shape as [number, number];
    const G = 4 * H;
    const cI = m.alloc([B, H]), c2I = m.alloc([B, H]);
    const S = m.view(s!), CP = m.view(c!), CN = m.view(cI), C2 = m.view(c2I);
    for (let b = 0; b < B; b++) {
      const q = b * G, r = b * H;
      for (let j = 0; j < H; j++) {
        const cn = S[q + H + j]! * CP[r + j]! + S[q + j]! * (2 * S[q + 3 * H + j]! - 1);
        CN[r + j] = cn; C2[r + j] = 2 * cn;
      }
    }
    return [cI, c2I];
  },
  /**
   * LSTM hidden state, rows = flows: tc = tanh c = 2 q2 - 1 (q2 = sigmoid(2 c)) and h = o tc, from the gate
   * sigmoids s [B, 4H]; returns [h, tc] and also writes h into rows (step + 1) * B .. of hs [T * B, H] (the hidden
   * state each step starts from, for the weight gradient).
   */
  VeilLstmHB({ inputs: { s, q2, hs }, attrs, backend }) {
    const m = memOf(backend);
    const [B, H] = q2!.shape as [number, number];
    const G = 4 * H;
    const hI = m.alloc([B, H]), tI = m.alloc([B, H]);
    const S = m.view(s!), Q = m.view(q2!), HN = m.view(hI), TC = m.view(tI), HS = m.view(hs!);
    for (let b = 0; b < B; b++) {
      const q = b * G + 2 * H, r = b * H;
      for (let j = 0; j < H; j++) { const tc = 2 * Q[r + j]! - 1; TC[r + j] = tc; HN[r + j] = S[q + j]! * tc; }
    }
    const at = ((attrs.step as number) + 1) * B * H;
    if (at < HS.length) HS.set(HN, at);
    return [hI, tI];
  },
  /**
   * One step back through an LSTM cell, rows = flows: s [B, 4H] (as VeilLstmCB), cPrev, tc, dh, dc [B, H]. Returns
   * the pre-activation gradients dz [B, 4H] and dc for the previous step, and writes dz transposed into columns
   * step * B .. + B of dzt [4H, T * B] and, when given, into rows step * B .. of dzr [T * B, 4H].
   */
  VeilLstmBackB({ inputs: { s, cPrev, tc, dh, dc, dzt, dzr }, attrs, backend }) {
    const m = memOf(backend);
    const [B, G] = s!.shape as [number, number];
    const H = G / 4;
    const dzI = m.alloc([B, G]), dcI = m.alloc([B, H]);
    const S = m.view(s!), CP = m.view(cPrev!), TC = m.view(tc!), DH = m.view(dh!), DC = m.view(dc!);
    const DZ = m.view(dzI), DCP = m.view(dcI), DZT = m.view(dzt!);
    const TB = dzt!.shape[1]!, t0 = (attrs.step as number) * B;
    for (let b = 0; b < B; b++) {
      const q = b * G, r = b * H;
      for (let j = 0; j < H; j++) {
        const i = S[q + j]!, f = S[q + H + j]!, o = S[q + 2 * H + j]!, g = 2 * S[q + 3 * H + j]! - 1;
        const t = TC[r + j]!, h = DH[r + j]!;
        const d = DC[r + j]! + h * o * (1 - t * t);
        const zi = d * g * i * (1 - i), zf = d * CP[r + j]! * f * (1 - f), zo = h * t * o * (1 - o), zg = d * i * (1 - g * g);
        DZ[q + j] = zi; DZ[q + H + j] = zf; DZ[q + 2 * H + j] = zo; DZ[q + 3 * H + j] = zg;
        const c = t0 + b;
        DZT[j * TB + c] = zi; DZT[(H + j) * TB + c] = zf; DZT[(2 * H + j) * TB + c] = zo; DZT[(3 * H + j) * TB + c] = zg;
        DCP[r + j] = d * f;
      }
    }
    if (dzr) m.view(dzr).set(DZ, t0 * G);
    return [dzI, dcI];
  },
  /** The adjoint of VeilIm2col: patch gradients [B * T, K * C] summed back into [B, T, C]. */
  VeilCol2im({ inputs: { x, y }, attrs, backend }) {
    const m = memOf(backend);
    const [B, T, C, K, pl] = attrs.dims as [number, number, number, number, number];
    const out = m.alloc([B, T, C]);
    const src = m.view(x!), dst = m.view(out);
    const KC = K * C;
    // Step s of flow b gathers patch row t = s - k + pl, block k, for each k (each output written once).
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < T; s++) {
        const d = (b * T + s) * C;
        const k0 = Math.max(0, s + pl - T + 1), k1 = Math.min(K - 1, s + pl);
        if (k0 > k1) { dst.fill(0, d, d + C); continue; }
        const q0 = (b * T + s - k0 + pl) * KC + k0 * C;
        if (k1 - k0 === 2) {
          const q1 = q0 - KC + C, q2 = q1 - KC + C;
          for (let c = 0; c < C; c++) dst[d + c] = src[q0 + c]! + src[q1 + c]! + src[q2 + c]!;
        } else {
          for (let c = 0; c < C; c++) dst[d + c] = src[q0 + c]!;
          for (let k = k0 + 1, q = q0 - KC + C; k <= k1; k++, q += C - KC) for (let c = 0; c < C; c++) dst[d + c]! += src[q + c]!;
        }
      }
    }
    // With y (the input's ReLU output): the gradient before that ReLU.
    if (y) {
      const Y = m.view(y);
      for (let i = 0; i < dst.length; i++) dst[i]! *= +(Y[i]! > 0);
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
      // One exp per logit: e = exp(l - max) is kept in G until the sum z is known.
      let z = 0;
      for (let c = 0; c < K; c++) { const e = Math.exp(L[o + c]! - mx); G[o + c] = e; z += e; }
      const lz = Math.log(z), wz = w / z;
      for (let c = 0; c < K; c++) {
        const t = Tg[o + c]!;
        if (t !== 0) loss -= t * (L[o + c]! - mx - lz);
        G[o + c] = (G[o + c]! * wz - t) / total;
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
    // Steps outer, channels inner: reads the input in memory order; running maxima in float64 scratch.
    const mx = new Float64Array(C), at = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      const o = b * C, q0 = b * T * C;
      for (let c = 0; c < C; c++) { mx[c] = src[q0 + c]!; at[c] = 0; }
      for (let t = 1; t < T; t++) {
        const q = q0 + t * C;
        for (let c = 0; c < C; c++) { const v = src[q + c]!; if (v > mx[c]!) { mx[c] = v; at[c] = t; } }
      }
      for (let c = 0; c < C; c++) { V[o + c] = mx[c]!; I[o + c] = at[c]!; }
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
