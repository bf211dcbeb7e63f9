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
 * `anyMissingLeft` false (every NaN goes right, as in forests) allows the fast walk with NaN read as +Infinity.
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
 * Adds every tree's leaf values into `out` (rows × classes, row-major) for rows given row-major in `x`
 * (rows × nFeatures). `out` is not cleared; `x` may have its NaNs replaced by +Infinity.
 */
export function accumulate(e: TreeEnsemble, x: Float64Array, rows: number, out: Float64Array): void {
  const packed = pack(e);
  if (packed.anyMissingLeft) accumulateMissing(e, packed, x, rows, out);
  else {
    // Every NaN goes right: +Infinity does the same and keeps the walk to one comparison per node.
    const n = rows * e.nFeatures;
    for (let i = 0; i < n; i++) if (x[i] !== x[i]) x[i] = Infinity;
    accumulateFast(e, packed, x, rows, out);
  }
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
