/**
 * Fuzzes every flow-table reader (CSV, JSONL, ARFF, Parquet and the .gz of each) with seeded mutants and prints
 * mutants / loaded / refused / crashes / hangs per reader; exits 1 on any crash or hang, printing the first few.
 *
 *   node --import tsx bench/fuzz-tables.ts [mutants per reader, default 1000] [seed] [reader ...]
 */
import { FUZZ_READERS, fuzzReader, type FuzzReader } from '../test/dataset/table-fuzz.ts';

const count = Number(process.argv[2] ?? 1000);
const seed = Number(process.argv[3] ?? 20261203);
const only = process.argv.slice(4) as FuzzReader[];
const readers = only.length ? only : FUZZ_READERS;
let bad = 0;
console.log(['reader', 'mutants', 'loaded', 'refused', 'crashes', 'hangs', 'seconds'].map((s) => s.padStart(10)).join(''));
for (const reader of readers) {
  const t0 = Date.now();
  const r = await fuzzReader(reader, count, { seed });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log([reader, r.mutants, r.loaded, r.refused, r.crashes, r.hangs, secs].map((s) => String(s).padStart(10)).join(''));
  console.log(`  slowest: #${r.slowest.index} ${r.slowest.ms} ms (${r.slowest.mutation})`);
  for (const f of r.failures.slice(0, 5)) console.log(`  #${f.index} ${f.outcome} (${f.mutation}): ${f.detail}`);
  bad += r.crashes + r.hangs;
}
process.exit(bad ? 1 : 0);
