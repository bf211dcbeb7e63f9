import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeCertificate, describeWithNode, leafCertificate } from '../../src/tls/certificate.ts';
import { readX509 } from '../../src/tls/x509.ts';
import { certificateBody, fill } from './builder.ts';

const LEAF = new Uint8Array(readFileSync(new URL('../fixtures/tls/leaf.der', import.meta.url)));

test('the DER walker reads what node:crypto X509Certificate reads', () => {
  const ours = describeCertificate(LEAF);
  assert.deepEqual(ours, describeWithNode(LEAF));
  assert.deepEqual(readX509(LEAF)?.san, ['veil.example', 'www.veil.example', '192.0.2.7']);
});

test('garbage is null from both readers, never thrown', () => {
  for (const bad of [fill(10, 0x30), fill(300, 0xff), LEAF.subarray(0, 200), new Uint8Array(0)]) {
    assert.equal(readX509(bad), null);
    assert.equal(describeCertificate(bad), null);
  }
});

test('the leaf is the first entry of the Certificate message', () => {
  const der = leafCertificate(certificateBody([LEAF, fill(20, 1)]));
  assert.deepEqual(der, LEAF);
  assert.equal(leafCertificate(certificateBody([])), null);
});
