import { absurdLength, damage } from './damage.ts';
import { u16be, u16le, u32be, u32le } from './bytes.ts';
import { SHB } from './pcap.ts';
import { MAX_BLOCK_LEN, MAX_SANE_CAPLEN, type Iface, type ParserState } from './state.ts';

/** The pcapng grammar (draft-ietf-opsawg-pcapng): blocks, interfaces and their timestamp resolutions. */

const BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

export function makeIface(linkType: number, snaplen: number, tsresol: number, offsetSec: number): Iface {
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
export function ifaceTsUs(ifc: Iface, hi: number, lo: number): number {
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

/*
 * pcapng general block (draft-ietf-opsawg-pcapng §3.1):
 *   Block Type(4) Block Total Length(4) Block Body(variable, padded to 32 bits) Block Total Length(4)
 * SHB body: Byte-Order Magic 0x1A2B3C4D(4) Major(2) Minor(2) Section Length(8) Options
 * IDB body: LinkType(2) Reserved(2) SnapLen(4) Options (if_tsresol = 9, if_tsoffset = 14)
 * EPB body: Interface ID(4) Timestamp hi(4) lo(4) Captured Len(4) Original Len(4) Data(padded) Options
 * SPB body: Original Packet Length(4) Data(padded)
 * OPB body: Interface ID(2) Drops Count(2) Timestamp hi(4) lo(4) Captured Len(4) Packet Len(4) Data Options
 */
export function parsePcapng(p: ParserState, b: Buffer, pos: number, end: number, base: number): number {
  const f = p.frame;
  const onFrame = p.onFrame;
  const bad = (at: number, detail: string) => p.stop(damage('CORRUPT_RECORD', p.file, at, detail, p.offsetNote));
  f.data = b;
  let n = 0;
  for (;;) {
    if (end - pos < 12) {
      p.need = 12;
      break;
    }
    let le = p.le;
    let type = le ? u32le(b, pos) : u32be(b, pos);
    if (type === SHB) {
      const bom = u32le(b, pos + 8);
      if (bom === BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        p.stop(damage(base + pos === 0 ? 'BAD_MAGIC' : 'CORRUPT_RECORD', p.file, base + pos, `pcapng section header with bad byte-order magic 0x${bom.toString(16)}`, p.offsetNote));
        break;
      }
      p.le = le;
      type = SHB;
    }
    const len = le ? u32le(b, pos + 4) : u32be(b, pos + 4);
    if (len < 12 || (len & 3) !== 0 || len > MAX_BLOCK_LEN) {
      bad(base + pos, `pcapng block (type 0x${type.toString(16)}) has invalid total length ${len}`);
      break;
    }
    const minLen = type === BT_EPB || type === BT_OPB ? 32 : type === SHB ? 28 : type === BT_IDB ? 20 : type === BT_SPB ? 16 : 12;
    if (len < minLen) {
      bad(base + pos, `pcapng block (type 0x${type.toString(16)}) total length ${len} is below its minimum ${minLen}`);
      break;
    }
    if (end - pos < len) {
      p.need = len;
      break;
    }
    const trail = le ? u32le(b, pos + len - 4) : u32be(b, pos + len - 4);
    if (trail !== len) {
      bad(base + pos, `pcapng block trailing length ${trail} does not match its leading length ${len}`);
      break;
    }
    if (type === BT_EPB || type === BT_OPB) {
      const isEpb = type === BT_EPB;
      const ifId = isEpb ? (le ? u32le(b, pos + 8) : u32be(b, pos + 8)) : le ? u16le(b, pos + 8) : u16be(b, pos + 8);
      const ifc = p.ifaces[ifId];
      if (ifc === undefined) {
        bad(base + pos, `packet block refers to interface ${ifId} but the section defines ${p.ifaces.length}`);
        break;
      }
      const hi = le ? u32le(b, pos + 12) : u32be(b, pos + 12);
      const lo = le ? u32le(b, pos + 16) : u32be(b, pos + 16);
      const capLen = le ? u32le(b, pos + 20) : u32be(b, pos + 20);
      if (capLen > len - 32) {
        bad(base + pos, `packet block claims ${capLen} captured bytes but its block holds ${len - 32}`);
        break;
      }
      if (capLen > MAX_SANE_CAPLEN) {
        p.stop(absurdLength(p.file, base + pos, 'packet block', capLen, MAX_SANE_CAPLEN, null, p.offsetNote));
        break;
      }
      f.tsUs = ifaceTsUs(ifc, hi, lo);
      p.lastTsUs = f.tsUs;
      f.capLen = capLen;
      f.wireLen = le ? u32le(b, pos + 24) : u32be(b, pos + 24);
      f.linkType = ifc.linkType;
      f.ifIndex = ifId;
      f.offset = pos + 28;
      f.fileOffset = base + pos;
      n++;
      onFrame(f);
    } else if (type === BT_SPB) {
      const ifc = p.ifaces[0];
      if (ifc === undefined) {
        bad(base + pos, 'simple packet block without an interface description block');
        break;
      }
      const wireLen = le ? u32le(b, pos + 8) : u32be(b, pos + 8);
      let capLen = wireLen;
      if (ifc.snaplen !== 0 && capLen > ifc.snaplen) capLen = ifc.snaplen;
      if (capLen > len - 16) capLen = len - 16;
      f.tsUs = p.lastTsUs;
      f.capLen = capLen;
      f.wireLen = wireLen;
      f.linkType = ifc.linkType;
      f.ifIndex = 0;
      f.offset = pos + 12;
      f.fileOffset = base + pos;
      n++;
      onFrame(f);
    } else if (type === BT_IDB) {
      readIdb(p, b, pos, len, le);
    } else if (type === SHB) {
      const major = le ? u16le(b, pos + 12) : u16be(b, pos + 12);
      if (major !== 1) {
        bad(base + pos, `pcapng section header version ${major} is not 1`);
        break;
      }
      p.ifaces = [];
    }
    // Every other block (NRB, ISB, DSB, custom, ...) is skipped by its length.
    pos += len;
  }
  p.frames += n;
  return pos;
}

function readIdb(p: ParserState, b: Buffer, pos: number, len: number, le: boolean): void {
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
  p.ifaces.push(makeIface(linkType, snaplen, tsresol, offsetSec));
  p.addLinkType(linkType);
}
