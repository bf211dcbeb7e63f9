import { MISSING_BIN } from '../binning.ts';
import { TreeBuilder, type FlatTree } from './ensemble.ts';

/**
 * Histogram gradient boosting trees (multinomial log-loss, as scikit-learn's HistGradientBoosting and LightGBM):
 * leaf-wise growth up to `maxLeafNodes`, gradient/hessian histograms per node with the subtraction trick (only
 * the smaller child is histogrammed; the larger is parent minus smaller), L2 regularised leaf values, and a
 * learnt direction for missing values.
 */
export interface BoostingParams {
  maxIter: number;
  learningRate: number;
  maxLeafNodes: number;
  /** 0 = unlimited. */
  maxDepth: number;
  minSamplesLeaf: number;
  /** L2 regularisation of leaf values (1, as XGBoost: without it multi-class runs can diverge). */
  l2: number;
  /**
   * Least hessian sum of a leaf (XGBoost's min_child_weight). 'auto': 1 (XGBoost's value) above 20 classes,
   * where it keeps rare classes' trees from chasing a handful of rows; 1e-3 (scikit-learn's) below, where the
   * ISCX sets score better with it.
   */
  minChildWeight: number | 'auto';
  /**
   * Early stopping on the validation log-loss of a share of the training rows: 'auto' turns it on from 100 000
   * rows. Off below: on the ISCX sets the loss bottoms out long before macro-F1 stops improving.
   */
  earlyStopping: 'auto' | 'on' | 'off';
  validationShare: number;
  /** Rounds without improvement of the validation loss before stopping. */
  patience: number;
  classWeight: 'balanced' | 'none';
  /**
   * Share of low-gradient rows kept per tree (rows the model already gets right: |p - y| below
   * {@link lowGradientThreshold}), reweighted
   * to keep gradient sums unbiased, as LightGBM's GOSS does. With many classes most rows are such rows for most
   * class trees, so this cuts fitting time several-fold; 1 keeps every row (exact).
   */
  lowGradientShare: number;
  /**
   * |p - y| below which a (row, class) cell counts as low-gradient. 'auto': 0.03 with two classes, 0.001 with
   * more. With many classes most cells are far-off classes with p near 0 from the first rounds, so 0.001 already
   * leaves most out; a binary model's rows reach 0.001 only late (on ISCX A1, over 300 rounds, 13 % of row-rounds
   * are low-gradient at 0.001, 40 % at 0.01, 56 % at 0.03, with macro-F1 within the folds' noise, ±0.005, on the
   * shuffled and the blocked split; fitting takes a fifth less time at 0.03 than at 0.001).
   */
  lowGradientThreshold: number | 'auto';
  seed: number;
}

export const BOOSTING_DEFAULTS: BoostingParams = {
  maxIter: 300, learningRate: 0.2, maxLeafNodes: 64, maxDepth: 6, minSamplesLeaf: 5, l2: 1, minChildWeight: 'auto',
  earlyStopping: 'auto', validationShare: 0.1, patience: 10, classWeight: 'none', lowGradientShare: 0.1,
  lowGradientThreshold: 'auto', seed: 0,
};

/** Shared state of one boosting run; arrays indexed by global row (class k's block at k * n). */
export interface BoostData {
  /** n x F bins, row-major (cell (i, f) at i * F + f). */
  X: Uint8Array;
  /** The same bins column-major (cell (i, f) at f * n + i): partitioning a node reads one feature's column. */
  Xc: Uint8Array;
  /** n x F histogram slots, row-major: the slot of cell (i, f) in the compact histogram (see {@link histogramSlots}). */
  slots: Uint16Array;
  /** First slot of each feature (F + 1 entries): feature f has bins at slotStart[f] + bin, its missing bin last. */
  slotStart: Int32Array;
  n: number;
  F: number;
  edges: Float64Array;
  edgeStart: Int32Array;
  rows: Int32Array;
  valRows: Int32Array;
  /** Per class (k * n + row): 1 when the row takes part in growing class k's tree, 0 when it is only routed. */
  use: Uint8Array;
  classes: number;
  /** Gradients and hessians in single precision (as XGBoost's gradient pairs): half the memory traffic. */
  grad: Float32Array;
  hess: Float32Array;
  /** Raw scores; the grower adds its tree's leaf values for its class to train and validation rows. */
  raw: Float64Array;
}

/**
 * Compact histogram layout: feature f's bins 0..nb_f - 1 (nb_f = its edges + 1) at slots slotStart[f] + bin and
 * its missing bin at slotStart[f] + nb_f, so a histogram holds only bins that can occur (zeroing, subtracting and
 * scanning it touch no dead entries). Also returns each cell's slot, so building a histogram is one load per cell.
 * Null when the slots do not fit 16 bits (more than 65 535 bins in all; the caller then caps the bins).
 */
export function histogramSlots(X: Uint8Array, n: number, F: number, edgeStart: Int32Array): { slots: Uint16Array; slotStart: Int32Array } | null {
  const slotStart = new Int32Array(new SharedArrayBuffer(4 * (F + 1)));
  for (let f = 0; f < F; f++) slotStart[f + 1] = slotStart[f]! + (edgeStart[f + 1]! - edgeStart[f]! + 1) + 1;
  if (slotStart[F]! > 0xffff) return null;
  const missing = new Int32Array(F);
  for (let f = 0; f < F; f++) missing[f] = slotStart[f + 1]! - 1;
  const slots = new Uint16Array(new SharedArrayBuffer(Math.max(2, 2 * n * F)), 0, n * F);
  for (let i = 0, o = 0; i < n; i++) {
    for (let f = 0; f < F; f++, o++) {
      const b = X[o]!;
      slots[o] = b === MISSING_BIN ? missing[f]! : slotStart[f]! + b;
    }
  }
  return { slots, slotStart };
}

interface Split {
  gain: number;
  f: number;
  bin: number;
  missingLeft: boolean;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  /** Null for a node that can never split (its children need no histogram). */
  hist: Float64Array | null;
  G: number;
  H: number;
  split: Split | null;
}

/** Histogram buffers (gradient, hessian per slot) reused across trees of one thread; always handed out zeroed. */
const pool: Float64Array[] = [];
let poolSize = 0;
function takeHist(size: number): Float64Array {
  if (poolSize !== size) { pool.length = 0; poolSize = size; }
  return pool.pop() ?? new Float64Array(size);
}
function giveHist(h: Float64Array): void {
  if (h.length !== poolSize) return;
  h.fill(0);
  pool.push(h);
}

/** Row index buffers reused across trees of one thread. */
let bufIdx = new Int32Array(0);
let bufRest = new Int32Array(0);
let bufScratch = new Int32Array(0);

/**
 * Adds rows idx[start, end) into a gradient/hessian histogram of all features. Row by row over the row-major slots
 * (as XGBoost does): one gradient load per row and F contiguous slot reads, faster here than feature by feature.
 * Four rows at a time: their updates are independent, so the processor overlaps them (1.6x faster than one).
 */
function buildHistogram(
  hist: Float64Array, S: Uint16Array, F: number, idx: Int32Array, start: number, end: number,
  g: Float32Array, h: Float32Array, go: number,
): void {
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = idx[i]!, r1 = idx[i + 1]!, r2 = idx[i + 2]!, r3 = idx[i + 3]!;
    const g0 = g[go + r0]!, h0 = h[go + r0]!, g1 = g[go + r1]!, h1 = h[go + r1]!;
    const g2 = g[go + r2]!, h2 = h[go + r2]!, g3 = g[go + r3]!, h3 = h[go + r3]!;
    const o0 = r0 * F, o1 = r1 * F, o2 = r2 * F, o3 = r3 * F;
    for (let f = 0; f < F; f++) {
      const q0 = S[o0 + f]! << 1;
      hist[q0] = hist[q0]! + g0; hist[q0 + 1] = hist[q0 + 1]! + h0;
      const q1 = S[o1 + f]! << 1;
      hist[q1] = hist[q1]! + g1; hist[q1 + 1] = hist[q1 + 1]! + h1;
      const q2 = S[o2 + f]! << 1;
      hist[q2] = hist[q2]! + g2; hist[q2 + 1] = hist[q2 + 1]! + h2;
      const q3 = S[o3 + f]! << 1;
      hist[q3] = hist[q3]! + g3; hist[q3 + 1] = hist[q3 + 1]! + h3;
    }
  }
  for (; i < end; i++) {
    const r = idx[i]!;
    const gi = g[go + r]!;
    const hi = h[go + r]!;
    const o = r * F;
    for (let f = 0; f < F; f++) {
      const q = S[o + f]! << 1;
      hist[q] = hist[q]! + gi;
      hist[q + 1] = hist[q + 1]! + hi;
    }
  }
}

/**
 * Best split of a node from its histogram, or null when no split gains. Row counts per side are estimated from
 * the hessian (count = hessian x rows / total hessian, as LightGBM does), which keeps histograms at two channels.
 */
function findSplit(
  hist: Float64Array, G: number, H: number, cnt: number, depth: number, F: number, slotStart: Int32Array,
  lambda: number, minLeaf: number, maxDepth: number, minHess: number, subtract: Float64Array | null,
): Split | null {
  // With `subtract`, hist holds the parent's histogram: it becomes this child's (parent minus sibling) bin by bin
  // during the scan, so the subtraction costs no pass of its own.
  if (depth >= maxDepth || cnt < 2 * minLeaf) {
    if (subtract) for (let q = 0, e = slotStart[F]! << 1; q < e; q++) hist[q] = hist[q]! - subtract[q]!;
    return null;
  }
  const parent = (G * G) / (H + lambda);
  const perHess = cnt / H;
  // Split when the estimated left count reaches minLeaf (with a little slack for the estimate).
  const minH = Math.max(minHess, (minLeaf - 0.5) / perHess);
  const maxHL = H - minH;
  // Best score GL²/(HL + λ) + GR²/(HR + λ) so far as a fraction bestNum / bestDen, compared without dividing
  // (exact for equal candidates, so an empty bin never displaces the bin before it); a split must beat the
  // parent's score by 1e-10.
  let bestNum = parent + 1e-10, bestDen = 1;
  let bf = -1, bb = 0, bml = false;
  for (let f = 0; f < F; f++) {
    const base = slotStart[f]! << 1;
    const mq = (slotStart[f + 1]! - 1) << 1;
    const nb = (mq - base) >> 1;
    if (subtract) { hist[mq] = hist[mq]! - subtract[mq]!; hist[mq + 1] = hist[mq + 1]! - subtract[mq + 1]!; }
    const gm = hist[mq]!, hm = hist[mq + 1]!;
    // Pass 1: missing values go right (also when training had none: keeps inference on its fast path).
    let GL = 0, HL = 0;
    const last = hm > 0 ? nb - 1 : nb - 2;
    if (subtract) {
      // The same scan, subtracting each bin as it goes; bins after an early stop are subtracted after it.
      let b = 0;
      for (; b <= last; b++) {
        const q = base + (b << 1);
        const gb = hist[q]! - subtract[q]!, hb = hist[q + 1]! - subtract[q + 1]!;
        hist[q] = gb; hist[q + 1] = hb;
        GL += gb; HL += hb;
        if (HL < minH) continue;
        if (HL > maxHL) { b++; break; }
        const GR = G - GL, a = HL + lambda, c = H - HL + lambda;
        const num = GL * GL * c + GR * GR * a, den = a * c;
        if (num * bestDen > bestNum * den) { bestNum = num; bestDen = den; bf = f; bb = b; bml = false; }
      }
      for (let q = base + (b << 1); q < mq; q++) hist[q] = hist[q]! - subtract[q]!;
    } else {
      for (let b = 0; b <= last; b++) {
        const q = base + (b << 1);
        // Empty bins are not skipped: they repeat the previous candidate, which never beats itself, and a branch
        // on emptiness mispredicts often.
        GL += hist[q]!; HL += hist[q + 1]!;
        if (HL < minH) continue;
        if (HL > maxHL) break;
        const GR = G - GL, a = HL + lambda, c = H - HL + lambda;
        const num = GL * GL * c + GR * GR * a, den = a * c;
        if (num * bestDen > bestNum * den) { bestNum = num; bestDen = den; bf = f; bb = b; bml = false; }
      }
    }
    if (hm === 0) continue;
    // Pass 2: missing values go left.
    GL = gm; HL = hm;
    for (let b = 0; b <= nb - 2; b++) {
      const q = base + (b << 1);
      GL += hist[q]!; HL += hist[q + 1]!;
      if (HL < minH) continue;
      if (HL > maxHL) break;
      const GR = G - GL, a = HL + lambda, c = H - HL + lambda;
      const num = GL * GL * c + GR * GR * a, den = a * c;
      if (num * bestDen > bestNum * den) { bestNum = num; bestDen = den; bf = f; bb = b; bml = true; }
    }
  }
  return bf < 0 ? null : { gain: bestNum / bestDen - parent, f: bf, bin: bb, missingLeft: bml };
}

/**
 * Grows the tree of class `k` for one boosting round from d.grad/d.hess, adds its leaf values to d.raw for the
 * training and validation rows, and returns it.
 */
export function growBoostTree(d: BoostData, p: BoostingParams, k: number): FlatTree {
  const minHess = p.minChildWeight === 'auto' ? (d.classes > 20 ? 1 : 1e-3) : p.minChildWeight;
  const { X, Xc, n, F, slotStart } = d;
  const S = d.slots;
  const go = k * n;
  const g = d.grad;
  const h = d.hess;
  const lambda = p.l2;
  const minLeaf = Math.max(1, p.minSamplesLeaf);
  const maxDepth = p.maxDepth > 0 ? p.maxDepth : Infinity;
  // Rows that grow the tree; the others (low-gradient rows left out) are only routed to a leaf at the end.
  const all = d.rows;
  const use = d.use;
  if (bufIdx.length < all.length) {
    bufIdx = new Int32Array(all.length);
    bufRest = new Int32Array(all.length);
    bufScratch = new Int32Array(all.length);
  }
  const idx = bufIdx;
  const restBuf = bufRest;
  const scratch = bufScratch;
  let m = 0, nRest = 0;
  for (let i = 0; i < all.length; i++) {
    // Branch-free: the row is written to both lists and only its own list's cursor moves.
    const r = all[i]!;
    const u = use[go + r]!;
    idx[m] = r;
    restBuf[nRest] = r;
    m += u;
    nRest += 1 - u;
  }
  const size = slotStart[F]! * 2;

  // Gradient sums of a histogram: every row falls in exactly one slot of feature 0.
  const totals = (hist: Float64Array): [number, number] => {
    let G = 0, H = 0;
    for (let q = 0, e = slotStart[1]! * 2; q < e; q += 2) { G += hist[q]!; H += hist[q + 1]!; }
    return [G, H];
  };

  const tb = new TreeBuilder();
  const rootHist = takeHist(size);
  buildHistogram(rootHist, S, F, idx, 0, m, g, h, go);
  const [G0, H0] = totals(rootHist);
  const root: Leaf = { node: tb.add(), start: 0, end: m, depth: 0, hist: rootHist, G: G0, H: H0, split: null };
  root.split = findSplit(rootHist, G0, H0, m, 0, F, slotStart, lambda, minLeaf, maxDepth, minHess, null);
  const leaves: Leaf[] = [root];
  const maxLeaves = Math.max(2, p.maxLeafNodes);
  const featureGain = new Float64Array(F);
  while (leaves.length < maxLeaves) {
    let bi = -1;
    for (let i = 0; i < leaves.length; i++) {
      const s = leaves[i]!.split;
      if (s && (bi < 0 || s.gain > leaves[bi]!.split!.gain)) bi = i;
    }
    if (bi < 0) break;
    const leaf = leaves[bi]!;
    const s = leaf.split!;
    featureGain[s.f]! += s.gain;
    // Branch-free partition into scratch: left rows fill from the front, right rows from the back; each row is
    // written to both ends and only the cursor of its side moves (the other write is overwritten later).
    const sf = s.f, sb = s.bin, ml = s.missingLeft ? 1 : 0;
    let lp = leaf.start, rp = leaf.end - 1;
    const co = sf * n;
    for (let q = leaf.start; q < leaf.end; q++) {
      const r = idx[q]!;
      const bin = Xc[co + r]!;
      // bin <= sb, or missing (255) going left; split bins are never 255.
      const goLeft = (((sb - bin) >>> 31) ^ 1) | (ml & ((bin + 1) >> 8));
      scratch[lp] = r;
      scratch[rp] = r;
      lp += goLeft;
      rp -= goLeft ^ 1;
    }
    idx.set(scratch.subarray(leaf.start, leaf.end), leaf.start);
    const i = lp;
    const fs = d.edgeStart[s.f]!;
    const ne = d.edgeStart[s.f + 1]! - fs;
    const l = tb.split(leaf.node, s.f, s.bin, s.bin < ne ? d.edges[fs + s.bin]! : Infinity, s.missingLeft);
    const nLeft = i - leaf.start;
    const nRight = leaf.end - i;
    const depth = leaf.depth + 1;
    const leftSmaller = nLeft <= nRight;
    if (depth >= maxDepth || (nLeft < 2 * minLeaf && nRight < 2 * minLeaf)) {
      // Neither child can split: no histograms, only the smaller child's gradient sums.
      let Gs = 0, Hs = 0;
      const a = leftSmaller ? leaf.start : i, b = leftSmaller ? i : leaf.end;
      for (let q = a; q < b; q++) { const r = idx[q]!; Gs += g[go + r]!; Hs += h[go + r]!; }
      const GL = leftSmaller ? Gs : leaf.G - Gs;
      const HL = leftSmaller ? Hs : leaf.H - Hs;
      giveHist(leaf.hist!);
      leaves.splice(bi, 1,
        { node: l, start: leaf.start, end: i, depth, hist: null, G: GL, H: HL, split: null },
        { node: l + 1, start: i, end: leaf.end, depth, hist: null, G: leaf.G - GL, H: leaf.H - HL, split: null });
      continue;
    }
    // Histogram the smaller child; the larger is the parent's histogram minus it (in place).
    const small = takeHist(size);
    if (leftSmaller) buildHistogram(small, S, F, idx, leaf.start, i, g, h, go);
    else buildHistogram(small, S, F, idx, i, leaf.end, g, h, go);
    const big = leaf.hist!;
    const hl = leftSmaller ? small : big;
    const hr = leftSmaller ? big : small;
    const [Gs, Hs] = totals(small);
    const GL = leftSmaller ? Gs : leaf.G - Gs;
    const HL = leftSmaller ? Hs : leaf.H - Hs;
    const GR = leaf.G - GL;
    const HR = leaf.H - HL;
    const L: Leaf = { node: l, start: leaf.start, end: i, depth, hist: hl, G: GL, H: HL, split: null };
    const R: Leaf = { node: l + 1, start: i, end: leaf.end, depth, hist: hr, G: GR, H: HR, split: null };
    // The larger child's histogram is made (parent minus smaller) inside its split search.
    L.split = findSplit(hl, GL, HL, nLeft, depth, F, slotStart, lambda, minLeaf, maxDepth, minHess, leftSmaller ? null : small);
    R.split = findSplit(hr, GR, HR, nRight, depth, F, slotStart, lambda, minLeaf, maxDepth, minHess, leftSmaller ? small : null);
    leaves.splice(bi, 1, L, R);
  }

  const cls = [k];
  const val = [0];
  const raw = d.raw;
  let depth = 0;
  for (const leaf of leaves) {
    const v = (-p.learningRate * leaf.G) / (leaf.H + lambda);
    val[0] = Number.isFinite(v) ? v : 0;
    tb.leaf(leaf.node, cls, val);
    for (let i = leaf.start; i < leaf.end; i++) raw[go + idx[i]!]! += val[0];
    if (leaf.hist) giveHist(leaf.hist);
    if (leaf.depth > depth) depth = leaf.depth;
  }
  // Validation rows and training rows left out of growing: walk the tree on their bins.
  if (depth <= 12) {
    const walk = completeWalk(tb, depth);
    routeRows(walk, depth, X, F, d.valRows, d.valRows.length, raw, go);
    routeRows(walk, depth, X, F, restBuf, nRest, raw, go);
  } else {
    // Deep trees (no depth limit): node by node.
    const vr = d.valRows;
    for (let i = 0, e = vr.length + nRest; i < e; i++) {
      const r = i < vr.length ? vr[i]! : restBuf[i - vr.length]!;
      let node = 0;
      let f = tb.feature[node]!;
      while (f >= 0) {
        const bin = X[r * F + f]!;
        const left = bin === MISSING_BIN ? tb.missingLeft[node] === 1 : bin <= tb.splitBin[node]!;
        node = tb.left[node]! + (left ? 0 : 1);
        f = tb.feature[node]!;
      }
      raw[go + r]! += tb.leafValue[tb.left[node]!]!;
    }
  }
  return { ...tb.finish(), featureGain };
}

/**
 * A grown tree padded to a complete binary tree of `depth` levels (children of i at 2i + 1, 2i + 2), each split
 * one Int32 `feature << 10 | missingLeft << 9 | limit` with limit = split bin + missingLeft: a row goes right when
 * ((bin + missingLeft) & 255) > limit, so a missing bin (255) with missingLeft wraps to 0 and goes left. A leaf
 * above the last level becomes splits that always go left (limit 256). Leaf values follow at [inner, inner + 2^depth).
 */
interface CompleteWalk {
  nodes: Int32Array;
  values: Float64Array;
}

function completeWalk(tb: TreeBuilder, depth: number): CompleteWalk {
  const inner = (1 << depth) - 1;
  const nodes = new Int32Array(Math.max(1, inner));
  const values = new Float64Array(1 << depth);
  const fill = (node: number, i: number, d: number): void => {
    const f = tb.feature[node]!;
    if (d === depth) { values[i - inner] = tb.leafValue[tb.left[node]!]!; return; }
    if (f < 0) {
      nodes[i] = 256;
      fill(node, 2 * i + 1, d + 1);
      return;
    }
    const ml = tb.missingLeft[node]!;
    nodes[i] = (f << 10) | (ml << 9) | (tb.splitBin[node]! + ml);
    fill(tb.left[node]!, 2 * i + 1, d + 1);
    fill(tb.left[node]! + 1, 2 * i + 2, d + 1);
  };
  fill(0, 0, 0);
  return { nodes, values };
}

/**
 * Adds the tree's leaf value to raw[go + r] for rows list[0, count), walking their bins (row-major X) down the
 * complete tree: exactly `depth` steps of integer arithmetic per row, no branch to mispredict.
 */
function routeRows(
  w: CompleteWalk, depth: number, X: Uint8Array, F: number, list: Int32Array, count: number, raw: Float64Array, go: number,
): void {
  const { nodes, values } = w;
  const inner = (1 << depth) - 1;
  let i = 0;
  // Four rows at a time: independent chains of loads the processor overlaps.
  for (; i + 3 < count; i += 4) {
    const r0 = list[i]!, r1 = list[i + 1]!, r2 = list[i + 2]!, r3 = list[i + 3]!;
    const o0 = r0 * F, o1 = r1 * F, o2 = r2 * F, o3 = r3 * F;
    let n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    for (let d = 0; d < depth; d++) {
      const w0 = nodes[n0]!, w1 = nodes[n1]!, w2 = nodes[n2]!, w3 = nodes[n3]!;
      n0 = 2 * n0 + 1 + (((w0 & 511) - ((X[o0 + (w0 >>> 10)]! + ((w0 >> 9) & 1)) & 255)) >>> 31);
      n1 = 2 * n1 + 1 + (((w1 & 511) - ((X[o1 + (w1 >>> 10)]! + ((w1 >> 9) & 1)) & 255)) >>> 31);
      n2 = 2 * n2 + 1 + (((w2 & 511) - ((X[o2 + (w2 >>> 10)]! + ((w2 >> 9) & 1)) & 255)) >>> 31);
      n3 = 2 * n3 + 1 + (((w3 & 511) - ((X[o3 + (w3 >>> 10)]! + ((w3 >> 9) & 1)) & 255)) >>> 31);
    }
    raw[go + r0]! += values[n0 - inner]!;
    raw[go + r1]! += values[n1 - inner]!;
    raw[go + r2]! += values[n2 - inner]!;
    raw[go + r3]! += values[n3 - inner]!;
  }
  for (; i < count; i++) {
    const r0 = list[i]!;
    const o0 = r0 * F;
    let n0 = 0;
    for (let d = 0; d < depth; d++) {
      const w0 = nodes[n0]!;
      n0 = 2 * n0 + 1 + (((w0 & 511) - ((X[o0 + (w0 >>> 10)]! + ((w0 >> 9) & 1)) & 255)) >>> 31);
    }
    raw[go + r0]! += values[n0 - inner]!;
  }
}
