/**
 * One bidirectional flow. The initiator (sender of the first packet seen) is the source; `dir` 0 is
 * initiator -> responder, 1 the reverse. Flows are objects (one allocation per flow, none per packet); the
 * families keep their state in `states`, indexed like the meter's family list.
 */
export type EndReason = 'fin' | 'rst' | 'idle' | 'active' | 'eof' | 'packets';

export class Flow {
  readonly hash: number;
  readonly ipVersion: number;
  /** Source address words 0-3, then destination words 0-3 (one small array: fewer objects per flow to collect). */
  readonly addr = new Uint32Array(8);
  readonly sport: number;
  readonly dport: number;
  readonly proto: number;
  /** Initialised to a number (not left undefined until the constructor sets them) so V8 gives the fields double
   * representation, updated in place: `lastTs` is written on every packet, and a tagged field would allocate a
   * HeapNumber each time. */
  firstTs = 0;
  lastTs = 0;
  /** Packets and bytes (frame length on the wire, as nDPI and tcpdump count) per direction. */
  fwdPkts = 0;
  bwdPkts = 0;
  fwdBytes = 0;
  bwdBytes = 0;
  /** TCP: bit 0 FIN seen from the initiator, bit 1 from the responder. */
  finMask = 0;
  rst = false;
  /** Ended by FIN both ways or RST; later non-SYN packets of the same connection still count in it. */
  closed = false;
  endReason: EndReason = 'eof';
  states: unknown[] = [];
  /** Chain of flows whose keys share a hash bucket. */
  chain: Flow | null = null;
  /** Doubly linked expiry list, ordered by lastTs. */
  prev: Flow | null = null;
  next: Flow | null = null;
  list: 0 | 1 = 0;

  constructor(hash: number, ipVersion: number, src: Uint32Array, dst: Uint32Array, sport: number, dport: number,
    proto: number, ts: number) {
    this.hash = hash;
    this.ipVersion = ipVersion;
    const a = this.addr;
    a[0] = src[0]!; a[1] = src[1]!; a[2] = src[2]!; a[3] = src[3]!;
    a[4] = dst[0]!; a[5] = dst[1]!; a[6] = dst[2]!; a[7] = dst[3]!;
    this.sport = sport;
    this.dport = dport;
    this.proto = proto;
    this.firstTs = ts;
    this.lastTs = ts;
  }

  /** Address of the initiator as four big-endian 32-bit words (IPv4: word 0); a view of `addr`. */
  get srcAddr(): Uint32Array {
    return this.addr.subarray(0, 4);
  }

  /** Address of the responder; a view of `addr`. */
  get dstAddr(): Uint32Array {
    return this.addr.subarray(4, 8);
  }
}

/** Dotted quad or RFC 5952 text of an address held as four big-endian 32-bit words. */
export function formatAddr(ipVersion: number, a: Uint32Array): string {
  return formatAddrAt(ipVersion, a, 0);
}

/** {@link formatAddr} of the four words of `a` from `at` (a flow's `addr`: 0 source, 4 destination). */
export function formatAddrAt(ipVersion: number, a: Uint32Array, at: number): string {
  if (ipVersion === 4) {
    const v = a[at]!;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = at; i < at + 4; i++) { groups.push(a[i]! >>> 16, a[i]! & 0xffff); }
  // Longest run of two or more zero groups becomes '::' (RFC 5952 section 4.2).
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
