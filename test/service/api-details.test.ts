import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { getJson, makeCapture, postJob, startTestServer, tempDir, trainTinyModel, waitFinal } from './helpers.ts';
import { ISCX_DECLARED_ORDER, Rng } from '../../src/dataset/index.ts';

/**
 * The API's small promises (issue 15): an empty model list means no model, unknown sort columns and non-multipart
 * uploads are refused in words, defaults are documented as defaults, warnings speak to API users, and models can be
 * unloaded and made (or unmade) defaults.
 */

let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
let vpnFile: string;
let shippedDir: string;

before(async () => {
  tmp = tempDir('veil-api-');
  shippedDir = path.join(tmp.dir, 'shipped');
  mkdirSync(shippedDir);
  await trainTinyModel(shippedDir, 'application', 'application');
  vpnFile = await trainTinyModel(tmp.dir, 'vpn', 'vpn');
  srv = await startTestServer(path.join(tmp.dir, 'data'), { modelDirs: [shippedDir] });
});
after(async () => {
  await srv?.close();
  tmp?.cleanup();
});

const json = async (method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> => {
  const r = await fetch(`${srv.url}${p}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
};

test('a job whose models field is empty ("" or []) applies no model, not the defaults; an absent field applies them', async () => {
  for (const models of ['', '[]', ' , ']) {
    const r = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) }, { models });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body.models, [], `models=${JSON.stringify(models)}`);
    const job = await waitFinal(srv.url, r.body.id);
    assert.equal(job.state, 'done');
    assert.deepEqual(job.summary.models, []);
  }
  const dflt = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) });
  assert.deepEqual(dflt.body.models, ['application']);
});

test('?sort on a column the results do not have answers 400 naming the allowed columns', async () => {
  const r = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) }, { models: '' });
  await waitFinal(srv.url, r.body.id);
  const bad = await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results?sort=nope`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
  assert.match(bad.body.error.message, /'nope'/);
  assert.match(bad.body.error.message, /id_src_port/);
  const ok = await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results?sort=id_src_port&desc=true`);
  assert.equal(ok.status, 200);
  const port = ok.body.columns.findIndex((c: { name: string }) => c.name === 'id_src_port');
  assert.deepEqual(ok.body.rows.map((row: unknown[]) => row[port]), [40002, 40001, 40000]);
});

test('a non-multipart body to an upload route answers 415 in the documented format', async () => {
  for (const [route, type, body] of [
    ['/api/v1/jobs', 'application/json', '{"file":"x"}'],
    ['/api/v1/jobs', 'application/octet-stream', 'abc'],
    ['/api/v1/models', 'text/plain', 'abc'],
  ] as const) {
    const r = await fetch(`${srv.url}${route}`, { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal(r.status, 415, `${route} ${type}`);
    const b = (await r.json()) as { error: { code: string; status: number; message: string } };
    assert.equal(b.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(b.error.status, 415);
    assert.match(b.error.message, /multipart\/form-data|Content-Type/);
  }
});

test('OpenAPI does not mark offset and limit required: they have defaults', async () => {
  const doc = (await getJson(srv.url, '/docs/json')).body;
  for (const route of ['/api/v1/jobs', '/api/v1/jobs/{id}/results']) {
    const params = doc.paths[route].get.parameters as { name: string; in: string; required?: boolean; schema: { default?: unknown } }[];
    for (const name of ['offset', 'limit']) {
      const p = params.find((x) => x.name === name && x.in === 'query');
      assert.ok(p, `${route} ${name}`);
      assert.notEqual(p.required, true, `${route} ${name} is required`);
      assert.notEqual(p.schema.default, undefined);
    }
  }
  // And the defaults still apply.
  const list = await getJson(srv.url, '/api/v1/jobs');
  assert.equal(list.status, 200);
});

test('an ISCX ARFF job warns about its column order without telling API users to pass a CLI flag', async () => {
  const rng = new Rng(1);
  const stat = (): number[] => { const a = 1 + rng.float() * 1000, b = a + rng.float() * 1000, c = b + rng.float() * 1000; return [a, b, c, (c - a) / 3]; };
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) {
    const [fmin, fmean, fmax, fstd] = stat(), [bmin, bmean, bmax, bstd] = stat(), [imin, imean, imax, istd] = stat(), [amin, amean, amax, astd] = stat(), [dmin, dmean, dmax, dstd] = stat();
    rows.push([1e6 * rng.float(), fmin, bmin, fmax, bmax, fmean, bmean, fstd, bstd, rng.float() * 100, rng.float() * 1e5,
      imin, imax, imean, istd, amin, amean, amax, astd, dmin, dmean, dmax, dstd].join(',') + `,${i % 2 ? 'VPN' : 'Non-VPN'}`);
  }
  const arff = ['@RELATION flows', ...ISCX_DECLARED_ORDER.map((n) => `@ATTRIBUTE ${n} NUMERIC`), '@ATTRIBUTE class1 {Non-VPN,VPN}', '@DATA', ...rows].join('\n') + '\n';
  const r = await postJob(srv.url, { name: 'iscx.arff', data: Buffer.from(arff) }, { models: '' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await waitFinal(srv.url, r.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const w = (job.summary.warnings as string[]).find((x) => /ISCX 2016 header error/.test(x));
  assert.ok(w, job.summary.warnings.join('\n'));
  assert.doesNotMatch(w, /--[a-z]/, w);
  assert.match(w, /Columns renamed/);
});

test('a table lacking its label column says so in words, not "lacks 1 the label column"', async () => {
  const csv = Buffer.from('id_src_port,id_dst_port\n1,2\n');
  const r = await postJob(srv.url, { name: 'x.csv', data: csv }, { models: '', label: 'truth' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'MISSING_COLUMNS');
  assert.equal(r.body.error.message, "x.csv: lacks the label column 'truth'");
  const both = await postJob(srv.url, { name: 'x.csv', data: csv }, { models: 'application', label: 'truth' });
  assert.match(both.body.error.message, /^x\.csv: lacks the label column 'truth' and \d+ columns the models need: /);
});

test('an uploaded model is not made a default unless asked; PATCH chooses defaults; the choice survives a reload', async () => {
  const fd = new FormData();
  fd.append('file', new Blob([readFileSync(vpnFile)]), 'vpn.veilmodel');
  const up = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: fd });
  assert.equal(up.status, 201);
  assert.equal(((await up.json()) as { isDefault: boolean }).isDefault, false);
  const job = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) });
  assert.deepEqual(job.body.models, ['application'], 'the upload did not join the defaults');

  const on = await json('PATCH', '/api/v1/models/vpn', { default: true });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body.isDefault, true);
  const off = await json('PATCH', '/api/v1/models/application', { default: false });
  assert.equal(off.body.isDefault, false);
  assert.deepEqual((await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) })).body.models, ['vpn']);
  assert.equal((await json('PATCH', '/api/v1/models/vpn', { default: 'yes' })).status, 400);
  assert.equal((await json('PATCH', '/api/v1/models/nope', { default: true })).body.error.code, 'MODEL_NOT_FOUND');

  await srv.ctx.catalog.load();
  const list = (await getJson(srv.url, '/api/v1/models')).body.models as { name: string; isDefault: boolean }[];
  assert.deepEqual(list.map((m) => [m.name, m.isDefault]).sort(), [['application', false], ['vpn', true]]);
  await json('PATCH', '/api/v1/models/application', { default: true });
});

test('DELETE unloads a model: an upload is deleted, a --models one stays on disk but is not loaded again', async () => {
  const uploaded = path.join(srv.ctx.dataDir, 'models', 'vpn.veilmodel');
  assert.ok(existsSync(uploaded));
  assert.equal((await json('DELETE', '/api/v1/models/vpn')).status, 204);
  assert.equal(existsSync(uploaded), false);
  assert.equal((await json('DELETE', '/api/v1/models/vpn')).body.error.code, 'MODEL_NOT_FOUND');

  assert.equal((await json('DELETE', '/api/v1/models/application')).status, 204);
  assert.ok(existsSync(path.join(shippedDir, 'application.veilmodel')), 'a --models directory is read-only');
  assert.deepEqual((await getJson(srv.url, '/api/v1/models')).body.models, []);
  await srv.ctx.catalog.load();
  assert.deepEqual((await getJson(srv.url, '/api/v1/models')).body.models, [], 'still unloaded after a reload');
  const r = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(3) }, { models: 'application' });
  assert.equal(r.body.error.code, 'UNKNOWN_MODEL');
});

test('result columns carry their kind, unit and meaning from the server; where= filters exactly; groups count flows per value', async () => {
  const r = await postJob(srv.url, { name: 'k.pcap', data: makeCapture(9, 6, ['www.netflix.com', 'zoom.us', 'www.example.com']) }, { models: '' });
  await waitFinal(srv.url, r.body.id);
  const page = (await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results`)).body;
  const kind = Object.fromEntries((page.columns as { name: string; kind: string }[]).map((c) => [c.name, c.kind]));
  assert.equal(kind.id_src_addr, 'address');
  assert.equal(kind.id_dst_port, 'port');
  assert.equal(kind.id_protocol, 'protocol');
  assert.equal(kind.id_first_ts, 'time');
  assert.equal(kind.tls_sni, 'name');
  assert.equal(kind.tls_ja4, 'fingerprint');
  assert.equal(kind.app, 'service');
  assert.equal(kind.category_confidence, 'confidence');
  const ts = (page.columns as { name: string; unit: string; description: string }[]).find((c) => c.name === 'id_first_ts')!;
  assert.equal(ts.unit, 's');
  assert.match(ts.description, /epoch/);

  const netflix = (await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results?where=app%3DNetflix`)).body;
  assert.equal(netflix.matched, 3);
  const app = netflix.columns.findIndex((c: { name: string }) => c.name === 'app');
  assert.ok(netflix.rows.every((row: unknown[]) => row[app] === 'Netflix'));
  const none = (await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results?where=app%3DNetflix&where=category%3Dvoip`)).body;
  assert.equal(none.matched, 0);
  assert.equal((await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results?where=nope%3Dx`)).status, 400);

  const g = (await getJson(srv.url, `/api/v1/jobs/${r.body.id}/groups?by=category`)).body;
  assert.equal(g.groups, 3);
  assert.equal(g.matched, 9);
  assert.deepEqual(g.rows.map((x: { value: string; flows: number }) => [x.value, x.flows]).sort(), [['browsing', 3], ['streaming', 3], ['voip', 3]]);
  const hosts = (await getJson(srv.url, `/api/v1/jobs/${r.body.id}/groups?by=id_dst_addr&where=app%3DZoom`)).body;
  assert.equal(hosts.matched, 3);
  assert.equal(hosts.rows.reduce((a: number, x: { flows: number }) => a + x.flows, 0), 3);
  const bad = await getJson(srv.url, `/api/v1/jobs/${r.body.id}/groups?by=nope`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /tls_sni/);
});

test("a failed job's kept flows are readable: results, groups and downloads answer as for a done job", async () => {
  const { ResultWriter } = await import('../../src/service/store/results.ts');
  const id = `j${Date.now().toString(36).padStart(9, '0')}feedfacecafe`;
  srv.ctx.registry.insert({
    kind: 'veil-job', version: 1, id, input: { kind: 'capture', format: 'pcap', gzip: false }, file: `uploads/${id}.pcap`,
    inputName: 'cut.pcap', inputBytes: 10, models: [], labelColumn: null, partial: false, createdAt: Date.now(),
  });
  // Failed in the same tick: no worker claims it.
  srv.ctx.registry.fail(id, 'BAD_CAPTURE', 'cut.pcap: truncated record at byte offset 9000');
  const w = new ResultWriter(srv.ctx.dataDir, id, [{ name: 'id_flow', type: 'int', role: 'identity' }, { name: 'app', type: 'string', role: 'metadata' }]);
  w.add([1, 'Netflix']);
  w.add([2, 'Zoom']);
  w.commit({ rows: 2, warnings: [], labelColumn: null, models: [], durationMs: 1 });
  const page = await getJson(srv.url, `/api/v1/jobs/${id}/results`);
  assert.equal(page.status, 200, JSON.stringify(page.body));
  assert.deepEqual(page.body.rows, [[1, 'Netflix'], [2, 'Zoom']]);
  assert.equal((await getJson(srv.url, `/api/v1/jobs/${id}/groups?by=app`)).body.groups, 2);
  const csv = await fetch(`${srv.url}/api/v1/jobs/${id}/results.csv`);
  assert.equal(csv.status, 200);
  assert.equal(await csv.text(), 'id_flow,app\n1,Netflix\n2,Zoom\n');
  // A damaged capture's job fails and keeps the flows before the damage (src/service/jobs/process.ts): readable too.
  const cap = makeCapture(3);
  const cut = await postJob(srv.url, { name: 'x.pcap.gz', data: gzipSync(cap.subarray(0, cap.length - 37)) }, { models: '' });
  assert.equal(cut.status, 202, JSON.stringify(cut.body));
  const failed = await waitFinal(srv.url, cut.body.id);
  assert.equal(failed.state, 'failed');
  const r = await getJson(srv.url, `/api/v1/jobs/${cut.body.id}/results`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.total >= 1 && r.body.total <= 3, `the flows before the damage: ${r.body.total}`);
  // A job with no results at all still says why.
  const queued = `j${Date.now().toString(36).padStart(9, '0')}0badc0ffee00`;
  srv.ctx.registry.insert({
    kind: 'veil-job', version: 1, id: queued, input: { kind: 'capture', format: 'pcap', gzip: false }, file: `uploads/${queued}.pcap`,
    inputName: 'gone.pcap', inputBytes: 10, models: [], labelColumn: null, partial: false, createdAt: Date.now(),
  });
  srv.ctx.registry.fail(queued, 'BAD_CAPTURE', 'gone.pcap: not a capture');
  const none = await getJson(srv.url, `/api/v1/jobs/${queued}/results`);
  assert.equal(none.status, 409);
  assert.match(none.body.error.message, /failed: gone\.pcap: not a capture/);
});
