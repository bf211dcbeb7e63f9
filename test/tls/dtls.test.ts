import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHandshakeTracker } from '../../src/tls/index.ts';
import { cat, clientHelloBody, dtlsFragments, dtlsRecord, ext, fill, handshake, hex, serverHelloBody, u8 } from './builder.ts';

const spec = {
  version: 0xfefd,
  ciphers: [0xc02b, 0xc02f, 0xcca9],
  extensions: [ext.sni('rtc.example'), ext.groups([0x1d, 0x17]), ext.pointFormats([0]), ext.sigAlgs([0x0403, 0x0804]), ext.raw(14, hex('00020001000'.padEnd(12, '0')))],
};

test('DTLS ClientHello in fragments across datagrams, out of order; ServerHello parsed', () => {
  const frags = dtlsFragments(1, clientHelloBody(spec, true), 0, 40);
  assert.ok(frags.length >= 3);
  const t = createHandshakeTracker();
  const stun = cat(hex('0001000c2112a442'), fill(24, 1)); // STUN shares the 5-tuple (RFC 7983)
  t.onUdp(0, stun, 0);
  t.onUdp(0, cat(...frags.slice(2).map((f, i) => dtlsRecord(22, f, 0, 10 + i))), 1);
  assert.equal(t.result().sni, '');
  t.onUdp(0, cat(dtlsRecord(22, frags[1]!, 0, 1), dtlsRecord(22, frags[0]!, 0, 0)), 2);
  t.onUdp(0, stun, 3);
  let r = t.result();
  assert.equal(r.protocol, 'dtls');
  assert.equal(r.sni, 'rtc.example');
  assert.match(r.ja4, /^dd2d0305/);
  t.onUdp(1, dtlsRecord(22, dtlsFragments(2, serverHelloBody({ version: 0xfefd, cipher: 0xc02b }), 1, 1000)[0]!), 4);
  r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.negotiatedVersion, 'dtls1.2');
  assert.equal(r.cipherChosen, String(0xc02b));
  assert.equal(r.malformations, 0);
});

test('DTLS: the ClientHello repeated with a cookie after HelloVerifyRequest keeps the first', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, dtlsRecord(22, dtlsFragments(1, clientHelloBody(spec, true), 0, 2000)[0]!), 0);
  t.onUdp(1, dtlsRecord(22, handshake(3, cat(hex('fefd'), u8(8), fill(8, 1))).subarray(0, 0)), 1);
  t.onUdp(0, dtlsRecord(22, dtlsFragments(1, clientHelloBody({ ...spec, cookie: fill(8, 1) }, true), 1, 2000)[0]!, 0, 1), 2);
  const r = t.result();
  assert.equal(r.sni, 'rtc.example');
  assert.equal(r.ja4Retry, '');
});

test('DTLS: a fragment past its message length is malformed, never thrown', () => {
  const t = createHandshakeTracker();
  const bad = cat(u8(1), hex('000010'), hex('0000'), hex('000008'), hex('000010'), fill(16));
  t.onUdp(0, dtlsRecord(22, bad), 0);
  const r = t.result();
  assert.equal(r.status, 'malformed');
  assert.equal(r.malformations, 1);
});
