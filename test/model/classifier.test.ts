import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeTable, numberColumn, stringColumn, concatTables, Rng, type Table } from '../../src/dataset/index.ts';
import {
  prepareTraining, makeSplit, crossValidate, cvEvaluation, trainModel, evaluateModel, predictTable,
  closeWorkers, type TrainConfig,
} from '../../src/model/index.ts';
import { generatedTable } from './helpers.ts';

after(() => closeWorkers());

const table = generatedTable(2000, 3, 31);

test('cross-validation reports its split and scores; the final model carries them', async () => {
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 20 } };
  const prep = prepareTraining(table, cfg);
  assert.ok(!prep.specs.some((s) => s.source.startsWith('id_')));
  const cv = await crossValidate(prep, cfg, makeSplit(prep, { kind: 'kfold', folds: 4 }, 0));
  assert.equal(cv.split.kind, 'kfold');
  assert.equal(cv.split.folds, 4);
  assert.ok(cv.scores.accuracy > 0.9, `cv accuracy ${cv.scores.accuracy}`);
  const model = await trainModel(prep, cfg, { cv });
  assert.equal(model.manifest.metrics?.split.kind, 'kfold');
  assert.equal(model.manifest.calibration.method, 'temperature');
  const r = cvEvaluation(prep, cv, cfg, model);
  assert.equal(r.kind, 'veil-evaluation');
  assert.equal(r.data.rows, 2000);
  // Three classes (the XOR class is labelled as class 0 or 1) and a column of 'unknown' answers.
  assert.equal(r.confusion.length, 3);
  assert.equal(r.confusion[0]!.length, 4);
});

test('group split by capture is available from the table', async () => {
  const cfg: TrainConfig = { label: 'app', model: 'boosting', boosting: { maxIter: 15 }, roles: { groupBy: 'id_capture' } };
  const prep = prepareTraining(table, cfg);
  const split = makeSplit(prep, { kind: 'group', column: 'id_capture', folds: 5 }, 0);
  assert.equal(split.info.kind, 'group');
  const cv = await crossValidate(prep, cfg, split);
  assert.ok(cv.scores.accuracy > 0.85);
});

/** Rows of an application the model never saw: far from every training cluster. */
function stranger(n: number): Table {
  const rng = new Rng(9);
  const cols = Array.from({ length: 9 }, (_, j) => numberColumn(`f${j}`, Array.from({ length: n }, () => 60 + j * 5 + rng.normal())));
  return makeTable('new-app.csv', [
    numberColumn('id_flow', Array.from({ length: n }, (_, i) => 100000 + i)),
    stringColumn('id_capture', Array.from({ length: n }, () => 'new.pcap')),
    ...cols,
    stringColumn('app', Array.from({ length: n }, () => 'never-seen')),
  ]);
}

test('open set: flows of an application never trained on come out unknown; known flows mostly do not', async () => {
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 30 }, unknownBelow: 0.5 };
  const model = await trainModel(prepareTraining(table, cfg), cfg);
  const known = generatedTable(600, 3, 31, 'known.csv', 2);
  const mixed = concatTables([known, stranger(200)], 'mixed.csv');
  const r = evaluateModel(model, mixed, { label: 'app', permutationRows: 0 });
  assert.ok(r.openSet, 'open-set section');
  assert.deepEqual(r.openSet.unseenClasses, ['never-seen']);
  assert.ok(r.openSet.unknownRate >= 0.95, `unseen rows answered unknown: ${r.openSet.unknownRate}`);
  const knownUnknown = r.unknown.count - r.openSet.unknown;
  assert.ok(knownUnknown / 600 < 0.1, `known rows answered unknown: ${knownUnknown}`);
  assert.equal(r.classes.at(-1), 'never-seen');
  // Without a threshold the model always answers a known class.
  const r0 = evaluateModel(model, mixed, { label: 'app', unknownBelow: 0, permutationRows: 0 });
  assert.equal(r0.unknown.count, 0);
});

test('prediction output is the answer layout: identity columns, then the model\'s label, confidence, unknown and reason', async () => {
  const { answerModel, tableAnswerPlan } = await import('../../src/classify/capture.ts');
  const cfg: TrainConfig = { label: 'app', model: 'boosting', boosting: { maxIter: 20 } };
  const model = await trainModel(prepareTraining(table, cfg), cfg);
  const t = generatedTable(50, 3, 31, 'new.csv', 3);
  const pred = predictTable(model, t);
  const plan = tableAnswerPlan(t, [answerModel('app', model)], { catalog: null });
  const b = plan.answer(t);
  assert.deepEqual(b.columns.map((c) => c.name), ['id_flow', 'id_capture', 'app.label', 'app.confidence', 'app.unknown', 'app.unknown_reason']);
  assert.deepEqual(b.answers[0]!.confidence, pred.confidence);
  for (let i = 0; i < t.rows; i++) {
    const l = pred.label[i]!;
    assert.equal(b.rows[i]![2], l < 0 ? 'unknown' : model.manifest.classes[l]);
    assert.equal(b.rows[i]![4], l < 0);
  }
});

test('evaluation on the model result: permutation importance ranks the informative columns first', async () => {
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 30 } };
  const model = await trainModel(prepareTraining(table, cfg), cfg);
  const r = evaluateModel(model, generatedTable(800, 3, 31, 'test.csv', 4), { label: 'app' });
  const top = [...r.featureImportance].sort((a, b) => b.permutation - a.permutation).slice(0, 2).map((f) => f.feature);
  for (const f of top) assert.ok(['f0', 'f1', 'f2', 'f3', 'f7', 'f8'].includes(f), `top feature ${f}`);
  const noise = r.featureImportance.find((f) => f.feature === 'f5')!;
  assert.ok(Math.abs(noise.permutation) < 0.02);
  assert.ok(r.accuracy > 0.9);
  assert.equal(r.split.kind, 'none');
});
