import type { PerClassScore } from './evaluation.ts';

/**
 * Classification scores, computed as scikit-learn does (precision of a class never predicted is 0; macro averages
 * run over the classes present in the truth or the predictions). An 'unknown' answer (-1) is never correct and
 * never counts as a prediction of any class.
 */
export interface ScoreInput {
  /** Row classes: the model's classes first, then any classes only the evaluation data has. */
  classes: readonly string[];
  /** Classes the model can answer (the first `modelClasses` of `classes`); width of `proba`. */
  modelClasses: number;
  /** True class per row (index into classes; -1 rows are skipped). */
  yTrue: Int32Array;
  /** Predicted class per row (index into classes, < modelClasses; -1 = unknown). */
  yPred: Int32Array;
  /** Probabilities, rows x modelClasses, for top-k accuracy. */
  proba?: Float64Array;
}

export interface Scores {
  rows: number;
  accuracy: number;
  balancedAccuracy: number;
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  topK: Record<string, number>;
  perClass: PerClassScore[];
  /** classes x (classes + 1); the last column counts 'unknown' answers. */
  confusion: number[][];
  classCounts: Record<string, number>;
  unknownCount: number;
}

/**
 * @example
 * scores({ classes: ['a', 'b'], modelClasses: 2, yTrue: Int32Array.of(0, 1), yPred: Int32Array.of(0, 0) }).accuracy; // 0.5
 */
export function scores(inp: ScoreInput): Scores {
  const C = inp.classes.length;
  const K = inp.modelClasses;
  const conf: number[][] = Array.from({ length: C }, () => new Array<number>(C + 1).fill(0));
  let n = 0;
  let correct = 0;
  let unknown = 0;
  for (let i = 0; i < inp.yTrue.length; i++) {
    const t = inp.yTrue[i]!;
    if (t < 0) continue;
    const p = inp.yPred[i]!;
    n++;
    if (p < 0) { conf[t]![C]!++; unknown++; continue; }
    conf[t]![p]!++;
    if (p === t) correct++;
  }
  const perClass: PerClassScore[] = [];
  let mp = 0, mr = 0, mf = 0, present = 0;
  let wp = 0, wr = 0, wf = 0;
  let recallSum = 0, withSupport = 0;
  for (let c = 0; c < C; c++) {
    const tp = conf[c]![c]!;
    let support = 0;
    for (let j = 0; j <= C; j++) support += conf[c]![j]!;
    let predicted = 0;
    for (let r = 0; r < C; r++) predicted += conf[r]![c]!;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: inp.classes[c]!, precision, recall, f1, support });
    if (support > 0 || predicted > 0) { mp += precision; mr += recall; mf += f1; present++; }
    if (support > 0) { recallSum += recall; withSupport++; }
    wp += precision * support; wr += recall * support; wf += f1 * support;
  }
  const topK: Record<string, number> = {};
  if (inp.proba && n > 0) {
    const maxK = Math.min(5, K);
    const hits = new Float64Array(maxK + 1);
    for (let i = 0; i < inp.yTrue.length; i++) {
      const t = inp.yTrue[i]!;
      if (t < 0 || t >= K) continue;
      // Rank of the true class: 1 + classes strictly more probable (ties favour the true class).
      const pt = inp.proba[i * K + t]!;
      let rank = 1;
      for (let c = 0; c < K; c++) if (inp.proba[i * K + c]! > pt) rank++;
      if (rank <= maxK) hits[rank]!++;
    }
    let cum = 0;
    for (let k = 1; k <= maxK; k++) { cum += hits[k]!; topK[String(k)] = cum / n; }
  }
  const classCounts: Record<string, number> = {};
  perClass.forEach((p) => { if (p.support > 0) classCounts[p.label] = p.support; });
  return {
    rows: n,
    accuracy: n ? correct / n : 0,
    balancedAccuracy: withSupport ? recallSum / withSupport : 0,
    macro: present ? { precision: mp / present, recall: mr / present, f1: mf / present } : { precision: 0, recall: 0, f1: 0 },
    weighted: n ? { precision: wp / n, recall: wr / n, f1: wf / n } : { precision: 0, recall: 0, f1: 0 },
    topK,
    perClass,
    confusion: conf,
    classCounts,
    unknownCount: unknown,
  };
}

/** Macro-F1 only (for permutation importance, where it runs once per feature). */
export function macroF1(yTrue: Int32Array, yPred: Int32Array, nClasses: number): number {
  const tp = new Float64Array(nClasses), fp = new Float64Array(nClasses), fn = new Float64Array(nClasses);
  const seen = new Uint8Array(nClasses);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    if (t < 0) continue;
    const p = yPred[i]!;
    seen[t] = 1;
    if (p === t) tp[t]!++;
    else { fn[t]!++; if (p >= 0) { fp[p]!++; seen[p] = 1; } }
  }
  let s = 0, k = 0;
  for (let c = 0; c < nClasses; c++) {
    if (!seen[c]) continue;
    k++;
    const d = 2 * tp[c]! + fp[c]! + fn[c]!;
    s += d > 0 ? (2 * tp[c]!) / d : 0;
  }
  return k ? s / k : 0;
}
