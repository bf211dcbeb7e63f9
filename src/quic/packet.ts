/**
 * Long-header packets (RFC 9000 §17.2) and removal of Initial packet protection (RFC 9001 §5.3-5.4).
 */
import { createDecipheriv } from 'node:crypto';
import { QuicReader, QuicParseError } from './reader.ts';
import { versionParams, type PacketKeys } from './keys.ts';

export type LongType = 'initial' | '0rtt' | 'handshake' | 'retry';

/*
 * RFC 9000 §17.2 (Initial: §17.2.2):
 *   Long Header Packet {
 *     Header Form (1) = 1, Fixed Bit (1) = 1, Long Packet Type (2), Type-Specific Bits (4),
 *     Version (32), Destination Connection ID Length (8), Destination Connection ID (0..160),
 *     Source Connection ID Length (8), Source Connection ID (0..160),
 *     [Initial: Token Length (i), Token (..)], Length (i), Packet Number (8..32), Packet Payload (..)
 *   }
 * Retry packets have no Length: they run to the end of the datagram.
 */
export interface LongHeader {
  first: number;
  version: number;
  type: LongType;
  dcid: Uint8Array; // view
  scid: Uint8Array; // view
  /** Offset of the packet's first byte in the datagram. */
  start: number;
  /** Offset of the (protected) packet number; for Retry, the token start. */
  pnOffset: number;
  /** Offset one past the packet's last byte. */
  end: number;
}

/**
 * Parse the long header at `off`, or return null when the bytes there are a short-header packet, a Version
 * Negotiation packet or a version we cannot read (the rest of the datagram is then opaque).
 * @throws QuicParseError when a length runs past the datagram.
 */
export function parseLongHeader(d: Uint8Array, off: number, end = d.length): LongHeader | null {
  const r = new QuicReader(d, off, end);
  const first = r.u8('first byte');
  if ((first & 0x80) === 0) return null;
  const version = r.u32('version');
  if (version === 0) return null;
  const params = versionParams(version);
  if (params === null) return null;
  const dcidLen = r.u8('dcid length');
  if (dcidLen > 20) throw new QuicParseError(`dcid length ${dcidLen} > 20`);
  const dcid = r.bytes(dcidLen, 'dcid');
  const scidLen = r.u8('scid length');
  if (scidLen > 20) throw new QuicParseError(`scid length ${scidLen} > 20`);
  const scid = r.bytes(scidLen, 'scid');
  const bits = (first >> 4) & 3;
  const t = params.types;
  const type: LongType = bits === t.initial ? 'initial' : bits === t.handshake ? 'handshake'
    : bits === t.zeroRtt ? '0rtt' : 'retry';
  if (type === 'retry') return { first, version, type, dcid, scid, start: off, pnOffset: r.pos, end };
  if (type === 'initial') {
    const tokenLen = r.varint('token length');
    r.bytes(tokenLen, 'token');
  }
  const length = r.varint('length');
  if (length > r.remaining) throw new QuicParseError(`packet length ${length} > ${r.remaining} remaining`);
  return { first, version, type, dcid, scid, start: off, pnOffset: r.pos, end: r.pos + length };
}

/** Outcome of opening one packet: its packet number and plaintext payload (frames). */
export interface OpenedPacket {
  pn: number;
  payload: Buffer;
}

/** RFC 9000 §A.3: the full packet number closest to `expected` that ends in `truncated`. */
export function decodePacketNumber(expected: number, truncated: number, pnBits: number): number {
  const win = 2 ** pnBits;
  const hwin = win / 2;
  const mask = win - 1;
  const candidate = expected - (expected % win) + (truncated & mask);
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/**
 * Remove header protection and decrypt an Initial (or Handshake) packet with AES-128-GCM. The datagram is not
 * modified. Returns null when the packet is too short to sample or authentication fails (wrong keys).
 */
export function openPacket(d: Uint8Array, h: LongHeader, keys: PacketKeys, expectedPn: number): OpenedPacket | null {
  const sampleOff = h.pnOffset + 4;
  if (sampleOff + 16 > h.end) return null;
  const mask = keys.mask(d.subarray(sampleOff, sampleOff + 16));
  const first = h.first ^ (mask[0]! & 0x0f);
  const pnLen = (first & 0x03) + 1;
  const headerLen = h.pnOffset - h.start + pnLen;
  if (h.pnOffset + pnLen + 16 > h.end) return null;
  const aad = Buffer.from(d.subarray(h.start, h.start + headerLen)); // a copy: unmasked in place below
  aad[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLen; i++) {
    const b = aad[h.pnOffset - h.start + i]! ^ mask[1 + i]!;
    aad[h.pnOffset - h.start + i] = b;
    truncated = truncated * 256 + b;
  }
  const pn = decodePacketNumber(expectedPn, truncated, pnLen * 8);
  const nonce = Buffer.from(keys.iv);
  // The 62-bit packet number is XORed into the low bytes of the IV (RFC 9001 §5.3).
  let x = pn;
  for (let i = 11; i >= 4 && x > 0; i--) {
    nonce[i]! ^= x % 256;
    x = Math.floor(x / 256);
  }
  const ctStart = h.start + headerLen;
  const tagStart = h.end - 16;
  try {
    const dec = createDecipheriv('aes-128-gcm', keys.key, nonce);
    dec.setAAD(aad);
    dec.setAuthTag(d.subarray(tagStart, h.end));
    const p1 = dec.update(d.subarray(ctStart, tagStart));
    const p2 = dec.final();
    return { pn, payload: p2.length === 0 ? p1 : Buffer.concat([p1, p2]) };
  } catch {
    return null;
  }
}
