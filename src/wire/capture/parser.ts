import { CaptureError, type RawFrame } from '../types.ts';
import { damage } from './damage.ts';
import { parseMagic, parsePcap, parsePcapHeader } from './pcap.ts';
import { parsePcapng } from './pcapng.ts';
import { M_DONE, M_MAGIC, M_PCAP, M_PCAP_HDR, M_PCAPNG, MAX_SANE_CAPLEN, type CaptureFormat, type Iface, type ParserState } from './state.ts';

/**
 * Byte offsets start as this (then are set to 0) so that V8 keeps them as double fields from the start: a field
 * holding small integers changes representation when offsets pass 2^30 in a big capture, which deoptimizes the
 * parsing and metering code mid-file.
 */
const LARGE = 2 ** 31;

/**
 * Incremental parser over a byte stream, whatever the grammar (./pcap.ts, ./pcapng.ts). `parse(buf, pos, end,
 * base)` consumes every complete record in buf[pos, end) and returns where the first incomplete one starts, with
 * `need` = bytes that record needs (its header size while the header is incomplete, then its full size). `base`
 * is the file offset of buf[0]. Records are parsed straight out of the chunks fed; only a record that straddles
 * two chunks is copied, into one reusable carry buffer that grows to the largest such record.
 */
export class CaptureParser implements ParserState {
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

  stop(e: CaptureError): void {
    this.error = e;
    this.mode = M_DONE;
  }

  addLinkType(lt: number): void {
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
      this.stop(damage('TRUNCATED', this.file, 0, n === 0 ? 'empty file: no capture header' : `file too short for a capture header (${n} bytes)`, this.offsetNote));
      return;
    }
    if (this.carryLen > 0) {
      this.stop(damage('TRUNCATED', this.file, this.carryBase, `truncated record: ${this.carryLen} of ${this.need} bytes present`, this.offsetNote));
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
      if (m === M_PCAP) return parsePcap(this, b, pos, end, base);
      if (m === M_PCAPNG) return parsePcapng(this, b, pos, end, base);
      if (m === M_DONE) return pos;
      const p = m === M_MAGIC ? parseMagic(this, b, pos, end, base) : parsePcapHeader(this, b, pos, end);
      if (this.error || this.mode === m) return p;
      pos = p;
    }
  }
}
