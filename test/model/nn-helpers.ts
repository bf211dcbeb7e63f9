import { Rng, makeTable, numberColumn, stringColumn, type Table } from '../../src/dataset/index.ts';

/**
 * Generated early-packet sequences: class c has its own size profile, direction pattern and gap scale over N
 * packets (with noise), and some flows end early (zero padding), as `veil extract --features sequence` writes.
 */
export function sequenceTable(n: number, classes = 3, N = 8, seed = 1): Table {
  const rng = new Rng(seed);
  const profile = Array.from({ length: classes }, () => ({
    size: Array.from({ length: N }, () => 60 + rng.int(1400)),
    dir: Array.from({ length: N }, () => (rng.float() < 0.5 ? 1 : -1)),
    gap: 10 ** (2 + rng.float() * 4),
  }));
  const len = Array.from({ length: N }, () => new Float64Array(n));
  const dir = Array.from({ length: N }, () => new Float64Array(n));
  const gap = Array.from({ length: N }, () => new Float64Array(n));
  const label: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const p = profile[c]!;
    const packets = N - (rng.float() < 0.3 ? rng.int(3) : 0);
    for (let t = 0; t < packets; t++) {
      len[t]![i] = Math.max(40, Math.round(p.size[t]! * (1 + 0.15 * rng.normal())));
      dir[t]![i] = rng.float() < 0.9 ? p.dir[t]! : -p.dir[t]!;
      gap[t]![i] = t === 0 ? 0 : Math.round(p.gap * Math.exp(0.5 * rng.normal()));
    }
    label.push(`app${c}`);
  }
  return makeTable('sequences.csv', [
    numberColumn('id_flow', Array.from({ length: n }, (_, i) => i)),
    ...len.map((c, t) => numberColumn(`seq_len_${t + 1}`, c)),
    ...dir.map((c, t) => numberColumn(`seq_dir_${t + 1}`, c)),
    ...gap.map((c, t) => numberColumn(`seq_gap_${t + 1}_us`, c)),
    numberColumn('duration_us', Array.from({ length: n }, () => rng.float() * 1e6)),
    stringColumn('app', label),
  ]);
}

/** Columns of a table by name, in the given order. */
export function columnsOf(t: Table, names: readonly string[]): Float64Array[] {
  return names.map((n) => {
    const c = t.columns.find((x) => x.name === n);
    if (!c || c.kind !== 'number') throw new Error(`no number column ${n}`);
    return Float64Array.from(c.values as ArrayLike<number>);
  });
}
