import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkType } from '../../src/wire/index.ts';
import { PcapngWriter, PcapWriter, type ByteOrder } from '../../src/wire/writer.ts';
import { buildPacket, linkTypeOf, type PacketSpec } from '../../src/wire/testing.ts';
import { execFileSync } from 'node:child_process';
import { collect, decodeAll, have, oneChunk, tempDir, type Frame } from './util.ts';

const T0 = 1_700_000_000_000_000;

/** A varied set of frames (Ethernet): TCP handshake, UDP, ICMP, IPv6, VLAN; sizes 54..1514. */
function frames(): Buffer[] {
  const specs: PacketSpec[] = [
    { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, flags: 'S', seq: 100 },
    { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000, flags: 'SA', seq: 900, ack: 101 },
    { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, flags: 'PA', payload: new Uint8Array(1460).fill(7) },
    { src: '192.168.1.5', dst: '8.8.8.8', proto: 'udp', sport: 5353, dport: 53, payload: 'abc' },
    { src: '2001:db8::1', dst: '2001:db8::2', proto: 'icmp', icmpType: 128 },
    { vlan: [42], src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, flags: 'FA', payload: 'x' },
  ];
  return specs.map((s) => buildPacket(s));
}

/** Frames equal in everything the reader reports except their position in the file. */
function sameFrames(got: Frame[], want: Omit<Frame, 'fileOffset'>[]): void {
  assert.equal(got.length, want.length, 'frame count');
  got.forEach((g, i) => {
    const w = want[i]!;
    assert.deepEqual(
      { tsUs: g.tsUs, capLen: g.capLen, wireLen: g.wireLen, linkType: g.linkType, ifIndex: g.ifIndex, bytes: g.bytes.toString('hex') },
      { tsUs: w.tsUs, capLen: w.capLen, wireLen: w.wireLen, linkType: w.linkType, ifIndex: w.ifIndex, bytes: w.bytes.toString('hex') },
      `frame ${i}`,
    );
  });
}

for (const byteOrder of ['le', 'be'] as ByteOrder[]) {
  for (const nanosecond of [false, true]) {
    test(`pcap ${byteOrder} ${nanosecond ? 'ns' : 'µs'}: frames read back identical`, async () => {
      const w = new PcapWriter({ byteOrder, nanosecond, linkType: LinkType.ETHERNET });
      const want: Omit<Frame, 'fileOffset'>[] = [];
      frames().forEach((bytes, i) => {
        // Sub-µs parts survive only in nanosecond files; .25/.5/.75 are exact in float64 at this magnitude.
        const tsUs = T0 + i * 1_234_567 + (nanosecond ? (i % 4) * 0.25 : 0);
        w.writePacket(bytes, { tsUs });
        want.push({ tsUs, capLen: bytes.length, wireLen: bytes.length, linkType: 1, ifIndex: 0, bytes });
      });
      const { frames: got, summary } = await collect({ stream: oneChunk(w.toBuffer()), name: 'mem.pcap' });
      assert.equal(summary.error, null);
      assert.equal(summary.format, 'pcap');
      assert.deepEqual(summary.linkTypes, [1]);
      sameFrames(got, want);
    });
  }
}

test('pcap snaplen cuts frames: capLen = snaplen, wireLen = full length', async () => {
  const w = new PcapWriter({ snaplen: 64 });
  const big = frames()[2]!;
  w.writePacket(big, { tsUs: T0 });
  const { frames: got, summary } = await collect({ stream: oneChunk(w.toBuffer()), name: 'snap.pcap' });
  assert.equal(summary.error, null);
  assert.equal(got[0]!.capLen, 64);
  assert.equal(got[0]!.wireLen, big.length);
  assert.deepEqual(got[0]!.bytes, big.subarray(0, 64));
});

/** tsUs values that a resolution represents exactly (so a round trip must return them bit for bit). */
function stampsFor(tsresol: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const sec = 1_700_000_000 + i * 3;
    if (tsresol & 0x80) {
      const k = tsresol & 0x7f;
      const ticks = (i * 123457) % 2 ** k;
      out.push(sec * 1e6 + (ticks * 1e6) / 2 ** k); // same formula as the reader
    } else if (tsresol <= 6) {
      out.push(sec * 1e6 + ((i * 7919) % 1000) * 10 ** (6 - tsresol));
    } else {
      out.push(sec * 1e6 + ((i * 7919) % 1_000_000) + (i % 4) * 0.25);
    }
  }
  return out;
}

for (const byteOrder of ['le', 'be'] as ByteOrder[]) {
  for (const tsresol of [3, 6, 9, 0x80 | 20]) {
    const name = tsresol & 0x80 ? `2^-${tsresol & 0x7f}` : `10^-${tsresol}`;
    test(`pcapng ${byteOrder} if_tsresol ${name}: EPB frames read back identical`, async () => {
      const w = new PcapngWriter({ byteOrder, interfaces: [{ linkType: 1, tsresol }] });
      const stamps = stampsFor(tsresol, 6);
      const want: Omit<Frame, 'fileOffset'>[] = [];
      frames().forEach((bytes, i) => {
        w.writePacket(bytes, { tsUs: stamps[i]! });
        want.push({ tsUs: stamps[i]!, capLen: bytes.length, wireLen: bytes.length, linkType: 1, ifIndex: 0, bytes });
      });
      const { frames: got, summary } = await collect({ stream: oneChunk(w.toBuffer()), name: 'mem.pcapng' });
      assert.equal(summary.error, null);
      assert.equal(summary.format, 'pcapng');
      sameFrames(got, want);
    });
  }
}

test('pcapng multi-interface: each interface keeps its link type and resolution; EPB, OPB and SPB', async () => {
  for (const byteOrder of ['le', 'be'] as ByteOrder[]) {
    const w = new PcapngWriter({ byteOrder, application: 'veil tests' });
    const ifs = [
      w.addInterface({ linkType: LinkType.ETHERNET, tsresol: 9, name: 'eth0' }),
      w.addInterface({ linkType: LinkType.LINUX_SLL, tsresol: 6 }),
      w.addInterface({ linkType: LinkType.RAW, tsresol: 0x80 | 20 }),
      w.addInterface({ linkType: LinkType.NULL, tsresol: 3, tsoffset: 1000 }),
    ];
    const links = ['ether', 'sll', 'raw', 'null'] as const;
    const want: Omit<Frame, 'fileOffset'>[] = [];
    let lastTs = 0;
    for (let i = 0; i < 12; i++) {
      const k = i % 4;
      const bytes = buildPacket({ link: links[k], src: '10.1.0.1', dst: '10.1.0.2', proto: 'udp', sport: 1000 + i, dport: 53, payload: 'q'.repeat(i) });
      const tsUs = k === 2 ? stampsFor(0x80 | 20, 12)[i]! : k === 3 ? 1_700_000_000_123_000 + i * 1000 : T0 + i * 1000 + (k === 0 ? 0.5 : 0);
      const block = i === 5 ? 'opb' : 'epb';
      w.writePacket(bytes, { iface: ifs[k]!, tsUs, block, comment: i === 1 ? 'a comment' : undefined });
      want.push({ tsUs, capLen: bytes.length, wireLen: bytes.length, linkType: linkTypeOf(links[k]!), ifIndex: k, bytes });
      lastTs = tsUs;
    }
    // A Simple Packet Block has no timestamp or interface: interface 0, and the reader repeats the last timestamp.
    const spb = buildPacket({ src: '10.1.0.1', dst: '10.1.0.2', sport: 9, dport: 9 });
    w.writePacket(spb, { block: 'spb' });
    want.push({ tsUs: lastTs, capLen: spb.length, wireLen: spb.length, linkType: 1, ifIndex: 0, bytes: spb });
    // Blocks the reader must skip: NRB (4), ISB (5), DSB (10), custom (0x40000BAD).
    w.writeBlock(4, Buffer.alloc(4));
    w.writeBlock(5, Buffer.alloc(12));
    w.writeBlock(10, Buffer.alloc(9));
    w.writeBlock(0x40000bad, Buffer.from('custom data'));
    const { frames: got, summary } = await collect({ stream: oneChunk(w.toBuffer()), name: 'multi.pcapng' });
    assert.equal(summary.error, null, byteOrder);
    assert.deepEqual(summary.linkTypes, [1, 113, 101, 0]);
    sameFrames(got, want);
  }
});

test('pcapng with two sections of opposite byte order: interfaces restart per section', async () => {
  const a = new PcapngWriter({ byteOrder: 'le', interfaces: [{ linkType: 1 }] });
  const b = new PcapngWriter({ byteOrder: 'be', interfaces: [{ linkType: 113, tsresol: 9 }, { linkType: 1 }] });
  const fa = buildPacket({ src: '1.1.1.1', dst: '2.2.2.2' });
  const fb = buildPacket({ link: 'sll', src: '3.3.3.3', dst: '4.4.4.4' });
  a.writePacket(fa, { tsUs: T0 });
  b.writePacket(fb, { tsUs: T0 + 1, iface: 0 });
  b.writePacket(fa, { tsUs: T0 + 2, iface: 1 });
  const { frames: got, summary } = await collect({ stream: oneChunk(Buffer.concat([a.toBuffer(), b.toBuffer()])), name: 'two.pcapng' });
  assert.equal(summary.error, null);
  sameFrames(got, [
    { tsUs: T0, capLen: fa.length, wireLen: fa.length, linkType: 1, ifIndex: 0, bytes: fa },
    { tsUs: T0 + 1, capLen: fb.length, wireLen: fb.length, linkType: 113, ifIndex: 0, bytes: fb },
    { tsUs: T0 + 2, capLen: fa.length, wireLen: fa.length, linkType: 1, ifIndex: 1, bytes: fa },
  ]);
});

test('pcapng interface snaplen cuts EPB data and limits SPB capture length', async () => {
  const w = new PcapngWriter({ interfaces: [{ linkType: 1, snaplen: 60 }] });
  const big = frames()[2]!;
  w.writePacket(big, { tsUs: T0 });
  w.writePacket(big, { block: 'spb' });
  const { frames: got, summary } = await collect({ stream: oneChunk(w.toBuffer()), name: 'snap.pcapng' });
  assert.equal(summary.error, null);
  for (const f of got) {
    assert.equal(f.capLen, 60);
    assert.equal(f.wireLen, big.length);
    assert.deepEqual(f.bytes, big.subarray(0, 60));
  }
});

test('the same frames as pcap and as pcapng decode identically', async () => {
  const specs: [PacketSpec, number][] = [];
  for (const link of ['ether', 'sll', 'sll2', 'null', 'loop', 'raw', 'ppp', 'chdlc'] as const) {
    specs.push([{ link, src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 443, flags: 'PA', payload: 'hello' }, linkTypeOf(link)]);
    specs.push([{ link, src: 'fe80::1', dst: 'fe80::2', proto: 'udp', sport: 5, dport: 6, payload: 'v6' }, linkTypeOf(link)]);
  }
  for (const nanosecond of [false, true]) {
    for (let i = 0; i < specs.length; i++) {
      const [spec, lt] = specs[i]!;
      const bytes = buildPacket(spec);
      const tsUs = T0 + i * 1000;
      const p = new PcapWriter({ linkType: lt, nanosecond });
      p.writePacket(bytes, { tsUs });
      const n = new PcapngWriter({ byteOrder: 'be', interfaces: [{ linkType: lt, tsresol: nanosecond ? 9 : 6 }] });
      n.writePacket(bytes, { tsUs });
      const a = await decodeAll({ stream: oneChunk(p.toBuffer()), name: 'a.pcap' });
      const b = await decodeAll({ stream: oneChunk(n.toBuffer()), name: 'b.pcapng' });
      assert.equal(a.length, 1);
      assert.deepEqual(a, b, `${spec.link} ${spec.src}`);
      assert.equal(a[0]!.status, 0, `${spec.link} ${spec.src} decodes OK`);
    }
  }
});

test('writers stream to a file and the file reads back like the buffer', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const pw = new PcapWriter({ file: `${dir}/a.pcap`, nanosecond: true });
    const nw = new PcapngWriter({ file: `${dir}/a.pcapng`, interfaces: [{ linkType: 1 }] });
    const mem = new PcapWriter({ nanosecond: true });
    for (const f of frames()) {
      pw.writePacket(f);
      nw.writePacket(f);
      mem.writePacket(f);
    }
    pw.close();
    nw.close();
    const a = await collect({ path: `${dir}/a.pcap` });
    const b = await collect({ path: `${dir}/a.pcapng` });
    const c = await collect({ stream: oneChunk(mem.toBuffer()), name: 'mem' });
    assert.equal(a.summary.totalBytes, mem.length);
    assert.deepEqual(a.frames, c.frames);
    assert.deepEqual(b.frames.map((f) => f.bytes), c.frames.map((f) => f.bytes));
    assert.deepEqual(b.frames.map((f) => f.tsUs), c.frames.map((f) => f.tsUs));
  } finally {
    cleanup();
  }
});


test('tshark reads our writers\' files the same way (frames, interfaces, times, addresses, ports)', { skip: have('tshark') ? false : 'tshark not installed' }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ng = new PcapngWriter({ byteOrder: 'be', file: `${dir}/w.pcapng`, interfaces: [
      { linkType: LinkType.ETHERNET, tsresol: 9 }, { linkType: LinkType.LINUX_SLL2 }, { linkType: LinkType.NULL, tsresol: 0x80 | 20 },
    ] });
    const pc = new PcapWriter({ byteOrder: 'be', nanosecond: true, linkType: LinkType.LINUX_SLL, file: `${dir}/w.pcap` });
    const specs: PacketSpec[] = [
      { vlan: [3, 4], src: '10.0.0.1', dst: '10.0.0.2', sport: 1111, dport: 443, flags: 'S' },
      { link: 'sll2', src: '2001:db8::5', dst: '2001:db8::6', proto: 'udp', sport: 2222, dport: 53, payload: 'q' },
      { link: 'null', src: '127.0.0.1', dst: '127.0.0.1', sport: 3333, dport: 80, flags: 'PA', payload: 'GET /' },
    ];
    const stamps = [T0 + 0.5, T0 + 1000, T0 + (2048 * 1e6) / 2 ** 20]; // the last one exact at 2^-20 s
    specs.forEach((s, i) => ng.writePacket(buildPacket(s), { iface: i, tsUs: stamps[i] }));
    pc.writePacket(buildPacket({ link: 'sll', src: '10.1.1.1', dst: '10.1.1.2', proto: 'udp', sport: 4444, dport: 5555, payload: 'x' }), { tsUs: T0 + 0.25 });
    ng.close();
    pc.close();
    const fields = (file: string): string[] => execFileSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,',
      '-e', 'frame.interface_id', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', '_ws.col.Source', '-e', '_ws.col.Destination',
      '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tcp.dstport', '-e', 'udp.dstport'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().trim().split('\n');
    const lens = specs.map((s) => buildPacket(s).length);
    assert.deepEqual(fields(`${dir}/w.pcapng`), [
      `0,1700000000.000000500,${lens[0]},10.0.0.1,10.0.0.2,1111,,443,`,
      `1,1700000000.001000000,${lens[1]},2001:db8::5,2001:db8::6,,2222,,53`,
      `2,1700000000.001953125,${lens[2]},127.0.0.1,127.0.0.1,3333,,80,`,
    ]);
    // pcap has no interface id: tshark leaves the field empty.
    assert.deepEqual(fields(`${dir}/w.pcap`), [`,1700000000.000000250,${16 + 20 + 8 + 1},10.1.1.1,10.1.1.2,,4444,,5555`]);
  } finally {
    cleanup();
  }
});
