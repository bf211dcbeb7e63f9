import { Rng, deriveSeed } from '../../core/rng.ts';
import { MISSING_BIN } from '../binning.ts';
import { TreeBuilder, type FlatTree } from './ensemble.ts';

/**
 * Random-forest tree growing over the binned matrix (CART, Gini impurity, weighted). Runs in a worker thread or in
 * the main thread alike: the inputs are typed arrays (shared memory when threaded) and every random choice of
 * tree t comes from seeds derived from (seed, t), so a forest does not depend on which thread grew which tree.
 */
export interface ForestParams {
  trees: number;
  /** Features tried per split: 'sqrt', 'log2', 'all', a fraction (0, 1] or a count (> 1). */
  maxFeatures: 'sqrt' | 'log2' | 'all' | number;
  /** 0 = unlimited. */
  maxDepth: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  bootstrap: boolean;
  /** Bootstrap sample size as a share of the training rows. */
  maxSamples: number;
  /** 'balanced': weight each class by n / (classes * n_class), as scikit-learn does. */
  classWeight: 'balanced' | 'none';
  seed: number;
}

export const FOREST_DEFAULTS: ForestParams = {
  trees: 100, maxFeatures: 'sqrt', maxDepth: 0, minSamplesLeaf: 1, minSamplesSplit: 2, bootstrap: true,
  maxSamples: 1, classWeight: 'balanced', seed: 0,
};

/** What a forest grower reads: the binned matrix of all rows, labels, the training rows and the bin edges. */
export interface ForestData {
  /** n x F bins, column-major (cell (i, f) at f * n + i). */
  X: Uint8Array;
  n: number;
  F: number;
  K: number;
  y: Int32Array;
  /** Training rows (indices into X and y). */
  rows: Int32Array;
  classWeight: Float64Array;
  /** Bin edges of all features, concatenated; feature f's edges are edges[edgeStart[f] .. edgeStart[f + 1]). */
  edges: Float64Array;
  edgeStart: Int32Array;
}

export function featuresPerSplit(p: ForestParams, F: number): number {
  const m = p.maxFeatures;
  let k: number;
  if (m === 'sqrt') k = Math.sqrt(F);
  else if (m === 'log2') k = Math.log2(F);
  else if (m === 'all') k = F;
  else k = m <= 1 ? m * F : m;
  return Math.max(1, Math.min(F, Math.floor(k)));
}

/** Bootstrap draw counts per training row for tree t (null without bootstrap): also used to find out-of-bag rows. */
export function bootstrapCounts(nTrain: number, p: ForestParams, t: number): Int32Array | null {
  if (!p.bootstrap) return null;
  const rng = new Rng(deriveSeed(p.seed, t, 1));
  const counts = new Int32Array(nTrain);
  const draws = Math.max(1, Math.round(p.maxSamples * nTrain));
  for (let i = 0; i < draws; i++) counts[rng.int(nTrain)]!++;
  return counts;
}

export interface GrownForestTree {
  tree: FlatTree;
  /** Weighted impurity decrease per feature, normalised to sum 1 within the tree. */
  importance: Float64Array;
}

/**
 * Grows tree t of a forest.
 *
 * Split search per node and feature: the node's rows are counting-sorted by bin, then swept once with running
 * sums of squared class weights, so a node costs O(rows) per feature whatever the number of classes.
 */
export function growForestTree(d: ForestData, p: ForestParams, t: number): GrownForestTree {
  const { X, n, F, K, y } = d;
  const nTrain = d.rows.length;
  const counts = bootstrapCounts(nTrain, p, t);
  // Local arrays over the rows in the bag: global row, label, weight.
  let m = 0;
  for (let i = 0; i < nTrain; i++) if (!counts || counts[i]! > 0) m++;
  const gr = new Int32Array(m);
  const yl = new Int32Array(m);
  const wl = new Float64Array(m);
  for (let i = 0, j = 0; i < nTrain; i++) {
    const c = counts ? counts[i]! : 1;
    if (c === 0) continue;
    const row = d.rows[i]!;
    gr[j] = row;
    yl[j] = y[row]!;
    wl[j] = c * d.classWeight[y[row]!]!;
    j++;
  }
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = i;
  const scratch = new Int32Array(m);
  const binBuf = new Uint8Array(m);
  const cnt = new Int32Array(256);
  const binStart = new Int32Array(256);
  const touched = new Int32Array(256);
  const tot = new Float64Array(K);
  const lw = new Float64Array(K);
  const perm = new Int32Array(F);
  for (let f = 0; f < F; f++) perm[f] = f;
  const importance = new Float64Array(F);
  const mtry = featuresPerSplit(p, F);
  const rng = new Rng(deriveSeed(p.seed, t, 2));
  const maxDepth = p.maxDepth > 0 ? p.maxDepth : Infinity;
  const minLeaf = Math.max(1, p.minSamplesLeaf);
  const minSplit = Math.max(2, p.minSamplesSplit, 2 * minLeaf);
  const leafCls = new Int32Array(K);
  // Up to 8 classes a per-bin class histogram is cheaper than sorting the node's rows by bin.
  const useHist = K <= 8;
  const hist = new Float64Array(useHist ? 256 * K : 0);
  const leafVal = new Float64Array(K);

  const b = new TreeBuilder();
  const root = b.add();
  // Explicit stack of (node, start, end, depth).
  const stack: number[] = [root, 0, m, 0];
  while (stack.length) {
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const node = stack.pop()!;
    const nNode = end - start;

    tot.fill(0);
    let W = 0;
    for (let i = start; i < end; i++) { const j = idx[i]!; tot[yl[j]!]! += wl[j]!; W += wl[j]!; }
    let sumsq = 0;
    let nonzero = 0;
    for (let c = 0; c < K; c++) { const v = tot[c]!; if (v > 0) { sumsq += v * v; nonzero++; } }

    let bestF = -1;
    let bestBin = -1;
    let bestScore = sumsq / W;
    const parentScore = bestScore;
    if (nonzero > 1 && nNode >= minSplit && depth < maxDepth) {
      let tried = 0;
      for (let jf = 0; jf < F; jf++) {
        if (tried >= mtry && bestF >= 0) break;
        const r = jf + rng.int(F - jf);
        const f = perm[r]!;
        perm[r] = perm[jf]!;
        perm[jf] = f;
        const off = f * n;
        if (useHist) {
          // Few classes: per-bin class weights, then a sweep over the bins present.
          let nt = 0;
          for (let i = start; i < end; i++) {
            const j = idx[i]!;
            const bin = X[off + gr[j]!]!;
            if (cnt[bin]!++ === 0) touched[nt++] = bin;
            hist[bin * K + yl[j]!]! += wl[j]!;
          }
          if (nt === 1) {
            const bin = touched[0]!;
            cnt[bin] = 0;
            for (let c = 0; c < K; c++) hist[bin * K + c] = 0;
            continue;
          }
          tried++;
          const tb = sortSmall(touched, nt);
          let wL = 0, nL = 0, sqL = 0, sqR = sumsq;
          for (let q = 0; q < nt; q++) {
            const bin = tb[q]!;
            const hb = bin * K;
            if (q < nt - 1) {
              for (let c = 0; c < K; c++) {
                const w = hist[hb + c]!;
                if (w === 0) continue;
                const l = lw[c]!;
                sqL += 2 * w * l + w * w;
                sqR += w * w - 2 * w * (tot[c]! - l);
                lw[c] = l + w;
                wL += w;
              }
              nL += cnt[bin]!;
              if (nL >= minLeaf && nNode - nL >= minLeaf) {
                const wR = W - wL;
                if (wL > 0 && wR > 0) {
                  const score = sqL / wL + sqR / wR;
                  if (score > bestScore + 1e-12 * Math.abs(bestScore) || (bestF < 0 && score >= bestScore)) {
                    bestScore = score;
                    bestF = f;
                    bestBin = bin;
                  }
                }
              }
            }
            cnt[bin] = 0;
            for (let c = 0; c < K; c++) hist[hb + c] = 0;
          }
          lw.fill(0);
          continue;
        }
        // Count rows per bin and list the bins present.
        let nt = 0;
        for (let i = start; i < end; i++) {
          const bin = X[off + gr[idx[i]!]!]!;
          binBuf[i - start] = bin;
          if (cnt[bin]!++ === 0) touched[nt++] = bin;
        }
        if (nt === 1) { cnt[touched[0]!] = 0; continue; } // constant here: does not count as tried
        tried++;
        const tb = sortSmall(touched, nt);
        let acc = 0;
        for (let q = 0; q < nt; q++) { const bin = tb[q]!; binStart[bin] = acc; acc += cnt[bin]!; }
        for (let i = start; i < end; i++) scratch[start + binStart[binBuf[i - start]!]!++] = idx[i]!;
        // Sweep bins in order, moving rows from right to left.
        let wL = 0, nL = 0, sqL = 0, sqR = sumsq;
        let pos = start;
        for (let q = 0; q < nt - 1; q++) {
          const bin = tb[q]!;
          const stop = pos + cnt[bin]!;
          for (; pos < stop; pos++) {
            const j = scratch[pos]!;
            const c = yl[j]!;
            const w = wl[j]!;
            const l = lw[c]!;
            sqL += 2 * w * l + w * w;
            sqR += w * w - 2 * w * (tot[c]! - l);
            lw[c] = l + w;
            wL += w;
          }
          nL = pos - start;
          if (nL < minLeaf) continue;
          if (nNode - nL < minLeaf) break;
          const wR = W - wL;
          if (wL <= 0 || wR <= 0) continue;
          const score = sqL / wL + sqR / wR;
          if (score > bestScore + 1e-12 * Math.abs(bestScore) || (bestF < 0 && score >= bestScore)) {
            bestScore = score;
            bestF = f;
            bestBin = bin;
          }
        }
        for (let i = start; i < end; i++) lw[yl[idx[i]!]!] = 0;
        for (let q = 0; q < nt; q++) cnt[tb[q]!] = 0;
      }
    }

    if (bestF < 0) {
      let k = 0;
      for (let c = 0; c < K; c++) if (tot[c]! > 0) { leafCls[k] = c; leafVal[k++] = tot[c]! / W; }
      b.leaf(node, leafCls, leafVal, k);
      continue;
    }
    importance[bestF]! += bestScore - parentScore;
    // Partition [start, end) into bins <= bestBin (left) and the rest; missing (bin 255) always goes right.
    const off = bestF * n;
    let i = start;
    let j = end - 1;
    while (i <= j) {
      if (X[off + gr[idx[i]!]!]! <= bestBin) i++;
      else { const tmp = idx[i]!; idx[i] = idx[j]!; idx[j] = tmp; j--; }
    }
    const fs = d.edgeStart[bestF]!;
    const ne = d.edgeStart[bestF + 1]! - fs;
    const thr = bestBin < ne ? d.edges[fs + bestBin]! : Infinity;
    const l = b.split(node, bestF, bestBin, thr, bestBin >= MISSING_BIN);
    stack.push(l + 1, i, end, depth + 1);
    stack.push(l, start, i, depth + 1);
  }
  let s = 0;
  for (let f = 0; f < F; f++) s += importance[f]!;
  if (s > 0) for (let f = 0; f < F; f++) importance[f]! /= s;
  return { tree: b.finish(), importance };
}

/** Sorts the first n entries in place (insertion sort for the usual handful of bins) and returns them. */
function sortSmall(a: Int32Array, n: number): Int32Array {
  if (n > 48) return a.subarray(0, n).sort();
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) { a[j + 1] = a[j]!; j--; }
    a[j + 1] = v;
  }
  return a.subarray(0, n);
}
