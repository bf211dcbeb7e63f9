import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { holdout } from '../../src/dataset/index.ts';
import { fitEnsemble, predictProba, forestParams, boostingParams, closeWorkers, fitBinEdges, binColumns, type LearnerSpec } from '../../src/model/index.ts';
import { generated, accuracy } from './helpers.ts';

after(() => closeWorkers());

const data = generated(3000, 4, 11);
const K = 4;
const split = holdout(data.y, 0.25, 3).folds[0]!;

const forest: LearnerSpec = { type: 'forest', params: forestParams({ trees: 40, seed: 5 }) };
const boosting: LearnerSpec = { type: 'boosting', params: boostingParams({ maxIter: 60, seed: 5 }) };

test('binning: values get ordered bins, equal values one bin, NaN the missing bin', () => {
  const col = Float64Array.of(5, 1, 3, 3, NaN, 1);
  const [edges] = fitBinEdges([col]);
  assert.deepEqual(Array.from(edges!), [2, 4]);
  assert.deepEqual(Array.from(binColumns([col], [edges!])), [2, 0, 1, 1, 255, 0]);
  const many = Float64Array.from({ length: 10000 }, (_, i) => i);
  const [e2] = fitBinEdges([many]);
  assert.equal(e2!.length, 254);
});

for (const spec of [forest, boosting]) {
  test(`${spec.type} recovers clusters and an XOR class on generated data (accuracy floor)`, async () => {
    const f = await fitEnsemble(data.columns, data.y, K, spec, {}, split.train);
    const acc = accuracy(predictProba(f.ensemble, f.output, data.columns, split.test), K, data.y, split.test);
    assert.ok(acc >= 0.93, `accuracy ${acc.toFixed(3)}`);
    const imp = f.importance;
    assert.ok(Math.abs(imp.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  });

  test(`${spec.type}: probabilities are in [0, 1] and sum to 1`, async () => {
    const f = await fitEnsemble(data.columns, data.y, K, spec, {}, split.train);
    const p = predictProba(f.ensemble, f.output, data.columns, split.test);
    for (let i = 0; i < split.test.length; i++) {
      let s = 0;
      for (let c = 0; c < K; c++) { const v = p[i * K + c]!; assert.ok(v >= 0 && v <= 1 + 1e-12); s += v; }
      assert.ok(Math.abs(s - 1) < 1e-9);
    }
  });

  test(`${spec.type}: the same seed gives the same model on 1 and 2 threads`, async () => {
    const a = await fitEnsemble(data.columns, data.y, K, spec, { threads: 1 }, split.train);
    const b = await fitEnsemble(data.columns, data.y, K, spec, { threads: 2 }, split.train);
    assert.deepEqual(a.ensemble, b.ensemble);
  });
}

test('forest: another seed gives another model', async () => {
  const a = await fitEnsemble(data.columns, data.y, K, forest, {}, split.train);
  const b = await fitEnsemble(data.columns, data.y, K, { type: 'forest', params: forestParams({ trees: 40, seed: 6 }) }, {}, split.train);
  assert.notDeepEqual(a.ensemble.threshold, b.ensemble.threshold);
});

test('binary boosting learns one tree per round', async () => {
  const y2 = Int32Array.from(data.y, (c) => (c === 0 ? 1 : 0));
  const f = await fitEnsemble(data.columns, y2, 2, { type: 'boosting', params: boostingParams({ maxIter: 30 }) }, {}, split.train);
  assert.equal(f.ensemble.roots.length, 31); // the prior, then one tree per round
  const acc = accuracy(predictProba(f.ensemble, f.output, data.columns, split.test), 2, y2, split.test);
  assert.ok(acc >= 0.95, `accuracy ${acc.toFixed(3)}`);
});

for (const spec of [forest, boosting]) {
  test(`${spec.type} learns with 20 % of values missing (NaN)`, async () => {
    const d = generated(3000, 4, 12, { missing: 0.2 });
    const f = await fitEnsemble(d.columns, d.y, K, spec, {}, split.train);
    const acc = accuracy(predictProba(f.ensemble, f.output, d.columns, split.test), K, d.y, split.test);
    assert.ok(acc >= 0.7, `accuracy ${acc.toFixed(3)}`);
  });
}

test('boosting early stopping keeps the best round and reports held-out probabilities', async () => {
  const f = await fitEnsemble(data.columns, data.y, K, { type: 'boosting', params: boostingParams({ maxIter: 400, earlyStopping: 'on', learningRate: 0.3 }) }, { heldOut: true }, split.train);
  assert.ok(f.rounds! < 400);
  assert.ok(f.heldOut && f.heldOut.rows.length > 0 && f.heldOut.proba.length === f.heldOut.rows.length * K);
});

test('forest out-of-bag probabilities cover most training rows', async () => {
  const f = await fitEnsemble(data.columns, data.y, K, forest, { heldOut: true }, split.train);
  assert.ok(f.heldOut!.rows.length > 0.95 * split.train.length);
  const acc = accuracy(f.heldOut!.proba, K, data.y, f.heldOut!.rows);
  assert.ok(acc > 0.9, `oob accuracy ${acc}`);
});

test('class weights "balanced" raise recall of a rare class', async () => {
  // Class 1 is rare (1 in 20) and overlaps class 0.
  const n = 4000;
  const x = new Float64Array(n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) { y[i] = i % 20 === 0 ? 1 : 0; x[i] = (y[i] ? 1 : 0) + ((i * 7919) % 1000) / 1000 * 1.6; }
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const recall = async (cw: 'balanced' | 'none'): Promise<number> => {
    const f = await fitEnsemble([x], y, 2, { type: 'forest', params: forestParams({ trees: 20, minSamplesLeaf: 20, classWeight: cw }) }, {}, rows);
    const p = predictProba(f.ensemble, f.output, [x]);
    let tp = 0, pos = 0;
    for (let i = 0; i < n; i++) if (y[i]) { pos++; if (p[i * 2 + 1]! > p[i * 2]!) tp++; }
    return tp / pos;
  };
  assert.ok((await recall('balanced')) > (await recall('none')));
});

test('training needs two classes', async () => {
  await assert.rejects(fitEnsemble(data.columns, new Int32Array(data.y.length), 1, forest), /at least 2 classes/);
});

/** Reference walk over the persisted arrays, node by node. */
function walk(e: import('../../src/model/index.ts').TreeEnsemble, cols: Float64Array[], r: number): Float64Array {
  const out = new Float64Array(e.nClasses);
  for (let t = 0; t < e.roots.length; t++) {
    let node = e.roots[t]!;
    while (e.feature[node]! >= 0) {
      const v = cols[e.feature[node]!]![r]!;
      const left = v !== v ? e.missingLeft[node] === 1 : v <= e.threshold[node]!;
      node = e.left[node]! + (left ? 0 : 1);
    }
    for (let j = e.left[node]!; j < e.left[node]! - e.feature[node]!; j++) out[e.leafClass[j]!]! += e.leafValue[j]!;
  }
  return out;
}

for (const [name, spec, d] of [
  ['forest', forest, data],
  ['boosting (complete-tree walk)', boosting, data],
  ['boosting with NaN going left', boosting, generated(3000, 4, 12, { missing: 0.2 })],
  ['deep boosting (packed walk)', { type: 'boosting', params: boostingParams({ maxIter: 20, maxDepth: 0, maxLeafNodes: 64, minSamplesLeaf: 1 }) } as LearnerSpec, data],
] as const) {
  test(`fast inference equals the node-by-node walk: ${name}`, async () => {
    const f = await fitEnsemble(d.columns, d.y, K, spec, {}, split.train);
    const raw = predictProba(f.ensemble, 'sum', d.columns, split.test);
    for (let i = 0; i < split.test.length; i += 7) {
      const ref = walk(f.ensemble, d.columns, split.test[i]!);
      for (let c = 0; c < K; c++) assert.ok(Math.abs(raw[i * K + c]! - ref[c]!) < 1e-9, `row ${i} class ${c}`);
    }
  });
}

test("boosting: low-gradient threshold 'auto' is 0.03 with two classes and 0.001 with more", async () => {
  const y2 = Int32Array.from(data.y, (c) => (c === 0 ? 1 : 0));
  const fit = async (yy: Int32Array, k: number, t: number | 'auto') =>
    (await fitEnsemble(data.columns, yy, k, { type: 'boosting', params: boostingParams({ maxIter: 30, lowGradientThreshold: t }) }, {}, split.train)).ensemble;
  assert.deepEqual(await fit(y2, 2, 'auto'), await fit(y2, 2, 0.03));
  assert.notDeepEqual(await fit(y2, 2, 'auto'), await fit(y2, 2, 0.001));
  assert.deepEqual(await fit(data.y, K, 'auto'), await fit(data.y, K, 0.001));
});
