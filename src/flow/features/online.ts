/**
 * Online statistics (Welford): min, max, mean and sample standard deviation without keeping the values.
 * One instance per statistic per flow; `add` allocates nothing.
 */
export class Online {
  n = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;

  add(x: number): void {
    this.n++;
    this.sum += x;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Sample standard deviation (n - 1), 0 for fewer than two values: the convention of CICFlowMeter/ISCX. */
  get std(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
  }

  /** Writes min, mean, std, max into `row` at `at`; `empty` stands for all four when no value was added. */
  write(row: unknown[], at: number, empty: number): void {
    if (this.n === 0) { row[at] = empty; row[at + 1] = empty; row[at + 2] = empty; row[at + 3] = empty; return; }
    row[at] = this.min; row[at + 1] = this.mean; row[at + 2] = this.std; row[at + 3] = this.max;
  }
}

/**
 * Active/idle periods as CICFlowMeter and ISCX's flow meter define them: a gap longer than the activity timeout
 * ends an active period (its length is recorded when positive) and is itself an idle period.
 */
export class ActiveIdle {
  readonly active = new Online();
  readonly idle = new Online();
  private startActive = 0;
  private endActive = 0;

  constructor(private readonly timeoutUs: number, ts: number) {
    this.startActive = ts;
    this.endActive = ts;
  }

  add(ts: number): void {
    if (ts - this.endActive > this.timeoutUs) {
      const a = this.endActive - this.startActive;
      if (a > 0) this.active.add(a);
      this.idle.add(ts - this.endActive);
      this.startActive = ts;
      this.endActive = ts;
    } else if (ts > this.endActive) {
      this.endActive = ts;
    }
  }

  /** Closes the last active period; call once at the end of the flow. */
  close(): void {
    const a = this.endActive - this.startActive;
    if (a > 0) this.active.add(a);
    this.startActive = this.endActive;
  }
}
