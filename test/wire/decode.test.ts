import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, decodeStatusName, DecodeStatus, formatIp, newPacketInfo, parseIp, type PacketInfo, type RawFrame } from '../../src/wire/index.ts';
import { buildPacket, linkTypeOf, tcpFlags, type PacketSpec } from '../../src/wire/testing.ts';

const info = newPacketInfo();

/** Decodes `bytes` as a frame of `linkType` placed at a non-zero offset of a larger buffer. */
function dec(bytes: Uint8Array, linkType: number, capLen = bytes.length, wireLen = bytes.length): { st: number; p: PacketInfo } {
  const pad = 7;
  const data = Buffer.alloc(pad + bytes.length + 5, 0xee); // junk around the frame must not be read
  data.set(bytes, pad);
  const f: RawFrame = { tsUs: 5, capLen, wireLen, linkType, ifIndex: 0, data, offset: pad, fileOffset: 0 };
  const st = decodePacket(f, info);
  return { st, p: info };
}

function build(spec: PacketSpec): { st: number; p: PacketInfo } {
  return dec(buildPacket(spec), linkTypeOf(spec.link ?? 'ether'));
}

function payload(p: PacketInfo): string {
  return Buffer.from(p.data.subarray(p.payloadOffset, p.payloadOffset + p.payloadCapLen)).toString();
}

const V4 = { src: '192.0.2.1', dst: '198.51.100.7' };
const V6 = { src: '2001:db8::1', dst: '2001:db8:0:1::42' };

test('TCP over IPv4 Ethernet: every field', () => {
  const { st, p } = build({ ...V4, sport: 40001, dport: 443, flags: 'PA', seq: 0xfffffff0, ack: 77, window: 1234, ttl: 57, payload: 'hello' });
  assert.equal(st, DecodeStatus.OK);
  assert.equal(p.ipVersion, 4);
  assert.equal(formatIp(p.src, 4), V4.src);
  assert.equal(formatIp(p.dst, 4), V4.dst);
  assert.deepEqual([...p.src], [0xc0000201, 0, 0, 0]);
  assert.equal(p.proto, 6);
  assert.equal(p.sport, 40001);
  assert.equal(p.dport, 443);
  assert.equal(p.tcpFlags, 0x18);
  assert.equal(p.tcpSeq, 0xfffffff0);
  assert.equal(p.tcpAck, 77);
  assert.equal(p.tcpWindow, 1234);
  assert.equal(p.ttl, 57);
  assert.equal(p.ipLen, 45);
  assert.equal(p.l4HeaderLen, 20);
  assert.equal(p.payloadLen, 5);
  assert.equal(p.payloadCapLen, 5);
  assert.equal(payload(p), 'hello');
  assert.equal(p.fragment, false);
  assert.equal(p.tsUs, 5);
});

test('TCP options move the payload: data offset 6 words', () => {
  const { st, p } = build({ ...V4, flags: 'S', tcpOptions: Uint8Array.from([2, 4, 5, 0xb4]), payload: 'x' });
  assert.equal(st, DecodeStatus.OK);
  assert.equal(p.l4HeaderLen, 24);
  assert.equal(payload(p), 'x');
});

test('tcpFlags letters', () => {
  assert.equal(tcpFlags('S'), 2);
  assert.equal(tcpFlags('SA'), 0x12);
  assert.equal(tcpFlags('FA'), 0x11);
  assert.equal(tcpFlags('R'), 4);
  assert.equal(tcpFlags('PA'), 0x18);
  assert.equal(tcpFlags('UEC'), 0xe0);
  assert.throws(() => tcpFlags('Q'));
});

test('UDP and ICMP over IPv6; ICMP type/code in the port fields', () => {
  let r = build({ ...V6, proto: 'udp', sport: 5353, dport: 53, payload: 'dns' });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.ipVersion, 6);
  assert.equal(formatIp(r.p.src, 6), '2001:db8::1');
  assert.equal(formatIp(r.p.dst, 6), '2001:db8:0:1::42');
  assert.deepEqual([...r.p.dst], [0x20010db8, 0x00000001, 0, 0x42]);
  assert.equal(r.p.proto, 17);
  assert.equal(r.p.l4HeaderLen, 8);
  assert.equal(r.p.ipLen, 40 + 8 + 3);
  assert.equal(payload(r.p), 'dns');
  r = build({ ...V6, proto: 'icmp', icmpType: 129, icmpCode: 0, payload: 'ping' });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.proto, 58);
  assert.equal(r.p.sport, 129);
  assert.equal(r.p.dport, 0);
  assert.equal(r.p.l4HeaderLen, 4);
  assert.equal(r.p.payloadLen, 4 + 4); // identifier + sequence + 'ping'
  r = build({ ...V4, proto: 'icmp', icmpType: 3, icmpCode: 13 });
  assert.equal(r.p.proto, 1);
  assert.equal(r.p.sport, 3);
  assert.equal(r.p.dport, 13);
  assert.equal(r.p.l4HeaderLen, 8);
});

test('every link type decodes IPv4 and IPv6 to the same transport fields', () => {
  for (const link of ['ether', 'sll', 'sll2', 'null', 'loop', 'raw', 'ppp', 'chdlc'] as const) {
    for (const addrs of [V4, V6]) {
      const { st, p } = build({ link, ...addrs, sport: 7, dport: 8, flags: 'A', payload: 'pl' });
      assert.equal(st, DecodeStatus.OK, `${link} ${addrs.src}`);
      assert.equal(p.sport, 7);
      assert.equal(p.dport, 8);
      assert.equal(formatIp(p.src, p.ipVersion), addrs.src);
      assert.equal(payload(p), 'pl');
    }
  }
});

test('raw IP link types 12, 14, 228, 229 and 101', () => {
  const v4 = buildPacket({ link: 'raw', ...V4, proto: 'udp' });
  const v6 = buildPacket({ link: 'raw', ...V6, proto: 'udp' });
  for (const lt of [12, 14, 101]) {
    assert.equal(dec(v4, lt).st, DecodeStatus.OK);
    assert.equal(dec(v6, lt).p.ipVersion, 6);
  }
  assert.equal(dec(v4, 228).st, DecodeStatus.OK);
  assert.equal(dec(v6, 229).st, DecodeStatus.OK);
  assert.equal(dec(v6, 228).st, DecodeStatus.BAD_IP, 'IPv6 bytes under LINKTYPE_IPV4');
  assert.equal(dec(v4, 229).st, DecodeStatus.BAD_IP);
});

test('BSD null in either host byte order and every IPv6 address family value', () => {
  const ip6 = buildPacket({ link: 'raw', ...V6 });
  const ip4 = buildPacket({ link: 'raw', ...V4 });
  for (const af of [24, 28, 30, 10]) {
    for (const le of [true, false]) {
      const h = Buffer.alloc(4);
      if (le) h.writeUInt32LE(af);
      else h.writeUInt32BE(af);
      assert.equal(dec(Buffer.concat([h, ip6]), 0).p.ipVersion, 6, `af ${af} ${le ? 'le' : 'be'}`);
    }
  }
  const be2 = Buffer.from([0, 0, 0, 2]);
  assert.equal(dec(Buffer.concat([be2, ip4]), 0).st, DecodeStatus.OK);
  assert.equal(dec(Buffer.concat([be2, ip4]), 108).st, DecodeStatus.OK);
  assert.equal(dec(Buffer.concat([Buffer.from([7, 0, 0, 0]), ip4]), 0).st, DecodeStatus.UNKNOWN_ETHERTYPE);
});

test('PPP with and without address/control, 1-byte protocol, and Cisco HDLC frames in PPP files', () => {
  const ip4 = buildPacket({ link: 'raw', ...V4, proto: 'udp' });
  const ip6 = buildPacket({ link: 'raw', ...V6, proto: 'udp' });
  for (const lt of [9, 50]) {
    assert.equal(dec(Buffer.concat([Buffer.from([0xff, 0x03, 0x00, 0x21]), ip4]), lt).st, DecodeStatus.OK);
    assert.equal(dec(Buffer.concat([Buffer.from([0x00, 0x57]), ip6]), lt).p.ipVersion, 6);
    assert.equal(dec(Buffer.concat([Buffer.from([0x21]), ip4]), lt).st, DecodeStatus.OK, 'protocol field compression');
    assert.equal(dec(Buffer.concat([Buffer.from([0x0f, 0x00, 0x08, 0x00]), ip4]), lt).st, DecodeStatus.OK, 'Cisco HDLC');
    assert.equal(dec(Buffer.from([0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]), lt).st, DecodeStatus.NON_IP, 'LCP (a PPP control protocol, not IP)');
  }
  assert.equal(dec(Buffer.concat([Buffer.from([0x8f, 0x00, 0x86, 0xdd]), ip6]), 104).p.ipVersion, 6);
  assert.equal(dec(Buffer.from([0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 0]), 104).st, DecodeStatus.NON_IP, 'SLARP');
});

test('802.1Q, QinQ (0x88a8 + 0x8100), 0x9100 stacks, MPLS, PPPoE and LLC/SNAP reach the IP header', () => {
  for (const spec of [
    { vlan: [10] }, { vlan: [10, 20] }, { vlan: [1, 2, 3] }, { mpls: [100] }, { mpls: [100, 200, 300] },
    { vlan: [5], mpls: [16] }, { pppoe: 0x1234 },
  ] as Partial<PacketSpec>[]) {
    for (const addrs of [V4, V6]) {
      const { st, p } = build({ ...spec, ...addrs, sport: 11, dport: 12, payload: 'vv' });
      assert.equal(st, DecodeStatus.OK, JSON.stringify(spec));
      assert.equal(p.sport, 11);
      assert.equal(payload(p), 'vv');
    }
  }
  const qinq = buildPacket({ vlan: [1, 2], ...V4 });
  assert.equal(qinq.readUInt16BE(12), 0x88a8);
  assert.equal(qinq.readUInt16BE(16), 0x8100);
  const t9100 = Buffer.from(qinq);
  t9100.writeUInt16BE(0x9100, 12);
  assert.equal(dec(t9100, 1).st, DecodeStatus.OK);
  // 802.3 length field + LLC/SNAP header carrying IPv4
  const ip = buildPacket({ link: 'raw', ...V4 });
  const snap = Buffer.concat([Buffer.alloc(12), Buffer.from([0, ip.length + 8, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]), ip]);
  assert.equal(dec(snap, 1).st, DecodeStatus.OK);
  const stp = Buffer.concat([Buffer.alloc(12), Buffer.from([0, 38, 0x42, 0x42, 0x03]), Buffer.alloc(35)]);
  assert.equal(dec(stp, 1).st, DecodeStatus.NON_IP, 'spanning tree LLC: not IP, and not an unknown EtherType');
});

test('non-IP EtherTypes and unknown link types: status, addresses cleared', () => {
  build({ ...V4 }); // leave addresses in the reused object
  const arp = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
  let r = dec(arp, 1);
  assert.equal(r.st, DecodeStatus.NON_IP);
  assert.equal(r.p.ipVersion, 0);
  assert.deepEqual([...r.p.src, ...r.p.dst], [0, 0, 0, 0, 0, 0, 0, 0]);
  const lldp = Buffer.concat([Buffer.alloc(12), Buffer.from([0x88, 0xcc]), Buffer.alloc(30)]);
  assert.equal(dec(lldp, 1).st, DecodeStatus.NON_IP);
  assert.equal(dec(Buffer.concat([Buffer.alloc(12), Buffer.from([0x12, 0x34]), Buffer.alloc(30)]), 1).st, DecodeStatus.UNKNOWN_ETHERTYPE);
  r = dec(buildPacket({ ...V4 }), 127); // radiotap
  assert.equal(r.st, DecodeStatus.UNKNOWN_LINKTYPE);
  assert.equal(decodeStatusName(r.st), 'UNKNOWN_LINKTYPE');
  assert.equal(decodeStatusName(99), 'STATUS_99');
});

test('IPv4 fragments: the first is decoded and flagged, later ones are NON_FIRST_FRAGMENT with addresses', () => {
  let r = build({ ...V4, proto: 'udp', sport: 1, dport: 2, payload: 'a'.repeat(16), fragment: { more: true, id: 9 } });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.fragment, true);
  assert.equal(r.p.sport, 1);
  r = build({ ...V4, proto: 'udp', payload: 'b'.repeat(16), fragment: { offset: 24, more: true } });
  assert.equal(r.st, DecodeStatus.NON_FIRST_FRAGMENT);
  assert.equal(r.p.proto, 17);
  assert.equal(formatIp(r.p.src, 4), V4.src);
  assert.equal(r.p.sport, 0);
  r = build({ ...V4, proto: 'tcp', payload: 'c'.repeat(8), fragment: { offset: 1480, more: false } });
  assert.equal(r.st, DecodeStatus.NON_FIRST_FRAGMENT, 'last fragment');
  r = build({ ...V4, sport: 3 });
  assert.equal(r.p.fragment, false, 'DF set, not a fragment');
});

test('IPv6 extension headers are walked to the transport; fragment header first / later', () => {
  let r = build({ ...V6, ipv6Ext: [0, 60, 43, 135, 139, 140, 51], sport: 80, dport: 8080, payload: 'ext' });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.proto, 6);
  assert.equal(r.p.sport, 80);
  assert.equal(payload(r.p), 'ext');
  assert.equal(r.p.payloadLen, 3);
  r = build({ ...V6, ipv6Ext: [0], proto: 'udp', fragment: { more: true }, sport: 53, dport: 53, payload: 'frag' });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.fragment, true);
  assert.equal(r.p.proto, 17);
  assert.equal(r.p.sport, 53);
  r = build({ ...V6, proto: 'udp', fragment: { offset: 1232 }, payload: 'rest' });
  assert.equal(r.st, DecodeStatus.NON_FIRST_FRAGMENT);
  assert.equal(r.p.proto, 17);
  assert.equal(formatIp(r.p.dst, 6), V6.dst);
  r = build({ ...V6, proto: 59 }); // No Next Header
  assert.equal(r.st, DecodeStatus.OTHER_L4);
  assert.equal(r.p.proto, 59);
});

test('IP-in-IP (4in4, 6in4, 4in6, 6in6, nested) decodes to the innermost packet', () => {
  const outer4 = { src: '203.0.113.1', dst: '203.0.113.2' };
  const outer6 = { src: 'fd00::a', dst: 'fd00::b' };
  for (const inner of [V4, V6]) {
    for (const tunnel of [[outer4], [outer6], [outer4, outer6], [outer6, outer4, outer4]]) {
      const { st, p } = build({ ...inner, tunnel, sport: 99, dport: 100, payload: 'in' });
      assert.equal(st, DecodeStatus.OK);
      assert.equal(formatIp(p.src, p.ipVersion), inner.src);
      assert.equal(p.proto, 6);
      assert.equal(p.sport, 99);
      assert.equal(payload(p), 'in');
      assert.equal(p.ipLen, (inner === V4 ? 20 : 40) + 20 + 2, 'ipLen is the inner packet');
    }
  }
});

test('GTP-U (UDP 2152) G-PDUs decode to the user packet; other GTP traffic stays UDP', () => {
  let r = build({ ...V6, proto: 'udp', sport: 4444, dport: 53, payload: 'q', tunnel: [{ src: '10.0.0.1', dst: '10.0.0.2', gtpu: { teid: 5 } }] });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.ipVersion, 6);
  assert.equal(r.p.sport, 4444);
  assert.equal(payload(r.p), 'q');
  // GTP-U echo request (message type 1), not a G-PDU: the outer UDP flow.
  const echo = build({ ...V4, proto: 'udp', sport: 2152, dport: 2152, payload: Buffer.from([0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]) });
  assert.equal(echo.st, DecodeStatus.OK);
  assert.equal(echo.p.sport, 2152);
  // G-PDU with sequence number flag and one extension header (PDU session container, type 0x85).
  const inner = buildPacket({ link: 'raw', ...V4, proto: 'udp', sport: 1, dport: 2 });
  const gtp = Buffer.concat([
    Buffer.from([0x34, 0xff, 0, inner.length + 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x01, 0x00]), inner,
  ]);
  r = build({ src: '10.9.9.9', dst: '10.8.8.8', proto: 'udp', sport: 2152, dport: 2152, payload: gtp });
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(formatIp(r.p.src, 4), V4.src);
  assert.equal(r.p.dport, 2);
});

test('a G-PDU cut inside its GTP header falls back to the outer UDP flow', () => {
  const full = buildPacket({ ...V4, proto: 'udp', payload: 'abc', tunnel: [{ src: '1.1.1.1', dst: '2.2.2.2', gtpu: true }] });
  const r = dec(full, 1, 14 + 20 + 8 + 5);
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(formatIp(r.p.src, 4), '1.1.1.1');
  assert.equal(r.p.dport, 2152);
  assert.equal(dec(full, 1, 14 + 20 + 8 + 8 + 10).st, DecodeStatus.TRUNCATED, 'cut inside the inner IP header');
});

test('other transports are OTHER_L4 with ports 0 and addresses filled', () => {
  const { st, p } = build({ ...V4, proto: 47, payload: 'gre!' });
  assert.equal(st, DecodeStatus.OTHER_L4);
  assert.equal(p.proto, 47);
  assert.equal(p.sport, 0);
  assert.equal(formatIp(p.dst, 4), V4.dst);
  assert.equal(p.payloadLen, 4);
  assert.equal(payload(p), 'gre!');
});

test('every truncation of a frame yields TRUNCATED or a consistent partial payload, never an exception', () => {
  for (const spec of [
    { ...V4, vlan: [7], payload: 'abcdef' }, { ...V6, ipv6Ext: [0, 44], payload: 'abcdef' },
    { link: 'sll2', ...V6, proto: 'icmp', payload: 'abcdef' }, { link: 'ppp', ...V4, mpls: [], payload: 'abcdef' },
    { link: 'null', ...V6, tunnel: [{ src: '9.9.9.9', dst: '8.8.8.8' }], payload: 'abcdef' },
  ] as PacketSpec[]) {
    const full = buildPacket(spec);
    const lt = linkTypeOf(spec.link ?? 'ether');
    const whole = dec(full, lt);
    assert.equal(whole.st, DecodeStatus.OK);
    const plen = whole.p.payloadLen;
    const hdr = full.length - plen;
    for (let cap = 0; cap < full.length; cap++) {
      const r = dec(full, lt, cap, full.length);
      if (cap < hdr) assert.equal(r.st, DecodeStatus.TRUNCATED, `${spec.link ?? 'ether'} cut at ${cap}`);
      else {
        assert.equal(r.st, DecodeStatus.OK, `cut at ${cap}`);
        assert.equal(r.p.payloadLen, plen, 'payload length per IP header');
        assert.equal(r.p.payloadCapLen, cap - hdr, 'captured payload');
      }
    }
  }
});

test('Ethernet padding is not payload; a snaplen-cut packet keeps its IP lengths', () => {
  const f = buildPacket({ ...V4, flags: 'A' }); // 54 bytes
  const padded = Buffer.concat([f, Buffer.alloc(6, 0xaa)]);
  let r = dec(padded, 1);
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.ipLen, 40);
  assert.equal(r.p.payloadLen, 0);
  assert.equal(r.p.payloadCapLen, 0);
  const big = buildPacket({ ...V4, payload: 'z'.repeat(1000) });
  r = dec(big, 1, 96, big.length);
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.payloadLen, 1000);
  assert.equal(r.p.payloadCapLen, 96 - 54);
  assert.equal(r.p.ipLen, 20 + 20 + 1000, 'the IP length, not the snap length, is the packet size');
  assert.equal(r.p.wireLen, big.length);
  // A length field claiming more than the frame held on the wire is held to the wire length.
  const liar = buildPacket({ ...V4, payload: 'z'.repeat(100), ipLenOverride: 4000 });
  r = dec(liar, 1, 96, liar.length);
  assert.equal(r.p.ipLen, liar.length - 14);
});

test('IPv4 total length 0 (segmentation offload) uses the captured length', () => {
  const f = buildPacket({ ...V4, payload: 'tso', ipLenOverride: 0 });
  const r = dec(f, 1);
  assert.equal(r.st, DecodeStatus.OK);
  assert.equal(r.p.payloadLen, 3);
});

test('malformed headers: BAD_IP and BAD_L4', () => {
  const f = buildPacket({ ...V4 });
  const v5 = Buffer.from(f);
  v5[14] = 0x55;
  assert.equal(dec(v5, 1).st, DecodeStatus.BAD_IP, 'version 5');
  const ihl = Buffer.from(f);
  ihl[14] = 0x44;
  assert.equal(dec(ihl, 1).st, DecodeStatus.BAD_IP, 'IHL 4');
  assert.equal(dec(buildPacket({ ...V4, ipLenOverride: 10 }), 1).st, DecodeStatus.BAD_IP, 'total length below IHL');
  const doff = Buffer.from(f);
  doff[14 + 20 + 12] = 0x40;
  assert.equal(dec(doff, 1).st, DecodeStatus.BAD_L4, 'TCP data offset 4');
  const v6in4 = Buffer.from(buildPacket({ ...V6 }));
  v6in4.writeUInt16BE(0x0800, 12);
  assert.equal(dec(v6in4, 1).st, DecodeStatus.BAD_IP, 'EtherType IPv4 carrying IPv6');
  assert.equal(dec(buildPacket({ ...V6, ipv6Ext: [0], ipLenOverride: 4 }), 1).st, DecodeStatus.BAD_IP, 'ext header past the payload length');
});

test('the reused PacketInfo never leaks fields from the previous packet', () => {
  build({ ...V6, sport: 1, dport: 2, flags: 'SA', payload: 'x', fragment: { more: true } });
  const { p } = build({ ...V4, proto: 'udp', sport: 3, dport: 4 });
  assert.deepEqual([...p.src].slice(1), [0, 0, 0]);
  assert.equal(p.tcpFlags, 0);
  assert.equal(p.tcpSeq, 0);
  assert.equal(p.fragment, false);
  assert.equal(p.payloadCapLen, 0);
});

test('parseIp / formatIp round trips, RFC 5952 compression', () => {
  for (const a of ['0.0.0.0', '255.255.255.255', '10.1.2.3', '::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '1::', '1:0:0:2::3']) {
    const { version, words } = parseIp(a);
    assert.equal(formatIp(words, version), a);
  }
  assert.equal(formatIp(parseIp('::ffff:1.2.3.4').words, 6), '::ffff:102:304');
  for (const bad of ['1.2.3', '1.2.3.256', '1:2:3', '1::2::3', 'x::1', '']) assert.throws(() => parseIp(bad), bad);
});
