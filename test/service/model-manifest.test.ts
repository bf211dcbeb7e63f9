import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { getJson, startTestServer, tempDir, trainTinyModel } from './helpers.ts';
import { ModelCatalog } from '../../src/service/models/catalog.ts';
import { withManifest } from '../model/manifest-helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let good: string;
let crafted: Uint8Array;

before(async () => {
  tmp = tempDir();
  const dir = path.join(tmp.dir, 'trained');
  mkdirSync(dir);
  good = await trainTinyModel(dir, 'application', 'application');
  crafted = withManifest(new Uint8Array(readFileSync(good)), (m) => { m.unknownBelow = 'NaN'; });
});
after(() => tmp.cleanup());

async function upload(url: string, bytes: Uint8Array, name: string): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  fd.append('file', new Blob([bytes]), name);
  const r = await fetch(`${url}/api/v1/models`, { method: 'POST', body: fd });
  return { status: r.status, body: await r.json() };
}

test('an upload whose manifest has unknownBelow "NaN" is refused with 400 BAD_MODEL naming the field, and not installed', async () => {
  const data = path.join(tmp.dir, 'data-upload');
  const srv = await startTestServer(data, { modelDirs: [path.dirname(good)] });
  try {
    const r = await upload(srv.url, crafted, 'evil.veilmodel');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'BAD_MODEL');
    assert.match(r.body.error.message, /unknownBelow/);
    const list = await getJson(srv.url, '/api/v1/models');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.models.map((m: { name: string }) => m.name), ['application']);
    assert.equal(existsSync(path.join(data, 'models', 'evil.veilmodel')), false);
  } finally {
    await srv.close();
  }
});

test('a bad model file in a model directory is skipped with a warning naming it; the others load and the listing answers', async () => {
  const data = path.join(tmp.dir, 'data-restart');
  const uploads = path.join(data, 'models');
  mkdirSync(uploads, { recursive: true });
  writeFileSync(path.join(uploads, 'evil.veilmodel'), crafted);
  writeFileSync(path.join(uploads, 'slow.veilmodel'), withManifest(new Uint8Array(readFileSync(good)), (m) => { m.meter = { activeTimeoutS: 1e-6 }; }));
  const cat = new ModelCatalog([path.dirname(good)], uploads);
  await cat.load();
  assert.deepEqual(cat.list().map((m) => m.name), ['application']);
  assert.equal(cat.warnings.length, 2);
  assert.match(cat.warnings.join('\n'), /evil\.veilmodel: not loaded: .*'unknownBelow'/);
  assert.match(cat.warnings.join('\n'), /slow\.veilmodel: not loaded: .*'meter\.activeTimeoutS'/);
  const srv = await startTestServer(data, { modelDirs: [path.dirname(good)] });
  try {
    const list = await getJson(srv.url, '/api/v1/models');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.models.map((m: { name: string }) => m.name), ['application']);
  } finally {
    await srv.close();
  }
});
