import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assignRoles, encodeFeatures, getColumn, loadTable, makeTable, numberColumn, planFeatures, stringColumn, writeTable,
  type Table,
} from '../../src/dataset/index.ts';
import { columnDefinition } from '../../src/dataset/definitions.ts';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { clientHelloBody, ext, handshake, record } from '../tls/builder.ts';

/**
 * Column types and roles of Veil's own tables come from the column definitions, never from the values: a text
 * column that is empty in every training row (tls_ja4_retry) or holds only digits (tls_cipher) is text, and a
 * model trained on such a table does not fail a capture where the column holds text.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-defs-'));
const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));

const CSV = [
  'id_flow,id_capture,fwd_pkts,tls_cipher,tls_client_version,tls_version,tls_ja4_retry,tls_resumed,label',
  '1,a.pcap,3,4865,0x0303,1.0,,0,web',
  '2,a.pcap,5,49195,0x0303,1.2,,1,web',
  '3,b.pcap,7,4866,0x0301,1.3,,0,mail',
].join('\n') + '\n';

function kinds(t: Table, names: string[]): string[] {
  return names.map((n) => `${n}:${getColumn(t, n)!.kind}`);
}

test('a Veil CSV keeps its defined text columns as text, exactly as written (no hex or 1.0 parsed as numbers)', async () => {
  const f = path.join(tmp, 'flows.csv');
  writeFileSync(f, CSV);
  const { table } = await loadTable(f, { textColumns: ['label'] });
  assert.deepEqual(kinds(table, ['tls_cipher', 'tls_client_version', 'tls_version', 'tls_ja4_retry', 'fwd_pkts', 'tls_resumed']),
    ['tls_cipher:string', 'tls_client_version:string', 'tls_version:string', 'tls_ja4_retry:string', 'fwd_pkts:number', 'tls_resumed:number']);
  const v = getColumn(table, 'tls_version')!;
  assert.ok(v.kind === 'string');
  assert.deepEqual([...v.codes].map((k) => v.dictionary[k]), ['1.0', '1.2', '1.3']);
});

test('JSONL and Parquet tables get the defined kinds too (numbers written for a text column come back as text)', async () => {
  const t = makeTable('mem', [
    numberColumn('tls_cipher', [4865, 49195]), numberColumn('tls_ja4_retry', [NaN, NaN]), numberColumn('fwd_pkts', [1, 2]),
    stringColumn('label', ['a', 'b']),
  ]);
  for (const ext of ['jsonl', 'parquet']) {
    const f = path.join(tmp, `flows.${ext}`);
    await writeTable(t, f);
    const { table } = await loadTable(f);
    assert.deepEqual(kinds(table, ['tls_cipher', 'tls_ja4_retry', 'fwd_pkts']), ['tls_cipher:string', 'tls_ja4_retry:string', 'fwd_pkts:number'], ext);
  }
});

test('roles come from the definitions: a defined text column is text even when read as numbers', () => {
  const t = makeTable('mem', [
    numberColumn('tls_cipher', [4865, 4866]), numberColumn('tls_ja4_retry', [NaN, NaN]), numberColumn('fwd_pkts', [1, 2]),
    numberColumn('tls_resumed', [0, 1]), stringColumn('tls_cert_not_after', ['2030-01-01', '2031-01-01']), stringColumn('label', ['a', 'b']),
  ]);
  const r = assignRoles(t, { label: 'label' });
  assert.deepEqual(r.features, ['fwd_pkts', 'tls_resumed']);
  const why = Object.fromEntries(r.excluded.map((e) => [e.name, e.reason]));
  assert.match(why['tls_cipher']!, /^text/);
  assert.match(why['tls_ja4_retry']!, /^text/);
  assert.match(why['tls_cert_not_after']!, /^text/, 'a date is text, not a server name');
  // Asked for, a defined text column is encoded as categories, not as a number.
  const specs = planFeatures(t, ['tls_cipher']);
  assert.deepEqual(specs.map((s) => `${s.name}:${s.kind}`), ['tls_cipher=4865:onehot', 'tls_cipher=4866:onehot']);
  assert.equal(columnDefinition('seq_len_40')?.type, 'int', 'sequence columns of any length are defined');
});

test('one odd value in a defined numeric column is read as missing with a notice naming the column, never fails the load', async () => {
  const f = path.join(tmp, 'odd.csv');
  writeFileSync(f, 'id_flow,fwd_pkts,label\n1,3,a\n2,lots,b\n3,4,a\n');
  const notices: string[] = [];
  const { table } = await loadTable(f, { warn: (m) => notices.push(m) });
  const c = getColumn(table, 'fwd_pkts')!;
  assert.ok(c.kind === 'number');
  assert.deepEqual([...c.values], [3, NaN, 4]);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /odd\.csv: column 'fwd_pkts' .*1 value\(s\) are not numbers \(e\.g\. 'lots'\): read as missing/);
});

test('a model input recorded as numeric reads a text value as missing instead of failing the table', () => {
  // A model trained before the fix recorded tls_ja4_retry as a number feature (it was empty in every row).
  const t = makeTable('reddit.pcap', [stringColumn('tls_ja4_retry', [null, 't13d1515h2_8daaf6152771_de4a06bb82e3']), numberColumn('fwd_pkts', [1, 2])]);
  const notices: string[] = [];
  const cols = encodeFeatures(t, [{ name: 'tls_ja4_retry', source: 'tls_ja4_retry', kind: 'number' }, { name: 'fwd_pkts', source: 'fwd_pkts', kind: 'number' }],
    'the model', (m) => notices.push(m));
  assert.deepEqual(cols.map((c) => [...c]), [[NaN, NaN], [1, 2]]);
  assert.match(notices[0]!, /column 'tls_ja4_retry' should hold numbers, but 1 row\(s\) hold text/);
});

/** Two captures of TLS flows; one of the second capture's flows is the only one with a non-empty tls_ja4_retry. */
function capture(file: string, sni: string, n: number, payload: number): void {
  const w = new PcapWriter();
  let t = 1_700_000_000_000_000;
  for (let k = 0; k < n; k++) {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + k, dport: 443 };
    const back = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const hello = record(22, handshake(1, clientHelloBody({ ciphers: [0x1301, 0x1302], extensions: [ext.sni(sni), ext.supportedVersions([0x0304])] })));
    w.writePacket(buildPacket({ ...c, flags: 'S', seq: 100 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'SA', seq: 500, ack: 101 }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...c, flags: 'PA', seq: 101, ack: 501, payload: hello }), { tsUs: (t += 1000) });
    w.writePacket(buildPacket({ ...back, flags: 'PA', seq: 501, payload: new Uint8Array(payload + k) }), { tsUs: (t += 1000 + 100 * k) });
    w.writePacket(buildPacket({ ...c, flags: 'R', seq: 101 + hello.length }), { tsUs: (t += 1000) });
  }
  writeFileSync(file, w.toBuffer());
}

test('dataset build --rules, train --group-by id_capture, predict on a table whose tls_ja4_retry holds text: no failure', () => {
  const caps = path.join(tmp, 'caps');
  for (const [d, sni, pay] of [['a', 'www.alpha.com', 300], ['b', 'www.beta.com', 1200], ['c', 'mail.alpha.com', 320], ['d', 'mail.beta.com', 1210]] as const) {
    spawnSync('mkdir', ['-p', path.join(caps, d)]);
    capture(path.join(caps, d, `${d}.pcap`), sni, 6, pay);
  }
  const rules = path.join(tmp, 'rules.yaml');
  writeFileSync(rules, '- label: alpha\n  sni: "*.alpha.com"\n- label: beta\n  sni: "*.beta.com"\n');
  const run = (args: string[]) => spawnSync(process.execPath, [VEIL, ...args], { encoding: 'utf8' });
  const labelled = path.join(tmp, 'l.csv');
  let r = run(['dataset', 'build', caps, '--rules', rules, '-o', labelled, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const model = path.join(tmp, 'app.veilmodel');
  r = run(['train', labelled, '--label', 'label', '--group-by', 'id_capture', '--folds', '2', '--no-guard', '-o', model, '-q']);
  assert.equal(r.status, 0, r.stderr);
  // The same flows, one of them now showing a retry ClientHello's JA4 and a cipher spelt as text.
  const lines = readFileSync(labelled, 'utf8').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const cells = lines[1]!.split(',');
  cells[header.indexOf('tls_ja4_retry')] = 't13d1515h2_8daaf6152771_de4a06bb82e3';
  cells[header.indexOf('tls_cipher')] = 'TLS_AES_128_GCM_SHA256';
  const input = path.join(tmp, 'new.csv');
  writeFileSync(input, [lines[0], cells.join(','), ...lines.slice(2)].join('\n') + '\n');
  const out = path.join(tmp, 'answers.csv');
  r = run(['predict', model, input, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8').trimEnd().split('\n').length, lines.length, 'every flow answered');
});
