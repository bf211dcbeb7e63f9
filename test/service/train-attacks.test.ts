import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { getJson, makeCapture, postEmpty, postJob, postTrain as postTrainTo, startTestServer, tempDir, waitFinal } from './helpers.ts';
import { callFlow, homeCaptures, learnCapture, streamFlow } from '../helpers/learn-captures.ts';

/**
 * The training endpoint and the model registry under a hostile client (bench/attack-train.ts runs the same attacks
 * against `veil serve` and measures memory and event-loop lag): bad multipart bodies, path-like model names, file
 * names carrying HTML into labels and reports, version numbers out of range, concurrent activations and retires.
 * The tests after the first five pin defects the attack found and src/service then fixed (each comment says what
 * was wrong): a cancel or a time limit unseen during the fit, no bound on trainings, a class per row, a gzip bomb
 * among the captures, a default model of foreign columns.
 */
let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
const dataDir = (): string => path.join(tmp.dir, 'data');
const caps = homeCaptures();
const XSS = '<img src=x onerror=alert(1)>';
const SVGX = '<svg onload=alert(2)>';

before(async () => {
  tmp = tempDir('veil-train-attacks-');
  srv = await startTestServer(dataDir(), { concurrency: 1 });
});
after(async () => {
  await srv.close();
  tmp.cleanup();
});

/** The shared server's training route and body-less POSTs (test/service/helpers.ts). */
const postTrain = (files: { name: string; data: Buffer }[], fields: Record<string, string>) => postTrainTo(srv.url, files, fields);
const post = (p: string) => postEmpty(srv.url, p);

/** Trains `name` on the four home captures and returns its version number. */
async function trainHome(name: string): Promise<number> {
  const r = await postTrain(caps.home, { name, folds: '2' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const j = await waitFinal(srv.url, r.body.id, 120_000);
  assert.equal(j.state, 'done', JSON.stringify(j.error));
  return j.summary.training.version as number;
}

test('hostile multipart bodies are refused with a clear code and leave no upload behind', async () => {
  const garbage = (i: number): Buffer => Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 31 + i) & 255));
  for (const [files, status, code, re] of [
    [[], 400, 'UPLOAD_MISSING', /no file part/],
    [Array.from({ length: 51 }, (_, i) => ({ name: `c${i}.pcap`, data: makeCapture(1) })), 400, 'BAD_REQUEST', /at most 50 file parts/],
    [Array.from({ length: 50 }, (_, i) => ({ name: `e${i}.pcap`, data: Buffer.alloc(0) })), 415, 'UNSUPPORTED_INPUT', /e0\.pcap: the upload is empty/],
    [Array.from({ length: 50 }, (_, i) => ({ name: `g${i}.pcap`, data: garbage(i) })), 415, 'UNSUPPORTED_INPUT', /g0\.pcap: neither a capture/],
    [[...caps.home.slice(0, 2), { name: 'last.pcap', data: garbage(1) }], 415, 'UNSUPPORTED_INPUT', /last\.pcap/],
  ] as [{ name: string; data: Buffer }[], number, string, RegExp][]) {
    const r = await postTrain(files, { name: 'm' });
    assert.equal(r.status, status, `${files.length} parts: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code);
    assert.match(r.body.error.message, re);
  }
  const left = readdirSync(path.join(dataDir(), 'uploads'), { recursive: true }).map(String);
  assert.deepEqual(left, [], 'nothing of the refused uploads is kept');
});

test('model names that are paths, hold control characters or are too long are refused before anything is stored', async () => {
  for (const name of ['../../etc', 'a/b', 'a\\b', '.hidden', '..', 'x\u0000y', 'x\ny', `m${'x'.repeat(64)}`, '%2e%2e', '<b>x</b>']) {
    const r = await postTrain([caps.home[0]!], { name });
    assert.equal(r.status, 400, `${JSON.stringify(name)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'BAD_REQUEST');
    assert.match(r.body.error.message, /not allowed/);
  }
  assert.deepEqual(readdirSync(path.join(dataDir(), 'uploads'), { recursive: true }).map(String), []);
});

test('labels by file names carrying path separators, control characters and HTML are reduced, and the report and charts run no script', async () => {
  const stream = (t: number): Buffer => learnCapture(Array.from({ length: 12 }, () => streamFlow('')), t);
  const call = (t: number): Buffer => learnCapture(Array.from({ length: 12 }, () => callFlow('')), t);
  const files = [
    { name: `../../x/${XSS}-1.pcap`, data: stream(1_700_000_000_000_000) },
    // (FormData itself sends CR and LF in a file name as %0D%0A; the other control characters travel as they are.)
    { name: `..\\..\\${SVGX}\u0001\u001b\u0000\u007f-1.pcap`, data: call(1_700_000_100_000_000) },
    { name: `/etc/${XSS}-2.pcap`, data: stream(1_700_000_200_000_000) },
    { name: `C:\\${SVGX}-2.pcap`, data: call(1_700_000_300_000_000) },
  ];
  const r = await postTrain(files, { name: 'xss', label: 'file', folds: '2' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const j = await waitFinal(srv.url, r.body.id, 120_000);
  assert.equal(j.state, 'done', JSON.stringify(j.error));
  const v = (await getJson(srv.url, '/api/v1/models/xss/versions')).body.versions[0];
  // The client's names keep only their last path element, without control characters.
  assert.deepEqual(v.data.inputs.map((i: { name: string }) => i.name), [`${XSS}-1.pcap`, `${SVGX}-1.pcap`, `${XSS}-2.pcap`, `${SVGX}-2.pcap`]);
  assert.deepEqual([...v.data.classes].sort(), [XSS, SVGX].sort());
  // No stored file is named after a client's name: they are never used as paths.
  assert.deepEqual(readdirSync(dataDir(), { recursive: true }).map(String).filter((f) => /[<>]|onerror|onload/.test(f)), []);

  const report = await fetch(`${srv.url}/api/v1/models/xss/versions/1/report`);
  assert.equal(report.status, 200);
  const html = await report.text();
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/, 'the label is shown, escaped');
  assert.doesNotMatch(html, /<img src=x|<svg onload/i, 'no label reaches the page as markup');
  const csp = report.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /\bsandbox\b/);
  assert.doesNotMatch(csp, /script-src/);
  for (const c of ['f1', 'confusion', 'importance']) {
    const res = await fetch(`${srv.url}/api/v1/models/xss/versions/1/charts/${c}.svg`);
    assert.equal(res.status, 200, c);
    assert.match(res.headers.get('content-type') ?? '', /image\/svg\+xml/);
    const svg = await res.text();
    assert.doesNotMatch(svg, /<img src=x|<svg onload/i, `${c}.svg holds no label as markup`);
  }
});

test('version numbers that overflow, are negative, fractional or not numbers get 400 or 404, never 500', async () => {
  await trainHome('nums');
  for (const v of ['0', '-1', '1.5', 'abc', '1e400', '9007199254740993', '99999999999999999999999', '0x10', '%00']) {
    for (const op of ['activate', 'retire']) {
      const r = await post(`/api/v1/models/nums/versions/${v}/${op}`);
      assert.ok(r.status === 400 || r.status === 404, `${op} ${v}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.code, /^(BAD_REQUEST|VERSION_NOT_FOUND)$/);
    }
    const g = await getJson(srv.url, `/api/v1/models/nums/versions/${v}/report.json`);
    assert.ok(g.status === 400 || g.status === 404, `report.json ${v}: ${g.status}`);
  }
  // Nothing was activated or retired by them.
  const list = (await getJson(srv.url, '/api/v1/models/nums/versions')).body;
  assert.deepEqual(list.versions.map((x: { state: string }) => x.state), ['inactive']);
});

test('concurrent activations and a retire end with one active version, the one the catalog loads', async () => {
  for (let i = 0; i < 3; i++) await trainHome('race');
  const ops = Array.from({ length: 19 }, (_, i) => post(`/api/v1/models/race/versions/${1 + (i % 3)}/activate`));
  ops.splice(10, 0, post('/api/v1/models/race/versions/1/retire'));
  const res = await Promise.all(ops);
  for (const r of res) assert.ok(r.status === 200 || (r.status === 409 && r.body.error.code === 'MODEL_RETIRED'), JSON.stringify(r.body));
  const list = (await getJson(srv.url, '/api/v1/models/race/versions')).body;
  const states = Object.fromEntries(list.versions.map((v: { version: number; state: string }) => [v.version, v.state]));
  assert.equal(states[1], 'retired');
  // The requests reach the registry in any order (the retire may come last, when v1 is the active one): at most one
  // version is active, and the catalog loads exactly that one under the name, or nothing when none is.
  const active = list.versions.filter((v: { state: string }) => v.state === 'active');
  assert.ok(active.length <= 1, JSON.stringify(states));
  assert.equal(list.active, active[0]?.version ?? null);
  const models = (await getJson(srv.url, '/api/v1/models')).body;
  const loaded = (models.models as { name: string; sha256: string }[]).find((m) => m.name === 'race');
  assert.equal(loaded?.sha256 ?? null, active[0]?.sha256 ?? null, JSON.stringify(states));
  const after = await post('/api/v1/models/race/versions/3/activate');
  assert.equal(after.status, 200);
  assert.equal(after.body.active, 3);
  // A retired version stays retired.
  const again = await post('/api/v1/models/race/versions/1/activate');
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'MODEL_RETIRED');
});

/** A CSV flow table of numeric features, `classes` labels, grouped in 8 captures: seconds of boosting to fit. */
function slowTable(rows: number, features: number, classes: number): Buffer {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const lines = [['id_capture', 'label', ...Array.from({ length: features }, (_, j) => `f${j}`)].join(',')];
  for (let i = 0; i < rows; i++) {
    const c = i % classes;
    lines.push([`cap${i % 8}`, `c${c}`, ...Array.from({ length: features }, (_, j) => (rnd() * 10 + (j < 3 ? c : 0)).toFixed(3))].join(','));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

// Found by the attack, since fixed: the pool thread learns of a cancel (DELETE /jobs/:id) or of its time limit (AbortSignal.timeout) only
// through its event loop (a MessagePort message, a timer), and a training job never yields to it: with threads: 1
// the trees are grown synchronously (model/trees/pool.ts runTasks), so `await` only runs microtasks. The deleted job
// trains to its end, holds the job slot meanwhile (bench/attack-train.ts: the next job waited 178 s) and writes its
// version files, which nothing registers or removes. Fix: poll the cancel in the learner's progress callback with
// receiveMessageOnPort(port) (or a SharedArrayBuffer flag set by the API thread), and check the deadline there too.
test('DELETE of a running training job stops its thread before it fits: nothing of the job is written', async () => {
  const up = await postTrain([{ name: 'slow.csv', data: slowTable(20_000, 20, 6) }], { name: 'cancelme', label: 'column:label', split: 'kfold', learner: 'boosting', folds: '3' });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  const id = up.body.id as string;
  for (;;) {
    const j = (await getJson(srv.url, `/api/v1/jobs/${id}`)).body;
    assert.notEqual(j.state, 'done', 'the table trained before the test could cancel it: make it bigger');
    if (j.state === 'running' && j.progress >= 0.4) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const del = await fetch(`${srv.url}/api/v1/jobs/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  // One job runs at a time (concurrency 1): a job sent now starts only once the cancelled one's thread let go.
  await trainHome('after-cancel');
  assert.deepEqual(readdirSync(path.join(dataDir(), 'models', 'versions'), { recursive: true }).map(String).filter((f) => f.includes(id)), []);
  assert.equal((await getJson(srv.url, '/api/v1/models/cancelme/versions')).status, 404);
});

// Found by the attack, since fixed: nothing bounds the training jobs one client may queue (POST /models/train answers 202 to every request the
// rate limit lets through; each holds its uploads on disk and its slot in the one FIFO queue until it runs, up to
// --job-timeout each). A flood delays every capture job behind it (bench/attack-train.ts, "flood"). Fix: a bound on
// queued (and running) training jobs per API key, e.g. 4, answered 429 with a code of its own.
test('a client cannot queue training jobs without bound: past a few queued, POST /models/train answers 429', async () => {
  const ids: string[] = [];
  const statuses: number[] = [];
  try {
    for (let i = 0; i < 30; i++) {
      const r = await postTrain(caps.home, { name: `flood${i}`, folds: '2' });
      statuses.push(r.status);
      if (r.status === 202) ids.push(r.body.id);
    }
    assert.ok(statuses.includes(429), `30 training jobs queued at once by one client: ${statuses.join(' ')}`);
  } finally {
    for (const id of ids) await fetch(`${srv.url}/api/v1/jobs/${id}`, { method: 'DELETE' });
  }
});

// Found by the second review, since fixed: the bound counted only trainings already queued, so requests sent at once
// all passed it (10 of 10 accepted).
test('training requests sent at once by one client pass the bound of 4 no more than requests sent one by one', async () => {
  const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => postTrain(caps.home, { name: `burst${i}`, folds: '2' })));
  const ok = sent.filter((r) => r.status === 202);
  try {
    assert.ok(ok.length <= 4, `${ok.length} of 10 accepted: ${sent.map((r) => r.status).join(' ')}`);
    assert.ok(sent.some((r) => r.status === 429 && r.body.error.code === 'RATE_LIMITED'));
  } finally {
    for (const r of ok) await fetch(`${srv.url}/api/v1/jobs/${r.body.id}`, { method: 'DELETE' });
  }
});

// Found by the attack, since fixed: a label column of as many distinct values as rows (a 6 MB CSV) is not refused: the learner sizes its
// held-out probabilities rows x classes (10^10 here), the typed array cannot be made, and the job ends INTERNAL
// "failed after 3 attempts: RangeError: Invalid typed array length" (retried as if transient). Fewer classes are
// worse: 20k of 20k rows (a 1.3 MB CSV) took the server to 4.6 GB resident in 33 s (141 s on a busier machine) of training (bench/attack-train.ts,
// where its watchdog killed it), and neither DELETE nor --job-timeout stops it (see above). Fix: refuse at upload time (the table
// inspection can count the label's distinct values) or in trainOnTable, with a user-facing TOO_MANY_CLASSES naming
// the column and a bound (e.g. 1,000 classes, and each class at least a few rows).
test('a label column with a class per row fails the job at once with a user-facing error naming the label column', async () => {
  const up = await postTrain([{ name: 'classes.csv', data: slowTable(100_000, 8, 100_000) }], { name: 'classes', label: 'column:label', split: 'kfold', folds: '2' });
  assert.equal(up.status === 202 || up.status === 400, true, JSON.stringify(up.body));
  if (up.status === 400) {
    assert.match(up.body.error.message, /classes\.csv.*label/);
    return;
  }
  const j = await waitFinal(srv.url, up.body.id, 120_000);
  assert.equal(j.state, 'failed');
  assert.notEqual(j.error.code, 'INTERNAL', j.error.message);
  assert.equal(j.attempts, 1, 'an input error is not retried');
  assert.match(j.error.message, /classes\.csv/);
  assert.match(j.error.message, /\blabel\b/);
});

/** A pcap.gz inflating to `inflated` bytes of zero-filled records (a few KB on the wire). */
function gzipBomb(inflated: number): Buffer {
  const n = Math.ceil(inflated / 76);
  const body = Buffer.alloc(24 + n * 76);
  makeCapture(1).copy(body, 0, 0, 24);
  for (let i = 0; i < n; i++) {
    body.writeUInt32LE(60, 24 + i * 76 + 8);
    body.writeUInt32LE(60, 24 + i * 76 + 12);
  }
  return gzipSync(body, { level: 9 });
}

// Found by the attack, since fixed: the server's --max-inflated limit travels in the job's payload (limits.maxInflatedBytes) but the training
// job never applies it: labelCaptures (src/learn/pipeline.ts) calls extractFlows without maxInflatedBytes, so a
// 1 MB .pcap.gz inflating to 1 GiB (bench/attack-train.ts) or far more is read to its end ("no flow in this
// capture"), bounded only by --job-timeout. Fix: a maxInflatedBytes in LabelOptions passed to extractFlows' hooks,
// set by jobs/train.ts from job.limits; the capture is then left out with the limit named, as capture jobs fail.
test('a gzip bomb among the captures is left out with a warning naming it and the limit, and the job trains on the others', async () => {
  const t2 = tempDir('veil-train-bomb-');
  const s2 = await startTestServer(path.join(t2.dir, 'data'), { concurrency: 1, maxInflatedBytes: 8 << 20 });
  try {
    const bomb = gzipBomb(64 << 20);
    assert.ok(bomb.length < 1 << 20, `${bomb.length} bytes on the wire`);
    const r = await postTrainTo(s2.url, [...caps.home, { name: 'bomb.pcap.gz', data: bomb }], { name: 'bombed', folds: '2' });
    assert.equal(r.status, 202);
    const j = await waitFinal(s2.url, r.body.id, 120_000);
    assert.equal(j.state, 'done', JSON.stringify(j.error));
    assert.equal(j.summary.training.rows, 96, 'the four good captures');
    const w = (j.summary.warnings as string[]).find((m) => /bomb\.pcap\.gz/.test(m));
    assert.ok(w, `a warning names the bomb: ${JSON.stringify(j.summary.warnings)}`);
    assert.match(w, /left out/);
    assert.match(w, /8388608 bytes|8 MiB|max-inflated/, 'the limit that stopped it');
    assert.doesNotMatch(w, /uploads\//, 'the warning names the upload, not where it is stored');
  } finally {
    await s2.close();
    t2.cleanup();
  }
});

// Found by the attack, since fixed (the cancel's root cause, seen from the time limit): the job's wall-time limit is an AbortSignal.timeout in
// the pool thread, whose timer cannot fire while the learner grows trees synchronously, so a training job runs
// past --job-timeout to its end and is recorded done. Fix: check a deadline (Date.now()) in the learner's progress
// callback, where the cancel is checked.
test('a training job longer than --job-timeout fails JOB_TIMEOUT', async () => {
  const t2 = tempDir('veil-train-timeout-');
  const s2 = await startTestServer(path.join(t2.dir, 'data'), { concurrency: 1, jobTimeoutMs: 1500 });
  try {
    const r = await postTrainTo(s2.url, [{ name: 'slow.csv', data: slowTable(20_000, 20, 6) }], { name: 'slow', label: 'column:label', split: 'kfold', learner: 'boosting', folds: '3' });
    assert.equal(r.status, 202);
    const j = await waitFinal(s2.url, r.body.id, 300_000);
    assert.equal(j.state, 'failed', `ran ${((j.finishedAt - j.startedAt) / 1000).toFixed(1)} s under a 1.5 s limit and ended ${j.state}`);
    assert.equal(j.error.code, 'JOB_TIMEOUT');
  } finally {
    await s2.close();
    t2.cleanup();
  }
});

// Found by the attack, since fixed: a version trained on a table whose feature columns are not flow-meter columns (f0, f1 here) can be
// activated (or trained with activate=true), and then every capture job that names no models fails
// MISSING_COLUMNS ("flows metered from the capture lack 2 column(s) the model(s) need: f0, f1"): one client's
// activation breaks the service's default classification. Fix: refuse to activate a model whose features the
// meter does not write (409 with a code of its own), or leave such a default out of capture jobs with a warning.
test('activating a version trained on foreign columns does not break capture jobs that name no models', async () => {
  const rows = ['id_capture,label,f0,f1'];
  for (let i = 0; i < 400; i++) rows.push(`cap${i % 4},${i % 2 ? 'a' : 'b'},${(i % 2) * 5 + (i % 7)},${i % 3}`);
  const up = await postTrain([{ name: 'foreign.csv', data: Buffer.from(`${rows.join('\n')}\n`) }], { name: 'foreign', label: 'column:label', folds: '2' });
  assert.equal(up.status, 202, JSON.stringify(up.body));
  const j = await waitFinal(srv.url, up.body.id, 120_000);
  assert.equal(j.state, 'done', JSON.stringify(j.error));
  const a = await post(`/api/v1/models/foreign/versions/${j.summary.training.version}/activate`);
  try {
    if (a.status !== 200) return; // refused: the capture jobs keep their defaults
    assert.match(a.body.note, /not a default model: it reads 2 column\(s\) Veil's meter does not write \(f0, f1\)/);
    assert.equal((await getJson(srv.url, '/api/v1/models/foreign')).body.isDefault, false);
    assert.match((await getJson(srv.url, '/api/v1/models/foreign/versions')).body.note, /not a default model/);
    const c = await postJob(srv.url, { name: 'victim.pcap', data: makeCapture(4) });
    assert.equal(c.status, 202);
    const cj = await waitFinal(srv.url, c.body.id, 60_000);
    assert.equal(cj.state, 'done', JSON.stringify(cj.error));
  } finally {
    if (a.status === 200) await post(`/api/v1/models/foreign/versions/${j.summary.training.version}/retire`);
  }
});
