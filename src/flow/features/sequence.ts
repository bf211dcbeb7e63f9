import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';

/**
 * Early-packet sequence: sizes, directions and gaps of the first N packets (default 20), the input of the
 * sequence models. Padding after the last packet: size 0, direction 0, gap 0.
 */
interface State {
  n: number;
  len: Uint16Array;
  dir: Int8Array;
  gap: Float64Array;
  lastTs: number;
}

function buildColumns(n: number): ColumnDef[] {
  const c: ColumnDef[] = [];
  for (let i = 1; i <= n; i++) c.push(col(`seq_len_${i}`, 'feature', 'int', 'bytes', 'both', `IP length of packet ${i} of the flow (0 past the end)`));
  for (let i = 1; i <= n; i++) c.push(col(`seq_dir_${i}`, 'feature', 'int', '', 'both', `Direction of packet ${i}: 1 from the initiator, -1 from the responder, 0 past the end`));
  for (let i = 1; i <= n; i++) c.push(col(`seq_gap_${i}_us`, 'feature', 'float', 'us', 'both', `Time from packet ${i - 1} to packet ${i} (0 for the first and past the end)`));
  return c;
}

export function sequenceFamily(opts: FeatureOptions): FeatureFamily<State> {
  const N = opts.sequenceLength;
  return {
    name: 'sequence',
    description: `Sizes, directions and gaps of the first ${N} packets`,
    columns: buildColumns(N),
    init(_flow: Flow, pkt: PacketInfo): State {
      return { n: 0, len: new Uint16Array(N), dir: new Int8Array(N), gap: new Float64Array(N), lastTs: pkt.tsUs };
    },
    update(s: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      if (s.n >= N) return;
      const i = s.n++;
      s.len[i] = p.ipLen;
      s.dir[i] = dir === 0 ? 1 : -1;
      s.gap[i] = i === 0 ? 0 : Math.max(0, p.tsUs - s.lastTs);
      s.lastTs = p.tsUs;
    },
    finish(s: State, _flow: Flow, row: CellValue[], at: number): void {
      for (let i = 0; i < N; i++) {
        row[at + i] = s.len[i]!;
        row[at + N + i] = s.dir[i]!;
        row[at + 2 * N + i] = s.gap[i]!;
      }
    },
  };
}
