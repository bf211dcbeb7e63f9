import { Rng, deriveSeed } from '../core/rng.ts';
import { TreeBuilder, joinTrees, accumulate, toRowMajor, type TreeEnsemble } from './trees/ensemble.ts';

/**
 * Open-set check: an isolation forest (Liu, Ting and Zhou 2008) over the model inputs. A flow unlike every
 * training flow is isolated by few random splits; its score is then above what nearly all training flows score,
 * and the classifier answers 'unknown' instead of forcing it into a known class. Complements the confidence
 * threshold, which cannot catch a flow far from the training data that lands in a pure leaf.
 */
export interface NoveltyModel {
  /** Isolation trees; each leaf holds (depth + c(size)) / trees, so the summed walk is the mean path length. */
  forest: TreeEnsemble;
  trees: number;
  sampleSize: number;
  /** Scores above this are novel (the `quantile` of the training rows' scores). */
  threshold: number;
  quantile: number;
}

/** Average path length of an unsuccessful search in a binary search tree of n points. */
function cFactor(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.5772156649) - (2 * (n - 1)) / n;
}

/**
 * Fits the isolation forest on the given rows of the feature columns.
 *
 * @example
 * const nov = fitNovelty(cols, trainRows, { seed: 0 });
 * noveltyScores(nov, cols); // in (0, 1]; above nov.threshold = novel
 */
export function fitNovelty(
  columns: readonly Float64Array[], rows: Int32Array, opts: { seed?: number; trees?: number; sampleSize?: number; quantile?: number } = {},
): NoveltyModel {
  const F = columns.length;
  const nTrees = opts.trees ?? 100;
  const psi = Math.min(opts.sampleSize ?? 256, rows.length);
  const quantile = opts.quantile ?? 0.995;
  const maxDepth = Math.ceil(Math.log2(Math.max(2, psi)));
  const flat = [];
  for (let t = 0; t < nTrees; t++) {
    const rng = new Rng(deriveSeed(opts.seed ?? 0, t, 99));
    const sample = new Int32Array(psi);
    // Sample without replacement (partial Fisher-Yates over a copy of the row list).
    const pool = Int32Array.from(rows);
    for (let i = 0; i < psi; i++) {
      const j = i + rng.int(pool.length - i);
      const tmp = pool[i]!; pool[i] = pool[j]!; pool[j] = tmp;
      sample[i] = pool[i]!;
    }
    const b = new TreeBuilder();
    const stack: number[] = [b.add(), 0, psi, 0];
    while (stack.length) {
      const depth = stack.pop()!, end = stack.pop()!, start = stack.pop()!, node = stack.pop()!;
      const size = end - start;
      let split = false;
      if (size > 1 && depth < maxDepth) {
        // Random feature with spread in this node (a few tries), random threshold between its min and max.
        for (let tries = 0; tries < F && !split; tries++) {
          const f = rng.int(F);
          const col = columns[f]!;
          let lo = Infinity, hi = -Infinity;
          for (let i = start; i < end; i++) { const v = col[sample[i]!]!; if (v < lo) lo = v; if (v > hi) hi = v; }
          if (!(hi > lo) || !Number.isFinite(hi - lo)) continue;
          let thr = lo + rng.float() * (hi - lo);
          if (thr >= hi) thr = lo;
          let i = start, j = end - 1;
          while (i <= j) {
            if (col[sample[i]!]! <= thr) i++;
            else { const tmp = sample[i]!; sample[i] = sample[j]!; sample[j] = tmp; j--; }
          }
          const l = b.split(node, f, 0, thr, false);
          stack.push(l + 1, i, end, depth + 1, l, start, i, depth + 1);
          split = true;
        }
      }
      if (!split) b.leaf(node, [0], [(depth + cFactor(size)) / nTrees]);
    }
    flat.push(b.finish());
  }
  const forest = joinTrees(flat, F, 1);
  const model: NoveltyModel = { forest, trees: nTrees, sampleSize: psi, threshold: 1, quantile };
  // Threshold: the quantile of the training rows' scores (a sample of them on large tables).
  const step = Math.max(1, Math.floor(rows.length / 20000));
  const some = rows.filter((_, i) => i % step === 0);
  const s = noveltyScores(model, columns, some).sort();
  model.threshold = s.length ? s[Math.min(s.length - 1, Math.floor(quantile * s.length))]! : 1;
  return model;
}

/** Isolation scores in (0, 1] for the given rows (default all): 2^(-mean path / c(sampleSize)). */
export function noveltyScores(m: NoveltyModel, columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
  const F = columns.length;
  const n = rows ? rows.length : (columns[0]?.length ?? 0);
  const out = new Float64Array(n);
  const block = 4096;
  const x = new Float64Array(block * F);
  const c = cFactor(m.sampleSize) || 1;
  for (let r0 = 0; r0 < n; r0 += block) {
    const r1 = Math.min(n, r0 + block);
    if (rows) for (let i = r0; i < r1; i++) for (let f = 0; f < F; f++) x[(i - r0) * F + f] = columns[f]![rows[i]!]!;
    else toRowMajor(columns, r0, r1, x);
    accumulate(m.forest, x, r1 - r0, out.subarray(r0, r1));
  }
  for (let i = 0; i < n; i++) out[i] = Math.pow(2, -out[i]! / c);
  return out;
}
