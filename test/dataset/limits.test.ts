import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  loadTable, parseCsv, parseJsonl, parseArff, tableToParquet, makeTable, numberColumn, DatasetError, TABLE_LIMITS,
} from '../../src/dataset/index.ts';

/** Caps on columns and line length: over them a reader refuses with a DatasetError naming the file and place. */

async function tmpFile(name: string, data: string | Uint8Array): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-limits-'));
  const p = path.join(dir, name);
  await writeFile(p, data);
  return p;
}

function refused(re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof DatasetError, `a DatasetError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.code, 'DATASET_MALFORMED');
    assert.match(e.message, re);
    return true;
  };
}

const wide = (n: number): string => Array.from({ length: n }, (_, i) => `c${i}`).join(',');

test('limits: the defaults are 4,096 columns and 1 MiB lines', () => {
  assert.equal(TABLE_LIMITS.maxColumns, 4096);
  assert.equal(TABLE_LIMITS.maxLineBytes, 1 << 20);
});

test('CSV: a header with more columns than the cap is refused, naming the file, line and column count', async () => {
  const p = await tmpFile('wide.csv', `${wide(TABLE_LIMITS.maxColumns + 1)}\n${'1,'.repeat(4096)}1\n`);
  await assert.rejects(loadTable(p), refused(/wide\.csv:1: 4097 columns, more than the limit of 4096/));
  assert.throws(() => parseCsv(`${wide(5000)}\n`, 'mem.csv'), refused(/mem\.csv:1: 5000 columns/));
  // At the cap it loads.
  const t = await loadTable(await tmpFile('ok.csv', `${wide(TABLE_LIMITS.maxColumns)}\n${'1,'.repeat(4095)}1\n`));
  assert.equal(t.table.columns.length, 4096);
});

test('CSV .gz: a tiny gzip of a 400k-column header is refused without building the columns', async () => {
  const p = await tmpFile('bomb.csv.gz', gzipSync(`${'x,'.repeat(400_000)}x\n1\n`));
  await assert.rejects(loadTable(p), refused(/bomb\.csv\.gz:1: 400001 columns, more than the limit of 4096/));
});

test('CSV .gz: a header line longer than 1 MiB is refused with its line and byte offset', async () => {
  const p = await tmpFile('long.csv.gz', gzipSync(`a,b\n1,${'9'.repeat(3 << 20)}\n`));
  await assert.rejects(loadTable(p), refused(/long\.csv\.gz:2: line longer than 1 MiB \(the limit\), starting at byte offset 4 of the inflated text/));
});

test('CSV: a line over the cap is refused; the cap is an option', async () => {
  const p = await tmpFile('line.csv', `a,b\n1,2\n3,${'4'.repeat(5000)}\n`);
  await assert.rejects(loadTable(p, { limits: { maxLineBytes: 4096 } }), refused(/line\.csv:3: line longer than 4 KiB \(the limit\), starting at byte offset 8$/));
  assert.equal((await loadTable(p)).table.rows, 2);
  assert.throws(() => parseCsv(`a,b\n1,${'2'.repeat(5000)}\n`, 'mem.csv', { limits: { maxLineBytes: 4096 } }), refused(/mem\.csv:2: line longer than 4 KiB/));
});

test('CSV: a quoted field spanning lines counts as one line against the cap', async () => {
  const body = `a,b\n1,"${'x\n'.repeat(3000)}"\n`;
  assert.throws(() => parseCsv(body, 'q.csv', { limits: { maxLineBytes: 4096 } }), refused(/q\.csv:2: record longer than 4 KiB \(the limit\)/));
  assert.equal(parseCsv(body, 'q.csv').rows, 1);
});

test('JSONL: more distinct keys than the cap are refused, naming the line', () => {
  const row = (from: number, n: number): string => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, i])));
  assert.throws(() => parseJsonl(`${row(0, 3000)}\n${row(3000, 2000)}\n`, 'w.jsonl'), refused(/w\.jsonl:2: more than 4096 columns \(the limit\)/));
});

test('JSONL: deeply nested values are refused, not a stack overflow', () => {
  const deep = `{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
  assert.throws(() => parseJsonl(`${deep}\n`, 'deep.jsonl'), refused(/deep\.jsonl:1/));
});

test('ARFF: more attributes than the cap are refused at the @attribute line', () => {
  const head = Array.from({ length: 4097 }, (_, i) => `@attribute a${i} numeric`).join('\n');
  assert.throws(() => parseArff(`@relation r\n${head}\n@data\n`, 'w.arff'), refused(/w\.arff:4098: more than 4096 attributes \(the limit\)/));
});

test('Parquet: a file with more columns than the cap is refused from its footer', async () => {
  const cols = Array.from({ length: 4097 }, (_, i) => numberColumn(`c${i}`, [1]));
  const p = await tmpFile('wide.parquet', tableToParquet(makeTable('m', cols)));
  await assert.rejects(loadTable(p), refused(/wide\.parquet: 4097 columns, more than the limit of 4096/));
});

test('ARFF: a header line of many commas followed by text is refused in linear time (no regex backtracking)', () => {
  assert.throws(() => parseArff(`@relation r\n${','.repeat(400_000)}x\n`, 'commas.arff'), refused(/commas\.arff:2: expected @relation/));
});

test('CSV/JSONL/ARFF .gz: inflating past limits.maxInflatedBytes is refused, naming the limit', async () => {
  const csv = await tmpFile('bomb.csv.gz', gzipSync(`a,b\n${'1,2\n'.repeat(1 << 20)}`));
  await assert.rejects(loadTable(csv, { limits: { maxInflatedBytes: 1 << 20 } }), refused(/bomb\.csv\.gz: inflates to more than 1 MiB \(the limit\) after \d+ compressed bytes/));
  assert.equal((await loadTable(csv)).table.rows, 1 << 20);
  const jsonl = await tmpFile('bomb.jsonl.gz', gzipSync('{"a":1}\n'.repeat(1 << 18)));
  await assert.rejects(loadTable(jsonl, { limits: { maxInflatedBytes: 1 << 20 } }), refused(/bomb\.jsonl\.gz: inflates to more than 1 MiB/));
});

test('ARFF: more nominal values than the cap, over all attributes, are refused at the declaring line', () => {
  const list = (n: number): string => `{${Array.from({ length: n }, (_, i) => `v${i}`).join(',')}}`;
  const head = Array.from({ length: 3 }, (_, i) => `@attribute n${i} ${list(30_000)}`).join('\n');
  assert.throws(() => parseArff(`@relation r\n${head}\n@data\n`, 'nom.arff'), refused(/nom\.arff:4: more than 65536 nominal values declared in all \(the limit\), 'n2' declares 30000/));
});
