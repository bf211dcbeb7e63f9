/**
 * Frames of Initial packets (RFC 9000 §19; §17.2.2 allows only PADDING, PING, ACK, CRYPTO and
 * CONNECTION_CLOSE there). CRYPTO data goes to the caller; anything else is skipped by its length.
 */
import { QuicReader, QuicParseError } from './reader.ts';

export interface FrameSink {
  crypto(offset: number, data: Uint8Array): void;
}

export interface FrameCounts {
  crypto: number;
  ack: number;
  ping: number;
  padding: number;
  connectionClose: number;
  /** A frame type not allowed in Initial packets: the rest of the packet was skipped. */
  unknown: number;
}

export function newFrameCounts(): FrameCounts {
  return { crypto: 0, ack: 0, ping: 0, padding: 0, connectionClose: 0, unknown: 0 };
}

/**
 * Walk the frames of a decrypted Initial payload.
 * @throws QuicParseError when a frame runs past the payload (the packet is malformed).
 */
export function parseInitialFrames(payload: Uint8Array, sink: FrameSink, counts: FrameCounts): void {
  const r = new QuicReader(payload);
  while (r.remaining > 0) {
    const type = r.varint('frame type');
    switch (type) {
      case 0x00: // PADDING: runs of zero bytes, skipped in one go
        counts.padding++;
        while (r.pos < r.end && r.buf[r.pos] === 0) r.pos++;
        break;
      case 0x01: // PING
        counts.ping++;
        break;
      case 0x02:
      case 0x03: {
        // ACK { Largest Acknowledged (i), ACK Delay (i), ACK Range Count (i), First ACK Range (i),
        //       ACK Range (..) ..., [ECN Counts (..)] }
        counts.ack++;
        r.varint('largest acknowledged');
        r.varint('ack delay');
        const ranges = r.varint('ack range count');
        r.varint('first ack range');
        if (ranges > r.remaining) throw new QuicParseError(`ack range count ${ranges} too large`);
        for (let i = 0; i < ranges; i++) {
          r.varint('gap');
          r.varint('ack range length');
        }
        if (type === 0x03) {
          r.varint('ect0');
          r.varint('ect1');
          r.varint('ecn-ce');
        }
        break;
      }
      case 0x06: {
        // CRYPTO { Offset (i), Length (i), Crypto Data (..) }
        counts.crypto++;
        const offset = r.varint('crypto offset');
        const len = r.varint('crypto length');
        const data = r.bytes(len, 'crypto data');
        sink.crypto(offset, data);
        break;
      }
      case 0x1c:
      case 0x1d: {
        // CONNECTION_CLOSE { Error Code (i), [Frame Type (i)], Reason Phrase Length (i), Reason Phrase (..) }
        counts.connectionClose++;
        r.varint('error code');
        if (type === 0x1c) r.varint('frame type');
        const n = r.varint('reason length');
        r.bytes(n, 'reason phrase');
        break;
      }
      default:
        counts.unknown++;
        return;
    }
  }
}
