import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { ActiveIdle, Online } from './online.ts';

/**
 * The ISCX VPN-nonVPN / Tor-nonTor "time-based features" (Draper-Gil et al., ICISSP 2016) under their own names
 * and units (microseconds), so that a model trained on the ISCX ARFF files applies to flows metered here.
 * Both extractions are covered: A1/B (std_fiat, std_biat) and A2 (total_fiat, total_biat). -1 stands for "no
 * active/idle period", as in the ARFF files. Read off the ARFF files themselves: the activity timeout is 1 s (the
 * smallest idle period in them is 1.00001 s), and flowBytesPerSecond counts IP bytes (two bare ACKs in 76 us give
 * 1052631.6 bytes/s = 80 bytes).
 * Meter with the flow timeout the ARFF file was cut with (15/30/60/120 s) as the active timeout: in the 15 s files
 * over a third of the flows last 14.25-15 s, so that timeout caps duration (--active-timeout 15).
 */
interface State {
  fiat: Online;
  biat: Online;
  flowiat: Online;
  last: [number, number, number];
  ipBytes: number;
  ai: ActiveIdle;
}

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

function iatOrZero(o: Online, pick: 'min' | 'max' | 'mean'): number {
  return o.n === 0 ? 0 : o[pick];
}

export function iscxFamily(_opts: FeatureOptions): FeatureFamily<State> {
  return {
    name: 'iscx',
    description: 'The ISCX VPN/Tor 2016 time-based features, with ISCX names and microsecond units',
    columns: COLUMNS,
    init(_flow: Flow, pkt: PacketInfo): State {
      return { fiat: new Online(), biat: new Online(), flowiat: new Online(), last: [-1, -1, -1], ipBytes: 0,
        ai: new ActiveIdle(ISCX_ACTIVITY_TIMEOUT_US, pkt.tsUs) };
    },
    update(s: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const ts = p.tsUs;
      const l = s.last[dir];
      if (l >= 0) (dir === 0 ? s.fiat : s.biat).add(ts - l);
      s.last[dir] = ts;
      if (s.last[2] >= 0) s.flowiat.add(ts - s.last[2]);
      s.last[2] = ts;
      s.ipBytes += p.ipLen;
      s.ai.add(ts);
    },
    finish(s: State, flow: Flow, row: CellValue[], at: number): void {
      const d = flow.lastTs - flow.firstTs;
      const secs = d / 1e6;
      let i = at;
      row[i++] = d;
      row[i++] = s.fiat.sum; row[i++] = s.biat.sum;
      row[i++] = iatOrZero(s.fiat, 'min'); row[i++] = iatOrZero(s.biat, 'min');
      row[i++] = iatOrZero(s.fiat, 'max'); row[i++] = iatOrZero(s.biat, 'max');
      row[i++] = iatOrZero(s.fiat, 'mean'); row[i++] = iatOrZero(s.biat, 'mean');
      row[i++] = s.fiat.std; row[i++] = s.biat.std;
      row[i++] = secs > 0 ? (flow.fwdPkts + flow.bwdPkts) / secs : 0;
      row[i++] = secs > 0 ? s.ipBytes / secs : 0;
      row[i++] = iatOrZero(s.flowiat, 'min'); row[i++] = iatOrZero(s.flowiat, 'max');
      row[i++] = iatOrZero(s.flowiat, 'mean'); row[i++] = s.flowiat.std;
      s.ai.close();
      const a = s.ai.active, id = s.ai.idle;
      if (a.n === 0) { row[i++] = -1; row[i++] = -1; row[i++] = -1; row[i++] = -1; }
      else { row[i++] = a.min; row[i++] = a.mean; row[i++] = a.max; row[i++] = a.std; }
      if (id.n === 0) { row[i++] = -1; row[i++] = -1; row[i++] = -1; row[i++] = -1; }
      else { row[i++] = id.min; row[i++] = id.mean; row[i++] = id.max; row[i++] = id.std; }
    },
  };
}
