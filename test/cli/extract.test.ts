import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetReadObjects } from 'hyparquet';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VEIL = path.join(ROOT, 'bin/veil.js');
const SCENARIO = path.join(ROOT, 'test/fixtures/flow/scenario.pcap');
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-cli-'));

function veil(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, [VEIL, ...args], { input, encoding: 'utf8', cwd: tmp });
}

function csvRows(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

test('extract writes CSV with a header and one row per flow, and a summary on stderr', () => {
  const out = path.join(tmp, 'a.csv');
  const r = veil(['extract', SCENARIO, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const rows = csvRows(readFileSync(out, 'utf8'));
  assert.equal(rows[0]![0], 'id_flow');
  assert.equal(rows.length - 1, 7, 'seven flows with the default 120 s idle timeout');
  assert.match(r.stderr, /27 packets, 7 flows/);
});

test('standard input works like a file', () => {
  const file = veil(['extract', SCENARIO, '--features', 'stats', '-q']);
  const stdin = veil(['extract', '-', '--features', 'stats', '-q'], readFileSync(SCENARIO));
  assert.equal(stdin.status, 0, stdin.stderr);
  const strip = (t: string) => csvRows(t).map((r) => r.filter((_, i) => i !== 10).join(','));
  assert.deepEqual(strip(stdin.stdout), strip(file.stdout), 'same rows but for id_capture');
});

test('JSONL and Parquet hold the same values as CSV', async () => {
  const csv = csvRows(veil(['extract', SCENARIO, '--features', 'stats,handshake', '-q']).stdout);
  const jl = path.join(tmp, 'b.jsonl'), pq = path.join(tmp, 'b.parquet');
  assert.equal(veil(['extract', SCENARIO, '--features', 'stats,handshake', '-q', '-o', jl]).status, 0);
  assert.equal(veil(['extract', SCENARIO, '--features', 'stats,handshake', '-q', '-o', pq]).status, 0);
  const json = readFileSync(jl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const buf = readFileSync(pq);
  const parquet = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
  const header = csv[0]!;
  assert.equal(json.length, csv.length - 1);
  assert.equal(parquet.length, csv.length - 1);
  for (let i = 1; i < csv.length; i++) {
    for (const name of ['id_src_addr', 'fwd_pkts', 'bwd_bytes', 'flow_iat_mean_us', 'tls_status']) {
      const c = csv[i]![header.indexOf(name)]!;
      // CSV writes non-integers with six decimals; JSONL and Parquet keep full doubles.
      const same = (v: unknown) => (typeof v === 'number' ? Math.abs(v - Number(c)) <= 1e-6 * Math.max(1, Math.abs(v)) : String(v) === c);
      assert.ok(same(json[i - 1]![name]), `${name} JSONL row ${i}: ${String(json[i - 1]![name])} vs ${c}`);
      assert.ok(same(parquet[i - 1]![name]), `${name} Parquet row ${i}: ${String(parquet[i - 1]![name])} vs ${c}`);
    }
  }
});

test('a truncated capture: flows before the damage are written, the error names the file and offset', () => {
  const whole = readFileSync(SCENARIO);
  const cut = path.join(tmp, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, whole.length - 100));
  const r = veil(['extract', cut, '--features', 'stats']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cut\.pcap: .*byte offset \d+/);
  assert.doesNotMatch(r.stderr, /internal error|    at /, 'no stack trace');
  const written = Number(/the (\d+) flows before it were written/.exec(r.stderr)?.[1]);
  assert.equal(csvRows(r.stdout).length - 1, written);
  assert.equal(written, 6, 'all flows but the one whose only packet was cut off');
});

test('a file that is not a capture, and a missing file, get one clear line each and exit 1', () => {
  const txt = path.join(tmp, 'notes.txt');
  writeFileSync(txt, 'this is not a capture\n'.repeat(10));
  const r = veil(['extract', txt, path.join(tmp, 'missing.pcap'), '-q']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /notes\.txt/);
  assert.match(r.stderr, /missing\.pcap/);
  assert.doesNotMatch(r.stderr, /internal error|    at /);
});

test('--workers 2 gives the same flows as one thread', () => {
  const one = csvRows(veil(['extract', SCENARIO, '-q']).stdout).slice(1).map((r) => r.slice(1).join(',')).sort();
  const two = csvRows(veil(['extract', SCENARIO, '-q', '--workers', '2']).stdout);
  assert.equal(two[0]![0], 'id_flow', 'one header');
  assert.deepEqual(two.slice(1).map((r) => r.slice(1).join(',')).sort(), one);
  assert.equal(new Set(two.slice(1).map((r) => r[0])).size, two.length - 1, 'id_flow stays unique');
});

test('a capture arriving through a pipe in pieces gives every flow', async () => {
  const child = spawn(process.execPath, [VEIL, 'extract', '-', '-q', '--features', 'stats', '--idle-timeout', '60'], { cwd: tmp });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  createReadStream(SCENARIO).pipe(child.stdin);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  assert.equal(csvRows(out).length - 1, 8);
});

test('bad option values are refused with a message', () => {
  const r = veil(['extract', SCENARIO, '--idle-timeout', 'soon']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--idle-timeout must be a positive number/);
});

test('--verdict appends the name verdict columns, with one thread or two', () => {
  for (const extra of [[], ['--workers', '2']]) {
    const rows = csvRows(veil(['extract', SCENARIO, '-q', '--verdict', ...extra]).stdout);
    const h = rows[0]!;
    assert.deepEqual(h.slice(-5), ['app', 'app_source', 'category', 'category_source', 'category_confidence']);
    const dns = rows.slice(1).find((r) => r[h.indexOf('id_dst_port')] === '53')!;
    assert.deepEqual([dns[h.indexOf('app')], dns[h.indexOf('category')]], ['DNS', 'network_services']);
  }
  const plain = csvRows(veil(['extract', SCENARIO, '-q']).stdout)[0]!;
  assert.ok(!plain.includes('app') && plain.includes('name_dns'), 'without --verdict, names columns only');
});
