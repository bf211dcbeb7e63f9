import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHandshakeTracker } from '../../src/tls/index.ts';
import { QUIC_V2 } from '../../src/quic/index.ts';
import {
  cat, chromeLikeHello, clientHelloBody, ext, handshake, hex, sext, serverHelloBody, u8, type ClientHelloSpec,
} from '../tls/builder.ts';
import { PING, ackFrame, connectionClose, cryptoFrame, paddingFrames, sealInitial } from './builder.ts';
import { V1, V2 } from './vectors.ts';

const A = hex('a1a2a3a4a5a6a7a8');
const S = hex('5151515151');

function quicHello(spec: ClientHelloSpec = chromeLikeHello()): Uint8Array {
  return handshake(1, clientHelloBody({ ...spec, extensions: [...(spec.extensions ?? []), ext.quicTransportParameters()] }));
}

function pqHello(): Uint8Array {
  const spec = chromeLikeHello('pq.example');
  const exts = spec.extensions!.map((e) => (e.type === 51 ? ext.keyShare([0x5a5a, 0x11ec, 0x001d]) : e));
  return quicHello({ ...spec, extensions: exts });
}

const SH = handshake(2, serverHelloBody({ cipher: 0x1301, extensions: [sext.keyShare(0x11ec), sext.supportedVersion(0x0304)] }));

function padTo1200(frames: Uint8Array, overhead = 8 + 7 + 2 + 4 + 16 + 1): Uint8Array {
  const n = 1200 - overhead - frames.length;
  return n > 0 ? cat(frames, paddingFrames(n)) : frames;
}

test('RFC 9001 sample client and server Initials: ClientHello and ServerHello parsed, JA4 letter q', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, hex(V1.clientInitial), 1_000);
  assert.equal(t.done, false);
  t.onUdp(1, hex(V1.serverInitial), 21_000);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.protocol, 'quic');
  assert.equal(r.sni, 'example.com');
  assert.equal(r.alpnOffered, 'alpn');
  assert.equal(r.offeredVersion, '1.3');
  assert.equal(r.negotiatedVersion, '1.3');
  assert.equal(r.cipherSuites, '4865,4866');
  assert.equal(r.cipherChosen, '4865');
  assert.match(r.ja4, /^q13d0211an_/);
  assert.equal(r.helloRttUs, 20_000);
  assert.equal(t.done, true);
});

test('RFC 9369 sample client and server Initials (QUIC v2) parse the same', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, hex(V2.clientInitial), 0);
  t.onUdp(1, hex(V2.serverInitial), 0);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.sni, 'example.com');
  assert.match(r.ja4, /^q13d0211an_/);
  assert.equal(r.cipherChosen, '4865');
});

test('a post-quantum ClientHello across two Initial packets, the second one to a new DCID', () => {
  const ch = pqHello();
  assert.ok(ch.length > 1300);
  const cut = 900;
  const p1 = sealInitial({ dcid: A, pn: 0, frames: padTo1200(cat(PING, cryptoFrame(0, ch.subarray(0, cut)))), sender: 'client' });
  // After the server's first Initial the client addresses the server's SCID; the keys stay those of A.
  const p2 = sealInitial({ dcid: S, keyDcid: A, pn: 1, frames: padTo1200(cryptoFrame(cut, ch.subarray(cut))), sender: 'client' });
  const t = createHandshakeTracker();
  t.onUdp(0, p1, 0);
  t.onUdp(1, sealInitial({ dcid: hex('c1c2'), scid: S, keyDcid: A, pn: 0, frames: cat(ackFrame(0), cryptoFrame(0, SH)), sender: 'server' }), 10);
  assert.equal(t.result().sni, '');
  t.onUdp(0, p2, 20);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.sni, 'pq.example');
  assert.equal(r.supportedGroups, '29,23,24');
  assert.match(r.ja4, /^q13d1517h2_8daaf6152771_/);
  assert.equal(r.negotiatedVersion, '1.3');
});

test('a ClientHello across two Initial packets that arrive in reverse order', () => {
  const ch = pqHello();
  const p1 = sealInitial({ dcid: A, pn: 0, frames: padTo1200(cryptoFrame(0, ch.subarray(0, 1000))), sender: 'client' });
  const p2 = sealInitial({ dcid: A, pn: 1, frames: padTo1200(cryptoFrame(1000, ch.subarray(1000))), sender: 'client' });
  const t = createHandshakeTracker();
  t.onUdp(0, p2, 0);
  t.onUdp(0, p1, 1);
  assert.equal(t.result().sni, 'pq.example');
});

test('CRYPTO frames shuffled inside a packet and spread over coalesced packets in one datagram', () => {
  const ch = quicHello();
  const pieces = [0, 50, 51, 200, 333, 400, ch.length];
  const frames = pieces.slice(0, -1).map((o, i) => cryptoFrame(o, ch.subarray(o, pieces[i + 1])));
  const first = sealInitial({ dcid: A, pn: 0, frames: cat(frames[4]!, PING, frames[1]!, frames[0]!, paddingFrames(10)), sender: 'client' });
  const second = sealInitial({ dcid: A, pn: 1, frames: cat(frames[5]!, frames[2]!, frames[3]!, frames[2]!), sender: 'client' });
  const shortHeader = cat(u8(0x40), hex('a1a2a3a4a5a6a7a8'), new Uint8Array(40));
  const t = createHandshakeTracker();
  t.onUdp(0, cat(first, second, shortHeader), 0);
  const r = t.result();
  assert.equal(r.sni, 'www.example.com');
  assert.match(r.ja4, /^q13d1517h2_8daaf6152771_/);
});

test('QUIC v2 Initial built from scratch parses (type bits differ from v1)', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({ version: QUIC_V2, dcid: A, pn: 0, frames: padTo1200(cryptoFrame(0, quicHello())), sender: 'client' }), 0);
  assert.equal(t.result().sni, 'www.example.com');
});

test('after a Retry the client Initial keys come from the new Destination Connection ID', () => {
  const ch = quicHello();
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({ dcid: A, pn: 0, frames: padTo1200(cryptoFrame(0, ch.subarray(0, 100))), sender: 'client' }), 0);
  const retry = cat(u8(0xf0), hex('00000001'), u8(2), hex('c1c2'), u8(S.length), S, hex('746f6b656e'), new Uint8Array(16));
  t.onUdp(1, retry, 5);
  t.onUdp(0, sealInitial({ dcid: S, pn: 1, token: hex('746f6b656e'), frames: padTo1200(cryptoFrame(0, ch)), sender: 'client' }), 10);
  assert.equal(t.result().sni, 'www.example.com');
});

test('a ClientHello missing its second packet is partial', () => {
  const ch = pqHello();
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({ dcid: A, pn: 0, frames: padTo1200(cryptoFrame(0, ch.subarray(0, 1000))), sender: 'client' }), 0);
  const r = t.result();
  assert.equal(r.status, 'partial');
  assert.equal(r.protocol, 'quic');
});

test('only the second packet of a ClientHello (gap at offset 0) is partial', () => {
  const ch = pqHello();
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({ dcid: A, pn: 1, frames: padTo1200(cryptoFrame(1000, ch.subarray(1000))), sender: 'client' }), 0);
  assert.equal(t.result().status, 'partial');
});

test('a CRYPTO frame whose length runs past the packet is malformed, never thrown', () => {
  const bad = cat(u8(0x06), u8(0), hex('7fff'), new Uint8Array(20));
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({ dcid: A, pn: 0, frames: padTo1200(bad), sender: 'client' }), 0);
  const r = t.result();
  assert.equal(r.status, 'malformed');
  assert.equal(r.malformations, 1);
});

test('CONNECTION_CLOSE and ACK frames are skipped by their lengths', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, sealInitial({
    dcid: A, pn: 0, frames: padTo1200(cat(ackFrame(3), connectionClose(0x0a, 'nope'), cryptoFrame(0, quicHello()))), sender: 'client',
  }), 0);
  assert.equal(t.result().sni, 'www.example.com');
});

test('an undecryptable server Initial leaves the flow partial', () => {
  const t = createHandshakeTracker();
  t.onUdp(0, hex(V1.clientInitial), 0);
  const junk = hex(V1.serverInitial);
  junk[60] = junk[60]! ^ 0xff;
  t.onUdp(1, junk, 1);
  assert.equal(t.result().status, 'partial');
});

test('fuzz: corrupted datagrams never throw', () => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const good = [hex(V1.clientInitial), hex(V2.clientInitial), hex(V1.serverInitial)];
  for (let i = 0; i < 300; i++) {
    const t = createHandshakeTracker();
    for (const g of good) {
      const d = g.slice(0, rnd(3) === 0 ? rnd(g.length) : g.length);
      for (let k = rnd(3); k >= 0; k--) if (d.length > 0) d[rnd(Math.min(d.length, 60))] = rnd(256);
      t.onUdp(g === good[2] ? 1 : 0, d, i);
    }
    assert.ok(['parsed', 'partial', 'malformed', 'absent'].includes(t.result().status));
  }
});
