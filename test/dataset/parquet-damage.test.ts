import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatasetError, loadTable, streamTable } from '../../src/dataset/index.ts';
import { fuzzMutant } from './table-fuzz.ts';

/**
 * Damaged Parquet files found by the fuzz (test/dataset/table-fuzz.ts, seed 20261203): each is refused with a
 * DatasetError, leaves no read behind, and cannot make the decoder run away. They were found in hyparquet-writer's
 * layout, which the suite's files had then: the mutants are taken from that layout.
 */

async function readThenRemove(index: number): Promise<{ error: unknown; strays: unknown[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-pq-'));
  const file = path.join(dir, `m${index}.parquet`);
  writeFileSync(file, fuzzMutant('parquet', index, undefined, 'hyparquet-writer').bytes);
  const strays: unknown[] = [];
  const onUnhandled = (e: unknown): void => { strays.push(e); };
  process.on('unhandledRejection', onUnhandled);
  let error: unknown = null;
  try {
    for await (const _ of streamTable(file, { chunkRows: 7 })) { /* drain */ }
  } catch (e) {
    error = e;
  }
  // As the service does with a refused upload: the file goes at once; a read still pending would now fail.
  rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.off('unhandledRejection', onUnhandled);
  return { error, strays };
}

test('Parquet: a damaged chunk leaves no read pending to fail after the upload is removed (no unhandled rejection)', async () => {
  // With hyparquet's own file buffer these mutants rejected with sibling reads in flight: ENOENT after the rm.
  for (const index of [32, 43, 57, 143]) {
    const { error, strays } = await readThenRemove(index);
    assert.deepEqual(strays.map(String), [], `mutant ${index}: unhandled rejections`);
    assert.ok(error instanceof DatasetError, `mutant ${index}: ${String(error)}`);
  }
});

test('Parquet: a page that makes the decoder run away (huge RLE run) is refused as damaged, within the window deadline', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-pq-'));
  try {
    const file = path.join(dir, 'runaway.parquet');
    writeFileSync(file, fuzzMutant('parquet', 4, undefined, 'hyparquet-writer').bytes);
    await assert.rejects(
      loadTable(file, { limits: { parquetWindowMs: 2000 } }),
      (e: unknown) => e instanceof DatasetError && /runaway\.parquet: rows 0-\d+: .*a damaged or hostile file/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
