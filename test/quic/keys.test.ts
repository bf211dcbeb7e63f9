import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  QUIC_V1, QUIC_V2, deriveInitialKeys, hkdfExpandLabel, hkdfExtract, openPacket, parseInitialFrames, parseLongHeader,
  newFrameCounts, versionParams, decodePacketNumber,
} from '../../src/quic/index.ts';
import { parseServerHello } from '../../src/tls/hello.ts';
import { hex } from '../tls/builder.ts';
import { sealInitial } from './builder.ts';
import { CLIENT_CRYPTO_FRAME, DCID, SERVER_PAYLOAD, V1, V2 } from './vectors.ts';

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex');

for (const [name, version, v] of [['RFC 9001 (v1)', QUIC_V1, V1], ['RFC 9369 (v2)', QUIC_V2, V2]] as const) {
  test(`${name} Appendix A.1: initial secret, client and server keys`, () => {
    assert.equal(hx(hkdfExtract(versionParams(version)!.salts[0]!, hex(DCID))), v.initialSecret);
    const k = deriveInitialKeys(version, hex(DCID))!;
    assert.equal(hx(k.initialSecret), v.initialSecret);
    assert.equal(hx(k.client.secret), v.clientSecret);
    assert.equal(hx(k.client.key), v.clientKey);
    assert.equal(hx(k.client.iv), v.clientIv);
    assert.equal(hx(k.client.hp), v.clientHp);
    assert.equal(hx(k.server.secret), v.serverSecret);
    assert.equal(hx(k.server.key), v.serverKey);
    assert.equal(hx(k.server.iv), v.serverIv);
    assert.equal(hx(k.server.hp), v.serverHp);
  });

  test(`${name} Appendix A.2: header protection mask of the sample`, () => {
    const k = deriveInitialKeys(version, hex(DCID))!;
    assert.equal(hx(k.client.mask(hex(v.sample)).subarray(0, 5)), v.mask);
  });

  test(`${name} Appendix A.2: the sample client Initial opens to packet number 2 and the example CRYPTO frame`, () => {
    const d = hex(v.clientInitial);
    const h = parseLongHeader(d, 0)!;
    assert.equal(h.type, 'initial');
    assert.equal(h.version, version);
    assert.equal(hx(h.dcid), DCID);
    assert.equal(h.end, 1200);
    const o = openPacket(d, h, deriveInitialKeys(version, h.dcid)!.client, 0)!;
    assert.equal(o.pn, 2);
    assert.equal(o.payload.length, 1162);
    assert.equal(hx(o.payload.subarray(0, CLIENT_CRYPTO_FRAME.length / 2)), CLIENT_CRYPTO_FRAME);
    assert.ok(o.payload.subarray(CLIENT_CRYPTO_FRAME.length / 2).every((b) => b === 0));
    assert.equal(hx(d.subarray(0, 22)), v.protectedHeader);
  });

  test(`${name} Appendix A.2: sealing the example payload reproduces the protected packet`, () => {
    const frames = new Uint8Array(1162);
    frames.set(hex(CLIENT_CRYPTO_FRAME));
    const sealed = sealInitial({ version, dcid: hex(DCID), pn: 2, pnLen: 4, frames, sender: 'client' });
    assert.equal(hx(sealed), v.clientInitial);
  });

  test(`${name} Appendix A.3: the server Initial opens with server keys to ACK + ServerHello`, () => {
    const d = hex(v.serverInitial);
    const h = parseLongHeader(d, 0)!;
    assert.equal(h.type, 'initial');
    const o = openPacket(d, h, deriveInitialKeys(version, hex(DCID))!.server, 0)!;
    assert.equal(o.pn, 1);
    assert.equal(hx(o.payload), SERVER_PAYLOAD);
    let hello: Uint8Array | null = null;
    const counts = newFrameCounts();
    parseInitialFrames(o.payload, { crypto: (_off, data) => { hello = data; } }, counts);
    assert.equal(counts.ack, 1);
    assert.equal(counts.crypto, 1);
    const sh = parseServerHello(hello!.subarray(4));
    assert.equal(sh.cipherSuite, 0x1301);
    assert.equal(sh.selectedVersion, 0x0304);
  });
}

test('wrong keys fail authentication (null), never throw', () => {
  const d = hex(V1.clientInitial);
  const h = parseLongHeader(d, 0)!;
  assert.equal(openPacket(d, h, deriveInitialKeys(QUIC_V1, hex('0011223344556677'))!.client, 0), null);
  assert.equal(openPacket(d, h, deriveInitialKeys(QUIC_V2, hex(DCID))!.client, 0), null);
});

test('HKDF-Expand-Label builds the RFC 9369 A.1 labels', () => {
  // 'quicv2 key' with length 16 must equal the client key derived above (the label bytes are listed in A.1).
  assert.equal(hx(hkdfExpandLabel(hex(V2.clientSecret), 'quicv2 key', 16)), V2.clientKey);
});

test('packet number decoding (RFC 9000 A.3 example)', () => {
  assert.equal(decodePacketNumber(0xa82f30ea + 1, 0x9b32, 16), 0xa82f9b32);
  assert.equal(decodePacketNumber(0, 2, 32), 2);
});

test('unknown versions and short headers are not parsed', () => {
  assert.equal(parseLongHeader(hex('c0ff00ffff0800'), 0), null);
  assert.equal(parseLongHeader(hex('4000'), 0), null);
  assert.equal(parseLongHeader(hex('c0000000000800'), 0), null); // version negotiation
});
