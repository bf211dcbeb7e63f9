import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCaptureStats } from '../../src/wire/live.ts';
import { RollingSeries } from '../../src/service/live/hub.ts';

test('parseCaptureStats: tcpdump\'s SIGUSR1 line and its exit block, the last one wins', () => {
  const usr1 = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\ntcpdump: 51 packets captured, 102 packets received by filter, 3 packets dropped by kernel\n';
  assert.deepEqual(parseCaptureStats(usr1), { captured: 51, received: 102, droppedByKernel: 3, droppedByInterface: 0 });
  const exit = `${usr1}60 packets captured\n120 packets received by filter\n4 packets dropped by kernel\n7 packets dropped by interface\n`;
  assert.deepEqual(parseCaptureStats(exit), { captured: 60, received: 120, droppedByKernel: 4, droppedByInterface: 7 });
  assert.equal(parseCaptureStats('tcpdump: listening on lo\n'), null);
  const dumpcap = "File: /dev/null\nPackets captured: 138\nPackets received/dropped on interface 'Loopback: lo': 138/5 (pcap:2/dumpcap:3/flushed:0/ps_ifdrop:1) (96.5%)";
  assert.deepEqual(parseCaptureStats(dumpcap), { captured: 138, received: 143, droppedByKernel: 5, droppedByInterface: 1 });
});

test('RollingSeries: bytes/s and flows/s per step over the window, top applications kept apart, older seconds out of the window', () => {
  const s = new RollingSeries();
  const t0 = 1_800_000_000_000;
  s.add(t0, 'streaming', 'YouTube', 6000, 1);
  s.add(t0 + 1000, 'browsing', 'Wikipedia', 3000, 1);
  s.add(t0 - 400_000, 'chat', 'Signal', 999, 1); // 400 s before: outside a 300 s window
  const w = s.window(t0 + 1500, 300, 60);
  assert.equal(w.stepS, 5);
  const sum = (a: number[]) => Math.round(a.reduce((x, y) => x + y, 0) * 1e6) / 1e6;
  assert.equal(sum(w.category.streaming!.bytes) * w.stepS, 6000);
  assert.equal(sum(w.category.browsing!.flows) * w.stepS, 1);
  assert.equal(w.category.chat, undefined);
  assert.deepEqual(w.topServices.map((t) => t.app), ['YouTube', 'Wikipedia']);
  const wide = s.window(t0 + 1500, 900, 60);
  assert.equal(Math.round(sum(wide.category.chat!.bytes) * wide.stepS), 999);
  const top1 = s.window(t0 + 1500, 300, 60, 1);
  assert.deepEqual(Object.keys(top1.app).sort(), ['(other)', 'YouTube']);
});
