import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, createServer } from 'node:net';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';

/** A TLS 1.3-style ClientHello record offering `sni` and `alpn` (enough for the handshake parser and JA4). */
export function clientHello(sni: string, alpn: string[] = ['h2', 'http/1.1']): Buffer {
  const ext = (type: number, body: Buffer): Buffer => Buffer.concat([u16(type), u16(body.length), body]);
  const name = Buffer.from(sni);
  const sniExt = ext(0x0000, Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name]));
  const protos = Buffer.concat(alpn.map((a) => Buffer.concat([Buffer.from([a.length]), Buffer.from(a)])));
  const alpnExt = ext(0x0010, Buffer.concat([u16(protos.length), protos]));
  const versions = ext(0x002b, Buffer.from([4, 0x03, 0x04, 0x03, 0x03]));
  const groups = ext(0x000a, Buffer.concat([u16(4), u16(0x001d), u16(0x0017)]));
  const sigs = ext(0x000d, Buffer.concat([u16(4), u16(0x0403), u16(0x0804)]));
  const exts = Buffer.concat([sniExt, groups, sigs, alpnExt, versions]);
  const suites = [0x1301, 0x1302, 0xc02f];
  const body = Buffer.concat([
    u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]),
    u16(suites.length * 2), ...suites.map(u16), Buffer.from([1, 0]),
    u16(exts.length), exts,
  ]);
  const hs = Buffer.concat([Buffer.from([1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export const SNIS = ['www.example.com', 'video.example.net', 'chat.example.org'];

/**
 * A small capture of `flows` TCP flows to port 443 (handshake, a ClientHello naming one of SNIS, some data each
 * way, FIN both ways), `packetsPerFlow` data packets each way.
 */
export function makeCapture(flows = 12, packetsPerFlow = 6, snis: readonly string[] = SNIS): Buffer {
  const w = new PcapWriter();
  let ts = 1_700_000_000_000_000;
  for (let f = 0; f < flows; f++) {
    const c = clientAddr(f);
    const s = `192.0.2.${(f % 3) + 10}`;
    const sport = 40000 + f;
    // Consistent TCP sequence numbers: the handshake tracker reassembles by them.
    const seq = { c: 1000, s: 900000 };
    const pk = (from: 'c' | 's', flags: string, payload?: Uint8Array | string): void => {
      ts += 1000 + ((f * 37) % 500);
      const to = from === 'c' ? 's' : 'c';
      const tcp = { flags, seq: seq[from], ack: flags.includes('A') ? seq[to] : 0, ...(payload ? { payload } : {}) };
      const spec = from === 'c'
        ? { src: c, dst: s, sport, dport: 443, ...tcp }
        : { src: s, dst: c, sport: 443, dport: sport, ...tcp };
      w.writePacket(buildPacket(spec), { tsUs: ts });
      seq[from] += (payload ? payload.length : 0) + (flags.includes('S') || flags.includes('F') ? 1 : 0);
    };
    pk('c', 'S'); pk('s', 'SA'); pk('c', 'A');
    pk('c', 'PA', clientHello(snis[f % snis.length]!));
    // Packet sizes follow the flow's class (f % 3), so a model can learn the SNI's service from them.
    const k = f % SNIS.length;
    for (let i = 0; i < packetsPerFlow; i++) {
      pk('s', 'PA', Buffer.alloc(150 + 450 * k + ((f * 131 + i * 17) % 120), 1));
      pk('c', 'A', Buffer.alloc(20 + 30 * k + ((f + i) % 15), 2));
    }
    pk('c', 'FA'); pk('s', 'FA'); pk('c', 'A');
  }
  return w.toBuffer();
}

function clientAddr(f: number): string {
  return `10.${(f >> 14) & 255}.${(f >> 7) & 127}.${(f & 127) + 1}`;
}

/**
 * A large capture fast: the packets of one flow are built once and copied for every flow with the client's
 * address and port patched in (Ethernet + IPv4 without options, so the offsets are fixed; checksums are not
 * checked by the meter). About `flows * (2 * dataPackets + 7)` packets.
 */
export function makeBigCapture(flows: number, dataPackets = 20): Buffer {
  const tpl: { fromClient: boolean; bytes: Buffer }[] = [];
  const c = '10.0.0.1', s = '192.0.2.10', sport = 40000;
  const seq = { c: 1000, s: 900000 };
  const add = (fromClient: boolean, flags: string, payload?: Uint8Array): void => {
    const from = fromClient ? 'c' : 's', to = fromClient ? 's' : 'c';
    const tcp = { flags, seq: seq[from], ack: flags.includes('A') ? seq[to] : 0, ...(payload ? { payload } : {}) };
    const spec = fromClient
      ? { src: c, dst: s, sport, dport: 443, ...tcp }
      : { src: s, dst: c, sport: 443, dport: sport, ...tcp };
    tpl.push({ fromClient, bytes: buildPacket(spec) });
    seq[from] += (payload ? payload.length : 0) + (flags.includes('S') || flags.includes('F') ? 1 : 0);
  };
  add(true, 'S'); add(false, 'SA'); add(true, 'A');
  add(true, 'PA', clientHello(SNIS[0]!));
  for (let i = 0; i < dataPackets; i++) { add(false, 'PA', Buffer.alloc(60 + ((i * 53) % 200), 1)); add(true, 'A', Buffer.alloc(20, 2)); }
  add(true, 'FA'); add(false, 'FA'); add(true, 'A');
  const w = new PcapWriter();
  let ts = 1_700_000_000_000_000;
  for (let f = 0; f < flows; f++) {
    const ip = clientAddr(f).split('.').map(Number);
    const port = 20000 + (f % 40000);
    for (const t of tpl) {
      const b = Buffer.from(t.bytes);
      if (t.fromClient) { b.set(ip, 26); b.writeUInt16BE(port, 34); } else { b.set(ip, 30); b.writeUInt16BE(port, 36); }
      ts += 50;
      w.writePacket(b, { tsUs: ts });
    }
  }
  return w.toBuffer();
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'veil-svc-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeCapture(dir: string, name = 'small.pcap', flows = 12): string {
  const p = path.join(dir, name);
  writeFileSync(p, makeCapture(flows));
  return p;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** A multipart/form-data body with one file part and text fields. */
export function multipart(file: { name: string; data: Buffer; field?: string }, fields: Record<string, string> = {}): { body: Buffer; contentType: string } {
  const boundary = `----veil${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field ?? 'file'}"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
  parts.push(file.data, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export const REPO = new URL('../../', import.meta.url).pathname;

/** Options for an in-process test server: port 0, quiet, no signal handlers, fast sweeps off. */
export async function startTestServer(dataDir: string, over: Partial<import('../../src/service/server.ts').ServeConfig> = {}) {
  const { startServer } = await import('../../src/service/server.ts');
  return startServer({
    host: '127.0.0.1', port: 0, dataDir, redisUrl: null, redisPrefix: 'veil', modelDirs: [], apiKeys: [],
    maxUploadBytes: 256 << 20, retentionHours: 24, concurrency: 2, classifyThreads: 1, maxClassifyRows: 1000,
    rateLimit: { perSecond: 0, burst: 0 }, graceMs: 2000, sweepIntervalMs: 3_600_000, log: () => {}, handleSignals: false,
    ...over,
  });
}

/** POST /api/v1/jobs over real HTTP with a file and fields. */
export async function postJob(base: string, file: { name: string; data: Buffer }, fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([file.data]), file.name);
  const res = await fetch(`${base}/api/v1/jobs`, { method: 'POST', body: fd, headers });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** POST /api/v1/models/train over real HTTP: the files as parts named `files`, and text fields. */
export async function postTrain(base: string, files: { name: string; data: Buffer | Uint8Array }[], fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files) fd.append('files', new Blob([f.data]), f.name);
  const res = await fetch(`${base}/api/v1/models/train`, { method: 'POST', body: fd, headers });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** A POST without a body (activate, retire), its status and JSON body. */
export async function postEmpty(base: string, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${p}`, { method: 'POST', headers });
  return { status: res.status, body: await res.json().catch(() => null) };
}

export async function getJson(base: string, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${p}`, { headers });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Polls a job until it is final (done, failed, cancelled). */
export async function waitFinal(base: string, id: string, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<any> {
  return until(`job ${id} to finish`, async () => {
    const { body } = await getJson(base, `/api/v1/jobs/${id}`, headers);
    return body && ['done', 'failed', 'cancelled'].includes(body.state) ? body : undefined;
  }, timeoutMs, 100);
}

/** Splits CSV text into rows of cells (quotes handled; our CSV has no newlines inside cells). */
export function parseCsvText(text: string): string[][] {
  return text.trim().split('\n').map((line) => {
    const out: string[] = [];
    let cur = '', q = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (q) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
    }
    out.push(cur);
    return out;
  });
}

/** A child process running a veil command, with its output collected. */
export interface Proc {
  child: import('node:child_process').ChildProcess;
  out: () => string;
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

export async function spawnVeil(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Proc> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), ...args], {
    cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.split('\n').find((l) => w.re.test(l));
      if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    exited,
    line(re, timeoutMs = 30_000) {
      const m = out.split('\n').find((l) => re.test(l));
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), timeoutMs);
        waiters.push({ re, resolve: (s) => { clearTimeout(t); resolve(s); } });
        void exited.then((code) => { clearTimeout(t); reject(new Error(`process exited (${code}) before ${re}:\n${out}`)); });
      });
    },
  };
}

/** Starts `veil serve` in a child process and resolves with its URL. */
export async function spawnServe(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<{ proc: Proc; url: string }> {
  const proc = await spawnVeil(['serve', '--port', '0', ...args], env, nodeArgs);
  const l = await proc.line(/listening on http/);
  return { proc, url: /listening on (http:\/\/\S+)/.exec(l)![1]! };
}

/** SIGKILL and wait for the exit. */
export async function kill(p: Proc, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(sig);
  await p.exited;
}

/** A Redis key prefix no other test run uses. */
export function uniquePrefix(what: string): string {
  return `veil-test-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a shared Redis is not blocked). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) n += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return n;
}

/** Our own redis-server on a free port, without persistence, for fault tests. */
export async function startRedis(port?: number): Promise<{ url: string; port: number; stop: (sig?: NodeJS.Signals) => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const p = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `redis://127.0.0.1:${p}`;
  const { Redis } = await import('ioredis');
  await until('redis-server to answer', async () => {
    const r = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG' ? true : undefined;
    } finally {
      r.disconnect();
    }
  }, 10_000, 50);
  return {
    url, port: p,
    stop: async (sig: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      await exited;
    },
  };
}

/** The service each SNI of the synthetic captures stands for (the label tiny models learn). */
export const SERVICE_OF: Record<string, string> = { 'www.example.com': 'web', 'video.example.net': 'video', 'chat.example.org': 'chat' };

/**
 * Trains a small forest on flows metered from a synthetic capture and saves it as `<dir>/<name>.veilmodel`.
 * `target` is the label column it is trained on ('application': web/video/chat; 'vpn': yes/no).
 */
export async function trainTinyModel(dir: string, name: string, target: 'application' | 'vpn' = 'application', flows = 90): Promise<string> {
  const { extractFlows } = await import('../../src/flow/meter.ts');
  const { makeTable, numberColumn, stringColumn } = await import('../../src/dataset/table.ts');
  const { prepareTraining, trainModel, crossValidate, makeSplit } = await import('../../src/model/classifier.ts');
  const { saveModel } = await import('../../src/model/artifact.ts');
  const cap = path.join(dir, `${name}-train.pcap`);
  writeFileSync(cap, makeCapture(flows));
  const rows: import('../../src/flow/columns.ts').CellValue[][] = [];
  let defs: import('../../src/flow/columns.ts').ColumnDef[] = [];
  await extractFlows({ path: cap }, {}, (r, c) => { rows.push(r.slice()); defs = c; });
  rmSync(cap, { force: true });
  const cols = defs.map((d, i) => (d.type === 'string'
    ? stringColumn(d.name, rows.map((r) => (r[i] === null ? null : String(r[i]))))
    : numberColumn(d.name, rows.map((r) => (typeof r[i] === 'number' ? (r[i] as number) : typeof r[i] === 'boolean' ? Number(r[i]) : NaN)))));
  const sni = defs.findIndex((d) => d.name === 'tls_sni');
  const labels = rows.map((r) => {
    const svc = SERVICE_OF[String(r[sni])] ?? 'web';
    return target === 'application' ? svc : svc === 'chat' ? 'yes' : 'no';
  });
  const table = makeTable('synthetic', [...cols, stringColumn(target, labels)]);
  const cfg = { label: target, model: 'forest' as const, forest: { trees: 15 }, seed: 1, novelty: false as const, unknownBelow: 0.5, name };
  const prep = prepareTraining(table, cfg);
  const cv = await crossValidate(prep, cfg, makeSplit(prep, { kind: 'kfold', folds: 3 }, 1));
  const model = await trainModel(prep, cfg, { cv });
  const out = path.join(dir, `${name}.veilmodel`);
  await saveModel(model, out);
  return out;
}

export interface RawAnswer { status: number; headers: Record<string, string>; body: string }

/**
 * One HTTP/1.1 request over a raw socket, so the request line goes out exactly as written (fetch would normalise
 * it). With `bodyAfterMs` the body is sent only if no answer came within that time: a server that refuses on the
 * headers answers first, and a body sent into the closed connection would reset it and lose the answer. A reset
 * ends the request with what arrived (status 0 when nothing did).
 */
export function rawRequest(port: number, method: string, target: string, opts: { headers?: Record<string, string>; body?: Buffer; localAddress?: string; bodyAfterMs?: number } = {}): Promise<RawAnswer> {
  const { body } = opts;
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const h = { host: `127.0.0.1:${port}`, connection: 'close', ...opts.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const chunks: Buffer[] = [];
    s.on('connect', () => {
      s.write(`${method} ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      if (!body) return;
      if (opts.bodyAfterMs === undefined) s.write(body);
      else setTimeout(() => { if (chunks.length === 0 && !s.destroyed) s.end(body); }, opts.bodyAfterMs);
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => { /* 'close' follows */ });
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const lines = (head ?? '').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
  });
}
