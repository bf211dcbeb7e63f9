import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { getJson, makeBigCapture, makeCapture, parseCsvText, postJob, SNIS, startTestServer, tempDir, until, waitFinal } from './helpers.ts';

type Srv = Awaited<ReturnType<typeof startTestServer>>;
let srv: Srv;
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  tmp = tempDir();
  srv = await startTestServer(tmp.dir);
});
after(async () => {
  await srv.close();
  tmp.cleanup();
});

test('embedded round trip: upload a capture, poll, page and sort results, download CSV and Parquet, delete', async () => {
  const base = srv.url;
  const up = await postJob(base, { name: 'small.pcap', data: makeCapture(12) });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  assert.match(up.body.id, /^j[0-9a-z]+$/);
  assert.deepEqual(up.body.inputKind, { kind: 'capture', format: 'pcap', gzip: false });
  const job = await waitFinal(base, up.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  assert.equal(job.progress, 1);
  assert.equal(job.summary.rows, 12);
  assert.equal(job.summary.packets, 12 * 19);

  const page = await getJson(base, `/api/v1/jobs/${job.id}/results?offset=0&limit=5`);
  assert.equal(page.status, 200);
  assert.equal(page.body.total, 12);
  assert.equal(page.body.rows.length, 5);
  const names = page.body.columns.map((c: { name: string }) => c.name);
  for (const c of ['id_flow', 'id_src_addr', 'id_dst_port', 'tls_sni', 'tls_alpn', 'tls_ja4']) assert.ok(names.includes(c), `results carry ${c}`);
  const sni = names.indexOf('tls_sni');
  const sport = names.indexOf('id_src_port');

  const sorted = await getJson(base, `/api/v1/jobs/${job.id}/results?limit=100&sort=id_src_port&desc=true`);
  const ports = sorted.body.rows.map((r: unknown[]) => r[sport] as number);
  assert.deepEqual(ports, [...ports].sort((a, b) => b - a));
  const filtered = await getJson(base, `/api/v1/jobs/${job.id}/results?limit=100&q=video.example`);
  assert.equal(filtered.body.matched, 4);
  assert.ok(filtered.body.rows.every((r: unknown[]) => r[sni] === SNIS[1]));

  const csv = await fetch(`${base}/api/v1/jobs/${job.id}/results.csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-disposition') ?? '', /attachment/);
  const rows = parseCsvText(await csv.text());
  assert.deepEqual(rows[0], names);
  assert.equal(rows.length, 13);
  assert.deepEqual(new Set(rows.slice(1).map((r) => r[0])).size, 12, 'each flow once');

  const pq = await fetch(`${base}/api/v1/jobs/${job.id}/results.parquet`);
  assert.equal(pq.status, 200);
  const bytes = Buffer.from(await pq.arrayBuffer());
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');

  assert.deepEqual(readdirSync(path.join(tmp.dir, 'uploads')), [], 'the upload is deleted once processed');

  const list = await getJson(base, '/api/v1/jobs');
  assert.ok(list.body.jobs.some((j: { id: string }) => j.id === job.id));
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /veil_jobs\{state="done"\} [1-9]/);
  assert.match(metrics, /veil_job_duration_seconds_count [1-9]/);
  assert.match(metrics, /veil_flows_processed_total [1-9]/);
  assert.match(metrics, /veil_queue_depth\{backend="embedded",state="waiting"\} 0/);

  const del = await fetch(`${base}/api/v1/jobs/${job.id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await getJson(base, `/api/v1/jobs/${job.id}`)).status, 404);
  assert.equal((await getJson(base, `/api/v1/jobs/${job.id}/results`)).status, 404);
  assert.deepEqual(readdirSync(path.join(tmp.dir, 'results')).filter((f) => f.startsWith(job.id)), []);
});

test('a flow table job carries identity, metadata and the label column', async () => {
  const base = srv.url;
  const first = await postJob(base, { name: 'cap.pcap', data: makeCapture(9) });
  await waitFinal(base, first.body.id);
  const csv = Buffer.from(await (await fetch(`${base}/api/v1/jobs/${first.body.id}/results.csv`)).arrayBuffer());
  const up = await postJob(base, { name: 'flows.csv', data: csv }, { label: 'tls_sni' });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  assert.deepEqual(up.body.inputKind, { kind: 'table', format: 'csv', gzip: false });
  const job = await waitFinal(base, up.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  assert.equal(job.summary.rows, 9);
  const page = await getJson(base, `/api/v1/jobs/${job.id}/results?limit=3`);
  const cols = page.body.columns as { name: string; role: string }[];
  assert.equal(cols.find((c) => c.name === 'tls_sni')?.role, 'label');
  assert.ok(cols.some((c) => c.name === 'id_src_addr'));
});

test('a table corrupt past its head fails its job at once, naming the line; near the head it is refused at upload', async () => {
  const base = srv.url;
  const lines = ['id_flow,fwd_pkt_len_mean,bwd_pkt_len_mean'];
  for (let i = 1; i <= 20000; i++) lines.push(i === 15000 ? `${i},1` : `${i},${i % 7},${i % 11}`);
  const up = await postJob(base, { name: 'damaged.csv', data: Buffer.from(lines.join('\n') + '\n') });
  assert.equal(up.status, 202, 'the head parses, so the upload is accepted');
  const job = await waitFinal(base, up.body.id);
  assert.equal(job.state, 'failed');
  assert.equal(job.error.code, 'BAD_TABLE');
  assert.match(job.error.message, /damaged\.csv:15001: 2 fields, the header has 3/);
  assert.equal(job.attempts, 1, 'input errors are not retried');
  assert.deepEqual(readdirSync(path.join(tmp.dir, 'uploads')).filter((f) => f.startsWith(job.id)), [], 'the upload is gone');

  const early = await postJob(base, { name: 'early.csv', data: Buffer.from('a,b\n1,2\n3\n') });
  assert.equal(early.status, 400);
  assert.equal(early.body.error.code, 'BAD_TABLE');
  assert.match(early.body.error.message, /early\.csv:3/);
});

test('DELETE on a running job cancels it and leaves nothing behind', async () => {
  const base = srv.url;
  const up = await postJob(base, { name: 'big.pcap', data: makeBigCapture(8000, 30) });
  assert.equal(up.status, 202);
  await until('the job to run', async () => ((await getJson(base, `/api/v1/jobs/${up.body.id}`)).body.state === 'running' ? true : undefined), 20_000, 20);
  const del = await fetch(`${base}/api/v1/jobs/${up.body.id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await getJson(base, `/api/v1/jobs/${up.body.id}`)).status, 404);
  // The worker thread stops at its next chunk and drops its temporary results.
  await until('the thread to let go', async () => {
    const left = [...readdirSync(path.join(tmp.dir, 'results')), ...readdirSync(path.join(tmp.dir, 'uploads'))].filter((f) => f.startsWith(up.body.id));
    return left.length === 0 ? true : undefined;
  }, 20_000);
  const next = await postJob(base, { name: 'after.pcap', data: makeCapture(3) });
  assert.equal((await waitFinal(base, next.body.id)).state, 'done', 'the queue keeps going');
});

test('OpenAPI document and docs page are served', async () => {
  const doc = await getJson(srv.url, '/docs/json');
  assert.equal(doc.status, 200);
  assert.equal(doc.body.openapi, '3.0.3');
  for (const p of ['/api/v1/jobs', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/results', '/api/v1/jobs/{id}/results.csv', '/api/v1/models', '/api/v1/classify', '/metrics', '/healthz', '/readyz']) {
    assert.ok(doc.body.paths[p], `${p} is documented`);
  }
  const body = doc.body.paths['/api/v1/jobs'].post.requestBody;
  assert.ok(body.content['multipart/form-data'].schema.properties.file, 'the upload form is documented');
  assert.match(doc.body.info.description, /MISSING_COLUMNS/);
  const html = await fetch(`${srv.url}/docs/`);
  assert.equal(html.status, 200);
  assert.equal((await getJson(srv.url, '/healthz')).body.status, 'ok');
  assert.equal((await getJson(srv.url, '/readyz')).body.status, 'ready');
  const ui = await fetch(`${srv.url}/`);
  assert.match(await ui.text(), /<title>Veil<\/title>/);
});
