import { parameterShapes, sizeOf, type LayerSpec, type NeuralNetwork } from './spec.ts';
import { inputGrid } from './inputs.ts';

/**
 * Inference over typed arrays: the network applied row by row in float64 from its float32 weights. No tensor
 * library: `veil predict`, `veil classify` and the service load and apply neural models as they do trees,
 * synchronously, and the same file gives the same probabilities everywhere.
 */
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Plan {
  layers: LayerSpec[];
  params: Float32Array[][];
  width: number;
}

function plan(net: NeuralNetwork): Plan {
  const shapes = parameterShapes(net.spec);
  if (shapes.length !== net.weights.length) throw new Error(`network has ${net.weights.length} weight arrays, its layers need ${shapes.length}`);
  const params: Float32Array[][] = [];
  let k = 0;
  let width = net.spec.input.steps * net.spec.input.channels;
  for (const l of net.spec.layers) {
    const n = l.kind === 'dense' || l.kind === 'conv1d' ? 2 : l.kind === 'lstm' ? 3 : 0;
    params.push(net.weights.slice(k, k + n));
    k += n;
    width = Math.max(width, l.kind === 'lstm' ? 4 * l.units : l.kind === 'dense' ? l.units : l.kind === 'conv1d' ? net.spec.input.steps * l.filters : 0);
  }
  return { layers: net.spec.layers, params, width };
}

/**
 * Class probabilities (rows x classes, row-major) for the given rows of the model inputs (default all).
 *
 * @example
 * const proba = networkProba(model.network, modelInputs(model, table));
 */
export function networkProba(net: NeuralNetwork, columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
  const spec = net.spec;
  if (columns.length !== spec.input.cell.length) throw new Error(`model expects ${spec.input.cell.length} features, got ${columns.length}`);
  const K = spec.classes;
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const out = new Float64Array(n * K);
  const p = plan(net);
  const width = spec.input.steps * spec.input.channels;
  let a = new Float64Array(p.width), b = new Float64Array(p.width);
  const z = new Float64Array(p.width), h = new Float64Array(p.width), c = new Float64Array(p.width);
  const BLOCK = 2048;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const r1 = Math.min(n, r0 + BLOCK);
    const grid = inputGrid(spec.input, net.mean, net.scale, columns, rows ? rows.subarray(r0, r1) : Int32Array.from({ length: r1 - r0 }, (_, i) => r0 + i));
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < width; j++) a[j] = grid[(i - r0) * width + j]!;
      let steps = spec.input.steps;
      let ch = spec.input.channels;
      p.layers.forEach((l, li) => {
        const w = p.params[li]!;
        switch (l.kind) {
          case 'flatten':
            ch = steps * ch; steps = 1;
            break;
          case 'dense': {
            const W = w[0]!, B = w[1]!, U = l.units;
            for (let j = 0; j < U; j++) b[j] = B[j]!;
            for (let q = 0; q < l.inputs; q++) {
              const x = a[q]!;
              if (x === 0) continue;
              const o = q * U;
              for (let j = 0; j < U; j++) b[j]! += x * W[o + j]!;
            }
            if (l.activation === 'relu') for (let j = 0; j < U; j++) if (b[j]! < 0) b[j] = 0;
            [a, b] = [b, a];
            ch = U; steps = 1;
            break;
          }
          case 'conv1d': {
            const W = w[0]!, B = w[1]!, Fo = l.filters, C = l.channels, Kk = l.kernel;
            const pl = (Kk - 1) >> 1;
            for (let t = 0; t < steps; t++) {
              const o = t * Fo;
              for (let f = 0; f < Fo; f++) b[o + f] = B[f]!;
              for (let k = 0; k < Kk; k++) {
                const s = t + k - pl;
                if (s < 0 || s >= steps) continue;
                for (let cc = 0; cc < C; cc++) {
                  const x = a[s * C + cc]!;
                  if (x === 0) continue;
                  const wo = (k * C + cc) * Fo;
                  for (let f = 0; f < Fo; f++) b[o + f]! += x * W[wo + f]!;
                }
              }
              for (let f = 0; f < Fo; f++) if (b[o + f]! < 0) b[o + f] = 0;
            }
            [a, b] = [b, a];
            ch = Fo;
            break;
          }
          case 'maxpool': {
            for (let cc = 0; cc < ch; cc++) {
              let m = -Infinity;
              for (let t = 0; t < steps; t++) if (a[t * ch + cc]! > m) m = a[t * ch + cc]!;
              b[cc] = m;
            }
            [a, b] = [b, a];
            steps = 1;
            break;
          }
          case 'lstm': {
            const Wx = w[0]!, Wh = w[1]!, B = w[2]!, H = l.units, G = 4 * H, C = l.inputs;
            h.fill(0, 0, H); c.fill(0, 0, H);
            for (let t = 0; t < steps; t++) {
              for (let j = 0; j < G; j++) z[j] = B[j]!;
              for (let cc = 0; cc < C; cc++) {
                const x = a[t * C + cc]!;
                if (x === 0) continue;
                const o = cc * G;
                for (let j = 0; j < G; j++) z[j]! += x * Wx[o + j]!;
              }
              for (let q = 0; q < H; q++) {
                const x = h[q]!;
                if (x === 0) continue;
                const o = q * G;
                for (let j = 0; j < G; j++) z[j]! += x * Wh[o + j]!;
              }
              for (let q = 0; q < H; q++) {
                const ig = sigmoid(z[q]!), fg = sigmoid(z[H + q]!), og = sigmoid(z[2 * H + q]!), gg = Math.tanh(z[3 * H + q]!);
                c[q] = fg * c[q]! + ig * gg;
                h[q] = og * Math.tanh(c[q]!);
              }
            }
            for (let q = 0; q < H; q++) b[q] = h[q]!;
            [a, b] = [b, a];
            steps = 1; ch = H;
            break;
          }
        }
      });
      // Softmax of the logits.
      const o = i * K;
      let mx = -Infinity;
      for (let k = 0; k < K; k++) if (a[k]! > mx) mx = a[k]!;
      let s = 0;
      for (let k = 0; k < K; k++) { const e = Math.exp(a[k]! - mx); out[o + k] = e; s += e; }
      for (let k = 0; k < K; k++) out[o + k]! /= s;
    }
  }
  return out;
}

/** Number of weights in a network. */
export function parameterCount(net: Pick<NeuralNetwork, 'spec'>): number {
  return parameterShapes(net.spec).reduce((s, p) => s + sizeOf(p.shape), 0);
}
