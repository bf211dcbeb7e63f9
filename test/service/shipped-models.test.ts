import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, startTestServer, postJob, waitFinal, getJson, tempDir } from './helpers.ts';

// The shipped models learnt from ISCX flows cut at 15 s; their model files say so, and a job meters the upload the
// same way: the scenario capture's 64 s UDP gap then splits that exchange (8 flows; 7 with the 120 s default).
test('a job with the shipped models meters the capture with the timeouts the models were trained with', async () => {
  const { dir, cleanup } = tempDir();
  const srv = await startTestServer(dir, { modelDirs: [path.join(REPO, 'models')] });
  try {
    const data = readFileSync(path.join(REPO, 'test/fixtures/flow/scenario.pcap'));
    const { status, body } = await postJob(srv.url, { name: 'scenario.pcap', data });
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitFinal(srv.url, body.id);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const res = await getJson(srv.url, `/api/v1/jobs/${body.id}/results?limit=100`);
    assert.equal(res.body.rows.length, 8);
    for (const r of res.body.rows) assert.match(JSON.stringify(r), /"(BROWSING|CHAT|FT|MAIL|P2P|STREAMING|VOIP|unknown)"/, 'a category answer');
  } finally {
    await srv.close();
    cleanup();
  }
});
