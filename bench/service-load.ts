/**
 * Load benchmark of the service: many concurrent uploads (each a capture classified by two models) and many
 * synchronous POST /classify requests at the same time, against
 *   1. the embedded server (`veil serve`, jobs on its own worker threads),
 *   2. `veil serve --redis` with one `veil worker`, then with two,
 * printing jobs/s, flows classified/s, p50/p99 latencies and the speed-up from one worker to two, and checking
 * that every job finished with every flow (nothing lost under load).
 *
 *   node --import tsx bench/service-load.ts [--jobs 32] [--flows 800] [--classify 300] [--batch 50]
 *        [--parallel 12] [--redis redis://127.0.0.1:6379]
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { extractFlows } from '../src/flow/meter.ts';
import {
  deleteKeys, getJson, kill, makeCapture, postJob, spawnServe, spawnVeil, tempDir, trainTinyModel, uniquePrefix, type Proc,
} from '../test/service/helpers.ts';

const { values: v } = parseArgs({
  options: {
    jobs: { type: 'string', default: '32' },
    flows: { type: 'string', default: '800' },
    classify: { type: 'string', default: '300' },
    batch: { type: 'string', default: '50' },
    parallel: { type: 'string', default: '12' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const JOBS = Number(v.jobs), FLOWS = Number(v.flows), CLASSIFY = Number(v.classify), BATCH = Number(v.batch);
const PARALLEL = Number(v.parallel);
const MODELS = ['application', 'vpn'];

interface RunResult {
  name: string;
  /** CPU seconds used during the run by the server, the workers, and this load generator. */
  cpu?: { server: number; workers: number; load: number };
  processingMs: number[];
  wallSeconds: number;
  jobLatency: number[];
  classifyLatency: number[];
  flows: number;
  lost: string[];
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Runs `n` tasks with at most `k` in flight. */
async function pool(n: number, k: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(k, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

/** CPU seconds a process (and its threads) has used, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

async function load(name: string, base: string, capture: Buffer, featureRows: Record<string, unknown>[], classifyCount: number, jobCount = JOBS): Promise<RunResult> {
  const jobLatency: number[] = [];
  const processingMs: number[] = [];
  const classifyLatency: number[] = [];
  const lost: string[] = [];
  let flows = 0;
  const t0 = performance.now();
  const jobs = pool(jobCount, PARALLEL, async (i) => {
    const start = performance.now();
    const up = await postJob(base, { name: `load-${i}.pcap`, data: capture }, { models: MODELS.join(',') });
    if (up.status !== 202) { lost.push(`upload ${i}: ${up.status} ${JSON.stringify(up.body)}`); return; }
    for (;;) {
      const j = (await getJson(base, `/api/v1/jobs/${up.body.id}`)).body;
      if (j.state === 'done') {
        jobLatency.push(performance.now() - start);
        processingMs.push(j.summary.durationMs);
        const total = (await getJson(base, `/api/v1/jobs/${j.id}/results?limit=1`)).body.total;
        if (j.summary.rows !== FLOWS || total !== FLOWS) lost.push(`${j.id}: ${total} of ${FLOWS} flows`);
        flows += total * MODELS.length;
        return;
      }
      if (j.state === 'failed' || j.state === 'cancelled') { lost.push(`${j.id}: ${j.state} ${JSON.stringify(j.error)}`); return; }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const classify = pool(classifyCount, 4, async (i) => {
    const rows = Array.from({ length: BATCH }, (_, k) => featureRows[(i * BATCH + k) % featureRows.length]!);
    const start = performance.now();
    const res = await fetch(`${base}/api/v1/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ models: MODELS, rows }) });
    const body = (await res.json()) as { results?: { predictions: unknown[] }[] };
    classifyLatency.push(performance.now() - start);
    if (res.status !== 200 || body.results?.[0]?.predictions.length !== BATCH) lost.push(`classify ${i}: ${res.status}`);
  });
  await Promise.all([jobs, classify]);
  return { name, wallSeconds: (performance.now() - t0) / 1000, jobLatency, processingMs, classifyLatency, flows, lost };
}

function report(r: RunResult): void {
  const jobsPerS = r.jobLatency.length / r.wallSeconds;
  const parts = [
    `${r.name.padEnd(34)} ${r.wallSeconds.toFixed(1).padStart(5)} s`,
    r.jobLatency.length ? `${jobsPerS.toFixed(2).padStart(5)} jobs/s  ${Math.round(r.flows / r.wallSeconds).toLocaleString().padStart(7)} flows classified/s` : '',
    r.jobLatency.length ? `job p50 ${(pct(r.jobLatency, 50) / 1000).toFixed(2)} s p99 ${(pct(r.jobLatency, 99) / 1000).toFixed(2)} s (processing p50 ${(pct(r.processingMs, 50) / 1000).toFixed(2)} s)` : '',
    r.classifyLatency.length ? `classify ${(r.classifyLatency.length / r.wallSeconds).toFixed(0)} req/s p50 ${pct(r.classifyLatency, 50).toFixed(0)} ms p99 ${pct(r.classifyLatency, 99).toFixed(0)} ms` : '',
    r.cpu ? `cpu s: server ${r.cpu.server.toFixed(1)} workers ${r.cpu.workers.toFixed(1)} load ${r.cpu.load.toFixed(1)}` : '',
    r.lost.length ? `LOST ${r.lost.length}: ${r.lost.slice(0, 3).join('; ')}` : 'nothing lost',
  ];
  console.log(parts.filter(Boolean).join('  '));
}

/** Runs the load against a server, with CPU accounting of the server and worker processes. */
async function measured(name: string, base: string, server: Proc, workers: Proc[], capture: Buffer, rows: Record<string, unknown>[], classify: number, jobs = JOBS): Promise<RunResult> {
  const cpu0 = { server: cpuSeconds(server.child.pid), workers: workers.reduce((a, w) => a + cpuSeconds(w.child.pid), 0), load: process.cpuUsage() };
  const r = await load(name, base, capture, rows, classify, jobs);
  const l = process.cpuUsage(cpu0.load);
  r.cpu = {
    server: cpuSeconds(server.child.pid) - cpu0.server,
    workers: workers.reduce((a, w) => a + cpuSeconds(w.child.pid), 0) - cpu0.workers,
    load: (l.user + l.system) / 1e6,
  };
  report(r);
  return r;
}

async function main(): Promise<void> {
  const tmp = tempDir('veil-bench-');
  const procs: Proc[] = [];
  const prefixes: string[] = [];
  try {
    const models = path.join(tmp.dir, 'models');
    mkdirSync(models);
    await trainTinyModel(models, 'application', 'application');
    await trainTinyModel(models, 'vpn', 'vpn');
    const capture = makeCapture(FLOWS);
    // Feature rows for /classify: the flows of the same capture, metered here.
    const { writeFileSync } = await import('node:fs');
    const capFile = path.join(tmp.dir, 'c.pcap');
    writeFileSync(capFile, makeCapture(200));
    const featureRows: Record<string, unknown>[] = [];
    await extractFlows({ path: capFile }, {}, (row, cols) => {
      const o: Record<string, unknown> = {};
      cols.forEach((c, i) => { if (c.role !== 'identity') o[c.name] = typeof row[i] === 'boolean' ? Number(row[i]) : row[i]; });
      featureRows.push(o);
    });
    console.log(`service load: ${JOBS} uploads of ${FLOWS} flows (${(capture.length / 1e6).toFixed(1)} MB, models ${MODELS.join('+')}), ` +
      `${PARALLEL} in flight, with ${CLASSIFY} POST /classify of ${BATCH} rows (4 in flight); ${os.availableParallelism()} CPUs\n`);

    const jobsOnly: Record<string, RunResult> = {};
    const warm = async (base: string): Promise<void> => { await load('warm-up', base, makeCapture(30), featureRows, 4, 2); };
    {
      const dir = path.join(tmp.dir, 'embedded');
      const s = await spawnServe(['--data-dir', dir, '--models', models, '--concurrency', '2', '--rate-limit', '0', '-q']);
      procs.push(s.proc);
      await warm(s.url);
      jobsOnly.embedded = await measured('embedded (2 threads), jobs only', s.url, s.proc, [], capture, featureRows, 0);
      await measured('embedded, jobs + classify', s.url, s.proc, [], capture, featureRows, CLASSIFY);
      await measured('embedded, classify only', s.url, s.proc, [], capture, featureRows, CLASSIFY, 0);
      await kill(s.proc, 'SIGTERM');
    }
    for (const workers of [1, 2]) {
      const dir = path.join(tmp.dir, `redis-${workers}`);
      const prefix = uniquePrefix(`bench${workers}`);
      prefixes.push(prefix);
      const s = await spawnServe(['--data-dir', dir, '--models', models, '--redis', v.redis!, '--prefix', prefix, '--rate-limit', '0', '-q']);
      procs.push(s.proc);
      const ws: Proc[] = [];
      for (let i = 0; i < workers; i++) {
        const w = await spawnVeil(['worker', '--redis', v.redis!, '--prefix', prefix, '--data-dir', dir, '--models', models, '--concurrency', '1', '-q']);
        await w.line(/veil worker: processing/);
        ws.push(w);
        procs.push(w);
      }
      await warm(s.url);
      const label = `redis, ${workers} worker${workers > 1 ? 's' : ''} x 1 thread`;
      jobsOnly[`redis${workers}`] = await measured(`${label}, jobs only`, s.url, s.proc, ws, capture, featureRows, 0);
      await measured(`${label}, jobs + classify`, s.url, s.proc, ws, capture, featureRows, CLASSIFY);
      for (const w of ws) await kill(w, 'SIGTERM');
      await kill(s.proc, 'SIGTERM');
    }
    const results = Object.values(jobsOnly);
    const one = jobsOnly.redis1, two = jobsOnly.redis2;
    const rate = (r: RunResult) => r.jobLatency.length / r.wallSeconds;
    console.log(`\nspeed-up from one BullMQ worker to two: ${(rate(two!) / rate(one!)).toFixed(2)}x jobs/s` +
      ` (${os.availableParallelism()} CPUs shared by the API server, the workers and this load generator)`);
    if (results.some((r) => r.lost.length)) process.exitCode = 1;
  } finally {
    for (const p of procs) await kill(p);
    for (const p of prefixes) await deleteKeys(v.redis!, p).catch(() => 0);
    tmp.cleanup();
  }
}

await main();
