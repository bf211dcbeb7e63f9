import { test } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUE_NAME, workerName } from '../../src/service/jobs/redis.ts';
import assert from 'node:assert/strict';
import { deleteKeys, getJson, kill, makeBigCapture, makeCapture, parseCsvText, postJob, sleep, spawnVeil, startRedis, startTestServer, tempDir, uniquePrefix, until, waitFinal, type Proc } from './helpers.ts';

const SHARED = 'redis://127.0.0.1:6379';

async function worker(url: string, prefix: string, dataDir: string, extra: string[] = []): Promise<Proc> {
  const p = await spawnVeil(['worker', '--redis', url, '--prefix', prefix, '--data-dir', dataDir, ...extra]);
  await p.line(/veil worker: processing/);
  return p;
}

async function csvRows(base: string, id: string): Promise<string[][]> {
  return parseCsvText(await (await fetch(`${base}/api/v1/jobs/${id}/results.csv`)).text()).slice(1);
}

test('redis: a round trip through a worker process; SIGTERM hands a running job back; SIGKILL mid-job: another worker finishes it, nothing lost or duplicated', async () => {
  const tmp = tempDir();
  const prefix = uniquePrefix('kill');
  // The server logs the jobs its Redis workers run (it learns of them through BullMQ's events).
  const logs: { job?: string; msg?: string; attempt?: number }[] = [];
  const logStream = { write: (t: string) => { for (const l of t.split('\n')) if (l.trim()) logs.push(JSON.parse(l)); } };
  const srv = await startTestServer(tmp.dir, { redisUrl: SHARED, redisPrefix: prefix, logStream });
  const fast = ['--concurrency', '1', '--lock-duration', '2000', '--stalled-interval', '500', '--grace', '0.2', '-q'];
  const procs: Proc[] = [await worker(SHARED, prefix, tmp.dir, fast)];
  const queue = new Queue(QUEUE_NAME, { connection: { url: SHARED }, prefix });
  try {
    // Round trip.
    assert.equal((await getJson(srv.url, '/readyz')).body.backend, 'redis');
    const small = await postJob(srv.url, { name: 'small.pcap', data: makeCapture(12) });
    assert.equal(small.status, 202);
    const done = await waitFinal(srv.url, small.body.id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.summary.rows, 12);
    assert.equal((await csvRows(srv.url, done.id)).length, 12);
    const page = await getJson(srv.url, `/api/v1/jobs/${done.id}/results?limit=3&sort=id_flow&desc=true`);
    assert.equal(page.body.rows[0][0], 12);
    assert.match(await (await fetch(`${srv.url}/metrics`)).text(), /veil_queue_depth\{backend="redis",state="waiting"\} 0/);

    const up = await postJob(srv.url, { name: 'big.pcap', data: makeBigCapture(8000, 30) });
    assert.equal(up.status, 202);
    const running = (attempts: number) => until(`attempt ${attempts} to run`, async () => {
      const j = (await getJson(srv.url, `/api/v1/jobs/${up.body.id}`)).body;
      return j.state === 'running' && j.attempts >= attempts ? true : undefined;
    }, 30_000, 20);
    await running(1);
    // Graceful: SIGTERM with a short grace period hands the job back to the queue and the worker exits.
    procs[0]!.child.kill('SIGTERM');
    assert.equal(await procs[0]!.exited, 0);
    const next = await Promise.all([worker(SHARED, prefix, tmp.dir, fast), worker(SHARED, prefix, tmp.dir, fast)]);
    procs.push(...next);
    await running(2);
    // Not graceful: the worker holding the job dies; the other's stalled-job check takes it over.
    const holder = (await queue.getJob(up.body.id))?.processedBy;
    const victim = next.find((p) => workerName(p.child.pid) === holder);
    assert.ok(victim, `one of the workers holds the job (${holder})`);
    await kill(victim);
    const job = await waitFinal(srv.url, up.body.id, 45_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.ok(job.attempts >= 3, `the takeover counts as a start (attempts ${job.attempts})`);
    assert.equal(job.summary.rows, 8000);
    const lines = (id: string) => logs.filter((l) => l.job === id).map((l) => `${l.msg}${l.msg === 'job started' ? ` ${l.attempt}` : ''}`);
    assert.deepEqual(lines(small.body.id), ['job started 1', 'job done']);
    const big = lines(up.body.id);
    assert.equal(big.at(-1), 'job done', big.join(', '));
    assert.ok(big.filter((l) => l.startsWith('job started')).length >= 2, big.join(', '));
    const rows = await csvRows(srv.url, job.id);
    assert.equal(rows.length, 8000, 'every flow once');
    assert.equal(new Set(rows.map((r) => r[0])).size, 8000, 'no duplicate flow ids');
    assert.equal(new Set(rows.map((r) => `${r[1]}:${r[3]}`)).size, 8000, 'no duplicate flows');
  } finally {
    await queue.close();
    for (const p of procs) await kill(p);
    await srv.close();
    await deleteKeys(SHARED, prefix);
    tmp.cleanup();
  }
});

test('redis restarted mid-run (no persistence): no job is lost', async () => {
  const tmp = tempDir();
  const prefix = uniquePrefix('restart');
  let redis = await startRedis();
  const srv = await startTestServer(tmp.dir, { redisUrl: redis.url, redisPrefix: prefix });
  const w = await worker(redis.url, prefix, tmp.dir, ['--concurrency', '1', '--lock-duration', '2000', '--stalled-interval', '500', '-q']);
  try {
    const big = await postJob(srv.url, { name: 'big.pcap', data: makeBigCapture(8000, 30) });
    const small = [];
    for (let i = 0; i < 3; i++) small.push(await postJob(srv.url, { name: `s${i}.pcap`, data: makeCapture(5 + i) }));
    await until('the big job to run', async () => ((await getJson(srv.url, `/api/v1/jobs/${big.body.id}`)).body.state === 'running' ? true : undefined), 20_000, 20);
    await redis.stop('SIGKILL');
    await sleep(300);
    // Jobs uploaded while Redis is down are kept and enqueued when it is back.
    const during = await postJob(srv.url, { name: 'during.pcap', data: makeCapture(4) });
    assert.equal(during.status, 202);
    redis = await startRedis(redis.port);
    const expect = new Map<string, number>([[big.body.id, 8000], [during.body.id, 4], ...small.map((s, i) => [s.body.id, 5 + i] as [string, number])]);
    for (const [id, flows] of expect) {
      const j = await waitFinal(srv.url, id, 45_000);
      assert.equal(j.state, 'done', `${id}: ${JSON.stringify(j.error)}`);
      assert.equal(j.summary.rows, flows);
      const rows = await csvRows(srv.url, id);
      assert.equal(rows.length, flows);
      assert.equal(new Set(rows.map((r) => r[0])).size, flows);
    }
  } finally {
    await kill(w, 'SIGTERM');
    await srv.close();
    await redis.stop();
    tmp.cleanup();
  }
});
