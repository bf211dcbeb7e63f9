/**
 * Early verdicts: what a flow is, said after its first N packets instead of when it ends.
 *
 * The meter's `packetLimit` writes a flow's row at its N-th packet with every column as of that packet (flows
 * shorter than N end as usual); `veil extract --early N` makes such tables, `veil train --early N` learns from their
 * sequence and handshake columns and records N in the model's manifest (`meter.earlyPackets`), and a live source
 * runs a second, cut meter beside the full one so that each flow gets an early verdict at packet N and its final
 * verdict when it ends (see classifier.ts).
 */
import { buildFamilies, DEFAULT_FEATURE_OPTIONS } from '../flow/features/index.ts';
import type { Table } from '../dataset/index.ts';
import { getColumn, cellValue, requireColumn, selectRows } from '../dataset/index.ts';
import { VeilError } from '../wire/errors.ts';

/** The feature families an early model learns from. */
export const EARLY_FAMILIES = ['sequence', 'handshake'] as const;

/** Largest N for `--early N`: the sequence family records the first 20 packets by default. */
export const MAX_EARLY_PACKETS = 64;

/** Parses `--early N` (a whole number of packets, 1..64). */
export function earlyPackets(s: string | number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EARLY_PACKETS) {
    throw new VeilError('BAD_ARGUMENT', `--early must be a whole number of packets from 1 to ${MAX_EARLY_PACKETS}, got '${String(s)}'`);
  }
  return n;
}

/**
 * The feature columns an early model with cut N uses, among `available`: the sequence family's first N packets
 * (sizes, directions, gaps) and the handshake family's numeric features. Never a name, address, port or time.
 */
export function earlyFeatureColumns(n: number, available: readonly string[]): string[] {
  const have = new Set(available);
  const fams = buildFamilies(EARLY_FAMILIES, { ...DEFAULT_FEATURE_OPTIONS, sequenceLength: Math.max(n, DEFAULT_FEATURE_OPTIONS.sequenceLength) });
  const out: string[] = [];
  for (const f of fams) {
    for (const c of f.columns) {
      if (c.role !== 'feature' || !have.has(c.name)) continue;
      const m = /^seq_(?:len|dir|gap)_(\d+)/.exec(c.name);
      if (m && Number(m[1]) > n) continue;
      out.push(c.name);
    }
  }
  return out;
}

/**
 * Refuses a table that was not cut at N packets: a row with more than N packets (fwd_pkts + bwd_pkts) means its
 * columns are not as of packet N, and a model learnt from it would be judged on other flows than it sees live.
 */
/** The rows of flows that reached `n` packets (the others never get an early verdict); an error when none did. */
export function rowsReachingEarly(t: Table, n: number): Table {
  const fwd = requireColumn(t, 'fwd_pkts'), bwd = requireColumn(t, 'bwd_pkts');
  const keep: number[] = [];
  for (let i = 0; i < t.rows; i++) if (Number(cellValue(fwd, i)) + Number(cellValue(bwd, i)) === n) keep.push(i);
  if (!keep.length) throw new VeilError('BAD_ARGUMENT', `${t.source}: no flow reached ${n} packets: nothing to learn early verdicts from`);
  return selectRows(t, keep);
}

export function checkEarlyTable(t: Table, n: number): void {
  const fwd = getColumn(t, 'fwd_pkts'), bwd = getColumn(t, 'bwd_pkts');
  if (!fwd || !bwd) {
    throw new VeilError('BAD_ARGUMENT', `${t.source}: --early ${n} needs the packet counts (fwd_pkts, bwd_pkts) to check the table was cut at ${n} packets: extract it with 'veil extract --early ${n}'`);
  }
  for (let i = 0; i < t.rows; i++) {
    const p = Number(cellValue(fwd, i)) + Number(cellValue(bwd, i));
    if (p > n) {
      throw new VeilError('BAD_ARGUMENT', `${t.source}: row ${i + 1} has ${p} packets, more than --early ${n}: the table was not cut at ${n} packets; extract it with 'veil extract --early ${n}'`);
    }
  }
  const seq = getColumn(t, 'seq_len_1');
  if (!seq) throw new VeilError('BAD_ARGUMENT', `${t.source}: --early ${n} learns from the sequence family (seq_len_1 ...), which this table lacks`);
}
