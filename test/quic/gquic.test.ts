import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHandshakeTracker, looksLikeHandshakeStart } from '../../src/tls/index.ts';
import { parseChlo, QuicParseError } from '../../src/quic/index.ts';
import { ascii, cat, chromeLikeHello, clientHelloBody, ext, fill, handshake, hex, sext, serverHelloBody, u8 } from '../tls/builder.ts';
import { encodeVarint } from '../../src/quic/index.ts';
import { sealInitial } from './builder.ts';
import { extended, SHARED_DATA } from '../helpers/shared.ts';

/**
 * Google QUIC: the client's CHLO (Q024..Q046 in the clear, Q050 under Initial protection with its own salt) and
 * T050's TLS ClientHello (Initial protection, gQUIC frames) name the server as IETF QUIC's ClientHello does.
 */

const Q035 = 0x51303335, Q043 = 0x51303433, Q046 = 0x51303436, Q050 = 0x51303530, T050 = 0x54303530;
const CID = hex('9370e15e7c446d08');

function le32(v: number): Uint8Array {
  return Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
}
function be32(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

/** A CHLO message: tags in order with their values (tag names padded with NULs to 4 bytes). */
function chlo(tags: [string, Uint8Array][]): Uint8Array {
  const head: Uint8Array[] = [ascii('CHLO'), Uint8Array.of(tags.length & 255, tags.length >> 8, 0, 0)];
  let end = 0;
  for (const [t, v] of tags) {
    end += v.length;
    head.push(ascii(t.padEnd(4, '\0')), le32(end));
  }
  return cat(...head, ...tags.map(([, v]) => v));
}

const HELLO = chlo([
  ['PAD', fill(40, 0x2d)], ['SNI', ascii('www.youtube.com')], ['VER', ascii('Q043')], ['AEAD', ascii('AESGCC20')],
  ['UAID', ascii('Chrome/74.0.3729.157 Android 8.0.0')], ['KEXS', ascii('C255')],
]);

/** STREAM frame on stream 1: 1 0 1 OOO 00, stream id (1 byte), offset, data length (16), data. */
function streamFrame(data: Uint8Array, bigEndian: boolean, offset = 0, offLen = 0): Uint8Array {
  const offBits = offLen === 0 ? 0 : offLen - 1;
  const off = new Uint8Array(offLen);
  for (let i = 0, x = offset; i < offLen; i++, x = Math.floor(x / 256)) off[bigEndian ? offLen - 1 - i : i] = x & 255;
  const len = bigEndian ? Uint8Array.of(data.length >> 8, data.length & 255) : Uint8Array.of(data.length & 255, data.length >> 8);
  return cat(u8(0xa0 | (offBits << 2)), u8(1), off, len, data);
}

/** A client packet of Q024..Q043: public flags (version, 8-byte CID, 1-byte packet number), hash, frames. */
function publicHeaderPacket(version: number, frames: Uint8Array, pn = 1): Uint8Array {
  return cat(u8(0x0d), CID, be32(version), u8(pn), fill(12, 0xaa), frames, fill(Math.max(0, 1200 - 26 - frames.length), 0));
}

test('a Q043 client packet in the clear: SNI, version and user agent from the CHLO tags', () => {
  const pkt = publicHeaderPacket(Q043, streamFrame(HELLO, true));
  assert.ok(looksLikeHandshakeStart(17, pkt, 0, pkt.length), 'sniffed by content');
  const t = createHandshakeTracker();
  t.onUdp(0, pkt, 1000);
  assert.equal(t.done, true, 'the server answers encrypted: nothing more to wait for');
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.protocol, 'quic');
  assert.equal(r.sni, 'www.youtube.com');
  assert.equal(r.clientVersion, 'Q043');
  assert.equal(r.clientHelloLen, HELLO.length);
  assert.equal(r.ja4, '', 'a CHLO is no TLS ClientHello: no JA4');
  const f = parseChlo(HELLO);
  assert.equal(f.uaid, 'Chrome/74.0.3729.157 Android 8.0.0');
  assert.equal(f.tags, 'PAD,SNI,VER,AEAD,UAID,KEXS');
  assert.equal(f.aead, 'AESG,CC20');
});

test('Q035 writes stream lengths little-endian; a CHLO split over two packets is joined by offset', () => {
  const a = HELLO.subarray(0, 60), b = HELLO.subarray(60);
  const t = createHandshakeTracker();
  t.onUdp(0, publicHeaderPacket(Q035, streamFrame(a, false)), 0);
  assert.equal(t.done, false, 'half a CHLO: wait for the rest');
  t.onUdp(1, hex('0c9370e15e7c446d0801aabbccdd'), 0); // a server packet: ignored
  t.onUdp(0, publicHeaderPacket(Q035, streamFrame(b, false, 60, 2), 2), 0);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.sni, 'www.youtube.com');
});

test('Q046 long header (connection ID lengths in one byte) with the CHLO in the clear', () => {
  const frames = streamFrame(HELLO, true);
  const pkt = cat(u8(0xc3), be32(Q046), u8(0x50), CID, be32(1), fill(12, 0xaa), frames, fill(1200 - 30 - frames.length, 0));
  const t = createHandshakeTracker();
  t.onUdp(0, pkt, 0);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.sni, 'www.youtube.com');
  assert.equal(r.clientVersion, 'Q043', 'the VER tag is what the client says it speaks');
});

/** gQUIC's CRYPTO frame (type 0x08) in Q050 / T050 Initials. */
function gCrypto(offset: number, data: Uint8Array): Uint8Array {
  return cat(u8(0x08), encodeVarint(offset), encodeVarint(data.length), data);
}

test('Q050: Initial protection with its own salt, the CHLO in a gQUIC CRYPTO frame', () => {
  const frames = cat(gCrypto(0, HELLO), fill(900, 0));
  const pkt = sealInitial({ version: Q050, dcid: CID, pn: 1, frames, sender: 'client' });
  assert.ok(looksLikeHandshakeStart(17, pkt, 0, pkt.length));
  const t = createHandshakeTracker();
  t.onUdp(0, pkt, 0);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.protocol, 'quic');
  assert.equal(r.sni, 'www.youtube.com');
  assert.equal(r.malformations, 0);
});

test('T050: a TLS ClientHello in gQUIC frames; the server Initial starts with a gQUIC ACK frame', () => {
  const ch = handshake(1, clientHelloBody({ ...chromeLikeHello('fonts.googleapis.com'), extensions: [...chromeLikeHello('fonts.googleapis.com').extensions!, ext.alpn(['h3-T050']), ext.quicTransportParameters()] }));
  const client = sealInitial({ version: T050, dcid: CID, pn: 1, frames: cat(gCrypto(0, ch), fill(600, 0)), sender: 'client' });
  const sh = handshake(2, serverHelloBody({ cipher: 0x1301, extensions: [sext.keyShare(0x001d), sext.supportedVersion(0x0304)] }));
  // ACK: 0x40 (1-byte largest acked and block), largest 1, delay 0, first block 1, no timestamps.
  const ack = Uint8Array.of(0x40, 1, 0, 0, 1, 0);
  const server = sealInitial({ version: T050, dcid: new Uint8Array(0), scid: CID, keyDcid: CID, pn: 1, frames: cat(ack, gCrypto(0, sh), fill(100, 0)), sender: 'server' });
  const t = createHandshakeTracker();
  t.onUdp(0, client, 0);
  t.onUdp(1, server, 20_000);
  const r = t.result();
  assert.equal(r.status, 'parsed');
  assert.equal(r.sni, 'fonts.googleapis.com');
  assert.equal(r.alpnOffered.split(',').at(-1), 'h3-T050');
  assert.equal(r.negotiatedVersion, '1.3');
  assert.match(r.ja4, /^q13d/);
});

test('a CHLO whose tag table runs backwards is malformed, never thrown; junk after the flags is not gQUIC', () => {
  const bad = cat(ascii('CHLO'), Uint8Array.of(2, 0, 0, 0), ascii('SNI\0'), le32(20), ascii('VER\0'), le32(4), fill(40, 0x41));
  assert.throws(() => parseChlo(bad), QuicParseError);
  const t = createHandshakeTracker();
  t.onUdp(0, publicHeaderPacket(Q043, streamFrame(bad, true)), 0);
  const r = t.result();
  assert.equal(r.status, 'malformed');
  assert.equal(r.sni, '');
  // Public flags with the version bit but a version that is not Q0dd: not a handshake start.
  const notQuic = cat(u8(0x0d), CID, ascii('HTTP'), fill(40, 0));
  assert.equal(looksLikeHandshakeStart(17, notQuic, 0, notQuic.length), false);
  for (let cut = 1; cut < 80; cut += 7) {
    const t2 = createHandshakeTracker();
    t2.onUdp(0, publicHeaderPacket(Q043, streamFrame(HELLO, true)).subarray(0, 26 + cut), 0);
    t2.result();
  }
});

const P = SHARED_DATA ? path.join(SHARED_DATA, 'ndpi/pcap') : '';
const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));

test('real Google QUIC captures (Q035, Q039, Q046, Q050, T050) show the names tshark shows', extended('gQUIC captures'), () => {
  const want: Record<string, string> = {
    'youtube_quic.pcap': 'pagead2.googlesyndication.com', 'gquic.pcap': 'www.gstatic.com', 'quic_q46.pcap': 'play.google.com',
    'youtubeupload.pcap': 'upload.youtube.com', 'quic_t50.pcap': 'fonts.googleapis.com',
  };
  for (const [file, sni] of Object.entries(want)) {
    const r = spawnSync(process.execPath, [VEIL, 'extract', path.join(P, file), '--features', 'handshake', '-o', '-', '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [head, ...rows] = r.stdout.trim().split('\n').map((l) => l.split(','));
    const at = (n: string) => head!.indexOf(n);
    const snis = rows.filter((x) => x[at('id_protocol')] === '17').map((x) => x[at('tls_sni')]);
    assert.ok(snis.includes(sni), `${file}: ${snis.join(' ')}`);
  }
});
