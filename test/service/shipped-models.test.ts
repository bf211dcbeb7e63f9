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
    for (const r of res.body.rows) assert.match(JSON.stringify(r), /"(ads_analytics|browsing|chat|cloud|file_transfer|gaming|mail|network_services|remote_access|social|software_update|streaming|voip|vpn|unknown)"/, 'a category answer');
    // Every row carries the verdict, and the DNS flow is named by its port whatever the behaviour model says.
    const cols = (res.body.columns as { name: string }[]).map((c) => c.name);
    for (const c of ['app', 'app_source', 'category', 'category_source', 'category_confidence', 'category.label']) assert.ok(cols.includes(c), c);
    const at = (n: string) => cols.indexOf(n);
    const dns = (res.body.rows as unknown[][]).find((r) => r[at('id_dst_port')] === 53)!;
    assert.deepEqual([dns[at('app')], dns[at('app_source')], dns[at('category')]], ['DNS', 'port', 'network_services']);
    assert.ok(job.summary.traffic.byCategory.network_services.flows >= 1);

    // POST /classify says why a one-packet flow is unknown (the VPN model: ISCX features, a floor of 2 packets).
    const iscx = ['duration', 'min_fiat', 'min_biat', 'max_fiat', 'max_biat', 'mean_fiat', 'mean_biat', 'std_fiat', 'std_biat', 'flowPktsPerSecond',
      'flowBytesPerSecond', 'min_flowiat', 'max_flowiat', 'mean_flowiat', 'std_flowiat', 'min_active', 'mean_active', 'max_active', 'std_active',
      'min_idle', 'mean_idle', 'max_idle', 'std_idle'];
    const row = Object.fromEntries(iscx.map((c) => [c, /^(min|max)_/.test(c) ? -1 : 0]));
    const r = await fetch(`${srv.url}/api/v1/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ models: ['vpn'], rows: [row] }) });
    assert.equal(r.status, 200);
    const p = ((await r.json()) as { results: { predictions: { label: string; unknown: boolean; unknownReason?: string }[] }[] }).results[0]!.predictions[0]!;
    assert.deepEqual([p.label, p.unknown, p.unknownReason], ['unknown', true, 'too_few_packets']);
  } finally {
    await srv.close();
    cleanup();
  }
});
