import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { extended, SHARED_DATA } from '../helpers/shared.ts';
import { compareAll, NDPI_LIKE } from '../../bench/ndpi-compare.ts';

// Extended tier: the flow meter against nDPI's verdicts on its own test captures (bench/ndpi-compare.ts prints
// the full table and every kind of disagreement).
test('flows match nDPI\'s packets and bytes per direction on at least 95 % of its flows', extended('nDPI agreement'), async () => {
  const dir = path.join(SHARED_DATA!, 'ndpi');
  const def = await compareAll(dir);
  const rate = def.exact / def.flows;
  process.stderr.write(`nDPI agreement with Veil's defaults: ${(100 * rate).toFixed(2)} % of ${def.flows} flows\n`);
  assert.ok(def.flows > 5000, 'the result files were parsed');
  assert.ok(rate >= 0.95, `agreement ${rate}`);
  const like = await compareAll(dir, NDPI_LIKE);
  assert.ok(like.exact / like.flows >= 0.99, 'with nDPI\'s (absent) timeouts almost every flow matches');
  assert.ok(def.fields.ja3c.equal / def.fields.ja3c.compared >= 0.95, 'JA3C');
  assert.ok(def.fields.sni.equal / def.fields.sni.compared >= 0.95, 'SNI');
});
