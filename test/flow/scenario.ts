/**
 * The golden scenario: a small capture built with our own pcap writer, covering every way a flow starts and
 * ends. Used by the meter's golden tests (and regenerated into test/fixtures/flow/ with UPDATE_GOLDEN=1).
 */
import { buildPacket, type LinkName, type PacketSpec } from '../../src/wire/testing.ts';

export interface ScenarioPacket { tsUs: number; spec: PacketSpec }

const T0 = 1_700_000_000_000_000;
const S = (s: number) => T0 + s * 1e6;

/** Packets in time order; `link` and `vlan` are set per capture variant. */
export function scenario(): ScenarioPacket[] {
  const p: ScenarioPacket[] = [];
  const tcp = (ts: number, src: string, sport: number, dst: string, dport: number, flags: string, payload = 0, extra: Partial<PacketSpec> = {}) =>
    p.push({ tsUs: S(ts), spec: { src, dst, proto: 'tcp', sport, dport, flags, payload: payload ? new Uint8Array(payload).fill(0x41) : undefined, window: 64240, ...extra } });
  const udp = (ts: number, src: string, sport: number, dst: string, dport: number, payload: number) =>
    p.push({ tsUs: S(ts), spec: { src, dst, proto: 'udp', sport, dport, payload: new Uint8Array(payload).fill(0x42) } });
  const C = '192.0.2.10', SV = '198.51.100.20';
  // 1. A TCP connection closed by FIN both ways, with the last ACK after the second FIN.
  tcp(0.000, C, 40001, SV, 443, 'S');
  tcp(0.020, SV, 443, C, 40001, 'SA', 0, { window: 65160 });
  tcp(0.021, C, 40001, SV, 443, 'A');
  tcp(0.022, C, 40001, SV, 443, 'PA', 300);
  tcp(0.050, SV, 443, C, 40001, 'PA', 1400);
  tcp(0.051, SV, 443, C, 40001, 'PA', 1400);
  tcp(0.052, C, 40001, SV, 443, 'A');
  tcp(2.500, C, 40001, SV, 443, 'PA', 80); // after a 2.4 s silence
  tcp(2.530, SV, 443, C, 40001, 'PA', 120);
  tcp(3.000, C, 40001, SV, 443, 'FA');
  tcp(3.020, SV, 443, C, 40001, 'FA');
  tcp(3.021, C, 40001, SV, 443, 'A');
  // 2. The same 5-tuple reused: a new SYN after the close starts a second flow.
  tcp(4.000, C, 40001, SV, 443, 'S');
  tcp(4.020, SV, 443, C, 40001, 'SA');
  tcp(4.021, C, 40001, SV, 443, 'A');
  tcp(4.100, C, 40001, SV, 443, 'PA', 50);
  // 3. A connection refused with RST.
  tcp(5.000, C, 40002, SV, 8080, 'S');
  tcp(5.010, SV, 8080, C, 40002, 'RA');
  // 4. UDP with a gap longer than the idle timeout used by the tests (60 s): two flows.
  udp(6.000, C, 5353, '203.0.113.5', 53, 40);
  udp(6.030, '203.0.113.5', 53, C, 5353, 120);
  udp(70.000, C, 5353, '203.0.113.5', 53, 40);
  // 5. ICMP echo request and reply: one flow.
  p.push({ tsUs: S(71), spec: { src: C, dst: SV, proto: 'icmp', icmpType: 8, payload: new Uint8Array(56) } });
  p.push({ tsUs: S(71.01), spec: { src: SV, dst: C, proto: 'icmp', icmpType: 0, payload: new Uint8Array(56) } });
  // 6. IPv6 TCP, open at the end of input (flushed).
  tcp(72.000, '2001:db8::1', 50000, '2001:db8::2', 80, 'S');
  tcp(72.010, '2001:db8::2', 80, '2001:db8::1', 50000, 'SA');
  tcp(72.011, '2001:db8::1', 50000, '2001:db8::2', 80, 'PA', 200);
  // 7. A flow still open at the end of input, started by the responder side's port (server-first UDP).
  udp(73.000, SV, 123, C, 123, 48);
  p.sort((a, b) => a.tsUs - b.tsUs);
  return p;
}

export function frames(link: LinkName, vlan?: number[]): { tsUs: number; data: Buffer }[] {
  return scenario().map(({ tsUs, spec }) => ({ tsUs, data: buildPacket({ ...spec, link, vlan }) }));
}
