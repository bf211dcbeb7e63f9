import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scores, macroF1, fitTemperature, applyCalibration, temperedNll } from '../../src/model/index.ts';
import { Rng as DsRng } from '../../src/dataset/index.ts';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} != ${b}`);

test('scores on a hand-computed example (unknown answers count as misses)', () => {
  const yTrue = Int32Array.of(0, 0, 0, 1, 1, 2);
  const yPred = Int32Array.of(0, 0, 1, 1, -1, 0);
  const proba = Float64Array.of(0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.4, 0.35, 0.25, 0.5, 0.3, 0.2);
  const s = scores({ classes: ['a', 'b', 'c'], modelClasses: 3, yTrue, yPred, proba });
  close(s.accuracy, 0.5);
  close(s.balancedAccuracy, (2 / 3 + 0.5 + 0) / 3);
  close(s.macro.precision, (2 / 3 + 0.5 + 0) / 3);
  close(s.macro.recall, (2 / 3 + 0.5 + 0) / 3);
  close(s.macro.f1, (2 / 3 + 0.5 + 0) / 3);
  close(s.weighted.f1, (2 / 3 * 3 + 0.5 * 2) / 6);
  assert.deepEqual(s.perClass.map((p) => [p.label, p.support]), [['a', 3], ['b', 2], ['c', 1]]);
  close(s.perClass[0]!.precision, 2 / 3);
  close(s.perClass[1]!.precision, 0.5);
  assert.equal(s.perClass[2]!.precision, 0);
  assert.deepEqual(s.confusion, [[2, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]]);
  assert.equal(s.unknownCount, 1);
  close(s.topK['1']!, 3 / 6);
  close(s.topK['2']!, 5 / 6);
  close(s.topK['3']!, 1);
  assert.deepEqual(s.classCounts, { a: 3, b: 2, c: 1 });
  close(macroF1(yTrue, yPred, 3), s.macro.f1);
});

test('macro averages skip classes absent from truth and predictions; an unseen class has zero recall', () => {
  const s = scores({ classes: ['a', 'b', 'c', 'new'], modelClasses: 3, yTrue: Int32Array.of(0, 1, 3), yPred: Int32Array.of(0, 1, -1) });
  close(s.macro.f1, (1 + 1 + 0) / 3);
  close(s.balancedAccuracy, 2 / 3);
  assert.equal(s.confusion[3]![4], 1);
});

test('temperature scaling softens over-confident probabilities and keeps the ranking', () => {
  const rng = new DsRng(4);
  const n = 3000, K = 3;
  const p = new Float64Array(n * K);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const raw = [rng.float(), rng.float(), rng.float()];
    const s = raw.reduce((a, b) => a + b, 0);
    const truth = raw.map((v) => v / s);
    const u = rng.float();
    y[i] = u < truth[0]! ? 0 : u < truth[0]! + truth[1]! ? 1 : 2;
    // Over-confident model: truth cubed and renormalised.
    const sharp = truth.map((v) => v ** 3);
    const z = sharp.reduce((a, b) => a + b, 0);
    sharp.forEach((v, c) => (p[i * K + c] = v / z));
  }
  const cal = fitTemperature(p, K, y, 'test rows');
  assert.equal(cal.method, 'temperature');
  if (cal.method !== 'temperature') return;
  assert.ok(cal.temperature > 2 && cal.temperature < 4, `T ${cal.temperature}`);
  assert.ok(cal.nllAfter < cal.nllBefore);
  close(temperedNll(p, K, y, cal.temperature), cal.nllAfter);
  const q = p.slice();
  applyCalibration(q, K, cal);
  for (let i = 0; i < n; i++) {
    const am = (a: Float64Array): number => [0, 1, 2].reduce((b, c) => (a[i * K + c]! > a[i * K + b]! ? c : b), 0);
    assert.equal(am(q), am(p));
  }
});


