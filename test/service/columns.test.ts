import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeColumn } from '../../src/service/api/columns.ts';

/** The kinds the UI formats by come from the column definitions and the result column's role, not from names alone. */
test('traffic columns get bytes, packets and duration kinds with their units from the definitions', () => {
  const k = (name: string, type = 'int', role: 'identity' | 'metadata' | 'label' | 'prediction' = 'metadata') =>
    describeColumn({ name, type: type as 'int', role });
  assert.deepEqual([k('fwd_bytes').kind, k('fwd_bytes').unit], ['bytes', 'bytes']);
  assert.deepEqual([k('bwd_pkts').kind, k('bwd_pkts').unit], ['packets', 'packets']);
  assert.deepEqual([k('duration_us', 'float').kind, k('duration_us', 'float').unit], ['duration', 'us']);
  assert.equal(k('id_protocol', 'int', 'identity').kind, 'protocol');
  assert.match(k('id_protocol', 'int', 'identity').description, /6 TCP, 17 UDP/);
});

test("a model's answer columns are told by role and model, even when the model's name looks like a column", () => {
  const p = (name: string, type: string) => describeColumn({ name, type: type as 'string', role: 'prediction', model: 'app' });
  assert.equal(p('app.label', 'string').kind, 'label');
  assert.equal(p('app.confidence', 'float').kind, 'confidence');
  assert.equal(p('app.unknown', 'bool').kind, 'unknown');
  assert.equal(p('app.unknown_reason', 'string').kind, 'reason');
  // A table's label column named like a verdict column is the truth, not the verdict.
  assert.equal(describeColumn({ name: 'category', type: 'string', role: 'label' }).kind, 'truth');
  assert.equal(describeColumn({ name: 'category', type: 'string', role: 'metadata' }).kind, 'category');
  // Another tool's column: its type decides, never a guess from its name.
  assert.equal(describeColumn({ name: 'Flow Bytes/s', type: 'float', role: 'identity' }).kind, 'number');
  assert.equal(describeColumn({ name: 'Src IP', type: 'string', role: 'identity' }).kind, 'text');
});
