/**
 * The evaluation result: what `veil evaluate` computes (src/model) and what the reports render (src/report) and
 * the service shows. Plain JSON, versioned.
 */
export interface PerClassScore {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface FeatureImportance {
  feature: string;
  /** Mean decrease in impurity, normalised to sum 1 (trees only; 0 where not available). */
  impurity: number;
  /** Mean drop in macro-F1 when the column is permuted on the evaluation rows (0 when not computed). */
  permutation: number;
}

export interface SplitDescription {
  kind: 'kfold' | 'holdout' | 'group' | 'blocked' | 'none';
  /** Folds for k-fold/blocked, test share for hold-out, grouping column for group. */
  folds?: number;
  testShare?: number;
  groupBy?: string;
  shuffled: boolean;
  seed: number;
  description: string;
}

export interface EvaluationResult {
  kind: 'veil-evaluation';
  version: 1;
  model: { kind: string; name: string; path?: string };
  data: { source: string; rows: number; label: string };
  split: SplitDescription;
  classes: string[];
  accuracy: number;
  balancedAccuracy: number;
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  /** topK[k] = share of rows whose true class is among the k most probable (k = 1..5 where classes allow). */
  topK: Record<string, number>;
  perClass: PerClassScore[];
  /** confusion[i][j] = rows of true class i predicted as class j; an extra last column counts 'unknown' answers. */
  confusion: number[][];
  /** Rows answered 'unknown' (the unknown rule, support.ts), with the rows per reason when recorded. */
  unknown: { threshold: number; count: number; reasons?: Record<string, number> };
  /**
   * Risk-coverage curve over the rows of classes the model knows: answering the rows whose confidence is at least
   * `threshold[j]` answers the share `coverage[j]` (increasing), of which `accuracy[j]` are right; `answered` is where
   * the model's unknown rule (all reasons) lands.
   */
  riskCoverage?: { coverage: number[]; accuracy: number[]; threshold: number[]; answered: { coverage: number; accuracy: number } };
  featureImportance: FeatureImportance[];
  /** What permutation importance was computed on (sampled rows, repeats, features), when it was. */
  permutationSample?: { rows: number; labelledRows: number; repeats: number; features: number; unusedFeatures: number; seed: number };
  /** Training curves for neural models: per epoch loss/accuracy (train and validation). */
  curves?: { epoch: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number }[];
  /** Class distribution of the evaluated rows (true labels). */
  classCounts: Record<string, number>;
  timings: { fitSeconds?: number; predictSeconds: number; rowsPerSecond: number };
  createdAt: string;
  /**
   * Open-set evaluation: rows whose true class the model was never trained on (listed in `classes` after the
   * model's own), and how many of them came out 'unknown'. Absent when every row's class is known to the model.
   */
  openSet?: { unseenClasses: string[]; rows: number; unknown: number; unknownRate: number };
}
