import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { makeBigCapture, makeCapture, postJob, startTestServer, tempDir, waitFinal } from './helpers.ts';

/**
 * Limits a job runs under: the bytes a gzip upload may inflate to (--max-upload counts compressed bytes) and the
 * wall time of one run. Either ends the job as a failure naming the limit; the server goes on serving.
 */

test('a gzip capture that inflates past --max-inflated fails with UPLOAD_TOO_LARGE; one under it is processed', async () => {
  const tmp = tempDir();
  const big = makeBigCapture(4000, 20); // ~ 19 MB inflated, < 1 MB compressed
  const srv = await startTestServer(tmp.dir, { maxInflatedBytes: 4 << 20 });
  try {
    const gz = gzipSync(big);
    assert.ok(gz.length < 4 << 20 && big.length > 4 << 20);
    const bomb = await postJob(srv.url, { name: 'bomb.pcap.gz', data: gz });
    assert.equal(bomb.status, 202);
    const j = await waitFinal(srv.url, bomb.body.id);
    assert.equal(j.state, 'failed');
    assert.equal(j.error.code, 'UPLOAD_TOO_LARGE');
    assert.match(j.error.message, /bomb\.pcap\.gz: inflates to more than 4194304 bytes/);
    const ok = await postJob(srv.url, { name: 'small.pcap.gz', data: gzipSync(makeCapture(5)) });
    const k = await waitFinal(srv.url, ok.body.id);
    assert.equal(k.state, 'done', JSON.stringify(k.error));
    assert.equal(k.summary.rows, 5);
  } finally {
    await srv.close();
    tmp.cleanup();
  }
});

test('a job over the time limit fails with JOB_TIMEOUT and the next job runs', async () => {
  const tmp = tempDir();
  const srv = await startTestServer(tmp.dir, { jobTimeoutMs: 1, concurrency: 1 });
  try {
    const slow = await postJob(srv.url, { name: 'slow.pcap', data: makeBigCapture(3000, 20) });
    const j = await waitFinal(srv.url, slow.body.id);
    assert.equal(j.state, 'failed');
    assert.equal(j.error.code, 'JOB_TIMEOUT');
    assert.match(j.error.message, /slow\.pcap: the job ran longer than/);
    assert.equal(j.attempts, 1, 'a timeout is not retried');
  } finally {
    await srv.close();
    tmp.cleanup();
  }
});
