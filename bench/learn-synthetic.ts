import { Rng } from '../src/core/rng.ts';

/**
 * A synthetic many-class flow-like table for the learning benchmark: long-tailed class sizes (Zipf), classes
 * that are mixtures of two clusters in an informative subspace, heavy-tailed (exp-transformed) columns like byte
 * counts and times, a few discrete columns and pure-noise columns. Seeded: the same options give the same rows.
 */
export interface SyntheticOptions {
  rows?: number;
  classes?: number;
  informative?: number;
  noise?: number;
  /** Zipf exponent of class sizes. */
  zipf?: number;
  seed?: number;
}

export interface Synthetic {
  names: string[];
  columns: Float64Array[];
  y: Int32Array;
  classes: string[];
  counts: number[];
}

export function makeSynthetic(o: SyntheticOptions = {}): Synthetic {
  const rows = o.rows ?? 200_000;
  const C = o.classes ?? 120;
  const I = o.informative ?? 12;
  const N = o.noise ?? 6;
  const s = o.zipf ?? 1.2;
  const rng = new Rng(o.seed ?? 42);
  // Class sizes: Zipf shares, at least 20 rows each, rounding absorbed by class 0.
  const w = Array.from({ length: C }, (_, c) => 1 / Math.pow(c + 1, s));
  const ws = w.reduce((a, b) => a + b, 0);
  const counts = w.map((x) => Math.max(20, Math.floor((rows * x) / ws)));
  counts[0]! += rows - counts.reduce((a, b) => a + b, 0);
  // Two cluster centres per class in the informative subspace, and a spread per class.
  const centre = Array.from({ length: C * 2 }, () => Float64Array.from({ length: I }, () => rng.normal() * 1.6));
  const spread = Float64Array.from({ length: C }, () => 0.5 + rng.float());
  const group = Int32Array.from({ length: C }, () => rng.int(4));
  const F = I + N + 2;
  const names = [
    ...Array.from({ length: I }, (_, j) => (j % 3 === 0 ? `bytes_${j}` : j % 3 === 1 ? `iat_us_${j}` : `ratio_${j}`)),
    ...Array.from({ length: N }, (_, j) => `noise_${j}`),
    'proto', 'pkts_small',
  ];
  const columns = Array.from({ length: F }, () => new Float64Array(rows));
  const y = new Int32Array(rows);
  // Rows of all classes interleaved in a seeded random order (the blocked split is not meaningful here).
  const order = new Int32Array(rows);
  let k = 0;
  counts.forEach((n, c) => { for (let i = 0; i < n; i++) order[k++] = c; });
  rng.shuffle(order);
  for (let r = 0; r < rows; r++) {
    const c = order[r]!;
    y[r] = c;
    const m = centre[c * 2 + (rng.float() < 0.6 ? 0 : 1)]!;
    for (let j = 0; j < I; j++) {
      const v = m[j]! + rng.normal() * spread[c]!;
      // Heavy tails like byte counts and inter-arrival times: trees are indifferent, scaling-based models are not.
      columns[j]![r] = j % 3 === 0 ? Math.round(Math.exp(4 + v)) : j % 3 === 1 ? Math.exp(6 + 1.5 * v) : v;
    }
    for (let j = 0; j < N; j++) columns[I + j]![r] = rng.normal();
    columns[I + N]![r] = group[c]! < 2 ? 6 : rng.float() < 0.8 ? 17 : 6;
    columns[I + N + 1]![r] = Math.floor(rng.float() * (3 + group[c]! * 2));
  }
  return { names, columns, y, classes: Array.from({ length: C }, (_, c) => `app_${String(c).padStart(3, '0')}`), counts };
}
