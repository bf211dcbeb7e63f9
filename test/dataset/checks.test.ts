import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkColumnOrder, verifyColumnOrder, findStatTriples, loadTable, makeTable, numberColumn, stringColumn, Rng,
  ISCX_DECLARED_ORDER, ISCX_TRUE_ORDER, DatasetError, type Table,
} from '../../src/dataset/index.ts';

/** Rows of flows with consistent min <= mean <= max per quantity, in the order ISCX 60 s files declare. */
function iscxRows(n: number, seed = 1): number[][] {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const stat = (): [number, number, number, number] => {
    const a = 1 + rng.float() * 1000, b = a + rng.float() * 1000, c = b + rng.float() * 1000;
    return [a, b, c, (c - a) / 3];
  };
  for (let i = 0; i < n; i++) {
    const [fmin, fmean, fmax, fstd] = stat();
    const [bmin, bmean, bmax, bstd] = stat();
    const [imin, imean, imax, istd] = stat();
    const [amin, amean, amax, astd] = stat();
    const [dmin, dmean, dmax, dstd] = stat();
    rows.push([
      1e6 * rng.float(), fmin, bmin, fmax, bmax, fmean, bmean, fstd, bstd, rng.float() * 100, rng.float() * 1e5,
      imin, imax, imean, istd, amin, amean, amax, astd, dmin, dmean, dmax, dstd,
    ]);
  }
  return rows;
}

function tableOf(names: readonly string[], rows: number[][], source = 'iscx.arff'): Table {
  return makeTable(source, [
    ...names.map((n, j) => numberColumn(n, rows.map((r) => r[j]!))),
    stringColumn('class1', rows.map((_, i) => (i % 2 ? 'VPN' : 'Non-VPN'))),
  ]);
}

test('stat triples are found across naming styles', () => {
  const t = findStatTriples(['min_fiat', 'mean_fiat', 'max_fiat', 'Fwd IAT Min', 'Fwd IAT Mean', 'Fwd IAT Max', 'fwd_iat_min_us', 'fwd_iat_mean_us', 'fwd_iat_max_us', 'min_x']);
  assert.deepEqual(t.map((x) => x.stem).sort(), ['*_fiat', 'fwd_iat_*', 'fwd_iat_*_us']);
});

test('columns in their true order pass the min <= mean <= max check', () => {
  const r = checkColumnOrder(tableOf(ISCX_TRUE_ORDER, iscxRows(200)));
  assert.equal(r.permuted, false);
  assert.ok(r.triples.length >= 5);
});

test('the ISCX 15 s header over 60 s-ordered data is detected and fixed with a loud message', () => {
  const t = tableOf(ISCX_DECLARED_ORDER, iscxRows(200));
  const v = verifyColumnOrder(t, 'fix');
  assert.equal(v.status, 'fixed');
  assert.match(v.message!, /declared column order is wrong/);
  assert.deepEqual(v.table.columns.slice(0, 23).map((c) => c.name), [...ISCX_TRUE_ORDER]);
  // The data did not move: only names changed.
  const std = v.table.columns.find((c) => c.name === 'std_fiat');
  const before = t.columns[7]!;
  assert.ok(std && std.kind === 'number' && before.kind === 'number');
  assert.deepEqual(std.values, before.values);
  assert.equal(checkColumnOrder(v.table).permuted, false);
});

test('with policy refuse, loading a permuted ISCX file fails with the check in the message', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-chk-'));
  const file = path.join(dir, 'iscx15.arff');
  const rows = iscxRows(100);
  const head = ['@RELATION <ISCXFlowMeter-generated-flows>,,,,', ...ISCX_DECLARED_ORDER.map((n) => `@ATTRIBUTE ${n} NUMERIC,,,,`), '@ATTRIBUTE class1 {Non-VPN,VPN},,,', '@DATA,,,,'];
  await writeFile(file, [...head, ...rows.map((r, i) => `${r.join(',')},${i % 2 ? 'VPN' : 'Non-VPN'}`)].join('\n') + '\n');
  await assert.rejects(loadTable(file, { columnOrder: 'refuse' }), (e: Error) => e instanceof DatasetError && e.code === 'DATASET_PERMUTED_COLUMNS' && /min_fiat <= mean_fiat <= max_fiat holds on 0\.0 %/.test(e.message));
  const warnings: string[] = [];
  const fixed = await loadTable(file, { warn: (m) => warnings.push(m) });
  assert.equal(fixed.order.status, 'fixed');
  assert.ok(warnings.some((w) => w.startsWith('WARNING') && /ISCX 2016 header error/.test(w)));
  const kept = await loadTable(file, { columnOrder: 'keep', warn: (m) => warnings.push(m) });
  assert.equal(kept.table.columns[1]!.name, 'total_fiat');
});

test('permuted columns without a known fix are reported, not silently accepted', () => {
  const rng = new Rng(3);
  const n = 100;
  const a = Float64Array.from({ length: n }, () => rng.float());
  const b = Float64Array.from(a, (x) => x + 1);
  const c = Float64Array.from(a, (x) => x + 2);
  // Header says min, mean, max but the data is max, min, mean.
  const t = makeTable('flows.csv', [numberColumn('pkt_len_min', c), numberColumn('pkt_len_mean', a), numberColumn('pkt_len_max', b)]);
  const v = verifyColumnOrder(t);
  assert.equal(v.status, 'permuted');
  assert.match(v.message!, /look permuted: pkt_len_min <= pkt_len_mean <= pkt_len_max holds on 0\.0 % of 100 rows/);
});
