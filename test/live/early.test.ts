import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { Meter } from '../../src/flow/meter.ts';
import type { CellValue, ColumnDef } from '../../src/flow/columns.ts';
import { readCapture } from '../../src/wire/reader.ts';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { LiveMeter } from '../../src/live/classifier.ts';
import { earlyFeatureColumns } from '../../src/live/early.ts';
import { LiveHub, CLIENT_BUFFER_BYTES } from '../../src/service/live/hub.ts';
import { makeCapture, tempDir, REPO, freePort } from '../service/helpers.ts';

const VEIL = path.join(REPO, 'bin/veil.js');

async function meterRows(file: string, opts: ConstructorParameters<typeof Meter>[0]): Promise<{ rows: CellValue[][]; columns: ColumnDef[] }> {
  const rows: CellValue[][] = [];
  const m = new Meter(opts, (r) => rows.push(r));
  await readCapture({ path: file }, (f) => m.frame(f));
  m.end();
  return { rows, columns: m.columns };
}

test('packetLimit N: every flow is written as of its N-th packet (sequence columns equal the whole flow\'s first N), shorter flows whole', async () => {
  const t = tempDir('veil-early-');
  try {
    const file = path.join(t.dir, 'c.pcap');
    writeFileSync(file, makeCapture(9, 6)); // 19 packets a flow
    const full = await meterRows(file, {});
    const cut = await meterRows(file, { packetLimit: 7 });
    const long = await meterRows(file, { packetLimit: 40 });
    const at = (cols: ColumnDef[], n: string) => cols.findIndex((c) => c.name === n);
    const C = full.columns;
    assert.equal(cut.rows.length, full.rows.length, 'one row per flow');
    for (const r of cut.rows) {
      assert.equal(Number(r[at(C, 'fwd_pkts')]) + Number(r[at(C, 'bwd_pkts')]), 7);
      assert.equal(r[at(C, 'id_end_reason')], 'packets');
      assert.equal(r[at(C, 'seq_len_8')], 0, 'nothing past packet 7');
    }
    const byPort = (rows: CellValue[][]) => new Map(rows.map((r) => [r[at(C, 'id_src_port')], r]));
    const f = byPort(full.rows), c = byPort(cut.rows);
    for (const [port, r] of c) {
      const w = f.get(port)!;
      for (let i = 1; i <= 7; i++) for (const k of ['len', 'dir']) assert.equal(r[at(C, `seq_${k}_${i}`)], w[at(C, `seq_${k}_${i}`)]);
      assert.equal(r[at(C, 'tls_sni')], w[at(C, 'tls_sni')], 'the handshake (packet 4) is in the cut row');
      assert.ok(Number(r[at(C, 'id_last_ts')]) < Number(w[at(C, 'id_last_ts')]));
    }
    // A cut past the flows' length changes nothing.
    assert.deepEqual(long.rows.map((r) => r[at(C, 'fwd_bytes')]), full.rows.map((r) => r[at(C, 'fwd_bytes')]));
    assert.deepEqual(long.rows.map((r) => r[at(C, 'id_end_reason')]), full.rows.map((r) => r[at(C, 'id_end_reason')]));
  } finally {
    t.cleanup();
  }
});

test('LiveMeter: a batch of finals filled by short flows never overtakes the early row of a long one', async () => {
  const t = tempDir('veil-early-order-');
  try {
    // Flow A reaches 5 packets (its early row waits in a batch of 2), then ends; two short flows end after it, so
    // the batch of finals [A, B] fills while A's early row is still waiting.
    const w = new PcapWriter();
    let ts = 1_700_000_000_000_000;
    const flow = (sport: number, n: number) => {
      const c = { src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 443 };
      for (let i = 0; i < n - 1; i++) w.writePacket(buildPacket({ ...c, flags: 'PA', seq: 100 + i * 10, payload: new Uint8Array(10) }), { tsUs: (ts += 1000) });
      w.writePacket(buildPacket({ ...c, flags: 'R', seq: 999 }), { tsUs: (ts += 1000) });
      ts += 10e6; // past the closed flow's grace: it ends on the next packet
    };
    flow(40000, 6); flow(40001, 3); flow(40002, 3); flow(40003, 3);
    const file = path.join(t.dir, 'order.pcap');
    writeFileSync(file, w.toBuffer());
    const order: string[] = [];
    let C: readonly ColumnDef[] = [];
    const lm = new LiveMeter({ meter: {}, early: 5, batch: 2, onRows: (kind, rows, columns) => { C = columns; for (const r of rows) order.push(`${kind}:${r[C.findIndex((c) => c.name === 'id_src_port')]}`); } });
    await readCapture({ path: file }, (f) => lm.frame(f));
    lm.end();
    assert.ok(order.includes('early:40000') && order.includes('final:40000'), order.join(' '));
    assert.ok(order.indexOf('early:40000') < order.indexOf('final:40000'), `early before final: ${order.join(' ')}`);
  } finally {
    t.cleanup();
  }
});

test('LiveMeter: an early row at packet N and a final row at the end, with the same flow key; flows shorter than N get only the final', async () => {
  const t = tempDir('veil-early-');
  try {
    const file = path.join(t.dir, 'c.pcap');
    writeFileSync(file, makeCapture(6, 6));
    // Batch sizes below and above the flow count: a full batch of finals must not overtake the early rows waiting.
    for (const batch of [1, 2, 3, 4, 256]) {
      const got: { kind: string; rows: CellValue[][]; columns: ColumnDef[] }[] = [];
      const lm = new LiveMeter({ meter: {}, early: 5, batch, onRows: (kind, rows, columns) => got.push({ kind, rows, columns }) });
      await readCapture({ path: file }, (f) => lm.frame(f));
      lm.end();
      const early = got.filter((g) => g.kind === 'early').flatMap((g) => g.rows);
      const final = got.filter((g) => g.kind === 'final').flatMap((g) => g.rows);
      assert.equal(early.length, 6);
      assert.equal(final.length, 6);
      const C = got[0]!.columns;
      const key = (r: CellValue[]) => ['id_src_port', 'id_first_ts'].map((n) => r[C.findIndex((c) => c.name === n)]).join('|');
      assert.deepEqual(early.map(key).sort(), final.map(key).sort());
      // Every early row precedes its flow's final row.
      const order = got.flatMap((g) => g.rows.map((r) => `${g.kind}:${key(r)}`));
      for (const r of early) assert.ok(order.indexOf(`early:${key(r)}`) < order.indexOf(`final:${key(r)}`), `batch ${batch}: early before final`);
    }
    const none: string[] = [];
    const lm2 = new LiveMeter({ meter: {}, early: 40, onRows: (kind) => none.push(kind) });
    await readCapture({ path: file }, (f) => lm2.frame(f));
    lm2.end();
    assert.ok(none.length > 0 && none.every((k) => k === 'final'));
  } finally {
    t.cleanup();
  }
});

test('earlyFeatureColumns: the sequence family up to N and the handshake family\'s numbers; never names, ports or times', () => {
  const cols = earlyFeatureColumns(5, ['seq_len_1', 'seq_len_5', 'seq_len_6', 'seq_dir_2', 'seq_gap_3_us', 'tls_client_hello_len', 'tls_sni', 'id_dst_port', 'duration_us', 'fwd_pkts']);
  assert.deepEqual(cols.sort(), ['seq_dir_2', 'seq_gap_3_us', 'seq_len_1', 'seq_len_5', 'tls_client_hello_len']);
});

test('veil extract --early 6 then veil train --early 6: the model records its cut and learns from the early columns; a whole-flow table is refused', () => {
  const t = tempDir('veil-early-');
  try {
    const cap = path.join(t.dir, 'c.pcap');
    writeFileSync(cap, makeCapture(60, 6, ['www.youtube.com', 'en.wikipedia.org', 'api.github.com']));
    const table = path.join(t.dir, 'early.csv'), whole = path.join(t.dir, 'whole.csv'), model = path.join(t.dir, 'm.veilmodel');
    for (const [args, out] of [[['--early', '6'], table], [[], whole]] as const) {
      const x = spawnSync(process.execPath, [VEIL, 'extract', cap, ...args, '--verdict', '-o', out, '-q'], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
    }
    const refused = spawnSync(process.execPath, [VEIL, 'train', whole, '--label', 'app', '--early', '6', '-o', model, '--model', 'forest', '--trees', '5', '-q'], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /whole\.csv: row 1 has 19 packets, more than --early 6.*veil extract --early 6/);
    const tr = spawnSync(process.execPath, [VEIL, 'train', table, '--label', 'app', '--early', '6', '-o', model, '--model', 'forest', '--trees', '5', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(tr.status, 0, tr.stderr);
    const features = /features \(\d+\): (.*)/.exec(tr.stdout)![1]!.split(', ');
    assert.ok(features.length > 0 && features.every((f) => /^seq_(len|dir|gap)_[1-6](_us)?$/.test(f) || /^tls_/.test(f)), features.join(','));
    const man = JSON.parse(spawnSync(process.execPath, ['--import', 'tsx', '-e', `import('${path.join(REPO, 'src/model/index.ts')}').then(async (m) => process.stdout.write(JSON.stringify((await m.loadModel('${model}')).manifest.meter)))`], { encoding: 'utf8', cwd: REPO }).stdout);
    assert.equal(man.earlyPackets, 6);
  } finally {
    t.cleanup();
  }
});

const canCapture = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v tcpdump && command -v curl && command -v openssl']).status === 0;
if (!canCapture) process.stderr.write('NOTICE: skipping classify --interface --early: needs root, tcpdump, curl and openssl\n');

test('veil classify --interface lo --early 4: a curl TLS flow gets an early verdict at packet 4 (FILE.early.jsonl) and its final row', { skip: canCapture ? false : 'needs root, tcpdump, curl, openssl' }, async () => {
  const t = tempDir('veil-early-live-');
  const procs: ChildProcess[] = [];
  try {
    const key = path.join(t.dir, 'k.pem'), cert = path.join(t.dir, 'c.pem'), out = path.join(t.dir, 'live.csv');
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=x']);
    const port = await freePort();
    procs.push(spawn('openssl', ['s_server', '-accept', String(port), '-key', key, '-cert', cert, '-www', '-quiet'], { stdio: 'ignore' }));
    const veil = spawn(process.execPath, [VEIL, 'classify', '--interface', 'lo', '--filter', `tcp port ${port}`, '--early', '4', '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(veil);
    let err = '';
    veil.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const wait = async (f: () => boolean, ms: number) => { const end = Date.now() + ms; while (Date.now() < end && !f()) await new Promise((r) => setTimeout(r, 200)); return f(); };
    assert.ok(await wait(() => /early verdicts at 4 packets/.test(err), 15000), err);
    const c = spawnSync('curl', ['-sk', '--max-time', '5', '--resolve', `github.com:${port}:127.0.0.1`, `https://github.com:${port}/`, '-o', '/dev/null']);
    assert.equal(c.status, 0);
    const side = `${out}.early.jsonl`;
    assert.ok(await wait(() => existsSync(side) && readFileSync(side, 'utf8').includes('github.com'), 10000), 'early verdict written');
    const e = JSON.parse(readFileSync(side, 'utf8').trim().split('\n')[0]!);
    assert.equal(e.kind, 'early');
    assert.equal(e.packets, 4);
    assert.equal(e.app, 'GitHub');
    assert.ok(await wait(() => existsSync(out) && readFileSync(out, 'utf8').includes('github.com'), 20000), 'final row written');
  } finally {
    for (const p of procs) p.kill('SIGINT');
    t.cleanup();
  }
});

test('SSE: a client that stops reading is dropped once 1 MiB waits in its socket; the others keep receiving', async () => {
  const hub = new LiveHub();
  const server = createServer((req, res) => hub.attach(res, { hello: req.url }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    // A slow client: connects, never reads.
    const slow = connect(port, '127.0.0.1');
    slow.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    slow.pause();
    // A good client reads everything.
    let got = 0;
    await new Promise<void>((r) => request({ port, host: '127.0.0.1', path: '/good' }, (res) => { res.on('data', (d: Buffer) => { got += d.length; }); r(); }).end());
    while (hub.clientCount < 2) await new Promise((r) => setTimeout(r, 20));
    const big = 'x'.repeat(64 << 10);
    for (let i = 0; i < 200 && hub.dropped === 0; i++) {
      hub.broadcast('records', [{ pad: big }]);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(hub.dropped, 1, 'the slow client was dropped');
    assert.equal(hub.clientCount, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(got > CLIENT_BUFFER_BYTES, `the reading client got ${got} bytes`);
    slow.destroy();
  } finally {
    hub.closeAll();
    server.close();
  }
});
