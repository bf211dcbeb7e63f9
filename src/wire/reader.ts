import { createReadStream, openSync, readSync, closeSync, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { VeilError } from './errors.ts';
import { CaptureError, type RawFrame } from './types.ts';

/**
 * Streaming pcap / pcapng readers. The format is sniffed from the first bytes; records are parsed straight out of
 * the chunks the stream delivers, and only a record that straddles two chunks is copied (into one reusable carry
 * buffer that grows to the largest such record). Memory stays bounded whatever the file size.
 */

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureSummary {
  /** 'unknown' only when the header could not be recognised (error BAD_MAGIC or TRUNCATED at offset 0). */
  format: CaptureFormat | 'unknown';
  /** Frames delivered to `onFrame`. */
  frames: number;
  /** Bytes read from the source (compressed bytes for a .gz file). */
  bytesRead: number;
  /** Size of the file from fs.stat, null for pipes, stdin and streams. */
  totalBytes: number | null;
  /** Link types declared by the file (pcap header, pcapng interface blocks), each once, in order of appearance. */
  linkTypes: number[];
  /** Damage that stopped the read (every frame before it was delivered), or null when the file was read to its end. */
  error: CaptureError | null;
  /** True when `opts.signal` aborted the read (not an error: the frames so far were delivered). */
  aborted: boolean;
}

export type CaptureSource = { path: string } | { stream: NodeJS.ReadableStream; name: string };

export interface ReadCaptureOptions {
  /** Called after every chunk with the number of source bytes read so far (compare with `captureTotalBytes`). */
  onProgress?: (bytesRead: number) => void;
  signal?: AbortSignal;
  /** gzip input: stop with INPUT_TOO_LARGE once the inflated bytes pass this (a 4 MB file can inflate to 4 GiB). */
  maxInflatedBytes?: number;
  /** Read size; default 4 MiB for regular files (each read costs a thread-pool round trip), 1 MiB for streams. */
  highWaterMark?: number;
}

/**
 * A capture length above this is damage, not a packet (libpcap's and Wireshark's limit), whatever snaplen the file
 * header claims: a forged header must not make the reader buffer a record of hundreds of megabytes.
 */
export const MAX_SANE_CAPLEN = 262144;
/** pcapng blocks longer than this are treated as damage; it bounds the carry buffer. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;

/**
 * Byte offsets start as this (then are set to 0) so that V8 keeps them as double fields from the start: a field
 * holding small integers changes representation when offsets pass 2^30 in a big capture, which deoptimizes the
 * parsing and metering code mid-file.
 */
const LARGE = 2 ** 31;

/** Bytes per read of a regular file: a read is a round trip through libuv's thread pool (tens of microseconds). */
const FILE_READ_SIZE = 4 << 20;

const PCAP_HDR = 24;
const PCAP_REC = 16;
const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

const M_MAGIC = 0;
const M_PCAP_HDR = 1;
const M_PCAP = 2;
const M_PCAPNG = 3;
const M_DONE = 4;

function u16le(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}
function u16be(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}
function u32be(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/**
 * One pcapng interface: link type, snaplen and how to turn its 64-bit timestamps into microseconds.
 * tsKind 0: ticks are µs scaled by `mul` (resolution 10^-n, n <= 6); 1: ticks / `div` with div = 10^(n-6), n in 7..9,
 * done in integer halves so nanosecond stamps keep their precision; 2: binary 2^-shift, shift <= 32; 3: generic float.
 */
interface Iface {
  linkType: number;
  snaplen: number;
  tsKind: number;
  mul: number;
  div: number;
  divA: number; // floor(2^32 / div)
  divB: number; // 2^32 % div
  shift: number;
  hiScale: number; // 2^(32 - shift)
  loMod: number; // 2^shift
  unitUs: number; // µs per tick, for tsKind 3
  offsetUs: number; // if_tsoffset in µs
}

function makeIface(linkType: number, snaplen: number, tsresol: number, offsetSec: number): Iface {
  const ifc: Iface = {
    linkType, snaplen, tsKind: 3, mul: 1, div: 1, divA: 0, divB: 0, shift: 0, hiScale: 0, loMod: 1, unitUs: 1,
    offsetUs: offsetSec * 1e6,
  };
  if (tsresol & 0x80) {
    const k = tsresol & 0x7f;
    ifc.unitUs = 1e6 / 2 ** k;
    if (k <= 32) {
      ifc.tsKind = 2;
      ifc.shift = k;
      ifc.hiScale = 2 ** (32 - k);
      ifc.loMod = 2 ** k;
    }
  } else {
    const n = tsresol;
    ifc.unitUs = n <= 6 ? 10 ** (6 - n) : 1 / 10 ** (n - 6);
    if (n <= 6) {
      ifc.tsKind = 0;
      ifc.mul = 10 ** (6 - n);
    } else if (n <= 9) {
      ifc.tsKind = 1;
      ifc.div = 10 ** (n - 6);
      ifc.divA = Math.floor(4294967296 / ifc.div);
      ifc.divB = 4294967296 % ifc.div;
    }
  }
  return ifc;
}

/** Microseconds since the epoch from a pcapng (high, low) timestamp pair in the interface's resolution. */
function ifaceTsUs(ifc: Iface, hi: number, lo: number): number {
  switch (ifc.tsKind) {
    case 0:
      return (hi * 4294967296 + lo) * ifc.mul + ifc.offsetUs;
    case 1: {
      // ticks = hi*2^32 + lo = hi*A*div + (hi*B + lo): both terms exact in float64 for div <= 1000.
      const r = hi * ifc.divB + lo;
      const d = ifc.div;
      const rq = Math.floor(r / d);
      return hi * ifc.divA + rq + (r - rq * d) / d + ifc.offsetUs;
    }
    case 2: {
      const rem = lo % ifc.loMod;
      const sec = hi * ifc.hiScale + (lo - rem) / ifc.loMod;
      return sec * 1e6 + (rem * 1e6) / ifc.loMod + ifc.offsetUs;
    }
    default:
      return (hi * 4294967296 + lo) * ifc.unitUs + ifc.offsetUs;
  }
}

/**
 * Incremental parser over a byte stream. `parse(buf, pos, end, base)` consumes every complete record in
 * buf[pos, end) and returns where the first incomplete one starts, with `need` = bytes that record needs
 * (its header size while the header is incomplete, then its full size). `base` is the file offset of buf[0].
 */
class CaptureParser {
  mode = M_MAGIC;
  le = true;
  nanos = false;
  snaplen = 0;
  linkType = 0;
  maxCap = MAX_SANE_CAPLEN;
  need = 4;
  frames = 0;
  error: CaptureError | null = null;
  format: CaptureFormat | 'unknown' = 'unknown';
  readonly linkTypes: number[] = [];
  ifaces: Iface[] = [];
  /** Timestamp of the last frame, used for Simple Packet Blocks (which carry none). */
  lastTsUs = 0;
  readonly frame: RawFrame = { tsUs: 0, capLen: 0, wireLen: 0, linkType: 0, ifIndex: 0, data: Buffer.alloc(0), offset: 0, fileOffset: LARGE };

  carry: Buffer = Buffer.allocUnsafeSlow(65536);
  carryLen = 0;
  carryBase = LARGE;
  /** Bytes fed so far (file offset of the next chunk). */
  consumed = LARGE;
  /** Appended to error details when offsets refer to a decompressed stream. */
  offsetNote = '';
  /** True while a chunk is being parsed: an exception then comes from `onFrame` and must propagate unchanged. */
  feeding = false;

  constructor(
    readonly file: string,
    readonly onFrame: (f: RawFrame) => void,
  ) {
    this.frame.fileOffset = 0;
    this.carryBase = 0;
    this.consumed = 0;
  }

  fail(code: CaptureError['code'], offset: number, detail: string): void {
    this.error = new CaptureError(code, this.file, offset, detail + this.offsetNote);
    this.mode = M_DONE;
  }

  private addLinkType(lt: number): void {
    if (!this.linkTypes.includes(lt)) this.linkTypes.push(lt);
  }

  /** Feeds one chunk of the stream. */
  feed(b: Buffer, len: number = b.length): void {
    this.feeding = true;
    this.feedChunk(b, len);
    this.feeding = false;
  }

  private feedChunk(b: Buffer, len: number): void {
    const base = this.consumed;
    this.consumed += len;
    const end = len;
    let pos = 0;
    if (this.carryLen > 0) {
      for (;;) {
        const need = this.need;
        let take = need - this.carryLen;
        if (take > end - pos) take = end - pos;
        this.ensureCarry(need);
        b.copy(this.carry, this.carryLen, pos, pos + take);
        this.carryLen += take;
        pos += take;
        if (this.carryLen < need) return;
        const p = this.parse(this.carry, 0, this.carryLen, this.carryBase);
        if (this.error) return;
        if (p === this.carryLen) {
          this.carryLen = 0;
          break;
        }
        // p === 0: the header is now complete and `need` grew to the whole record; copy more.
      }
    }
    const p = this.parse(b, pos, end, base);
    if (this.error) return;
    if (p < end) {
      this.ensureCarry(end - p);
      b.copy(this.carry, 0, p, end);
      this.carryLen = end - p;
      this.carryBase = base + p;
    }
  }

  /** End of the stream: whatever is left in the carry is a truncated record. */
  finish(): void {
    if (this.error) return;
    if (this.mode === M_MAGIC || this.mode === M_PCAP_HDR) {
      const n = this.carryLen;
      this.fail('TRUNCATED', 0, n === 0 ? 'empty file: no capture header' : `file too short for a capture header (${n} bytes)`);
      return;
    }
    if (this.carryLen > 0) {
      this.fail('TRUNCATED', this.carryBase, `truncated record: ${this.carryLen} of ${this.need} bytes present`);
    }
  }

  private ensureCarry(n: number): void {
    if (this.carry.length >= n) return;
    const next = Buffer.allocUnsafeSlow(Math.max(n, this.carry.length * 2));
    this.carry.copy(next, 0, 0, this.carryLen);
    this.carry = next;
  }

  parse(b: Buffer, pos: number, end: number, base: number): number {
    for (;;) {
      const m = this.mode;
      if (m === M_PCAP) return this.parsePcap(b, pos, end, base);
      if (m === M_PCAPNG) return this.parsePcapng(b, pos, end, base);
      if (m === M_DONE) return pos;
      const p = m === M_MAGIC ? this.parseMagic(b, pos, end, base) : this.parsePcapHeader(b, pos, end);
      if (this.error || this.mode === m) return p;
      pos = p;
    }
  }

  /** Sniffs the format; consumes nothing (the pcap header and the pcapng SHB are parsed as records). */
  private parseMagic(b: Buffer, pos: number, end: number, base: number): number {
    if (end - pos < 4) {
      this.need = 4;
      return pos;
    }
    const magic = u32be(b, pos);
    switch (magic) {
      case 0xa1b2c3d4: this.le = false; this.nanos = false; break;
      case 0xd4c3b2a1: this.le = true; this.nanos = false; break;
      case 0xa1b23c4d: this.le = false; this.nanos = true; break;
      case 0x4d3cb2a1: this.le = true; this.nanos = true; break;
      case SHB:
        this.mode = M_PCAPNG;
        this.format = 'pcapng';
        this.need = 12;
        return pos;
      default: {
        let hint = '';
        if (b[pos] === 0x1f && b[pos + 1] === 0x8b) hint = ' (gzip data: pass a .gz file by path or decompress it)';
        else if (magic === 0xa1b2cd34 || magic === 0x34cdb2a1) hint = ' (modified/Kuznetsov pcap is not supported)';
        this.fail('BAD_MAGIC', base + pos, `not a pcap or pcapng capture: magic 0x${magic.toString(16).padStart(8, '0')}${hint}`);
        return pos;
      }
    }
    this.mode = M_PCAP_HDR;
    this.format = 'pcap';
    this.need = PCAP_HDR;
    return pos;
  }

  /*
   * pcap file header (draft-ietf-opsawg-pcap §4), 24 bytes in the writer's byte order:
   *   magic(4) version_major(2) version_minor(2) reserved1/thiszone(4) reserved2/sigfigs(4) snaplen(4)
   *   linktype_and_fcs(4): bits 0-15 link type, 16-25 reserved, 26-31 FCS info
   */
  private parsePcapHeader(b: Buffer, pos: number, end: number): number {
    if (end - pos < PCAP_HDR) {
      this.need = PCAP_HDR;
      return pos;
    }
    const rd32 = this.le ? u32le : u32be;
    this.snaplen = rd32(b, pos + 16);
    this.linkType = rd32(b, pos + 20) & 0xffff;
    this.maxCap = MAX_SANE_CAPLEN;
    this.addLinkType(this.linkType);
    this.mode = M_PCAP;
    this.need = PCAP_REC;
    return pos + PCAP_HDR;
  }

  /*
   * pcap record (draft-ietf-opsawg-pcap §5): ts_sec(4) ts_usec_or_nsec(4) incl_len(4) orig_len(4) data[incl_len]
   */
  private parsePcap(b: Buffer, pos: number, end: number, base: number): number {
    const f = this.frame;
    const onFrame = this.onFrame;
    const le = this.le;
    const nanos = this.nanos;
    const maxCap = this.maxCap;
    f.data = b;
    f.linkType = this.linkType;
    f.ifIndex = 0;
    let n = 0;
    for (;;) {
      if (end - pos < PCAP_REC) {
        this.need = PCAP_REC;
        break;
      }
      const capLen = le ? u32le(b, pos + 8) : u32be(b, pos + 8);
      if (capLen > maxCap) {
        this.fail('CORRUPT_RECORD', base + pos, `record capture length ${capLen} exceeds ${capLen > this.snaplen ? `the snaplen ${this.snaplen} and ` : ''}the largest record read (${MAX_SANE_CAPLEN} bytes)`);
        break;
      }
      const total = PCAP_REC + capLen;
      if (end - pos < total) {
        this.need = total;
        break;
      }
      const sec = le ? u32le(b, pos) : u32be(b, pos);
      const frac = le ? u32le(b, pos + 4) : u32be(b, pos + 4);
      if (nanos) {
        const us = Math.floor(frac / 1000);
        f.tsUs = sec * 1e6 + us + (frac - us * 1000) / 1000;
      } else {
        f.tsUs = sec * 1e6 + frac;
      }
      f.capLen = capLen;
      f.wireLen = le ? u32le(b, pos + 12) : u32be(b, pos + 12);
      f.offset = pos + PCAP_REC;
      f.fileOffset = base + pos;
      n++;
      onFrame(f);
      pos += total;
    }
    this.frames += n;
    return pos;
  }

  /*
   * pcapng general block (draft-ietf-opsawg-pcapng §3.1):
   *   Block Type(4) Block Total Length(4) Block Body(variable, padded to 32 bits) Block Total Length(4)
   * SHB body: Byte-Order Magic 0x1A2B3C4D(4) Major(2) Minor(2) Section Length(8) Options
   * IDB body: LinkType(2) Reserved(2) SnapLen(4) Options (if_tsresol = 9, if_tsoffset = 14)
   * EPB body: Interface ID(4) Timestamp hi(4) lo(4) Captured Len(4) Original Len(4) Data(padded) Options
   * SPB body: Original Packet Length(4) Data(padded)
   * OPB body: Interface ID(2) Drops Count(2) Timestamp hi(4) lo(4) Captured Len(4) Packet Len(4) Data Options
   */
  private parsePcapng(b: Buffer, pos: number, end: number, base: number): number {
    const f = this.frame;
    const onFrame = this.onFrame;
    f.data = b;
    let n = 0;
    for (;;) {
      if (end - pos < 12) {
        this.need = 12;
        break;
      }
      let le = this.le;
      let type = le ? u32le(b, pos) : u32be(b, pos);
      if (type === SHB) {
        const bom = u32le(b, pos + 8);
        if (bom === BOM) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          this.fail(base + pos === 0 ? 'BAD_MAGIC' : 'CORRUPT_RECORD', base + pos, `pcapng section header with bad byte-order magic 0x${bom.toString(16)}`);
          break;
        }
        this.le = le;
        type = SHB;
      }
      const len = le ? u32le(b, pos + 4) : u32be(b, pos + 4);
      if (len < 12 || (len & 3) !== 0 || len > MAX_BLOCK_LEN) {
        this.fail('CORRUPT_RECORD', base + pos, `pcapng block (type 0x${type.toString(16)}) has invalid total length ${len}`);
        break;
      }
      const minLen = type === BT_EPB || type === BT_OPB ? 32 : type === SHB ? 28 : type === BT_IDB ? 20 : type === BT_SPB ? 16 : 12;
      if (len < minLen) {
        this.fail('CORRUPT_RECORD', base + pos, `pcapng block (type 0x${type.toString(16)}) total length ${len} is below its minimum ${minLen}`);
        break;
      }
      if (end - pos < len) {
        this.need = len;
        break;
      }
      const trail = le ? u32le(b, pos + len - 4) : u32be(b, pos + len - 4);
      if (trail !== len) {
        this.fail('CORRUPT_RECORD', base + pos, `pcapng block trailing length ${trail} does not match its leading length ${len}`);
        break;
      }
      if (type === BT_EPB || type === BT_OPB) {
        const isEpb = type === BT_EPB;
        const ifId = isEpb ? (le ? u32le(b, pos + 8) : u32be(b, pos + 8)) : le ? u16le(b, pos + 8) : u16be(b, pos + 8);
        const ifc = this.ifaces[ifId];
        if (ifc === undefined) {
          this.fail('CORRUPT_RECORD', base + pos, `packet block refers to interface ${ifId} but the section defines ${this.ifaces.length}`);
          break;
        }
        const hi = le ? u32le(b, pos + 12) : u32be(b, pos + 12);
        const lo = le ? u32le(b, pos + 16) : u32be(b, pos + 16);
        const capLen = le ? u32le(b, pos + 20) : u32be(b, pos + 20);
        if (capLen > len - 32 || capLen > MAX_SANE_CAPLEN) {
          this.fail('CORRUPT_RECORD', base + pos, `packet block capture length ${capLen} exceeds its block (${len} bytes) or the snaplen`);
          break;
        }
        f.tsUs = ifaceTsUs(ifc, hi, lo);
        this.lastTsUs = f.tsUs;
        f.capLen = capLen;
        f.wireLen = le ? u32le(b, pos + 24) : u32be(b, pos + 24);
        f.linkType = ifc.linkType;
        f.ifIndex = ifId;
        f.offset = pos + 28;
        f.fileOffset = base + pos;
        n++;
        onFrame(f);
      } else if (type === BT_SPB) {
        const ifc = this.ifaces[0];
        if (ifc === undefined) {
          this.fail('CORRUPT_RECORD', base + pos, 'simple packet block without an interface description block');
          break;
        }
        const wireLen = le ? u32le(b, pos + 8) : u32be(b, pos + 8);
        let capLen = wireLen;
        if (ifc.snaplen !== 0 && capLen > ifc.snaplen) capLen = ifc.snaplen;
        if (capLen > len - 16) capLen = len - 16;
        f.tsUs = this.lastTsUs;
        f.capLen = capLen;
        f.wireLen = wireLen;
        f.linkType = ifc.linkType;
        f.ifIndex = 0;
        f.offset = pos + 12;
        f.fileOffset = base + pos;
        n++;
        onFrame(f);
      } else if (type === BT_IDB) {
        this.readIdb(b, pos, len, le);
      } else if (type === SHB) {
        const major = le ? u16le(b, pos + 12) : u16be(b, pos + 12);
        if (major !== 1) {
          this.fail('CORRUPT_RECORD', base + pos, `pcapng section header version ${major} is not 1`);
          break;
        }
        this.ifaces = [];
      }
      // Every other block (NRB, ISB, DSB, custom, ...) is skipped by its length.
      pos += len;
    }
    this.frames += n;
    return pos;
  }

  private readIdb(b: Buffer, pos: number, len: number, le: boolean): void {
    const rd16 = le ? u16le : u16be;
    const rd32 = le ? u32le : u32be;
    const linkType = rd16(b, pos + 8);
    const snaplen = rd32(b, pos + 12);
    let tsresol = 6;
    let offsetSec = 0;
    const optEnd = pos + len - 4;
    let o = pos + 16;
    // Options: Code(2) Length(2) Value(padded to 32 bits); opt_endofopt = 0. Malformed options are ignored.
    while (optEnd - o >= 4) {
      const code = rd16(b, o);
      const olen = rd16(b, o + 2);
      if (code === 0 || optEnd - o - 4 < olen) break;
      if (code === 9 && olen >= 1) tsresol = b[o + 4]!;
      else if (code === 14 && olen === 8) {
        const hi = rd32(b, le ? o + 8 : o + 4) | 0;
        const lo = rd32(b, le ? o + 4 : o + 8);
        offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push(makeIface(linkType, snaplen, tsresol, offsetSec));
    this.addLinkType(linkType);
  }
}

function ioError(file: string, err: unknown): CaptureError {
  const e = err as NodeJS.ErrnoException;
  const what =
    e?.code === 'ENOENT' ? 'no such file' : e?.code === 'EACCES' ? 'permission denied' : e?.code === 'EISDIR' ? 'is a directory' : (e?.message ?? String(err));
  return new CaptureError('IO', file, 0, `cannot read capture: ${what}`);
}

/** Size of a capture file in bytes (for a progress bar), or null for stdin and anything that is not a regular file. */
export async function captureTotalBytes(path: string): Promise<number | null> {
  if (path === '-') return null;
  try {
    const st = await fsp.stat(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a regular file through two reused buffers: the next read is in flight (on libuv's thread pool) while the
 * current buffer is parsed, and nothing is allocated per chunk. Returns the bytes read.
 */
async function readFileInto(
  parser: CaptureParser, path: string, size: number, onProgress: ((n: number) => void) | undefined, aborted: () => boolean,
): Promise<number> {
  const fh = await fsp.open(path, 'r');
  let pos = 0;
  try {
    const bufs = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)] as const;
    let which = 0;
    let pending = fh.read(bufs[0], 0, size, 0);
    for (;;) {
      const n = (await pending).bytesRead;
      if (n === 0) break;
      pos += n;
      const cur = bufs[which]!;
      which ^= 1;
      pending = fh.read(bufs[which]!, 0, size, pos);
      parser.feed(cur, n);
      if (onProgress) onProgress(pos);
      if (parser.error || aborted()) break;
    }
    await pending.catch(() => undefined);
  } finally {
    await fh.close();
  }
  return pos;
}

/**
 * Reads a pcap or pcapng capture (sniffed from its magic; a gzip-compressed file given by path is decompressed on
 * the fly) and calls `onFrame` synchronously for each frame.
 *
 * `onFrame` always receives the same {@link RawFrame} object; its `data` is the reader's current buffer and the frame
 * occupies `data[offset, offset + capLen)`. Copy anything you keep past the callback. pcapng Simple Packet Blocks
 * carry no timestamp or interface: they get interface 0 and the previous packet's timestamp.
 *
 * Damage never throws: a truncated or corrupt record, or a file in neither format, stops the read and is returned
 * in `summary.error` (a {@link CaptureError} naming the file and byte offset) after every earlier frame was
 * delivered. Only I/O failures (missing file, permission, a failing stream) throw, as CaptureError code 'IO'.
 * An exception thrown by `onFrame` propagates unchanged.
 *
 * @example
 * ```ts
 * const info = newPacketInfo();
 * const summary = await readCapture({ path: 'trace.pcapng' }, (f) => {
 *   if (decodePacket(f, info) === DecodeStatus.OK) table.add(info);
 * });
 * if (summary.error) console.warn(summary.error.message); // "trace.pcapng: truncated record ... at byte offset 81234"
 * ```
 */
export async function readCapture(
  source: CaptureSource,
  onFrame: (f: RawFrame) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const name = 'path' in source ? (source.path === '-' ? '<stdin>' : source.path) : source.name;
  const parser = new CaptureParser(name, onFrame);
  let totalBytes: number | null = null;
  let stream: NodeJS.ReadableStream | null = null;
  let raw: NodeJS.ReadableStream | null = null;
  let rawBytes = 0;
  let plainFile: string | null = null;
  if ('path' in source && source.path !== '-') {
    const path = source.path;
    try {
      const st = await fsp.stat(path);
      totalBytes = st.isFile() ? st.size : null;
      if (st.isFile() && isGzipFile(path)) {
        const file = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 20 });
        const gunzip = createGunzip({ chunkSize: 256 * 1024 });
        file.on('data', (c: Buffer | string) => { rawBytes += c.length; });
        file.on('error', (err) => gunzip.destroy(err));
        file.pipe(gunzip);
        raw = file;
        stream = gunzip;
        parser.offsetNote = ' (offset in the decompressed data)';
      } else if (st.isFile()) {
        plainFile = path;
      } else {
        stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 20 });
      }
    } catch (err) {
      throw ioError(name, err);
    }
  } else {
    stream = 'stream' in source ? source.stream : process.stdin;
  }

  const signal = opts.signal;
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
    (raw as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
  };
  if (signal) {
    if (signal.aborted) aborted = true;
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const onProgress = opts.onProgress;
  const maxInflated = opts.maxInflatedBytes ?? Infinity;
  let inflated = 0;
  let bytesRead = 0;
  try {
    if (aborted) {
      // nothing to read
    } else if (plainFile !== null) {
      bytesRead = await readFileInto(parser, plainFile, opts.highWaterMark ?? FILE_READ_SIZE, onProgress, () => aborted);
    } else if (stream !== null) {
      for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
        const buf = Buffer.isBuffer(chunk) ? chunk
          : typeof chunk === 'string' ? Buffer.from(chunk, 'latin1')
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        bytesRead = raw ? rawBytes : bytesRead + buf.length;
        if (raw && (inflated += buf.length) > maxInflated) {
          throw new VeilError('INPUT_TOO_LARGE', `${name}: inflates to more than ${maxInflated} bytes, the most this server reads from one compressed upload`);
        }
        parser.feed(buf);
        if (onProgress) onProgress(bytesRead);
        if (parser.error || aborted) break;
      }
    }
  } catch (err) {
    if (parser.feeding) throw err; // thrown by onFrame
    if (!aborted) {
      const code = (err as NodeJS.ErrnoException)?.code;
      if (raw && (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR')) {
        parser.fail(code === 'Z_BUF_ERROR' ? 'TRUNCATED' : 'CORRUPT_RECORD', parser.consumed, `gzip stream damaged (${(err as Error).message})`);
      } else if (err instanceof VeilError) {
        throw err;
      } else {
        throw ioError(name, err);
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (raw) {
      (raw as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      bytesRead = rawBytes;
    }
  }
  if (!aborted) parser.finish();
  return {
    format: parser.format,
    frames: parser.frames,
    bytesRead,
    totalBytes,
    linkTypes: parser.linkTypes,
    error: parser.error,
    aborted,
  };
}

/**
 * A capture parsed from chunks the caller hands in, in order: threads that share one read of a file (the flow
 * workers) each feed the same bytes to their own CaptureFeed, and so see the same frames and the same damage as
 * {@link readCapture} would report. `onFrame` is called as in readCapture; its exceptions propagate.
 */
export class CaptureFeed {
  private readonly parser: CaptureParser;
  private fed = 0;

  constructor(name: string, onFrame: (f: RawFrame) => void) {
    this.parser = new CaptureParser(name, onFrame);
  }

  /** The bytes fed are decompressed from a .gz file: error offsets say so. Call before the first feed. */
  decompressed(): void {
    this.parser.offsetNote = ' (offset in the decompressed data)';
  }

  /** The gzip stream broke: stop as readCapture does (truncated or corrupt at the bytes fed so far). */
  gzipDamaged(err: NodeJS.ErrnoException): void {
    if (this.parser.error) return;
    this.parser.fail(err.code === 'Z_BUF_ERROR' ? 'TRUNCATED' : 'CORRUPT_RECORD', this.parser.consumed, `gzip stream damaged (${err.message})`);
  }

  /** Parses the next `len` bytes of `chunk` (needed only during the call). False once damage stopped the parse. */
  feed(chunk: Buffer, len: number): boolean {
    if (this.parser.error) return false;
    this.fed += len;
    this.parser.feed(chunk, len);
    return this.parser.error === null;
  }

  /** End of the capture: what was read (`bytesRead` counts the bytes fed). */
  end(totalBytes: number | null): CaptureSummary {
    const p = this.parser;
    p.finish();
    return { format: p.format, frames: p.frames, bytesRead: this.fed, totalBytes, linkTypes: p.linkTypes, error: p.error, aborted: false };
  }
}

/**
 * Reads the bytes of a capture file (decompressing a .gz file; a FIFO or device as a stream) into buffers the
 * caller provides, in order: `acquire` gives the buffer for the next chunk (its whole length may be filled),
 * `onChunk` receives it with the number of bytes read and returns false to stop. A regular file is read straight
 * into the buffers, one read ahead. `onOpen` learns first whether the bytes are decompressed. Returns the file's
 * size (null when not a regular file), the bytes read (decompressed) and a broken gzip stream's error (the bytes
 * before it were delivered). I/O failures throw as CaptureError code 'IO'.
 */
export async function readCaptureChunks(
  path: string,
  acquire: () => Promise<Buffer>,
  onChunk: (buf: Buffer, len: number) => boolean,
  onOpen?: (info: { gzip: boolean }) => void,
): Promise<{ totalBytes: number | null; bytesRead: number; gzipError: NodeJS.ErrnoException | null }> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  let gzip = false;
  try {
    st = await fsp.stat(path);
    gzip = st.isFile() && isGzipFile(path);
  } catch (err) {
    throw ioError(path, err);
  }
  const totalBytes = st.isFile() ? st.size : null;
  let bytesRead = 0;
  onOpen?.({ gzip });
  // Errors thrown by `acquire` or `onChunk` propagate unchanged; only the reading itself becomes an IO error.
  let io = false;
  if (st.isFile() && !gzip) {
    let fh: Awaited<ReturnType<typeof fsp.open>>;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      throw ioError(path, err);
    }
    try {
      let buf = await acquire();
      let pending = fh.read(buf, 0, buf.length, 0);
      for (;;) {
        io = true;
        const n = (await pending).bytesRead;
        io = false;
        if (n === 0) break;
        bytesRead += n;
        const cur = buf;
        buf = await acquire();
        pending = fh.read(buf, 0, buf.length, bytesRead);
        if (!onChunk(cur, n)) break;
      }
      await pending.catch(() => undefined);
    } catch (err) {
      throw io ? ioError(path, err) : err;
    } finally {
      await fh.close();
    }
    return { totalBytes, bytesRead, gzipError: null };
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let stream: NodeJS.ReadableStream = file;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    stream = gunzip;
  }
  const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    reading: for (;;) {
      io = true;
      const next = await chunks.next();
      io = false;
      if (next.done) break;
      const chunk = next.value;
      for (let off = 0; off < chunk.length;) {
        const buf = await acquire();
        const n = Math.min(buf.length, chunk.length - off);
        chunk.copy(buf, 0, off, off + n);
        off += n;
        bytesRead += n;
        if (!onChunk(buf, n)) break reading;
      }
    }
  } catch (err) {
    if (!io) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (gzip && (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR')) return { totalBytes, bytesRead, gzipError: err as NodeJS.ErrnoException };
    throw ioError(path, err);
  } finally {
    file.destroy();
    if (stream !== file) (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
  return { totalBytes, bytesRead, gzipError: null };
}
