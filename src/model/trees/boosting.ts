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
   * Share of low-gradient rows kept per tree (rows the model already gets right: |p - y| < 0.001), reweighted
   * to keep gradient sums unbiased, as LightGBM's GOSS does. With many classes most rows are such rows for most
   * class trees, so this cuts fitting time several-fold; 1 keeps every row (exact).
   */
  lowGradientShare: number;
  seed: number;
}

export const BOOSTING_DEFAULTS: BoostingParams = {
  maxIter: 300, learningRate: 0.2, maxLeafNodes: 64, maxDepth: 6, minSamplesLeaf: 5, l2: 1, minChildWeight: 'auto',
  earlyStopping: 'auto', validationShare: 0.1, patience: 10, classWeight: 'none', lowGradientShare: 0.1, seed: 0,
};

/** Shared state of one boosting run; arrays indexed by global row (class k's block at k * n). */
export interface BoostData {
  /** n x F bins, row-major (cell (i, f) at i * F + f). */
  X: Uint8Array;
  n: number;
  F: number;
  edges: Float64Array;
  edgeStart: Int32Array;
  rows: Int32Array;
  valRows: Int32Array;
  /** Per class (k * n + row): 1 when the row takes part in growing class k's tree, 0 when it is only routed. */
  use: Uint8Array;
  classes: number;
  grad: Float64Array;
  hess: Float64Array;
  /** Raw scores; the grower adds its tree's leaf values for its class to train and validation rows. */
  raw: Float64Array;
}

/** Histogram entries per feature: (gradient, hessian) for 256 bins; feature f starts at f << 9. */
const STRIDE = 512;

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

/** Histogram buffers reused across trees of one thread. */
const pool: Float64Array[] = [];
let poolSize = 0;
function takeHist(size: number): Float64Array {
  if (poolSize !== size) { pool.length = 0; poolSize = size; }
  const h = pool.pop();
  if (h) { h.fill(0); return h; }
  return new Float64Array(size);
}


/**
 * Adds rows idx[start, end) into a gradient/hessian histogram of all features. Row by row over the row-major bins
 * (as XGBoost does): one gradient load per row and F contiguous bin reads, faster here than feature by feature.
 */
function buildHistogram(
  hist: Float64Array, X: Uint8Array, F: number, idx: Int32Array, start: number, end: number,
  g: Float64Array, h: Float64Array, go: number,
): void {
  for (let i = start; i < end; i++) {
    const r = idx[i]!;
    const gi = g[go + r]!;
    const hi = h[go + r]!;
    const o = r * F;
    for (let f = 0; f < F; f++) {
      const q = (f << 9) + (X[o + f]! << 1);
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
  hist: Float64Array, G: number, H: number, cnt: number, depth: number, F: number, nBins: Int32Array,
  lambda: number, minLeaf: number, maxDepth: number, subtract: Float64Array | null, minHess: number,
): Split | null {
  if (depth >= maxDepth || cnt < 2 * minLeaf) return null;
  if (subtract) {
    // hist holds the parent's histogram: turn it into this child's (parent minus sibling), bins in use only.
    for (let f = 0; f < F; f++) {
      const base = f * STRIDE;
      const end = base + 2 * nBins[f]!;
      for (let q = base; q < end; q++) hist[q] = hist[q]! - subtract[q]!;
      const mq = base + MISSING_BIN * 2;
      hist[mq] = hist[mq]! - subtract[mq]!;
      hist[mq + 1] = hist[mq + 1]! - subtract[mq + 1]!;
    }
  }
  const parent = (G * G) / (H + lambda);
  const perHess = cnt / H;
  // Split when the estimated left count reaches minLeaf (with a little slack for the estimate).
  const minH = Math.max(minHess, (minLeaf - 0.5) / perHess);
  const maxHL = H - minH;
  let best: Split | null = null;
  let bestGain = 1e-10;
  for (let f = 0; f < F; f++) {
    const base = f * STRIDE;
    const nb = nBins[f]!;
    const mq = base + MISSING_BIN * 2;
    const gm = hist[mq]!, hm = hist[mq + 1]!;
    // Pass 1: missing values go right (also when training had none: keeps inference on its fast path).
    let GL = 0, HL = 0;
    const last = hm > 0 ? nb - 1 : nb - 2;
    for (let b = 0; b <= last; b++) {
      const q = base + (b << 1);
      const hb = hist[q + 1]!;
      if (hb === 0 && b < last) continue;
      GL += hist[q]!; HL += hb;
      if (HL < minH) continue;
      if (HL > maxHL) break;
      const GR = G - GL;
      const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (H - HL + lambda) - parent;
      if (gain > bestGain) { bestGain = gain; best = { gain, f, bin: b, missingLeft: false }; }
    }
    if (hm === 0) continue;
    // Pass 2: missing values go left.
    GL = gm; HL = hm;
    for (let b = 0; b <= nb - 2; b++) {
      const q = base + (b << 1);
      const hb = hist[q + 1]!;
      if (hb === 0) continue;
      GL += hist[q]!; HL += hb;
      if (HL < minH) continue;
      if (HL > maxHL) break;
      const GR = G - GL;
      const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (H - HL + lambda) - parent;
      if (gain > bestGain) { bestGain = gain; best = { gain, f, bin: b, missingLeft: true }; }
    }
  }
  return best;
}

/**
 * Grows the tree of class `k` for one boosting round from d.grad/d.hess, adds its leaf values to d.raw for the
 * training and validation rows, and returns it.
 */
export function growBoostTree(d: BoostData, p: BoostingParams, k: number): FlatTree {
  const minHess = p.minChildWeight === 'auto' ? (d.classes > 20 ? 1 : 1e-3) : p.minChildWeight;
  const { X, n, F } = d;
  const go = k * n;
  const g = d.grad;
  const h = d.hess;
  const lambda = p.l2;
  const minLeaf = Math.max(1, p.minSamplesLeaf);
  const maxDepth = p.maxDepth > 0 ? p.maxDepth : Infinity;
  // Rows that grow the tree; the others (low-gradient rows left out) are only routed to a leaf at the end.
  let m = 0;
  for (let i = 0; i < d.rows.length; i++) if (d.use[go + d.rows[i]!]) m++;
  const idx = new Int32Array(m);
  const rest = new Int32Array(d.rows.length - m);
  for (let i = 0, a = 0, b = 0; i < d.rows.length; i++) {
    const r = d.rows[i]!;
    if (d.use[go + r]) idx[a++] = r;
    else rest[b++] = r;
  }
  const scratch = new Int32Array(m);
  const size = F * STRIDE;
  const nBins = new Int32Array(F);
  for (let f = 0; f < F; f++) nBins[f] = d.edgeStart[f + 1]! - d.edgeStart[f]! + 1;

  const totals = (hist: Float64Array): [number, number] => {
    // Every row falls in exactly one bin of feature 0.
    let G = 0, H = 0;
    for (let b = 0; b < 256; b++) { G += hist[b << 1]!; H += hist[(b << 1) + 1]!; }
    return [G, H];
  };

  const tb = new TreeBuilder();
  const rootHist = takeHist(size);
  buildHistogram(rootHist, X, F, idx, 0, m, g, h, go);
  const [G0, H0] = totals(rootHist);
  const root: Leaf = { node: tb.add(), start: 0, end: m, depth: 0, hist: rootHist, G: G0, H: H0, split: null };
  root.split = findSplit(rootHist, G0, H0, m, 0, F, nBins, lambda, minLeaf, maxDepth, null, minHess);
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
    for (let q = leaf.start; q < leaf.end; q++) {
      const r = idx[q]!;
      const bin = X[r * F + sf]!;
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
      pool.push(leaf.hist!);
      leaves.splice(bi, 1,
        { node: l, start: leaf.start, end: i, depth, hist: null, G: GL, H: HL, split: null },
        { node: l + 1, start: i, end: leaf.end, depth, hist: null, G: leaf.G - GL, H: leaf.H - HL, split: null });
      continue;
    }
    // Histogram the smaller child; the larger is the parent's histogram minus it (computed in place).
    const small = takeHist(size);
    if (leftSmaller) buildHistogram(small, X, F, idx, leaf.start, i, g, h, go);
    else buildHistogram(small, X, F, idx, i, leaf.end, g, h, go);
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
    // The larger child's histogram is computed (parent minus smaller) feature by feature inside its split search.
    L.split = findSplit(hl, GL, HL, nLeft, L.depth, F, nBins, lambda, minLeaf, maxDepth, leftSmaller ? null : small, minHess);
    R.split = findSplit(hr, GR, HR, nRight, R.depth, F, nBins, lambda, minLeaf, maxDepth, leftSmaller ? small : null, minHess);
    leaves.splice(bi, 1, L, R);
  }

  const cls = [k];
  const val = [0];
  const raw = d.raw;
  for (const leaf of leaves) {
    const v = (-p.learningRate * leaf.G) / (leaf.H + lambda);
    val[0] = Number.isFinite(v) ? v : 0;
    tb.leaf(leaf.node, cls, val);
    for (let i = leaf.start; i < leaf.end; i++) raw[go + idx[i]!]! += val[0];
    if (leaf.hist) pool.push(leaf.hist);
  }
  // Validation rows and training rows left out of growing: walk the tree on their bins.
  for (const list of [d.valRows, rest]) for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
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
  return { ...tb.finish(), featureGain };
}
