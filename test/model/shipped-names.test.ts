import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/index.ts';

const MODELS = fileURLToPath(new URL('../../models', import.meta.url));

function modelFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory()
    ? modelFiles(path.join(dir, e.name)) : e.name.endsWith('.veilmodel') ? [path.join(dir, e.name)] : []);
}

test('shipped models carry no build machine paths and know their training rows by fingerprint', async () => {
  const files = modelFiles(MODELS);
  assert.ok(files.length >= 3);
  for (const f of files) {
    const m = (await loadModel(f)).manifest;
    const text = JSON.stringify({ ...m, featureImportance: undefined, support: undefined });
    assert.doesNotMatch(text, /\/(work|tmp|home|root|Users)\//, `${path.relative(MODELS, f)}: ${text.match(/.{0,40}\/(work|tmp|home|root|Users)\/.{0,40}/)?.[0]}`);
    assert.doesNotMatch(m.name, /\//, `${f}: name '${m.name}'`);
    assert.ok((m.training.rowSketch?.hashes.length ?? 0) > 100, `${f}: a training fingerprint`);
  }
});
