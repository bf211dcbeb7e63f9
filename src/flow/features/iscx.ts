import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { MAX, MEAN, MIN, N, STAT_WIDTH, statAdd, statReset, statStd, SUM } from './online.ts';
import { Slab } from './slab.ts';

/**
 * The ISCX VPN-nonVPN / Tor-nonTor "time-based features" (Draper-Gil et al., ICISSP 2016) under their own names
 * and units (microseconds), so that a model trained on the ISCX ARFF files applies to flows metered here.
 * Both extractions are covered: A1/B (std_fiat, std_biat) and A2 (total_fiat, total_biat). Read off the ARFF files
 * themselves (test/flow/iscx-conventions.test.ts checks each against them):
 * - a statistic with no value (no inter-arrival time in that direction, no active or idle period) is -1 for its
 *   min and max and 0 for its mean, std and total; the std of one value is 0 (sample std otherwise);
 * - a zero-length flow has duration 0 and both rates 0;
 * - the activity timeout is 1 s (the smallest idle period in them is 1.00001 s, the largest gap that is not one
 *   0.99998 s); an active period is recorded when an idle gap ends it, and runs from its first packet to the packet
 *   after the gap (so it includes the gap: on every one-idle flow max_active >= max_idle); the last active period,
 *   which no gap ends, is not recorded, so a flow without an idle period has no active period either;
 * - real-valued columns (means, stds, rates) of 10^7 or more hold 3 significant digits (ISCX's text export);
 * - flowBytesPerSecond counts IP bytes (two bare ACKs in 76 us give 1052631.6 bytes/s = 80 bytes).
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
const ACTIVE = IP_BYTES + 1; // statistics of active and idle periods (ISCX's definition, see above)
const IDLE = ACTIVE + STAT_WIDTH;
const START_ACTIVE = IDLE + STAT_WIDTH; // first packet time of the current active period
const WIDTH = START_ACTIVE + 1;

const us = 'us';
/** ISCX's activity timeout: a gap over 1 s ends an active period. */
const ISCX_ACTIVITY_TIMEOUT_US = 1_000_000;
const COLUMNS: ColumnDef[] = [
  col('duration', 'feature', 'float', us, 'both', 'ISCX: flow duration'),
  col('total_fiat', 'feature', 'float', us, 'fwd', 'ISCX: sum of forward inter-arrival times (0 if fewer than two packets)'),
  col('total_biat', 'feature', 'float', us, 'bwd', 'ISCX: sum of backward inter-arrival times (0 if fewer than two packets)'),
  col('min_fiat', 'feature', 'float', us, 'fwd', 'ISCX: minimum time between two packets sent forward (-1 if fewer than two)'),
  col('min_biat', 'feature', 'float', us, 'bwd', 'ISCX: minimum time between two packets sent backward (-1 if fewer than two)'),
  col('max_fiat', 'feature', 'float', us, 'fwd', 'ISCX: maximum forward inter-arrival time (-1 if fewer than two packets)'),
  col('max_biat', 'feature', 'float', us, 'bwd', 'ISCX: maximum backward inter-arrival time (-1 if fewer than two packets)'),
  col('mean_fiat', 'feature', 'float', us, 'fwd', 'ISCX: mean forward inter-arrival time (0 if fewer than two packets)'),
  col('mean_biat', 'feature', 'float', us, 'bwd', 'ISCX: mean backward inter-arrival time (0 if fewer than two packets)'),
  col('std_fiat', 'feature', 'float', us, 'fwd', 'ISCX: sample standard deviation of forward inter-arrival times (0 if fewer than two)'),
  col('std_biat', 'feature', 'float', us, 'bwd', 'ISCX: sample standard deviation of backward inter-arrival times (0 if fewer than two)'),
  col('flowPktsPerSecond', 'feature', 'float', '1/s', 'both', 'ISCX: packets per second (0 for a zero-length flow; 3 significant digits from 10^7)'),
  col('flowBytesPerSecond', 'feature', 'float', 'bytes/s', 'both', 'ISCX: IP bytes per second (0 for a zero-length flow; 3 significant digits from 10^7)'),
  col('min_flowiat', 'feature', 'float', us, 'both', 'ISCX: minimum time between two packets in either direction (-1 for one packet)'),
  col('max_flowiat', 'feature', 'float', us, 'both', 'ISCX: maximum inter-arrival time in either direction (-1 for one packet)'),
  col('mean_flowiat', 'feature', 'float', us, 'both', 'ISCX: mean inter-arrival time in either direction (0 for one packet)'),
  col('std_flowiat', 'feature', 'float', us, 'both', 'ISCX: sample standard deviation of inter-arrival times in either direction (0 if fewer than two)'),
  col('min_active', 'feature', 'float', us, 'both', 'ISCX: minimum active time: from an active period\'s first packet to the packet after the idle gap that ends it (gaps over 1 s are idle; -1 if never idle)'),
  col('mean_active', 'feature', 'float', us, 'both', 'ISCX: mean active time (0 if never idle)'),
  col('max_active', 'feature', 'float', us, 'both', 'ISCX: maximum active time (-1 if never idle)'),
  col('std_active', 'feature', 'float', us, 'both', 'ISCX: sample standard deviation of active times (0 if never idle)'),
  col('min_idle', 'feature', 'float', us, 'both', 'ISCX: minimum idle time, a gap over 1 s between two packets (-1 if never)'),
  col('mean_idle', 'feature', 'float', us, 'both', 'ISCX: mean idle time (0 if never)'),
  col('max_idle', 'feature', 'float', us, 'both', 'ISCX: maximum idle time (-1 if never)'),
  col('std_idle', 'feature', 'float', us, 'both', 'ISCX: sample standard deviation of idle times (0 if never)'),
];

/** ISCX's text export keeps 3 significant digits of real values from 10^7 up (8.1e7, not 81234567.9). */
export function iscxReal(x: number): number {
  return x >= 1e7 ? Number(x.toPrecision(3)) : x;
}

/**
 * min, mean, max, std of a statistic as ISCX writes them: min and max -1 and mean and std 0 when it has no value;
 * mean and std rounded as ISCX's real values are.
 */
function iscxStat(d: Float64Array, o: number, row: CellValue[], iMin: number, iMean: number, iMax: number, iStd: number): void {
  // Written in place (no tuple per statistic: five statistics a flow, and flows are many).
  if (d[o + N] === 0) { row[iMin] = -1; row[iMean] = 0; row[iMax] = -1; row[iStd] = 0; return; }
  row[iMin] = d[o + MIN]!; row[iMean] = iscxReal(d[o + MEAN]!); row[iMax] = d[o + MAX]!; row[iStd] = iscxReal(statStd(d, o));
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
      statReset(d, o + ACTIVE);
      statReset(d, o + IDLE);
      d[o + START_ACTIVE] = pkt.tsUs;
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const d = slab.data;
      const ts = p.tsUs;
      const l = d[o + LAST + dir]!;
      if (l >= 0) statAdd(d, o + (dir === 0 ? FIAT : BIAT), ts - l);
      d[o + LAST + dir] = ts;
      const lastAny = d[o + LAST + 2]!;
      if (lastAny >= 0) {
        statAdd(d, o + FLOWIAT, ts - lastAny);
        if (ts - lastAny > ISCX_ACTIVITY_TIMEOUT_US) {
          // ISCX's active period ends at the packet after the gap, not at the last packet before it.
          statAdd(d, o + ACTIVE, ts - d[o + START_ACTIVE]!);
          statAdd(d, o + IDLE, ts - lastAny);
          d[o + START_ACTIVE] = ts;
        }
      }
      d[o + LAST + 2] = ts;
      d[o + IP_BYTES]! += p.ipLen;
    },
    finish(o: State, flow: Flow, row: CellValue[], at: number): void {
      const d = slab.data;
      const f = o + FIAT, b = o + BIAT, fl = o + FLOWIAT;
      const dur = flow.lastTs - flow.firstTs;
      const secs = dur / 1e6;
      const i = at;
      row[i] = dur;
      row[i + 1] = d[f + SUM]!; row[i + 2] = d[b + SUM]!;
      // min fwd, min bwd, max fwd, max bwd, mean fwd, mean bwd, std fwd, std bwd
      iscxStat(d, f, row, i + 3, i + 7, i + 5, i + 9);
      iscxStat(d, b, row, i + 4, i + 8, i + 6, i + 10);
      row[i + 11] = secs > 0 ? iscxReal((flow.fwdPkts + flow.bwdPkts) / secs) : 0;
      row[i + 12] = secs > 0 ? iscxReal(d[o + IP_BYTES]! / secs) : 0;
      // min, max, mean, std of the flow's inter-arrival times
      iscxStat(d, fl, row, i + 13, i + 15, i + 14, i + 16);
      // active, then idle: min, mean, max, std
      iscxStat(d, o + ACTIVE, row, i + 17, i + 18, i + 19, i + 20);
      iscxStat(d, o + IDLE, row, i + 21, i + 22, i + 23, i + 24);
      slab.release(o);
    },
  };
}
