import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { MAX, MEAN, N, STAT_WIDTH, statAdd, statReset, statStd } from './online.ts';
import { Slab } from './slab.ts';

/**
 * Behavioural features: how the conversation moves rather than what sizes it has. Silence windows (gaps of at
 * least the silence threshold, default 1 s), burstiness, upload/download asymmetry, handshake timing and sizes
 * (the first packets), and the signatures of chat (small packets, long silences) and streaming (large packets
 * from the responder at a steady rate).
 */
const BURST_GAP_US = 100_000; // packets closer than 100 ms belong to one burst
const WINDOW_US = 1_000_000; // throughput sampled in 1 s windows
const MAX_EMPTY_WINDOWS = 3600; // bound on zero windows added for one gap

/** State: one slab record per flow (see slab.ts), laid out as below (times in microseconds, -1: not yet). */
type State = number;

const LAST_TS = 0;
const SILENCE_COUNT = 1;
const SILENCE_TOTAL = 2;
const SILENCE_MAX = 3;
const BURST_PKTS = 4; // packets and IP bytes of the current burst
const BURST_BYTES = 5;
const FIRST_BWD_TS = 6;
const SECOND_TS = 7;
const FIRST_PAYLOAD_TS = 8;
const FIRST_FWD_PAYLOAD = 9;
const FIRST_BWD_PAYLOAD = 10;
const FIRST4_BYTES = 11;
const SEEN = 12;
const SMALL = 13;
const PAYLOAD_PKTS = 14;
const LARGE = 15;
const BWD_LARGE = 16;
const IP_BYTES = 17; // 2: fwd, bwd
const WINDOW = 19; // index of the current 1 s window and its IP bytes
const WINDOW_BYTES = 20;
const IAT = 21; // statistics: inter-arrival times, packets and bytes per burst, bytes per window
const BURST_PKT_STATS = IAT + STAT_WIDTH;
const BURST_BYTE_STATS = BURST_PKT_STATS + STAT_WIDTH;
const WINDOW_STATS = BURST_BYTE_STATS + STAT_WIDTH;
const WIDTH = WINDOW_STATS + STAT_WIDTH;

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
  const slab = new Slab(WIDTH);
  return {
    name: 'behaviour',
    description: 'Silences, burstiness, asymmetry, handshake timing and sizes, chat and streaming signatures',
    columns: COLUMNS,
    init(_flow: Flow, pkt: PacketInfo): State {
      const o = slab.alloc();
      const d = slab.data;
      d.fill(0, o, o + IAT);
      d[o + LAST_TS] = -1;
      d[o + FIRST_BWD_TS] = -1;
      d[o + SECOND_TS] = -1;
      d[o + FIRST_PAYLOAD_TS] = -1;
      d[o + WINDOW] = Math.floor(pkt.tsUs / WINDOW_US);
      statReset(d, o + IAT);
      statReset(d, o + BURST_PKT_STATS);
      statReset(d, o + BURST_BYTE_STATS);
      statReset(d, o + WINDOW_STATS);
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const d = slab.data;
      const ts = p.tsUs;
      const ipLen = p.ipLen;
      const last = d[o + LAST_TS]!;
      if (last >= 0) {
        const gap = ts - last;
        statAdd(d, o + IAT, gap);
        if (gap >= silenceUs) { d[o + SILENCE_COUNT]!++; d[o + SILENCE_TOTAL]! += gap; }
        if (gap > d[o + SILENCE_MAX]!) d[o + SILENCE_MAX] = gap;
        if (gap >= BURST_GAP_US) {
          statAdd(d, o + BURST_PKT_STATS, d[o + BURST_PKTS]!);
          statAdd(d, o + BURST_BYTE_STATS, d[o + BURST_BYTES]!);
          d[o + BURST_PKTS] = 0;
          d[o + BURST_BYTES] = 0;
        }
      }
      d[o + BURST_PKTS]!++;
      d[o + BURST_BYTES]! += ipLen;
      d[o + LAST_TS] = ts;
      const seen = d[o + SEEN]!;
      if (seen === 1) d[o + SECOND_TS] = ts;
      if (seen < 4) d[o + FIRST4_BYTES]! += ipLen;
      d[o + SEEN] = seen + 1;
      if (dir === 1 && d[o + FIRST_BWD_TS]! < 0) d[o + FIRST_BWD_TS] = ts;
      const payloadLen = p.payloadLen;
      if (payloadLen > 0) {
        if (d[o + FIRST_PAYLOAD_TS]! < 0) d[o + FIRST_PAYLOAD_TS] = ts;
        if (dir === 0) { if (d[o + FIRST_FWD_PAYLOAD] === 0) d[o + FIRST_FWD_PAYLOAD] = payloadLen; }
        else if (d[o + FIRST_BWD_PAYLOAD] === 0) d[o + FIRST_BWD_PAYLOAD] = payloadLen;
        d[o + PAYLOAD_PKTS]!++;
        if (payloadLen < 200) d[o + SMALL]!++;
      }
      if (ipLen >= 1200) { d[o + LARGE]!++; if (dir === 1) d[o + BWD_LARGE]!++; }
      d[o + IP_BYTES + dir]! += ipLen;
      const w = Math.floor(ts / WINDOW_US);
      const window = d[o + WINDOW]!;
      if (w > window) {
        statAdd(d, o + WINDOW_STATS, d[o + WINDOW_BYTES]!);
        const empty = Math.min(w - window - 1, MAX_EMPTY_WINDOWS);
        for (let k = 0; k < empty; k++) statAdd(d, o + WINDOW_STATS, 0);
        d[o + WINDOW] = w;
        d[o + WINDOW_BYTES] = 0;
      }
      d[o + WINDOW_BYTES]! += ipLen;
    },
    finish(o: State, flow: Flow, row: CellValue[], at: number): void {
      const d = slab.data;
      const dur = flow.lastTs - flow.firstTs;
      const pk = flow.fwdPkts + flow.bwdPkts;
      const fb = d[o + IP_BYTES]!, bb = d[o + IP_BYTES + 1]!;
      statAdd(d, o + BURST_PKT_STATS, d[o + BURST_PKTS]!);
      statAdd(d, o + BURST_BYTE_STATS, d[o + BURST_BYTES]!);
      statAdd(d, o + WINDOW_STATS, d[o + WINDOW_BYTES]!);
      const payloadPkts = d[o + PAYLOAD_PKTS]!;
      const iatMean = d[o + IAT + MEAN]!;
      const windowMean = d[o + WINDOW_STATS + MEAN]!;
      const silenceTotal = d[o + SILENCE_TOTAL]!;
      const secondTs = d[o + SECOND_TS]!, firstBwdTs = d[o + FIRST_BWD_TS]!, firstPayloadTs = d[o + FIRST_PAYLOAD_TS]!;
      let i = at;
      row[i++] = d[o + SILENCE_COUNT]!;
      row[i++] = silenceTotal;
      row[i++] = dur > 0 ? silenceTotal / dur : 0;
      row[i++] = d[o + SILENCE_MAX]!;
      row[i++] = d[o + IAT + N]! > 0 && iatMean > 0 ? statStd(d, o + IAT) / iatMean : 0;
      row[i++] = d[o + BURST_PKT_STATS + N]!;
      row[i++] = d[o + BURST_PKT_STATS + MEAN]!;
      row[i++] = d[o + BURST_PKT_STATS + MAX]!;
      row[i++] = d[o + BURST_BYTE_STATS + MEAN]!;
      row[i++] = pk > 0 ? (flow.fwdPkts - flow.bwdPkts) / pk : 0;
      row[i++] = fb + bb > 0 ? (fb - bb) / (fb + bb) : 0;
      row[i++] = bb / Math.max(1, fb);
      row[i++] = secondTs >= 0 ? secondTs - flow.firstTs : -1;
      row[i++] = firstBwdTs >= 0 ? firstBwdTs - flow.firstTs : -1;
      row[i++] = firstPayloadTs >= 0 ? firstPayloadTs - flow.firstTs : -1;
      row[i++] = d[o + FIRST_FWD_PAYLOAD]!;
      row[i++] = d[o + FIRST_BWD_PAYLOAD]!;
      row[i++] = d[o + FIRST4_BYTES]!;
      row[i++] = payloadPkts > 0 ? d[o + SMALL]! / payloadPkts : 0;
      row[i++] = pk > 0 ? d[o + LARGE]! / pk : 0;
      row[i++] = flow.bwdPkts > 0 ? d[o + BWD_LARGE]! / flow.bwdPkts : 0;
      row[i++] = windowMean;
      row[i++] = windowMean > 0 ? statStd(d, o + WINDOW_STATS) / windowMean : 0;
      slab.release(o);
    },
  };
}
