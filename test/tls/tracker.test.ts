import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHandshakeTracker, type HandshakeTracker } from '../../src/tls/index.ts';
import {
  HRR_RANDOM, ascii, cat, certificateBody, chromeLikeHello, clientHelloBody, ext, fill, handshake, record, records,
  segments, sext, serverHelloBody, u16, u8,
} from './builder.ts';

const LEAF = new Uint8Array(readFileSync(new URL('../fixtures/tls/leaf.der', import.meta.url)));
const CHROME_JA4 = 't13d1516h2_8daaf6152771_e5627efa2ab1';

const clientStream = (spec = chromeLikeHello()): Uint8Array => record(22, handshake(1, clientHelloBody(spec)));
const sh13 = (extra: { type: number; data: Uint8Array }[] = []): Uint8Array => record(22, handshake(2, serverHelloBody({
  sessionId: fill(32, 0x33), cipher: 0x1301, extensions: [sext.supportedVersion(0x0304), sext.keyShare(0x1d), ...extra],
})), 0x0303);
const CCS = record(20, u8(1), 0x0303);
const APPDATA = record(23, fill(50, 0x77), 0x0303);

function tls12ServerFlight(opts: { sessionId?: Uint8Array; cert?: Uint8Array } = {}): Uint8Array {
  return record(22, cat(
    handshake(2, serverHelloBody({ sessionId: opts.sessionId, cipher: 0xc02f, extensions: [sext.alpn('http/1.1'), { type: 0xff01, data: u8(0) }] })),
    handshake(11, opts.cert ?? certificateBody([LEAF])),
    handshake(12, fill(100, 3)),
    handshake(14, new Uint8Array(0)),
  ), 0x0303);
}

function feed(t: HandshakeTracker, dir: 0 | 1, segs: { seq: number; data: Uint8Array }[], tsUs = 1000): void {
  for (const s of segs) t.onTcp(dir, s.seq, false, s.data, tsUs);
}

const C_ISN = 1000;
const S_ISN = 5000000;

test('TLS 1.3 over TCP: both hellos parsed, fields and fingerprints filled, done', () => {
  const t = createHandshakeTracker();
  t.onTcp(0, C_ISN, true, new Uint8Array(0), 0);
  feed(t, 0, segments(clientStream(), [], C_ISN), 1_000);
  assert.equal(t.done, false);
  feed(t, 1, segments(cat(sh13(), CCS, APPDATA), [], S_ISN), 31_000);
  assert.equal(t.done, true);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.protocol, 'tls');
  assert.equal(r.clientVersion, '0x0303');
  assert.equal(r.offeredVersion, '1.3');
  assert.equal(r.negotiatedVersion, '1.3');
  assert.equal(r.sni, 'www.example.com');
  assert.equal(r.alpnOffered, 'h2,http/1.1');
  assert.equal(r.cipherSuites.split(',')[0], '4865');
  assert.equal(r.cipherChosen, '4865');
  assert.equal(r.extensions, '0,23,65281,10,11,35,16,5,13,18,51,45,43,27,17513,21');
  assert.equal(r.supportedGroups, '29,23,24');
  assert.equal(r.signatureAlgorithms, '1027,2052,1025,1283,2053,1281,2054,1537');
  assert.equal(r.ja4, CHROME_JA4);
  assert.match(r.ja3Hash, /^[0-9a-f]{32}$/);
  assert.equal(r.ja3s, '771,4865,43-51');
  assert.equal(r.helloRttUs, 30_000);
  assert.equal(r.sessionResumption, false); // a TLS 1.3 echo of the compatibility session id is not resumption
  assert.equal(r.clientHelloLen, clientHelloBody(chromeLikeHello()).length);
  assert.ok(r.serverHelloLen > 38);
  assert.equal(r.certSubject, ''); // encrypted in 1.3
  assert.equal(r.malformations, 0);
});

test('ClientHello split across TCP segments (inside the record header too) parses the same', () => {
  const s = clientStream();
  for (const cuts of [[1], [3], [5, 6, 7], [2, 100, 101, 300], Array.from({ length: 40 }, (_, i) => i * 13)]) {
    const t = createHandshakeTracker();
    feed(t, 0, segments(s, cuts, C_ISN));
    assert.equal(t.result().ja4, CHROME_JA4, `cuts ${cuts.join(',')}`);
  }
});

test('out-of-order segments are buffered until the hole fills', () => {
  const segs = segments(clientStream(), [100, 200, 300], C_ISN);
  const t = createHandshakeTracker();
  t.onTcp(0, C_ISN, true, new Uint8Array(0), 0); // the SYN gives the stream start
  feed(t, 0, [segs[2]!, segs[3]!, segs[1]!]);
  assert.equal(t.result().ja4, '');
  feed(t, 0, [segs[0]!]);
  assert.equal(t.result().ja4, CHROME_JA4);
});

test('retransmitted and overlapping segments: first copy wins, duplicates are ignored', () => {
  const s = clientStream();
  const at = (from: number, to: number, junk = false) => ({
    seq: (C_ISN + 1 + from) >>> 0,
    data: junk ? fill(to - from, 0xee) : s.subarray(from, to),
  });
  const t = createHandshakeTracker();
  t.onTcp(0, C_ISN, true, new Uint8Array(0), 0);
  feed(t, 0, [at(0, 120), at(0, 120), at(60, 250), at(200, 260), at(300, s.length), at(250, 320), at(0, 50)]);
  assert.equal(t.result().ja4, CHROME_JA4);
});

test('sequence numbers wrap around 2^32', () => {
  const isn = 0xffffff00;
  const segs = segments(clientStream(), [100, 255, 256, 257, 400], isn);
  assert.ok(segs.some((x) => x.seq < 1000));
  const t = createHandshakeTracker();
  feed(t, 0, [segs[0]!, segs[3]!, segs[1]!, segs[2]!, segs[5]!, segs[4]!]);
  assert.equal(t.result().ja4, CHROME_JA4);
});

test('a ClientHello spread over several records, and several messages in one record', () => {
  const body = handshake(1, clientHelloBody(chromeLikeHello()));
  const t = createHandshakeTracker();
  feed(t, 0, segments(records(22, body, 100), [150, 333], C_ISN));
  feed(t, 1, segments(tls12ServerFlight(), [7], S_ISN));
  const r = t.result();
  assert.equal(r.ja4, CHROME_JA4);
  assert.equal(r.negotiatedVersion, '1.2');
  assert.equal(t.done, true);
});

test('TLS 1.2: the leaf certificate gives subject, issuer, SAN and validity', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(tls12ServerFlight(), [400, 800], S_ISN));
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.certSubject, 'C=NL, O=Veil Test, CN=veil.example');
  assert.equal(r.certIssuer, 'C=NL, O=Veil Test, CN=veil.example');
  assert.equal(r.certSan, 'veil.example,www.veil.example,192.0.2.7');
  assert.match(r.certNotBefore, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
  assert.ok(r.certNotAfter > r.certNotBefore);
  assert.equal(r.alpnChosen, 'http/1.1');
  assert.equal(r.ja3s, '771,49199,16-65281');
  assert.equal(t.done, true);
});

test('TLS 1.2: an undecodable certificate leaves the cert fields empty, the handshake still parsed', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(tls12ServerFlight({ cert: certificateBody([fill(300, 0x30)]) }), [], S_ISN));
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.certSubject, '');
  assert.equal(r.certNotAfter, '');
});

test('resumption: TLS 1.2 session id echoed by the server', () => {
  const sid = fill(32, 0x33); // chromeLikeHello's session id
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(cat(record(22, handshake(2, serverHelloBody({ sessionId: sid, cipher: 0xc02f })), 0x0303), CCS), [], S_ISN));
  const r = t.result();
  assert.equal(r.sessionResumption, true);
  assert.equal(t.done, true); // abbreviated handshake: no certificate will come
});

test('resumption: TLS 1.2 abbreviated handshake after a session ticket (empty session id)', () => {
  const spec = { ...chromeLikeHello(), sessionId: new Uint8Array(0), extensions: [ext.sni('a.example'), ext.sessionTicket(fill(100, 4))] };
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(spec), [], C_ISN));
  feed(t, 1, segments(cat(record(22, cat(
    handshake(2, serverHelloBody({ cipher: 0xc02f, extensions: [{ type: 35, data: new Uint8Array(0) }] })),
    handshake(4, fill(80, 1)),
  ), 0x0303), CCS), [], S_ISN));
  assert.equal(t.result().sessionResumption, true);
});

test('resumption: TLS 1.3 PSK accepted by the server', () => {
  const t = createHandshakeTracker();
  const spec = chromeLikeHello();
  feed(t, 0, segments(clientStream({ ...spec, extensions: [...spec.extensions!, ext.psk()] }), [], C_ISN));
  feed(t, 1, segments(sh13([sext.psk(0)]), [], S_ISN));
  assert.equal(t.result().sessionResumption, true);
});

test('HelloRetryRequest: the second ClientHello is fingerprinted as ja4Retry', () => {
  const spec = chromeLikeHello();
  const second = { ...spec, extensions: spec.extensions!.filter((e) => e.type !== 21) }; // no padding the second time
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(spec), [], C_ISN));
  const hrr = record(22, handshake(2, serverHelloBody({
    random: HRR_RANDOM, sessionId: fill(32, 0x33), cipher: 0x1301,
    extensions: [sext.supportedVersion(0x0304), sext.hrrKeyShare(0x17)],
  })), 0x0303);
  feed(t, 1, segments(hrr, [], S_ISN));
  assert.equal(t.done, false);
  feed(t, 0, segments(cat(CCS, clientStream(second)), [], C_ISN + clientStream(spec).length));
  feed(t, 1, segments(cat(CCS, sh13()), [], S_ISN + hrr.length));
  const r = t.result();
  assert.equal(r.helloRetry, true);
  assert.equal(r.ja4, CHROME_JA4);
  // Chrome's second hello drops the padding extension: the value tls-sni.pcapng's reference gives for JA4.2.
  assert.equal(r.ja4Retry, 't13d1515h2_8daaf6152771_f37e75b10bcc');
  assert.equal(r.negotiatedVersion, '1.3');
  assert.equal(r.status, 'parsed');
  assert.equal(t.done, true);
});

test('SOCKS5 and HTTP CONNECT preludes before the ClientHello are skipped by content', () => {
  for (const prelude of [Uint8Array.of(5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 1, 187), ascii('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n')]) {
    const t = createHandshakeTracker();
    feed(t, 0, segments(cat(prelude, clientStream()), [prelude.length], C_ISN));
    feed(t, 1, segments(cat(ascii('HTTP/1.1 200 Connection established\r\n\r\n'), sh13()), [], S_ISN));
    const r = t.result();
    assert.equal(r.ja4, CHROME_JA4);
    assert.equal(r.negotiatedVersion, '1.3');
  }
});

test('a stream that is not TLS is absent, and the tracker finishes', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(ascii(`GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'z'.repeat(3000)}\r\n\r\n`), [1400], C_ISN));
  const r = t.result();
  assert.equal(r.status, 'absent');
  assert.equal(r.protocol, '');
  assert.equal(t.done, true);
});

test('a ClientHello cut short by the capture is partial', () => {
  const s = clientStream();
  const t = createHandshakeTracker();
  feed(t, 0, segments(s.subarray(0, 200), [], C_ISN));
  assert.equal(t.result().status, 'partial');
});

test('a missing segment before the rest of the ClientHello is partial', () => {
  const segs = segments(clientStream(), [100, 200], C_ISN);
  const t = createHandshakeTracker();
  feed(t, 0, [segs[0]!, segs[2]!]);
  assert.equal(t.result().status, 'partial');
});

test('the ServerHello missing while server bytes were seen is partial', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(sh13().subarray(0, 30), [], S_ISN));
  assert.equal(t.result().status, 'partial');
});

test('the byte limit per direction gives up cleanly: partial, done', () => {
  const spec = chromeLikeHello();
  const big = { ...spec, extensions: [...spec.extensions!, ext.padding(6000)] };
  const t = createHandshakeTracker({ maxBytesPerDirection: 2048 });
  feed(t, 0, segments(clientStream(big), [1400, 2800, 4200], C_ISN));
  assert.equal(t.result().status, 'partial');
  assert.equal(t.done, true);
});

test('the packet budget per direction gives up cleanly', () => {
  const t = createHandshakeTracker({ maxPacketsPerDirection: 3 });
  feed(t, 0, segments(clientStream(), [10, 20, 30, 40, 50], C_ISN));
  assert.equal(t.result().status, 'partial');
  assert.equal(t.done, true);
});

test('a lying cipher_suites length inside a complete ClientHello is malformed, never thrown', () => {
  const body = clientHelloBody(chromeLikeHello());
  body[2 + 32 + 1 + 32] = 0x7f;
  const t = createHandshakeTracker();
  feed(t, 0, segments(record(22, handshake(1, body)), [], C_ISN));
  const r = t.result();
  assert.equal(r.status, 'malformed');
  assert.equal(r.malformations, 1);
  assert.equal(t.done, true);
});

test('a bad record after a plausible start is malformed', () => {
  const s = clientStream();
  const bad = cat(record(22, handshake(1, clientHelloBody(chromeLikeHello())).subarray(0, 50)), Uint8Array.of(0x99, 3, 3, 0, 5), fill(5));
  const t = createHandshakeTracker();
  feed(t, 0, segments(bad, [], C_ISN));
  assert.equal(t.result().status, 'malformed');
  assert.ok(s.length > 0);
});

test('a server record length above 2^14+2048 is malformed', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(cat(Uint8Array.of(22, 3, 3), u16(0x5000), fill(100)), [], S_ISN));
  assert.equal(t.result().status, 'malformed');
});

test('after done, more packets change nothing and the record object is reused', () => {
  const t = createHandshakeTracker();
  feed(t, 0, segments(clientStream(), [], C_ISN));
  feed(t, 1, segments(cat(sh13(), CCS), [], S_ISN));
  assert.equal(t.done, true);
  const a = t.result();
  feed(t, 1, segments(fill(1000, 0x17), [], S_ISN + 5000));
  feed(t, 0, segments(fill(1000, 0x17), [], C_ISN + 5000));
  assert.equal(t.result(), a);
});

test('fuzz: random mutations of a full handshake never throw', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const c = clientStream();
  const s = tls12ServerFlight();
  const statuses = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const cm = c.slice();
    const sm = s.slice();
    for (let k = rnd(4); k >= 0; k--) cm[rnd(cm.length)] = rnd(256);
    for (let k = rnd(4); k >= 0; k--) sm[rnd(sm.length)] = rnd(256);
    const t = createHandshakeTracker();
    const cuts = [rnd(cm.length), rnd(cm.length)].sort((a, b) => a - b);
    feed(t, 0, segments(cm, cuts, rnd(2 ** 32)));
    feed(t, 1, segments(sm, [rnd(sm.length)], rnd(2 ** 32)));
    statuses.add(t.result().status);
  }
  assert.ok(statuses.has('parsed'));
  assert.ok(statuses.has('malformed'));
});
