import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng, makeTable, numberColumn, streamTable, tableToCsv, tableToJsonl, tableToParquet } from '../../src/dataset/index.ts';

/** Readers tell how far through the file they are: compressed bytes for .gz (so gzipped tables move), rows for Parquet. */

function table(rows: number): ReturnType<typeof makeTable> {
  const r = new Rng(7);
  return makeTable('p', Array.from({ length: 6 }, (_, j) => numberColumn(`c${j}`, Array.from({ length: rows }, () => r.float() * 1e6))));
}

async function fractions(file: string, chunkRows: number): Promise<number[]> {
  const seen: number[] = [];
  for await (const _ of streamTable(file, { chunkRows, onProgress: (f) => seen.push(f) })) { /* drain */ }
  return seen;
}

function climbsToOne(seen: number[], what: string): void {
  assert.ok(seen.length >= 3, `${what}: ${seen.length} progress reports`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `${what}: progress never goes back`);
  assert.ok(seen.some((f) => f > 0 && f < 1), `${what}: progress between 0 and 1 while reading: ${seen.join(', ')}`);
  assert.equal(seen[seen.length - 1], 1, `${what}: progress ends at 1`);
}

test('progress: a gzipped CSV or JSONL reports compressed bytes consumed, climbing to 1', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-progress-'));
  try {
    const t = table(120_000); // ~2.5 MiB of gzip: several 1 MiB reads
    const csv = path.join(dir, 'flows.csv.gz');
    writeFileSync(csv, gzipSync(tableToCsv(t)));
    climbsToOne(await fractions(csv, 5000), 'csv.gz');
    const jsonl = path.join(dir, 'flows.jsonl.gz');
    writeFileSync(jsonl, gzipSync(tableToJsonl(t)));
    climbsToOne(await fractions(jsonl, 5000), 'jsonl.gz');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: Parquet reports rows decoded out of the footer\'s count', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-progress-'));
  try {
    const file = path.join(dir, 'flows.parquet');
    writeFileSync(file, tableToParquet(table(3000)));
    const seen = await fractions(file, 1000);
    assert.deepEqual(seen, [1000 / 3000, 2000 / 3000, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
