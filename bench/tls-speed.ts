/**
 * Cost of the handshake trackers: replays the payload-carrying packets of captures (held in memory, so no I/O is
 * timed) through the meter's sniff + tracker feeding, and once through the sniff alone. Prints ns per packet.
 *
 *   node --import tsx bench/tls-speed.ts [dir-or-file ...]
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecodeStatus, decodePacket, formatIp, newPacketInfo, readCapture } from '../src/wire/index.ts';
import { createHandshakeTracker, looksLikeHandshakeStart, type HandshakeTracker } from '../src/tls/index.ts';

interface Pkt {
  flow: number;
  dir: 0 | 1;
  proto: 6 | 17;
  seq: number;
  syn: boolean;
  ts: number;
  data: Uint8Array;
}

async function load(files: string[]): Promise<{ pkts: Pkt[]; flows: number }> {
  const info = newPacketInfo();
  const pkts: Pkt[] = [];
  let flows = 0;
  for (const file of files) {
    const table = new Map<string, number>();
    await readCapture({ path: file }, (f) => {
      if (decodePacket(f, info) !== DecodeStatus.OK || (info.proto !== 6 && info.proto !== 17)) return;
      const a = `${formatIp(info.src, info.ipVersion)}|${info.sport}`;
      const b = `${formatIp(info.dst, info.ipVersion)}|${info.dport}`;
      let id = table.get(`${info.proto}|${a}|${b}`);
      let dir: 0 | 1 = 0;
      if (id === undefined) {
        id = table.get(`${info.proto}|${b}|${a}`);
        dir = 1;
      }
      if (id === undefined) {
        id = flows++;
        dir = 0;
        table.set(`${info.proto}|${a}|${b}`, id);
      }
      pkts.push({
        flow: id, dir, proto: info.proto as 6 | 17, seq: info.tcpSeq, syn: (info.tcpFlags & 2) !== 0, ts: info.tsUs,
        data: info.data.slice(info.payloadOffset, info.payloadOffset + info.payloadCapLen),
      });
    });
  }
  return { pkts, flows };
}

function run(pkts: Pkt[], flows: number, track: boolean): { ms: number; trackers: number } {
  const trackers: (HandshakeTracker | null)[] = new Array(flows).fill(null);
  const sniffed = new Uint8Array(flows);
  let n = 0;
  const t0 = performance.now();
  for (const p of pkts) {
    let t = trackers[p.flow]!;
    if (t === null) {
      if (p.data.length === 0 || sniffed[p.flow]! >= 3) continue;
      sniffed[p.flow]!++;
      if (!looksLikeHandshakeStart(p.proto, p.data, 0, p.data.length)) continue;
      if (!track) continue;
      t = trackers[p.flow] = createHandshakeTracker();
      n++;
    }
    if (t.done || p.data.length === 0) continue;
    if (p.proto === 6) t.onTcp(p.dir, p.seq, p.syn, p.data, p.ts);
    else t.onUdp(p.dir, p.data, p.ts);
  }
  for (const t of trackers) t?.result();
  return { ms: performance.now() - t0, trackers: n };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const roots = args.length > 0 ? args : [path.resolve(fileURLToPath(new URL('../../shared/data/ndpi/pcap', import.meta.url)))];
  const files: string[] = [];
  for (const r of roots) {
    if (statSync(r).isDirectory()) for (const f of readdirSync(r)) { if (/\.(pcap|pcapng|cap)$/.test(f)) files.push(path.join(r, f)); }
    else files.push(r);
  }
  const { pkts, flows } = await load(files);
  for (let i = 0; i < 3; i++) run(pkts, flows, true); // warm up
  const base = Math.min(...[0, 1, 2].map(() => run(pkts, flows, false).ms));
  let best = Infinity;
  let trackers = 0;
  for (let i = 0; i < 5; i++) {
    const r = run(pkts, flows, true);
    best = Math.min(best, r.ms);
    trackers = r.trackers;
  }
  console.log(`${files.length} captures, ${pkts.length} packets, ${flows} flows, ${trackers} trackers`);
  console.log(`sniff only: ${(base * 1e6 / pkts.length).toFixed(0)} ns/packet; sniff + trackers: ${(best * 1e6 / pkts.length).toFixed(0)} ns/packet `
    + `(${best.toFixed(1)} ms, ${(best * 1e3 / Math.max(1, trackers)).toFixed(1)} us per tracked flow)`);
}
