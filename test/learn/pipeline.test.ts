import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTable, numberColumn, stringColumn } from '../../src/dataset/index.ts';
import { MAX_CLASSES, MAX_ROW_CLASS_CELLS, chooseLearner, trainOnTable } from '../../src/learn/pipeline.ts';

/** A table of `rows` rows whose label cycles through `classes` values, grouped in 4 captures. */
function table(rows: number, classes: number) {
  return makeTable('big.csv', [
    stringColumn('id_capture', Array.from({ length: rows }, (_, i) => `c${i % 4}`)),
    numberColumn('fwd_pkts', Float64Array.from({ length: rows }, (_, i) => i % 97)),
    stringColumn('label', Array.from({ length: rows }, (_, i) => `app${i % classes}`)),
  ]);
}
const spec = { label: 'label', learner: 'auto' as const, split: { kind: 'group' as const, column: 'id_capture', folds: 2 }, name: 't' };

test('a training refuses more classes than it learns, and more rows x classes than its evaluation can hold, before any fit', async () => {
  await assert.rejects(trainOnTable(table(MAX_CLASSES + 1, MAX_CLASSES + 1), spec), /has 1001 classes \(1001 of them on one row only\)/);
  const rows = Math.ceil(MAX_ROW_CLASS_CELLS / 900) + 1;
  await assert.rejects(trainOnTable(table(rows, 900), spec), new RegExp(`big\\.csv: ${rows} labelled rows of 900 classes need \\d+ GiB`));
});

test('auto picks boosting up to 20 classes and the forest above', () => {
  assert.equal(chooseLearner('auto', 20), 'boosting');
  assert.equal(chooseLearner('auto', 21), 'forest');
  assert.equal(chooseLearner('boosting', 500), 'boosting');
});
