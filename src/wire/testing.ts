import { parseIp } from './decode.ts';
import { LinkType } from './types.ts';

/**
 * Frame builders for test fixtures and tools (not part of the wire layer's public face, not a hot path: clarity
 * over speed): link, IP, TCP/UDP/ICMP headers with their checksums around a payload. Write the frames with the
 * writers of ./writer.ts.
 */

// ------------------------------------------------------------------------------------------------------------
// Frame builders
// ------------------------------------------------------------------------------------------------------------

export type LinkName = 'ether' | 'sll' | 'sll2' | 'null' | 'loop' | 'raw' | 'ppp' | 'chdlc';

/** LINKTYPE_* value a pcap / pcapng interface needs for frames built with `link`. */
export function linkTypeOf(link: LinkName): number {
  switch (link) {
    case 'ether': return LinkType.ETHERNET;
    case 'sll': return LinkType.LINUX_SLL;
    case 'sll2': return LinkType.LINUX_SLL2;
    case 'null': return LinkType.NULL;
    case 'loop': return LinkType.LOOP;
    case 'raw': return LinkType.RAW;
    case 'ppp': return LinkType.PPP;
    case 'chdlc': return LinkType.C_HDLC;
  }
}

/** An outer IP header wrapped around the packet: IP-in-IP (proto 4 / 41) or GTP-U (UDP 2152). */
export interface TunnelSpec {
  src: string;
  dst: string;
  gtpu?: boolean | { teid?: number };
  ttl?: number;
}

export interface PacketSpec {
  /** Link layer (default 'ether'); set the writer's link type with {@link linkTypeOf}. */
  link?: LinkName;
  /** 802.1Q VLAN IDs, outermost first; with two or more, the outer tags use TPID 0x88a8 (802.1ad QinQ). Ether only. */
  vlan?: number[];
  /** MPLS labels, outermost first (Ether only, after any VLAN tags). */
  mpls?: number[];
  /** PPPoE session id: wraps the IP packet in PPPoE session + PPP (Ether only). */
  pppoe?: number;
  macSrc?: string;
  macDst?: string;
  /** IP version; defaults to the one of `src`. */
  ipVersion?: 4 | 6;
  src: string;
  dst: string;
  /** Transport (default 'tcp'); 'icmp' is ICMPv6 (58) for IPv6 addresses; a number gives that protocol with `payload`. */
  proto?: 'tcp' | 'udp' | 'icmp' | number;
  sport?: number;
  dport?: number;
  /** TCP flags: a number, or letters F S R P A U E C (tcpdump style), e.g. 'S', 'SA', 'A', 'PA', 'FA', 'R'. Default 'A'. */
  flags?: number | string;
  seq?: number;
  ack?: number;
  window?: number;
  /** Raw TCP option bytes, padded with zeros (end-of-option-list) to a multiple of 4. */
  tcpOptions?: Uint8Array;
  icmpType?: number;
  icmpCode?: number;
  payload?: Uint8Array | string;
  ttl?: number;
  ipId?: number;
  /**
   * IP fragmentation: offset in bytes (multiple of 8) and more-fragments flag. With offset > 0 the payload is the
   * raw fragment data (no transport header is built). IPv6 adds a Fragment extension header.
   */
  fragment?: { offset?: number; more?: boolean; id?: number };
  /** IPv6 extension headers before the transport: 0, 43, 60, 135, 139, 140 (8 bytes each) or 51 (AH, 16 bytes). */
  ipv6Ext?: number[];
  /** Outer headers, outermost first. */
  tunnel?: TunnelSpec[];
  /** Write this into the IPv4 total length / IPv6 payload length instead of the true one (damage tests). */
  ipLenOverride?: number;
}

const TCP_FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

/** TCP flags byte from letters ('SA', 'PA', 'FA' ...) or a number. */
export function tcpFlags(flags: number | string): number {
  if (typeof flags === 'number') return flags & 0xff;
  let v = 0;
  for (const c of flags.toUpperCase()) {
    const bit = TCP_FLAG_BITS[c];
    if (bit === undefined) throw new Error(`unknown TCP flag '${c}' in '${flags}' (use F S R P A U E C)`);
    v |= bit;
  }
  return v;
}

function mac(text: string | undefined, dflt: number[]): number[] {
  if (text === undefined) return dflt;
  const parts = text.split(/[:-]/).map((x) => parseInt(x, 16));
  if (parts.length !== 6 || parts.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC address '${text}'`);
  return parts;
}

function addrBytes(text: string): { version: 4 | 6; bytes: Buffer } {
  const { version, words } = parseIp(text);
  const bytes = Buffer.alloc(version === 4 ? 4 : 16);
  for (let i = 0; i < bytes.length / 4; i++) bytes.writeUInt32BE(words[i]!, 4 * i);
  return { version, bytes };
}

function onesSum(b: Uint8Array, sum = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  return sum;
}
function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** Transport checksum over the IPv4 / IPv6 pseudo-header. */
function l4Checksum(src: Buffer, dst: Buffer, proto: number, seg: Buffer): number {
  // IPv4 and IPv6 pseudo-headers sum to the same: addresses, protocol, transport length (< 65536 here).
  return foldSum(onesSum(seg, onesSum(src) + onesSum(dst) + proto + seg.length));
}

/** An IP header (with IPv6 extension headers) around `inner`, whose protocol number is `proto`. */
function ipPacket(
  v: 4 | 6, src: Buffer, dst: Buffer, proto: number, inner: Buffer,
  o: { ttl?: number; ipId?: number; fragment?: PacketSpec['fragment']; ipv6Ext?: number[]; lenOverride?: number },
): Buffer {
  const ttl = o.ttl ?? 64;
  const frag = o.fragment;
  if (v === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(o.lenOverride ?? 20 + inner.length, 2);
    h.writeUInt16BE((frag?.id ?? o.ipId ?? 0x1234) & 0xffff, 4);
    const off = frag ? ((frag.offset ?? 0) >> 3) | (frag.more ? 0x2000 : 0) : 0x4000; // DF when not fragmented
    h.writeUInt16BE(off, 6);
    h[8] = ttl;
    h[9] = proto;
    src.copy(h, 12);
    dst.copy(h, 16);
    h.writeUInt16BE(foldSum(onesSum(h)), 10);
    return Buffer.concat([h, inner]);
  }
  // IPv6: extension headers in the order given, then a Fragment header when fragmenting.
  const exts: { type: number; len: number }[] = (o.ipv6Ext ?? []).map((t) => ({ type: t, len: t === 51 ? 16 : 8 }));
  if (frag) exts.push({ type: 44, len: 8 });
  const parts: Buffer[] = [];
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!;
    const next = i + 1 < exts.length ? exts[i + 1]!.type : proto;
    const x = Buffer.alloc(e.len);
    x[0] = next;
    if (e.type === 44) {
      x.writeUInt16BE(((frag?.offset ?? 0) & 0xfff8) | (frag?.more ? 1 : 0), 2);
      x.writeUInt32BE((frag?.id ?? 0x1234) >>> 0, 4);
    } else if (e.type === 51) {
      x[1] = e.len / 4 - 2;
    } else {
      x[1] = e.len / 8 - 1;
      if (e.type === 0 || e.type === 60) { x[2] = 1; x[3] = 4; } // PadN option filling the header
    }
    parts.push(x);
  }
  const payload = Buffer.concat([...parts, inner]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(o.lenOverride ?? payload.length, 4);
  h[6] = exts.length ? exts[0]!.type : proto;
  h[7] = ttl;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}

/**
 * Builds one frame: link header, optional VLAN/MPLS/PPPoE, tunnels, IP (with IPv6 extension headers and
 * fragmentation), TCP/UDP/ICMP and payload, with every length field right and IPv4/TCP/UDP/ICMP checksums computed.
 *
 * @example
 * ```ts
 * // A TLS ClientHello-bearing segment over IPv6 in a QinQ Ethernet frame:
 * const f = buildPacket({ vlan: [100, 200], src: '2001:db8::1', dst: '2001:db8::2', proto: 'tcp',
 *   sport: 50000, dport: 443, flags: 'PA', seq: 1, ack: 1, payload: clientHello });
 * // A SYN on Linux cooked capture, an ICMP echo over raw IP, a GTP-U tunnelled UDP datagram:
 * buildPacket({ link: 'sll', src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, flags: 'S' });
 * buildPacket({ link: 'raw', src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8 });
 * buildPacket({ src: '10.1.1.1', dst: '10.1.1.2', proto: 'udp', dport: 53, payload: 'q',
 *   tunnel: [{ src: '192.0.2.1', dst: '192.0.2.2', gtpu: { teid: 7 } }] });
 * ```
 */
export function buildPacket(spec: PacketSpec): Buffer {
  const s = addrBytes(spec.src);
  const d = addrBytes(spec.dst);
  const v = spec.ipVersion ?? s.version;
  if (s.version !== v || d.version !== v) throw new Error(`buildPacket: addresses ${spec.src} / ${spec.dst} are not IPv${v}`);
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? []);
  const p = spec.proto ?? 'tcp';
  const protoNum = p === 'tcp' ? 6 : p === 'udp' ? 17 : p === 'icmp' ? (v === 4 ? 1 : 58) : p;
  const nonFirst = (spec.fragment?.offset ?? 0) > 0;

  let seg: Buffer;
  if (nonFirst || typeof p === 'number') {
    seg = payload;
  } else if (protoNum === 6) {
    const opt = Buffer.from(spec.tcpOptions ?? []);
    const optLen = (opt.length + 3) & ~3;
    const h = Buffer.alloc(20 + optLen);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 443, 2);
    h.writeUInt32BE((spec.seq ?? 1) >>> 0, 4);
    h.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
    h[12] = ((20 + optLen) / 4) << 4;
    h[13] = tcpFlags(spec.flags ?? 'A');
    h.writeUInt16BE(spec.window ?? 65535, 14);
    opt.copy(h, 20);
    seg = Buffer.concat([h, payload]);
    seg.writeUInt16BE(l4Checksum(s.bytes, d.bytes, 6, seg), 16);
  } else if (protoNum === 17) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 53, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    seg = Buffer.concat([h, payload]);
    seg.writeUInt16BE(l4Checksum(s.bytes, d.bytes, 17, seg) || 0xffff, 6);
  } else {
    const h = Buffer.alloc(8);
    h[0] = spec.icmpType ?? (v === 4 ? 8 : 128);
    h[1] = spec.icmpCode ?? 0;
    h.writeUInt16BE(0x4242, 4); // identifier
    h.writeUInt16BE(1, 6); // sequence
    seg = Buffer.concat([h, payload]);
    const sum = v === 4 ? foldSum(onesSum(seg)) : l4Checksum(s.bytes, d.bytes, 58, seg);
    seg.writeUInt16BE(sum, 2);
  }
  let ip = ipPacket(v, s.bytes, d.bytes, protoNum, seg, {
    ttl: spec.ttl, ipId: spec.ipId, fragment: spec.fragment, ipv6Ext: spec.ipv6Ext, lenOverride: spec.ipLenOverride,
  });

  const tunnels = spec.tunnel ?? [];
  for (let i = tunnels.length - 1; i >= 0; i--) {
    const t = tunnels[i]!;
    const ts = addrBytes(t.src);
    const td = addrBytes(t.dst);
    const iv = ip[0]! >> 4;
    if (t.gtpu) {
      const teid = typeof t.gtpu === 'object' ? (t.gtpu.teid ?? 1) : 1;
      const g = Buffer.alloc(8);
      g[0] = 0x30;
      g[1] = 0xff;
      g.writeUInt16BE(ip.length, 2);
      g.writeUInt32BE(teid >>> 0, 4);
      const u = Buffer.alloc(8);
      u.writeUInt16BE(2152, 0);
      u.writeUInt16BE(2152, 2);
      u.writeUInt16BE(8 + g.length + ip.length, 4);
      const useg = Buffer.concat([u, g, ip]);
      useg.writeUInt16BE(l4Checksum(ts.bytes, td.bytes, 17, useg) || 0xffff, 6);
      ip = ipPacket(ts.version, ts.bytes, td.bytes, 17, useg, { ttl: t.ttl });
    } else {
      ip = ipPacket(ts.version, ts.bytes, td.bytes, iv === 4 ? 4 : 41, ip, { ttl: t.ttl });
    }
  }
  const outerV = ip[0]! >> 4;
  const etherType = outerV === 4 ? 0x0800 : 0x86dd;

  const link = spec.link ?? 'ether';
  switch (link) {
    case 'ether': {
      const parts: number[] = [...mac(spec.macDst, [0x02, 0, 0, 0, 0, 2]), ...mac(spec.macSrc, [0x02, 0, 0, 0, 0, 1])];
      const vlans = spec.vlan ?? [];
      const tpid = (i: number): number => (vlans.length >= 2 && i < vlans.length - 1 ? 0x88a8 : 0x8100);
      const mpls = spec.mpls ?? [];
      const inner = spec.pppoe !== undefined ? 0x8864 : mpls.length ? 0x8847 : etherType;
      const types = [...vlans.map((_, i) => tpid(i)), inner];
      parts.push(types[0]! >> 8, types[0]! & 255);
      vlans.forEach((vid, i) => parts.push((vid >> 8) & 0x0f, vid & 255, types[i + 1]! >> 8, types[i + 1]! & 255));
      mpls.forEach((label, i) => {
        const bos = i === mpls.length - 1 ? 1 : 0;
        parts.push((label >> 12) & 255, (label >> 4) & 255, ((label & 15) << 4) | bos, 64);
      });
      let body = ip;
      if (spec.pppoe !== undefined) {
        const h = Buffer.alloc(8);
        h[0] = 0x11;
        h.writeUInt16BE(spec.pppoe, 2);
        h.writeUInt16BE(ip.length + 2, 4);
        h.writeUInt16BE(outerV === 4 ? 0x21 : 0x57, 6);
        body = Buffer.concat([h, ip]);
      }
      return Buffer.concat([Buffer.from(parts), body]);
    }
    case 'sll': {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); // packet sent to us
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      Buffer.from(mac(spec.macSrc, [0x02, 0, 0, 0, 0, 1])).copy(h, 6);
      h.writeUInt16BE(etherType, 14);
      return Buffer.concat([h, ip]);
    }
    case 'sll2': {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etherType, 0);
      h.writeUInt32BE(2, 4); // interface index
      h.writeUInt16BE(1, 8); // ARPHRD_ETHER
      h[10] = 0;
      h[11] = 6;
      Buffer.from(mac(spec.macSrc, [0x02, 0, 0, 0, 0, 1])).copy(h, 12);
      return Buffer.concat([h, ip]);
    }
    case 'null': {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(outerV === 4 ? 2 : 30, 0); // host order of a little-endian macOS capture
      return Buffer.concat([h, ip]);
    }
    case 'loop': {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(outerV === 4 ? 2 : 24, 0);
      return Buffer.concat([h, ip]);
    }
    case 'raw':
      return ip;
    case 'ppp':
      return Buffer.concat([Buffer.from([0xff, 0x03, 0x00, outerV === 4 ? 0x21 : 0x57]), ip]);
    case 'chdlc':
      return Buffer.concat([Buffer.from([0x0f, 0x00, etherType >> 8, etherType & 255]), ip]);
  }
}
