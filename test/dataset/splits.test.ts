import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stratifiedKFold, holdout, groupKFold, blockedKFold, groupCodes, DatasetError } from '../../src/dataset/index.ts';

const y = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : i < 100 ? 2 : -1));

function counts(rows: Int32Array): number[] {
  const c = [0, 0, 0];
  for (const r of rows) c[y[r]!]!++;
  return c;
}

test('stratified k-fold: every labelled row tested once, each class spread evenly, unlabelled rows left out', () => {
  const s = stratifiedKFold(y, 5, 7);
  const seen = new Int32Array(y.length);
  for (const f of s.folds) {
    for (const r of f.test) seen[r]!++;
    assert.deepEqual(counts(f.test), [12, 6, 2]);
    assert.equal(f.train.length + f.test.length, 100);
    const test = new Set(f.test);
    for (const r of f.train) assert.ok(!test.has(r));
  }
  for (let i = 0; i < y.length; i++) assert.equal(seen[i], y[i]! >= 0 ? 1 : 0);
  assert.equal(s.info.kind, 'kfold');
  assert.equal(s.info.shuffled, true);
});

test('stratified k-fold is reproducible per seed and differs across seeds', () => {
  assert.deepEqual(stratifiedKFold(y, 5, 1).folds, stratifiedKFold(y, 5, 1).folds);
  assert.notDeepEqual(stratifiedKFold(y, 5, 1).folds[0]!.test, stratifiedKFold(y, 5, 2).folds[0]!.test);
});

test('hold-out keeps the share per class', () => {
  const s = holdout(y, 0.2, 0);
  assert.equal(s.folds.length, 1);
  assert.deepEqual(counts(s.folds[0]!.test), [12, 6, 2]);
  assert.deepEqual(counts(s.folds[0]!.train), [48, 24, 8]);
});

test('group k-fold never puts one group in train and test', () => {
  const groups = groupCodes(Array.from({ length: y.length }, (_, i) => `capture-${Math.floor(i / 7)}`));
  const s = groupKFold(groups, y, 4, 0, 'id_capture');
  assert.equal(s.folds.length, 4);
  for (const f of s.folds) {
    const testGroups = new Set(Array.from(f.test, (r) => groups[r]));
    for (const r of f.train) assert.ok(!testGroups.has(groups[r]!), 'group in train and test');
  }
  assert.equal(s.info.groupBy, 'id_capture');
  assert.throws(() => groupKFold(new Int32Array(y.length), y, 4), (e: Error) => e instanceof DatasetError && /at least 2 groups/.test(e.message));
});

test('blocked k-fold tests on contiguous blocks of each class', () => {
  const s = blockedKFold(y, 5);
  for (const f of s.folds) {
    for (let c = 0; c < 3; c++) {
      const rows = Array.from(f.test).filter((r) => y[r] === c);
      // Contiguous within the class: consecutive rows of the class, no gaps.
      for (let i = 1; i < rows.length; i++) assert.equal(rows[i], rows[i - 1]! + 1);
    }
    assert.deepEqual(counts(f.test), [12, 6, 2]);
  }
  assert.equal(s.info.shuffled, false);
});

test('bad fold counts are refused', () => {
  assert.throws(() => stratifiedKFold(y, 1), /folds must be an integer >= 2/);
  assert.throws(() => holdout(y, 1.5), /test share must be in \(0, 1\)/);
});
