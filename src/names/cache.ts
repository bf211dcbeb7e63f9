/**
 * Address -> name cache fed by DNS answers: bounded (least recently used entries go first), each entry valid for
 * its record's TTL in capture time. A CNAME chain is followed back to the name that was asked, so a flow to a CDN
 * address is named by what the client looked up (`www.netflix.com`), not by the CDN's host name.
 */
import type { DnsResponse } from './dns.ts';

export const DEFAULT_DNS_CACHE_SIZE = 65_536;
/** Longest CNAME chain followed back to the question. */
const MAX_CHAIN = 8;

interface Entry { name: string; expiresUs: number }

/** Cache key of an address: IPv4 as its number, IPv6 as text of its four words. */
export function addressKey(ipVersion: number, w0: number, w1: number, w2: number, w3: number): number | string {
  return ipVersion === 4 ? w0 >>> 0 : `${w0 >>> 0}:${w1 >>> 0}:${w2 >>> 0}:${w3 >>> 0}`;
}

export class DnsNameCache {
  private readonly map = new Map<number | string, Entry>();
  /** Answers learnt and lookups answered, for the run's counters. */
  learnt = 0;
  hits = 0;

  constructor(readonly capacity = DEFAULT_DNS_CACHE_SIZE) {}

  get size(): number {
    return this.map.size;
  }

  /** Learns every address of a response seen at `tsUs`. */
  learn(r: DnsResponse, tsUs: number): void {
    if (!r.addresses.length) return;
    const back = new Map<string, string>();
    for (const [owner, target] of r.aliases) if (!back.has(target)) back.set(target, owner);
    for (const a of r.addresses) {
      let name = a.name;
      for (let i = 0; i < MAX_CHAIN && name !== r.question; i++) {
        const prev = back.get(name);
        if (prev === undefined) break;
        name = prev;
      }
      if (!name) continue;
      const key = addressKey(a.ipVersion, a.words[0], a.words[1], a.words[2], a.words[3]);
      this.map.delete(key);
      this.map.set(key, { name, expiresUs: tsUs + a.ttlS * 1e6 });
      this.learnt++;
      if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
    }
  }

  /** The name bound to an address at capture time `tsUs`, or '' (expired entries are dropped). */
  lookup(key: number | string, tsUs: number): string {
    const e = this.map.get(key);
    if (e === undefined) return '';
    if (e.expiresUs < tsUs) { this.map.delete(key); return ''; }
    this.map.delete(key);
    this.map.set(key, e);
    this.hits++;
    return e.name;
  }
}
