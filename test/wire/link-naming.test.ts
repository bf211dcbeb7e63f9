import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePacket, DecodeStatus, linkTypeName, newPacketInfo, type RawFrame } from '../../src/wire/index.ts';
import { PcapWriter } from '../../src/wire/writer.ts';
import { buildPacket } from '../../src/wire/testing.ts';
import { extractFlows } from '../../src/flow/meter.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const info = newPacketInfo();

function status(bytes: Uint8Array, linkType = 1): number {
  const f: RawFrame = { tsUs: 1, capLen: bytes.length, wireLen: bytes.length, linkType, ifIndex: 0, data: bytes, offset: 0, fileOffset: 0 };
  return decodePacket(f, info);
}

const MACS = Uint8Array.from([0x01, 0x80, 0xc2, 0, 0, 0, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
const cat = (...a: Uint8Array[]) => Uint8Array.from(a.flatMap((x) => [...x]));

test('STP and other 802.2 LLC frames, ARP, LLDP and EAPOL are non-IP, not an unknown EtherType', () => {
  const stp = cat(MACS, Uint8Array.of(0x00, 0x26, 0x42, 0x42, 0x03), new Uint8Array(35));
  assert.equal(status(stp), DecodeStatus.NON_IP);
  const netbios = cat(MACS, Uint8Array.of(0x00, 0x30, 0xf0, 0xf0, 0x03), new Uint8Array(40));
  assert.equal(status(netbios), DecodeStatus.NON_IP);
  for (const et of [0x0806, 0x88cc, 0x888e, 0x88f7]) assert.equal(status(cat(MACS, Uint8Array.of(et >> 8, et & 255), new Uint8Array(46))), DecodeStatus.NON_IP, et.toString(16));
  assert.equal(status(cat(MACS, Uint8Array.of(0x12, 0x34), new Uint8Array(46))), DecodeStatus.UNKNOWN_ETHERTYPE, 'a truly unknown EtherType stays so');
  // SNAP still carries IP: LLC aa aa 03, OUI 0, EtherType 0x0800, then the IPv4 packet of a built frame.
  const ip = buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1, dport: 2, payload: new Uint8Array(4) }).subarray(14);
  const snap = cat(MACS, Uint8Array.of(0, 8 + ip.length, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00), ip);
  assert.equal(status(snap), DecodeStatus.OK);
});

test('packets of an undecoded link type are counted under its name (Frame Relay, FDDI, Token Ring, radiotap)', async () => {
  assert.equal(linkTypeName(107), 'Frame Relay');
  assert.equal(linkTypeName(10), 'FDDI');
  assert.equal(linkTypeName(6), 'Token Ring');
  assert.equal(linkTypeName(127), 'IEEE 802.11 with radiotap header');
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-lt-'));
  const file = path.join(dir, 'frelay.pcap');
  const w = new PcapWriter({ linkType: 107 });
  for (let i = 0; i < 3; i++) w.writePacket(Uint8Array.of(0x18, 0x41, 0x03, 0xcc, 0x45, 0, 0, 20), { tsUs: 1_000_000 + i });
  writeFileSync(file, w.toBuffer());
  const s = await extractFlows({ path: file }, {}, () => {});
  assert.deepEqual(s.skipped, { unknown_linktype_frame_relay: 3 });
  const r = spawnSync(process.execPath, [VEIL, 'extract', file, '-o', path.join(dir, 'f.csv')], { encoding: 'utf8' });
  assert.match(r.stderr, /not metered: unknown_linktype_frame_relay 3/);
});
