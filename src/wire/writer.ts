import { closeSync, openSync, writeSync } from 'node:fs';
import { LinkType } from './types.ts';

/**
 * pcap / pcapng writers, for test fixtures and tools (not a hot path: clarity over speed; frames: ./testing.ts).
 * Writers collect the file in memory (`toBuffer()`) or, given `file`, stream it to disk (`close()` to finish).
 */

export type ByteOrder = 'le' | 'be';

/** Default first timestamp (2023-11-14T22:13:20Z) in µs; later packets without `tsUs` come 1 ms apart. */
export const DEFAULT_START_US = 1_700_000_000_000_000;

/** Where a writer's bytes go: memory, or a file flushed every 1 MiB. */
class Sink {
  private chunks: Buffer[] = [];
  private pending = 0;
  private fd: number | null;
  private closed = false;
  length = 0;

  constructor(readonly file: string | undefined) {
    this.fd = file === undefined ? null : openSync(file, 'w');
  }

  push(b: Buffer): number {
    if (this.closed) throw new Error('writer is closed');
    const at = this.length;
    this.chunks.push(b);
    this.length += b.length;
    this.pending += b.length;
    if (this.fd !== null && this.pending >= 1 << 20) this.flush();
    return at;
  }

  private flush(): void {
    if (this.fd === null) return;
    const all = Buffer.concat(this.chunks);
    let off = 0;
    while (off < all.length) off += writeSync(this.fd, all, off);
    this.chunks = [];
    this.pending = 0;
  }

  toBuffer(): Buffer {
    if (this.fd !== null || (this.closed && this.file !== undefined)) throw new Error('toBuffer() is for in-memory writers (no `file`)');
    return Buffer.concat(this.chunks);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.closed = true;
  }
}

class Out {
  constructor(private readonly le: boolean) {}
  u16(b: Buffer, at: number, v: number): void {
    if (this.le) b.writeUInt16LE(v & 0xffff, at);
    else b.writeUInt16BE(v & 0xffff, at);
  }
  u32(b: Buffer, at: number, v: number): void {
    if (this.le) b.writeUInt32LE(v >>> 0, at);
    else b.writeUInt32BE(v >>> 0, at);
  }
}

export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (default 1, Ethernet). */
  linkType?: number;
  /** Written in the header; frames longer than this are cut to it (their wire length stays). Default 262144. */
  snaplen?: number;
  /** Nanosecond-resolution magic 0xa1b23c4d instead of microseconds. */
  nanosecond?: boolean;
  /** Byte order of the header and record headers (default 'le'). */
  byteOrder?: ByteOrder;
  /** Write to this file instead of memory. */
  file?: string;
}

/** Timestamp and length of a record; both optional. */
export interface RecordOptions {
  /** Microseconds since the epoch (float; sub-µs kept by nanosecond files). Default: previous + 1000. */
  tsUs?: number;
  /** Length on the wire (default: the frame's length). */
  wireLen?: number;
}

/**
 * Classic pcap writer (draft-ietf-opsawg-pcap).
 *
 * @example
 * ```ts
 * const w = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond: true, byteOrder: 'be' });
 * w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 40000, dport: 443, flags: 'S' }),
 *   { tsUs: 1_700_000_000_000_000 });
 * writeFileSync('syn.pcap', w.toBuffer());
 * ```
 */
export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;
  private readonly sink: Sink;
  private readonly o: Out;
  private lastTs = DEFAULT_START_US - 1000;

  constructor(opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType ?? LinkType.ETHERNET;
    this.snaplen = opts.snaplen ?? 262144;
    this.nanosecond = opts.nanosecond ?? false;
    this.o = new Out((opts.byteOrder ?? 'le') === 'le');
    this.sink = new Sink(opts.file);
    const h = Buffer.alloc(24);
    this.o.u32(h, 0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4);
    this.o.u16(h, 4, 2);
    this.o.u16(h, 6, 4);
    this.o.u32(h, 16, this.snaplen);
    this.o.u32(h, 20, this.linkType);
    this.sink.push(h);
  }

  /** Appends one record and returns its byte offset in the file. */
  writePacket(data: Uint8Array, rec: RecordOptions = {}): number {
    const tsUs = rec.tsUs ?? this.lastTs + 1000;
    this.lastTs = tsUs;
    const cap = Math.min(data.length, this.snaplen);
    const h = Buffer.alloc(16 + cap);
    let sec = Math.floor(tsUs / 1e6);
    const remUs = tsUs - sec * 1e6;
    let frac = this.nanosecond ? Math.round(remUs * 1000) : Math.round(remUs);
    const one = this.nanosecond ? 1e9 : 1e6;
    if (frac >= one) {
      sec += 1;
      frac -= one;
    }
    this.o.u32(h, 0, sec);
    this.o.u32(h, 4, frac);
    this.o.u32(h, 8, cap);
    this.o.u32(h, 12, rec.wireLen ?? data.length);
    h.set(data.subarray(0, cap), 16);
    return this.sink.push(h);
  }

  /** Bytes written so far (the offset the next record will have). */
  get length(): number {
    return this.sink.length;
  }

  /** The whole file (in-memory writers only). */
  toBuffer(): Buffer {
    return this.sink.toBuffer();
  }

  /** Flushes and closes the file (no-op for in-memory writers). */
  close(): void {
    this.sink.close();
  }
}

export interface PcapngInterfaceOptions {
  linkType?: number;
  /** 0 means no limit. Default 262144. */
  snaplen?: number;
  /**
   * Raw if_tsresol byte: 6 = µs (default, option omitted), 9 = ns, 3 = ms; high bit set = power of two, e.g.
   * `0x80 | 20` for 2^-20 s.
   */
  tsresol?: number;
  /** if_tsoffset in seconds, added to every timestamp by readers. */
  tsoffset?: number;
  name?: string;
}

export interface PcapngWriterOptions {
  byteOrder?: ByteOrder;
  file?: string;
  /** Interfaces declared right after the section header. */
  interfaces?: PcapngInterfaceOptions[];
  /** shb_userappl option. */
  application?: string;
}

export interface PcapngRecordOptions extends RecordOptions {
  /** Interface index (default 0). SPB always uses interface 0. */
  iface?: number;
  /** Block type: Enhanced (default), Simple (no timestamp, interface 0), or the obsolete Packet Block. */
  block?: 'epb' | 'spb' | 'opb';
  /** opt_comment on EPB/OPB. */
  comment?: string;
}

interface IfaceState {
  snaplen: number;
  tsresol: number;
  tsoffset: number;
}

/**
 * pcapng writer (draft-ietf-opsawg-pcapng): sections, several interfaces with their own link type and timestamp
 * resolution, and EPB / SPB / OPB packet blocks.
 *
 * @example
 * ```ts
 * const w = new PcapngWriter({ byteOrder: 'be', interfaces: [
 *   { linkType: LinkType.ETHERNET, tsresol: 9 },            // interface 0: Ethernet, ns
 *   { linkType: LinkType.LINUX_SLL, tsresol: 0x80 | 20 },   // interface 1: SLL, 2^-20 s
 * ] });
 * w.writePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', dport: 53 }), { iface: 0 });
 * w.writePacket(buildPacket({ link: 'sll', src: '::1', dst: '::2', proto: 'tcp', flags: 'SA' }), { iface: 1 });
 * const bytes = w.toBuffer();
 * ```
 */
export class PcapngWriter {
  private readonly sink: Sink;
  private readonly o: Out;
  private readonly le: boolean;
  private readonly application: string | undefined;
  private ifaces: IfaceState[] = [];
  private lastTs = DEFAULT_START_US - 1000;

  constructor(opts: PcapngWriterOptions = {}) {
    this.le = (opts.byteOrder ?? 'le') === 'le';
    this.o = new Out(this.le);
    this.sink = new Sink(opts.file);
    this.application = opts.application;
    this.newSection();
    for (const i of opts.interfaces ?? []) this.addInterface(i);
  }

  /** Starts a new section (SHB); interfaces must be declared again. Returns the block's offset. */
  newSection(): number {
    this.ifaces = [];
    const body = Buffer.alloc(16);
    this.o.u32(body, 0, 0x1a2b3c4d);
    this.o.u16(body, 4, 1);
    this.o.u16(body, 6, 0);
    body.writeInt32LE(-1, 8); // section length unknown (-1 in either order)
    body.writeInt32LE(-1, 12);
    const opts: Buffer[] = [];
    if (this.application !== undefined) opts.push(this.option(4, Buffer.from(this.application)));
    return this.writeBlock(0x0a0d0d0a, Buffer.concat([body, ...this.endOptions(opts)]));
  }

  /** Declares an interface (IDB) in the current section and returns its index. */
  addInterface(i: PcapngInterfaceOptions = {}): number {
    const body = Buffer.alloc(8);
    this.o.u16(body, 0, i.linkType ?? LinkType.ETHERNET);
    this.o.u32(body, 4, i.snaplen ?? 262144);
    const opts: Buffer[] = [];
    if (i.name !== undefined) opts.push(this.option(2, Buffer.from(i.name)));
    const tsresol = i.tsresol ?? 6;
    if (tsresol !== 6) opts.push(this.option(9, Buffer.from([tsresol])));
    if (i.tsoffset) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(BigInt(i.tsoffset));
      else v.writeBigInt64BE(BigInt(i.tsoffset));
      opts.push(this.option(14, v));
    }
    this.writeBlock(1, Buffer.concat([body, ...this.endOptions(opts)]));
    this.ifaces.push({ snaplen: i.snaplen ?? 262144, tsresol, tsoffset: i.tsoffset ?? 0 });
    return this.ifaces.length - 1;
  }

  /** Appends one packet block and returns its byte offset in the file. */
  writePacket(data: Uint8Array, rec: PcapngRecordOptions = {}): number {
    const block = rec.block ?? 'epb';
    const ifIndex = block === 'spb' ? 0 : (rec.iface ?? 0);
    const ifc = this.ifaces[ifIndex];
    if (!ifc) throw new Error(`pcapng writer: interface ${ifIndex} not declared`);
    const wireLen = rec.wireLen ?? data.length;
    const cap = ifc.snaplen === 0 ? data.length : Math.min(data.length, ifc.snaplen);
    const padded = Buffer.alloc((cap + 3) & ~3);
    padded.set(data.subarray(0, cap));
    if (block === 'spb') {
      const head = Buffer.alloc(4);
      this.o.u32(head, 0, wireLen);
      return this.writeBlock(3, Buffer.concat([head, padded]));
    }
    const tsUs = rec.tsUs ?? this.lastTs + 1000;
    this.lastTs = tsUs;
    const ticks = tsToTicks(tsUs - ifc.tsoffset * 1e6, ifc.tsresol);
    const head = Buffer.alloc(20);
    if (block === 'epb') this.o.u32(head, 0, ifIndex);
    else {
      this.o.u16(head, 0, ifIndex);
      this.o.u16(head, 2, 0); // drops count
    }
    this.o.u32(head, 4, Number(ticks >> 32n));
    this.o.u32(head, 8, Number(ticks & 0xffffffffn));
    this.o.u32(head, 12, cap);
    this.o.u32(head, 16, wireLen);
    const opts: Buffer[] = [];
    if (rec.comment !== undefined) opts.push(this.option(1, Buffer.from(rec.comment)));
    return this.writeBlock(block === 'epb' ? 6 : 2, Buffer.concat([head, padded, ...this.endOptions(opts)]));
  }

  /** Appends any block (NRB, ISB, custom ...) with the given body (padded to 32 bits); returns its offset. */
  writeBlock(type: number, body: Uint8Array): number {
    const padLen = (body.length + 3) & ~3;
    const total = 12 + padLen;
    const b = Buffer.alloc(total);
    this.o.u32(b, 0, type);
    this.o.u32(b, 4, total);
    b.set(body, 8);
    this.o.u32(b, total - 4, total);
    return this.sink.push(b);
  }

  get length(): number {
    return this.sink.length;
  }

  toBuffer(): Buffer {
    return this.sink.toBuffer();
  }

  close(): void {
    this.sink.close();
  }

  private option(code: number, value: Buffer): Buffer {
    const b = Buffer.alloc(4 + ((value.length + 3) & ~3));
    this.o.u16(b, 0, code);
    this.o.u16(b, 2, value.length);
    value.copy(b, 4);
    return b;
  }

  private endOptions(opts: Buffer[]): Buffer[] {
    return opts.length ? [...opts, Buffer.alloc(4)] : [];
  }
}

/** µs since the epoch -> 64-bit tick count at an if_tsresol, exact for integral µs and ns values. */
export function tsToTicks(tsUs: number, tsresol: number): bigint {
  if (tsresol & 0x80) {
    const k = tsresol & 0x7f;
    const sec = Math.floor(tsUs / 1e6);
    const remUs = tsUs - sec * 1e6;
    return (BigInt(sec) << BigInt(k)) + BigInt(Math.round((remUs * 2 ** k) / 1e6));
  }
  if (tsresol <= 6) return BigInt(Math.round(tsUs / 10 ** (6 - tsresol)));
  const intUs = Math.floor(tsUs);
  const mul = 10 ** (tsresol - 6);
  return BigInt(intUs) * BigInt(mul) + BigInt(Math.round((tsUs - intUs) * mul));
}
