/**
 * An adversarial run against the training endpoint (POST /api/v1/models/train) and the model registry of
 * `veil serve` on loopback, as bench/attack.ts does for uploads: each case printed with what it got, the server's
 * peak resident memory, its own longest event-loop delay (veil_eventloop_lag_max_seconds) and whether /readyz
 * still answered.
 *
 *   nice node --import tsx bench/attack-train.ts                 # every case (a few minutes on 2 cores)
 *   nice node --import tsx bench/attack-train.ts --only 'class'  # the cases whose name matches
 *
 * Exit code 1 when a case misses its expectation (a wrong status, a dead server, memory past the bound, a stall).
 * Expectations are what a sound server does; a miss is a defect to fix in src/service (see the report).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from '../test/service/helpers.ts';
import { gzipBomb, loopLag, rss, serve, sleep, type Server } from './attack-lib.ts';
import { homeCaptures, learnCapture, callFlow, streamFlow } from '../test/helpers/learn-captures.ts';

const KEY = 'attack-train-bench-key-0123456789abcdef';
const ONLY = process.argv.includes('--only') ? new RegExp(process.argv[process.argv.indexOf('--only') + 1]!, 'i') : null;
const MEMORY_BOUND = 1536 << 20;
const STALL_BOUND_MS = 100;
const A = { authorization: `Bearer ${KEY}` };

/** The server's resident memory when the watchdog killed it (0: it did not). */
let killedAt = 0;

async function watch<T>(srv: Server, fn: () => Promise<T>): Promise<{ value: T; peak: number; lag: number; ready: boolean }> {
  await loopLag(srv, KEY);
  let peak = rss(srv.pid);
  let lag = 0;
  const mem = setInterval(() => {
    peak = Math.max(peak, rss(srv.pid));
    // Protect the machine: a server far past the bound is a miss already.
    if (peak > 3 * MEMORY_BOUND && srv.proc.exitCode === null) { try { process.kill(srv.pid, 'SIGKILL'); } catch { /* gone */ } killedAt = peak; }
  }, 100);
  // The server's lag metric is a maximum since the previous scrape: scrape every second so a long case keeps its worst.
  const lagProbe = setInterval(() => { void loopLag(srv, KEY).then((l) => { if (Number.isFinite(l)) lag = Math.max(lag, l); }); }, 1000);
  try {
    const value = await fn();
    const l = await loopLag(srv, KEY);
    if (Number.isFinite(l)) lag = Math.max(lag, l);
    return { value, peak, lag, ready: (await fetch(`${srv.url}/readyz`).then((r) => r.status).catch(() => 0)) === 200 };
  } finally {
    clearInterval(mem);
    clearInterval(lagProbe);
  }
}

interface Part { name: string; data: Buffer | Blob }

async function train(srv: Server, files: Part[], fields: Record<string, string>): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files) fd.append('files', f.data instanceof Blob ? f.data : new Blob([f.data]), f.name);
  const res = await fetch(`${srv.url}/api/v1/models/train`, { method: 'POST', body: fd, headers: A }).catch((e: Error) => ({ status: 0, json: async () => ({ error: { code: e.message } }) }));
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function req(srv: Server, method: string, p: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}${p}`, { method, headers: A });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function final(srv: Server, id: string, timeoutMs = 300_000): Promise<any> {
  const t0 = Date.now();
  for (;;) {
    const r = await req(srv, 'GET', `/api/v1/jobs/${id}`);
    if (r.status === 404) return { state: 'gone (404)' };
    const j = r.body;
    if (['done', 'failed', 'cancelled'].includes(j?.state)) return j;
    if (Date.now() - t0 > timeoutMs) return { ...j, state: `still ${j?.state}` };
    await sleep(250);
  }
}

async function outcome(srv: Server, up: { status: number; body: any }, timeoutMs?: number): Promise<string> {
  if (up.status !== 202) return `${up.status} ${up.body?.error?.code ?? ''} ${String(up.body?.error?.message ?? '').slice(0, 120)}`.trim();
  const j = await final(srv, up.body.id, timeoutMs);
  const s = j.summary?.training;
  return `202, job ${j.state}${j.error ? ` ${j.error.code}: ${String(j.error.message).slice(0, 140)}` : ''}${s ? ` v${s.version} ${s.classes.length} classes ${s.rows} rows` : ''} (${((j.finishedAt - j.startedAt) / 1000).toFixed(1)} s)`;
}

/** A CSV flow table of numeric features with a label column (`labelOf(i)`) and an id_capture column. */
function table(rows: number, features: number, labelOf: (i: number) => string, captures = 8): Buffer {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const head = ['id_capture', 'label', ...Array.from({ length: features }, (_, j) => `f${j}`)].join(',');
  const lines = [head];
  for (let i = 0; i < rows; i++) {
    const lab = labelOf(i);
    const shift = lab.length % 7;
    const cells: string[] = [`cap${i % captures}`, lab];
    for (let j = 0; j < features; j++) cells.push((rnd() * 10 + (j < 4 ? shift : 0)).toFixed(3));
    lines.push(cells.join(','));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** A pcap.gz inflating to `inflated` bytes of zero-filled records. */
/** Two learnable captures labelled by their file names. */
function namedCaptures(a: string, b: string): Part[] {
  return [
    { name: a, data: learnCapture(Array.from({ length: 12 }, () => streamFlow('')), 1_700_000_000_000_000) },
    { name: b, data: learnCapture(Array.from({ length: 12 }, () => callFlow('')), 1_700_000_100_000_000) },
    { name: a.replace('-1', '-2'), data: learnCapture(Array.from({ length: 12 }, () => streamFlow('')), 1_700_000_200_000_000) },
    { name: b.replace('-1', '-2'), data: learnCapture(Array.from({ length: 12 }, () => callFlow('')), 1_700_000_300_000_000) },
  ];
}

interface Case { name: string; expect: RegExp; run: (srv: Server) => Promise<string>; server?: 'main' | 'small' }

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'veil-atk-train-'));
  const srv = await serve(['--api-key', KEY, '--rate-limit', '0', '--max-upload', '64M', '--max-inflated', '256M', '--concurrency', '1', '-q'], dataDir);
  const caps = homeCaptures();
  const XSS = '<img src=x onerror=alert(1)>';
  const SVGX = '<svg onload=alert(2)>';
  const bomb = ONLY && !ONLY.test('gzip bomb') ? Buffer.alloc(0) : await gzipBomb(1 << 30);
  const cases: Case[] = [
    { name: 'idle baseline (10 s, no request): the machine\'s own share of lag', expect: /^idle/, run: async () => { await sleep(10_000); return 'idle'; } },
    { name: 'no file part', expect: /^400|^415/, run: async (s) => outcome(s, await train(s, [], { name: 'm' })) },
    { name: '51 file parts', expect: /^400 BAD_REQUEST/, run: async (s) => outcome(s, await train(s, Array.from({ length: 51 }, (_, i) => ({ name: `c${i}.pcap`, data: makeCapture(1) })), { name: 'm' })) },
    { name: '50 empty file parts', expect: /^415 UNSUPPORTED_INPUT/, run: async (s) => outcome(s, await train(s, Array.from({ length: 50 }, (_, i) => ({ name: `e${i}.pcap`, data: Buffer.alloc(0) })), { name: 'm' })) },
    { name: '50 files of garbage', expect: /^415 UNSUPPORTED_INPUT/, run: async (s) => outcome(s, await train(s, Array.from({ length: 50 }, (_, i) => ({ name: `g${i}.pcap`, data: Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 31 + i) & 255)) })), { name: 'm' })) },
    { name: '3 parts of 30 MB (over --max-upload 64M together)', expect: /^413 UPLOAD_TOO_LARGE/, run: async (s) => outcome(s, await train(s, Array.from({ length: 3 }, (_, i) => ({ name: `big${i}.pcap`, data: Buffer.concat([makeCapture(1), Buffer.alloc(30 << 20)]) })), { name: 'm' })) },
    { name: 'gzip bomb (1 GiB inflated) among 4 good captures', expect: /job done/, run: async (s) => outcome(s, await train(s, [...caps.home, { name: 'bomb.pcap.gz', data: bomb }], { name: 'bomb', folds: '2' })) },
    { name: 'model name "../../etc"', expect: /^400 BAD_REQUEST/, run: async (s) => outcome(s, await train(s, caps.home, { name: '../../etc' })) },
    { name: 'model name "a/b"', expect: /^400 BAD_REQUEST/, run: async (s) => outcome(s, await train(s, caps.home, { name: 'a/b' })) },
    { name: 'model name "x\\u0000y"', expect: /^400 BAD_REQUEST/, run: async (s) => outcome(s, await train(s, caps.home, { name: 'x\u0000y' })) },
    { name: 'model name of 65 chars', expect: /^400 BAD_REQUEST/, run: async (s) => outcome(s, await train(s, caps.home, { name: `m${'x'.repeat(64)}` })) },
    { name: 'model name "models" shadowing a shipped model name "category"', expect: /^202/, run: async (s) => outcome(s, await train(s, caps.home, { name: 'category', folds: '2' })) },
    { name: 'file names with ../, \\r\\n, NUL and HTML, label=file', expect: /job done/, run: async (s) => {
      const up = await train(s, namedCaptures(`../../x/${XSS}-1.pcap`, `..\\..\\${SVGX}\r\n\u0000-1.pcap`), { name: 'xss', label: 'file', folds: '2' });
      const o = await outcome(s, up);
      const v = (await req(s, 'GET', '/api/v1/models/xss/versions')).body;
      const inputs = v?.versions?.[0]?.data?.inputs?.map((i: { name: string }) => JSON.stringify(i.name)).join(' ');
      return `${o}; inputs ${inputs}; classes ${JSON.stringify(v?.versions?.[0]?.data?.classes)}`;
    } },
    { name: 'report page of HTML labels: no raw tag, CSP sandbox', expect: /raw tags 0.*sandbox/, run: async (s) => {
      const r = await fetch(`${s.url}/api/v1/models/xss/versions/1/report`, { headers: A });
      const html = await r.text();
      const raw = (html.match(/<img src=x|<svg onload/gi) ?? []).length;
      return `${r.status}, raw tags ${raw}, csp ${r.headers.get('content-security-policy')}`;
    } },
    { name: 'chart SVGs of HTML labels: no raw tag', expect: /^(200 raw 0 csp [^;]+; [^;]+; sandbox nosniff nosniff ?){3}$/, run: async (s) => {
      const out: string[] = [];
      for (const c of ['f1', 'confusion', 'importance']) {
        const r = await fetch(`${s.url}/api/v1/models/xss/versions/1/charts/${c}.svg`, { headers: A });
        const svg = await r.text();
        out.push(`${r.status} raw ${(svg.match(/<img src=x|<svg onload/gi) ?? []).length} csp ${r.headers.get('content-security-policy') ?? 'none'} nosniff ${r.headers.get('x-content-type-options') ?? 'none'}`);
      }
      return out.join(' ');
    } },
    { name: 'version 2^53+1, 1e400, -1, 0, 1.5, 0x10', expect: /^(400 \S+ [^;]*;( |$)){6}$/, run: async (s) => {
      const out: string[] = [];
      for (const v of ['9007199254740993', '1e400', '-1', '0', '1.5', '0x10']) { const r = await req(s, 'POST', `/api/v1/models/xss/versions/${v}/activate`); out.push(`${r.status} ${r.body?.error?.code}: ${String(r.body?.error?.message).slice(0, 50)};`); }
      return out.join(' ');
    } },
    { name: 'version 99999999999 (past the route\'s bound of 10 digits)', expect: /^400 BAD_REQUEST/, run: async (s) => { const r = await req(s, 'POST', '/api/v1/models/xss/versions/99999999999/activate'); return `${r.status} ${r.body?.error?.code}`; } },
    { name: '20 concurrent activate/retire of 3 versions', expect: /^at most one active: yes, catalog matches: yes.*v1:retired/, run: async (s) => {
      for (let i = 0; i < 2; i++) await final(s, (await train(s, caps.home, { name: 'race', folds: '2' })).body.id);
      await final(s, (await train(s, caps.home, { name: 'race', folds: '2' })).body.id);
      // Activations of v1..v3 interleaved with one retire of v1 (the last op): v2 or v3 must end active and loaded.
      const ops = Array.from({ length: 20 }, (_, i) => (i === 19 ? req(s, 'POST', '/api/v1/models/race/versions/1/retire') : req(s, 'POST', `/api/v1/models/race/versions/${1 + (i % 3)}/activate`)));
      const res = await Promise.all(ops);
      const statuses = new Map<string, number>();
      for (const r of res) { const k = `${r.status}${r.body?.error ? ` ${r.body.error.code}` : ''}`; statuses.set(k, (statuses.get(k) ?? 0) + 1); }
      const list = (await req(s, 'GET', '/api/v1/models/race/versions')).body;
      const active = list.versions.filter((v: any) => v.state === 'active');
      const models = (await req(s, 'GET', '/api/v1/models')).body;
      const loaded = (models.models ?? models).find?.((m: any) => m.name === 'race');
      const match = active.length === 0 ? !loaded : loaded && loaded.sha256 === active[0].sha256;
      return `at most one active: ${active.length <= 1 ? 'yes' : 'NO'}, catalog matches: ${match ? 'yes' : 'NO'} (${[...statuses].map(([k, n]) => `${k} x${n}`).join(', ')}; states ${list.versions.map((v: any) => `v${v.version}:${v.state}`).join(' ')})`;
    } },
    { name: 'retired version activated again', expect: /^409/, run: async (s) => {
      const list = (await req(s, 'GET', '/api/v1/models/race/versions')).body;
      const retired = list.versions.find((v: any) => v.state === 'retired');
      if (!retired) return 'no retired version';
      const r = await req(s, 'POST', `/api/v1/models/race/versions/${retired.version}/activate`);
      return `${r.status} ${r.body?.error?.code}`;
    } },
    { name: 'DELETE of the job while training', expect: /job gone \(404\).*no version.*next job done/, run: async (s) => {
      const up = await train(s, [{ name: 't.csv', data: table(20_000, 40, (i) => `c${i % 6}`) }], { name: 'cancelme', label: 'column:label', split: 'kfold', learner: 'boosting' });
      for (let t = 0; t < 400; t++) { const j = (await req(s, 'GET', `/api/v1/jobs/${up.body.id}`)).body; if (j.state === 'running' && j.progress > 0.45) break; await sleep(100); }
      const d = await req(s, 'DELETE', `/api/v1/jobs/${up.body.id}`);
      const j = await final(s, up.body.id, 60_000);
      const v = await req(s, 'GET', '/api/v1/models/cancelme/versions');
      const t0 = Date.now();
      const next = await outcome(s, await train(s, caps.home, { name: 'after-cancel', folds: '2' }));
      return `DELETE ${d.status}, job ${j.state}, versions ${v.status === 404 ? 'no version' : JSON.stringify(v.body).slice(0, 80)}, next job ${next.includes('done') ? 'done' : next} in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    } },
    { name: 'table with 4,000 columns (2,000 rows, 2 labels)', expect: /job (done|failed)/, run: async (s) => outcome(s, await train(s, [{ name: 'wide.csv', data: table(2_000, 4_000, (i) => (i % 2 ? 'a' : 'b')) }], { name: 'wide', label: 'column:label', split: 'kfold', folds: '2' }), 600_000) },
    { name: 'label column of 100k distinct values (100k rows, 8 features)', expect: /^4\d\d|job failed/, run: async (s) => outcome(s, await train(s, [{ name: 'classes.csv', data: table(100_000, 8, (i) => `L${i}`) }], { name: 'classes', label: 'column:label', split: 'kfold', folds: '2' }), 600_000) },
    { name: 'table of 600 classes: trains (forest)', expect: /job done/, run: async (s) => outcome(s, await train(s, [{ name: 'many.csv', data: table(6_000, 8, (i) => `L${i % 600}`) }], { name: 'many', label: 'column:label', split: 'kfold', folds: '2' }), 600_000) },
    { name: '600 classes: GET charts/confusion.svg (rendered on the API thread)', expect: /^200/, run: async (s) => {
      const t0 = performance.now();
      const r = await fetch(`${s.url}/api/v1/models/many/versions/1/charts/confusion.svg`, { headers: A });
      const n = (await r.arrayBuffer()).byteLength;
      return `${r.status} ${(n / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
    } },
    { name: '600 classes: GET report and report.json', expect: /^200 .* 200/, run: async (s) => {
      const a = await fetch(`${s.url}/api/v1/models/many/versions/1/report`, { headers: A });
      const an = (await a.arrayBuffer()).byteLength;
      const b = await fetch(`${s.url}/api/v1/models/many/versions/1/report.json`, { headers: A });
      const bn = (await b.arrayBuffer()).byteLength;
      return `${a.status} ${(an / 2 ** 20).toFixed(1)} MiB, ${b.status} ${(bn / 2 ** 20).toFixed(1)} MiB`;
    } },
    { name: '600 classes: activate (model loaded on the API thread)', expect: /^200/, run: async (s) => { const r = await req(s, 'POST', '/api/v1/models/many/versions/1/activate'); return `${r.status} ${r.body?.error?.code ?? `active ${r.body?.active}`}`; } },
    { name: 'flood: 40 training jobs, then one capture job', expect: /^4\d\d|capture job done in [0-9]\./, run: async (s) => {
      const statuses = new Map<number, number>();
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await train(s, caps.home, { name: `flood${i % 3}`, folds: '2' });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 202) ids.push(r.body.id);
      }
      const fd = new FormData();
      fd.append('file', new Blob([makeCapture(4)]), 'victim.pcap');
      const t0 = Date.now();
      const up = await fetch(`${s.url}/api/v1/jobs`, { method: 'POST', body: fd, headers: A }).then(async (r) => ({ status: r.status, body: await r.json() as any }));
      const j = await final(s, up.body.id, 900_000);
      const took = (Date.now() - t0) / 1000;
      const states = new Map<string, number>();
      for (const id of ids) { const t = (await req(s, 'GET', `/api/v1/jobs/${id}`)).body; const k = `${t.state}${t.error ? ` ${t.error.code}` : ''}`; states.set(k, (states.get(k) ?? 0) + 1); }
      for (const id of ids) await req(s, 'DELETE', `/api/v1/jobs/${id}`);
      return `training jobs then: ${[...states].map(([k, n]) => `${k} x${n}`).join(', ')}; train posts ${[...statuses].map(([k, n]) => `${k} x${n}`).join(', ')}; capture job ${j.state} in ${took.toFixed(1)} s`;
    } },
    { name: 'event-loop lag while a 40k-row boosting job trains', expect: /job done/, run: async (s) => outcome(s, await train(s, [{ name: 'lag.csv', data: table(40_000, 40, (i) => `c${i % 8}`) }], { name: 'lag', label: 'column:label', split: 'kfold', learner: 'boosting', folds: '3' }), 600_000) },
    // Last: this one may take the server past the watchdog (3x the memory bound), which kills it.
    { name: 'label column of 20k distinct values (20k rows, 8 features; a 1.3 MB CSV)', expect: /^4\d\d|job failed/, run: async (s) => {
      const up = await train(s, [{ name: 'k20.csv', data: table(20_000, 8, (i) => `L${i}`) }], { name: 'k20', label: 'column:label', split: 'kfold', folds: '2' });
      if (up.status !== 202) return outcome(s, up);
      const t0 = Date.now();
      let peak = 0;
      while (Date.now() - t0 < 180_000 && s.proc.exitCode === null && !killedAt) {
        peak = Math.max(peak, rss(s.pid));
        const j = (await req(s, 'GET', `/api/v1/jobs/${up.body.id}`).catch(() => ({ body: { state: 'no answer' } }))).body;
        if (['done', 'failed'].includes(j.state)) return `202, job ${j.state}${j.error ? ` ${j.error.code}: ${String(j.error.message).slice(0, 120)}` : ''} after ${((Date.now() - t0) / 1000).toFixed(0)} s, peak ${(peak / 2 ** 20).toFixed(0)} MB`;
        await sleep(500);
      }
      await sleep(300);
      const how = killedAt ? `server killed by the bench's watchdog at ${(killedAt / 2 ** 20).toFixed(0)} MB` : s.proc.exitCode === null && s.proc.signalCode === null ? 'still training' : `server exited ${s.proc.exitCode ?? s.proc.signalCode}`;
      return `after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${how}, peak ${(Math.max(peak, killedAt) / 2 ** 20).toFixed(0)} MB`;
    } },
  ];

  let misses = 0;
  const rows: string[][] = [['case', 'got', 'peak RSS', 'event-loop lag', '/readyz', 'verdict']];
  for (const c of cases) {
    if (ONLY && !ONLY.test(c.name)) continue;
    const r = await watch(srv, () => c.run(srv)).catch((err: Error) => ({ value: `threw ${err.message}`, peak: 0, lag: NaN, ready: false }));
    const alive = srv.proc.exitCode === null && srv.proc.signalCode === null && !killedAt;
    const ok = c.expect.test(r.value) && r.ready && alive && r.peak < MEMORY_BOUND && r.lag < STALL_BOUND_MS;
    if (!ok) misses++;
    rows.push([c.name, r.value, `${(r.peak / 2 ** 20).toFixed(0)} MB`, `${r.lag.toFixed(0)} ms`, r.ready ? 'yes' : 'NO', ok ? 'ok' : 'MISS']);
    process.stderr.write(`${ok ? 'ok  ' : 'MISS'} ${c.name}: ${r.value} | ${(r.peak / 2 ** 20).toFixed(0)} MB, lag ${r.lag.toFixed(0)} ms, ready ${r.ready}${alive ? '' : ' (SERVER DEAD)'}\n`);
    if (!alive) { process.stderr.write(srv.out().slice(-2000)); break; }
  }
  for (const r of rows) process.stdout.write(`${r.join(' | ')}\n`);
  process.stdout.write(`\n${rows.length - 1 - misses}/${rows.length - 1} cases held (peak RSS < ${MEMORY_BOUND >> 20} MB, event-loop lag < ${STALL_BOUND_MS} ms, /readyz answering)\n`);
  srv.proc.kill('SIGTERM');
  await sleep(500);
  rmSync(dataDir, { recursive: true, force: true });
  return misses ? 1 : 0;
}

main().then((c) => process.exit(c), (err) => { console.error(err); process.exit(2); });
