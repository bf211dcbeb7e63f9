import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { getJson, postTrain, startTestServer, tempDir, waitFinal } from './helpers.ts';
import { homeCaptures } from '../helpers/learn-captures.ts';

/**
 * A training job that ended done while no server registered its version (the server died between the two) is
 * registered when the server starts again: the trained model is not lost.
 */
test('a done training job whose version was never registered is registered at the next start', async () => {
  const tmp = tempDir('veil-train-recover-');
  const dataDir = path.join(tmp.dir, 'data');
  let srv = await startTestServer(dataDir, { concurrency: 1 });
  try {
    const sent = (await postTrain(srv.url, homeCaptures().home, { name: 'kept', folds: '2' })).body as { id: string };
    const job = await waitFinal(srv.url, sent.id, 120_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const sha = job.summary.training.sha256;
    await srv.close();

    // As if the server had died after the job was marked done and before it registered the version.
    rmSync(path.join(dataDir, 'versions.db'), { force: true });
    rmSync(path.join(dataDir, 'versions.db-wal'), { force: true });
    rmSync(path.join(dataDir, 'versions.db-shm'), { force: true });
    const db = new Database(path.join(dataDir, 'veil.db'));
    const row = db.prepare('SELECT summary FROM jobs WHERE id = ?').get(sent.id) as { summary: string };
    const summary = JSON.parse(row.summary);
    summary.training.version = null;
    db.prepare('UPDATE jobs SET summary = ? WHERE id = ?').run(JSON.stringify(summary), sent.id);
    db.close();

    srv = await startTestServer(dataDir, { concurrency: 1 });
    const versions = (await getJson(srv.url, '/api/v1/models/kept/versions')).body;
    assert.equal(versions.versions.length, 1, JSON.stringify(versions));
    assert.equal(versions.versions[0].jobId, sent.id);
    assert.equal(versions.versions[0].sha256, sha);
    assert.equal((await getJson(srv.url, `/api/v1/jobs/${sent.id}`)).body.summary.training.version, 1);
  } finally {
    await srv.close();
    tmp.cleanup();
  }
});

test('a training job failed JOB_CRASHED after its worker committed the model is done at the next start, with its version', async () => {
  const tmp = tempDir('veil-train-crash-');
  const dataDir = path.join(tmp.dir, 'data');
  let srv = await startTestServer(dataDir, { concurrency: 1 });
  try {
    const sent = (await postTrain(srv.url, homeCaptures().home, { name: 'crashed', folds: '2' })).body as { id: string };
    assert.equal((await waitFinal(srv.url, sent.id, 120_000)).state, 'done');
    await srv.close();

    // As if the server had been killed at each of the job's last starts after its model was committed: the start-up
    // failed it JOB_CRASHED, and no version was registered.
    for (const f of ['versions.db', 'versions.db-wal', 'versions.db-shm']) rmSync(path.join(dataDir, f), { force: true });
    const db = new Database(path.join(dataDir, 'veil.db'));
    db.prepare("UPDATE jobs SET state = 'failed', error_code = 'JOB_CRASHED', error_message = 'killed', summary = NULL WHERE id = ?").run(sent.id);
    db.close();

    srv = await startTestServer(dataDir, { concurrency: 1 });
    const job = (await getJson(srv.url, `/api/v1/jobs/${sent.id}`)).body;
    assert.equal(job.state, 'done');
    assert.equal(job.error, null);
    assert.equal(job.summary.training.version, 1);
    assert.equal((await getJson(srv.url, '/api/v1/models/crashed/versions')).body.versions[0].jobId, sent.id);
  } finally {
    await srv.close();
    tmp.cleanup();
  }
});
