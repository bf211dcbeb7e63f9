import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, kill, postTrain, REPO, sleep, spawnServe, startTestServer, tempDir } from './helpers.ts';
import { chromeLikeHello, clientHelloBody, cat, ext, handshake, hex } from '../tls/builder.ts';
import { cryptoFrame, paddingFrames, sealInitial } from '../quic/builder.ts';
import { homeCaptures } from '../helpers/learn-captures.ts';

/**
 * Live monitoring end to end on loopback: `veil serve --interface lo` (a live source with 2 worker threads, early
 * verdicts at 10 packets, the shipped models and the shipped early model) while real TLS (curl against a Node https server, SNI en.wikipedia.org)
 * and a real QUIC Initial (SNI www.youtube.com, sealed with the RFC 9001 keys) cross the interface; the dashboard
 * (web/live.html) in Debian's chromium shows the flows with an early verdict while they are open and a final one
 * after they end. Screenshots go to test-artifacts/. Needs root (capture) and tcpdump, curl and chromium.
 */
declare const document: any;

const ARTIFACTS = path.join(REPO, 'test-artifacts');
const run = promisify(execFile);

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not root: live capture needs CAP_NET_RAW';
  for (const t of ['tcpdump', 'curl', 'openssl']) {
    try { execFileSync('sh', ['-c', `command -v ${t}`]); } catch { return `${t} is not installed`; }
  }
  try { execFileSync('sh', ['-c', 'test -x /usr/bin/chromium']); } catch { return 'chromium is not installed'; }
  return null;
}
const skip = missing();
if (skip) console.log(`# live.test.ts skipped: ${skip}`);

let tmp: ReturnType<typeof tempDir>;
let srv: Awaited<ReturnType<typeof startTestServer>>;
let tlsServer: https.Server;
let tlsPort = 0, quicPort = 0;
let browser: Browser;
let page: Page;
const udp = createSocket('udp4');

before(async () => {
  if (skip) return;
  tmp = tempDir('veil-live-');
  mkdirSync(ARTIFACTS, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp.dir, 'key.pem'), '-out', path.join(tmp.dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=en.wikipedia.org'], { stdio: 'ignore' });
  // A slow response: the connection stays open for ~3 s, so its early verdict shows while it is still open.
  tlsServer = https.createServer({ key: execFileSync('cat', [path.join(tmp.dir, 'key.pem')]), cert: execFileSync('cat', [path.join(tmp.dir, 'cert.pem')]) }, (_q, r) => {
    let n = 0;
    const t = setInterval(() => {
      r.write('x'.repeat(2000));
      if (++n === 12) { clearInterval(t); r.end(); }
    }, 250);
  });
  tlsPort = await freePort();
  await new Promise<void>((r) => tlsServer.listen(tlsPort, '127.0.0.1', () => r()));
  quicPort = await freePort();
  srv = await startTestServer(path.join(tmp.dir, 'data'), {
    modelDirs: [path.join(REPO, 'models')],
    live: {
      sources: [{ iface: 'lo', filter: `tcp port ${tlsPort} or udp port ${quicPort}` }], workers: 2, early: 10, retentionHours: 1,
      earlyModels: [{ column: 'category-early10', file: path.join(REPO, 'models/early/category-early10.veilmodel') }],
      meter: { table: { idleTimeoutUs: 2e6, closeGraceUs: 1e6 } },
    },
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1300 } })).newPage();
  await page.goto(`${srv.url}/live.html`);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await srv?.close();
  tlsServer?.close();
  udp.close();
  tmp?.cleanup();
});

/** Twelve client datagrams of one QUIC connection: a real Initial carrying a ClientHello, then padded Initials. */
function sendQuic(): Promise<void> {
  const dcid = hex('8394c8f03e515708');
  const spec = chromeLikeHello('www.youtube.com');
  const ch = handshake(1, clientHelloBody({ ...spec, extensions: [...(spec.extensions ?? []), ext.quicTransportParameters()] }));
  const pad = (f: Uint8Array) => cat(f, paddingFrames(Math.max(0, 1162 - f.length)));
  const packets = [sealInitial({ dcid, pn: 0, frames: pad(cryptoFrame(0, ch)), sender: 'client' })];
  for (let pn = 1; pn < 12; pn++) packets.push(sealInitial({ dcid, pn, frames: pad(paddingFrames(16)), sender: 'client' }));
  return packets.reduce((p, pkt) => p.then(() => new Promise<void>((r) => udp.send(pkt, quicPort, '127.0.0.1', () => r()))), Promise.resolve());
}

async function records(): Promise<any[]> {
  return ((await (await fetch(`${srv.url}/api/v1/live/flows?limit=100`)).json()) as { records: any[] }).records;
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('serve --interface: TLS and QUIC flows get an early verdict at packet 10 while open, then a final one; the dashboard shows both', { skip: skip ?? false }, async () => {
  const src = (await (await fetch(`${srv.url}/api/v1/live/sources`)).json()) as { sources: any[] };
  assert.equal(src.sources.length, 1);
  assert.equal(src.sources[0].workers, 2);
  assert.equal(src.sources[0].state, 'running');

  const curl = run('curl', ['-sk', '--http1.1', '--resolve', `en.wikipedia.org:${tlsPort}:127.0.0.1`, `https://en.wikipedia.org:${tlsPort}/`, '-o', '/dev/null']);
  await sendQuic();

  // While curl still downloads: the TLS flow's early verdict (named by its SNI) is stored and on the page.
  const early = await until('the early TLS verdict', async () => (await records()).find((r) => r.kind === 'early' && r.dport === tlsPort));
  assert.equal(early.packets, 10);
  assert.deepEqual(early.models.map((m: any) => m.column), ['category-early10'], 'the early verdict\'s model is the one trained with --early 10');
  assert.equal(early.app, 'Wikipedia');
  assert.equal(early.category, 'browsing');
  await until('the early verdict on the page', async () => page.evaluate(() => [...document.querySelectorAll('#flows td[data-verdict=early]')].some((td: any) => td.textContent.includes('Wikipedia'))));
  const openOnPage = await page.evaluate(() => [...document.querySelectorAll('#flows tr')].some((tr: any) => tr.textContent.includes('Wikipedia') && tr.textContent.includes('open…')));
  assert.ok(openOnPage, 'the TLS flow is shown open (no final verdict yet) with its early verdict');
  await page.screenshot({ path: path.join(ARTIFACTS, 'live-early.png'), fullPage: true });

  await curl;
  const final = await until('the final TLS verdict', async () => (await records()).find((r) => r.kind === 'final' && r.dport === tlsPort));
  assert.ok(final.packets > 5, `the final verdict counts the whole flow (${final.packets} packets)`);
  assert.equal(final.key, early.key, 'early and final records of one flow share its key');
  assert.equal(final.app, 'Wikipedia');
  assert.equal(final.alpn, 'http/1.1');
  assert.deepEqual(final.models.map((m: any) => m.column).sort(), ['category', 'vpn'], 'whole-flow models only on the final verdict');

  const quicEarly = await until('the QUIC verdicts', async () => {
    const rs = await records();
    const e = rs.find((r) => r.kind === 'early' && r.dport === quicPort);
    const f = rs.find((r) => r.kind === 'final' && r.dport === quicPort);
    return e && f ? { e, f } : null;
  });
  assert.equal(quicEarly.e.app, 'YouTube');
  assert.equal(quicEarly.e.appSource, 'quic');
  assert.equal(quicEarly.f.category, 'streaming');

  await until('both verdicts on the page', async () => page.evaluate(() => {
    const rows = [...document.querySelectorAll('#flows tr')].map((tr: any) => tr.textContent);
    return rows.some((t: string) => t.includes('Wikipedia') && !t.includes('open…')) && rows.some((t: string) => t.includes('YouTube') && !t.includes('open…'));
  }));
  // Filter: only the QUIC flow stays.
  await page.fill('#filter', 'youtube');
  const shown = await page.evaluate(() => [...document.querySelectorAll('#flows tbody tr')].map((tr: any) => tr.textContent));
  assert.ok(shown.length >= 1 && shown.every((t: string) => t.includes('YouTube')), `filtered rows: ${shown.join(' | ')}`);
  await page.fill('#filter', '');
  // Capture health: packets counted, no drop, both workers.
  const health = await page.evaluate(() => document.querySelector('#health').textContent);
  assert.match(health, /workers\s*2/);
  assert.match(health, /dropped \(kernel\)\s*0/);
  await page.evaluate(() => document.querySelector('#window-tabs button[data-window="900"]').click());
  await until('the charts', async () => page.evaluate(() => document.querySelectorAll('#c-cat-bytes polygon').length > 0));
  await page.screenshot({ path: path.join(ARTIFACTS, 'live-final.png'), fullPage: true });

  // Hovering the table pauses it: a new flow's verdicts wait (counted on the badge) until the pointer leaves.
  const rowsBefore = await page.evaluate(() => document.querySelectorAll('#flows tbody tr').length);
  await page.hover('#flows tbody tr');
  assert.equal(await page.evaluate(() => document.querySelector('#paused').hidden), false);
  await sendQuic();
  await until('records while paused', async () => page.evaluate(() => /new/.test(document.querySelector('#paused').textContent)));
  assert.equal(await page.evaluate(() => document.querySelectorAll('#flows tbody tr').length), rowsBefore, 'paused: no row added');
  await page.mouse.move(5, 5);
  await until('the new flow after the pause', async () => page.evaluate((n: number) => document.querySelectorAll('#flows tbody tr').length > n, rowsBefore));
  assert.equal(await page.evaluate(() => document.querySelector('#paused').hidden), true);

  // Prometheus: flows and bytes by category and application.
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(metrics, /veil_live_flows_total\{category="browsing",app="Wikipedia"\} 1/);
  assert.match(metrics, /veil_live_flows_total\{category="streaming",app="YouTube"\} [12]/);
  const bytes = Number(/veil_live_bytes_total\{category="browsing",app="Wikipedia"\} (\d+)/.exec(metrics)?.[1]);
  assert.equal(bytes, final.bytes, 'a flow\'s bytes count once (early part + the rest at its final verdict)');
  assert.match(metrics, /veil_live_verdicts_total\{kind="early"\} [1-9]/);
});

test('live sources: a bad interface is a LIVE_CAPTURE error naming it; stop gives the source\'s counters', { skip: skip ?? false }, async () => {
  const bad = await fetch(`${srv.url}/api/v1/live/sources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ interface: 'nosuch0' }) });
  assert.equal(bad.status, 400);
  const body = (await bad.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'LIVE_CAPTURE');
  assert.match(body.error.message, /nosuch0/);
  const id = ((await (await fetch(`${srv.url}/api/v1/live/sources`)).json()) as { sources: any[] }).sources[0].id;
  const stop = await fetch(`${srv.url}/api/v1/live/sources/${id}`, { method: 'DELETE' });
  assert.equal(stop.status, 200);
  const info = (await stop.json()) as any;
  assert.equal(info.state, 'stopped');
  assert.ok(info.capture && info.capture.captured > 0, 'tcpdump\'s own counters are read');
  assert.equal(info.capture.droppedByKernel, 0);
  assert.equal((await fetch(`${srv.url}/api/v1/live/sources/${id}`)).status, 404);
});

test('live sources: a filter or interface a capture tool would read as an option is refused, and nothing is written', { skip: skip ?? false }, async () => {
  const t4 = tempDir('veil-live-inject-');
  const out = path.join(t4.dir, 'pwned.pcap');
  try {
    for (const body of [{ interface: 'lo', filter: `-w${out}` }, { interface: 'lo', filter: ` -r ${out}` }, { interface: `-w${out}` }, { interface: 'lo;id' }]) {
      const r = await fetch(`${srv.url}/api/v1/live/sources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(((await r.json()) as any).error.code, 'BAD_REQUEST');
    }
    await sleep(500);
    assert.ok(!existsSync(out), 'tcpdump never got -w');
  } finally {
    t4.cleanup();
  }
});

test('live sources need an admin key on a server with API keys', { skip: skip ?? false }, async () => {
  const t2 = tempDir('veil-live-admin-');
  const s2 = await startTestServer(path.join(t2.dir, 'data'), { apiKeys: ['user-key'], adminKeys: ['admin-key'], live: { sources: [], workers: 1, early: 0, retentionHours: 1 } });
  try {
    const post = (key: string) => fetch(`${s2.url}/api/v1/live/sources`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ interface: 'nosuch0' }) });
    const asUser = await post('user-key');
    assert.equal(asUser.status, 403);
    assert.equal(((await asUser.json()) as any).error.code, 'ADMIN_REQUIRED');
    // The admin key passes the check (and the capture then fails on the missing interface).
    assert.equal(((await (await post('admin-key')).json()) as any).error.code, 'LIVE_CAPTURE');
    const list = await fetch(`${s2.url}/api/v1/live/sources`, { headers: { authorization: 'Bearer user-key' } });
    assert.equal(list.status, 200);
    assert.equal((await fetch(`${s2.url}/api/v1/live/sources`)).status, 401);
  } finally {
    await s2.close();
    t2.cleanup();
  }
});


test('a live source started without models follows the active models: an activated trained version reaches it, a retired one leaves it', { skip: skip ?? false }, async () => {
  const t3 = tempDir('veil-live-train-');
  const port = await freePort();
  const logs: string[] = [];
  const s3 = await startTestServer(path.join(t3.dir, 'data'), { log: (m) => logs.push(m), live: { sources: [{ iface: 'lo', filter: `udp port ${port}` }], workers: 1, early: 0, retentionHours: 1 } });
  try {
    const sources = async (): Promise<any[]> => ((await (await fetch(`${s3.url}/api/v1/live/sources`)).json()) as { sources: any[] }).sources;
    const [before] = await sources();
    assert.ok(!before.models.includes('home'), before.models.join(', '));
    const train = async (learner: string): Promise<{ id: string }> =>
      (await postTrain(s3.url, homeCaptures().home, { name: 'home', folds: '2', learner, activate: 'true' })).body as { id: string };
    const restarts = (): number => logs.filter((l) => /restarted with the default models/.test(l)).length;
    const job = await train('boosting');
    const after = await until('the source to apply the new version', async () => {
      const [src] = await sources();
      return src?.models.includes('home') && src.state === 'running' ? src : null;
    }, 120_000);
    assert.equal(after.id, before.id, 'the same source, restarted');
    const j = (await (await fetch(`${s3.url}/api/v1/jobs/${job.id}`)).json()) as any;
    assert.equal(j.summary.training.version, 1);
    assert.equal(restarts(), 1);
    // A second source names the model: it follows the name's new version too.
    const named = await fetch(`${s3.url}/api/v1/live/sources`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ interface: 'lo', filter: `udp port ${port + 1}`, models: ['home'] }) });
    assert.equal(named.status, 201, await named.clone().text());
    const namedId = ((await named.json()) as { id: string }).id;
    // Version 2 of the same name replaces version 1 in the source too (a change of content, not of names).
    await train('forest');
    await until('the source to apply version 2', async () => restarts() === 2, 120_000);
    await until('the naming source to apply version 2', async () => logs.some((l) => l.includes(`live source ${namedId}: restarted with the models home`)), 20_000);
    const v2 = (await sources()).find((x) => x.id === before.id);
    assert.ok(v2?.models.includes('home'));
    const retired = await fetch(`${s3.url}/api/v1/models/home/versions/2/retire`, { method: 'POST' });
    assert.equal(retired.status, 200);
    const all = await sources();
    const last = all.find((x) => x.id === before.id);
    assert.ok(last && !last.models.includes('home'), last?.models.join(', '));
    assert.equal(last.state, 'running');
    // The naming source keeps the model it loaded (its name is gone from the catalog) and says so.
    assert.ok(all.find((x) => x.id === namedId)?.models.includes('home'));
    assert.ok(logs.some((l) => l.includes(`live source ${namedId}: keeps its models`)));
  } finally {
    await s3.close();
    t3.cleanup();
  }
});

test('veil serve --interface lo --live-workers 2 --early 10: the source runs from the start with the shipped early model; SIGTERM stops it', { skip: skip ?? false }, async () => {
  const t3 = tempDir('veil-live-cli-');
  const { proc, url } = await spawnServe(['--data-dir', path.join(t3.dir, 'data'), '--interface', 'lo', '--filter', 'udp port 9', '--live-workers', '2', '--early', '10', '--live-retention-hours', '2', '-q']);
  try {
    const list = (await (await fetch(`${url}/api/v1/live/sources`)).json()) as { sources: any[] };
    assert.equal(list.sources.length, 1);
    const s = list.sources[0];
    assert.equal(s.iface, 'lo');
    assert.equal(s.filter, 'udp port 9');
    assert.equal(s.workers, 2);
    assert.equal(s.early, 10);
    assert.equal(s.state, 'running');
    assert.ok(s.models.includes('category-early10'), `models: ${s.models.join(', ')}`);
    const page = await (await fetch(`${url}/live.html`)).text();
    assert.match(page, /Live traffic/);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  } finally {
    await kill(proc);
    t3.cleanup();
  }
});
