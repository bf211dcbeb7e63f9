import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignRoles, makeTable, numberColumn, stringColumn, planFeatures, encodeFeatures, DatasetError } from '../../src/dataset/index.ts';

const t = makeTable('flows.csv', [
  numberColumn('id_flow', [1, 2, 3]),
  stringColumn('id_src_addr', ['a', 'b', 'c']),
  stringColumn('id_capture', ['x.pcap', 'x.pcap', 'y.pcap']),
  numberColumn('Src Port', [1, 2, 3]),
  numberColumn('Timestamp', [1, 2, 3]),
  numberColumn('duration_us', [10, 20, 30]),
  numberColumn('fwd_ip_bytes', [1, 2, 3]),
  stringColumn('tls_sni', ['a.com', 'b.com', 'a.com']),
  stringColumn('tls_ja3', ['j1', 'j2', 'j1']),
  stringColumn('app', ['web', 'mail', 'web']),
]);

test('identity, leaky and text columns are excluded by default, with reasons', () => {
  const r = assignRoles(t, { label: 'app' });
  assert.deepEqual(r.features, ['duration_us', 'fwd_ip_bytes']);
  assert.deepEqual(r.identity, ['id_flow', 'id_src_addr', 'id_capture', 'Src Port', 'Timestamp']);
  const why = Object.fromEntries(r.excluded.map((e) => [e.name, e.reason]));
  assert.match(why['tls_sni']!, /leaky/);
  assert.match(why['tls_ja3']!, /text; use --include tls_ja3/);
  assert.match(why['Src Port']!, /identity \(port\); use --include 'Src Port'/);
});

test('opt-ins: --include a column, --include-text, --include-leaky, group column never a feature', () => {
  assert.deepEqual(assignRoles(t, { label: 'app', include: ['tls_ja3'] }).features, ['duration_us', 'fwd_ip_bytes', 'tls_ja3']);
  assert.deepEqual(assignRoles(t, { label: 'app', includeText: true }).features, ['duration_us', 'fwd_ip_bytes', 'tls_ja3']);
  const leaky = assignRoles(t, { label: 'app', includeLeaky: true, groupBy: 'id_capture' });
  assert.deepEqual(leaky.features, ['id_flow', 'Src Port', 'Timestamp', 'duration_us', 'fwd_ip_bytes']);
  assert.ok(!leaky.features.includes('id_capture'));
  assert.deepEqual(assignRoles(t, { label: 'app', features: ['fwd_ip_bytes'] }).features, ['fwd_ip_bytes']);
});

test('a missing label column is named, with a near match suggested', () => {
  assert.throws(() => assignRoles(t, { label: 'App' }), (e: Error) => e instanceof DatasetError && /no label column 'App' \(did you mean 'app'\?\)/.test(e.message));
});

test('text features are one-hot encoded with the training categories; unseen values give all zeros', () => {
  const specs = planFeatures(t, ['duration_us', 'tls_ja3']);
  assert.deepEqual(specs.map((s) => s.name), ['duration_us', 'tls_ja3=j1', 'tls_ja3=j2']);
  const other = makeTable('new.csv', [numberColumn('duration_us', [5]), stringColumn('tls_ja3', ['j9'])]);
  assert.deepEqual(encodeFeatures(other, specs).map((c) => Array.from(c)), [[5], [0], [0]]);
  const ord = planFeatures(t, ['tls_ja3'], { textEncoding: 'ordinal' });
  assert.deepEqual(Array.from(encodeFeatures(other, ord)[0]!), [NaN]);
});

test('encoding a table that lacks feature columns lists every missing one', () => {
  const specs = planFeatures(t, ['duration_us', 'fwd_ip_bytes', 'tls_ja3']);
  const other = makeTable('new.csv', [numberColumn('fwd_ip_bytes', [5])]);
  assert.throws(() => encodeFeatures(other, specs), /new\.csv: lacks 2 column\(s\) the model was trained on: duration_us, tls_ja3/);
});
