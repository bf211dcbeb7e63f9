/**
 * Reassembles one direction's CRYPTO stream from frames that arrive out of order, repeated or overlapping,
 * across packets and datagrams, and hands out the contiguous prefix as it grows. Memory is bounded.
 */
export class CryptoReassembler {
  /** Bytes delivered so far (the next expected offset). */
  delivered = 0;
  /** Set when the limit was hit: the stream is abandoned. */
  overflow = false;
  private pending: { offset: number; data: Uint8Array }[] = [];
  private pendingBytes = 0;
  private readonly limit: number;
  private readonly sink: (data: Uint8Array) => void;

  constructor(limit: number, sink: (data: Uint8Array) => void) {
    this.limit = limit;
    this.sink = sink;
  }

  /** True when data beyond a hole is waiting. */
  get hasGap(): boolean {
    return this.pending.length > 0;
  }

  push(offset: number, data: Uint8Array): void {
    if (this.overflow || data.length === 0) return;
    const end = offset + data.length;
    if (end <= this.delivered) return;
    if (end > this.limit) {
      this.overflow = true;
      this.pending = [];
      return;
    }
    if (offset <= this.delivered) {
      this.deliver(data.subarray(this.delivered - offset));
      this.drain();
      return;
    }
    if (this.pendingBytes + data.length + this.delivered > this.limit) {
      this.overflow = true;
      this.pending = [];
      return;
    }
    const copy = new Uint8Array(data); // a copy (Buffer#slice would be a view)
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.offset > offset) i--;
    this.pending.splice(i, 0, { offset, data: copy });
    this.pendingBytes += copy.length;
  }

  private deliver(d: Uint8Array): void {
    this.delivered += d.length;
    this.sink(d);
  }

  private drain(): void {
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      if (p.offset > this.delivered) return;
      this.pending.shift();
      this.pendingBytes -= p.data.length;
      const end = p.offset + p.data.length;
      if (end > this.delivered) this.deliver(p.data.subarray(this.delivered - p.offset));
    }
  }
}
