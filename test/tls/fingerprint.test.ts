import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientHello, parseServerHello, type ClientHello } from '../../src/tls/hello.ts';
import { ja3, ja3s } from '../../src/tls/fingerprint/ja3.ts';
import { ja4, ja4Alpn, ja4Version } from '../../src/tls/fingerprint/ja4.ts';
import { chromeLikeHello, clientHelloBody, ext, hex, sext, serverHelloBody } from './builder.ts';

/** A parsed-hello object as the fingerprints see it, built directly (fingerprints never look at bytes). */
function hello(over: Partial<ClientHello>): ClientHello {
  return {
    legacyVersion: 0x0303, sessionId: new Uint8Array(0), cookieLen: 0, cipherSuites: [], compressionMethods: [0],
    extensions: [], hasSni: false, serverName: '', supportedGroups: [], ecPointFormats: [], signatureAlgorithms: [],
    alpn: [], supportedVersions: [], keyShareGroups: [], pskKeyExchangeModes: [], sessionTicketOffered: false,
    pskOffered: false, earlyData: false, ech: false, extensionErrors: 0, ...over,
  };
}

// The worked example of FoxIO's technical_details/JA4.md.
const SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const SPEC_EXTS = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015];
const SPEC_SIGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
const specHello = (): ClientHello => hello({
  cipherSuites: SPEC_CIPHERS, extensions: SPEC_EXTS, signatureAlgorithms: SPEC_SIGS, hasSni: true,
  serverName: 'example.com', alpn: ['h2'], supportedVersions: [0x0304, 0x0303],
});

test('JA4 known answer: the JA4.md example (JA4, JA4_r, JA4_o, JA4_ro)', () => {
  const f = ja4(specHello(), 't');
  assert.equal(f.ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
  assert.equal(f.ja4R, 't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601');
  assert.equal(f.ja4O, 't13d1516h2_acb858a92679_18f69afefd3d');
  assert.equal(f.ja4RO, 't13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601');
});

test('JA4 known answer: no signature algorithms ends the extension string without an underscore', () => {
  const f = ja4(hello({ ...specHello(), signatureAlgorithms: [] }), 't');
  assert.equal(f.ja4.split('_')[2], '6d807ffa2a79');
});

test('JA4: GREASE is ignored in ciphers, extensions, versions and signature algorithms', () => {
  const plain = ja4(specHello(), 't');
  const greasy = ja4(hello({
    ...specHello(),
    cipherSuites: [0x0a0a, ...SPEC_CIPHERS],
    extensions: [0x1a1a, ...SPEC_EXTS, 0xfafa],
    supportedVersions: [0x2a2a, 0x0304, 0x0303],
    signatureAlgorithms: [0x3a3a, ...SPEC_SIGS],
  }), 't');
  assert.deepEqual(greasy, plain);
});

test('JA4: built Chrome-like hello bytes give the JA4.md fingerprint', () => {
  const ch = parseClientHello(clientHelloBody(chromeLikeHello()));
  assert.equal(ja4(ch, 't').ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
  assert.equal(ja4(ch, 'q').ja4, 'q13d1516h2_8daaf6152771_e5627efa2ab1');
});

test('JA4: empty cipher and extension lists hash to twelve zeros', () => {
  const f = ja4(hello({ legacyVersion: 0x0301 }), 't');
  assert.equal(f.ja4, 't10i000000_000000000000_000000000000');
  assert.equal(f.ja4R, 't10i000000__');
});

test('JA4: only SNI and ALPN present leaves the sorted list empty (zeros in JA4 and JA4_o, as the reference)', () => {
  const f = ja4(hello({ legacyVersion: 0x0301, cipherSuites: [0x0039], extensions: [0], hasSni: true }), 't');
  assert.equal(f.ja4.split('_')[2], '000000000000');
  assert.equal(f.ja4O.split('_')[2], '000000000000');
  assert.equal(f.ja4RO, 't10d010100_0039_0000');
});

test('JA4: counts are capped at 99', () => {
  const ciphers = Array.from({ length: 120 }, (_, i) => i + 1);
  const exts = Array.from({ length: 150 }, (_, i) => 0x1000 + i);
  assert.match(ja4(hello({ cipherSuites: ciphers, extensions: exts }), 't').ja4, /^t12i9999/);
});

test('JA4: ALPN first/last characters and the hex rule for non-alphanumeric ends', () => {
  assert.equal(ja4Alpn(undefined), '00');
  assert.equal(ja4Alpn(''), '00');
  assert.equal(ja4Alpn('h2'), 'h2');
  assert.equal(ja4Alpn('http/1.1'), 'h1');
  assert.equal(ja4Alpn('h'), 'hh');
  // The spec's examples: 0xAB -> ab, 0xAB 0xCD -> ad, 0x30 0xAB -> 3b, 0x30 0x31 0xAB 0xCD -> 3d, 0x30 0xAB 0xCD 0x31 -> 01
  assert.equal(ja4Alpn('\xab'), 'ab');
  assert.equal(ja4Alpn('\xab\xcd'), 'ad');
  assert.equal(ja4Alpn('0\xab'), '3b');
  assert.equal(ja4Alpn('01\xab\xcd'), '3d');
  assert.equal(ja4Alpn('0\xab\xcd1'), '01');
});

test('JA4: version from supported_versions (highest, GREASE ignored), else the legacy version', () => {
  assert.equal(ja4Version(hello({ supportedVersions: [0x0a0a, 0x0303, 0x0304] })), '13');
  assert.equal(ja4Version(hello({ legacyVersion: 0x0302 })), '11');
  assert.equal(ja4Version(hello({ legacyVersion: 0x0300 })), 's3');
  assert.equal(ja4Version(hello({ legacyVersion: 0x7f1c })), '00');
  assert.equal(ja4Version(hello({ legacyVersion: 0xfeff })), 'd1');
  assert.equal(ja4Version(hello({ legacyVersion: 0xfefd })), 'd2');
  // DTLS versions count down: 0xfefc (DTLS 1.3) is newer than 0xfefd.
  assert.equal(ja4Version(hello({ legacyVersion: 0xfefd, supportedVersions: [0xfefd, 0xfefc] })), 'd3');
});

test('JA4: transport letter for DTLS', () => {
  const ch = parseClientHello(clientHelloBody({ version: 0xfefd, ciphers: [0xc02b], extensions: [ext.groups([0x1d])] }, true), true);
  assert.match(ja4(ch, 'd').ja4, /^dd2i0101/);
});

test('JA4_o of a real Chrome order matches the reference capture (chrome-cloudflare-quic-with-secrets)', () => {
  const f = ja4(hello({
    cipherSuites: SPEC_CIPHERS, hasSni: true, alpn: ['h2'], supportedVersions: [0x0304],
    extensions: [0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d, 0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015],
    signatureAlgorithms: SPEC_SIGS,
  }), 't');
  assert.equal(f.ja4O, 't13d1516h2_acb858a92679_2d79a7d73c2f');
  assert.equal(f.ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
});

test('JA3 known answer: the JA3 README example', () => {
  const f = ja3(hello({
    legacyVersion: 769, cipherSuites: [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [0, 10, 11], supportedGroups: [23, 24, 25], ecPointFormats: [0],
  }));
  assert.equal(f.text, '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0');
  assert.equal(f.hash, 'ada70206e40642a3e4461f35503241d5');
});

test('JA3: GREASE removed from ciphers, extensions and groups; empty fields stay empty', () => {
  const f = ja3(hello({ legacyVersion: 771, cipherSuites: [0x0a0a, 4865], extensions: [0x1a1a, 0], supportedGroups: [0x2a2a, 29] }));
  assert.equal(f.text, '771,4865,0,29,');
});

test('JA3S: version, chosen cipher and extensions of the ServerHello', () => {
  const sh = parseServerHello(serverHelloBody({ cipher: 0xc02f, extensions: [sext.alpn('h2'), { type: 0xff01, data: hex('00') }] }));
  const f = ja3s(sh);
  assert.equal(f.text, '771,49199,16-65281');
  assert.equal(f.hash.length, 32);
});
