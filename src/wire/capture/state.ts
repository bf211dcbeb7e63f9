import type { CaptureError, RawFrame } from '../types.ts';

export type CaptureFormat = 'pcap' | 'pcapng';

/** Parser modes: sniffing the magic, reading the pcap file header, pcap records, pcapng blocks, stopped. */
export const M_MAGIC = 0;
export const M_PCAP_HDR = 1;
export const M_PCAP = 2;
export const M_PCAPNG = 3;
export const M_DONE = 4;

/**
 * A capture length above this is damage, not a packet (libpcap's and Wireshark's limit), whatever snaplen the file
 * header claims: a forged header must not make the reader buffer a record of hundreds of megabytes.
 */
export const MAX_SANE_CAPLEN = 262144;
/** pcapng blocks longer than this are treated as damage; it bounds the carry buffer. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;

/**
 * One pcapng interface: link type, snaplen and how to turn its 64-bit timestamps into microseconds.
 * tsKind 0: ticks are µs scaled by `mul` (resolution 10^-n, n <= 6); 1: ticks / `div` with div = 10^(n-6), n in 7..9,
 * done in integer halves so nanosecond stamps keep their precision; 2: binary 2^-shift, shift <= 32; 3: generic float.
 */
export interface Iface {
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

/** What the grammars read and write of the parser (./parser.ts): its mode, byte order, interfaces, the frame. */
export interface ParserState {
  mode: number;
  le: boolean;
  nanos: boolean;
  snaplen: number;
  linkType: number;
  maxCap: number;
  /** Bytes the next record needs (its header while the header is incomplete, then all of it). */
  need: number;
  frames: number;
  error: CaptureError | null;
  format: CaptureFormat | 'unknown';
  ifaces: Iface[];
  lastTsUs: number;
  readonly frame: RawFrame;
  readonly file: string;
  readonly onFrame: (f: RawFrame) => void;
  /** Appended to error details when offsets refer to a decompressed stream. */
  offsetNote: string;
  /** Stops the parse with this error. */
  stop(e: CaptureError): void;
  addLinkType(lt: number): void;
}
