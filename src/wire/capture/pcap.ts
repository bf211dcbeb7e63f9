import { damage, absurdLength } from './damage.ts';
import { u32be, u32le } from './bytes.ts';
import { M_PCAP, M_PCAP_HDR, M_PCAPNG, MAX_SANE_CAPLEN, type ParserState } from './state.ts';

/** The pcap grammar (draft-ietf-opsawg-pcap), and the sniffing of the first four bytes that picks a grammar. */

const PCAP_HDR = 24;
const PCAP_REC = 16;
/** pcapng Section Header Block type, also its magic. */
export const SHB = 0x0a0d0d0a;

/** Sniffs the format; consumes nothing (the pcap header and the pcapng SHB are parsed as records). */
export function parseMagic(p: ParserState, b: Buffer, pos: number, end: number, base: number): number {
  if (end - pos < 4) {
    p.need = 4;
    return pos;
  }
  const magic = u32be(b, pos);
  switch (magic) {
    case 0xa1b2c3d4: p.le = false; p.nanos = false; break;
    case 0xd4c3b2a1: p.le = true; p.nanos = false; break;
    case 0xa1b23c4d: p.le = false; p.nanos = true; break;
    case 0x4d3cb2a1: p.le = true; p.nanos = true; break;
    case SHB:
      p.mode = M_PCAPNG;
      p.format = 'pcapng';
      p.need = 12;
      return pos;
    default: {
      let hint = '';
      if (b[pos] === 0x1f && b[pos + 1] === 0x8b) hint = ' (gzip data: pass a .gz file by path or decompress it)';
      else if (magic === 0xa1b2cd34 || magic === 0x34cdb2a1) hint = ' (modified/Kuznetsov pcap is not supported)';
      p.stop(damage('BAD_MAGIC', p.file, base + pos, `not a pcap or pcapng capture: magic 0x${magic.toString(16).padStart(8, '0')}${hint}`, p.offsetNote));
      return pos;
    }
  }
  p.mode = M_PCAP_HDR;
  p.format = 'pcap';
  p.need = PCAP_HDR;
  return pos;
}

/*
 * pcap file header (draft-ietf-opsawg-pcap §4), 24 bytes in the writer's byte order:
 *   magic(4) version_major(2) version_minor(2) reserved1/thiszone(4) reserved2/sigfigs(4) snaplen(4)
 *   linktype_and_fcs(4): bits 0-15 link type, 16-25 reserved, 26-31 FCS info
 */
export function parsePcapHeader(p: ParserState, b: Buffer, pos: number, end: number): number {
  if (end - pos < PCAP_HDR) {
    p.need = PCAP_HDR;
    return pos;
  }
  const rd32 = p.le ? u32le : u32be;
  p.snaplen = rd32(b, pos + 16);
  p.linkType = rd32(b, pos + 20) & 0xffff;
  p.maxCap = MAX_SANE_CAPLEN;
  p.addLinkType(p.linkType);
  p.mode = M_PCAP;
  p.need = PCAP_REC;
  return pos + PCAP_HDR;
}

/*
 * pcap record (draft-ietf-opsawg-pcap §5): ts_sec(4) ts_usec_or_nsec(4) incl_len(4) orig_len(4) data[incl_len]
 */
export function parsePcap(p: ParserState, b: Buffer, pos: number, end: number, base: number): number {
  const f = p.frame;
  const onFrame = p.onFrame;
  const le = p.le;
  const nanos = p.nanos;
  const maxCap = p.maxCap;
  f.data = b;
  f.linkType = p.linkType;
  f.ifIndex = 0;
  let n = 0;
  for (;;) {
    if (end - pos < PCAP_REC) {
      p.need = PCAP_REC;
      break;
    }
    const capLen = le ? u32le(b, pos + 8) : u32be(b, pos + 8);
    if (capLen > maxCap) {
      p.stop(absurdLength(p.file, base + pos, 'pcap record', capLen, MAX_SANE_CAPLEN, capLen > p.snaplen ? p.snaplen : null, p.offsetNote));
      break;
    }
    const total = PCAP_REC + capLen;
    if (end - pos < total) {
      p.need = total;
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
  p.frames += n;
  return pos;
}
