/**
 * DNS response grammar (RFC 1035 4.1, RFC 3596 AAAA, RFC 9460 HTTPS/SVCB): bytes in, the answer records that
 * bind names to addresses out. Bounded: at most {@link MAX_RECORDS} records, 16 compression jumps and 255 bytes
 * per name; a malformed message returns null (it costs that packet only). Only names and addresses are kept.
 *
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * then QDCOUNT questions (QNAME QTYPE QCLASS) and resource records (NAME TYPE CLASS TTL RDLENGTH RDATA).
 */

export const RR = { A: 1, CNAME: 5, AAAA: 28, SVCB: 64, HTTPS: 65 } as const;

/** One address binding: `name` (owner, lower case) resolves to `addr` (dotted quad or RFC 5952 text). */
export interface DnsAddress {
  name: string;
  /** 4: IPv4 in words[0]; 6: four big-endian 32-bit words. */
  ipVersion: 4 | 6;
  words: [number, number, number, number];
  ttlS: number;
}

export interface DnsResponse {
  /** First question's name (lower case, no trailing dot), '' when none. */
  question: string;
  addresses: DnsAddress[];
  /** CNAME (and HTTPS/SVCB alias target) edges: owner -> target. */
  aliases: [string, string][];
}

const MAX_RECORDS = 64;
const MAX_JUMPS = 16;
const MAX_NAME = 255;

/** Reads a possibly compressed name at `off`; returns [name, offset after it in the record] or null. */
function readName(b: Uint8Array, start: number, end: number, off: number): [string, number] | null {
  let out = '';
  let len = 0;
  let jumps = 0;
  let after = -1;
  let p = off;
  for (;;) {
    if (p >= end) return null;
    const l = b[p]!;
    if (l === 0) { p++; break; }
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++jumps > MAX_JUMPS) return null;
      if (after < 0) after = p + 2;
      const target = start + (((l & 0x3f) << 8) | b[p + 1]!);
      if (target >= p) return null; // pointers go backwards only, so a name cannot loop
      p = target;
      continue;
    }
    if ((l & 0xc0) !== 0) return null;
    if (p + 1 + l > end) return null;
    len += l + 1;
    if (len > MAX_NAME) return null;
    let label = '';
    for (let i = p + 1; i <= p + l; i++) {
      let c = b[i]!;
      if (c >= 65 && c <= 90) c += 32;
      label += String.fromCharCode(c);
    }
    out = out ? `${out}.${label}` : label;
    p += 1 + l;
  }
  return [out, after >= 0 ? after : p];
}

/**
 * Parses a DNS message (`b[start .. end]`, the UDP payload, or a TCP segment after its 2-byte length) and returns
 * its address and alias records, or null when it is not a well-formed response.
 *
 * @example
 * const r = parseDnsResponse(payload, 0, payload.length);
 * r?.addresses[0]; // { name: 'www.example.com', ipVersion: 4, words: [0x5db8d822, 0, 0, 0], ttlS: 300 }
 */
export function parseDnsResponse(b: Uint8Array, start: number, end: number): DnsResponse | null {
  if (end - start < 12) return null;
  const flags = (b[start + 2]! << 8) | b[start + 3]!;
  if ((flags & 0x8000) === 0) return null; // a query
  if (((flags >> 11) & 0xf) !== 0) return null; // opcode other than QUERY
  if ((flags & 0xf) !== 0) return null; // RCODE: error, no answers worth keeping
  const qd = (b[start + 4]! << 8) | b[start + 5]!;
  const an = (b[start + 6]! << 8) | b[start + 7]!;
  const ns = (b[start + 8]! << 8) | b[start + 9]!;
  const ar = (b[start + 10]! << 8) | b[start + 11]!;
  if (qd > 4 || an + ns + ar === 0) return null;
  let p = start + 12;
  let question = '';
  for (let i = 0; i < qd; i++) {
    const n = readName(b, start, end, p);
    if (!n || n[1] + 4 > end) return null;
    if (i === 0) question = n[0];
    p = n[1] + 4;
  }
  const addresses: DnsAddress[] = [];
  const aliases: [string, string][] = [];
  const total = Math.min(an + ns + ar, MAX_RECORDS);
  for (let i = 0; i < total; i++) {
    const n = readName(b, start, end, p);
    if (!n || n[1] + 10 > end) return addresses.length || aliases.length ? { question, addresses, aliases } : null;
    p = n[1];
    const type = (b[p]! << 8) | b[p + 1]!;
    const ttl = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rd = p + 10;
    if (rd + rdlen > end) return addresses.length || aliases.length ? { question, addresses, aliases } : null;
    p = rd + rdlen;
    // The authority section (NS/SOA) binds no address to the asked name; additional A/AAAA glue is still a binding.
    if (type === RR.A && rdlen === 4) {
      addresses.push({ name: n[0], ipVersion: 4, words: [((b[rd]! << 24) | (b[rd + 1]! << 16) | (b[rd + 2]! << 8) | b[rd + 3]!) >>> 0, 0, 0, 0], ttlS: ttl });
    } else if (type === RR.AAAA && rdlen === 16) {
      addresses.push({ name: n[0], ipVersion: 6, words: [word(b, rd), word(b, rd + 4), word(b, rd + 8), word(b, rd + 12)], ttlS: ttl });
    } else if (type === RR.CNAME) {
      const t = readName(b, start, rd + rdlen, rd);
      if (t && t[0]) aliases.push([n[0], t[0]]);
    } else if ((type === RR.HTTPS || type === RR.SVCB) && rdlen >= 3) {
      svcb(b, start, rd, rd + rdlen, n[0], ttl, addresses, aliases);
    }
  }
  return { question, addresses, aliases };
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * RFC 9460 2.2: SvcPriority (2), TargetName (uncompressed name; '.' means the owner), SvcParams (key, length,
 * value); ipv4hint is key 4, ipv6hint key 6.
 */
function svcb(b: Uint8Array, start: number, rd: number, end: number, owner: string, ttl: number,
  addresses: DnsAddress[], aliases: [string, string][]): void {
  const t = readName(b, start, end, rd + 2);
  if (!t) return;
  const target = t[0] || owner;
  if (target !== owner) aliases.push([owner, target]);
  let p = t[1];
  while (p + 4 <= end) {
    const key = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    const v = p + 4;
    if (v + len > end) return;
    if (key === 4) for (let o = v; o + 4 <= v + len; o += 4) addresses.push({ name: target, ipVersion: 4, words: [word(b, o), 0, 0, 0], ttlS: ttl });
    if (key === 6) for (let o = v; o + 16 <= v + len; o += 16) addresses.push({ name: target, ipVersion: 6, words: [word(b, o), word(b, o + 4), word(b, o + 8), word(b, o + 12)], ttlS: ttl });
    p = v + len;
  }
}

/** First question name of a DNS message (query or response), '' when malformed. */
export function dnsQuestion(b: Uint8Array, start: number, end: number): string {
  if (end - start < 12) return '';
  const qd = (b[start + 4]! << 8) | b[start + 5]!;
  if (qd === 0 || qd > 4) return '';
  const n = readName(b, start, end, start + 12);
  return n ? n[0] : '';
}
