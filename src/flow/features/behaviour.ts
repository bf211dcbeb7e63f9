import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { Online } from './online.ts';

/**
 * Behavioural features: how the conversation moves rather than what sizes it has. Silence windows (gaps of at
 * least the silence threshold, default 1 s), burstiness, upload/download asymmetry, handshake timing and sizes
 * (the first packets), and the signatures of chat (small packets, long silences) and streaming (large packets
 * from the responder at a steady rate).
 */
const BURST_GAP_US = 100_000; // packets closer than 100 ms belong to one burst
const WINDOW_US = 1_000_000; // throughput sampled in 1 s windows
const MAX_EMPTY_WINDOWS = 3600; // bound on zero windows added for one gap

interface State {
  lastTs: number;
  silenceCount: number;
  silenceTotal: number;
  silenceMax: number;
  iat: Online;
  bursts: number;
  burstPkts: number;
  burstBytes: number;
  burstPktStats: Online;
  burstByteStats: Online;
  firstBwdTs: number;
  secondTs: number;
  firstPayloadTs: number;
  firstFwdPayload: number;
  firstBwdPayload: number;
  first4Bytes: number;
  seen: number;
  small: number;
  payloadPkts: number;
  large: number;
  bwdLarge: number;
  ipBytes: [number, number];
  window: number;
  windowBytes: number;
  windowStats: Online;
}

const COLUMNS: ColumnDef[] = [
  col('silence_count', 'feature', 'int', 'count', 'both', 'Gaps between consecutive packets of at least the silence threshold (default 1 s)'),
  col('silence_total_us', 'feature', 'float', 'us', 'both', 'Total time spent in such silences'),
  col('silence_ratio', 'feature', 'float', 'ratio', 'both', 'Share of the flow duration spent in silences (0..1)'),
  col('silence_max_us', 'feature', 'float', 'us', 'both', 'Longest gap between consecutive packets'),
  col('iat_cv', 'feature', 'float', 'ratio', 'both', 'Burstiness: coefficient of variation (std/mean) of inter-arrival times'),
  col('burst_count', 'feature', 'int', 'count', 'both', 'Bursts: runs of packets less than 100 ms apart'),
  col('burst_pkts_mean', 'feature', 'float', 'packets', 'both', 'Mean packets per burst'),
  col('burst_pkts_max', 'feature', 'float', 'packets', 'both', 'Most packets in one burst'),
  col('burst_bytes_mean', 'feature', 'float', 'bytes', 'both', 'Mean IP bytes per burst'),
  col('pkt_asymmetry', 'feature', 'float', 'ratio', 'both', '(fwd - bwd) / (fwd + bwd) packets: 1 all upload, -1 all download'),
  col('byte_asymmetry', 'feature', 'float', 'ratio', 'both', '(fwd - bwd) / (fwd + bwd) IP bytes'),
  col('down_up_ratio', 'feature', 'float', 'ratio', 'both', 'Responder IP bytes divided by initiator IP bytes (initiator bytes at least 1)'),
  col('hs_second_pkt_us', 'feature', 'float', 'us', 'both', 'Handshake timing: time from the first to the second packet (-1 if none)'),
  col('hs_first_reply_us', 'feature', 'float', 'us', 'both', 'Handshake timing: time from the first packet to the responder\'s first packet (-1 if none; TCP: about one RTT)'),
  col('hs_first_payload_us', 'feature', 'float', 'us', 'both', 'Time from the first packet to the first packet carrying payload (-1 if none)'),
  col('hs_first_fwd_payload', 'feature', 'int', 'bytes', 'fwd', 'Payload size of the initiator\'s first payload-carrying packet (ClientHello size for TLS; 0 if none)'),
  col('hs_first_bwd_payload', 'feature', 'int', 'bytes', 'bwd', 'Payload size of the responder\'s first payload-carrying packet (0 if none)'),
  col('hs_first4_bytes', 'feature', 'int', 'bytes', 'both', 'IP bytes of the first four packets'),
  col('small_pkt_ratio', 'feature', 'float', 'ratio', 'both', 'Chat signature: share of packets with a payload under 200 bytes among payload-carrying packets'),
  col('large_pkt_ratio', 'feature', 'float', 'ratio', 'both', 'Share of packets of at least 1200 IP bytes'),
  col('bwd_large_ratio', 'feature', 'float', 'ratio', 'bwd', 'Streaming signature: share of the responder\'s packets of at least 1200 IP bytes'),
  col('throughput_mean', 'feature', 'float', 'bytes/s', 'both', 'Mean IP bytes per 1 s window over the flow'),
  col('throughput_cv', 'feature', 'float', 'ratio', 'both', 'Steadiness: coefficient of variation of IP bytes per 1 s window (low for streaming)'),
];

export function behaviourFamily(opts: FeatureOptions): FeatureFamily<State> {
  const silenceUs = opts.silenceUs;
  return {
    name: 'behaviour',
    description: 'Silences, burstiness, asymmetry, handshake timing and sizes, chat and streaming signatures',
    columns: COLUMNS,
    init(_flow: Flow, pkt: PacketInfo): State {
      return {
        lastTs: -1, silenceCount: 0, silenceTotal: 0, silenceMax: 0, iat: new Online(), bursts: 0, burstPkts: 0,
        burstBytes: 0, burstPktStats: new Online(), burstByteStats: new Online(), firstBwdTs: -1, secondTs: -1,
        firstPayloadTs: -1, firstFwdPayload: 0, firstBwdPayload: 0, first4Bytes: 0, seen: 0, small: 0, payloadPkts: 0, large: 0,
        bwdLarge: 0, ipBytes: [0, 0], window: Math.floor(pkt.tsUs / WINDOW_US), windowBytes: 0,
        windowStats: new Online(),
      };
    },
    update(s: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const ts = p.tsUs;
      if (s.lastTs >= 0) {
        const gap = ts - s.lastTs;
        s.iat.add(gap);
        if (gap >= silenceUs) { s.silenceCount++; s.silenceTotal += gap; }
        if (gap > s.silenceMax) s.silenceMax = gap;
        if (gap >= BURST_GAP_US) {
          s.burstPktStats.add(s.burstPkts);
          s.burstByteStats.add(s.burstBytes);
          s.burstPkts = 0;
          s.burstBytes = 0;
        }
      }
      s.burstPkts++;
      s.burstBytes += p.ipLen;
      s.lastTs = ts;
      if (s.seen === 1) s.secondTs = ts;
      if (s.seen < 4) s.first4Bytes += p.ipLen;
      s.seen++;
      if (dir === 1 && s.firstBwdTs < 0) s.firstBwdTs = ts;
      if (p.payloadLen > 0) {
        if (s.firstPayloadTs < 0) s.firstPayloadTs = ts;
        if (dir === 0) { if (s.firstFwdPayload === 0) s.firstFwdPayload = p.payloadLen; }
        else if (s.firstBwdPayload === 0) s.firstBwdPayload = p.payloadLen;
        s.payloadPkts++;
        if (p.payloadLen < 200) s.small++;
      }
      if (p.ipLen >= 1200) { s.large++; if (dir === 1) s.bwdLarge++; }
      s.ipBytes[dir] += p.ipLen;
      const w = Math.floor(ts / WINDOW_US);
      if (w > s.window) {
        s.windowStats.add(s.windowBytes);
        const empty = Math.min(w - s.window - 1, MAX_EMPTY_WINDOWS);
        for (let k = 0; k < empty; k++) s.windowStats.add(0);
        s.window = w;
        s.windowBytes = 0;
      }
      s.windowBytes += p.ipLen;
    },
    finish(s: State, flow: Flow, row: CellValue[], at: number): void {
      const dur = flow.lastTs - flow.firstTs;
      const pk = flow.fwdPkts + flow.bwdPkts;
      const [fb, bb] = s.ipBytes;
      s.burstPktStats.add(s.burstPkts);
      s.burstByteStats.add(s.burstBytes);
      s.windowStats.add(s.windowBytes);
      const payloadPkts = s.payloadPkts;
      let i = at;
      row[i++] = s.silenceCount;
      row[i++] = s.silenceTotal;
      row[i++] = dur > 0 ? s.silenceTotal / dur : 0;
      row[i++] = s.silenceMax;
      row[i++] = s.iat.n > 0 && s.iat.mean > 0 ? s.iat.std / s.iat.mean : 0;
      row[i++] = s.burstPktStats.n;
      row[i++] = s.burstPktStats.mean;
      row[i++] = s.burstPktStats.max;
      row[i++] = s.burstByteStats.mean;
      row[i++] = pk > 0 ? (flow.fwdPkts - flow.bwdPkts) / pk : 0;
      row[i++] = fb + bb > 0 ? (fb - bb) / (fb + bb) : 0;
      row[i++] = bb / Math.max(1, fb);
      row[i++] = s.secondTs >= 0 ? s.secondTs - flow.firstTs : -1;
      row[i++] = s.firstBwdTs >= 0 ? s.firstBwdTs - flow.firstTs : -1;
      row[i++] = s.firstPayloadTs >= 0 ? s.firstPayloadTs - flow.firstTs : -1;
      row[i++] = s.firstFwdPayload;
      row[i++] = s.firstBwdPayload;
      row[i++] = s.first4Bytes;
      row[i++] = payloadPkts > 0 ? s.small / payloadPkts : 0;
      row[i++] = pk > 0 ? s.large / pk : 0;
      row[i++] = flow.bwdPkts > 0 ? s.bwdLarge / flow.bwdPkts : 0;
      row[i++] = s.windowStats.mean;
      row[i++] = s.windowStats.mean > 0 ? s.windowStats.std / s.windowStats.mean : 0;
    },
  };
}
