/**
 * Bench helper: reads a capture with src/wire, keys flows by 5-tuple, and feeds handshake trackers the way the
 * flow meter does (sniff the first few payload packets, then feed until done). Returns one record per flow that
 * got a tracker.
 */
import { DecodeStatus, decodePacket, formatIp, newPacketInfo, readCapture } from '../src/wire/index.ts';
import { createHandshakeTracker, looksLikeHandshakeStart, type HandshakeRecord, type HandshakeTracker } from '../src/tls/index.ts';

export interface TrackedFlow {
  proto: number;
  /** Initiator address and port. */
  src: string;
  sport: number;
  dst: string;
  dport: number;
  record: HandshakeRecord;
}

interface FlowState {
  proto: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  sniffed: number;
  tracker: HandshakeTracker | null;
}

const SNIFF_PACKETS = 3;

export async function trackCapture(path: string): Promise<{ flows: TrackedFlow[]; packets: number; ms: number }> {
  const info = newPacketInfo();
  const table = new Map<string, FlowState>();
  const all: FlowState[] = [];
  let packets = 0;
  const t0 = performance.now();
  await readCapture({ path }, (f) => {
    if (decodePacket(f, info) !== DecodeStatus.OK) return;
    if (info.proto !== 6 && info.proto !== 17) return;
    packets++;
    const a = formatIp(info.src, info.ipVersion);
    const b = formatIp(info.dst, info.ipVersion);
    const fwd = `${info.proto}|${a}|${info.sport}|${b}|${info.dport}`;
    const rev = `${info.proto}|${b}|${info.dport}|${a}|${info.sport}`;
    let st = table.get(fwd);
    let dir: 0 | 1 = 0;
    if (st === undefined) {
      st = table.get(rev);
      dir = 1;
    }
    const syn = info.proto === 6 && (info.tcpFlags & 0x12) === 0x02;
    if (st !== undefined && syn && dir === 0 && st.tracker !== null) st = undefined; // port reuse: a new connection
    if (st === undefined) {
      // A SYN-ACK seen first means the sender is the responder.
      const synAck = info.proto === 6 && (info.tcpFlags & 0x12) === 0x12;
      st = synAck
        ? { proto: info.proto, src: b, sport: info.dport, dst: a, dport: info.sport, sniffed: 0, tracker: null }
        : { proto: info.proto, src: a, sport: info.sport, dst: b, dport: info.dport, sniffed: 0, tracker: null };
      dir = synAck ? 1 : 0;
      table.set(synAck ? rev : fwd, st);
      all.push(st);
    }
    const len = info.payloadCapLen;
    let t = st.tracker;
    if (t === null) {
      if (len === 0 || st.sniffed >= SNIFF_PACKETS) return;
      st.sniffed++;
      if (!looksLikeHandshakeStart(info.proto as 6 | 17, info.data, info.payloadOffset, len)) return;
      t = st.tracker = createHandshakeTracker();
    }
    if (t.done || len === 0) return;
    const payload = info.data.subarray(info.payloadOffset, info.payloadOffset + len);
    if (info.proto === 6) t.onTcp(dir, info.tcpSeq, (info.tcpFlags & 2) !== 0, payload, info.tsUs);
    else t.onUdp(dir, payload, info.tsUs);
  });
  const flows: TrackedFlow[] = [];
  for (const s of all) {
    if (s.tracker === null) continue;
    flows.push({ proto: s.proto, src: s.src, sport: s.sport, dst: s.dst, dport: s.dport, record: s.tracker.result() });
  }
  return { flows, packets, ms: performance.now() - t0 };
}
