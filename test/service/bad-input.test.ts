import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { RateLimiter } from '../../src/service/api/auth.ts';
import { getJson, makeCapture, postJob, startTestServer, tempDir, waitFinal } from './helpers.ts';

/**
 * Bad input over HTTP: each case gets a clear 4xx with a registered code, nothing is left on disk, and the
 * server keeps serving.
 */
const KEY = 'test-key-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };
const MAX = 256 * 1024;
let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;

before(async () => {
  tmp = tempDir();
  srv = await startTestServer(tmp.dir, { apiKeys: [KEY], maxUploadBytes: MAX, rateLimit: { perSecond: 1000, burst: 1000 } });
});
after(async () => {
  await srv.close();
  tmp.cleanup();
});

async function stillServing(): Promise<void> {
  assert.equal((await getJson(srv.url, '/healthz')).status, 200);
  assert.equal((await getJson(srv.url, '/api/v1/jobs', AUTH)).status, 200);
}

function noLeftovers(): void {
  const left = readdirSync(path.join(tmp.dir, 'uploads')).filter((f) => f.endsWith('.part'));
  assert.deepEqual(left, [], 'no partial upload is left');
}

test('a missing API key is refused with 401 AUTH_MISSING', async () => {
  const r = await getJson(srv.url, '/api/v1/jobs');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'AUTH_MISSING');
  assert.match(r.body.error.message, /Bearer/);
  const up = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(2) });
  assert.equal(up.status, 401);
  assert.equal((await getJson(srv.url, '/metrics')).status, 401);
  await stillServing();
});

test('a wrong API key is refused with 401 AUTH_INVALID', async () => {
  const r = await getJson(srv.url, '/api/v1/jobs', { authorization: 'Bearer nope' });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'AUTH_INVALID');
  await stillServing();
});

test('a truncated capture is refused with 400 BAD_CAPTURE naming the byte offset', async () => {
  const whole = makeCapture(5);
  const cut = whole.subarray(0, whole.length - 30);
  const r = await postJob(srv.url, { name: 'cut.pcap', data: cut }, {}, AUTH);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'BAD_CAPTURE');
  assert.match(r.body.error.message, /cut\.pcap: .*byte offset \d+/);
  assert.match(r.body.error.message, /partial=true/);
  noLeftovers();
  await stillServing();
});

test('a truncated capture with partial=true keeps the flows before the damage', async () => {
  const whole = makeCapture(5);
  const r = await postJob(srv.url, { name: 'cut.pcap', data: whole.subarray(0, whole.length - 30) }, { partial: 'true' }, AUTH);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await waitFinal(srv.url, r.body.id, 30_000, AUTH);
  assert.equal(job.state, 'done');
  assert.equal(job.summary.rows, 5);
  assert.match(job.summary.warnings[0], /byte offset/);
});

test('a corrupt capture is refused with 400 BAD_CAPTURE', async () => {
  const good = makeCapture(3);
  const bad = Buffer.from(good);
  // Second record's capture length: absurd.
  const second = 24 + 16 + bad.readUInt32LE(24 + 8);
  bad.writeUInt32LE(0x7fffffff, second + 8);
  const r = await postJob(srv.url, { name: 'bad.pcap', data: bad }, {}, AUTH);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'BAD_CAPTURE');
  assert.match(r.body.error.message, new RegExp(`byte offset ${second}`));
  noLeftovers();
  await stillServing();
});

test('bytes that are neither a capture nor a table are refused with 415, whatever the name says', async () => {
  const noise = Buffer.alloc(5000);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) & 0xff;
  const r = await postJob(srv.url, { name: 'capture.pcap', data: noise }, {}, AUTH);
  assert.equal(r.status, 415);
  assert.equal(r.body.error.code, 'UNSUPPORTED_INPUT');
  const empty = await postJob(srv.url, { name: 'x.csv', data: Buffer.alloc(0) }, {}, AUTH);
  assert.equal(empty.status, 415);
  noLeftovers();
  await stillServing();
});

test('path-like file names are never used as paths', async () => {
  const passwd = Buffer.from('root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n');
  const r = await postJob(srv.url, { name: '../../etc/passwd', data: passwd }, {}, AUTH);
  assert.equal(r.status, 415, 'passwd text is not a capture or table');
  assert.equal(r.body.error.code, 'UNSUPPORTED_INPUT');
  assert.match(r.body.error.message, /^passwd: /, 'the name is reduced to its last element for display');

  const ok = await postJob(srv.url, { name: '../../../tmp/evil.pcap', data: makeCapture(2) }, {}, AUTH);
  assert.equal(ok.status, 202);
  assert.equal(ok.body.inputName, 'evil.pcap');
  assert.deepEqual(readdirSync(path.join(tmp.dir, 'uploads')).filter((f) => !f.startsWith(ok.body.id)), [], 'stored under the job id only');
  await waitFinal(srv.url, ok.body.id, 30_000, AUTH);
  assert.ok(!existsSync(path.join(os.tmpdir(), 'evil.pcap')));

  const model = new FormData();
  model.append('name', '../../etc/passwd');
  model.append('file', new Blob([Buffer.from('{}')]), 'm.veilmodel');
  const m = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: model, headers: AUTH });
  assert.equal(m.status, 400);
  assert.equal(((await m.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');

  const j = await getJson(srv.url, '/api/v1/jobs/..%2F..%2Fetc%2Fpasswd', AUTH);
  assert.equal(j.status, 400);
  assert.equal(j.body.error.code, 'BAD_REQUEST');
  await stillServing();
});

test('a foreign file uploaded as a model is refused with 400 BAD_MODEL', async () => {
  const fd = new FormData();
  fd.append('file', new Blob([makeCapture(1)]), 'model.veilmodel');
  const r = await fetch(`${srv.url}/api/v1/models`, { method: 'POST', body: fd, headers: AUTH });
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(r.status, 400);
  assert.equal(body.error.code, 'BAD_MODEL');
  assert.deepEqual(readdirSync(path.join(tmp.dir, 'models')).filter((f) => !f.endsWith('.json')), []);
  await stillServing();
});

test('a CSV without the label column it names is refused with 400 MISSING_COLUMNS', async () => {
  const csv = Buffer.from('id_flow,fwd_pkt_len_mean,bwd_pkt_len_mean\n1,100,200\n2,120,80\n');
  const r = await postJob(srv.url, { name: 'flows.csv', data: csv }, { label: 'app' }, AUTH);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'MISSING_COLUMNS');
  assert.match(r.body.error.message, /flows\.csv: lacks the label column 'app'/);
  noLeftovers();
  await stillServing();
});

test('unknown models and empty classify batches are clear errors', async () => {
  const r = await postJob(srv.url, { name: 'a.pcap', data: makeCapture(1) }, { models: 'no-such-model' }, AUTH);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'UNKNOWN_MODEL');
  const c = await fetch(`${srv.url}/api/v1/classify`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ rows: [] }) });
  assert.equal(c.status, 400);
  assert.equal(((await c.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  await stillServing();
});

test('an oversized upload is refused with 413 and no partial file is kept', async () => {
  const big = Buffer.concat([makeCapture(40), Buffer.alloc(MAX)]);
  const boundary = 'veilboundary42';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pcap"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL(`${srv.url}/api/v1/jobs`);
  // Raw http: the server answers before it has read the whole body, which fetch reports as a network error.
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...AUTH, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + big.length + tail.length } }, (resp) => {
      let body = '';
      resp.setEncoding('utf8');
      resp.on('data', (c: string) => { body += c; });
      resp.on('end', () => resolve({ status: resp.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(head);
    req.write(big);
    req.end(tail);
  });
  assert.equal(res.status, 413);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'UPLOAD_TOO_LARGE');
  assert.match(body.error.message, /256 KiB/);
  noLeftovers();
  await stillServing();
});

test('a key over its rate limit gets 429 with Retry-After', async () => {
  let t = 0;
  const rl = new RateLimiter(2, 3, () => t);
  rl.take('k'); rl.take('k'); rl.take('k');
  assert.throws(() => rl.take('k'), (e: { code: string; headers: Record<string, string> }) => e.code === 'RATE_LIMITED' && e.headers['retry-after'] === '1');
  t = 600;
  rl.take('k');
  rl.take('other');
});
