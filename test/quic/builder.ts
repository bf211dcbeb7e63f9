/**
 * QUIC Initial packet writer for tests: frames, long header, AES-128-GCM sealing and header protection with the
 * keys src/quic derives, so a test can build what a client or server would send.
 */
import { createCipheriv } from 'node:crypto';
import { QUIC_V2, deriveInitialKeys, encodeVarint, type PacketKeys } from '../../src/quic/index.ts';
import { cat, fill, u8 } from '../tls/builder.ts';

export function cryptoFrame(offset: number, data: Uint8Array): Uint8Array {
  return cat(u8(0x06), encodeVarint(offset), encodeVarint(data.length), data);
}
export function paddingFrames(n: number): Uint8Array {
  return fill(n, 0);
}
export const PING = u8(0x01);
export function ackFrame(largest: number): Uint8Array {
  return cat(u8(0x02), encodeVarint(largest), encodeVarint(0), encodeVarint(0), encodeVarint(0));
}
export function connectionClose(code: number, reason: string): Uint8Array {
  return cat(u8(0x1c), encodeVarint(code), encodeVarint(0), encodeVarint(reason.length), Uint8Array.from(reason, (c) => c.charCodeAt(0)));
}

export interface InitialSpec {
  version?: number;
  /** Destination Connection ID written in the header. */
  dcid: Uint8Array;
  scid?: Uint8Array;
  token?: Uint8Array;
  pn: number;
  pnLen?: 1 | 2 | 3 | 4;
  frames: Uint8Array;
  /** Connection ID the keys are derived from (the client's first DCID); defaults to `dcid`. */
  keyDcid?: Uint8Array;
  sender: 'client' | 'server';
}

/** RFC 9001 §5.3-5.4 in the sealing direction. */
export function sealInitial(s: InitialSpec): Uint8Array {
  const version = s.version ?? 1;
  const keys = deriveInitialKeys(version, s.keyDcid ?? s.dcid)!;
  const pk: PacketKeys = s.sender === 'client' ? keys.client : keys.server;
  const pnLen = s.pnLen ?? 4;
  const typeBits = version === QUIC_V2 ? 1 : 0;
  const first = 0xc0 | (typeBits << 4) | (pnLen - 1);
  const pnBytes = new Uint8Array(pnLen);
  for (let i = 0, x = s.pn; i < pnLen; i++, x = Math.floor(x / 256)) pnBytes[pnLen - 1 - i] = x & 0xff;
  const length = pnLen + s.frames.length + 16;
  const header = cat(
    u8(first), Uint8Array.of(version >>> 24, (version >>> 16) & 255, (version >>> 8) & 255, version & 255),
    u8(s.dcid.length), s.dcid, u8((s.scid ?? new Uint8Array(0)).length), s.scid ?? new Uint8Array(0),
    encodeVarint((s.token ?? new Uint8Array(0)).length), s.token ?? new Uint8Array(0),
    encodeVarint(length, 2), pnBytes,
  );
  const nonce = Buffer.from(pk.iv);
  for (let i = 11, x = s.pn; i >= 4 && x > 0; i--, x = Math.floor(x / 256)) nonce[i] = nonce[i]! ^ (x % 256);
  const c = createCipheriv('aes-128-gcm', pk.key, nonce);
  c.setAAD(header);
  const ct = cat(c.update(s.frames), c.final(), c.getAuthTag());
  const packet = cat(header, ct);
  const pnOffset = header.length - pnLen;
  const mask = pk.mask(packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0] = packet[0]! ^ (mask[0]! & 0x0f);
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i] = packet[pnOffset + i]! ^ mask[1 + i]!;
  return packet;
}
