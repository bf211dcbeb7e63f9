import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { encodeLabels, requireColumn } from '../../src/dataset/index.ts';
import { prepareTraining, trainModel, evaluateModel, permutationImportance, closeWorkers, type TrainConfig } from '../../src/model/index.ts';
import { formatEvaluation } from '../../src/model/summary.ts';
import { generatedTable } from './helpers.ts';

after(() => closeWorkers());

const table = generatedTable(1500, 3, 7);

async function model() {
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 30 } };
  const prep = prepareTraining(table, cfg);
  return { m: await trainModel(prep, cfg), prep };
}

test('permutation importance stays within its budget of tree evaluations and says what it sampled', async () => {
  const { m, prep } = await model();
  const trees = m.manifest.training.trees;
  const { y } = encodeLabels(requireColumn(table, 'app'), m.manifest.classes);
  const budget = trees * 400 * 4; // room for ~400 rows x (features x repeats + 1) / 4
  const r = permutationImportance(m, prep.columns, y, 20_000, 0, { budget })!;
  const s = r.sample;
  assert.equal(s.labelledRows, 1500);
  assert.ok(s.rows >= 200 && s.rows < 1500, `sampled ${s.rows} rows`);
  assert.ok(s.rows * trees * (s.features * s.repeats + 1) <= budget, 'within the budget');
  const used = m.manifest.featureImportance.filter((f) => f.impurity > 0).length;
  assert.equal(s.unusedFeatures, prep.columns.length - used, 'features no tree splits on are not permuted');
  for (let f = 0; f < prep.columns.length; f++) {
    if (m.manifest.featureImportance[f]!.impurity === 0) assert.equal(r.importance[f], 0);
  }
  // The informative inputs (the generated table's class depends on them) lose macro-F1 when shuffled.
  assert.ok(Math.max(...r.importance) > 0.05);
});

test('with room enough, every labelled row is used with three repeats', async () => {
  const { m, prep } = await model();
  const { y } = encodeLabels(requireColumn(table, 'app'), m.manifest.classes);
  const r = permutationImportance(m, prep.columns, y, 20_000, 0, { budget: 1e12 })!;
  assert.equal(r.sample.rows, 1500);
  assert.equal(r.sample.repeats, 3);
});

test('evaluate reports the permutation sample and its summary says it', async () => {
  const { m } = await model();
  const seen: number[] = [];
  const ev = evaluateModel(m, table, { label: 'app', onPermutationProgress: (d) => seen.push(d) });
  assert.ok(ev.permutationSample);
  assert.equal(seen.length, ev.permutationSample.features + 1, 'progress before the start and each feature');
  assert.match(formatEvaluation(ev), new RegExp(`permutation importance sampled ${ev.permutationSample.rows} of 1500 labelled rows`));
});
