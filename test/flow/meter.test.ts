import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFlows, type MeterOptions } from '../../src/flow/meter.ts';
import type { CellValue, ColumnDef } from '../../src/flow/columns.ts';
import { PcapWriter, PcapngWriter } from '../../src/wire/writer.ts';
import { linkTypeOf, type LinkName } from '../../src/wire/testing.ts';
import { frames } from './scenario.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/flow/', import.meta.url));
const OPTS: MeterOptions = { table: { idleTimeoutUs: 60e6 } };

type Row = Record<string, CellValue>;

async function meter(file: string, opts: MeterOptions = OPTS): Promise<{ rows: Row[]; columns: ColumnDef[] }> {
  const rows: Row[] = [];
  let cols: ColumnDef[] = [];
  await extractFlows({ path: file }, opts, (row, columns) => {
    cols = columns;
    rows.push(Object.fromEntries(columns.map((c, i) => [c.name, row[i]!])));
  });
  return { rows, columns: cols };
}

function writePcap(file: string, link: LinkName, vlan?: number[], opts: { nanosecond?: boolean; byteOrder?: 'le' | 'be' } = {}): string {
  const w = new PcapWriter({ linkType: linkTypeOf(link), ...opts });
  for (const f of frames(link, vlan)) w.writePacket(f.data, { tsUs: f.tsUs });
  writeFileSync(file, w.toBuffer());
  return file;
}

const tmp = mkdtempSync(path.join(tmpdir(), 'veil-meter-'));

/** Columns that do not depend on the link layer (frame byte counts and capture name do). */
function linkFree(r: Row): Row {
  const { fwd_bytes: _a, bwd_bytes: _b, id_capture: _c, ...rest } = r;
  return rest;
}

test('golden: the scenario capture gives the committed flows', async () => {
  const pcap = path.join(FIXTURES, 'scenario.pcap');
  const golden = path.join(FIXTURES, 'scenario.flows.jsonl');
  // Only UPDATE_GOLDEN=1 writes the fixtures: a missing one is a failure, never a new baseline.
  if (process.env.UPDATE_GOLDEN === '1') writePcap(pcap, 'ether');
  assert.ok(existsSync(pcap), `${pcap} is missing (UPDATE_GOLDEN=1 rebuilds it from test/flow/scenario.ts)`);
  assert.deepEqual(readFileSync(pcap), readFileSync(writePcap(path.join(tmp, 'scenario-built.pcap'), 'ether')), 'the committed capture matches its builder');
  const { rows } = await meter(pcap);
  const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
  assert.ok(existsSync(golden), `${golden} is missing (UPDATE_GOLDEN=1 writes it after you have checked the flows)`);
  assert.equal(text, readFileSync(golden, 'utf8'));
});

test('flow boundaries: FIN, 5-tuple reuse, RST, idle timeout, ICMP, end of input', async () => {
  const { rows } = await meter(writePcap(path.join(tmp, 'b.pcap'), 'ether'));
  const by = (sport: number, dport: number) => rows.filter((r) => r.id_src_port === sport && r.id_dst_port === dport);
  const https = by(40001, 443);
  assert.equal(https.length, 2, 'the reused 5-tuple gives two flows');
  assert.deepEqual(https.map((r) => [r.id_end_reason, r.fwd_pkts, r.bwd_pkts]), [['fin', 7, 5], ['idle', 3, 1]]);
  assert.equal(https[0]!.fwd_payload_bytes, 380);
  assert.equal(https[0]!.bwd_payload_bytes, 2920);
  assert.equal(https[0]!.fwd_syn_count, 1);
  assert.equal(https[0]!.bwd_fin_count, 1);
  assert.equal(https[0]!.fwd_init_win, 64240);
  assert.equal(https[0]!.bwd_init_win, 65160);
  assert.equal(https[0]!.silence_count, 1);
  const rst = by(40002, 8080);
  assert.deepEqual(rst.map((r) => [r.id_end_reason, r.fwd_pkts, r.bwd_pkts]), [['rst', 1, 1]]);
  const dns = by(5353, 53);
  assert.deepEqual(dns.map((r) => [r.id_end_reason, r.fwd_pkts, r.bwd_pkts]), [['idle', 1, 1], ['eof', 1, 0]]);
  const icmp = rows.filter((r) => r.id_protocol === 1);
  assert.equal(icmp.length, 1);
  assert.equal(icmp[0]!.bwd_pkts, 1);
  const v6 = rows.filter((r) => r.id_ip_version === 6);
  assert.equal(v6.length, 1);
  assert.equal(v6[0]!.id_src_addr, '2001:db8::1');
  const ntp = by(123, 123);
  assert.equal(ntp[0]!.id_src_addr, '198.51.100.20', 'the first packet\'s sender is the source');
  assert.equal(rows.length, 8);
});

test('ISCX features follow ISCX units and conventions', async () => {
  const { rows } = await meter(writePcap(path.join(tmp, 'i.pcap'), 'ether'));
  const f = rows.find((r) => r.id_src_port === 40001 && r.id_end_reason === 'fin')!;
  assert.equal(f.duration, 3.021e6);
  assert.ok(Math.abs((f.flowPktsPerSecond as number) - 12 / 3.021) < 1e-9);
  assert.equal(f.max_fiat, 2.448e6);
  assert.equal(f.min_flowiat, 1000);
  // ISCX's 1 s activity timeout: the 2.448 s silence is an idle period. ISCX's active period runs from its first
  // packet to the packet after the gap (52 ms + 2.448 s); the last one (521 ms), which no gap ends, is not recorded.
  assert.equal(f.min_idle, 2.448e6);
  assert.deepEqual([f.min_active, f.mean_active, f.max_active, f.std_active], [2.5e6, 2.5e6, 2.5e6, 0]);
  assert.ok(Math.abs((f.flowBytesPerSecond as number) - (660 + 3120) / 3.021) < 1e-9, 'IP bytes per second');
  const rst = rows.find((r) => r.id_end_reason === 'rst')!;
  assert.deepEqual([rst.min_idle, rst.mean_idle, rst.max_idle, rst.std_idle], [-1, 0, -1, 0], 'no idle period: min/max -1, mean/std 0');
  const dns = rows.find((r) => r.id_src_port === 5353)!;
  assert.deepEqual([dns.min_active, dns.mean_active, dns.max_active, dns.std_active], [-1, 0, -1, 0], 'no idle period, so no active period');
});

test('every link type gives the same flows as Ethernet', async () => {
  const base = (await meter(writePcap(path.join(tmp, 'e.pcap'), 'ether'))).rows.map(linkFree);
  for (const [link, vlan] of [['sll', undefined], ['sll2', undefined], ['null', undefined], ['loop', undefined], ['raw', undefined], ['ppp', undefined], ['ether', [10]], ['ether', [100, 200]]] as [LinkName, number[] | undefined][]) {
    const rows = (await meter(writePcap(path.join(tmp, `${link}${vlan ? vlan.length : ''}.pcap`), link, vlan))).rows.map(linkFree);
    assert.deepEqual(rows, base, `${link}${vlan ? ` vlan ${vlan.join('/')}` : ''}`);
  }
});

test('pcap (both byte orders, µs and ns) and pcapng give identical output', async () => {
  const ref = (await meter(writePcap(path.join(tmp, 'r.pcap'), 'ether'))).rows.map((r) => ({ ...r, id_capture: '' }));
  for (const [name, o] of [['be', { byteOrder: 'be' as const }], ['ns', { nanosecond: true }], ['nsbe', { nanosecond: true, byteOrder: 'be' as const }]] as const) {
    const rows = (await meter(writePcap(path.join(tmp, `${name}.pcap`), 'ether', undefined, o))).rows.map((r) => ({ ...r, id_capture: '' }));
    assert.deepEqual(rows, ref, name);
  }
  for (const byteOrder of ['le', 'be'] as const) {
    const w = new PcapngWriter({ byteOrder, interfaces: [{ linkType: linkTypeOf('ether'), tsresol: 6 }] });
    for (const f of frames('ether')) w.writePacket(f.data, { tsUs: f.tsUs, iface: 0 });
    const file = path.join(tmp, `s-${byteOrder}.pcapng`);
    writeFileSync(file, w.toBuffer());
    const rows = (await meter(file)).rows.map((r) => ({ ...r, id_capture: '' }));
    assert.deepEqual(rows, ref, `pcapng ${byteOrder}`);
  }
});

test('a pcapng with two interfaces of different link types meters both', async () => {
  const w = new PcapngWriter({ interfaces: [{ linkType: linkTypeOf('ether') }, { linkType: linkTypeOf('raw'), tsresol: 9 }] });
  const eth = frames('ether'), raw = frames('raw');
  eth.forEach((f, i) => w.writePacket(i % 2 ? raw[i]!.data : f.data, { tsUs: f.tsUs, iface: i % 2 }));
  const file = path.join(tmp, 'two.pcapng');
  writeFileSync(file, w.toBuffer());
  const rows = (await meter(file)).rows.map(linkFree);
  const ref = (await meter(writePcap(path.join(tmp, 'two-ref.pcap'), 'ether'))).rows.map(linkFree);
  assert.deepEqual(rows, ref);
});

test('feature families can be switched off and columns keep their order', async () => {
  const file = writePcap(path.join(tmp, 'f.pcap'), 'ether');
  const all = await meter(file);
  const some = await meter(file, { ...OPTS, families: ['sequence', 'stats'] });
  const names = some.columns.map((c) => c.name);
  assert.ok(names.indexOf('fwd_pkts') < names.indexOf('seq_len_1'), 'registry order, not argument order');
  assert.ok(!names.includes('duration'), 'iscx is off');
  assert.ok(all.columns.some((c) => c.name === 'duration'));
  assert.ok(some.columns.filter((c) => c.role === 'identity').every((c) => c.name.startsWith('id_')));
  for (const r of some.rows) assert.ok(!('tls_ja4' in r));
});

test('--sequence-length records that many early packets', async () => {
  const { rows, columns } = await meter(writePcap(path.join(tmp, 's.pcap'), 'ether'), { ...OPTS, families: ['sequence'], features: { sequenceLength: 4 } });
  assert.equal(columns.filter((c) => c.name.startsWith('seq_len_')).length, 4);
  const f = rows.find((r) => r.id_src_port === 40001)!;
  assert.deepEqual([f.seq_dir_1, f.seq_dir_2, f.seq_dir_3, f.seq_dir_4], [1, -1, 1, 1]);
  assert.deepEqual([f.seq_gap_1_us, f.seq_gap_2_us], [0, 20000]);
  assert.equal(f.seq_len_4, 340, 'IPv4 20 + TCP 20 + 300 payload');
  assert.equal(f.seq_len_1, 40, 'a bare SYN is a 40-byte IPv4 packet');
});

test('--anonymize replaces addresses with stable keyed pseudonyms', async () => {
  const file = writePcap(path.join(tmp, 'a.pcap'), 'ether');
  const a = (await meter(file, { ...OPTS, anonymizeKey: 'k1' })).rows;
  const b = (await meter(file, { ...OPTS, anonymizeKey: 'k1' })).rows;
  const c = (await meter(file, { ...OPTS, anonymizeKey: 'k2' })).rows;
  assert.deepEqual(a, b);
  assert.notEqual(a[0]!.id_src_addr, c[0]!.id_src_addr);
  for (const r of a) {
    assert.match(String(r.id_src_addr), /^anon-[0-9a-f]{16}$/);
    assert.ok(!String(r.id_dst_addr).includes('198.51'));
  }
});
