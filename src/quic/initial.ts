/**
 * Per-flow reader of QUIC Initial packets: remembers the client's first Destination Connection ID, derives the
 * Initial keys from it (and from a Retry's new connection ID), opens client and server Initial packets, and
 * reassembles each direction's CRYPTO stream. Never throws; malformed packets are counted.
 */
import { CryptoReassembler } from './crypto-stream.ts';
import { newFrameCounts, parseInitialFrames, type FrameCounts } from './frames.ts';
import { initialKeys, type InitialKeys, type PacketKeys } from './keys.ts';
import { openPacket, parseLongHeader, type LongHeader } from './packet.ts';
import { isGquicVersion, parseGquicInitialFrames } from './gquic.ts';
import { QuicParseError } from './reader.ts';

export interface QuicCounters {
  /** Long-header packets seen per direction (all types). */
  packets: [number, number];
  /** Initial packets opened per direction. */
  opened: [number, number];
  /** Initial packets that failed authentication per direction. */
  failed: [number, number];
  /** Headers or frames whose lengths ran past their packet. */
  malformed: number;
  retry: number;
}

export class QuicInitialReader {
  /** Version of the client's first Initial, 0 before one is seen. */
  version = 0;
  readonly streams: [CryptoReassembler, CryptoReassembler];
  readonly counters: QuicCounters = { packets: [0, 0], opened: [0, 0], failed: [0, 0], malformed: 0, retry: 0 };
  readonly frames: FrameCounts = newFrameCounts();
  private keys: InitialKeys | null = null;
  private readonly known: InitialKeys[] = [];
  private readonly largestPn: [number, number] = [-1, -1];
  private sinkDir: 0 | 1 = 0;
  private readonly frameSink = { crypto: (offset: number, data: Uint8Array) => this.streams[this.sinkDir].push(offset, data) };

  /**
   * @param limit most CRYPTO bytes kept per direction
   * @param sink receives each direction's contiguous CRYPTO bytes in order (a view valid during the call)
   */
  constructor(limit: number, sink: (dir: 0 | 1, data: Uint8Array) => void) {
    this.streams = [
      new CryptoReassembler(limit, (d) => sink(0, d)),
      new CryptoReassembler(limit, (d) => sink(1, d)),
    ];
  }

  /** Feed one UDP datagram; `dir` 0 is the client. Coalesced packets are walked until a short header. */
  onDatagram(dir: 0 | 1, d: Uint8Array): void {
    let off = 0;
    while (off < d.length) {
      let h: LongHeader | null;
      try {
        h = parseLongHeader(d, off);
      } catch (e) {
        if (!(e instanceof QuicParseError)) throw e;
        this.counters.malformed++;
        return;
      }
      if (h === null) return;
      this.counters.packets[dir]++;
      if (h.type === 'retry') {
        if (dir === 1) this.onRetry(h);
        return;
      }
      if (h.type === 'initial') this.onInitial(dir, d, h);
      off = h.end;
    }
  }

  private onRetry(h: LongHeader): void {
    this.counters.retry++;
    // The client's next Initial uses the Retry's Source Connection ID, and so do the Initial keys.
    const k = this.keysFor(h.version, h.scid);
    if (k !== null) this.keys = k;
  }

  private keysFor(version: number, dcid: Uint8Array, saltIndex = 0): InitialKeys | null {
    for (const k of this.known) {
      if (k.version === version && k.saltIndex === saltIndex && sameBytes(k.dcid, dcid)) return k;
    }
    const k = initialKeys(version, dcid, saltIndex);
    if (k === null) return null;
    if (this.known.length >= 6) this.known.shift();
    this.known.push(k);
    return k;
  }

  private onInitial(dir: 0 | 1, d: Uint8Array, h: LongHeader): void {
    if (this.keys === null) {
      if (dir !== 0) return; // keys come from the client's first Destination Connection ID
      this.version = h.version;
      this.keys = this.keysFor(h.version, h.dcid);
      if (this.keys === null) return;
    }
    const expected = this.largestPn[dir] + 1;
    let opened = this.tryOpen(dir, d, h, this.keys, expected);
    if (opened === null) {
      // Compatible version negotiation or a Retry can move the keys; try what this packet suggests.
      const candidates: (InitialKeys | null)[] = [];
      // A reserved version leaves the salt to the client: try the other candidates.
      for (let i = 1; i < 3 && dir === 0; i++) candidates.push(this.keysFor(h.version, this.keys.dcid, i));
      if (h.version !== this.keys.version) candidates.push(this.keysFor(h.version, this.keys.dcid));
      if (dir === 0 && !sameBytes(h.dcid, this.keys.dcid)) candidates.push(this.keysFor(h.version, h.dcid));
      if (dir === 1) for (const k of this.known) if (k !== this.keys && k.version === h.version) candidates.push(k);
      for (const k of candidates) {
        if (k === null) continue;
        opened = this.tryOpen(dir, d, h, k, expected);
        if (opened !== null) {
          this.keys = k;
          break;
        }
      }
    }
    if (opened === null) {
      this.counters.failed[dir]++;
      return;
    }
    this.counters.opened[dir]++;
    if (opened.pn > this.largestPn[dir]) this.largestPn[dir] = opened.pn;
    this.sinkDir = dir;
    try {
      // Google QUIC Q050 / T050 put gQUIC frames (CRYPTO is type 0x08) under IETF-style Initial protection.
      if (isGquicVersion(h.version)) this.frames.crypto += parseGquicInitialFrames(opened.payload, this.frameSink.crypto);
      else parseInitialFrames(opened.payload, this.frameSink, this.frames);
    } catch (e) {
      if (!(e instanceof QuicParseError)) throw e;
      this.counters.malformed++;
    }
  }

  private tryOpen(dir: 0 | 1, d: Uint8Array, h: LongHeader, k: InitialKeys, expected: number) {
    const pk: PacketKeys = dir === 0 ? k.client : k.server;
    return openPacket(d, h, pk, expected);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
