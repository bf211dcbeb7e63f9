import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getJson, makeCapture, parseCsvText, postJob, SERVICE_OF, startTestServer, tempDir, trainTinyModel, waitFinal } from './helpers.ts';

let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
let vpnFile: string;

before(async () => {
  tmp = tempDir();
  const dir = path.join(tmp.dir, 'trained');
  mkdirSync(dir);
  await trainTinyModel(dir, 'application', 'application');
  vpnFile = await trainTinyModel(path.join(tmp.dir), 'vpn', 'vpn');
  srv = await startTestServer(path.join(tmp.dir, 'data'), { modelDirs: [dir], maxClassifyRows: 50 });
});
after(async () => {
  await srv.close();
  tmp.cleanup();
});

async function postJson(p: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${srv.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

test('GET /models describes classes, metrics, feature columns and importance', async () => {
  const list = await getJson(srv.url, '/api/v1/models');
  assert.deepEqual(list.body.models.map((m: { name: string }) => m.name), ['application']);
  const m = (await getJson(srv.url, '/api/v1/models/application')).body;
  assert.deepEqual(m.classes, ['chat', 'video', 'web']);
  assert.equal(m.target, 'application');
  assert.equal(m.kind, 'random-forest');
  assert.ok(m.columns.includes('bwd_pkt_len_mean') || m.columns.length > 20, 'feature columns listed');
  assert.ok(m.metrics.macroF1 > 0.8);
  assert.ok(Math.abs(m.featureImportance.reduce((a: number, f: { impurity: number }) => a + f.impurity, 0) - 1) < 1e-6);
  assert.match(m.sha256, /^[0-9a-f]{64}$/);
  const svg = await fetch(`${srv.url}/api/v1/models/application/charts/importance.svg`);
  assert.equal(svg.status, 200);
  assert.match(await svg.text(), /^<svg/);
  assert.equal((await getJson(srv.url, '/api/v1/models/nope')).body.error.code, 'MODEL_NOT_FOUND');
});

test('POST /models validates the upload with the model loader and loads it', async () => {
  const foreign = new FormData();
  foreign.append('file', new Blob([Buffer.from('VEILMDL1 but not really a model at all')]), 'x.veilmodel');
  const bad = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: foreign });
  const badBody = (await bad.json()) as { error: { code: string; message: string } };
  assert.equal(bad.status, 400);
  assert.equal(badBody.error.code, 'BAD_MODEL');

  const fd = new FormData();
  fd.append('file', new Blob([readFileSync(vpnFile)]), 'vpn.veilmodel');
  const ok = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: fd });
  assert.equal(ok.status, 201);
  const info = (await ok.json()) as { name: string; classes: string[] };
  assert.equal(info.name, 'vpn');
  assert.deepEqual(info.classes, ['no', 'yes']);

  const again = new FormData();
  again.append('file', new Blob([readFileSync(vpnFile)]), 'vpn.veilmodel');
  const dup = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: again });
  assert.equal(dup.status, 409);
  assert.equal((await getJson(srv.url, '/api/v1/models')).body.models.length, 2);
});

test('a capture job applies the models: label, confidence and unknown per model, counts and charts', async () => {
  const up = await postJob(srv.url, { name: 'mix.pcap', data: makeCapture(30) }, { models: 'application' });
  assert.equal(up.status, 202);
  const job = await waitFinal(srv.url, up.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const s = job.summary.models[0];
  assert.equal(s.name, 'application');
  assert.deepEqual(s.counts, { web: 10, video: 10, chat: 10 });
  const rows = parseCsvText(await (await fetch(`${srv.url}/api/v1/jobs/${job.id}/results.csv`)).text());
  const h = rows[0]!;
  const sni = h.indexOf('tls_sni'), label = h.indexOf('application.label'), conf = h.indexOf('application.confidence');
  assert.ok(label > 0 && conf > 0 && h.includes('application.unknown'));
  const reason = h.indexOf('application.unknown_reason');
  assert.ok(reason > conf, 'the reason of unknown answers beside them');
  const page = (await getJson(srv.url, `/api/v1/jobs/${job.id}/results?limit=5`)).body as { columns: { name: string }[]; rows: unknown[][] };
  const j = page.columns.findIndex((c) => c.name === 'application.unknown_reason');
  assert.ok(j > 0);
  for (const r of page.rows) assert.ok(r[j] === null || ['too_few_packets', 'out_of_distribution', 'low_confidence'].includes(r[j] as string));
  for (const r of rows.slice(1)) {
    assert.equal(r[label], SERVICE_OF[r[sni]!]);
    assert.ok(Number(r[conf]) >= 0.5 && Number(r[conf]) <= 1);
  }
  for (const c of ['counts', 'confidence']) {
    const r = await fetch(`${srv.url}/api/v1/jobs/${job.id}/charts/${c}.svg`);
    assert.equal(r.status, 200);
  }
  assert.equal((await getJson(srv.url, `/api/v1/jobs/${job.id}/charts/confusion.svg`)).body.error.code, 'NO_LABELS');
});

test('a labelled flow table gets a confusion matrix and per-class scores', async () => {
  // A flow table with features and a true label per flow, as `veil extract` plus labelling would write it.
  const { extractFlows } = await import('../../src/flow/meter.ts');
  const { writeFileSync } = await import('node:fs');
  const cap = path.join(tmp.dir, 'lab.pcap');
  writeFileSync(cap, makeCapture(18));
  const lines: string[] = [];
  await extractFlows({ path: cap }, {}, (row, cols) => {
    if (!lines.length) lines.push([...cols.map((c) => c.name), 'truth'].join(','));
    const sni = String(row[cols.findIndex((c) => c.name === 'tls_sni')]);
    lines.push([...row.map((v) => (typeof v === 'string' ? JSON.stringify(v) : v === null ? '' : typeof v === 'boolean' ? Number(v) : v)), SERVICE_OF[sni]].join(','));
  });
  const up = await postJob(srv.url, { name: 'labelled.csv', data: Buffer.from(lines.join('\n') + '\n') }, { models: 'application', label: 'truth' });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  const job = await waitFinal(srv.url, up.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const m = job.summary.models[0];
  assert.deepEqual(m.confusion.classes, ['chat', 'video', 'web']);
  assert.deepEqual(m.confusion.matrix, [[6, 0, 0, 0], [0, 6, 0, 0], [0, 0, 6, 0]]);
  for (const c of ['confusion', 'f1']) {
    const r = await fetch(`${srv.url}/api/v1/jobs/${job.id}/charts/${c}.svg`);
    assert.equal(r.status, 200, c);
  }
});

test('a CSV without the model\'s columns is refused with 400 MISSING_COLUMNS naming them', async () => {
  const csv = Buffer.from('id_flow,fwd_pkt_len_mean,something_else\n1,100,3\n2,120,4\n');
  const r = await postJob(srv.url, { name: 'few.csv', data: csv }, { models: 'application' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'MISSING_COLUMNS');
  assert.match(r.body.error.message, /few\.csv: lacks \d+ columns the models need: .*bwd_/);
  assert.equal((await getJson(srv.url, '/healthz')).status, 200);
});

test('POST /classify answers a small batch synchronously', async () => {
  const m = (await getJson(srv.url, '/api/v1/models/application')).body as { columns: string[] };
  // Feature rows from a finished job's flows are not kept, so build them by metering a capture here.
  const { extractFlows } = await import('../../src/flow/meter.ts');
  const { writeFileSync } = await import('node:fs');
  const cap = path.join(tmp.dir, 'cls.pcap');
  writeFileSync(cap, makeCapture(6));
  const rows: Record<string, unknown>[] = [];
  const truth: string[] = [];
  await extractFlows({ path: cap }, {}, (row, cols) => {
    const o: Record<string, unknown> = {};
    cols.forEach((c, i) => { if (m.columns.includes(c.name)) o[c.name] = typeof row[i] === 'boolean' ? Number(row[i]) : row[i]; });
    rows.push(o);
    truth.push(SERVICE_OF[String(row[cols.findIndex((c) => c.name === 'tls_sni')])]!);
  });
  const r = await postJson('/api/v1/classify', { models: ['application'], rows });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.results[0].model, 'application');
  assert.deepEqual(r.body.results[0].predictions.map((p: { label: string }) => p.label), truth);

  const lacking = await postJson('/api/v1/classify', { models: ['application'], rows: [{ fwd_pkt_len_mean: 3 }] });
  assert.equal(lacking.status, 400);
  assert.equal(lacking.body.error.code, 'MISSING_COLUMNS');
  assert.match(lacking.body.error.message, /lack \d+ column\(s\)/);

  const tooMany = await postJson('/api/v1/classify', { rows: Array.from({ length: 51 }, () => rows[0]) });
  assert.equal(tooMany.status, 413);
  assert.equal(tooMany.body.error.code, 'BATCH_TOO_LARGE');
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(metrics, /veil_classify_rows_total 6/);
});
