import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { extractFlows } from '../../src/flow/meter.ts';
import { loadTable, requireColumn, columnStrings, stringColumn, withColumn, writeTable } from '../../src/dataset/index.ts';
import { run as train } from '../../src/cli/train.ts';
import { run as predict } from '../../src/cli/predict.ts';
import { chooseTimeouts } from '../../src/classify/timeouts.ts';

const T0 = 1_700_000_000_000_000;

/** Six UDP conversations of 60 s, one packet each way every 2 s: one flow each at the default timeouts, four
 * each when flows are cut after 15 s. */
async function longUdpCapture(dir: string): Promise<string> {
  const w = new PcapWriter();
  const pkts: { ts: number; data: Uint8Array }[] = [];
  for (let k = 0; k < 6; k++) {
    for (let s = 0; s < 60; s += 2) {
      const ts = T0 + s * 1e6 + k * 1000;
      pkts.push({ ts, data: buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 40000 + k, dport: 5000 + k, payload: new Uint8Array(80 + 40 * (k % 2)) }) });
      pkts.push({ ts: ts + 500, data: buildPacket({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'udp', sport: 5000 + k, dport: 40000 + k, payload: new Uint8Array(200 + 300 * (k % 2)) }) });
    }
  }
  pkts.sort((a, b) => a.ts - b.ts);
  for (const p of pkts) w.writePacket(p.data, { tsUs: p.ts });
  const file = path.join(dir, 'long-udp.pcap');
  await writeFile(file, w.toBuffer());
  return file;
}

async function silently<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { return await fn(); } finally { process.stdout.write = out; process.stderr.write = err; }
}

test('veil predict MODEL CAPTURE meters with the flow timeouts the model records', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-predict-timeouts-'));
  const pcap = await longUdpCapture(dir);
  let flows15 = 0;
  let flowsDefault = 0;
  await extractFlows({ path: pcap }, { table: { activeTimeoutUs: 15e6, idleTimeoutUs: 15e6 } }, () => { flows15++; });
  await extractFlows({ path: pcap }, {}, () => { flowsDefault++; });
  assert.equal(flowsDefault, 6);
  assert.ok(flows15 >= 4 * 6, `${flows15} flows at 15 s`);

  // A model trained on the flows cut at 15 s records so; predict on the capture must cut the same way.
  const flowsCsv = path.join(dir, 'flows15.csv');
  const { run: extract } = await import('../../src/cli/extract.ts');
  assert.equal(await silently(() => extract([pcap, '--active-timeout', '15', '--idle-timeout', '15', '-q', '-o', flowsCsv])), 0);
  const t = (await loadTable(flowsCsv)).table;
  const label = columnStrings(requireColumn(t, 'id_dst_port')).map((p) => (Number(p) % 2 ? 'odd' : 'even'));
  const labelled = path.join(dir, 'labelled.csv');
  await writeTable(withColumn(t, stringColumn('parity', label)), labelled);
  const model = path.join(dir, 'm.veilmodel');
  assert.equal(await silently(() => train([labelled, '--label', 'parity', '--model', 'forest', '--trees', '5', '--threads', '1', '-q',
    '--meter-active-timeout', '15', '--meter-idle-timeout', '15', '-o', model])), 0);

  const out = path.join(dir, 'pred.csv');
  assert.equal(await silently(() => predict([model, pcap, '-o', out, '-q'])), 0);
  const pred = (await loadTable(out)).table;
  assert.equal(pred.rows, flows15, 'one answer per flow cut at the model\'s 15 s');
  // The user's timeouts still win.
  const out2 = path.join(dir, 'pred-1800.csv');
  assert.equal(await silently(() => predict([model, pcap, '-o', out2, '-q', '--active-timeout', '1800', '--idle-timeout', '120'])), 0);
  assert.equal((await loadTable(out2)).table.rows, 6);
  // And the answers are in the answer layout: identity, counters, then the model's four columns.
  const names = pred.columns.map((c) => c.name);
  for (const c of ['id_flow', 'id_src_addr', 'fwd_pkts', 'bwd_bytes', 'duration_us', 'm.label', 'm.confidence', 'm.unknown', 'm.unknown_reason']) {
    assert.ok(names.includes(c), `${c} in ${names.join(',')}`);
  }
  assert.ok(names.indexOf('id_src_addr') < names.indexOf('fwd_pkts') && names.indexOf('fwd_pkts') < names.indexOf('m.label'));
});

test('chooseTimeouts names every model metered otherwise than it was trained', () => {
  const vpn = { name: 'vpn', meter: { idleTimeoutS: 15, activeTimeoutS: 15 } };
  const mine = { name: 'app' };
  const both = chooseTimeouts([vpn, mine]);
  assert.deepEqual(both.table, { idleTimeoutUs: 15e6, activeTimeoutUs: 15e6 });
  assert.equal(both.warnings.length, 1);
  assert.match(both.warnings[0]!, /model 'app' records no flow timeouts; its flows are metered with idle 15 s, active 15 s \(as model 'vpn' records\)/);
  const long = { name: 'long', meter: { idleTimeoutS: 120, activeTimeoutS: 1800 } };
  const differ = chooseTimeouts([vpn, long]);
  assert.match(differ.warnings.join('\n'), /model 'long' was trained on flows cut at idle 120 s, active 1800 s but the capture is metered with idle 15 s, active 15 s/);
  const user = chooseTimeouts([vpn], { activeTimeoutUs: 60e6 });
  assert.equal(user.table.activeTimeoutUs, 60e6);
  assert.match(user.warnings.join('\n'), /model 'vpn' .* metered with idle 15 s, active 60 s \(as asked\)/);
  assert.deepEqual(chooseTimeouts([mine]), { table: {}, warnings: [] });
  assert.deepEqual(chooseTimeouts([vpn, { name: 'vpn2', meter: { idleTimeoutS: 15, activeTimeoutS: 15 } }]).warnings, []);
});
