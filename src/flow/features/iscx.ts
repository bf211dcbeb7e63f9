import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import {
  ACTIVE, ACTIVE_IDLE_WIDTH, activeIdleAdd, activeIdleClose, activeIdleReset, IDLE, MAX, MEAN, MIN, N, STAT_WIDTH, statAdd,
  statReset, statStd, SUM,
} from './online.ts';
import { Slab } from './slab.ts';

/**
 * The ISCX VPN-nonVPN / Tor-nonTor "time-based features" (Draper-Gil et al., ICISSP 2016) under their own names
 * and units (microseconds), so that a model trained on the ISCX ARFF files applies to flows metered here.
 * Both extractions are covered: A1/B (std_fiat, std_biat) and A2 (total_fiat, total_biat). -1 stands for "no
 * active/idle period", as in the ARFF files. Read off the ARFF files themselves: the activity timeout is 1 s (the
 * smallest idle period in them is 1.00001 s), and flowBytesPerSecond counts IP bytes (two bare ACKs in 76 us give
 * 1052631.6 bytes/s = 80 bytes).
 * Meter with the flow timeout the ARFF file was cut with (15/30/60/120 s) as the active timeout: in the 15 s files
 * over a third of the flows last 14.25-15 s, so that timeout caps duration (--active-timeout 15).
 *
 * State: one slab record per flow (see slab.ts), laid out as below.
 */
type State = number;

const FIAT = 0; // statistics of forward, backward and any-direction inter-arrival times
const BIAT = FIAT + STAT_WIDTH;
const FLOWIAT = BIAT + STAT_WIDTH;
const LAST = FLOWIAT + STAT_WIDTH; // last packet time per direction and of the flow (-1: none yet)
const IP_BYTES = LAST + 3;
const AI = IP_BYTES + 1; // active/idle periods
const WIDTH = AI + ACTIVE_IDLE_WIDTH;

const us = 'us';
/** ISCX's activity timeout: a gap over 1 s ends an active period. */
const ISCX_ACTIVITY_TIMEOUT_US = 1_000_000;
const COLUMNS: ColumnDef[] = [
  col('duration', 'feature', 'float', us, 'both', 'ISCX: flow duration'),
  col('total_fiat', 'feature', 'float', us, 'fwd', 'ISCX: sum of forward inter-arrival times'),
  col('total_biat', 'feature', 'float', us, 'bwd', 'ISCX: sum of backward inter-arrival times'),
  col('min_fiat', 'feature', 'float', us, 'fwd', 'ISCX: minimum time between two packets sent forward (0 if fewer than two)'),
  col('min_biat', 'feature', 'float', us, 'bwd', 'ISCX: minimum time between two packets sent backward'),
  col('max_fiat', 'feature', 'float', us, 'fwd', 'ISCX: maximum forward inter-arrival time'),
  col('max_biat', 'feature', 'float', us, 'bwd', 'ISCX: maximum backward inter-arrival time'),
  col('mean_fiat', 'feature', 'float', us, 'fwd', 'ISCX: mean forward inter-arrival time'),
  col('mean_biat', 'feature', 'float', us, 'bwd', 'ISCX: mean backward inter-arrival time'),
  col('std_fiat', 'feature', 'float', us, 'fwd', 'ISCX: standard deviation of forward inter-arrival times'),
  col('std_biat', 'feature', 'float', us, 'bwd', 'ISCX: standard deviation of backward inter-arrival times'),
  col('flowPktsPerSecond', 'feature', 'float', '1/s', 'both', 'ISCX: packets per second (0 for a zero-length flow)'),
  col('flowBytesPerSecond', 'feature', 'float', 'bytes/s', 'both', 'ISCX: IP bytes per second (0 for a zero-length flow)'),
  col('min_flowiat', 'feature', 'float', us, 'both', 'ISCX: minimum time between two packets in either direction'),
  col('max_flowiat', 'feature', 'float', us, 'both', 'ISCX: maximum inter-arrival time in either direction'),
  col('mean_flowiat', 'feature', 'float', us, 'both', 'ISCX: mean inter-arrival time in either direction'),
  col('std_flowiat', 'feature', 'float', us, 'both', 'ISCX: standard deviation of inter-arrival times in either direction'),
  col('min_active', 'feature', 'float', us, 'both', 'ISCX: minimum time a flow was active before going idle (gaps over 1 s are idle; -1 if never)'),
  col('mean_active', 'feature', 'float', us, 'both', 'ISCX: mean active time (-1 if never)'),
  col('max_active', 'feature', 'float', us, 'both', 'ISCX: maximum active time (-1 if never)'),
  col('std_active', 'feature', 'float', us, 'both', 'ISCX: standard deviation of active times (-1 if never)'),
  col('min_idle', 'feature', 'float', us, 'both', 'ISCX: minimum time a flow was idle before becoming active (-1 if never)'),
  col('mean_idle', 'feature', 'float', us, 'both', 'ISCX: mean idle time (-1 if never)'),
  col('max_idle', 'feature', 'float', us, 'both', 'ISCX: maximum idle time (-1 if never)'),
  col('std_idle', 'feature', 'float', us, 'both', 'ISCX: standard deviation of idle times (-1 if never)'),
];

function iatOrZero(d: Float64Array, o: number, pick: typeof MIN | typeof MAX | typeof MEAN): number {
  return d[o + N] === 0 ? 0 : d[o + pick]!;
}

/** min, mean, max, std of active or idle periods; -1 for all four when there was none. */
function periods(d: Float64Array, k: number, row: CellValue[], i: number): void {
  if (d[k + N] === 0) { row[i] = -1; row[i + 1] = -1; row[i + 2] = -1; row[i + 3] = -1; }
  else { row[i] = d[k + MIN]!; row[i + 1] = d[k + MEAN]!; row[i + 2] = d[k + MAX]!; row[i + 3] = statStd(d, k); }
}

export function iscxFamily(_opts: FeatureOptions): FeatureFamily<State> {
  const slab = new Slab(WIDTH);
  return {
    name: 'iscx',
    description: 'The ISCX VPN/Tor 2016 time-based features, with ISCX names and microsecond units',
    columns: COLUMNS,
    init(_flow: Flow, pkt: PacketInfo): State {
      const o = slab.alloc();
      const d = slab.data;
      statReset(d, o + FIAT);
      statReset(d, o + BIAT);
      statReset(d, o + FLOWIAT);
      d[o + LAST] = -1; d[o + LAST + 1] = -1; d[o + LAST + 2] = -1;
      d[o + IP_BYTES] = 0;
      activeIdleReset(d, o + AI, pkt.tsUs);
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const d = slab.data;
      const ts = p.tsUs;
      const l = d[o + LAST + dir]!;
      if (l >= 0) statAdd(d, o + (dir === 0 ? FIAT : BIAT), ts - l);
      d[o + LAST + dir] = ts;
      const lastAny = d[o + LAST + 2]!;
      if (lastAny >= 0) statAdd(d, o + FLOWIAT, ts - lastAny);
      d[o + LAST + 2] = ts;
      d[o + IP_BYTES]! += p.ipLen;
      activeIdleAdd(d, o + AI, ts, ISCX_ACTIVITY_TIMEOUT_US);
    },
    finish(o: State, flow: Flow, row: CellValue[], at: number): void {
      const d = slab.data;
      const f = o + FIAT, b = o + BIAT, fl = o + FLOWIAT;
      const dur = flow.lastTs - flow.firstTs;
      const secs = dur / 1e6;
      let i = at;
      row[i++] = dur;
      row[i++] = d[f + SUM]!; row[i++] = d[b + SUM]!;
      row[i++] = iatOrZero(d, f, MIN); row[i++] = iatOrZero(d, b, MIN);
      row[i++] = iatOrZero(d, f, MAX); row[i++] = iatOrZero(d, b, MAX);
      row[i++] = iatOrZero(d, f, MEAN); row[i++] = iatOrZero(d, b, MEAN);
      row[i++] = statStd(d, f); row[i++] = statStd(d, b);
      row[i++] = secs > 0 ? (flow.fwdPkts + flow.bwdPkts) / secs : 0;
      row[i++] = secs > 0 ? d[o + IP_BYTES]! / secs : 0;
      row[i++] = iatOrZero(d, fl, MIN); row[i++] = iatOrZero(d, fl, MAX);
      row[i++] = iatOrZero(d, fl, MEAN); row[i++] = statStd(d, fl);
      activeIdleClose(d, o + AI);
      periods(d, o + AI + ACTIVE, row, i);
      periods(d, o + AI + IDLE, row, i + 4);
      slab.release(o);
    },
  };
}
