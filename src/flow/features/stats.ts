import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { ActiveIdle, Online } from './online.ts';

/**
 * Statistical features: counts, sizes and inter-arrival times per direction and for the whole flow, TCP flag
 * counts, initial windows and active/idle periods. Sizes are IP lengths (independent of the link layer);
 * the byte counters are frame lengths on the wire, as nDPI and tcpdump count them.
 */
interface State {
  size: [Online, Online, Online]; // fwd, bwd, flow
  iat: [Online, Online, Online];
  lastTs: [number, number, number];
  payload: [number, number];
  ipBytes: [number, number];
  flags: Uint32Array; // 8 flags x 2 directions
  initWin: [number, number];
  activeIdle: ActiveIdle;
}

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
  return {
    name: 'stats',
    description: 'Counts, packet sizes, inter-arrival times, TCP flags, initial windows, active/idle periods',
    columns,
    init(_flow: Flow, pkt: PacketInfo): State {
      return {
        size: [new Online(), new Online(), new Online()],
        iat: [new Online(), new Online(), new Online()],
        lastTs: [-1, -1, -1],
        payload: [0, 0],
        ipBytes: [0, 0],
        flags: new Uint32Array(16),
        initWin: [-1, -1],
        activeIdle: new ActiveIdle(opts.activityTimeoutUs, pkt.tsUs),
      };
    },
    update(s: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const ts = p.tsUs;
      s.size[dir].add(p.ipLen);
      s.size[2].add(p.ipLen);
      const last = s.lastTs[dir];
      if (last >= 0) s.iat[dir].add(ts - last);
      s.lastTs[dir] = ts;
      const lastAny = s.lastTs[2];
      if (lastAny >= 0) s.iat[2].add(ts - lastAny);
      s.lastTs[2] = ts;
      s.payload[dir] += p.payloadLen;
      s.ipBytes[dir] += p.ipLen;
      if (p.proto === 6) {
        const fl = p.tcpFlags, base = dir * 8;
        if (fl !== 0) for (let i = 0; i < 8; i++) if (fl & (1 << i)) s.flags[base + i]!++;
        if (s.initWin[dir] < 0) s.initWin[dir] = p.tcpWindow;
      }
      s.activeIdle.add(ts);
    },
    finish(s: State, flow: Flow, row: CellValue[], at: number): void {
      let i = at;
      row[i++] = flow.proto;
      row[i++] = flow.lastTs - flow.firstTs;
      row[i++] = flow.fwdPkts; row[i++] = flow.bwdPkts;
      row[i++] = flow.fwdBytes; row[i++] = flow.bwdBytes;
      row[i++] = s.ipBytes[0]; row[i++] = s.ipBytes[1];
      row[i++] = s.payload[0]; row[i++] = s.payload[1];
      for (const o of s.size) { o.write(row, i, 0); i += 4; }
      for (const o of s.iat) { o.write(row, i, 0); i += 4; }
      for (let k = 0; k < 16; k++) row[i++] = s.flags[k]!;
      row[i++] = s.initWin[0]; row[i++] = s.initWin[1];
      s.activeIdle.close();
      s.activeIdle.active.write(row, i, 0); i += 4;
      s.activeIdle.idle.write(row, i, 0); i += 4;
      row[i++] = s.activeIdle.active.n;
    },
  };
}
