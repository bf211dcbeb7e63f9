import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, kill, makeBigCapture, makeCapture, parseCsvText, postJob, spawnServe, tempDir, until, waitFinal } from './helpers.ts';

test('the embedded server killed mid-job restarts with its finished and unfinished jobs intact', async () => {
  const tmp = tempDir();
  let srv = await spawnServe(['--data-dir', tmp.dir, '--concurrency', '1', '-q']);
  try {
    const small = await postJob(srv.url, { name: 'small.pcap', data: makeCapture(6) });
    const finished = await waitFinal(srv.url, small.body.id);
    assert.equal(finished.state, 'done');
    const before = await (await fetch(`${srv.url}/api/v1/jobs/${small.body.id}/results.csv`)).text();

    // Concurrency 1: a runs (killed mid-job), b waits in the queue.
    const a = await postJob(srv.url, { name: 'big-a.pcap', data: makeBigCapture(8000, 30) });
    const b = await postJob(srv.url, { name: 'small-b.pcap', data: makeCapture(7) });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    await until('job a to run', async () => ((await getJson(srv.url, `/api/v1/jobs/${a.body.id}`)).body.state === 'running' ? true : undefined), 20_000, 20);
    await kill(srv.proc);

    srv = await spawnServe(['--data-dir', tmp.dir, '--concurrency', '1', '-q']);
    const after = await getJson(srv.url, `/api/v1/jobs/${small.body.id}`);
    assert.equal(after.body.state, 'done', 'the finished job survived');
    assert.equal(await (await fetch(`${srv.url}/api/v1/jobs/${small.body.id}/results.csv`)).text(), before, 'with the same results');

    for (const [id, flows] of [[a.body.id, 8000], [b.body.id, 7]] as const) {
      const j = await waitFinal(srv.url, id, 40_000);
      assert.equal(j.state, 'done', `${id}: ${JSON.stringify(j.error)}`);
      assert.equal(j.summary.rows, flows);
      const rows = parseCsvText(await (await fetch(`${srv.url}/api/v1/jobs/${id}/results.csv`)).text()).slice(1);
      assert.equal(rows.length, flows, 'no flow lost or duplicated');
      assert.equal(new Set(rows.map((r) => `${r[1]}:${r[3]}`)).size, flows);
    }
    const ja = (await getJson(srv.url, `/api/v1/jobs/${a.body.id}`)).body;
    assert.ok(ja.attempts >= 2, 'the interrupted job ran again');
  } finally {
    await kill(srv.proc);
    tmp.cleanup();
  }
});
