import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import {
  ACTIVE, ACTIVE_IDLE_WIDTH, activeIdleAdd, activeIdleClose, activeIdleReset, IDLE, N, STAT_WIDTH, statAdd, statReset, statWrite,
} from './online.ts';
import { Slab } from './slab.ts';

/**
 * Statistical features: counts, sizes and inter-arrival times per direction and for the whole flow, TCP flag
 * counts, initial windows and active/idle periods. Sizes are IP lengths (independent of the link layer);
 * the byte counters are frame lengths on the wire, as nDPI and tcpdump count them.
 *
 * State: one slab record per flow (see slab.ts), laid out as below; directions are 0 fwd, 1 bwd, 2 the whole flow.
 */
type State = number;

const SIZE = 0; // 3 statistics of IP lengths: fwd, bwd, flow
const IAT = SIZE + 3 * STAT_WIDTH; // 3 statistics of inter-arrival times
const LAST_TS = IAT + 3 * STAT_WIDTH; // 3 last packet times (-1: none yet)
const PAYLOAD = LAST_TS + 3; // 2 payload byte counts
const IP_BYTES = PAYLOAD + 2; // 2 IP byte counts
const FLAGS = IP_BYTES + 2; // 8 flag counts x 2 directions
const INIT_WIN = FLAGS + 16; // 2 first windows (-1: none)
const ACTIVE_IDLE = INIT_WIN + 2;
const WIDTH = ACTIVE_IDLE + ACTIVE_IDLE_WIDTH;

const FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;
const DIRS = [['fwd', 'fwd', 'from the initiator'], ['bwd', 'bwd', 'from the responder'], ['flow', 'both', 'in both directions']] as const;
const STATS = ['min', 'mean', 'std', 'max'] as const;

function buildColumns(): ColumnDef[] {
  const c: ColumnDef[] = [
    col('l4_proto', 'feature', 'int', '', 'none', 'IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)'),
    col('duration_us', 'feature', 'float', 'us', 'both', 'Time from the first to the last packet'),
    col('fwd_pkts', 'feature', 'int', 'packets', 'fwd', 'Packets from the initiator'),
    col('bwd_pkts', 'feature', 'int', 'packets', 'bwd', 'Packets from the responder'),
    col('fwd_bytes', 'feature', 'int', 'bytes', 'fwd', 'Frame bytes on the wire from the initiator (link header included, as nDPI counts)'),
    col('bwd_bytes', 'feature', 'int', 'bytes', 'bwd', 'Frame bytes on the wire from the responder'),
    col('fwd_ip_bytes', 'feature', 'int', 'bytes', 'fwd', 'IP bytes (IP total lengths) from the initiator'),
    col('bwd_ip_bytes', 'feature', 'int', 'bytes', 'bwd', 'IP bytes from the responder'),
    col('fwd_payload_bytes', 'feature', 'int', 'bytes', 'fwd', 'Transport payload bytes from the initiator'),
    col('bwd_payload_bytes', 'feature', 'int', 'bytes', 'bwd', 'Transport payload bytes from the responder'),
  ];
  for (const [d, dir, what] of DIRS) {
    for (const s of STATS) c.push(col(`${d}_pkt_len_${s}`, 'feature', 'float', 'bytes', dir, `${s} of IP packet lengths ${what}`));
  }
  for (const [d, dir, what] of DIRS) {
    for (const s of STATS) c.push(col(`${d}_iat_${s}_us`, 'feature', 'float', 'us', dir, `${s} of inter-arrival times between packets ${what} (0 with fewer than two packets)`));
  }
  for (const [d, dir, what] of DIRS.slice(0, 2)) {
    for (const f of FLAG_NAMES) c.push(col(`${d}_${f}_count`, 'feature', 'int', 'packets', dir, `TCP packets ${what} with the ${f.toUpperCase()} flag`));
  }
  c.push(
    col('fwd_init_win', 'feature', 'int', 'bytes', 'fwd', 'TCP window of the initiator\'s first packet (-1 if none or not TCP)'),
    col('bwd_init_win', 'feature', 'int', 'bytes', 'bwd', 'TCP window of the responder\'s first packet (-1 if none or not TCP)'),
  );
  for (const k of ['active', 'idle'] as const) {
    for (const s of STATS) {
      c.push(col(`${k}_${s}_us`, 'feature', 'float', 'us', 'both',
        `${s} of ${k} periods (a gap above the activity timeout, default 5 s, ends an active period and is an idle one); 0 when none`));
    }
  }
  c.push(col('active_count', 'feature', 'int', 'count', 'both', 'Number of active periods'));
  return c;
}

export function statsFamily(opts: FeatureOptions): FeatureFamily<State> {
  const columns = buildColumns();
  const timeoutUs = opts.activityTimeoutUs;
  const slab = new Slab(WIDTH);
  return {
    name: 'stats',
    description: 'Counts, packet sizes, inter-arrival times, TCP flags, initial windows, active/idle periods',
    columns,
    init(_flow: Flow, pkt: PacketInfo): State {
      const o = slab.alloc();
      const d = slab.data;
      for (let k = 0; k < 3; k++) {
        statReset(d, o + SIZE + k * STAT_WIDTH);
        statReset(d, o + IAT + k * STAT_WIDTH);
        d[o + LAST_TS + k] = -1;
      }
      d.fill(0, o + PAYLOAD, o + INIT_WIN);
      d[o + INIT_WIN] = -1;
      d[o + INIT_WIN + 1] = -1;
      activeIdleReset(d, o + ACTIVE_IDLE, pkt.tsUs);
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const d = slab.data;
      const ts = p.tsUs;
      const len = p.ipLen;
      statAdd(d, o + SIZE + dir * STAT_WIDTH, len);
      statAdd(d, o + SIZE + 2 * STAT_WIDTH, len);
      const last = d[o + LAST_TS + dir]!;
      if (last >= 0) statAdd(d, o + IAT + dir * STAT_WIDTH, ts - last);
      d[o + LAST_TS + dir] = ts;
      const lastAny = d[o + LAST_TS + 2]!;
      if (lastAny >= 0) statAdd(d, o + IAT + 2 * STAT_WIDTH, ts - lastAny);
      d[o + LAST_TS + 2] = ts;
      d[o + PAYLOAD + dir]! += p.payloadLen;
      d[o + IP_BYTES + dir]! += len;
      if (p.proto === 6) {
        const fl = p.tcpFlags, base = o + FLAGS + dir * 8;
        if (fl !== 0) for (let i = 0; i < 8; i++) if (fl & (1 << i)) d[base + i]!++;
        if (d[o + INIT_WIN + dir]! < 0) d[o + INIT_WIN + dir] = p.tcpWindow;
      }
      activeIdleAdd(d, o + ACTIVE_IDLE, ts, timeoutUs);
    },
    finish(o: State, flow: Flow, row: CellValue[], at: number): void {
      const d = slab.data;
      let i = at;
      row[i++] = flow.proto;
      row[i++] = flow.lastTs - flow.firstTs;
      row[i++] = flow.fwdPkts; row[i++] = flow.bwdPkts;
      row[i++] = flow.fwdBytes; row[i++] = flow.bwdBytes;
      row[i++] = d[o + IP_BYTES]!; row[i++] = d[o + IP_BYTES + 1]!;
      row[i++] = d[o + PAYLOAD]!; row[i++] = d[o + PAYLOAD + 1]!;
      for (let k = 0; k < 3; k++) { statWrite(d, o + SIZE + k * STAT_WIDTH, row, i, 0); i += 4; }
      for (let k = 0; k < 3; k++) { statWrite(d, o + IAT + k * STAT_WIDTH, row, i, 0); i += 4; }
      for (let k = 0; k < 16; k++) row[i++] = d[o + FLAGS + k]!;
      row[i++] = d[o + INIT_WIN]!; row[i++] = d[o + INIT_WIN + 1]!;
      activeIdleClose(d, o + ACTIVE_IDLE);
      statWrite(d, o + ACTIVE_IDLE + ACTIVE, row, i, 0); i += 4;
      statWrite(d, o + ACTIVE_IDLE + IDLE, row, i, 0); i += 4;
      row[i++] = d[o + ACTIVE_IDLE + ACTIVE + N]!;
      slab.release(o);
    },
  };
}
