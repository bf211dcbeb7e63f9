/**
 * Flattened tree ensembles: every node of every tree in a handful of typed arrays, so inference walks arrays of
 * numbers (no node objects, no per-row allocation) and a model saves and loads as raw bytes.
 *
 * Node i: `feature[i] >= 0` is a split "x[feature] <= threshold ? left : right" with right = left + 1, NaN going
 * left when `missingLeft[i]`; `feature[i] < 0` is a leaf holding `-feature[i]` entries starting at `left[i]` in
 * (`leafClass`, `leafValue`). A forest leaf holds its class distribution (sparse); a boosting leaf holds one score
 * for its tree's class.
 */
export interface TreeEnsemble {
  nFeatures: number;
  nClasses: number;
  /** Root node of each tree. */
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  missingLeft: Uint8Array;
  leafClass: Int32Array;
  leafValue: Float64Array;
}

/** One tree, indices local to it; produced by the growers, concatenated by {@link joinTrees}. */
export interface FlatTree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  missingLeft: Uint8Array;
  leafClass: Int32Array;
  leafValue: Float64Array;
  /** Loss reduction of this tree's splits summed per feature (training only; not persisted). */
  featureGain?: Float64Array;
}

/** Growable node arrays for one tree. */
export class TreeBuilder {
  private cap = 64;
  private ecap = 64;
  nodes = 0;
  entries = 0;
  feature = new Int32Array(this.cap);
  threshold = new Float64Array(this.cap);
  left = new Int32Array(this.cap);
  missingLeft = new Uint8Array(this.cap);
  /** Split bin per node, for routing binned rows during training (not persisted). */
  splitBin = new Int32Array(this.cap);
  leafClass = new Int32Array(this.ecap);
  leafValue = new Float64Array(this.ecap);

  /** Reserves a node; returns its index. */
  add(): number {
    if (this.nodes === this.cap) {
      this.cap *= 2;
      this.feature = grow(this.feature, this.cap);
      this.threshold = grow(this.threshold, this.cap);
      this.left = grow(this.left, this.cap);
      this.missingLeft = grow(this.missingLeft, this.cap);
      this.splitBin = grow(this.splitBin, this.cap);
    }
    return this.nodes++;
  }

  /** Makes `node` a split and reserves its two children (left, left + 1). */
  split(node: number, feature: number, bin: number, threshold: number, missingLeft: boolean): number {
    const l = this.add();
    this.add();
    this.feature[node] = feature;
    this.splitBin[node] = bin;
    this.threshold[node] = threshold;
    this.missingLeft[node] = missingLeft ? 1 : 0;
    this.left[node] = l;
    return l;
  }

  /** Makes `node` a leaf with the given (class, value) entries. */
  leaf(node: number, classes: ArrayLike<number>, values: ArrayLike<number>, count = classes.length): void {
    while (this.entries + count > this.ecap) {
      this.ecap *= 2;
      this.leafClass = grow(this.leafClass, this.ecap);
      this.leafValue = grow(this.leafValue, this.ecap);
    }
    this.feature[node] = -count;
    this.left[node] = this.entries;
    this.threshold[node] = 0;
    for (let j = 0; j < count; j++) {
      this.leafClass[this.entries] = classes[j]!;
      this.leafValue[this.entries++] = values[j]!;
    }
  }

  finish(): FlatTree {
    return {
      feature: this.feature.slice(0, this.nodes),
      threshold: this.threshold.slice(0, this.nodes),
      left: this.left.slice(0, this.nodes),
      missingLeft: this.missingLeft.slice(0, this.nodes),
      leafClass: this.leafClass.slice(0, this.entries),
      leafValue: this.leafValue.slice(0, this.entries),
    };
  }
}

function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/** Concatenates trees into one ensemble, in the given order. */
export function joinTrees(trees: readonly FlatTree[], nFeatures: number, nClasses: number): TreeEnsemble {
  let nodes = 0;
  let entries = 0;
  for (const t of trees) { nodes += t.feature.length; entries += t.leafClass.length; }
  const e: TreeEnsemble = {
    nFeatures, nClasses,
    roots: new Int32Array(trees.length),
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    left: new Int32Array(nodes),
    missingLeft: new Uint8Array(nodes),
    leafClass: new Int32Array(entries),
    leafValue: new Float64Array(entries),
  };
  let no = 0;
  let eo = 0;
  trees.forEach((t, k) => {
    e.roots[k] = no;
    e.feature.set(t.feature, no);
    e.threshold.set(t.threshold, no);
    e.missingLeft.set(t.missingLeft, no);
    for (let i = 0; i < t.feature.length; i++) e.left[no + i] = t.left[i]! + (t.feature[i]! >= 0 ? no : eo);
    e.leafClass.set(t.leafClass, eo);
    e.leafValue.set(t.leafValue, eo);
    no += t.feature.length;
    eo += t.leafClass.length;
  });
  return e;
}

/** The first `n` trees of an ensemble (boosting truncated at its best iteration). */
export function firstTrees(e: TreeEnsemble, n: number): TreeEnsemble {
  if (n >= e.roots.length) return e;
  const nodes = n < e.roots.length ? e.roots[n]! : e.feature.length;
  let entries = 0;
  for (let i = 0; i < nodes; i++) if (e.feature[i]! < 0) entries = Math.max(entries, e.left[i]! - e.feature[i]!);
  return {
    nFeatures: e.nFeatures, nClasses: e.nClasses,
    roots: e.roots.slice(0, n),
    feature: e.feature.slice(0, nodes),
    threshold: e.threshold.slice(0, nodes),
    left: e.left.slice(0, nodes),
    missingLeft: e.missingLeft.slice(0, nodes),
    leafClass: e.leafClass.slice(0, entries),
    leafValue: e.leafValue.slice(0, entries),
  };
}

/** Rows per block: the trees are walked block by block so one tree's nodes stay in cache for many rows. */
const BLOCK = 256;

/**
 * Inference layout: 16 bytes per node in one buffer (Int32 [feature * 2 + missingLeft | -entries, left], Float64
 * threshold), so a node visit touches one cache line instead of four arrays. Built once per ensemble, cached.
 * `anyMissingLeft` false (every NaN goes right, as in forests) allows the fast walk: one comparison per node, which
 * NaN fails, so it goes right.
 */
interface Packed {
  ints: Int32Array;
  thr: Float64Array;
  anyMissingLeft: boolean;
}
const packedCache = new WeakMap<TreeEnsemble, Packed>();

function pack(e: TreeEnsemble): Packed {
  let p = packedCache.get(e);
  if (p) return p;
  const n = e.feature.length;
  const buf = new ArrayBuffer(Math.max(16, n * 16));
  const ints = new Int32Array(buf);
  const thr = new Float64Array(buf);
  let anyMissingLeft = false;
  for (let i = 0; i < n; i++) {
    const f = e.feature[i]!;
    const ml = f >= 0 && e.missingLeft[i]! ? 1 : 0;
    if (ml) anyMissingLeft = true;
    ints[i * 4] = f >= 0 ? f * 2 + ml : f;
    ints[i * 4 + 1] = e.left[i]!;
    thr[i * 2 + 1] = e.threshold[i]!;
  }
  p = { ints, thr, anyMissingLeft };
  packedCache.set(e, p);
  return p;
}

/**
 * Builds the inference form of an ensemble now (it is otherwise built on first use): training and model loading
 * call it so the first prediction does not pay for it.
 */
export function prepareInference(e: TreeEnsemble): void {
  if (!completeForm(e)) pack(e);
}

/**
 * Adds every tree's leaf values into `out` (rows × classes, row-major) for rows given row-major in `x`
 * (rows × nFeatures). `out` is not cleared; `x` is not changed.
 */
export function accumulate(e: TreeEnsemble, x: Float64Array, rows: number, out: Float64Array): void {
  const complete = completeForm(e);
  if (complete) { accumulateComplete(e, complete, x, rows, out); return; }
  const packed = pack(e);
  // Every NaN goes right: `NaN <= threshold` is false, so the one comparison per node sends it right. (Reading
  // NaN as +Infinity would not: a split that keeps every finite value left has threshold +Infinity.)
  if (packed.anyMissingLeft) accumulateMissing(e, packed, x, rows, out);
  else accumulateFast(e, packed, x, rows, out);
}

function accumulateFast(e: TreeEnsemble, p: Packed, x: Float64Array, rows: number, out: Float64Array): void {
  const F = e.nFeatures;
  const K = e.nClasses;
  const { roots, leafClass, leafValue } = e;
  const { ints, thr } = p;
  const nTrees = roots.length;
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t]!;
      for (let r = r0; r < r1; r++) {
        const base = r * F;
        let node = root;
        let a = ints[node << 2]!;
        while (a >= 0) {
          node = ints[(node << 2) + 1]! + (x[base + (a >> 1)]! <= thr[(node << 1) + 1]! ? 0 : 1);
          a = ints[node << 2]!;
        }
        const s = ints[(node << 2) + 1]!;
        const o = r * K;
        if (a === -1) out[o + leafClass[s]!]! += leafValue[s]!;
        else for (let j = s, end = s - a; j < end; j++) out[o + leafClass[j]!]! += leafValue[j]!;
      }
    }
  }
}

function accumulateMissing(e: TreeEnsemble, p: Packed, x: Float64Array, rows: number, out: Float64Array): void {
  const F = e.nFeatures;
  const K = e.nClasses;
  const { roots, leafClass, leafValue } = e;
  const { ints, thr } = p;
  const nTrees = roots.length;
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t]!;
      for (let r = r0; r < r1; r++) {
        const base = r * F;
        let node = root;
        let a = ints[node << 2]!;
        while (a >= 0) {
          const v = x[base + (a >> 1)]!;
          const l = ints[(node << 2) + 1]!;
          node = v <= thr[(node << 1) + 1]! ? l : v !== v ? l + 1 - (a & 1) : l + 1;
          a = ints[node << 2]!;
        }
        const s = ints[(node << 2) + 1]!;
        const o = r * K;
        if (a === -1) out[o + leafClass[s]!]! += leafValue[s]!;
        else for (let j = s, end = s - a; j < end; j++) out[o + leafClass[j]!]! += leafValue[j]!;
      }
    }
  }
}

/** Leaf node index reached by one row (row-major `x` at `base`) in tree `t`. */
export function leafOf(e: TreeEnsemble, t: number, x: Float64Array, base: number): number {
  let node = e.roots[t]!;
  let f = e.feature[node]!;
  while (f >= 0) {
    const v = x[base + f]!;
    node = e.left[node]! + (v <= e.threshold[node]! ? 0 : v !== v ? 1 - e.missingLeft[node]! : 1);
    f = e.feature[node]!;
  }
  return node;
}

/** Copies columns (one Float64Array per feature) into a row-major block [r0, r1). */
export function toRowMajor(cols: readonly Float64Array[], r0: number, r1: number, out?: Float64Array): Float64Array {
  const F = cols.length;
  const n = r1 - r0;
  const x = out && out.length >= n * F ? out : new Float64Array(n * F);
  for (let f = 0; f < F; f++) {
    const c = cols[f]!;
    for (let i = 0; i < n; i++) x[i * F + f] = c[r0 + i]!;
  }
  return x;
}

/**
 * Second inference form for shallow ensembles of one-value leaves (boosting): every tree padded to a complete
 * binary tree of depth D (children of i at 2i + 1 and 2i + 2, so no child pointers), each split one Int32
 * `feature | bin << 16` comparing the row's bin index (rows are binned once against the thresholds the model
 * uses), and the walk a fixed D steps of integer arithmetic with no branch to mispredict, four rows at a time.
 * Built when every tree is at most MAX_COMPLETE_DEPTH deep, no split sends NaN left and every feature has at
 * most 255 distinct thresholds; otherwise the packed walk above is used. Same sums as the packed walk: a row's
 * bin is the number of a feature's thresholds below its value, so "bin <= j" is "value <= threshold j".
 */
const MAX_COMPLETE_DEPTH = 8;

interface Complete {
  depth: number;
  /** Trees walked (multi-entry single-leaf trees, such as a boosting prior, are folded into `base`). */
  trees: number;
  nodes: Int32Array;
  leafValue: Float64Array;
  leafClass: Int32Array;
  /** Constant added to every row, per class. */
  base: Float64Array;
  /** The sorted distinct thresholds of all features, concatenated; feature f's at cuts[cutStart[f] .. cutStart[f + 1]). */
  cuts: Float64Array;
  cutStart: Int32Array;
}
const completeCache = new WeakMap<TreeEnsemble, Complete | null>();

function completeForm(e: TreeEnsemble): Complete | null {
  if (completeCache.has(e)) return completeCache.get(e)!;
  const c = buildComplete(e);
  completeCache.set(e, c);
  return c;
}

function buildComplete(e: TreeEnsemble): Complete | null {
  const T = e.roots.length;
  if (T === 0 || e.nFeatures > 0xffff) return null;
  const base = new Float64Array(e.nClasses);
  const walked: number[] = [];
  let D = 0;
  const depthOf = (node: number, d: number): number => {
    if (d > MAX_COMPLETE_DEPTH) return d;
    const f = e.feature[node]!;
    if (f < 0) return f === -1 ? d : Infinity;
    if (e.missingLeft[node]) return Infinity;
    return Math.max(depthOf(e.left[node]!, d + 1), depthOf(e.left[node]! + 1, d + 1));
  };
  for (let t = 0; t < T; t++) {
    const root = e.roots[t]!;
    const f = e.feature[root]!;
    if (f < -1) {
      // A single leaf with several entries: a constant.
      for (let j = e.left[root]!; j < e.left[root]! - f; j++) base[e.leafClass[j]!]! += e.leafValue[j]!;
      continue;
    }
    const d = depthOf(root, 0);
    if (d > MAX_COMPLETE_DEPTH) return null;
    if (d > D) D = d;
    walked.push(t);
  }
  // At least one level (single-leaf trees become a split that always goes left): the walk reads the root first.
  if (D === 0) D = 1;
  const sets: Set<number>[] = Array.from({ length: e.nFeatures }, () => new Set());
  for (let i = 0; i < e.feature.length; i++) if (e.feature[i]! >= 0) sets[e.feature[i]!]!.add(e.threshold[i]!);
  if (sets.some((x) => x.size > 255)) return null;
  const perFeature = sets.map((x) => Float64Array.from(x).sort());
  const rank = perFeature.map((c) => new Map(Array.from(c, (v, j) => [v, j])));
  const cutStart = new Int32Array(e.nFeatures + 1);
  perFeature.forEach((c, f) => { cutStart[f + 1] = cutStart[f]! + c.length; });
  const cuts = new Float64Array(cutStart[e.nFeatures]!);
  perFeature.forEach((c, f) => cuts.set(c, cutStart[f]!));
  const inner = (1 << D) - 1;
  const width = 1 << D;
  const nodes = new Int32Array(Math.max(1, walked.length * inner));
  const leafValue = new Float64Array(walked.length * width);
  const leafClass = new Int32Array(walked.length);
  // A leaf above the last level becomes splits that always go left (bin 255 is never exceeded).
  const ALWAYS_LEFT = 255 << 16;
  let oneClass = true;
  walked.forEach((t, k) => {
    leafClass[k] = -1;
    const fill = (node: number, i: number, d: number): void => {
      const f = e.feature[node]!;
      if (d === D) {
        leafValue[k * width + (i - inner)] = e.leafValue[e.left[node]!]!;
        const cls = e.leafClass[e.left[node]!]!;
        if (leafClass[k] === -1) leafClass[k] = cls;
        else if (leafClass[k] !== cls) oneClass = false;
        return;
      }
      if (f < 0) {
        nodes[k * inner + i] = ALWAYS_LEFT;
        fill(node, 2 * i + 1, d + 1);
        return;
      }
      nodes[k * inner + i] = f | (rank[f]!.get(e.threshold[node]!)! << 16);
      fill(e.left[node]!, 2 * i + 1, d + 1);
      fill(e.left[node]! + 1, 2 * i + 2, d + 1);
    };
    fill(e.roots[t]!, 0, 0);
  });
  // Each tree must speak for one class (boosting); a forest's leaves name many.
  if (!oneClass) return null;
  return { depth: D, trees: walked.length, nodes, leafValue, leafClass, base, cuts, cutStart };
}

function accumulateComplete(e: TreeEnsemble, c: Complete, x: Float64Array, rows: number, out: Float64Array): void {
  walkComplete(c.nodes, c.leafValue, c.leafClass, c.base, c.cuts, c.cutStart, c.trees, c.depth, e.nFeatures, e.nClasses, x, null, null, rows, out);
}

/**
 * {@link accumulate} straight from feature columns (one Float64Array per feature) for the given rows (default
 * all), without a row-major copy: rows are binned from the columns block by block. Returns false (and does
 * nothing) when the ensemble has no complete-tree form; the caller then copies rows and calls accumulate.
 */
export function accumulateColumns(e: TreeEnsemble, columns: readonly Float64Array[], rows: Int32Array | null, count: number, out: Float64Array): boolean {
  const c = completeForm(e);
  if (!c) return false;
  walkComplete(c.nodes, c.leafValue, c.leafClass, c.base, c.cuts, c.cutStart, c.trees, c.depth, e.nFeatures, e.nClasses, EMPTY, columns, rows, count, out);
  return true;
}
const EMPTY = new Float64Array(0);

/** The complete-tree walk over typed arrays and numbers only (no object properties: one shape, no deopts). */
function walkComplete(
  nodes: Int32Array, leafValue: Float64Array, leafClass: Int32Array, base: Float64Array, cuts: Float64Array,
  cutStart: Int32Array, trees: number, D: number, F: number, K: number, x: Float64Array,
  cols: readonly Float64Array[] | null, rowIdx: Int32Array | null, rows: number, out: Float64Array,
): void {
  const inner = (1 << D) - 1;
  const width = 1 << D;
  const xb = new Uint8Array(Math.min(rows, BLOCK) * F);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    // Bin the block: count of the feature's thresholds strictly below the value; NaN is 255 (goes right).
    // Feature by feature, so every row's search takes the same number of steps (the loop is predicted), and each
    // step moves the base by arithmetic, not by a branch on the comparison.
    const nr = r1 - r0;
    for (let f = 0; f < F; f++) {
      const c0 = cutStart[f]!;
      const nc = cutStart[f + 1]! - c0;
      // Values from the row-major block x, or from column f (through rowIdx when given).
      const col = cols ? cols[f]! : EMPTY;
      if (nc === 0) {
        for (let j = 0; j < nr; j++) {
          const v = cols ? col[rowIdx ? rowIdx[r0 + j]! : r0 + j]! : x[(r0 + j) * F + f]!;
          xb[j * F + f] = v === v ? 0 : 255;
        }
        continue;
      }
      for (let j = 0; j < nr; j++) {
        const v = cols ? col[rowIdx ? rowIdx[r0 + j]! : r0 + j]! : x[(r0 + j) * F + f]!;
        // Lower bound over cuts[c0, c0 + nc): the first cut >= v (NaN compares false everywhere: fixed below).
        let b = c0;
        let n = nc;
        while (n > 1) {
          const half = n >> 1;
          b += half & -(+(cuts[b + half]! < v));
          n -= half;
        }
        const bin = b - c0 + +(cuts[b]! < v);
        xb[j * F + f] = v === v ? bin : 255;
      }
    }
    for (let r = r0; r < r1; r++) for (let k = 0; k < K; k++) out[r * K + k]! += base[k]!;
    for (let t = 0; t < trees; t++) {
      const nb = t * inner;
      const lb = t * width - inner;
      const cls = leafClass[t]!;
      const rootW = nodes[nb]!;
      const rootF = rootW & 0xffff, rootT = rootW >>> 16;
      let r = r0;
      // Eight independent walks per step let the processor overlap their memory loads.
      for (; r + 7 < r1; r += 8) {
        const b0 = (r - r0) * F, b1 = b0 + F, b2 = b1 + F, b3 = b2 + F, b4 = b3 + F, b5 = b4 + F, b6 = b5 + F, b7 = b6 + F;
        // The root is the same node for every row: its split is read once (D >= 1: single leaves are folded into base).
        const rf = rootF, rt = rootT;
        let i0 = (1 + ((rt - xb[(b0 + rf) | 0]!) >>> 31)) | 0, i1 = (1 + ((rt - xb[(b1 + rf) | 0]!) >>> 31)) | 0;
        let i2 = (1 + ((rt - xb[(b2 + rf) | 0]!) >>> 31)) | 0, i3 = (1 + ((rt - xb[(b3 + rf) | 0]!) >>> 31)) | 0;
        let i4 = (1 + ((rt - xb[(b4 + rf) | 0]!) >>> 31)) | 0, i5 = (1 + ((rt - xb[(b5 + rf) | 0]!) >>> 31)) | 0;
        let i6 = (1 + ((rt - xb[(b6 + rf) | 0]!) >>> 31)) | 0, i7 = (1 + ((rt - xb[(b7 + rf) | 0]!) >>> 31)) | 0;
        for (let d = 1; d < D; d++) {
          const w0 = nodes[nb + i0]!, w1 = nodes[nb + i1]!, w2 = nodes[nb + i2]!, w3 = nodes[nb + i3]!;
          const w4 = nodes[nb + i4]!, w5 = nodes[nb + i5]!, w6 = nodes[nb + i6]!, w7 = nodes[nb + i7]!;
          i0 = ((i0 << 1) + 1 + (((w0 >>> 16) - xb[(b0 + (w0 & 0xffff)) | 0]!) >>> 31)) | 0;
          i1 = ((i1 << 1) + 1 + (((w1 >>> 16) - xb[(b1 + (w1 & 0xffff)) | 0]!) >>> 31)) | 0;
          i2 = ((i2 << 1) + 1 + (((w2 >>> 16) - xb[(b2 + (w2 & 0xffff)) | 0]!) >>> 31)) | 0;
          i3 = ((i3 << 1) + 1 + (((w3 >>> 16) - xb[(b3 + (w3 & 0xffff)) | 0]!) >>> 31)) | 0;
          i4 = ((i4 << 1) + 1 + (((w4 >>> 16) - xb[(b4 + (w4 & 0xffff)) | 0]!) >>> 31)) | 0;
          i5 = ((i5 << 1) + 1 + (((w5 >>> 16) - xb[(b5 + (w5 & 0xffff)) | 0]!) >>> 31)) | 0;
          i6 = ((i6 << 1) + 1 + (((w6 >>> 16) - xb[(b6 + (w6 & 0xffff)) | 0]!) >>> 31)) | 0;
          i7 = ((i7 << 1) + 1 + (((w7 >>> 16) - xb[(b7 + (w7 & 0xffff)) | 0]!) >>> 31)) | 0;
        }
        out[r * K + cls]! += leafValue[lb + i0]!;
        out[(r + 1) * K + cls]! += leafValue[lb + i1]!;
        out[(r + 2) * K + cls]! += leafValue[lb + i2]!;
        out[(r + 3) * K + cls]! += leafValue[lb + i3]!;
        out[(r + 4) * K + cls]! += leafValue[lb + i4]!;
        out[(r + 5) * K + cls]! += leafValue[lb + i5]!;
        out[(r + 6) * K + cls]! += leafValue[lb + i6]!;
        out[(r + 7) * K + cls]! += leafValue[lb + i7]!;
      }
      for (; r + 3 < r1; r += 4) {
        const b0 = (r - r0) * F, b1 = b0 + F, b2 = b1 + F, b3 = b2 + F;
        let i0 = 0, i1 = 0, i2 = 0, i3 = 0;
        for (let d = 0; d < D; d++) {
          const w0 = nodes[nb + i0]!, w1 = nodes[nb + i1]!, w2 = nodes[nb + i2]!, w3 = nodes[nb + i3]!;
          i0 = ((i0 << 1) + 1 + (((w0 >>> 16) - xb[(b0 + (w0 & 0xffff)) | 0]!) >>> 31)) | 0;
          i1 = ((i1 << 1) + 1 + (((w1 >>> 16) - xb[(b1 + (w1 & 0xffff)) | 0]!) >>> 31)) | 0;
          i2 = ((i2 << 1) + 1 + (((w2 >>> 16) - xb[(b2 + (w2 & 0xffff)) | 0]!) >>> 31)) | 0;
          i3 = ((i3 << 1) + 1 + (((w3 >>> 16) - xb[(b3 + (w3 & 0xffff)) | 0]!) >>> 31)) | 0;
        }
        out[r * K + cls]! += leafValue[lb + i0]!;
        out[(r + 1) * K + cls]! += leafValue[lb + i1]!;
        out[(r + 2) * K + cls]! += leafValue[lb + i2]!;
        out[(r + 3) * K + cls]! += leafValue[lb + i3]!;
      }
      for (; r < r1; r++) {
        const b0 = (r - r0) * F;
        let i0 = 0;
        for (let d = 0; d < D; d++) {
          const w0 = nodes[nb + i0]!;
          i0 = ((i0 << 1) + 1 + (((w0 >>> 16) - xb[(b0 + (w0 & 0xffff)) | 0]!) >>> 31)) | 0;
        }
        out[r * K + cls]! += leafValue[lb + i0]!;
      }
    }
  }
}
