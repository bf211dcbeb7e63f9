import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extended, SHARED_DATA } from '../helpers/shared.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VEIL = path.join(ROOT, 'bin/veil.js');
const SCENARIO = path.join(ROOT, 'test/fixtures/flow/scenario.pcap');
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-classify-'));

function veil(args: string[]) {
  return spawnSync(process.execPath, [VEIL, ...args], { encoding: 'utf8', cwd: tmp, maxBuffer: 64 << 20 });
}

function jsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The shipped category model's classes (models/category.veilmodel, learnt from real captures): catalogue categories. */
const CATEGORIES = ['ads_analytics', 'browsing', 'chat', 'cloud', 'file_transfer', 'gaming', 'mail', 'network_services', 'remote_access', 'social',
  'software_update', 'streaming', 'voip', 'vpn'];
const VERDICT_CATEGORIES = ['streaming', 'file_transfer', 'voip', 'browsing', 'chat', 'mail', 'vpn', 'gaming', 'social', 'cloud',
  'software_update', 'remote_access', 'ads_analytics', 'network_services', 'unknown'];

test('classify names every flow with the shipped category and VPN models, with confidences and a summary', () => {
  const out = path.join(tmp, 'c.jsonl');
  const r = veil(['classify', SCENARIO, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonl(out);
  assert.equal(rows.length, 8, 'the 15 s timeouts of the shipped models cut the 64 s UDP gap: 8 flows');
  const REASONS = ['too_few_packets', 'out_of_distribution', 'low_confidence'];
  for (const row of rows) {
    // The models' own answers: an answer, or 'unknown' with the guard's reason (and an empty reason beside an answer).
    for (const [m, names] of [['category', CATEGORIES], ['vpn', ['VPN', 'Non-VPN']]] as const) {
      const reason = row[`${m}.unknown_reason`];
      if (row[`${m}.label`] === 'unknown') assert.ok(REASONS.includes(reason as string) && row[`${m}.unknown`] === true, `${m} unknown: ${String(reason)}`);
      else assert.ok((names as readonly string[]).includes(row[`${m}.label`] as string) && reason === null && row[`${m}.unknown`] === false, `${m} ${String(row[`${m}.label`])} (${String(reason)})`);
    }
    for (const c of ['category.confidence', 'vpn.confidence']) assert.ok((row[c] as number) > 0 && (row[c] as number) <= 1, c);
    for (const c of ['id_src_addr', 'fwd_pkts', 'bwd_bytes', 'duration_us', 'tls_sni', 'tls_ja4', 'name_http_host', 'name_dns', 'app', 'app_source', 'category_confidence', 'category.unknown_reason']) assert.ok(c in row, c);
    assert.ok(VERDICT_CATEGORIES.includes(row.category as string), `category ${String(row.category)}`);
    assert.ok(['sni', 'cert', 'quic', 'http', 'dns', 'port', 'model', 'none'].includes(row.category_source as string));
  }
  // The scenario's one-packet flows (the NTP packet, the last DNS query) are below the VPN model's packet floor.
  const one = rows.filter((x) => x.id_src_port === 123 || (x.id_src_port === 5353 && x.id_end_reason === 'eof'));
  assert.equal(one.length, 2);
  for (const x of one) assert.deepEqual([x['vpn.label'], x['vpn.unknown_reason']], ['unknown', 'too_few_packets']);
  // The scenario's DNS, NTP and ICMP flows are named by port conventions, whatever the behaviour model says.
  const dns = rows.find((x) => x.id_dst_port === 53)!;
  assert.deepEqual([dns.app, dns.app_source, dns.category, dns.category_source], ['DNS', 'port', 'network_services', 'port']);
  assert.ok(rows.some((x) => x.app === 'NTP'));
  assert.match(r.stderr, /by application:/);
  assert.match(r.stderr, /by category:/);
  assert.match(r.stderr, /by category\.label:/);
  assert.match(r.stderr, /by vpn\.label:/);
  assert.match(r.stderr, /8 flows/);
});

test('classify meters with the timeouts the shipped models were trained with (15 s)', () => {
  const out = path.join(tmp, 't.jsonl');
  veil(['classify', SCENARIO, '-o', out, '-q']);
  // The scenario's UDP exchange has a 64 s gap: with 15 s timeouts it is two flows, and so is every >15 s flow.
  assert.ok(jsonl(out).every((r) => (r.id_last_ts as number) - (r.id_first_ts as number) <= 15));
});

test('an unknown threshold turns low-confidence answers into unknown', () => {
  const out = path.join(tmp, 'u.jsonl');
  const r = veil(['classify', SCENARIO, '-o', out, '-q', '--unknown-below', '0.99']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonl(out);
  assert.ok(rows.some((x) => x['category.label'] === 'unknown' || x['vpn.label'] === 'unknown'));
  assert.ok(rows.some((x) => x['category.label'] === 'unknown' && x['category.unknown_reason'] === 'low_confidence'));
  // Where no name or port convention speaks and the model is unsure, the verdict is unknown.
  for (const x of rows) if (x.category_source === 'none') assert.equal(x.category, 'unknown');
  for (const x of rows) if (x['vpn.label'] !== 'unknown') assert.ok((x['vpn.confidence'] as number) >= 0.99);
});

test('a model of your own is applied beside the shipped ones; a foreign model file is refused clearly', () => {
  // Train a small application model on the scenario's own flows (label: the transport).
  const flows = path.join(tmp, 'f.csv');
  assert.equal(veil(['extract', SCENARIO, '-o', flows, '-q']).status, 0);
  const text = readFileSync(flows, 'utf8').trim().split('\n');
  const labelled = [`${text[0]},app`, ...text.slice(1).map((l, i) => `${l},${i % 2 ? 'alpha' : 'beta'}`)].join('\n');
  writeFileSync(flows, labelled + '\n');
  const model = path.join(tmp, 'app.veilmodel');
  const t = veil(['train', flows, '--label', 'app', '--model', 'forest', '--trees', '5', '-o', model, '-q']);
  assert.equal(t.status, 0, t.stderr);
  const out = path.join(tmp, 'm.jsonl');
  const r = veil(['classify', SCENARIO, '--model', `${model}=application`, '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonl(out);
  assert.ok(rows.every((x) => ['alpha', 'beta', 'unknown'].includes(x['application.label'] as string) && 'category' in x));
  // The one answer layout: identity columns in the meter's order, counters, names, the verdict, then each model.
  const keys = Object.keys(rows[0]!);
  assert.deepEqual(keys.slice(0, 11), ['id_flow', 'id_src_addr', 'id_dst_addr', 'id_src_port', 'id_dst_port', 'id_protocol', 'id_ip_version', 'id_first_ts', 'id_last_ts', 'id_end_reason', 'id_capture']);
  assert.deepEqual(keys.slice(-12), ['category.label', 'category.confidence', 'category.unknown', 'category.unknown_reason',
    'vpn.label', 'vpn.confidence', 'vpn.unknown', 'vpn.unknown_reason', 'application.label', 'application.confidence', 'application.unknown', 'application.unknown_reason']);
  const bad = path.join(tmp, 'bad.veilmodel');
  writeFileSync(bad, 'not a model at all');
  const b = veil(['classify', SCENARIO, '--model', bad, '-q']);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad\.veilmodel/);
  assert.doesNotMatch(b.stderr, /internal error|    at /);
});

test('classify finishes on every capture of ../shared/data with output or a clear per-file error', extended('classify on all shared captures'), () => {
  const files: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d)) { const p = path.join(d, e); if (statSync(p).isDirectory()) walk(p); else files.push(p); } };
  walk(path.join(SHARED_DATA!, 'ndpi', 'pcap'));
  walk(path.join(SHARED_DATA!, 'wireshark-captures'));
  const out = path.join(tmp, 'all.csv');
  const r = veil(['classify', ...files, '-o', out]);
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
  const lines = r.stderr.trim().split('\n');
  const errors = lines.filter((l) => l.startsWith('veil: '));
  const mentioned = new Set(lines.map((l) => /^(?:veil: )?(.+?): /.exec(l)?.[1]));
  for (const f of files) assert.ok(mentioned.has(f), `${f} ends in a summary line or an error line`);
  for (const e of errors) assert.match(e, /^veil: [^:]+: /, 'errors name the file');
  assert.ok(readFileSync(out, 'utf8').split('\n').length > 5000);
});

test('--catalog: a catalogue of your own names flows, winning over the shipped one', () => {
  const file = path.join(tmp, 'mine.json');
  writeFileSync(file, JSON.stringify({ version: 'test-1', services: [
    { name: 'Our proxy', category: 'vpn', ports: ['tcp/8080'] },
    { name: 'Our resolver', category: 'cloud', ports: ['udp/53'] },
  ] }));
  const out = path.join(tmp, 'cat.jsonl');
  const r = veil(['classify', SCENARIO, '--catalog', file, '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const rows = jsonl(out);
  const proxy = rows.find((x) => x.id_dst_port === 8080)!;
  assert.deepEqual([proxy.app, proxy.category, proxy.category_source], ['Our proxy', 'vpn', 'port']);
  assert.equal(rows.find((x) => x.id_dst_port === 53)!.app, 'Our resolver');
  writeFileSync(file, '{"version": "x", "services": [{"name": "A", "category": "nonsense", "domains": ["a.example"]}]}');
  const b = veil(['classify', SCENARIO, '--catalog', file, '-q']);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /unknown category 'nonsense'/);
  assert.doesNotMatch(b.stderr, /    at /);
});
