/**
 * Histogram binning: each feature's values are mapped to at most 255 ordered bins (0..254) with quantile edges,
 * and missing values to bin 255. Trees then search splits over bins (a few hundred candidates) instead of over
 * every distinct value, and the binned matrix is one byte per cell.
 */
export const MISSING_BIN = 255;
export const MAX_BINS = 255;

/**
 * Bin edges per feature: bin b holds values in (edges[b-1], edges[b]]; values above the last edge fall in the last
 * bin (edges.length). With at most `maxBins` distinct values each value gets its own bin.
 *
 * @example
 * const edges = fitBinEdges([Float64Array.of(1, 2, 3)]);
 * binColumns([Float64Array.of(1, 2, 3, NaN)], edges); // Uint8Array [0, 1, 2, 255]
 */
export function fitBinEdges(
  columns: readonly Float64Array[],
  rows?: Int32Array,
  maxBins = MAX_BINS,
  sampleSize = 200_000,
): Float64Array[] {
  if (maxBins < 2 || maxBins > MAX_BINS) throw new RangeError(`maxBins must be in [2, ${MAX_BINS}]`);
  return columns.map((col) => {
    const n = rows ? rows.length : col.length;
    // A fixed stride subsample keeps binning deterministic and cheap on large tables.
    const stride = n > sampleSize ? n / sampleSize : 1;
    const m = Math.min(n, sampleSize);
    const vals = new Float64Array(m);
    let k = 0;
    for (let j = 0; j < m; j++) {
      const i = Math.floor(j * stride);
      const v = col[rows ? rows[i]! : i]!;
      if (v === v) vals[k++] = v;
    }
    const sorted = vals.subarray(0, k).sort();
    return edgesOf(sorted, maxBins);
  });
}

function edgesOf(sorted: Float64Array, maxBins: number): Float64Array {
  const k = sorted.length;
  if (k === 0) return new Float64Array(0);
  const distinct: number[] = [];
  for (let i = 0; i < k; i++) {
    const v = sorted[i]!;
    if (i === 0 || v !== sorted[i - 1]) {
      distinct.push(v);
      if (distinct.length > maxBins) break;
    }
  }
  if (distinct.length <= maxBins) {
    const e = new Float64Array(distinct.length - 1);
    for (let i = 0; i < e.length; i++) e[i] = midpoint(distinct[i]!, distinct[i + 1]!);
    return e;
  }
  // Quantile edges (midpoint interpolation, as scikit-learn does), deduplicated.
  const out: number[] = [];
  for (let q = 1; q < maxBins; q++) {
    const pos = (q * (k - 1)) / maxBins;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const v = midpoint(sorted[lo]!, sorted[hi]!);
    if (!out.length || v > out[out.length - 1]!) out.push(v);
  }
  // An edge equal to the maximum would leave the last bin empty.
  while (out.length && out[out.length - 1]! >= sorted[k - 1]!) out.pop();
  return Float64Array.from(out);
}

function midpoint(a: number, b: number): number {
  if (a === b) return a;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.isFinite(a) ? a : b;
  const m = a + (b - a) / 2;
  return m < b ? m : a;
}

/** Bin of one value: index of the first edge >= v, 255 for NaN. */
export function binOf(edges: Float64Array, v: number): number {
  if (v !== v) return MISSING_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The binned matrix, column-major: cell (row i, feature f) at f * n + i, n = rows (all rows of the columns, or the
 * given subset in order). Allocated on a SharedArrayBuffer so worker threads read it without copies.
 */
export function binColumns(columns: readonly Float64Array[], edges: readonly Float64Array[], rows?: Int32Array): Uint8Array {
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, n * columns.length)), 0, n * columns.length);
  columns.forEach((col, f) => {
    const e = edges[f]!;
    const off = f * n;
    const ne = e.length;
    if (ne === 0) {
      for (let i = 0; i < n; i++) { const v = col[rows ? rows[i]! : i]!; out[off + i] = v === v ? 0 : MISSING_BIN; }
      return;
    }
    // binOf without branches on the comparisons: the same number of steps for every value of the feature.
    for (let i = 0; i < n; i++) {
      const v = col[rows ? rows[i]! : i]!;
      let b = 0;
      let k = ne;
      while (k > 1) {
        const half = k >> 1;
        b += half & -(+(e[b + half]! < v));
        k -= half;
      }
      out[off + i] = v === v ? b + +(e[b]! < v) : MISSING_BIN;
    }
  });
  return out;
}

/** Real-valued threshold for a split "bin <= b": the upper edge of bin b (Infinity for the last bin). */
export function thresholdOf(edges: Float64Array, b: number): number {
  return b < edges.length ? edges[b]! : Infinity;
}

/** The binned matrix, row-major (cell (row i, feature f) at i * F + f), on shared memory. */
export function binRowMajor(columns: readonly Float64Array[], edges: readonly Float64Array[], rows?: Int32Array): Uint8Array {
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const F = columns.length;
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, n * F)), 0, n * F);
  columns.forEach((col, f) => {
    const e = edges[f]!;
    for (let i = 0; i < n; i++) out[i * F + f] = binOf(e, col[rows ? rows[i]! : i]!);
  });
  return out;
}

/** Row-major copy (cell (i, f) at i * F + f, on shared memory) of a column-major binned matrix of n rows. */
export function toRowMajorBins(Xc: Uint8Array, n: number, F: number): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, n * F)), 0, n * F);
  for (let f = 0; f < F; f++) {
    const off = f * n;
    for (let i = 0, o = f; i < n; i++, o += F) out[o] = Xc[off + i]!;
  }
  return out;
}
