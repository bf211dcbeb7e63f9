import { Rng, makeTable, numberColumn, stringColumn, type Table } from '../../src/dataset/index.ts';

/**
 * Generated data with known structure: class c lives around its own centre in the first `informative` columns
 * (spread 1), the rest are noise; one class is an XOR of two columns' signs, which no single split separates.
 */
export function generated(
  n: number, classes = 4, seed = 1, opts: { informative?: number; noise?: number; missing?: number; rowSeed?: number } = {},
): { columns: Float64Array[]; y: Int32Array } {
  let rng = new Rng(seed);
  const I = opts.informative ?? 4;
  const N = opts.noise ?? 3;
  const centres = Array.from({ length: classes }, () => Array.from({ length: I }, () => rng.normal() * 4));
  // Other rows of the same classes: same centres, another row seed.
  if (opts.rowSeed !== undefined) rng = new Rng(opts.rowSeed * 7919 + seed);
  const columns = Array.from({ length: I + N + 2 }, () => new Float64Array(n));
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % (classes + 1);
    const xor = c === classes;
    const a = rng.normal(), b = rng.normal();
    y[i] = xor ? (Math.sign(a) === Math.sign(b) ? 0 : 1) : c;
    for (let j = 0; j < I; j++) columns[j]![i] = xor ? rng.normal() * 8 : centres[c]![j]! + rng.normal();
    for (let j = 0; j < N; j++) columns[I + j]![i] = rng.normal();
    columns[I + N]![i] = xor ? a : rng.normal() * 0.01;
    columns[I + N + 1]![i] = xor ? b : rng.normal() * 0.01;
  }
  if (opts.missing) for (const c of columns) for (let i = 0; i < n; i++) if (rng.float() < opts.missing) c[i] = NaN;
  return { columns, y };
}

/** The same as a table with named columns and a text label (`rowSeed`: other rows of the same classes). */
export function generatedTable(n: number, classes = 4, seed = 1, source = 'generated.csv', rowSeed?: number): Table {
  const { columns, y } = generated(n, classes, seed, rowSeed === undefined ? {} : { rowSeed });
  return makeTable(source, [
    numberColumn('id_flow', Array.from({ length: n }, (_, i) => i)),
    stringColumn('id_capture', Array.from({ length: n }, (_, i) => `cap-${i % 10}.pcap`)),
    ...columns.map((c, j) => numberColumn(`f${j}`, c)),
    stringColumn('app', Array.from(y, (c) => `app${c}`)),
  ]);
}

export function accuracy(proba: Float64Array, K: number, y: Int32Array, rows: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < rows.length; i++) {
    let b = 0;
    for (let c = 1; c < K; c++) if (proba[i * K + c]! > proba[i * K + b]!) b = c;
    if (b === y[rows[i]!]) ok++;
  }
  return ok / rows.length;
}
