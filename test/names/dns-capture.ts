/** Builds the DNS-answer fixture: a DNS response (CNAME chain, compressed names), then a TLS-less TCP flow to the
 * answered address, then a flow to an address no answer named; our own pcap writer. */
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket, linkTypeOf } from '../../src/wire/testing.ts';

/** DNS name in wire form, optionally ending in a compression pointer. */
export function dnsName(name: string, pointer?: number): number[] {
  const out: number[] = [];
  for (const l of name ? name.split('.') : []) out.push(l.length, ...Buffer.from(l, 'latin1'));
  if (pointer !== undefined) out.push(0xc0 | (pointer >> 8), pointer & 0xff);
  else out.push(0);
  return out;
}

const u16 = (v: number) => [v >> 8, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/**
 * Response to `A? www.netflix.com`: www.netflix.com CNAME www.dradis.netflix.com (compressed against the question),
 * www.dradis.netflix.com A 203.0.113.7, TTL `ttl`.
 */
export function dnsResponse(ttl = 300): Uint8Array {
  const q = dnsName('www.netflix.com'); // at offset 12
  const head = [...u16(0x1234), ...u16(0x8180), ...u16(1), ...u16(2), ...u16(0), ...u16(0)];
  const question = [...q, ...u16(1), ...u16(1)];
  // CNAME owner: pointer to the question name (12); target 'www.dradis' + pointer to 'netflix.com' (offset 16).
  const target = dnsName('www.dradis', 16);
  const cnameAt = 12 + question.length;
  const cname = [0xc0, 12, ...u16(5), ...u16(1), ...u32(ttl), ...u16(target.length), ...target];
  const targetAt = cnameAt + 12;
  const a = [0xc0 | (targetAt >> 8), targetAt & 0xff, ...u16(1), ...u16(1), ...u32(ttl), ...u16(4), 203, 0, 113, 7];
  return Uint8Array.from([...head, ...question, ...cname, ...a]);
}

export function dnsCapture(): Buffer {
  const w = new PcapWriter({ linkType: linkTypeOf('ether') });
  let ts = 1_700_000_000_000_000;
  const put = (spec: Parameters<typeof buildPacket>[0]) => { w.writePacket(buildPacket(spec), { tsUs: ts }); ts += 10_000; };
  const query = Uint8Array.from([...u16(0x1234), ...u16(0x0100), ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...dnsName('www.netflix.com'), ...u16(1), ...u16(1)]);
  put({ src: '192.0.2.10', dst: '192.0.2.53', proto: 'udp', sport: 40000, dport: 53, payload: query });
  put({ src: '192.0.2.53', dst: '192.0.2.10', proto: 'udp', sport: 53, dport: 40000, payload: dnsResponse() });
  // A TCP flow to the answered address carrying no TLS and no HTTP: only the DNS answer names it.
  for (const [src, dst, sport, dport, flags, payload] of [
    ['192.0.2.10', '203.0.113.7', 50000, 8443, 'S', undefined],
    ['203.0.113.7', '192.0.2.10', 8443, 50000, 'SA', undefined],
    ['192.0.2.10', '203.0.113.7', 50000, 8443, 'A', undefined],
    ['192.0.2.10', '203.0.113.7', 50000, 8443, 'PA', 'opaque bytes'],
    ['203.0.113.7', '192.0.2.10', 8443, 50000, 'PA', 'more opaque bytes'],
  ] as const) put({ src, dst, sport, dport, flags, payload, seq: 1000, ack: 1 });
  // Same kind of flow to an address nobody named.
  put({ src: '192.0.2.10', dst: '198.51.100.9', sport: 50001, dport: 8443, flags: 'S' });
  return w.toBuffer();
}
