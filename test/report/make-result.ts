/** Hand-built evaluation results for the report tests: deterministic, consistent metrics from a made-up matrix. */
import type { EvaluationResult } from '../../src/model/evaluation.ts';

/** Mulberry32: a tiny seeded generator so fixtures are identical on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MakeOptions {
  classes: string[];
  seed?: number;
  curves?: boolean;
  features?: string[];
  source?: string;
  split?: EvaluationResult['split'];
  /** Share of each row on the diagonal, roughly. */
  skill?: number;
}

/** A result whose metrics agree with its confusion matrix (last column = unknown answers). */
export function makeResult(o: MakeOptions): EvaluationResult {
  const r = rng(o.seed ?? 1);
  const n = o.classes.length;
  const skill = o.skill ?? 0.85;
  const confusion: number[][] = [];
  for (let i = 0; i < n; i++) {
    const support = 5 + Math.floor(r() * r() * 400);
    const row = new Array<number>(n + 1).fill(0);
    const hit = Math.round(support * (skill - 0.3 * r() * (i % 3 === 2 ? 1 : 0.2)));
    row[i] = hit;
    let rest = support - hit;
    const unknown = Math.floor(rest * 0.2);
    row[n] = unknown;
    rest -= unknown;
    while (rest > 0) {
      const j = Math.floor(r() * n);
      const k = Math.min(rest, 1 + Math.floor(r() * 5));
      row[j] = (row[j] ?? 0) + k;
      rest -= k;
    }
    confusion.push(row);
  }
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const total = support.reduce((a, b) => a + b, 0);
  const colSum = (j: number): number => confusion.reduce((a, row) => a + (row[j] ?? 0), 0);
  const perClass = o.classes.map((label, i) => {
    const tp = confusion[i]![i]!;
    const predicted = colSum(i);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support[i]! > 0 ? tp / support[i]! : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support: support[i]! };
  });
  const correct = perClass.reduce((a, c, i) => a + confusion[i]![i]!, 0);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  const wmean = (xs: number[]): number => xs.reduce((a, x, i) => a + x * support[i]!, 0) / Math.max(total, 1);
  const accuracy = correct / total;
  const topK: Record<string, number> = {};
  for (let k = 1; k <= Math.min(5, n); k++) topK[String(k)] = Math.min(1, accuracy + (1 - accuracy) * (1 - 1 / k));
  const features =
    o.features ??
    Array.from({ length: 40 }, (_, i) => ['src2dst_mean_piat_ms', 'bidirectional_bytes', 'ja4_hash_bucket', 'dst2src_stddev_ps'][i % 4] + `_${i}`);
  const imp = features.map(() => r() ** 3);
  const impSum = imp.reduce((a, b) => a + b, 0);
  return {
    kind: 'veil-evaluation',
    version: 1,
    model: { kind: 'forest', name: 'forest-200', path: 'models/forest-200.veil' },
    data: { source: o.source ?? 'ISCX-VPN-NonVPN-2016/flows.parquet', rows: total, label: 'app' },
    split: o.split ?? {
      kind: 'kfold',
      folds: 5,
      shuffled: true,
      seed: 7,
      description: '5-fold cross-validation, rows shuffled',
    },
    classes: o.classes,
    accuracy,
    balancedAccuracy: mean(perClass.map((c) => c.recall)),
    macro: {
      precision: mean(perClass.map((c) => c.precision)),
      recall: mean(perClass.map((c) => c.recall)),
      f1: mean(perClass.map((c) => c.f1)),
    },
    weighted: {
      precision: wmean(perClass.map((c) => c.precision)),
      recall: wmean(perClass.map((c) => c.recall)),
      f1: wmean(perClass.map((c) => c.f1)),
    },
    topK,
    perClass,
    confusion,
    unknown: { threshold: 0.4, count: confusion.reduce((a, row) => a + row[n]!, 0) },
    featureImportance: features.map((feature, i) => ({
      feature,
      impurity: imp[i]! / impSum,
      permutation: i % 7 === 3 ? -0.002 : (imp[i]! / impSum) * (0.5 + r()),
    })),
    ...(o.curves
      ? {
          curves: Array.from({ length: 30 }, (_, e) => ({
            epoch: e + 1,
            loss: 2.2 * Math.exp(-e / 8) + 0.1,
            accuracy: 0.95 - 0.6 * Math.exp(-e / 6),
            valLoss: 2.2 * Math.exp(-e / 9) + 0.25 + (e > 20 ? 0.01 * (e - 20) : 0),
            valAccuracy: 0.9 - 0.6 * Math.exp(-e / 6),
          })),
        }
      : {}),
    classCounts: Object.fromEntries(o.classes.map((c, i) => [c, support[i]!])),
    timings: { fitSeconds: 12.5, predictSeconds: 0.8, rowsPerSecond: Math.round(total / 0.8) },
    createdAt: '2026-11-21T09:00:00.000Z',
  };
}

export const HOSTILE = ['<script>alert(1)</script>', '"&\'', 'a & b <i>', '{b} {a|x} \\n%s'];

export function classNames(n: number, prefix = 'app'): string[] {
  const known = ['youtube', 'netflix', 'skype-chat', 'skype-audio', 'facebook', 'hangouts', 'spotify', 'bittorrent', 'email', 'vimeo', 'sftp', 'scp'];
  return Array.from({ length: n }, (_, i) => (i < known.length ? known[i]! : `${prefix}-${String(i).padStart(3, '0')}`));
}
