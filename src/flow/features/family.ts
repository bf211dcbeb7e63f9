import type { PacketInfo } from '../../wire/types.ts';
import type { CellValue, ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';

/**
 * One feature family: a plugin with typed per-flow state (lifecycle init -> update per packet -> finish), as
 * nfstream's plugins. Families are independent and each can be switched off; the meter calls them in order.
 *
 * `update` is the hot path: no allocation, no strings.
 */
export interface FeatureFamily<S = unknown> {
  readonly name: string;
  readonly description: string;
  /** Columns this family writes, in order; `finish` fills exactly these. */
  readonly columns: readonly ColumnDef[];
  /** New state for a flow; called with the flow's first packet before `update` sees it. */
  init(flow: Flow, pkt: PacketInfo): S;
  /** One packet of the flow. `dir` 0 = from the initiator, 1 = from the responder. */
  update(state: S, flow: Flow, pkt: PacketInfo, dir: 0 | 1): void;
  /** Writes the family's columns into `row` starting at `at`. */
  finish(state: S, flow: Flow, row: CellValue[], at: number): void;
}

/** Options every family can read (set from the CLI). */
export interface FeatureOptions {
  /** Gap that ends an active period, microseconds (CICFlowMeter and ISCX use 5 s). */
  activityTimeoutUs: number;
  /** Number of early packets recorded by the sequence family. */
  sequenceLength: number;
  /** Gap counted as a silence window by the behaviour family, microseconds. */
  silenceUs: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = {
  activityTimeoutUs: 5_000_000,
  sequenceLength: 20,
  silenceUs: 1_000_000,
};
