import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ModelCatalog } from '../../src/service/models/catalog.ts';
import { REPO, tempDir } from './helpers.ts';

test('an early model in a models folder is loaded but never a default job model (jobs answer whole flows)', async () => {
  const t = tempDir('veil-early-default-');
  try {
    const dir = path.join(t.dir, 'models');
    mkdirSync(dir);
    copyFileSync(path.join(REPO, 'models/early/category-early10.veilmodel'), path.join(dir, 'category-early10.veilmodel'));
    copyFileSync(path.join(REPO, 'models/vpn.veilmodel'), path.join(dir, 'vpn.veilmodel'));
    const cat = new ModelCatalog([dir], path.join(t.dir, 'uploads'));
    await cat.load();
    assert.ok(cat.has('category-early10'), 'it is listed (a user may pick it)');
    assert.deepEqual(cat.resolve(null).refs.map((r) => r.name), ['vpn']);
  } finally {
    t.cleanup();
  }
});
