import { DecodeStatus, type PacketInfo, type RawFrame } from './types.ts';

/**
 * Packet decoder: link layer -> IP (innermost of IP-in-IP / GTP-U tunnels) -> TCP/UDP/ICMP, into a reused
 * {@link PacketInfo}. Hot path: no allocation and no exceptions; every read is bounds-checked against the captured
 * bytes first, and a header that runs past them yields TRUNCATED.
 *
 * The common path (Ethernet/SLL/raw, IPv4/IPv6, TCP/UDP) stays in two mid-sized functions; rarer layers live in
 * their own functions so that meeting one late in a capture re-optimizes a small function, not the whole decoder.
 * Functions that must hand back two numbers put the second in the module-level `nextOff`.
 */

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
/** UDP port of GTP-U (3GPP TS 29.281); its G-PDUs are decapsulated to the user's IP packet, as ndpiReader does. */
export const GTPU_PORT = 2152;
/** Tunnels (IP-in-IP, GTP-U) followed at most this deep; deeper nesting is reported as the last layer reached. */
const MAX_TUNNEL_DEPTH = 4;
/** IPv6 extension headers walked at most (a longer chain is OTHER_L4 at the header reached). */
const MAX_EXT_HEADERS = 12;
/** Not a status: "go on decoding" from a helper that may also return a final status. */
const CONTINUE = -1 as const;
type Step = DecodeStatus | typeof CONTINUE;

/** Second result of the helpers below (an offset), valid right after a call that returned CONTINUE. */
let nextOff = 0;
/** EtherType found by the link helpers, valid with nextOff. */
let nextType = 0;

const STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [k, v] of Object.entries(DecodeStatus)) names[v] = k;
  return names;
})();

/** Name of a decode status ('OK', 'TRUNCATED', ...) for summaries; `STATUS_<n>` for an unknown value. */
export function decodeStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `STATUS_${status}`;
}

/**
 * EtherTypes of protocols that are not IP (counted as NON_IP, not as unknown): ARP, RARP, Wake-on-LAN, AppleTalk,
 * AARP, IPX, flow control, slow protocols (LACP), PPPoE discovery, EAPOL, PROFINET, EtherCAT, IEC 61850, LLDP,
 * MACsec, PBB, PTP, CFM, FCoE, HSR/PRP, Realtek, 802.11 encapsulation, loopback; Cisco's CDP/VTP/DTP/PVST+ in SNAP.
 */
const NON_IP_ETHERTYPE = new Uint8Array(65536);
for (const t of [0x0806, 0x8035, 0x0842, 0x22f0, 0x22f3, 0x6002, 0x6003, 0x6004, 0x809b, 0x80f3, 0x8137, 0x8138, 0x8808,
  0x8809, 0x8819, 0x8863, 0x886d, 0x887b, 0x888e, 0x8892, 0x889a, 0x88a2, 0x88a4, 0x88b8, 0x88b9, 0x88ba, 0x88cc, 0x88cd,
  0x88e1, 0x88e3, 0x88e5, 0x88e7, 0x88f7, 0x88f8, 0x88fb, 0x8902, 0x8906, 0x8914, 0x8915, 0x891d, 0x892f, 0x8899,
  0x890d, 0x9000, 0x2000, 0x2003, 0x2004, 0x010b]) NON_IP_ETHERTYPE[t] = 1;

/** IPv6 extension headers walked to reach the transport (RFC 8200 §4, and 135/139/140 of the IANA registry). */
const IPV6_EXT = new Uint8Array(256);
for (const t of [0, 43, 44, 51, 60, 135, 139, 140]) IPV6_EXT[t] = 1;

/** Status for a packet given up before any IP header was read: addresses cleared. */
function beforeIp(out: PacketInfo, status: DecodeStatus): DecodeStatus {
  const s = out.src, d = out.dst;
  s[0] = 0; s[1] = 0; s[2] = 0; s[3] = 0;
  d[0] = 0; d[1] = 0; d[2] = 0; d[3] = 0;
  return status;
}

/** Status for a failure at an IP layer: keeps the addresses if an (outer) IP header was already read. */
function ipFail(out: PacketInfo, status: DecodeStatus): DecodeStatus {
  return out.ipVersion === 0 ? beforeIp(out, status) : status;
}

/**
 * Decodes one frame into `out` (which is overwritten, never reallocated) and returns the status. On OK and
 * OTHER_L4 every field is valid; on NON_FIRST_FRAGMENT the addresses, protocol and IP fields are; on the other
 * statuses, fields past the failing layer are zero.
 *
 * Link types: Ethernet (802.1Q/802.1ad/QinQ tags, MPLS, PPPoE session, LLC/SNAP), Linux SLL and SLL2, raw IP
 * (101, 12, 14, 228, 229), BSD null and OpenBSD loop, PPP (9, 50; also Cisco HDLC framing found in PPP files),
 * Cisco HDLC (104).
 *
 * @example
 * ```ts
 * const info = newPacketInfo();
 * await readCapture({ path: 'x.pcap' }, (f) => {
 *   const st = decodePacket(f, info);
 *   if (st === DecodeStatus.OK && info.proto === 6) console.log(info.sport, info.dport, info.tcpFlags);
 *   else counts[decodeStatusName(st)]++;
 * });
 * ```
 */
export function decodePacket(f: RawFrame, out: PacketInfo): DecodeStatus {
  const b = f.data;
  let p = f.offset;
  let end = p + f.capLen;
  if (end > b.length) end = b.length;
  out.tsUs = f.tsUs;
  out.wireLen = f.wireLen;
  out.capLen = f.capLen;
  out.ifIndex = f.ifIndex;
  out.linkType = f.linkType;
  out.data = b;
  out.ipVersion = 0;
  out.proto = 0;
  out.sport = 0;
  out.dport = 0;
  out.ipLen = 0;
  out.l4HeaderLen = 0;
  out.payloadLen = 0;
  out.payloadOffset = 0;
  out.payloadCapLen = 0;
  out.tcpFlags = 0;
  out.tcpWindow = 0;
  out.tcpSeq = 0;
  out.tcpAck = 0;
  out.ttl = 0;
  out.fragment = false;

  // Link layer: leaves `p` at the network header and `et` = its EtherType (0: sniff the IP version).
  let et = 0;
  const lt = f.linkType;
  if (lt === 1) {
    // IEEE 802.3 / Ethernet II: Destination MAC(6) Source MAC(6) EtherType-or-Length(2)
    if (end - p < 14) return beforeIp(out, DecodeStatus.TRUNCATED);
    et = (b[p + 12]! << 8) | b[p + 13]!;
    p += 14;
  } else if (lt === 113) {
    // Linux cooked v1 (LINKTYPE_LINUX_SLL): Packet type(2) ARPHRD type(2) Addr len(2) Address(8) Protocol(2)
    if (end - p < 16) return beforeIp(out, DecodeStatus.TRUNCATED);
    et = (b[p + 14]! << 8) | b[p + 15]!;
    p += 16;
  } else if (lt === 276) {
    // Linux cooked v2 (LINKTYPE_LINUX_SLL2): Protocol(2) Reserved(2) Ifindex(4) ARPHRD(2) Pkt type(1) Addr len(1)
    // Address(8)
    if (end - p < 20) return beforeIp(out, DecodeStatus.TRUNCATED);
    et = (b[p]! << 8) | b[p + 1]!;
    p += 20;
  } else if (lt === 101 || lt === 12 || lt === 14) {
    // Raw IP: the version nibble decides.
  } else if (lt === 228) {
    et = ETH_IPV4;
  } else if (lt === 229) {
    et = ETH_IPV6;
  } else {
    const st = decodeOtherLink(b, p, end, lt);
    if (st !== CONTINUE) return beforeIp(out, st);
    p = nextOff;
    et = nextType;
  }
  if (et !== ETH_IPV4 && et !== ETH_IPV6 && et !== 0) {
    const st = decodeEtherChain(b, p, end, et);
    if (st !== CONTINUE) return beforeIp(out, st);
    p = nextOff;
    et = nextType;
  }
  return decodeIp(b, p, end, et === ETH_IPV4 ? 4 : et === ETH_IPV6 ? 6 : 0, out);
}

/**
 * Link types other than Ethernet / SLL / raw. Returns CONTINUE with nextOff / nextType set, or a status.
 */
function decodeOtherLink(b: Uint8Array, p: number, end: number, lt: number): Step {
  if (lt === 0 || lt === 108) {
    // BSD null: 4-byte address family in the capturing host's byte order; OpenBSD loop: network byte order.
    // AF_INET = 2; AF_INET6 = 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
    if (end - p < 4) return DecodeStatus.TRUNCATED;
    const af = b[p]! === 0 && b[p + 1]! === 0 ? (b[p + 2]! << 8) | b[p + 3]! : b[p]! | (b[p + 1]! << 8);
    nextOff = p + 4;
    if (af === 2) nextType = ETH_IPV4;
    else if (af === 24 || af === 28 || af === 30 || af === 10) nextType = ETH_IPV6;
    else return DecodeStatus.UNKNOWN_ETHERTYPE;
    return CONTINUE;
  }
  if (lt === 9 || lt === 50) {
    // PPP in HDLC-like framing (RFC 1662 §3.1): [Address 0xff Control 0x03] Protocol(1 or 2 bytes: RFC 1661 §2, the
    // last byte is odd) Information. Some PPP-typed files carry Cisco HDLC frames (address 0x0f / 0x8f).
    if (end - p < 2) return DecodeStatus.TRUNCATED;
    const a = b[p]!;
    if ((a === 0x0f || a === 0x8f) && b[p + 1]! === 0) return decodeOtherLink(b, p, end, 104);
    if (a === 0xff && b[p + 1]! === 0x03) p += 2;
    if (end - p < 1) return DecodeStatus.TRUNCATED;
    let pp: number;
    if (b[p]! & 1) {
      pp = b[p]!;
      p += 1;
    } else {
      if (end - p < 2) return DecodeStatus.TRUNCATED;
      pp = (b[p]! << 8) | b[p + 1]!;
      p += 2;
    }
    nextOff = p;
    if (pp === 0x21) nextType = ETH_IPV4;
    else if (pp === 0x57) nextType = ETH_IPV6;
    // 0x8000-0xffff: network and link control protocols (IPCP, LCP, PAP, CHAP, ...), RFC 1661 §2.
    else return pp >= 0x8000 ? DecodeStatus.NON_IP : DecodeStatus.UNKNOWN_ETHERTYPE;
    return CONTINUE;
  }
  if (lt === 104) {
    // Cisco HDLC: Address(1) 0x0f unicast / 0x8f broadcast, Control(1) 0x00, Protocol(2) EtherType
    if (end - p < 4) return DecodeStatus.TRUNCATED;
    nextType = (b[p + 2]! << 8) | b[p + 3]!;
    nextOff = p + 4;
    return CONTINUE;
  }
  return DecodeStatus.UNKNOWN_LINKTYPE;
}

/**
 * EtherType chain: VLAN tags, MPLS, PPPoE, LLC/SNAP until IPv4/IPv6. Returns CONTINUE with nextOff / nextType set
 * to the IP header and its EtherType, or a status.
 */
function decodeEtherChain(b: Uint8Array, p: number, end: number, et: number): Step {
  for (let hops = 0; et !== ETH_IPV4 && et !== ETH_IPV6; hops++) {
    if (hops > 8) return DecodeStatus.UNKNOWN_ETHERTYPE;
    if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
      // IEEE 802.1Q tag after the TPID: PCP(3) DEI(1) VID(12), then the inner EtherType(2)
      if (end - p < 4) return DecodeStatus.TRUNCATED;
      et = (b[p + 2]! << 8) | b[p + 3]!;
      p += 4;
    } else if (et === 0x8847 || et === 0x8848) {
      // MPLS label stack entry (RFC 3032 §2.1): Label(20) TC(3) S(1) TTL(8); IP follows bottom of stack (S=1)
      for (;;) {
        if (end - p < 4) return DecodeStatus.TRUNCATED;
        const bos = b[p + 2]! & 1;
        p += 4;
        if (bos) break;
      }
      if (end - p < 1) return DecodeStatus.TRUNCATED;
      const v = b[p]! >> 4;
      if (v === 4) et = ETH_IPV4;
      else if (v === 6) et = ETH_IPV6;
      else return DecodeStatus.UNKNOWN_ETHERTYPE; // e.g. an Ethernet pseudowire
    } else if (et === 0x8864) {
      // PPPoE session (RFC 2516 §4): Ver(4) Type(4) Code(8) Session ID(16) Length(16), then PPP Protocol(16)
      if (end - p < 8) return DecodeStatus.TRUNCATED;
      const pp = (b[p + 6]! << 8) | b[p + 7]!;
      p += 8;
      if (pp === 0x21) et = ETH_IPV4;
      else if (pp === 0x57) et = ETH_IPV6;
      else return pp >= 0x8000 ? DecodeStatus.NON_IP : DecodeStatus.UNKNOWN_ETHERTYPE;
    } else if (et <= 1500) {
      // IEEE 802.3 length + 802.2 LLC; only SNAP (DSAP 0xaa SSAP 0xaa Ctrl 0x03 OUI(3) EtherType(2)) carries IP.
      // Other LLC frames are protocols of their own (STP 0x42, NetBIOS 0xf0, IPX 0xe0, ...): not IP.
      if (end - p < 3) return DecodeStatus.TRUNCATED;
      if (b[p]! !== 0xaa || b[p + 1]! !== 0xaa || b[p + 2]! !== 0x03) return DecodeStatus.NON_IP;
      if (end - p < 8) return DecodeStatus.TRUNCATED;
      et = (b[p + 6]! << 8) | b[p + 7]!;
      p += 8;
    } else {
      return NON_IP_ETHERTYPE[et] ? DecodeStatus.NON_IP : DecodeStatus.UNKNOWN_ETHERTYPE;
    }
  }
  nextOff = p;
  nextType = et;
  return CONTINUE;
}

/**
 * IP and transport, from the IP header at `p` (`want` = expected version, 0 to sniff). Tunnels loop back with the
 * inner packet, which then overwrites the outer one's fields.
 */
function decodeIp(b: Uint8Array, p: number, end: number, want: number, out: PacketInfo): DecodeStatus {
  const src = out.src;
  const dst = out.dst;
  // Bytes of the frame the capture left out (snap length): an IP length field may count them, up to the wire length.
  const cut = out.wireLen > out.capLen ? out.wireLen - out.capLen : 0;
  for (let depth = 0; ; depth++) {
    if (end - p < 1) return ipFail(out, DecodeStatus.TRUNCATED);
    const v = b[p]! >> 4;
    if (want !== 0 && v !== want) return ipFail(out, DecodeStatus.BAD_IP);
    let q: number; // transport header
    let ipEnd: number; // end of the IP packet per its length fields (may lie past the captured bytes)
    let proto: number;
    if (v === 4) {
      /*
       * IPv4 (RFC 791 §3.1):
       *  |Version|  IHL  |Type of Service|          Total Length         |
       *  |         Identification        |Flags|      Fragment Offset    |
       *  |  Time to Live |    Protocol   |         Header Checksum       |
       *  |                       Source Address                          |
       *  |                    Destination Address                        |
       *  |                    Options                    |    Padding    |
       */
      if (end - p < 20) return ipFail(out, DecodeStatus.TRUNCATED);
      const ihl = (b[p]! & 15) << 2;
      let tot = (b[p + 2]! << 8) | b[p + 3]!;
      if (tot === 0) tot = end - p; // TCP segmentation offload leaves the length 0
      if (ihl < 20 || tot < ihl) return ipFail(out, DecodeStatus.BAD_IP);
      out.ipVersion = 4;
      src[0] = (b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!;
      dst[0] = (b[p + 16]! << 24) | (b[p + 17]! << 16) | (b[p + 18]! << 8) | b[p + 19]!;
      src[1] = 0; src[2] = 0; src[3] = 0;
      dst[1] = 0; dst[2] = 0; dst[3] = 0;
      out.ttl = b[p + 8]!;
      proto = b[p + 9]!;
      out.proto = proto;
      out.ipLen = tot < end - p + cut ? tot : end - p + cut;
      ipEnd = p + tot;
      if (end - p < ihl) return DecodeStatus.TRUNCATED;
      if (((b[p + 6]! & 0x1f) | b[p + 7]!) !== 0) return DecodeStatus.NON_FIRST_FRAGMENT;
      if (b[p + 6]! & 0x20) out.fragment = true;
      q = p + ihl;
    } else if (v === 6) {
      /*
       * IPv6 (RFC 8200 §3):
       *  |Version| Traffic Class |           Flow Label                  |
       *  |         Payload Length        |  Next Header  |   Hop Limit   |
       *  |                   Source Address (128 bits)                   |
       *  |                Destination Address (128 bits)                 |
       */
      if (end - p < 40) return ipFail(out, DecodeStatus.TRUNCATED);
      const plen = (b[p + 4]! << 8) | b[p + 5]!;
      const tot = plen === 0 ? end - p : 40 + plen; // 0: jumbogram or offload, use what was captured
      out.ipVersion = 6;
      for (let i = 0; i < 4; i++) {
        const s = p + 8 + 4 * i;
        const d = p + 24 + 4 * i;
        src[i] = (b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!;
        dst[i] = (b[d]! << 24) | (b[d + 1]! << 16) | (b[d + 2]! << 8) | b[d + 3]!;
      }
      out.ttl = b[p + 7]!;
      out.ipLen = tot < end - p + cut ? tot : end - p + cut;
      ipEnd = p + tot;
      proto = b[p + 6]!;
      q = p + 40;
      if (IPV6_EXT[proto] === 1) {
        const st = walkIpv6Ext(b, q, end, ipEnd, proto, out);
        if (st !== CONTINUE) return st;
        q = nextOff;
        proto = nextType;
      }
      out.proto = proto;
    } else {
      return ipFail(out, DecodeStatus.BAD_IP);
    }

    const capEnd = ipEnd < end ? ipEnd : end; // captured bytes of this IP packet (Ethernet padding excluded)
    const l4Len = ipEnd - q; // transport bytes per the IP length fields
    if (l4Len < 0) return DecodeStatus.BAD_IP;

    if (proto === 6) {
      /*
       * TCP (RFC 9293 §3.1):
       *  |          Source Port          |       Destination Port        |
       *  |                        Sequence Number                        |
       *  |                    Acknowledgment Number                      |
       *  |  DOffset|  Rsrvd  |   Flags   |             Window            |
       *  |           Checksum            |         Urgent Pointer        |
       */
      if (capEnd - q < 20) return DecodeStatus.TRUNCATED;
      const doff = (b[q + 12]! >> 4) << 2;
      out.sport = (b[q]! << 8) | b[q + 1]!;
      out.dport = (b[q + 2]! << 8) | b[q + 3]!;
      out.tcpSeq = ((b[q + 4]! << 24) | (b[q + 5]! << 16) | (b[q + 6]! << 8) | b[q + 7]!) >>> 0;
      out.tcpAck = ((b[q + 8]! << 24) | (b[q + 9]! << 16) | (b[q + 10]! << 8) | b[q + 11]!) >>> 0;
      out.tcpFlags = b[q + 13]!;
      out.tcpWindow = (b[q + 14]! << 8) | b[q + 15]!;
      if (doff < 20 || doff > l4Len) return DecodeStatus.BAD_L4;
      out.l4HeaderLen = doff;
      out.payloadLen = l4Len - doff;
      const po = q + doff;
      out.payloadOffset = po;
      out.payloadCapLen = capEnd > po ? capEnd - po : 0;
      return DecodeStatus.OK;
    }
    if (proto === 17) {
      // UDP (RFC 768): Source Port(16) Destination Port(16) Length(16) Checksum(16)
      if (capEnd - q < 8) return DecodeStatus.TRUNCATED;
      const sport = (b[q]! << 8) | b[q + 1]!;
      const dport = (b[q + 2]! << 8) | b[q + 3]!;
      const ulen = (b[q + 4]! << 8) | b[q + 5]!;
      out.sport = sport;
      out.dport = dport;
      if (l4Len < 8) return DecodeStatus.BAD_L4;
      const po = q + 8;
      if ((sport === GTPU_PORT || dport === GTPU_PORT) && depth < MAX_TUNNEL_DEPTH) {
        const inner = gtpuInner(b, po, capEnd);
        if (inner >= 0) {
          p = inner;
          end = capEnd;
          want = 0;
          continue;
        }
      }
      const plen = ulen >= 8 && ulen <= l4Len ? ulen - 8 : l4Len - 8;
      out.l4HeaderLen = 8;
      out.payloadLen = plen;
      out.payloadOffset = po;
      const pe = capEnd < po + plen ? capEnd : po + plen;
      out.payloadCapLen = pe > po ? pe - po : 0;
      return DecodeStatus.OK;
    }
    if ((proto === 4 || proto === 41) && depth < MAX_TUNNEL_DEPTH) {
      // IP-in-IP (RFC 2003) / IPv6-in-IPv4 (RFC 4213): the inner packet is the flow.
      p = q;
      end = capEnd;
      want = proto === 4 ? 4 : 6;
      continue;
    }
    return decodeOtherL4(b, q, capEnd, l4Len, proto, out);
  }
}

/**
 * IPv6 extension headers (RFC 8200 §4): Next Header(8) Hdr Ext Len(8, 8-octet units beyond the first) ...
 *   Fragment (44): Next Header(8) Reserved(8) Fragment Offset(13) Res(2) M(1) Identification(32)
 *   AH (51, RFC 4302 §2): Next Header(8) Payload Len(8, 4-octet units minus 2) ...
 * Returns CONTINUE with nextOff = transport header and nextType = its protocol, or a status (BAD_IP when a header
 * runs past the IPv6 payload length, TRUNCATED when past the captured bytes).
 */
function walkIpv6Ext(b: Uint8Array, q: number, end: number, ipEnd: number, proto: number, out: PacketInfo): Step {
  const capEnd = ipEnd < end ? ipEnd : end;
  for (let n = 0; n < MAX_EXT_HEADERS && IPV6_EXT[proto] === 1; n++) {
    if (capEnd - q < 8) {
      out.proto = proto;
      return ipEnd - q < 8 ? DecodeStatus.BAD_IP : DecodeStatus.TRUNCATED;
    }
    const next = b[q]!;
    if (proto === 44) {
      const off = ((b[q + 2]! << 8) | b[q + 3]!) & 0xfff8;
      const more = b[q + 3]! & 1;
      q += 8;
      if (off !== 0) {
        out.proto = next;
        return DecodeStatus.NON_FIRST_FRAGMENT;
      }
      if (more) out.fragment = true;
    } else if (proto === 51) {
      q += (b[q + 1]! + 2) << 2;
    } else {
      q += (b[q + 1]! + 1) << 3;
    }
    proto = next;
  }
  nextOff = q;
  nextType = proto;
  return CONTINUE;
}

/**
 * GTP-U header (3GPP TS 29.281 §5.1):
 *   Version(3)=1 PT(1)=1 (*)(1) E(1) S(1) PN(1) | Message Type(8), 0xff = G-PDU | Length(16) | TEID(32)
 *   | if E, S or PN: Sequence Number(16) N-PDU Number(8) Next Extension Header Type(8)
 *   | extension headers: Length(8, 4-octet units) Contents Next Extension Header Type(8)
 * Returns the offset of the tunnelled IPv4/IPv6 packet, or -1 when this is not a G-PDU carrying IP.
 */
function gtpuInner(b: Uint8Array, g: number, capEnd: number): number {
  if (capEnd - g < 8 || (b[g]! & 0xf0) !== 0x30 || b[g + 1]! !== 0xff) return -1;
  const flags = b[g]!;
  g += 8;
  if (flags & 0x07) {
    if (capEnd - g < 4) return -1;
    let next = b[g + 3]!;
    g += 4;
    for (let n = 0; next !== 0; n++) {
      if (n === 8 || capEnd - g < 4) return -1;
      const el = b[g]! << 2;
      if (el === 0 || capEnd - g < el) return -1;
      next = b[g + el - 1]!;
      g += el;
    }
  }
  if (capEnd - g < 1) return -1;
  const v = b[g]! >> 4;
  return v === 4 || v === 6 ? g : -1;
}

/** ICMP / ICMPv6 and transports without ports. */
function decodeOtherL4(b: Uint8Array, q: number, capEnd: number, l4Len: number, proto: number, out: PacketInfo): DecodeStatus {
  if (proto === 1 || proto === 58) {
    // ICMP (RFC 792): Type(8) Code(8) Checksum(16) Rest of header(32); ICMPv6 (RFC 4443 §2.1): Type Code Checksum
    const hl = proto === 1 ? 8 : 4;
    if (capEnd - q < hl) return DecodeStatus.TRUNCATED;
    out.sport = b[q]!;
    out.dport = b[q + 1]!;
    out.l4HeaderLen = hl;
    out.payloadLen = l4Len > hl ? l4Len - hl : 0;
    const po = q + hl;
    out.payloadOffset = po;
    out.payloadCapLen = capEnd > po ? capEnd - po : 0;
    return DecodeStatus.OK;
  }
  out.payloadLen = l4Len;
  out.payloadOffset = q;
  out.payloadCapLen = capEnd > q ? capEnd - q : 0;
  return DecodeStatus.OTHER_L4;
}

/** Text form of an address held as PacketInfo words: dotted quad for IPv4, RFC 5952 compressed form for IPv6. */
export function formatIp(words: Uint32Array | readonly number[], version: number): string {
  if (version === 4) {
    const a = words[0]! >>> 0;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  }
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[i]! >>> 0;
    g.push(w >>> 16, w & 0xffff);
  }
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Parses an IPv4 dotted quad or IPv6 text address into PacketInfo-style words; throws on a malformed address. */
export function parseIp(text: string): { version: 4 | 6; words: Uint32Array } {
  const words = new Uint32Array(4);
  if (!text.includes(':')) {
    const parts = text.split('.');
    if (parts.length !== 4) throw new Error(`bad IPv4 address '${text}'`);
    let a = 0;
    for (const s of parts) {
      const n = Number(s);
      if (!/^\d{1,3}$/.test(s) || n > 255) throw new Error(`bad IPv4 address '${text}'`);
      a = a * 256 + n;
    }
    words[0] = a;
    return { version: 4, words };
  }
  let head = text, tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
    if (tail.includes('::')) throw new Error(`bad IPv6 address '${text}'`);
  }
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.includes('.') && i === parts.length - 1) {
        const v4 = parseIp(part).words[0]!;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) throw new Error(`bad IPv6 address '${text}'`);
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const h = groups(head), t = groups(tail);
  const fill = 8 - h.length - t.length;
  if (dbl >= 0 ? fill < 1 : fill !== 0) throw new Error(`bad IPv6 address '${text}'`);
  const all = [...h, ...new Array<number>(dbl >= 0 ? fill : 0).fill(0), ...t];
  for (let i = 0; i < 4; i++) words[i] = all[2 * i]! * 65536 + all[2 * i + 1]!;
  return { version: 6, words };
}
