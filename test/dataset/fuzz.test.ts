import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUZZ_READERS, fuzzReader } from './table-fuzz.ts';

/**
 * Every table reader, fed seeded mutants of a valid file (flips, truncations, insertions, duplicated chunks,
 * huge counts), either loads the mutant or throws a DatasetError: no other exception, no unhandled rejection, no
 * hang. `node --import tsx bench/fuzz-tables.ts [count] [seed]` runs more (1,000 each by default) and prints the
 * figures per reader.
 */
/** Mutants per text reader here; `bench/fuzz-tables.ts` runs 1,000 of every reader (about 80 s on 2 cores). */
const MUTANTS = 500;
/** Parquet mutants cost more (a decoding thread; the runaway ones run to their deadline). */
const PARQUET_MUTANTS = 200;

for (const reader of FUZZ_READERS) {
  const n = reader.startsWith('parquet') ? PARQUET_MUTANTS : MUTANTS;
  // The timeout only guards against a reader stuck in a synchronous loop (the per-mutant bound cannot fire then).
  test(`fuzz: ${n} mutants of a ${reader} table load or throw a DatasetError`, { timeout: 180_000 }, async () => {
    const r = await fuzzReader(reader, n);
    assert.equal(r.mutants, n);
    const shown = r.failures.slice(0, 3).map((f) => `#${f.index} ${f.outcome} (${f.mutation}): ${f.detail}`).join('\n');
    assert.equal(r.crashes, 0, `${reader}: crashes\n${shown}`);
    assert.equal(r.hangs, 0, `${reader}: hangs\n${shown}`);
    // The mutants exercise both outcomes (a fuzz that only ever refuses, or only loads, tests little).
    if (!reader.startsWith('parquet.gz')) assert.ok(r.loaded > 0 && r.refused > 0, `${reader}: ${r.loaded} loaded, ${r.refused} refused`);
  });
}
