/**
 * Online statistics (Welford) kept in slab slots (see slab.ts): min, max, mean, sum and sample standard deviation
 * without keeping the values. A statistic takes {@link STAT_WIDTH} consecutive slots; the helpers allocate nothing.
 */

/** Slot offsets within one statistic. */
export const N = 0, MEAN = 1, M2 = 2, MIN = 3, MAX = 4, SUM = 5;
export const STAT_WIDTH = 6;

/** An empty statistic at `o`. */
export function statReset(d: Float64Array, o: number): void {
  d[o + N] = 0;
  d[o + MEAN] = 0;
  d[o + M2] = 0;
  d[o + MIN] = Infinity;
  d[o + MAX] = -Infinity;
  d[o + SUM] = 0;
}

export function statAdd(d: Float64Array, o: number, x: number): void {
  const n = d[o + N]! + 1;
  d[o + N] = n;
  d[o + SUM]! += x;
  const mean = d[o + MEAN]!;
  const delta = x - mean;
  const next = mean + delta / n;
  d[o + MEAN] = next;
  d[o + M2]! += delta * (x - next);
  if (x < d[o + MIN]!) d[o + MIN] = x;
  if (x > d[o + MAX]!) d[o + MAX] = x;
}

/** Sample standard deviation (n - 1), 0 for fewer than two values: the convention of CICFlowMeter/ISCX. */
export function statStd(d: Float64Array, o: number): number {
  const n = d[o + N]!;
  return n > 1 ? Math.sqrt(d[o + M2]! / (n - 1)) : 0;
}

/** Writes min, mean, std, max into `row` at `at`; `empty` stands for all four when no value was added. */
export function statWrite(d: Float64Array, o: number, row: unknown[], at: number, empty: number): void {
  if (d[o + N] === 0) { row[at] = empty; row[at + 1] = empty; row[at + 2] = empty; row[at + 3] = empty; return; }
  row[at] = d[o + MIN]; row[at + 1] = d[o + MEAN]; row[at + 2] = statStd(d, o); row[at + 3] = d[o + MAX];
}

/*
 * Active/idle periods as CICFlowMeter and ISCX's flow meter define them: a gap longer than the activity timeout
 * ends an active period (its length is recorded when positive) and is itself an idle period. Slots: the active
 * and idle statistics, then the start and end of the current active period.
 */
export const ACTIVE = 0, IDLE = STAT_WIDTH, START_ACTIVE = 2 * STAT_WIDTH, END_ACTIVE = 2 * STAT_WIDTH + 1;
export const ACTIVE_IDLE_WIDTH = 2 * STAT_WIDTH + 2;

export function activeIdleReset(d: Float64Array, o: number, ts: number): void {
  statReset(d, o + ACTIVE);
  statReset(d, o + IDLE);
  d[o + START_ACTIVE] = ts;
  d[o + END_ACTIVE] = ts;
}

export function activeIdleAdd(d: Float64Array, o: number, ts: number, timeoutUs: number): void {
  const end = d[o + END_ACTIVE]!;
  if (ts - end > timeoutUs) {
    const a = end - d[o + START_ACTIVE]!;
    if (a > 0) statAdd(d, o + ACTIVE, a);
    statAdd(d, o + IDLE, ts - end);
    d[o + START_ACTIVE] = ts;
    d[o + END_ACTIVE] = ts;
  } else if (ts > end) {
    d[o + END_ACTIVE] = ts;
  }
}

/** Closes the last active period; call once at the end of the flow. */
export function activeIdleClose(d: Float64Array, o: number): void {
  const a = d[o + END_ACTIVE]! - d[o + START_ACTIVE]!;
  if (a > 0) statAdd(d, o + ACTIVE, a);
  d[o + START_ACTIVE] = d[o + END_ACTIVE]!;
}
