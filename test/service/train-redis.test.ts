import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteKeys, getJson, kill, postTrain, sleep, spawnVeil, startTestServer, tempDir, uniquePrefix, until, waitFinal, type Proc } from './helpers.ts';
import { homeCaptures } from '../helpers/learn-captures.ts';

const SHARED = 'redis://127.0.0.1:6379';

async function worker(prefix: string, dataDir: string): Promise<Proc> {
  const p = await spawnVeil(['worker', '--redis', SHARED, '--prefix', prefix, '--data-dir', dataDir, '--concurrency', '1', '--lock-duration', '2000', '--stalled-interval', '500', '--grace', '0.2', '-q']);
  await p.line(/veil worker: processing/);
  return p;
}

/**
 * In Redis mode a training job runs on a `veil worker`, never in the API process: with no worker it waits in the
 * queue. A worker killed mid-training hands it to another, which trains it once; the version is registered once
 * and the versions trained before are untouched.
 */
test('redis: training runs on a worker; a worker killed mid-training: another finishes it, one version, nothing lost', async () => {
  const tmp = tempDir('veil-train-redis-');
  const prefix = uniquePrefix('train');
  const srv = await startTestServer(tmp.dir, { redisUrl: SHARED, redisPrefix: prefix });
  const procs: Proc[] = [];
  const caps = homeCaptures();
  const post = async (files: { name: string; data: Buffer }[], fields: Record<string, string>): Promise<any> => {
    const r = await postTrain(srv.url, files, fields);
    assert.equal(r.status, 202);
    return r.body;
  };
  try {
    const first = await post(caps.home, { name: 'apps', folds: '2' });
    await sleep(1500);
    assert.equal((await getJson(srv.url, `/api/v1/jobs/${first.id}`)).body.state, 'queued', 'no worker: the API process does not train');
    procs.push(await worker(prefix, tmp.dir));
    const one = await waitFinal(srv.url, first.id, 120_000);
    assert.equal(one.state, 'done', JSON.stringify(one.error));
    assert.equal(one.summary.training.version, 1);

    // A bigger set (the same four captures many times over) keeps the worker busy long enough to be killed mid-way.
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `home-${i}.pcap`, data: caps.home[i % 4]!.data }));
    const second = await post(many, { name: 'apps', learner: 'boosting' });
    await until('the training to run', async () => ((await getJson(srv.url, `/api/v1/jobs/${second.id}`)).body.state === 'running' ? true : undefined), 60_000, 20);
    await kill(procs.shift()!, 'SIGKILL');
    procs.push(await worker(prefix, tmp.dir));
    const two = await waitFinal(srv.url, second.id, 240_000);
    assert.equal(two.state, 'done', JSON.stringify(two.error));
    assert.ok(two.attempts >= 2, `the takeover counts as a start (attempts ${two.attempts})`);
    const versions = (await getJson(srv.url, '/api/v1/models/apps/versions')).body;
    assert.deepEqual(versions.versions.map((v: { version: number; jobId: string }) => [v.version, v.jobId]), [[2, second.id], [1, first.id]]);
    const ev = await fetch(`${srv.url}/api/v1/models/apps/versions/1/report.json`);
    assert.equal(ev.status, 200, 'the first version\'s files are intact');
    const act = await fetch(`${srv.url}/api/v1/models/apps/versions/2/activate`, { method: 'POST' });
    assert.equal(act.status, 200);
    assert.equal(((await act.json()) as { active: number }).active, 2);
  } finally {
    for (const p of procs) await kill(p);
    await srv.close();
    await deleteKeys(SHARED, prefix);
    tmp.cleanup();
  }
});
