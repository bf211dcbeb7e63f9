import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.ts';
import type { Flow } from '../../src/flow/flow.ts';
import { newPacketInfo, type PacketInfo } from '../../src/wire/types.ts';

const F = 1, S = 2, R = 4, P = 8, A = 16;

function pkt(ts: number, src: number, sport: number, dst: number, dport: number, flags = A, proto = 6): PacketInfo {
  const p = newPacketInfo();
  p.tsUs = ts * 1e6; p.ipVersion = 4; p.src[0] = src; p.dst[0] = dst; p.sport = sport; p.dport = dport;
  p.proto = proto; p.tcpFlags = proto === 6 ? flags : 0; p.wireLen = 100; p.ipLen = 86;
  return p;
}

function table(opts = {}) {
  const ended: Flow[] = [];
  const t = new FlowTable(opts, () => {}, (f) => ended.push(f));
  return { t, ended };
}

const C = 0x0a000001, SV = 0x0a000002;

test('the initiator is the source and replies count backward', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 40000, SV, 443, S)); assert.equal(t.dir, 0);
  t.packet(pkt(0.01, SV, 443, C, 40000, S | A)); assert.equal(t.dir, 1);
  t.packet(pkt(0.02, C, 40000, SV, 443, A)); assert.equal(t.dir, 0);
  t.flush();
  assert.equal(ended.length, 1);
  const f = ended[0]!;
  assert.equal(f.srcAddr[0], C); assert.equal(f.sport, 40000); assert.equal(f.dport, 443);
  assert.equal(f.fwdPkts, 2); assert.equal(f.bwdPkts, 1); assert.equal(f.fwdBytes, 200);
  assert.equal(f.endReason, 'eof');
});

test('FIN both ways closes the flow; the last ACK still belongs to it', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 1, SV, 80, S));
  t.packet(pkt(1, C, 1, SV, 80, F | A));
  t.packet(pkt(1.1, SV, 80, C, 1, F | A));
  assert.equal(ended.length, 0, 'kept for trailing packets');
  t.packet(pkt(1.2, C, 1, SV, 80, A));
  t.packet(pkt(100, C, 9, SV, 80, S)); // another flow, 98.8 s later: the closed one's grace has passed
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.endReason, 'fin');
  assert.equal(ended[0]!.fwdPkts, 3);
  assert.equal(ended[0]!.bwdPkts, 1);
});

test('FIN one way does not close the flow', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 1, SV, 80, S));
  t.packet(pkt(1, C, 1, SV, 80, F | A));
  t.packet(pkt(2, SV, 80, C, 1, P | A));
  t.flush();
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.endReason, 'eof');
});

test('RST ends the flow', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 1, SV, 80, S));
  t.packet(pkt(0.1, SV, 80, C, 1, R | A));
  t.flush();
  assert.equal(ended[0]!.endReason, 'rst');
  assert.equal(ended[0]!.bwdPkts, 1);
});

test('a SYN on a 5-tuple whose flow ended starts a new flow (5-tuple reuse)', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 5555, SV, 80, S));
  t.packet(pkt(0.1, C, 5555, SV, 80, F | A));
  t.packet(pkt(0.2, SV, 80, C, 5555, F | A));
  t.packet(pkt(0.3, C, 5555, SV, 80, A));
  t.packet(pkt(0.4, C, 5555, SV, 80, S));
  assert.equal(t.created, true);
  assert.equal(ended.length, 1, 'the first connection is written when the second starts');
  t.packet(pkt(0.5, SV, 80, C, 5555, S | A));
  t.flush();
  assert.equal(ended.length, 2);
  assert.equal(ended[1]!.fwdPkts, 1);
  assert.equal(ended[1]!.bwdPkts, 1);
  assert.equal(ended[1]!.endReason, 'eof');
});

test('a retransmitted SYN of an open connection stays in it', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 1, SV, 80, S));
  t.packet(pkt(1, C, 1, SV, 80, S));
  t.flush();
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.fwdPkts, 2);
});

test('idle timeout ends a flow; the next packet starts a new one', () => {
  const { t, ended } = table({ idleTimeoutUs: 10e6 });
  t.packet(pkt(0, C, 1, SV, 53, 0, 17));
  t.packet(pkt(5, SV, 53, C, 1, 0, 17));
  t.packet(pkt(15.5, C, 1, SV, 53, 0, 17));
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.endReason, 'idle');
  assert.equal(ended[0]!.fwdPkts + ended[0]!.bwdPkts, 2);
  t.flush();
  assert.equal(ended.length, 2);
});

test('idle timeout is strict: a gap equal to the timeout keeps the flow', () => {
  const { t, ended } = table({ idleTimeoutUs: 10e6 });
  t.packet(pkt(0, C, 1, SV, 53, 0, 17));
  t.packet(pkt(10, C, 1, SV, 53, 0, 17));
  t.flush();
  assert.equal(ended.length, 1);
});

test('active timeout splits a long flow and keeps its orientation', () => {
  const { t, ended } = table({ activeTimeoutUs: 60e6 });
  for (let s = 0; s <= 130; s += 10) t.packet(pkt(s, SV, 53, C, 1000, 0, 17)); // server-first UDP
  t.packet(pkt(131, C, 1000, SV, 53, 0, 17));
  assert.equal(t.dir, 1, 'a reply is still backward in the continuation');
  t.flush();
  assert.equal(ended.length, 3);
  assert.equal(ended[0]!.endReason, 'active');
  assert.equal(ended[0]!.srcAddr[0], SV);
  assert.equal(ended[2]!.srcAddr[0], SV);
  assert.equal(ended.reduce((n, f) => n + f.fwdPkts + f.bwdPkts, 0), 15);
});

test('ICMP request and reply are one flow', () => {
  const { t, ended } = table();
  t.packet(pkt(0, C, 8, SV, 0, 0, 1));
  t.packet(pkt(0.001, SV, 0, C, 0, 0, 1));
  t.flush();
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.bwdPkts, 1);
});

test('thousands of flows with colliding and distinct keys are kept apart', () => {
  const { t, ended } = table();
  for (let i = 0; i < 5000; i++) t.packet(pkt(i * 0.001, C + (i % 7), 10000 + i, SV, 443, S));
  for (let i = 0; i < 5000; i++) t.packet(pkt(6 + i * 0.001, SV, 443, C + (i % 7), 10000 + i, S | A));
  assert.equal(t.live, 5000);
  t.flush();
  assert.equal(ended.length, 5000);
  assert.ok(ended.every((f) => f.fwdPkts === 1 && f.bwdPkts === 1));
});
