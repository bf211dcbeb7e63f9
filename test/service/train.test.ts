import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { getJson, postEmpty, postJob, postTrain as postTrainTo, startTestServer, tempDir, waitFinal } from './helpers.ts';
import { callFlow, homeCaptures, learnCapture, streamFlow } from '../helpers/learn-captures.ts';

/**
 * Training as a job (POST /models/train) and the registry of versions: labels from the names the flows show, a
 * model of behaviour that answers where the names are hidden, versions with activate and retire, and the bad
 * inputs (no labelled flow, one class, a table without its label column, a cancel mid-way).
 */
let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
const dataDir = (): string => path.join(tmp.dir, 'data');
const caps = homeCaptures();

before(async () => {
  tmp = tempDir('veil-train-');
  srv = await startTestServer(dataDir(), { concurrency: 1 });
});
after(async () => {
  await srv.close();
  tmp.cleanup();
});

/** The shared server's training route and body-less POSTs (test/service/helpers.ts). */
const postTrain = (files: { name: string; data: Buffer }[], fields: Record<string, string>) => postTrainTo(srv.url, files, fields);
const post = (p: string) => postEmpty(srv.url, p);

test('a training job labels captures by their names, learns behaviour, registers a version with its report, and an activated version answers hidden flows', async () => {
  const sent = await postTrain(caps.home, { name: 'home-apps', folds: '2' });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.type, 'train');
  assert.deepEqual(sent.body.train, { name: 'home-apps', label: 'names:app', learner: 'auto', split: 'group', folds: 2, inputs: 4 });
  const job = await waitFinal(srv.url, sent.body.id, 120_000);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const t = job.summary.training;
  assert.equal(t.version, 1);
  assert.deepEqual(t.classes.map((c: string) => c.toLowerCase()).sort(), ['netflix', 'zoom']);
  assert.equal(t.rows, 96);
  assert.equal(t.learner, 'boosting');
  assert.match(t.split, /group/i);
  assert.ok(t.metrics.macroF1 > 0.9, `held-out macro-F1 ${t.metrics.macroF1}`);
  assert.equal(t.activated, false);
  // The uploads are gone once the job is final; the version's files stay.
  assert.deepEqual(readdirSync(path.join(dataDir(), 'uploads')).filter((f) => f.startsWith(sent.body.id)), []);

  const versions = (await getJson(srv.url, '/api/v1/models/home-apps/versions')).body;
  assert.equal(versions.active, null);
  assert.equal(versions.versions.length, 1);
  const v1 = versions.versions[0];
  assert.equal(v1.state, 'inactive');
  assert.equal(v1.jobId, sent.body.id);
  assert.deepEqual(v1.data.inputs.map((i: { name: string }) => i.name), caps.home.map((c) => c.name));
  assert.equal(v1.data.rows, 96);
  assert.equal(v1.sha256, t.sha256);
  assert.equal(v1.createdBy, null);

  const report = await fetch(`${srv.url}/api/v1/models/home-apps/versions/1/report`);
  assert.equal(report.status, 200);
  assert.match(report.headers.get('content-type') ?? '', /text\/html/);
  assert.match(report.headers.get('content-security-policy') ?? '', /sandbox/);
  const html = await report.text();
  assert.match(html, /<svg/);
  assert.match(html, /netflix/i);
  const ev = (await getJson(srv.url, '/api/v1/models/home-apps/versions/1/report.json')).body;
  assert.equal(ev.kind, 'veil-evaluation');
  assert.equal(ev.split.kind, 'group');
  assert.equal(ev.macro.f1, t.metrics.macroF1);
  for (const c of ['importance', 'f1', 'confusion']) {
    const r = await fetch(`${srv.url}/api/v1/models/home-apps/versions/1/charts/${c}.svg`);
    assert.equal(r.status, 200, c);
    assert.match(await r.text(), /^<svg/);
  }

  // Before activation, an upload is not answered by it; after, it is (a default model) and names hidden flows.
  assert.ok(!(await getJson(srv.url, '/api/v1/models')).body.models.some((m: { name: string }) => m.name === 'home-apps'));
  const act = await post('/api/v1/models/home-apps/versions/1/activate');
  assert.equal(act.status, 200, JSON.stringify(act.body));
  assert.equal(act.body.active, 1);
  assert.equal(act.body.versions[0].state, 'active');
  const loaded = (await getJson(srv.url, '/api/v1/models/home-apps')).body;
  assert.equal(loaded.version, 1);
  assert.equal(loaded.isDefault, true);
  assert.equal(loaded.sha256, t.sha256);
  assert.ok(loaded.metrics && loaded.metrics.macroF1 > 0.9, 'the version\'s evaluation travels with it');

  const applied = await postJob(srv.url, caps.hidden);
  assert.equal(applied.status, 202);
  assert.deepEqual(applied.body.models, ['home-apps']);
  const done = await waitFinal(srv.url, applied.body.id, 60_000);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  const page = (await getJson(srv.url, `/api/v1/jobs/${applied.body.id}/results?limit=100`)).body;
  const names = page.columns.map((c: { name: string }) => c.name);
  const label = names.indexOf('home-apps.label');
  assert.ok(label >= 0, `columns: ${names.join(', ')}`);
  const answers = page.rows.map((r: unknown[]) => String(r[label]).toLowerCase()).sort();
  assert.deepEqual(answers, ['netflix', 'netflix', 'zoom', 'zoom']);

  // A second training of the name is version 2, active on request; retiring it unloads it, and it stays retired.
  const second = await postTrain(caps.home, { name: 'home-apps', folds: '2', learner: 'forest', activate: 'true' });
  assert.equal(second.status, 202);
  const job2 = await waitFinal(srv.url, second.body.id, 120_000);
  assert.equal(job2.state, 'done', JSON.stringify(job2.error));
  assert.equal(job2.summary.training.version, 2);
  assert.equal(job2.summary.training.learner, 'forest');
  const after2 = await (async () => {
    for (let i = 0; i < 100; i++) {
      const v = (await getJson(srv.url, '/api/v1/models/home-apps/versions')).body;
      if (v.active === 2) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('version 2 was never activated');
  })();
  assert.deepEqual(after2.versions.map((v: { version: number; state: string }) => [v.version, v.state]), [[2, 'active'], [1, 'inactive']]);
  assert.equal((await getJson(srv.url, '/api/v1/models/home-apps')).body.version, 2);
  const retired = await post('/api/v1/models/home-apps/versions/2/retire');
  assert.equal(retired.status, 200);
  assert.equal(retired.body.active, null);
  assert.equal((await getJson(srv.url, '/api/v1/models/home-apps')).body.error.code, 'MODEL_NOT_FOUND');
  const again = await post('/api/v1/models/home-apps/versions/2/activate');
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'MODEL_RETIRED');
  assert.equal((await post('/api/v1/models/home-apps/versions/9/activate')).body.error.code, 'VERSION_NOT_FOUND');
  const trainings = (await getJson(srv.url, '/api/v1/jobs?type=train')).body;
  assert.deepEqual(trainings.jobs.map((j: { id: string }) => j.id).sort(), [sent.body.id, second.body.id].sort());
  assert.ok((await getJson(srv.url, '/api/v1/jobs?type=classify')).body.jobs.every((j: { type: string }) => j.type === 'classify'));
  assert.equal((await getJson(srv.url, '/api/v1/jobs?type=nope')).status, 400);
  const registry = (await getJson(srv.url, '/api/v1/registry')).body;
  assert.deepEqual(registry.models.map((m: { name: string; versions: unknown[] }) => [m.name, m.versions.length]), [['home-apps', 2]]);
});

test('training errors are clear: no labelled flow, one class, a table without its label column, bad fields', async () => {
  const nameless = { name: 'quiet.pcap', data: learnCapture([streamFlow(''), callFlow('')], 1_700_200_000_000_000) };
  const a = await postTrain([nameless], { name: 'nothing', split: 'kfold' });
  assert.equal(a.status, 202);
  const ja = await waitFinal(srv.url, a.body.id, 60_000);
  assert.equal(ja.state, 'failed');
  assert.equal(ja.error.code, 'NO_LABELS');
  assert.match(ja.error.message, /quiet\.pcap/);
  assert.doesNotMatch(ja.error.message, /uploads\//, 'the message names the upload, not where it is stored');

  const zoomOnly = ['a', 'b'].map((n, i) => ({ name: `${n}.pcap`, data: learnCapture([callFlow('us04web.zoom.us'), callFlow('us04web.zoom.us')], 1_700_300_000_000_000 + i * 1e9) }));
  const b = await postTrain(zoomOnly, { name: 'one' });
  const jb = await waitFinal(srv.url, b.body.id, 60_000);
  assert.equal(jb.state, 'failed');
  assert.equal(jb.error.code, 'ONE_CLASS');
  assert.match(jb.error.message, /zoom/i);

  const table = { name: 'flows.csv', data: Buffer.from('id_capture,fwd_pkts,app\na,1,x\nb,2,y\n') };
  const c = await postTrain([table], { name: 'tab' });
  assert.equal(c.status, 400);
  assert.equal(c.body.error.code, 'MISSING_COLUMNS');
  assert.match(c.body.error.message, /flows\.csv.*label/);

  for (const [fields, re] of [
    [{}, /name/],
    [{ name: '../x' }, /not allowed/],
    [{ name: 'ok', learner: 'svm' }, /learner/],
    [{ name: 'ok', folds: '1' }, /folds/],
    [{ name: 'ok', label: 'column:app' }, /label for captures/],
  ] as [Record<string, string>, RegExp][]) {
    const r = await postTrain([caps.home[0]!], fields);
    assert.equal(r.status, 400, JSON.stringify(fields));
    assert.match(r.body.error.message, re);
  }
  // A label column of unique values (a flow id taken for the label) is refused before any tree is grown.
  const ids = ['id_capture,fwd_pkts_tot,label', ...Array.from({ length: 1500 }, (_, i) => `c${i % 3},${i},flow-${i}`)];
  const u = await postTrain([{ name: 'ids.csv', data: Buffer.from(ids.join('\n') + '\n') }], { name: 'ids' });
  assert.equal(u.status, 202);
  const ju = await waitFinal(srv.url, u.body.id, 60_000);
  assert.equal(ju.state, 'failed');
  assert.equal(ju.error.code, 'BAD_REQUEST');
  assert.match(ju.error.message, /ids\.csv: the label column 'label' has 1500 classes \(1500 of them on one row only\)/);

  const single = await postTrain([caps.home[0]!], { name: 'single' });
  assert.equal(single.status, 400);
  assert.match(single.body.error.message, /two captures or more, or split=kfold/);

  const mixed = await postTrain([caps.home[0]!, table], { name: 'mixed' });
  assert.equal(mixed.status, 400);
  assert.match(mixed.body.error.message, /one flow table/);
  // Nothing of the refused uploads is left behind.
  assert.deepEqual(readdirSync(path.join(dataDir(), 'uploads')).filter((f) => f.endsWith('.part')), []);
});

test('a training job from a flow table with its label column, and a cancel that leaves no version', async () => {
  const rows = ['id_capture,fwd_pkts_tot,bwd_pkts_tot,flow_duration,label'];
  for (let g = 0; g < 4; g++) for (let i = 0; i < 30; i++) rows.push(`cap${g},${10 + (i % 5)},${40 + (i % 7)},${1000 + i},stream`, `cap${g},${2 + (i % 3)},${3 + (i % 2)},${20 + i},call`);
  const r = await postTrain([{ name: 'mine.csv', data: Buffer.from(rows.join('\n') + '\n') }], { name: 'from-table', folds: '2' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const j = await waitFinal(srv.url, r.body.id, 60_000);
  assert.equal(j.state, 'done', JSON.stringify(j.error));
  assert.deepEqual(j.summary.training.classes, ['call', 'stream']);
  assert.equal(j.summary.training.rows, 240);

  const many = Array.from({ length: 20 }, (_, i) => ({ name: `big-${i}.pcap`, data: caps.home[i % 4]!.data }));
  const c = await postTrain(many, { name: 'cancelled' });
  assert.equal(c.status, 202);
  const del = await fetch(`${srv.url}/api/v1/jobs/${c.body.id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await getJson(srv.url, `/api/v1/jobs/${c.body.id}`)).status, 404);
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal((await getJson(srv.url, '/api/v1/models/cancelled/versions')).body.error.code, 'MODEL_NOT_FOUND');
  assert.ok(!existsSync(path.join(dataDir(), 'uploads', `${c.body.id}.train`)), 'the cancelled job\'s uploads are removed');
});

test('on a server with API keys a version records who trained it (the key\'s id, never the key)', async () => {
  const t2 = tempDir('veil-train-keys-');
  const s2 = await startTestServer(path.join(t2.dir, 'data'), { apiKeys: ['alice-secret-key', 'bob-secret-key'] });
  try {
    const fields = { name: 'keyed', folds: '2' };
    const auth = { authorization: 'Bearer bob-secret-key' };
    assert.equal((await postTrainTo(s2.url, caps.home, fields)).status, 401);
    const r = await postTrainTo(s2.url, caps.home, fields, auth);
    assert.equal(r.status, 202);
    const job = await waitFinal(s2.url, r.body.id, 120_000, auth);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const v = (await getJson(s2.url, '/api/v1/models/keyed/versions', auth)).body.versions[0];
    const { createHash } = await import('node:crypto');
    assert.equal(v.createdBy, createHash('sha256').update('bob-secret-key').digest('hex').slice(0, 8));
  } finally {
    await s2.close();
    t2.cleanup();
  }
});

// A cancel during the fit and the job time limit: test/service/train-attacks.test.ts (a table whose fit takes long
// enough on any machine).

test('activating a trained version never silently replaces an uploaded model of the same name; replace=true does', async () => {
  // An uploaded model named 'mine' (trained by the first test's flows, uploaded as a file).
  const first = (await getJson(srv.url, '/api/v1/models/home-apps/versions')).body.versions.at(-1);
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(path.join(dataDir(), 'models', 'versions', 'home-apps', `${first.jobId}.veilmodel`));
  const fd = new FormData();
  fd.append('name', 'mine');
  fd.append('file', new Blob([bytes]), 'mine.veilmodel');
  assert.equal((await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: fd })).status, 201);
  const uploaded = (await getJson(srv.url, '/api/v1/models/mine')).body.sha256;
  const refused = await postTrain(caps.home, { name: 'mine', folds: '2', activate: 'true' });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'MODEL_EXISTS');
  const sent = await postTrain(caps.home, { name: 'mine', folds: '2', learner: 'forest' });
  assert.equal((await waitFinal(srv.url, sent.body.id, 120_000)).state, 'done');
  const act = await post('/api/v1/models/mine/versions/1/activate');
  assert.equal(act.status, 409);
  assert.equal(act.body.error.code, 'MODEL_EXISTS');
  assert.equal((await getJson(srv.url, '/api/v1/models/mine')).body.sha256, uploaded, 'the upload is still the model named mine');
  const forced = await post('/api/v1/models/mine/versions/1/activate?replace=true');
  assert.equal(forced.status, 200);
  assert.equal((await getJson(srv.url, '/api/v1/models/mine')).body.version, 1);
});

test('labels by file name: two uploads of one file name are two captures of one class', async () => {
  const named = [0, 1].flatMap((i) => [
    { name: 'netflix.pcap', data: learnCapture(Array.from({ length: 6 }, () => streamFlow('')), 1_700_400_000_000_000 + i * 1e9) },
    { name: 'zoom.pcap', data: learnCapture(Array.from({ length: 6 }, () => callFlow('')), 1_700_500_000_000_000 + i * 1e9) },
  ]);
  const sent = await postTrain(named, { name: 'by-file', label: 'file', folds: '2' });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const job = await waitFinal(srv.url, sent.body.id, 120_000);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  assert.deepEqual(job.summary.training.classes, ['netflix', 'zoom']);
  const ev = (await getJson(srv.url, `/api/v1/models/by-file/versions/${job.summary.training.version}/report.json`)).body;
  assert.equal(ev.split.kind, 'group');
  assert.match(ev.split.description, /4 groups/);
});
