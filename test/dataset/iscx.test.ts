import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { extended, SHARED_DATA } from '../helpers/shared.ts';
import { loadTable, checkColumnOrder } from '../../src/dataset/index.ts';

const vpn = (f: string): string => path.join(SHARED_DATA ?? '', 'iscx-vpn2016', f);
const tor = (f: string): string => path.join(SHARED_DATA ?? '', 'iscx-tor2016', 'Ek03ansh', f);

for (const [file, rows, status] of [
  ['Scenario A1-ARFF/TimeBasedFeatures-Dataset-15s-VPN.arff', 18758, 'fixed'],
  ['Scenario A1-ARFF/TimeBasedFeatures-Dataset-120s-VPN.arff', 10782, 'fixed'],
  ['Scenario B-ARFF/TimeBasedFeatures-Dataset-30s.arff', 14651, 'fixed'],
  ['Scenario A1-ARFF/TimeBasedFeatures-Dataset-60s-VPN.arff', 15515, 'ok'],
  ['Scenario A2-ARFF/TimeBasedFeatures-Dataset-15s-NO-VPN.arff', 8965, 'ok'],
] as const) {
  test(`ISCX VPN ${file}: ${rows} rows, column order ${status}`, extended(`ISCX ${file}`), async () => {
    const notes: string[] = [];
    const { table, order } = await loadTable(vpn(file), { warn: (m) => notes.push(m) });
    assert.equal(table.rows, rows);
    assert.equal(order.status, status);
    assert.equal(checkColumnOrder(table).permuted, false);
    if (status === 'fixed') {
      assert.ok(notes.some((n) => n.startsWith('WARNING') && /ISCX 2016 header error/.test(n)));
      assert.ok(table.columns.some((c) => c.name === 'std_fiat'));
    }
    if (file.includes('60s')) assert.ok(notes.some((n) => /skipped 1 blank data line/.test(n)));
  });
}

test('ISCX Tor scenario A 30 s: the same header error is fixed; scenario B matches its header', extended('ISCX Tor'), async () => {
  assert.equal((await loadTable(tor('Scenario-A/TimeBasedFeatures-30s-TOR-NonTOR.arff'))).order.status, 'fixed');
  assert.equal((await loadTable(tor('Scenario-B/TimeBasedFeatures-15s-Layer2.arff'))).order.status, 'ok');
});

test('ISCX 15 s A1 refused under --column-order refuse', extended('ISCX refuse'), async () => {
  await assert.rejects(loadTable(vpn('Scenario A1-ARFF/TimeBasedFeatures-Dataset-15s-VPN.arff'), { columnOrder: 'refuse' }), /declared column order is wrong/);
});
