import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  readArff, readCsv, parseCsv, parseJsonl, loadTable, streamTable, writeTable, getColumn, cellValue, makeTable,
  numberColumn, stringColumn, DatasetError, type Table, type Column,
} from '../../src/dataset/index.ts';

const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/dataset');
const fix = (n: string): string => path.join(FIX, n);

function values(c: Column | undefined): unknown[] {
  assert.ok(c);
  const n = c.kind === 'number' ? c.values.length : c.codes.length;
  return Array.from({ length: n }, (_, i) => cellValue(c, i));
}

test('ARFF: numeric, nominal, quoted names and values, missing, comments and sparse rows', async () => {
  const { table, header } = await readArff(fix('tiny.arff'));
  assert.equal(header.relation, 'tiny flows');
  assert.deepEqual(header.attributes.map((a) => [a.name, a.type]), [
    ['duration', 'numeric'], ['bytes per second', 'numeric'], ['proto', 'nominal'], ['note', 'string'], ['app', 'nominal'],
  ]);
  assert.equal(table.rows, 4);
  assert.deepEqual(values(getColumn(table, 'duration')), [1.5, 2, NaN, 7]);
  assert.deepEqual(values(getColumn(table, 'bytes per second')), [100, NaN, 325, 0]);
  assert.deepEqual(values(getColumn(table, 'proto')), ['tcp', 'udp', 'ip in ip', 'udp']);
  assert.deepEqual(values(getColumn(table, 'note')), ['a, quoted note', 'plain', "it's", '']);
  assert.deepEqual(values(getColumn(table, 'app')), ['web', 'video call', 'mail', 'mail']);
  // Nominal dictionaries keep the declared order.
  const app = getColumn(table, 'app');
  assert.ok(app && app.kind === 'string');
  assert.deepEqual(app.dictionary, ['web', 'video call', 'mail']);
});

test('ARFF: ISCX header commas, blank comma lines and CRLF are tolerated, with a notice', async () => {
  const notes: string[] = [];
  const { table } = await readArff(fix('iscx-quirks.arff'), { warn: (m) => notes.push(m) });
  assert.equal(table.rows, 3);
  assert.deepEqual(table.columns.map((c) => c.name), ['duration', 'min_x', 'mean_x', 'max_x', 'class1']);
  assert.deepEqual(values(getColumn(table, 'class1')), ['A', 'B', 'A']);
  assert.match(notes.join('\n'), /skipped 1 blank data line/);
});

test('ARFF: a row with too few values names the file and line', async () => {
  await assert.rejects(readArff(fix('bad-count.arff')), (e: Error) => e instanceof DatasetError && /bad-count\.arff:7: 2 values, the header declares 3/.test(e.message));
});

test('ARFF: a non-numeric value names the file, line and column', async () => {
  await assert.rejects(readArff(fix('bad-number.arff')), (e: Error) => /bad-number\.arff:7, column 'b': 'four' is not a number/.test(e.message));
});

test('ARFF: a value outside the nominal list names the declared values', async () => {
  await assert.rejects(readArff(fix('bad-nominal.arff')), (e: Error) => /bad-nominal\.arff:6, column 'c': 'z' is not one of the declared values \{x,y\}/.test(e.message));
});

test('CSV: CICFlowMeter header spaces trimmed, repeated header skipped, quotes, Infinity and NaN', async () => {
  const notes: string[] = [];
  const t = await readCsv(fix('cicflowmeter.csv'), { warn: (m) => notes.push(m) });
  assert.equal(t.rows, 3);
  assert.equal(t.columns[1]!.name, 'Src IP');
  assert.deepEqual(values(getColumn(t, 'Flow ID')), ['10.0.0.1-10.0.0.2-1234-443-6', '10.0.0.3-10.0.0.4-5555-53-17', 'x,"y"']);
  assert.deepEqual(values(getColumn(t, 'Flow Byts/s')), [Infinity, NaN, 12.5]);
  assert.deepEqual(values(getColumn(t, 'Fwd IAT Mean')), [20, NaN, 2]);
  assert.deepEqual(values(getColumn(t, 'Label')), ['web', 'dns', 'web, again']);
  assert.match(notes.join('\n'), /skipped 1 repeated header/);
});

test('CSV: a short row names the file, line and the first missing column', async () => {
  await assert.rejects(readCsv(fix('short-row.csv')), (e: Error) => /short-row\.csv:3: 1 fields, the header has 3 \(first missing column 'b'\)/.test(e.message));
});

test('CSV: a quoted field may span lines; duplicate names are made unique', () => {
  const notes: string[] = [];
  const t = parseCsv('a,b,a\n1,"two\nlines",3\n', 'mem.csv', { warn: (m) => notes.push(m) });
  assert.deepEqual(t.columns.map((c) => c.name), ['a', 'b', 'a.1']);
  assert.deepEqual(values(getColumn(t, 'b')), ['two\nlines']);
  assert.match(notes[0]!, /duplicate column name 'a'/);
});

test('CSV: a column turns to text when a non-numeric value appears late', () => {
  const t = parseCsv('x\n1\n2\nthree\n');
  assert.deepEqual(values(getColumn(t, 'x')), ['1', '2', 'three']);
});

test('JSONL: numbers, strings, booleans, null and late keys', () => {
  const t = parseJsonl('{"a":1,"s":"x"}\n\n{"a":null,"b":true,"s":"y"}\n{"a":"Infinity"}\n');
  assert.equal(t.rows, 3);
  assert.deepEqual(values(getColumn(t, 'a')), [1, NaN, Infinity]);
  assert.deepEqual(values(getColumn(t, 'b')), [NaN, 1, NaN]);
  assert.deepEqual(values(getColumn(t, 's')), ['x', 'y', null]);
  assert.throws(() => parseJsonl('{"a":1}\n[1]\n', 'm.jsonl'), /m\.jsonl:2: expected a JSON object per line/);
  assert.throws(() => parseJsonl('{"a":1}\n{oops\n', 'm.jsonl'), /m\.jsonl:2: not valid JSON/);
});

function sample(): Table {
  return makeTable('mem', [
    numberColumn('x', [1.5, NaN, -2, 1e300, Infinity]),
    stringColumn('s', ['a', null, 'b, "quoted"', 'line\nbreak', 'a']),
    numberColumn('id_src_port', [443, 80, 53, 0, 65535]),
  ]);
}

for (const ext of ['csv', 'jsonl', 'parquet']) {
  test(`${ext}: writing then reading gives the same table`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'veil-ds-'));
    const file = path.join(dir, `t.${ext}`);
    const t = sample();
    await writeTable(t, file);
    const { table: r } = await loadTable(file);
    assert.equal(r.rows, t.rows);
    for (const c of t.columns) assert.deepEqual(values(getColumn(r, c.name)), values(c), `${ext} column ${c.name}`);
  });
}

test('streamTable yields chunks of the requested size', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-ds-'));
  const file = path.join(dir, 'big.csv');
  await writeFile(file, 'a,b\n' + Array.from({ length: 1000 }, (_, i) => `${i},${i % 7}`).join('\n') + '\n');
  const sizes: number[] = [];
  let last = -1;
  for await (const chunk of streamTable(file, { chunkRows: 300 })) {
    sizes.push(chunk.rows);
    const a = getColumn(chunk, 'a');
    assert.ok(a && a.kind === 'number');
    assert.equal(a.values[0], last + 1);
    last = a.values[a.values.length - 1]!;
  }
  assert.deepEqual(sizes, [300, 300, 300, 100]);
});

test('an unknown extension is refused with the accepted ones listed', async () => {
  await assert.rejects(loadTable('flows.xlsx'), /unknown table format \(expected \.csv/);
});
