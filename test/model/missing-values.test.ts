// Missing values (NaN) at prediction go where training sent them. A split that keeps every finite value on the
// left and the missing ones on the right has threshold +Infinity: inference must not read NaN as +Infinity there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fitEnsemble, predictProba, forestParams, boostingParams, closeWorkers } from '../../src/model/index.ts';

after(() => closeWorkers());

/** One column, missing exactly when the class is 1. */
function missingMeansOne(n: number): { x: Float64Array; y: Int32Array } {
  const x = Float64Array.from({ length: n }, (_, i) => (i % 2 ? NaN : i % 7));
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  return { x, y };
}

for (const [name, spec] of [
  ['forest', { type: 'forest', params: forestParams({ trees: 5, seed: 1 }) }],
  ['boosting', { type: 'boosting', params: boostingParams({ maxIter: 20, seed: 1 }) }],
] as const) {
  test(`${name}: a missing value goes where training sent it`, async () => {
    const { x, y } = missingMeansOne(400);
    const fit = await fitEnsemble([x], y, 2, spec as Parameters<typeof fitEnsemble>[3]);
    const pNaN = predictProba(fit.ensemble, fit.output, [Float64Array.of(NaN)]);
    const pNum = predictProba(fit.ensemble, fit.output, [Float64Array.of(3)]);
    assert.ok(pNaN[1]! > 0.9, `P(class 1 | NaN) = ${pNaN[1]}`);
    assert.ok(pNum[1]! < 0.1, `P(class 1 | 3) = ${pNum[1]}`);
  });
}
