/**
 * DTLS (RFC 6347, RFC 9147) plaintext records and handshake fragments of one direction: fragments are placed
 * by offset into their message and a message is handed out once complete. Only epoch 0 is readable.
 */
import { Cursor, TlsParseError } from './cursor.ts';

interface PartialMessage {
  type: number;
  body: Uint8Array;
  have: Uint8Array; // 1 per byte received
  filled: number;
}

export class DtlsReader {
  /** Records or fragments whose lengths did not fit. */
  malformed = 0;
  /** Epoch > 0 or DTLS 1.3 ciphertext records seen (encrypted: skipped). */
  encrypted = 0;
  private readonly partial = new Map<number, PartialMessage>();
  private readonly done = new Set<number>();
  private buffered = 0;
  private readonly limit: number;
  private readonly onMessage: (type: number, body: Uint8Array) => void;

  constructor(limit: number, onMessage: (type: number, body: Uint8Array) => void) {
    this.limit = limit;
    this.onMessage = onMessage;
  }

  /*
   * RFC 6347 §4.1:
   *   struct {
   *       ContentType type; ProtocolVersion version; uint16 epoch; uint48 sequence_number; uint16 length;
   *       opaque fragment[DTLSPlaintext.length];
   *   } DTLSPlaintext;
   */
  push(d: Uint8Array): void {
    // RFC 7983 demultiplexing: DTLS shares its 5-tuple with STUN (first byte 0-3) and RTP/RTCP (128-191).
    if (d.length === 0 || d[0]! < 20 || d[0]! > 63) return;
    const c = new Cursor(d);
    while (c.remaining > 0) {
      const first = d[c.pos]!;
      if ((first & 0xe0) === 0x20) {
        this.encrypted++; // DTLS 1.3 unified header: ciphertext up to the end of the datagram
        return;
      }
      if (c.remaining < 13) {
        this.malformed++;
        return;
      }
      const type = c.u8();
      c.skip(2); // version
      const epoch = c.u16();
      c.skip(6); // sequence number
      let frag: Cursor;
      try {
        frag = c.vec16('record');
      } catch {
        this.malformed++;
        return;
      }
      if (epoch !== 0) {
        this.encrypted++;
        continue;
      }
      if (type === 22) this.handshakeRecord(frag);
    }
  }

  /*
   * RFC 6347 §4.2.2:
   *   struct {
   *       HandshakeType msg_type; uint24 length; uint16 message_seq;
   *       uint24 fragment_offset; uint24 fragment_length; opaque body[fragment_length];
   *   } Handshake;
   */
  private handshakeRecord(c: Cursor): void {
    try {
      while (c.remaining > 0) {
        const type = c.u8();
        const length = c.u24();
        const seq = c.u16();
        const offset = c.u24();
        const fragLen = c.u24();
        const body = c.bytes(fragLen, 'fragment');
        if (offset + fragLen > length) throw new TlsParseError('fragment past message end');
        this.fragment(type, length, seq, offset, body);
      }
    } catch (e) {
      if (!(e instanceof TlsParseError)) throw e;
      this.malformed++;
    }
  }

  private fragment(type: number, length: number, seq: number, offset: number, body: Uint8Array): void {
    if (this.done.has(seq)) return;
    if (offset === 0 && body.length === length) {
      this.done.add(seq);
      this.partial.delete(seq);
      this.onMessage(type, body);
      return;
    }
    let m = this.partial.get(seq);
    if (m === undefined) {
      if (this.buffered + 2 * length > this.limit) return;
      m = { type, body: new Uint8Array(length), have: new Uint8Array(length), filled: 0 };
      this.buffered += 2 * length;
      this.partial.set(seq, m);
    }
    if (m.body.length !== length) {
      this.malformed++;
      return;
    }
    for (let i = 0; i < body.length; i++) {
      const at = offset + i;
      if (m.have[at] === 0) {
        m.have[at] = 1;
        m.body[at] = body[i]!;
        m.filled++;
      }
    }
    if (m.filled === length) {
      this.done.add(seq);
      this.partial.delete(seq);
      this.buffered -= 2 * length;
      this.onMessage(m.type, m.body);
    }
  }
}
