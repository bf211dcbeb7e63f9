import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decodePacket, decodeStatusName, formatIp, newPacketInfo, readCapture } from '../../src/wire/index.ts';
import { FIXTURES } from './util.ts';

/**
 * The committed real captures (see test/fixtures/wire/NOTICE). Every expected value below was derived once from
 * tshark 4.0.17, not from our own reader:
 *   tshark -n -r FILE -T fields -E occurrence=l -e frame.len -e frame.cap_len -e _ws.col.Source
 *     -e _ws.col.Destination -e tcp.srcport -e udp.srcport -e tcp.dstport -e udp.dstport -e frame.interface_id
 *     -e frame.time_epoch
 * aggregated into frame count, byte sum, first/last timestamp, frames per interface and frames per
 * "proto src:sport>dst:dport" (the innermost addresses, as Wireshark's Source/Destination columns show them).
 */
interface Expected {
  format: 'pcap' | 'pcapng';
  linkTypes: number[];
  frames: number;
  wireBytes: number;
  firstTs: number; // frame.time_epoch * 1e6
  lastTs: number;
  perIface: Record<number, number>;
  flows: Record<string, number>;
}

const EXPECTED: Record<string, Expected> = {
  'nats.pcap': {
    format: 'pcap', linkTypes: [0], frames: 27, wireBytes: 2460,
    firstTs: 1586288040558498, lastTs: 1586288042776134, perIface: { 0: 27 },
    flows: {
      'tcp 127.0.0.1:4222>127.0.0.1:54820': 6, 'tcp 127.0.0.1:4222>127.0.0.1:54821': 7,
      'tcp 127.0.0.1:54820>127.0.0.1:4222': 7, 'tcp 127.0.0.1:54821>127.0.0.1:4222': 7,
    },
  },
  'http2.pcapng': {
    format: 'pcapng', linkTypes: [113], frames: 10, wireBytes: 1271,
    firstTs: 1591863460344658.428, lastTs: 1591863460348007.941, perIface: { 0: 10 },
    flows: { 'tcp 127.0.0.1:29518>127.0.0.1:37824': 6, 'tcp 127.0.0.1:37824>127.0.0.1:29518': 4 },
  },
  'BGP_redist.pcap': {
    format: 'pcap', linkTypes: [104], frames: 2, wireBytes: 322,
    firstTs: 1256636836167156, lastTs: 1256636836167195, perIface: { 0: 2 },
    flows: { 'tcp 2.2.2.2:179>4.4.4.4:63535': 1, 'tcp 2.2.2.2:179>5.5.5.5:49433': 1 },
  },
  'ipoipoip.pcap': {
    format: 'pcap', linkTypes: [228], frames: 2, wireBytes: 148,
    firstTs: 1649694563067453, lastTs: 1649694684714843, perIface: { 0: 2 },
    flows: { 'tcp 9.9.9.9:20>9.9.9.9:80': 1, 'udp 10.10.10.10:53>100.100.100.100:53': 1 },
  },
  'many_interfaces.pcapng': {
    format: 'pcapng', linkTypes: [1, 0, 12], frames: 64, wireBytes: 15954,
    firstTs: 1439753725701607, lastTs: 1439753728292345, perIface: { 0: 62, 10: 2 },
    flows: {
      'tcp 192.168.1.139:50981>74.125.228.227:443': 17, 'tcp 192.168.1.139:50982>74.125.228.227:443': 3,
      'tcp 74.125.228.227:443>192.168.1.139:50981': 11, 'tcp 74.125.228.227:443>192.168.1.139:50982': 1,
      'udp 17.253.12.253:123>192.168.1.139:123': 1, 'udp 173.194.204.189:443>192.168.1.139:52425': 2,
      'udp 192.168.1.139:123>17.253.12.253:123': 1, 'udp 192.168.1.139:17500>192.168.1.255:17500': 2,
      'udp 192.168.1.139:17500>255.255.255.255:17500': 2, 'udp 192.168.1.139:39276>192.168.1.1:53': 1,
      'udp 192.168.1.139:49748>192.168.1.1:53': 1, 'udp 192.168.1.139:50455>192.168.1.1:53': 1,
      'udp 192.168.1.139:50989>173.194.121.54:443': 1, 'udp 192.168.1.139:51752>192.168.1.1:53': 1,
      'udp 192.168.1.139:52230>192.168.1.1:53': 1, 'udp 192.168.1.139:52425>173.194.204.189:443': 1,
      'udp 192.168.1.139:61638>192.168.1.1:53': 1, 'udp 192.168.1.139:64144>74.125.228.227:443': 6,
      'udp 192.168.1.139:65057>192.168.1.1:53': 1, 'udp 192.168.1.1:53>192.168.1.139:39276': 1,
      'udp 192.168.1.1:53>192.168.1.139:49748': 1, 'udp 192.168.1.1:53>192.168.1.139:50455': 1,
      'udp 192.168.1.1:53>192.168.1.139:51752': 1, 'udp 192.168.1.1:53>192.168.1.139:52230': 1,
      'udp 192.168.1.1:53>192.168.1.139:61638': 1, 'udp 192.168.1.1:53>192.168.1.139:65057': 1,
      'udp 74.125.228.227:443>192.168.1.139:64144': 2,
    },
  },
};

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`${name} reads and decodes as tshark shows it`, async () => {
    const info = newPacketInfo();
    const statuses: Record<string, number> = {};
    const perIface: Record<number, number> = {};
    const flows: Record<string, number> = {};
    const stamps: number[] = [];
    let wireBytes = 0;
    const s = await readCapture({ path: path.join(FIXTURES, name) }, (f) => {
      const st = decodePacket(f, info);
      const k = decodeStatusName(st);
      statuses[k] = (statuses[k] ?? 0) + 1;
      perIface[f.ifIndex] = (perIface[f.ifIndex] ?? 0) + 1;
      wireBytes += f.wireLen;
      stamps.push(f.tsUs);
      const proto = info.proto === 6 ? 'tcp' : info.proto === 17 ? 'udp' : `ip${info.proto}`;
      const key = `${proto} ${formatIp(info.src, info.ipVersion)}:${info.sport}>${formatIp(info.dst, info.ipVersion)}:${info.dport}`;
      flows[key] = (flows[key] ?? 0) + 1;
    });
    assert.equal(s.error, null);
    assert.equal(s.format, want.format);
    assert.deepEqual(s.linkTypes, want.linkTypes);
    assert.equal(s.frames, want.frames);
    assert.deepEqual(statuses, { OK: want.frames });
    assert.equal(wireBytes, want.wireBytes);
    assert.ok(Math.abs(stamps[0]! - want.firstTs) <= 0.25, `first timestamp ${stamps[0]} vs ${want.firstTs}`);
    assert.ok(Math.abs(stamps.at(-1)! - want.lastTs) <= 0.25, `last timestamp ${stamps.at(-1)} vs ${want.lastTs}`);
    assert.deepEqual(perIface, want.perIface);
    assert.deepEqual(flows, want.flows);
  });
}
