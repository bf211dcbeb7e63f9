import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extended, SHARED_DATA } from '../helpers/shared.ts';

test('JA4 (client) matches every expected fingerprint of the FoxIO reference captures', extended('the JA4 reference check'), async () => {
  const { runJa4Check } = await import('../../bench/ja4-check.ts');
  const report = await runJa4Check(SHARED_DATA!);
  const misses = report.outcomes.filter((o) => !o.match).map((o) => `${o.expected.capture} ${o.expected.src}:${o.expected.srcport} JA4.${o.expected.n} want ${o.expected.ja4} got '${o.got}'`);
  assert.ok(report.total >= 80, `expected fingerprints found: ${report.total}`);
  assert.deepEqual(misses, []);
  assert.equal(report.rate, 1);
  const variants = report.outcomes.filter((o) => o.variantsMatch !== null);
  assert.ok(variants.every((o) => o.variantsMatch), 'JA4_r, JA4_o and JA4_ro match too');
});
