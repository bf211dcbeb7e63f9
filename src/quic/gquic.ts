/**
 * Google QUIC (gQUIC, versions Q024..Q050 and T050/T051): the client's first packets carry its hello in the
 * clear (or under Initial protection anyone can remove), so the server name is visible as it is for IETF QUIC.
 *
 * Grammar only: packets to stream bytes, a CHLO message to its tags. What the tracker makes of them is in src/tls.
 *
 * Sources: the gQUIC wire layout ("QUIC Wire Layout Specification", Chromium), the crypto handshake ("QUIC Crypto",
 * Chromium) and, for Q046-Q050 and T050, the long-header drafts they followed (draft-ietf-quic-invariants).
 */
import { QuicParseError, QuicReader } from './reader.ts';

const Q = 0x51; // 'Q'
const T = 0x54; // 'T'
const ZERO = 0x30; // '0'

/** Whether `v` is a Google QUIC version: 'Q0dd' (QUIC crypto) or 'T0dd' (TLS 1.3 inside gQUIC framing). */
export function isGquicVersion(v: number): boolean {
  const a = v >>> 24, b = (v >>> 16) & 0xff, c = (v >>> 8) & 0xff, d = v & 0xff;
  return (a === Q || a === T) && b === ZERO && c >= 0x30 && c <= 0x39 && d >= 0x30 && d <= 0x39;
}

/** The version's two-digit number (46 for Q046), 0 for a version that is not gQUIC. */
export function gquicNumber(v: number): number {
  return isGquicVersion(v) ? ((v >>> 8) & 0xff) * 10 + (v & 0xff) - 0x30 * 11 : 0;
}

/** The version as its four letters ('Q046'). */
export function gquicVersionName(v: number): string {
  return String.fromCharCode(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/**
 * Q050 and later, and T050 / T051, use IETF-style long headers and Initial protection (own salts) with gQUIC
 * frames inside; whether the CRYPTO stream holds a CHLO message (Q) or a TLS ClientHello (T) is the first letter.
 */
export function isGquicWithInitialProtection(v: number): boolean {
  return gquicNumber(v) >= 50;
}

/** True for gQUIC versions whose crypto stream carries CHLO/REJ/SHLO messages (every 'Q' version). */
export function isGquicCryptoVersion(v: number): boolean {
  return isGquicVersion(v) && v >>> 24 === Q;
}

function u32be(d: Uint8Array, o: number): number {
  return ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
}

/**
 * The version of a gQUIC client packet in the clear at `off`: a public header with the version flag (Q024..Q043),
 * or a Q046 long header; 0 when the bytes are neither (no allocation).
 *
 *   Public header (Q024..Q043): Public Flags (8) { 0x01 version, 0x02 reset, 0x04 nonce (server only),
 *     0x08 (0x0c before Q034) 8-byte connection ID, 0x30 packet number length 1/2/4/6 },
 *     [Connection ID (64)], [Version (32)], Packet Number (8..48)
 *   Q046 long header: 0b11TT00PP, Version (32), DCIL|SCIL (4+4, each +3 when non-zero), DCID, SCID, Packet Number
 */
export function gquicClientVersion(d: Uint8Array, off: number, len: number): number {
  if (len < 14) return 0;
  const flags = d[off]!;
  if ((flags & 0x80) !== 0) {
    // Q046: a long header whose version is Q046 (Q050+ are IETF-style and go through the Initial path).
    const v = u32be(d, off + 1);
    return gquicNumber(v) === 46 && (flags & 0x30) === 0 ? v : 0;
  }
  if ((flags & 0x01) === 0 || (flags & 0x02) !== 0 || (flags & 0x08) === 0) return 0;
  const v = u32be(d, off + 9);
  return isGquicVersion(v) && gquicNumber(v) < 46 ? v : 0;
}

/** Data of a STREAM frame on stream 1 (the crypto stream) in one client packet: its offset and bytes. */
export interface GquicStreamData {
  offset: number;
  data: Uint8Array; // view into the datagram
}

/**
 * Stream 1 data of a client packet in the clear (Q024..Q046, null encryption: a 12-byte message hash before the
 * frames), or null when the packet has none. Frames before it: PADDING ends the packet, PING and STOP_WAITING
 * are skipped; any other frame ends the walk (the next packet may show the hello).
 * @throws QuicParseError when a header or frame runs past the datagram.
 */
export function gquicClientStreamData(d: Uint8Array, version: number): GquicStreamData | null {
  const r = new QuicReader(d);
  const n = gquicNumber(version);
  const flags = r.u8('public flags');
  let pnLen: number;
  if (n === 46) {
    r.u32('version');
    const cil = r.u8('connection id lengths');
    const dcil = cil >> 4, scil = cil & 0x0f;
    r.bytes(dcil ? dcil + 3 : 0, 'destination connection id');
    r.bytes(scil ? scil + 3 : 0, 'source connection id');
    pnLen = (flags & 0x03) + 1;
  } else {
    r.bytes(8, 'connection id');
    r.u32('version');
    const bits = (flags >> 4) & 0x03;
    pnLen = bits === 0 ? 1 : bits === 1 ? 2 : bits === 2 ? 4 : 6;
  }
  r.bytes(pnLen, 'packet number');
  if (n < 34) r.u8('private flags');
  r.bytes(12, 'message authentication hash');
  const bigEndian = n >= 39;
  while (r.remaining > 0) {
    const type = r.u8('frame type');
    if (type & 0x80) {
      // STREAM: 1 F D OOO SS { Stream ID (8..32), [Offset (0, 16..64)], [Data Length (16)], Data }
      const idLen = (type & 0x03) + 1;
      const offBits = (type >> 2) & 0x07;
      const offLen = offBits === 0 ? 0 : offBits + 1;
      const id = uint(r.bytes(idLen, 'stream id'), bigEndian);
      const offset = uint(r.bytes(offLen, 'stream offset'), bigEndian);
      const len = type & 0x20 ? uint(r.bytes(2, 'data length'), bigEndian) : r.remaining;
      const data = r.bytes(len, 'stream data');
      if (id === 1) return { offset, data };
      continue;
    }
    if (type === 0x00) return null; // PADDING: the rest of the packet
    if (type === 0x07) continue; // PING
    if (type === 0x06) { r.bytes(pnLen, 'stop waiting delta'); continue; } // STOP_WAITING
    return null;
  }
  return null;
}

function uint(b: Uint8Array, bigEndian: boolean): number {
  let v = 0;
  if (bigEndian) for (let i = 0; i < b.length; i++) v = v * 256 + b[i]!;
  else for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i]!;
  return v;
}

/**
 * Frames of a decrypted Q050 / T050 Initial: gQUIC frame types with an IETF-style CRYPTO frame (type 0x08,
 * Offset (i), Length (i), Data). PADDING, PING and ACK are skipped; any other frame ends the walk.
 * @throws QuicParseError when a frame runs past the payload.
 */
export function parseGquicInitialFrames(payload: Uint8Array, crypto: (offset: number, data: Uint8Array) => void): number {
  const r = new QuicReader(payload);
  let frames = 0;
  while (r.remaining > 0) {
    const type = r.u8('frame type');
    if (type === 0x00) { while (r.pos < r.end && r.buf[r.pos] === 0) r.pos++; continue; }
    if (type === 0x07) continue;
    if ((type & 0xc0) === 0x40) { skipAck(r, type); continue; }
    if (type !== 0x08) return frames;
    const offset = r.varint('crypto offset');
    const len = r.varint('crypto length');
    crypto(offset, r.bytes(len, 'crypto data'));
    frames++;
  }
  return frames;
}

const FIELD_LENGTHS = [1, 2, 4, 6];

/**
 * Skips an ACK frame (Q044 and later): 01 M LL MM { Largest Acked (LL), Largest Acked Delta Time (16),
 * [Number of Blocks (8) when M], First Ack Block Length (MM), [Gap (8), Ack Block Length (MM)] per block,
 * Number of Timestamps (8), [Delta Largest Acked (8), Time Since Largest Acked (32)], [Delta (8), Time (16)] ... }
 */
function skipAck(r: QuicReader, type: number): void {
  const ll = FIELD_LENGTHS[(type >> 2) & 3]!, mm = FIELD_LENGTHS[type & 3]!;
  r.bytes(ll, 'largest acked');
  r.bytes(2, 'ack delay');
  const blocks = type & 0x20 ? r.u8('ack blocks') : 0;
  r.bytes(mm, 'first ack block');
  r.bytes(blocks * (1 + mm), 'ack blocks');
  const stamps = r.u8('timestamps');
  if (stamps > 0) r.bytes(5 + (stamps - 1) * 3, 'timestamps');
}

/** What a CHLO (client hello of QUIC crypto) says in the clear. */
export interface ChloFacts {
  /** SNI tag: the server name. */
  sni: string;
  /** UAID tag: the client's user agent. */
  uaid: string;
  /** VER tag: the version the client speaks, e.g. 'Q046'. */
  ver: string;
  /** AEAD and KEXS tags (algorithms offered), comma-joined tag names. */
  aead: string;
  kexs: string;
  /** Every tag in message order, comma-joined. */
  tags: string;
  /** Length of the whole message in bytes. */
  length: number;
  /** False when the bytes ended before the last tag's value (the values that fit were read). */
  complete: boolean;
}

const CHLO = 0x43484c4f;
/** Most tags a CHLO may declare (Chrome sends about 20-30). */
const MAX_TAGS = 128;

/** Whether `b` starts with the CHLO message tag. */
export function isChlo(b: Uint8Array): boolean {
  return b.length >= 4 && u32be(b, 0) === CHLO;
}

/**
 * Parse a CHLO message: Tag (32) 'CHLO', Number of Entries (16, little-endian), Padding (16), then per entry
 * Tag (32) and End Offset (32, little-endian, from the start of the values), then the values back to back.
 * Values the bytes do not reach are left empty (`complete` false).
 * @throws QuicParseError when the message is not a CHLO or its tag table is inconsistent.
 */
export function parseChlo(b: Uint8Array): ChloFacts {
  if (!isChlo(b)) throw new QuicParseError('not a CHLO message');
  if (b.length < 8) throw new QuicParseError('CHLO header truncated');
  const n = b[4]! | (b[5]! << 8);
  if (n > MAX_TAGS) throw new QuicParseError(`CHLO declares ${n} tags`);
  const base = 8 + 8 * n;
  const facts: ChloFacts = { sni: '', uaid: '', ver: '', aead: '', kexs: '', tags: '', length: base, complete: true };
  const tags: string[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const at = 8 + 8 * i;
    if (at + 8 > b.length) { facts.complete = false; break; }
    const tag = tagName(b, at);
    const end = (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0;
    if (end < prev) throw new QuicParseError(`CHLO tag ${tag} ends at ${end}, before the previous tag's end ${prev}`);
    tags.push(tag);
    const from = base + prev, to = base + end;
    prev = end;
    facts.length = to;
    if (to > b.length) { facts.complete = false; continue; }
    const value = b.subarray(from, to);
    if (tag === 'SNI') facts.sni = text(value);
    else if (tag === 'UAID') facts.uaid = text(value);
    else if (tag === 'VER') facts.ver = text(value);
    else if (tag === 'AEAD') facts.aead = tagList(value);
    else if (tag === 'KEXS') facts.kexs = tagList(value);
  }
  facts.tags = tags.join(',');
  return facts;
}

/** A tag's name: its four bytes as text without trailing NULs ('SNI\0' -> 'SNI'). */
function tagName(b: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[at + i]!;
    if (c === 0) break;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

function tagList(v: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(tagName(v, i));
  return out.join(',');
}

/** Printable ASCII of a value (a server name or user agent); other bytes become '?'. */
function text(v: Uint8Array): string {
  let s = '';
  for (let i = 0; i < v.length && i < 1024; i++) {
    const c = v[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

/**
 * Gathers one direction's CHLO from stream 1 data: the message starts with the chunk that begins with 'CHLO' and
 * grows by contiguous chunks up to `limit` bytes (a CHLO is one or two packets), so a retransmission or a chunk
 * out of order never corrupts it.
 */
export class ChloAssembler {
  private buf: Uint8Array | null = null;
  private start = 0;
  private length = 0;
  facts: ChloFacts | null = null;
  malformed = false;

  constructor(private readonly limit: number) {}

  push(offset: number, data: Uint8Array): void {
    if (this.facts?.complete || this.malformed) return;
    if (this.buf === null) {
      if (!isChlo(data)) return;
      this.buf = new Uint8Array(Math.min(this.limit, Math.max(2048, data.length)));
      this.start = offset;
    }
    if (offset !== this.start + this.length) return;
    const room = this.limit - this.length;
    const n = Math.min(room, data.length);
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(this.buf.length * 2, this.length + n)));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(data.subarray(0, n), this.length);
    this.length += n;
    try {
      this.facts = parseChlo(this.buf.subarray(0, this.length));
    } catch (e) {
      if (!(e instanceof QuicParseError)) throw e;
      this.malformed = true;
    }
  }

  /** Contiguous stream bytes in order from offset 0 (a reassembled CRYPTO stream). */
  append(data: Uint8Array): void {
    this.push(this.buf === null ? 0 : this.start + this.length, data);
  }

  /** True once the whole message was read (or it cannot be). */
  get done(): boolean {
    return this.malformed || this.facts?.complete === true || this.length >= this.limit;
  }
}
