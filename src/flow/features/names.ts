// The parts of src/names the meter needs, imported directly: the flow worker bundle (--workers) then leaves out the
// catalogue, which reads a file beside its module.
import { addressKey, DnsNameCache } from '../../names/cache.ts';
import { dnsQuestion, parseDnsResponse } from '../../names/dns.ts';
import { httpHost, looksLikeHttpRequest } from '../../names/http.ts';
import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily } from './family.ts';
import { Slab } from './slab.ts';

/**
 * Names visible without decrypting, beside the handshake family's server and certificate names: the Host of a
 * cleartext HTTP/1.x request (the first payload of each direction, found by content), and the name DNS answers
 * seen earlier in the same capture gave the responder's address (a bounded LRU cache with each record's TTL in
 * capture time, CNAME chains followed back to the asked name). DNS responses (UDP or TCP from port 53, mDNS 5353,
 * LLMNR 5355) feed the cache; only names and addresses are kept. With `--workers`, each shard has its own cache
 * and learns only from the DNS flows it meters.
 *
 * Hot path: a packet that is neither DNS nor a flow's first payload costs a few compares and no allocation.
 */
type State = number;

/** Bit 0: direction 0's first payload was looked at for an HTTP request; bit 1: direction 1's. */
const HTTP_SEEN = 0;
const WIDTH = 1;

const COLUMNS: ColumnDef[] = [
  col('name_http_host', 'metadata', 'string', '', 'fwd', 'Host of the cleartext HTTP/1.x request that opened the flow (leaks the destination)', true),
  col('name_dns', 'metadata', 'string', '', 'bwd', 'Name a DNS answer earlier in the capture gave the responder\'s address (the asked name, CNAMEs followed back; leaky)', true),
  col('name_dns_query', 'metadata', 'string', '', 'fwd', 'DNS flows: the first question\'s name (leaky)', true),
];

const DNS_PORT = 53, MDNS_PORT = 5353, LLMNR_PORT = 5355;

function isDnsPort(p: number): boolean {
  return p === DNS_PORT || p === MDNS_PORT || p === LLMNR_PORT;
}

export function namesFamily(): FeatureFamily<State> {
  const slab = new Slab(WIDTH);
  const cache = new DnsNameCache();
  // Per record (offset / WIDTH): the strings found, '' while none.
  const host: string[] = [];
  const dns: string[] = [];
  const query: string[] = [];
  return {
    name: 'names',
    description: 'Names seen in the clear: HTTP Host, DNS answers for the responder\'s address (bounded TTL cache), DNS questions',
    columns: COLUMNS,
    init(flow: Flow, p: PacketInfo): State {
      const o = slab.alloc();
      slab.data[o + HTTP_SEEN] = 0;
      const k = o / WIDTH;
      while (host.length <= k) { host.push(''); dns.push(''); query.push(''); }
      host[k] = '';
      query[k] = '';
      const a = flow.addr;
      let name = cache.size ? cache.lookup(addressKey(flow.ipVersion, a[4]!, a[5]!, a[6]!, a[7]!), p.tsUs) : '';
      // A capture that began after the client's first packet makes the server the source.
      if (!name && cache.size && flow.sport < 1024 && flow.dport >= 1024) name = cache.lookup(addressKey(flow.ipVersion, a[0]!, a[1]!, a[2]!, a[3]!), p.tsUs);
      dns[k] = name;
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const len = p.payloadCapLen;
      if (len === 0 || (p.proto !== 6 && p.proto !== 17)) return;
      const d = slab.data;
      const bit = dir === 0 ? 1 : 2;
      if (p.proto === 6 && (d[o + HTTP_SEEN]! & bit) === 0) {
        d[o + HTTP_SEEN] = d[o + HTTP_SEEN]! | bit;
        const k = o / WIDTH;
        if (host[k] === '' && looksLikeHttpRequest(p.data, p.payloadOffset, len)) host[k] = httpHost(p.data, p.payloadOffset, len);
      }
      if (!isDnsPort(p.sport) && !isDnsPort(p.dport)) return;
      let from = p.payloadOffset, to = p.payloadOffset + len;
      if (p.proto === 6) {
        // RFC 1035 4.2.2: a two-byte length, then the message; only a message held whole in one segment is read.
        if (len < 14) return;
        const mlen = (p.data[from]! << 8) | p.data[from + 1]!;
        from += 2;
        if (mlen > to - from) return;
        to = from + mlen;
      }
      const k = o / WIDTH;
      if (query[k] === '') query[k] = dnsQuestion(p.data, from, to);
      if (!isDnsPort(p.sport)) return;
      const r = parseDnsResponse(p.data, from, to);
      if (r) cache.learn(r, p.tsUs);
    },
    finish(o: State, _flow: Flow, row: CellValue[], at: number): void {
      const k = o / WIDTH;
      row[at] = host[k]!;
      row[at + 1] = dns[k]!;
      row[at + 2] = query[k]!;
      host[k] = dns[k] = query[k] = '';
      slab.release(o);
    },
  };
}
