import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { featureReference } from '../../src/flow/reference.ts';
import { Meter } from '../../src/flow/meter.ts';

test('docs/FEATURES.md is the reference generated from the feature definitions (npm run docs:features)', () => {
  const committed = readFileSync(new URL('../../docs/FEATURES.md', import.meta.url), 'utf8');
  assert.equal(committed, featureReference('markdown'));
});

test('every output column is documented with a role, a type and a meaning, and names are unique', () => {
  const cols = new Meter({}, () => {}).columns;
  const names = new Set<string>();
  const doc = featureReference('markdown');
  for (const c of cols) {
    assert.ok(!names.has(c.name), `duplicate column ${c.name}`);
    names.add(c.name);
    assert.ok(c.description.length > 10, `${c.name} has a meaning`);
    assert.ok(doc.includes(`\`${c.name}\``), `${c.name} is in the reference`);
    if (c.role === 'identity') assert.ok(c.name.startsWith('id_'), `identity column ${c.name} is named id_*`);
    if (c.role === 'feature') assert.ok(c.type !== 'string', `feature ${c.name} is numeric`);
  }
  for (const leaky of ['tls_sni', 'tls_cert_subject', 'id_src_addr', 'id_dst_port']) {
    assert.equal(cols.find((c) => c.name === leaky)?.leaky, true, `${leaky} is marked leaky`);
  }
});
