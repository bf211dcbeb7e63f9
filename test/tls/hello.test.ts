import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientHello, parseServerHello } from '../../src/tls/hello.ts';
import { TlsParseError } from '../../src/tls/cursor.ts';
import { isGrease } from '../../src/tls/constants.ts';
import {
  HRR_RANDOM, ascii, cat, chromeLikeHello, clientHelloBody, ext, fill, hex, sext, serverHelloBody, u16, vec16,
} from './builder.ts';

test('ClientHello: every extension kind is read into the object', () => {
  const body = clientHelloBody({
    version: 0x0303,
    sessionId: fill(32, 0xab),
    ciphers: [0x1301, 0xc02f, 0x00ff],
    compression: [0],
    extensions: [
      ext.sni('api.example.org'),
      ext.groups([0x11ec, 0x001d, 0x0017]),
      ext.pointFormats([0, 1]),
      ext.sigAlgs([0x0403, 0x0804]),
      ext.alpn(['h2', 'http/1.1']),
      ext.supportedVersions([0x0304, 0x0303]),
      ext.keyShare([0x11ec, 0x001d]),
      ext.pskModes([1]),
      ext.sessionTicket(fill(64, 1)),
      ext.earlyData(),
      ext.ech(),
      ext.quicTransportParameters(),
      ext.padding(20),
      ext.psk(), // pre_shared_key must be last
    ],
  });
  const ch = parseClientHello(body);
  assert.equal(ch.legacyVersion, 0x0303);
  assert.equal(ch.sessionId.length, 32);
  assert.deepEqual(ch.cipherSuites, [0x1301, 0xc02f, 0x00ff]);
  assert.deepEqual(ch.compressionMethods, [0]);
  assert.deepEqual(ch.extensions, [0, 10, 11, 13, 16, 43, 51, 45, 35, 42, 0xfe0d, 57, 21, 41]);
  assert.equal(ch.hasSni, true);
  assert.equal(ch.serverName, 'api.example.org');
  assert.deepEqual(ch.supportedGroups, [0x11ec, 0x001d, 0x0017]);
  assert.deepEqual(ch.ecPointFormats, [0, 1]);
  assert.deepEqual(ch.signatureAlgorithms, [0x0403, 0x0804]);
  assert.deepEqual(ch.alpn, ['h2', 'http/1.1']);
  assert.deepEqual(ch.supportedVersions, [0x0304, 0x0303]);
  assert.deepEqual(ch.keyShareGroups, [0x11ec, 0x001d]);
  assert.deepEqual(ch.pskKeyExchangeModes, [1]);
  assert.equal(ch.sessionTicketOffered, true);
  assert.equal(ch.pskOffered, true);
  assert.equal(ch.earlyData, true);
  assert.equal(ch.ech, true);
  assert.equal(ch.extensionErrors, 0);
});

test('ClientHello: GREASE values are kept in wire order for the fingerprints to drop', () => {
  const ch = parseClientHello(clientHelloBody(chromeLikeHello()));
  assert.equal(ch.cipherSuites[0], 0x1a1a);
  assert.equal(ch.extensions[0], 0x2a2a);
  assert.equal(ch.supportedGroups[0], 0x4a4a);
  assert.equal(ch.supportedVersions[0], 0x6a6a);
  assert.equal(ch.keyShareGroups[0], 0x5a5a);
  assert.ok([0x0a0a, 0x1a1a, 0xfafa].every(isGrease));
  assert.ok(![0x0a0b, 0x1301, 0x0000, 0xaaab].some(isGrease));
});

test('ClientHello without an extensions block (SSL 3.0 style) parses with empty lists', () => {
  const ch = parseClientHello(clientHelloBody({ version: 0x0300, ciphers: [0x000a] }));
  assert.equal(ch.legacyVersion, 0x0300);
  assert.deepEqual(ch.extensions, []);
  assert.equal(ch.hasSni, false);
});

test('ClientHello: a lying cipher_suites length throws TlsParseError', () => {
  const good = clientHelloBody({ ciphers: [0x1301, 0x1302], extensions: [ext.sni('a.b')] });
  const bad = good.slice();
  bad[2 + 32 + 1] = 0xff; // cipher_suites length high byte
  assert.throws(() => parseClientHello(bad), TlsParseError);
});

test('ClientHello: truncation anywhere throws TlsParseError, never something else', () => {
  const body = clientHelloBody(chromeLikeHello());
  let parsed = 0;
  for (let n = 0; n < body.length; n++) {
    try {
      // Only the cut right before the extensions block is a valid (extension-less) hello.
      assert.deepEqual(parseClientHello(body.subarray(0, n)).extensions, []);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof TlsParseError, `cut at ${n}: ${String(e)}`);
    }
  }
  assert.equal(parsed, 1);
});

test('ClientHello: an unreadable inner extension is counted, the hello still parses', () => {
  const bad = ext.raw(10, cat(u16(7), u16(0x001d))); // named_group_list claims 7 bytes, has 2
  const ch = parseClientHello(clientHelloBody({ ciphers: [0x1301], extensions: [bad, ext.sni('x.y')] }));
  assert.equal(ch.extensionErrors, 1);
  assert.equal(ch.serverName, 'x.y');
});

test('ClientHello: session_id longer than 32 bytes is malformed', () => {
  assert.throws(() => parseClientHello(clientHelloBody({ sessionId: fill(33), ciphers: [1] })), TlsParseError);
});

test('ClientHello: an empty SNI extension still marks SNI present', () => {
  const ch = parseClientHello(clientHelloBody({ ciphers: [0x1301], extensions: [ext.raw(0)] }));
  assert.equal(ch.hasSni, true);
  assert.equal(ch.serverName, '');
});

test('DTLS ClientHello carries a cookie after the session id', () => {
  const ch = parseClientHello(clientHelloBody({ version: 0xfefd, cookie: fill(20, 9), ciphers: [0xc02b] }, true), true);
  assert.equal(ch.cookieLen, 20);
  assert.deepEqual(ch.cipherSuites, [0xc02b]);
});

test('ServerHello: version, cipher, supported_versions, ALPN, PSK and key share', () => {
  const sh = parseServerHello(serverHelloBody({
    sessionId: fill(32, 1), cipher: 0x1301,
    extensions: [sext.supportedVersion(0x0304), sext.keyShare(0x001d), sext.psk(0), sext.alpn('h2')],
  }));
  assert.equal(sh.legacyVersion, 0x0303);
  assert.equal(sh.cipherSuite, 0x1301);
  assert.equal(sh.selectedVersion, 0x0304);
  assert.equal(sh.keyShareGroup, 0x001d);
  assert.equal(sh.pskAccepted, true);
  assert.equal(sh.alpn, 'h2');
  assert.equal(sh.helloRetryRequest, false);
  assert.deepEqual(sh.extensions, [43, 51, 41, 16]);
});

test('ServerHello: the HelloRetryRequest random marks a HelloRetryRequest', () => {
  const sh = parseServerHello(serverHelloBody({
    random: HRR_RANDOM, cipher: 0x1301, extensions: [sext.supportedVersion(0x0304), sext.hrrKeyShare(0x11ec)],
  }));
  assert.equal(sh.helloRetryRequest, true);
  assert.equal(sh.keyShareGroup, 0x11ec);
});

test('ServerHello: a lying extensions length throws TlsParseError', () => {
  const body = serverHelloBody({ cipher: 0xc02f, extensions: [sext.alpn('http/1.1')] });
  const bad = body.slice();
  bad.set(u16(400), 2 + 32 + 1 + 2 + 1); // extensions length, after version, random, session id, cipher, compression
  assert.throws(() => parseServerHello(bad), TlsParseError);
});

test('ALPN values keep raw bytes (latin1), so non-ASCII protocol ids survive', () => {
  const ch = parseClientHello(clientHelloBody({ ciphers: [1], extensions: [ext.alpn([hex('abcd'), ascii('h2')])] }));
  assert.equal(ch.alpn[0], '\xab\xcd');
  assert.deepEqual(vec16(new Uint8Array(0)), u16(0));
});
