/**
 * An adversarial run against `veil serve` on loopback: every case of the "Security and limits" issue, each
 * printed with the status it got, the server's peak resident memory while it ran, the server's own longest
 * event-loop delay (veil_eventloop_lag_max_seconds), the slowest /healthz answer the bench saw meanwhile and
 * whether /readyz still answered.
 *
 *   node --import tsx bench/attack.ts            # all cases (about two minutes)
 *   node --import tsx bench/attack.ts --quick    # without the crash loop and the big inflations
 *
 * Exit code 1 when any case misses: a wrong status, a dead server, memory past the bound, or a stall > 100 ms.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeBigCapture, makeCapture, multipart, rawRequest } from '../test/service/helpers.ts';
import { gzipBomb, loopLag, REPO, rss, serve, sleep, type Server } from './attack-lib.ts';

const KEY = 'attack-bench-key-0123456789abcdef';
const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.includes('--only') ? new RegExp(process.argv[process.argv.indexOf('--only') + 1]!, 'i') : null;
/** Peak resident memory the server may reach in any case (the shipped models alone take ~250 MB). */
const MEMORY_BOUND = 1536 << 20;
const STALL_BOUND_MS = 100;

/** Samples memory and /healthz latency while `fn` runs, and the server's event-loop lag over it. */
async function watch<T>(srv: Server, fn: () => Promise<T>): Promise<{ value: T; peak: number; stall: number; lag: number; ready: boolean }> {
  await loopLag(srv, KEY);
  let peak = rss(srv.pid);
  let stall = 0;
  let running = true;
  const mem = setInterval(() => {
    peak = Math.max(peak, rss(srv.pid));
    // Protect the machine: a server far past the bound is a miss already.
    if (peak > 2 * MEMORY_BOUND) process.kill(srv.pid, 'SIGKILL');
  }, 50);
  const probe = (async () => {
    while (running) {
      const t = performance.now();
      await fetch(`${srv.url}/healthz`).then((r) => r.arrayBuffer()).catch(() => undefined);
      stall = Math.max(stall, performance.now() - t);
      await sleep(25);
    }
  })();
  try {
    const value = await fn();
    const lag = await loopLag(srv, KEY);
    return { value, peak, stall, lag, ready: (await fetch(`${srv.url}/readyz`).then((r) => r.status).catch(() => 0)) === 200 };
  } finally {
    running = false;
    clearInterval(mem);
    await probe;
  }
}

function raw(port: number, method: string, target: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; body: string }> {
  return rawRequest(port, method, target, { headers, ...(body ? { body, bodyAfterMs: 300 } : {}) });
}

async function upload(srv: Server, name: string, data: Buffer, auth = true, route = '/api/v1/jobs'): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  fd.append('file', new Blob([data]), name);
  const res = await fetch(`${srv.url}${route}`, { method: 'POST', body: fd, headers: auth ? { authorization: `Bearer ${KEY}` } : {} }).catch(() => null);
  if (!res) return { status: 0, body: null };
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function jobOutcome(srv: Server, up: { status: number; body: any }, timeoutMs = 120_000): Promise<string> {
  if (up.status !== 202) return `${up.status} ${up.body?.error?.code ?? ''}`.trim();
  const t0 = Date.now();
  for (;;) {
    const j = await (await fetch(`${srv.url}/api/v1/jobs/${up.body.id}`, { headers: { authorization: `Bearer ${KEY}` } })).json() as any;
    if (['done', 'failed', 'cancelled'].includes(j.state)) return `202, job ${j.state}${j.error ? ` ${j.error.code}` : ''}`;
    if (Date.now() - t0 > timeoutMs) return `202, job still ${j.state}`;
    await sleep(200);
  }
}

interface Case { name: string; expect: RegExp; run: () => Promise<string>; /** Not a request to the server: its latency is not the case's. */ offServer?: boolean }

function modelWith(edit: (m: any) => void): Buffer {
  const bytes = readFileSync(path.join(REPO, 'models/vpn.veilmodel'));
  const len = bytes.readUInt32LE(8);
  const manifest = JSON.parse(bytes.subarray(12, 12 + len).toString('utf8'));
  const area = bytes.subarray((12 + len + 7) & ~7);
  manifest.name = `crafted-${Math.random().toString(36).slice(2, 8)}`;
  edit(manifest);
  const json = Buffer.from(JSON.stringify(manifest));
  const head = Buffer.alloc(12);
  bytes.copy(head, 0, 0, 8);
  head.writeUInt32LE(json.length, 8);
  const pad = Buffer.alloc(((12 + json.length + 7) & ~7) - 12 - json.length);
  return Buffer.concat([head, json, pad, area]);
}

function wideCsv(columns: number): Buffer {
  const names: string[] = [];
  for (let i = 0; i < columns; i++) names.push(`c${i}`);
  return Buffer.from(`${names.join(',')}\n${names.map(() => '1').join(',')}\n`);
}

/** A pcap.gz of `inflated` bytes (tiny records of zeros) without holding it in memory. */
function mutate(buf: Buffer, seed: number): Buffer {
  let s = seed * 2654435761 >>> 0;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const b = Buffer.from(buf);
  const flips = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < flips; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
  return rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
}

async function parquetOf(rows: number): Promise<Buffer> {
  // A Parquet flow table: `veil extract` of a small capture, through the same writer the service uses.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veil-attack-pq-'));
  try {
    const cap = path.join(dir, 'c.pcap');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cap, makeCapture(rows));
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(REPO, 'bin/veil.js'), 'extract', cap, '-o', path.join(dir, 'f.parquet')], { stdio: 'ignore' });
      p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`extract exited ${c}`))));
    });
    return readFileSync(path.join(dir, 'f.parquet'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'veil-attack-'));
  const openDir = mkdtempSync(path.join(os.tmpdir(), 'veil-attack-open-'));
  const srv = await serve(['--api-key', KEY, '--models', 'models', '--rate-limit', '20/100', '--max-upload', '64M', '--max-inflated', '256M', '-q'], dataDir);
  const open = await serve(['-q'], openDir);
  const A = { authorization: `Bearer ${KEY}` };
  const job = await upload(srv, 'seed.pcap', makeCapture(3));
  const id = job.body.id as string;
  const pq = await parquetOf(40);
  // Every payload is built before its case runs: building them inside would block this process's own /healthz probe.
  const pqMutants = Array.from({ length: 50 }, (_, i) => mutate(pq, i));
  const wide = wideCsv(1_000_000);
  const wideGz = gzipSync(wideCsv(400_000), { level: 9 });
  const lineGz = gzipSync(Buffer.alloc(64 << 20, 0x61), { level: 9 });
  const plainModel = modelWith(() => {});
  const nanModel = modelWith((m) => { m.unknownBelow = 'NaN'; });
  const timeoutModels = ([-5, 1e-6, 'abc'] as const).map((v) => ({ v, bytes: modelWith((m) => { m.meter = { idleTimeoutS: v, activeTimeoutS: v }; }) }));
  const bomb = QUICK ? Buffer.alloc(0) : await gzipBomb(1 << 30);
  const cases: Case[] = [
    { name: 'GET /%61pi/v1/jobs without a key', expect: /^401/, run: async () => `${(await raw(srv.port, 'GET', '/%61pi/v1/jobs')).status}` },
    { name: 'DELETE /%61pi/v1/jobs/:id without a key', expect: /^401/, run: async () => `${(await raw(srv.port, 'DELETE', `/%61pi/v1/jobs/${id}`)).status}` },
    { name: 'GET /%61pi/v1/jobs/:id/results.csv', expect: /^401/, run: async () => `${(await raw(srv.port, 'GET', `/%61pi/v1/jobs/${id}/results.csv`)).status}` },
    { name: 'POST /%61pi/v1/models without a key', expect: /^401/, run: async () => { const m = multipart({ name: 'm.veilmodel', data: plainModel }); return `${(await raw(srv.port, 'POST', '/%61pi/v1/models', { 'content-type': m.contentType }, m.body)).status}`; } },
    { name: 'POST /%61pi/v1/classify without a key', expect: /^401/, run: async () => `${(await raw(srv.port, 'POST', '/%61pi/v1/classify', { 'content-type': 'application/json' }, Buffer.from('{"rows":[]}'))).status}` },
    { name: 'GET /%6detrics without a key', expect: /^401/, run: async () => `${(await raw(srv.port, 'GET', '/%6detrics')).status}` },
    { name: 'GET http://x/api/v1/jobs (absolute form)', expect: /^401/, run: async () => `${(await raw(srv.port, 'GET', 'http://x/api/v1/jobs')).status}` },
    { name: 'GET /x/../api/v1/jobs (dot segments)', expect: /^40[14]/, run: async () => `${(await raw(srv.port, 'GET', '/x/../api/v1/jobs')).status}` },
    { name: '300 wrong-key guesses', expect: /^401 x([0-9]|[1-2][0-9]), 429 x/, run: async () => {
      const c = new Map<number, number>();
      for (let i = 0; i < 300; i++) { const s = (await raw(srv.port, 'GET', '/api/v1/jobs', { authorization: `Bearer guess${i}` })).status; c.set(s, (c.get(s) ?? 0) + 1); }
      return [...c].sort().map(([s, n]) => `${s} x${n}`).join(', ');
    } },
    { name: 'key-less: cross-origin upload', expect: /^403/, run: async () => { const m = multipart({ name: 'a.pcap', data: makeCapture(2) }); return `${(await raw(open.port, 'POST', '/api/v1/jobs', { 'content-type': m.contentType, origin: 'http://evil.example' }, m.body)).status}`; } },
    { name: 'key-less: foreign Host (DNS rebinding)', expect: /^403/, run: async () => `${(await raw(open.port, 'GET', '/api/v1/jobs', { host: 'evil.example' })).status}` },
    { name: 'key-less: --host 127.evil.example', expect: /^refused/, offServer: true, run: async () => {
      const p = spawn(process.execPath, [path.join(REPO, 'bin/veil.js'), 'serve', '--port', '0', '--host', '127.evil.example', '--data-dir', path.join(openDir, 'x')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = ''; p.stderr!.on('data', (d) => (o += d));
      const code = await new Promise<number | null>((r) => p.on('exit', r));
      return /refusing to listen/.test(o) ? `refused (exit ${code})` : `started?? ${o.slice(0, 80)}`;
    } },
    { name: '50 mutated Parquet uploads', expect: /^all 4xx or failed jobs/, run: async () => {
      const bad: string[] = [];
      for (let i = 0; i < 50; i++) {
        const o = await jobOutcome(srv, await upload(srv, `m${i}.parquet`, pqMutants[i]!));
        if (!/^4\d\d|job (failed|done)/.test(o)) bad.push(o);
      }
      return bad.length ? `misses: ${bad.join('; ')}` : 'all 4xx or failed jobs';
    } },
    { name: 'CSV with 10^6 columns (~14 MB)', expect: /^4\d\d|job failed/, run: async () => jobOutcome(srv, await upload(srv, 'wide.csv', wide)) },
    { name: '.csv.gz with 400k columns', expect: /^4\d\d|job failed/, run: async () => jobOutcome(srv, await upload(srv, 'wide.csv.gz', wideGz)) },
    { name: '.csv.gz with a 64 MiB header line', expect: /^4\d\d|job failed/, run: async () => jobOutcome(srv, await upload(srv, 'line.csv.gz', lineGz)) },
    { name: 'pcap header snaplen 2^32-1, a 600 MB record', expect: /^400/, run: async () => {
      const c = makeCapture(2);
      c.writeUInt32LE(0xffffffff, 16);
      c.writeUInt32LE(600_000_000, 24 + 8);
      return jobOutcome(srv, await upload(srv, 'snap.pcap', c));
    } },
    { name: 'crafted manifest unknownBelow "NaN"', expect: /^400.*listing 200/, run: async () => {
      const r = await upload(srv, 'nan.veilmodel', nanModel, true, '/api/v1/models');
      const l = await fetch(`${srv.url}/api/v1/models`, { headers: A });
      return `${r.status} ${r.body?.error?.code ?? ''}, listing ${l.status}`;
    } },
    { name: 'crafted manifest meter timeouts -5, 1e-6, "abc"', expect: /^400 \S+ 400 \S+ 400/, run: async () => {
      const out: string[] = [];
      for (const { v, bytes } of timeoutModels) {
        const r = await upload(srv, `t${String(v).replace(/\W/g, '')}.veilmodel`, bytes, true, '/api/v1/models');
        out.push(`${r.status} ${r.body?.error?.code ?? ''}`);
      }
      return out.join(' ');
    } },
  ];
  if (!QUICK) {
    cases.push({ name: 'pcap.gz inflating to 1 GiB (--max-inflated 256M)', expect: /job failed UPLOAD_TOO_LARGE/, run: async () => jobOutcome(srv, await upload(srv, 'bomb.pcap.gz', bomb)) });
  }

  let misses = 0;
  const rows: string[][] = [['case', 'got', 'peak RSS', 'event-loop lag', 'slowest /healthz', '/readyz', 'verdict']];
  for (const c of cases) {
    if (ONLY && !ONLY.test(c.name)) continue;
    const s = c.name.startsWith('key-less') ? open : srv;
    const r = await watch(s, c.run).catch((err: Error) => ({ value: `threw ${err.message}`, peak: 0, stall: 0, lag: NaN, ready: false }));
    const ok = c.expect.test(r.value) && r.ready && r.peak < MEMORY_BOUND && (c.offServer === true || r.lag < STALL_BOUND_MS);
    if (!ok) misses++;
    rows.push([c.name, r.value, `${(r.peak / 2 ** 20).toFixed(0)} MB`, c.offServer ? 'n/a' : `${r.lag.toFixed(0)} ms`, c.offServer ? 'n/a' : `${r.stall.toFixed(0)} ms`, r.ready ? 'yes' : 'NO', ok ? 'ok' : 'MISS']);
    process.stderr.write(`${ok ? 'ok  ' : 'MISS'} ${c.name}: ${r.value}\n`);
  }

  if (!QUICK && !ONLY) {
    // Crash loop: the server is killed during the same job three times; the fourth start fails it and runs the rest.
    const crashDir = mkdtempSync(path.join(os.tmpdir(), 'veil-attack-crash-'));
    let s = await serve(['--api-key', KEY, '--concurrency', '1', '-q'], crashDir);
    const big = await upload(s, 'killer.pcap', makeBigCapture(20_000, 30));
    const behind = await upload(s, 'behind.pcap', makeCapture(4));
    for (let i = 0; i < 3; i++) {
      for (let t = 0; t < 400; t++) {
        const j = await (await fetch(`${s.url}/api/v1/jobs/${big.body.id}`, { headers: A })).json() as any;
        if (j.state === 'running') break;
        await sleep(25);
      }
      process.kill(s.pid, 'SIGKILL');
      s.proc.kill('SIGKILL');
      await sleep(300);
      s = await serve(['--api-key', KEY, '--concurrency', '1', '-q'], crashDir);
    }
    const killer = await jobOutcome(s, { status: 202, body: big.body });
    const next = await jobOutcome(s, { status: 202, body: behind.body });
    const value = `killer: ${killer}; behind it: ${next}`;
    const ok = /failed JOB_CRASHED/.test(killer) && /done/.test(next);
    if (!ok) misses++;
    rows.push(['server killed 3 times during one job', value, '', '', '', 'yes', ok ? 'ok' : 'MISS']);
    process.kill(s.pid, 'SIGTERM');
    rmSync(crashDir, { recursive: true, force: true });
  }

  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  process.stdout.write(`\n${rows.length - 1 - misses}/${rows.length - 1} cases held (bounds: every status as expected, peak RSS < ${MEMORY_BOUND >> 20} MB, the server's event-loop lag < ${STALL_BOUND_MS} ms, /readyz answering; /healthz latency as the client saw it, machine load included)\n`);
  for (const p of [srv, open]) { p.proc.kill('SIGTERM'); }
  await sleep(500);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(openDir, { recursive: true, force: true });
  return misses ? 1 : 0;
}

main().then((c) => process.exit(c), (err) => { console.error(err); process.exit(2); });
