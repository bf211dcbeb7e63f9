import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeHandshakeStart } from '../../src/tls/index.ts';
import { ascii, cat, hex } from './builder.ts';
import { V1, V2 } from '../quic/vectors.ts';

test('TCP: TLS handshake records and the proxy / STARTTLS preludes that precede them', () => {
  const yes = [hex('160301020001'), hex('16'), hex('1603'), hex('050100'), hex('0401 01bb 0a000001 00'), ascii('CONNECT a:443 HTTP/1.1\r\n'),
    ascii('PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n'), ascii('220 mail.example ESMTP\r\n'), ascii('* OK IMAP4rev1\r\n'), ascii('+OK POP3\r\n')];
  for (const p of yes) assert.equal(looksLikeHandshakeStart(6, p, 0, p.length), true, Buffer.from(p).toString('hex'));
  const no = [hex('170303001a'), hex('160501'), ascii('GET / HTTP/1.1\r\n'), hex('05010203'), hex('')];
  for (const p of no) assert.equal(looksLikeHandshakeStart(6, p, 0, p.length), false, Buffer.from(p).toString('hex'));
});

test('UDP: QUIC v1 / v2 Initials and DTLS handshake records; the offset is honoured', () => {
  for (const d of [hex(V1.clientInitial), hex(V2.clientInitial)]) {
    const framed = cat(hex('00000000'), d);
    assert.equal(looksLikeHandshakeStart(17, framed, 4, d.length), true);
    assert.equal(looksLikeHandshakeStart(17, framed, 0, d.length), false);
  }
  assert.equal(looksLikeHandshakeStart(17, hex('16fefd0000000000000000002d01'), 0, 14), true);
  assert.equal(looksLikeHandshakeStart(17, hex('d0000000010800'), 0, 7), false); // v1 with v2's Initial bits (0-RTT in v1)
  assert.equal(looksLikeHandshakeStart(17, hex('c0515035300800'), 0, 7), false); // gQUIC Q050
  assert.equal(looksLikeHandshakeStart(17, hex('0001000c2112a442'), 0, 8), false); // STUN
});

test('a length past the buffer is refused', () => {
  assert.equal(looksLikeHandshakeStart(6, hex('160301'), 0, 10), false);
});
