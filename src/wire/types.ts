import { VeilError } from '../core/errors.ts';

/**
 * Contracts of the wire layer: what a capture reader hands out and what the packet decoder fills in.
 *
 * Hot path: one {@link PacketInfo} object is reused for every packet (no per-packet allocation); the decoder
 * overwrites its fields. Consumers that keep anything past the callback must copy it.
 */

/** Link-layer header types (LINKTYPE_* values from the tcpdump registry) that the decoder understands. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  PPP: 9,
  RAW: 101, // raw IPv4/IPv6, version nibble decides
  PPP_HDLC: 50,
  C_HDLC: 104, // Cisco HDLC
  LOOP: 108, // OpenBSD loopback: 4-byte AF in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  RAW_OPENBSD: 12, // raw IP as written by some systems (DLT_RAW's value on OpenBSD)
  RAW_BSDOS: 14, // raw IP (DLT_RAW's value on BSD/OS)
} as const;

/** Outcome of decoding one packet; anything but OK is counted under its name and the packet skipped by the meter. */
export const DecodeStatus = {
  OK: 0,
  TRUNCATED: 1, // a header runs past the captured bytes
  UNKNOWN_LINKTYPE: 2,
  UNKNOWN_ETHERTYPE: 3, // an EtherType Veil does not know
  BAD_IP: 4, // wrong version, header length below minimum
  NON_FIRST_FRAGMENT: 5, // IP fragment other than the first: counted, not metered
  OTHER_L4: 6, // IP packet whose transport is not TCP/UDP/ICMP: metered with ports 0
  BAD_L4: 7, // TCP/UDP header contradicts the IP lengths (data offset < 5, header longer than the IP payload)
  NON_IP: 8, // a known protocol that is not IP: ARP, LLDP, EAPOL, PTP, 802.2 LLC (STP, NetBIOS, IPX), PPP control
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/**
 * One decoded packet. Addresses: IPv4 in `src[0]`/`dst[0]` (host-order uint32, other words 0), IPv6 in all four
 * words (big-endian words of the 128-bit address). Sizes in bytes. Times in microseconds since the epoch (float).
 */
export interface PacketInfo {
  /** Capture timestamp, microseconds since the Unix epoch (float64, sub-microsecond part kept as fraction). */
  tsUs: number;
  /** Length of the packet on the wire (pcap orig_len). */
  wireLen: number;
  /** Bytes actually captured (pcap incl_len). */
  capLen: number;
  /** Index of the pcapng interface (0 for pcap). */
  ifIndex: number;
  linkType: number;
  /** 4 or 6; 0 when no IP header was found. */
  ipVersion: number;
  src: Uint32Array; // length 4
  dst: Uint32Array; // length 4
  /** IP protocol number of the transport (after walking IPv6 extension headers): 6 TCP, 17 UDP, 1/58 ICMP. */
  proto: number;
  /** Ports for TCP/UDP; for ICMP sport = type, dport = code; 0 otherwise. */
  sport: number;
  dport: number;
  /**
   * Bytes from the start of the IP header to the end of the IP packet, per the IP length field, at most what the
   * frame held on the wire (a snap length that cut the frame does not shrink it; a lying length field cannot
   * exceed the wire length).
   */
  ipLen: number;
  /** Transport header length (TCP data offset*4, UDP 8, ICMP 8 / 4). */
  l4HeaderLen: number;
  /** Transport payload length per IP length fields (may exceed captured bytes when snaplen cut the packet). */
  payloadLen: number;
  /** Offset of the transport payload in `data` (absolute index into the reader's buffer), and how many of its
   * bytes were captured. */
  payloadOffset: number;
  payloadCapLen: number;
  /** TCP only: flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128), window, seq, ack. */
  tcpFlags: number;
  tcpWindow: number;
  tcpSeq: number;
  tcpAck: number;
  ttl: number;
  /** True for the first fragment of a fragmented IP datagram (more-fragments set, offset 0). */
  fragment: boolean;
  /** The reader's buffer the frame lives in (same as RawFrame.data); valid only during the callback. */
  data: Uint8Array;
}

export function newPacketInfo(): PacketInfo {
  return {
    tsUs: 0, wireLen: 0, capLen: 0, ifIndex: 0, linkType: 0, ipVersion: 0,
    src: new Uint32Array(4), dst: new Uint32Array(4), proto: 0, sport: 0, dport: 0, ipLen: 0,
    l4HeaderLen: 0, payloadLen: 0, payloadOffset: 0, payloadCapLen: 0, tcpFlags: 0, tcpWindow: 0, tcpSeq: 0,
    tcpAck: 0, ttl: 0, fragment: false, data: new Uint8Array(0),
  };
}

/** A captured frame as the readers deliver it (before decoding). Reused by the reader: copy what you keep. */
export interface RawFrame {
  tsUs: number;
  capLen: number;
  wireLen: number;
  linkType: number;
  ifIndex: number;
  /**
   * The reader's buffer holding the frame at `offset` .. `offset + capLen` (no per-frame subarray is made, so the
   * hot path allocates nothing). Valid only during the callback.
   */
  data: Uint8Array;
  offset: number;
  /** Byte offset of this frame's record in the input stream (for error messages). */
  fileOffset: number;
}

/** Codes of capture reader failures: damage at a byte offset (the first three), or a file that cannot be read. */
export const CaptureErrorCode = {
  TRUNCATED: 'TRUNCATED',
  BAD_MAGIC: 'BAD_MAGIC',
  CORRUPT_RECORD: 'CORRUPT_RECORD',
  IO: 'IO',
} as const;
export type CaptureErrorCode = (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode];

/** A reader failure names the file and the byte offset where the damage starts. */
export class CaptureError extends VeilError {
  declare readonly code: CaptureErrorCode;
  readonly file: string;
  readonly offset: number;
  /** `offset` < 0: the file could not be read at all (code IO), so no place in it is named. */
  constructor(code: CaptureError['code'], file: string, offset: number, detail: string) {
    super(code, offset < 0 ? `${file}: ${detail}` : `${file}: ${detail} at byte offset ${offset}`);
    this.name = 'CaptureError';
    this.file = file;
    this.offset = offset;
  }
}
