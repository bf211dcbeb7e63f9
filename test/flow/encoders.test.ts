import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { CsvEncoder, JsonlEncoder, ParquetEncoder } from '../../src/flow/encoders.ts';
import { extractFlows, meterColumns } from '../../src/flow/meter.ts';
import { openWriter, type OutputFormat } from '../../src/flow/output.ts';
import type { CellValue, ColumnDef } from '../../src/flow/columns.ts';
import { cellValue, loadTable, makeTable, numberColumn, stringColumn, writeTable, type Table } from '../../src/dataset/index.ts';
import { extended, SHARED_DATA } from '../helpers/shared.ts';

/** The bytes an encoder writes, as the ArrayBuffer hyparquet reads. */
function parquetBytes(write: (sink: (b: Uint8Array) => void) => void): ArrayBuffer {
  const parts: Uint8Array[] = [];
  write((b) => parts.push(b));
  const all = Buffer.concat(parts);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
}

const COLS = [
  { name: 'nan', type: 'float' }, { name: 'inf', type: 'float' }, { name: 'ninf', type: 'float' }, { name: 'null', type: 'float' },
  { name: 'x', type: 'float' }, { name: 's', type: 'string' }, { name: 'b', type: 'bool' },
] as const;
const ROW: CellValue[] = [NaN, Infinity, -Infinity, null, 0.1 + 0.2, 'a,"b"', true];

function encodeText(kind: 'csv' | 'jsonl' | 'csv6'): string {
  const parts: Buffer[] = [];
  const sink = (b: Buffer): void => { parts.push(Buffer.from(b)); };
  if (kind === 'jsonl') { const e = new JsonlEncoder(COLS, sink); e.row(ROW); e.flush(); }
  else { const e = new CsvEncoder(sink, kind === 'csv6' ? { decimals: 6 } : {}); e.header(COLS); e.row(ROW); e.flush(); }
  return Buffer.concat(parts).toString();
}

test('one non-finite rule in every format: NaN and null are missing, infinities are values', async () => {
  assert.equal(encodeText('csv'), 'nan,inf,ninf,null,x,s,b\n,Infinity,-Infinity,,0.30000000000000004,"a,""b""",1\n');
  assert.equal(encodeText('jsonl'), '{"nan":null,"inf":"Infinity","ninf":"-Infinity","null":null,"x":0.30000000000000004,"s":"a,\\"b\\"","b":true}\n');
  const bytes = parquetBytes((sink) => { const e = new ParquetEncoder(COLS, sink); e.row(ROW); e.finish(); });
  const [row] = await parquetReadObjects({ file: bytes });
  assert.deepEqual(row, { nan: null, inf: Infinity, ninf: -Infinity, null: null, x: 0.30000000000000004, s: 'a,"b"', b: true });
});

test('CSV keeps every double exactly unless asked for six decimals (the meter\'s rows)', () => {
  assert.match(encodeText('csv'), /,0\.30000000000000004,/);
  assert.match(encodeText('csv6'), /,0\.3,/);
  const parts: Buffer[] = [];
  const e = new CsvEncoder((b) => { parts.push(Buffer.from(b)); });
  const values = [1e-7, 123456789.123, -0.5, 2 ** 40 + 1, 1e21, 1234.5678901, -0];
  e.row(values);
  e.flush();
  assert.deepEqual(Buffer.concat(parts).toString().trim().split(',').map(Number), values.map((v) => (Object.is(v, -0) ? 0 : v)));
});

test('tables keep infinities through every writer and reader (CSV, JSONL, Parquet)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-enc-'));
  try {
    const t = makeTable('t', [numberColumn('v', [1.5, Infinity, -Infinity, NaN]), stringColumn('s', ['a', null, 'b', 'c'])]);
    for (const ext of ['csv', 'jsonl', 'parquet']) {
      const file = path.join(dir, `t.${ext}`);
      await writeTable(t, file);
      const back = (await loadTable(file)).table;
      const v = back.columns.find((c) => c.name === 'v')!;
      assert.deepEqual([0, 1, 2, 3].map((r) => cellValue(v, r)), [1.5, Infinity, -Infinity, NaN], ext);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Parquet row group holds at most groupRows rows: memory is bounded by one group', async () => {
  const bytes = parquetBytes((sink) => {
    const e = new ParquetEncoder(COLS, sink, { groupRows: 1024 });
    for (let i = 0; i < 5000; i++) e.row([i, i, i, null, i / 3, `s${i % 7}`, i % 2 === 0]);
    e.finish();
  });
  const meta = parquetMetadata(bytes);
  assert.deepEqual(meta.row_groups.map((g) => Number(g.num_rows)), [1024, 1024, 1024, 1024, 904]);
  const rows = await parquetReadObjects({ file: bytes });
  assert.equal(rows.length, 5000);
  assert.deepEqual(rows[4321], { nan: 4321, inf: 4321, ninf: 4321, null: null, x: 4321 / 3, s: `s${4321 % 7}`, b: false });
});

/** Every cell of a loaded table, '' and missing alike (a CSV cannot tell them apart). */
function cells(t: Table): (number | string | null)[][] {
  const out: (number | string | null)[][] = [];
  for (let r = 0; r < t.rows; r++) out.push(t.columns.map((c) => { const v = cellValue(c, r); return v === '' || (typeof v === 'number' && Number.isNaN(v)) ? null : v; }));
  return out;
}

async function writeFlows(capture: string, file: string, format: OutputFormat): Promise<void> {
  let w: ReturnType<typeof openWriter> | null = null;
  await extractFlows({ path: capture }, {}, (row, columns: ColumnDef[]) => { (w ??= openWriter(file, format, columns)).write(row); });
  await w!.close();
}

async function roundTrip(capture: string): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-enc-'));
  try {
    const tables: Table[] = [];
    // Text columns read as text (the CSV reader would otherwise take '1.3' or '0x0303' for numbers).
    const textColumns = meterColumns().filter((c) => c.type === 'string').map((c) => c.name);
    for (const f of ['csv', 'jsonl', 'parquet'] as const) {
      const file = path.join(dir, `flows.${f}`);
      await writeFlows(capture, file, f);
      tables.push((await loadTable(file, { textColumns })).table);
    }
    const [csv, jsonl, parquet] = tables.map((t) => ({ names: t.columns.map((c) => c.name), cells: cells(t) }));
    assert.deepEqual(parquet!.names, csv!.names);
    assert.deepEqual(jsonl!.names, csv!.names);
    // CSV rounds non-integers to six decimals: compare Parquet and JSONL (exact) with CSV at that precision.
    const round = (rows: (number | string | null)[][]) => rows.map((r) => r.map((v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v)));
    assert.deepEqual(round(parquet!.cells), round(csv!.cells));
    assert.deepEqual(parquet!.cells, jsonl!.cells, 'Parquet and JSONL are both exact');
    return csv!.cells.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('flow rows read back the same from Parquet, JSONL and CSV (the scenario fixture)', async () => {
  const n = await roundTrip(path.join(import.meta.dirname, '../fixtures/flow/scenario.pcap'));
  assert.equal(n, 7);
});

test('flow rows read back the same from Parquet, JSONL and CSV on real TLS and QUIC captures', extended('Parquet round trip on ndpi captures'), async () => {
  for (const f of ['443-chrome.pcap', 'quic-29.pcap', 'dns_long_domainname.pcap']) {
    const n = await roundTrip(path.join(SHARED_DATA!, 'ndpi/pcap', f));
    assert.ok(n > 0, f);
  }
});

test('Parquet: unique and non-ASCII text, all-missing columns and an empty table read back', async () => {
  const cols = [{ name: 'u', type: 'string' }, { name: 'few', type: 'string' }, { name: 'none', type: 'float' }, { name: 'big', type: 'float' }] as const;
  const rows: CellValue[][] = [];
  for (let i = 0; i < 3000; i++) rows.push([`ünï-${i}-\u{1F600}`, i % 3 === 0 ? null : `é${i % 5}`, null, i * 1e12 + 0.5]);
  const bytes = parquetBytes((sink) => { const e = new ParquetEncoder(cols, sink); for (const r of rows) e.row(r); e.finish(); });
  const back = await parquetReadObjects({ file: bytes });
  assert.deepEqual(back.map((o) => [o.u, o.few, o.none, o.big]), rows);
  const empty = parquetBytes((sink) => new ParquetEncoder(cols, sink).finish());
  assert.equal(Number(parquetMetadata(empty).num_rows), 0);
  assert.deepEqual(parquetMetadata(empty).schema.slice(1).map((s) => s.name), ['u', 'few', 'none', 'big']);
  assert.deepEqual(await parquetReadObjects({ file: empty }), []);
});
