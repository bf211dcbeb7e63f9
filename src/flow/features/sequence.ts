import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily, FeatureOptions } from './family.ts';
import { Slab } from './slab.ts';

/**
 * Early-packet sequence: sizes, directions and gaps of the first N packets (default 20), the input of the
 * sequence models. Padding after the last packet: size 0, direction 0, gap 0.
 *
 * State: one slab record per flow (see slab.ts): the packet count, the last packet's time, then N sizes (IP length
 * modulo 2^16, as a 16-bit field holds it), N directions (1 / -1) and N gaps.
 */
type State = number;

const COUNT = 0;
const LAST_TS = 1;
const LEN = 2;

function buildColumns(n: number): ColumnDef[] {
  const c: ColumnDef[] = [];
  for (let i = 1; i <= n; i++) c.push(col(`seq_len_${i}`, 'feature', 'int', 'bytes', 'both', `IP length of packet ${i} of the flow (0 past the end)`));
  for (let i = 1; i <= n; i++) c.push(col(`seq_dir_${i}`, 'feature', 'int', '', 'both', `Direction of packet ${i}: 1 from the initiator, -1 from the responder, 0 past the end`));
  for (let i = 1; i <= n; i++) c.push(col(`seq_gap_${i}_us`, 'feature', 'float', 'us', 'both', `Time from packet ${i - 1} to packet ${i} (0 for the first and past the end)`));
  return c;
}

export function sequenceFamily(opts: FeatureOptions): FeatureFamily<State> {
  const N = opts.sequenceLength;
  const DIR = LEN + N, GAP = LEN + 2 * N;
  const slab = new Slab(LEN + 3 * N);
  return {
    name: 'sequence',
    description: `Sizes, directions and gaps of the first ${N} packets`,
    columns: buildColumns(N),
    init(_flow: Flow, pkt: PacketInfo): State {
      const o = slab.alloc();
      const d = slab.data;
      d.fill(0, o, o + slab.width);
      d[o + LAST_TS] = pkt.tsUs;
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const d = slab.data;
      const i = d[o + COUNT]!;
      if (i >= N) return;
      d[o + COUNT] = i + 1;
      d[o + LEN + i] = p.ipLen & 0xffff;
      d[o + DIR + i] = dir === 0 ? 1 : -1;
      d[o + GAP + i] = i === 0 ? 0 : Math.max(0, p.tsUs - d[o + LAST_TS]!);
      d[o + LAST_TS] = p.tsUs;
    },
    finish(o: State, _flow: Flow, row: CellValue[], at: number): void {
      const d = slab.data;
      for (let i = 0; i < N; i++) {
        row[at + i] = d[o + LEN + i]!;
        row[at + N + i] = d[o + DIR + i]!;
        row[at + 2 * N + i] = d[o + GAP + i]!;
      }
      slab.release(o);
    },
  };
}
