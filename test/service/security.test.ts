import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { isLoopback, hostOf } from '../../src/service/api/auth.ts';
import { makeCapture, startTestServer, tempDir, multipart, rawRequest, type RawAnswer } from './helpers.ts';

/**
 * Nothing gets past the key: authorisation is decided on the route the router matched, so no spelling of a path
 * (percent-encoded, dot segments, doubled slashes, absolute-form request lines) reaches a guarded route without a
 * key; a key-less loopback server answers only to its own names and refuses cross-origin writes; wrong keys are
 * rate-limited by client address.
 */
const KEY = 'security-test-key-0123456789';
const KEY2 = 'security-test-key-never-used-before';

/** One request with the request line exactly as written. */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}, body?: Buffer, localAddress?: string): Promise<RawAnswer> {
  return rawRequest(port, method, target, { headers, ...(body ? { body } : {}), ...(localAddress ? { localAddress } : {}) });
}

/** Spellings of one path that a router may take for it. */
function variants(p: string): string[] {
  const enc1 = p.replace(/^\/(.)/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16)}`);
  const encUpper = p.replace(/^\/(.)/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const encAll = p.split('/').map((seg) => seg.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)).join('/');
  return [
    p, enc1, encUpper, encAll,
    `/x/..${p}`, `/.${p}`, `/${p}`, p.replace(/\/([^/]+)$/, '/./$1'), p.replace(/^\/([^/]+)\//, '/$1/x/../'),
    `http://x${p}`, `http://127.0.0.1${p}`, `HTTP://X${enc1}`,
    `${p}?`, `${p}#x`, `${p}/`,
  ];
}

describe('a server that requires API keys', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let tmp: ReturnType<typeof tempDir>;
  let port: number;
  let jobId: string;

  before(async () => {
    tmp = tempDir();
    srv = await startTestServer(tmp.dir, { apiKeys: [KEY, KEY2], rateLimit: { perSecond: 1000, burst: 1000 } });
    port = Number(new URL(srv.url).port);
    const fd = new FormData();
    fd.append('file', new Blob([makeCapture(2)]), 'a.pcap');
    const res = await fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', body: fd, headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(res.status, 202);
    jobId = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await srv.close();
    tmp.cleanup();
  });

  test('no route of the OpenAPI document answers 2xx without a key, however its path is spelt', async () => {
    const doc = (await (await fetch(`${srv.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes: { method: string; path: string }[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops)) routes.push({ method: m.toUpperCase(), path: p.replace(/\{id\}/g, jobId).replace(/\{[^}]+\}/g, 'x') });
    }
    routes.push({ method: 'GET', path: '/metrics' });
    const publicPaths = new Set(['/healthz', '/readyz']);
    let checked = 0;
    for (const r of routes) {
      if (publicPaths.has(r.path)) continue;
      for (const target of variants(r.path)) {
        const a = await raw(port, r.method, target, r.method === 'GET' || r.method === 'DELETE' ? {} : { 'content-type': 'application/json' }, r.method === 'POST' ? Buffer.from('{}') : undefined);
        checked++;
        assert.ok(a.status >= 400 && a.status < 500, `${r.method} ${target} answered ${a.status} without a key: ${a.body.slice(0, 200)}`);
        assert.ok(![200, 201, 202, 204].includes(a.status));
        assert.match(a.body, /"error":\{"code":"[A-Z_]+"/, `${r.method} ${target}: the documented error format`);
      }
    }
    assert.ok(checked > 100, `checked ${checked} spellings`);
    // The job is still there: none of the DELETE spellings reached it.
    const j = await fetch(`${srv.url}/api/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(j.status, 200);
  });

  test('with the key, an encoded spelling reaches the same route (the router decodes, the guard follows it)', async () => {
    const a = await raw(port, 'GET', '/%61pi/v1/jobs', { authorization: `Bearer ${KEY}` });
    assert.equal(a.status, 200);
    assert.match(a.body, /"jobs"/);
  });

  test('the UI, the docs, /healthz and /readyz need no key', async () => {
    for (const p of ['/', '/docs/json', '/healthz', '/readyz']) {
      const a = await raw(port, 'GET', p);
      assert.equal(a.status, 200, p);
    }
  });

  test('wrong keys are rate-limited by client address group (all of loopback is one), before the key is looked at', async () => {
    const statuses: number[] = [];
    // Rotating source addresses within 127.0.0.0/8 share one bucket.
    for (let i = 0; i < 100; i++) statuses.push((await raw(port, 'GET', '/api/v1/jobs', { authorization: `Bearer guess-${i}` }, undefined, `127.0.${i % 7}.${1 + (i % 200)}`)).status);
    const refused = statuses.filter((s) => s === 401).length;
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(refused <= 30, `${refused} guesses were answered 401 (the rest should be 429)`);
    assert.ok(limited >= 70, `${limited} guesses were rate-limited`);
    const last = await raw(port, 'GET', '/api/v1/jobs', { authorization: 'Bearer still-guessing' });
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers['retry-after']) >= 1);
    // Guessing gains nothing: a right key never used from here is refused like a wrong one while the group is limited.
    assert.equal((await raw(port, 'GET', '/api/v1/jobs', { authorization: `Bearer ${KEY2}` })).status, 429);
    // A key holder who already used the key from here is not locked out by someone else's guesses.
    assert.equal((await raw(port, 'GET', '/api/v1/jobs', { authorization: `Bearer ${KEY}` })).status, 200);
  });

  test('undecodable URLs answer in the documented format; every answer forbids framing and sniffing', async () => {
    for (const target of ['/%c1%a1pi/v1/jobs', '/api/v1/jobs%ff']) {
      const a = await raw(port, 'GET', target);
      assert.equal(a.status, 400, target);
      assert.equal(JSON.parse(a.body).error.code, 'BAD_REQUEST');
    }
    for (const p of ['/', '/api/v1/jobs', '/docs/json']) {
      const a = await raw(port, 'GET', p);
      assert.equal(a.headers['x-frame-options'], 'DENY', p);
      assert.equal(a.headers['x-content-type-options'], 'nosniff', p);
    }
  });

  test('POST /classify takes application/json only (text/plain is what a cross-site form sends)', async () => {
    const a = await raw(port, 'POST', '/api/v1/classify', { 'content-type': 'text/plain', authorization: `Bearer ${KEY}` }, Buffer.from('{"rows":[]}'));
    assert.equal(a.status, 400);
    assert.match(JSON.parse(a.body).error.message, /application\/json/);
  });

  test('headers over the limit answer 431 in the documented error format', async () => {
    const a = await raw(port, 'GET', '/healthz', { 'x-big': 'a'.repeat(20_000) });
    assert.equal(a.status, 431);
    assert.equal(JSON.parse(a.body).error.code, 'HEADERS_TOO_LARGE');
  });
});

describe('a key-less loopback server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let tmp: ReturnType<typeof tempDir>;
  let port: number;

  before(async () => {
    tmp = tempDir();
    srv = await startTestServer(tmp.dir, {});
    port = Number(new URL(srv.url).port);
  });
  after(async () => {
    await srv.close();
    tmp.cleanup();
  });

  test('the docs refuse a foreign Host in the documented format too', async () => {
    const a = await raw(port, 'GET', '/docs/json', { host: 'evil.example' });
    assert.equal(a.status, 403);
    assert.equal(JSON.parse(a.body).error.code, 'FORBIDDEN');
  });

  test('answers to loopback names only (DNS rebinding)', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.1']) {
      assert.equal((await raw(port, 'GET', '/api/v1/jobs', { host })).status, 200, host);
    }
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `127.evil.example:${port}`, '']) {
      const a = await raw(port, 'GET', '/api/v1/jobs', { host });
      assert.equal(a.status, 403, `Host ${host}`);
      assert.equal(JSON.parse(a.body).error.code, 'FORBIDDEN');
    }
  });

  test('refuses cross-origin writes and accepts same-origin ones', async () => {
    const up = multipart({ name: 'a.pcap', data: makeCapture(2) });
    const evil = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType, origin: 'http://evil.example' }, up.body);
    assert.equal(evil.status, 403);
    assert.equal(JSON.parse(evil.body).error.code, 'FORBIDDEN');
    const site = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType, 'sec-fetch-site': 'cross-site' }, up.body);
    assert.equal(site.status, 403);
    const nul = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType, origin: 'null' }, up.body);
    assert.equal(nul.status, 403);
    const list = await (await fetch(`${srv.url}/api/v1/jobs`)).json() as { total: number };
    assert.equal(list.total, 0, 'no refused upload became a job');
    const same = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType, origin: `http://127.0.0.1:${port}` }, up.body);
    assert.equal(same.status, 202, same.body);
    const none = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType }, up.body);
    assert.equal(none.status, 202, 'a client without Origin (curl) may write');
  });
});

test('loopback is decided on addresses, not on strings', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST']) assert.equal(isLoopback(h), true, h);
  for (const h of ['127.evil.example', '127.0.0.1.nip.io', '10.0.0.1', '0.0.0.0', '::', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.evil.example', '']) assert.equal(isLoopback(h), false, h);
  assert.equal(hostOf('127.0.0.1:8080'), '127.0.0.1');
  assert.equal(hostOf('[::1]:8080'), '::1');
  assert.equal(hostOf('a b'), null);
});

test('a key-less server refuses to listen on a name that only looks like loopback', async () => {
  const tmp = tempDir();
  try {
    await assert.rejects(startTestServer(tmp.dir, { host: '127.evil.example' }), /refusing to listen/);
  } finally {
    tmp.cleanup();
  }
});

test('client groups: loopback is one, IPv6 by /64, IPv4-mapped as IPv4', async () => {
  const { clientGroup } = await import('../../src/service/api/auth.ts');
  assert.equal(clientGroup('127.0.0.1'), clientGroup('127.9.9.9'));
  assert.equal(clientGroup('::1'), 'loopback');
  assert.equal(clientGroup('2001:db8:1:2::5'), clientGroup('2001:db8:1:2:ffff::1'));
  assert.notEqual(clientGroup('2001:db8:1:2::5'), clientGroup('2001:db8:1:3::5'));
  assert.equal(clientGroup('::ffff:10.1.2.3'), '10.1.2.3');
  assert.notEqual(clientGroup('10.1.2.3'), clientGroup('10.1.2.4'));
});

test('behind a reverse proxy: --allowed-host names are answered and their Origin may write; a keyed server takes any Host', async () => {
  const tmp = tempDir();
  const open = await startTestServer(path.join(tmp.dir, 'o'), { allowedHosts: ['veil.example'] });
  const keyed = await startTestServer(path.join(tmp.dir, 'k'), { apiKeys: [KEY] });
  try {
    const port = Number(new URL(open.url).port);
    assert.equal((await raw(port, 'GET', '/api/v1/jobs', { host: 'veil.example' })).status, 200);
    assert.equal((await raw(port, 'GET', '/api/v1/jobs', { host: 'other.example' })).status, 403);
    const up = multipart({ name: 'a.pcap', data: makeCapture(2) });
    const viaProxy = await raw(port, 'POST', '/api/v1/jobs', { 'content-type': up.contentType, origin: 'https://veil.example' }, up.body);
    assert.equal(viaProxy.status, 202, viaProxy.body);
    const kport = Number(new URL(keyed.url).port);
    assert.equal((await raw(kport, 'GET', '/api/v1/jobs', { host: 'veil.example.com', authorization: `Bearer ${KEY}` })).status, 200);
  } finally {
    await open.close();
    await keyed.close();
    tmp.cleanup();
  }
});
