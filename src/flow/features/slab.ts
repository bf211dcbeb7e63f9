/**
 * Per-flow family state kept as fixed-width records of float64 slots in one growing Float64Array. A flow's state
 * is the offset of its record (a small integer), so the state of the hundreds of thousands of flows alive at once
 * is no JavaScript object at all: nothing for the garbage collector to copy when flows outlive scavenges, which
 * they do (they live up to the idle timeout). Records are recycled: the family releases its record when it writes
 * the flow's row (the meter calls `finish` once, at the flow's end, and drops the state).
 *
 * Offsets stay valid when the slab grows, but `data` is replaced: read `slab.data` after any `alloc`.
 */
export class Slab {
  /** The slots of every record; a record is `data[offset .. offset + width)`. */
  data: Float64Array;
  private free: Int32Array;
  private freeCount = 0;
  /** First slot never handed out yet. */
  private top = 0;

  /**
   * @param width slots per record
   * @param initialRecords starts small on purpose: the slab (and its free list) then grows within the first flows,
   *   while the families' code still runs unoptimized and records that path. Growing first after the code was
   *   optimized would deoptimize every family's init and finish, and recompiling them costs more than copying.
   */
  constructor(readonly width: number, initialRecords = 16) {
    this.data = new Float64Array(width * initialRecords);
    this.free = new Int32Array(initialRecords);
  }

  /** A record's offset; its slots hold stale values: the caller sets every one. */
  alloc(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount]!;
    const at = this.top;
    if (at + this.width > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.top = at + this.width;
    return at;
  }

  /** Makes a record available again; the caller must not use the offset afterwards. */
  release(at: number): void {
    if (this.freeCount === this.free.length) {
      const grown = new Int32Array(this.free.length * 2);
      grown.set(this.free);
      this.free = grown;
    }
    this.free[this.freeCount++] = at;
  }
}
