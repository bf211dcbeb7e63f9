/** Where a reassembled stream goes (the TLS record layer). */
export interface StreamSink {
  push(data: Uint8Array): void;
}

/**
 * One direction of a TCP byte stream rebuilt from segments by sequence number: out-of-order segments are
 * buffered (copied), retransmissions and overlaps trimmed (first copy wins), sequence numbers compared modulo
 * 2^32. Memory is bounded: past `limit` bytes (delivered plus buffered) the direction gives up.
 */
export class TcpReassembler {
  /** Bytes handed to the sink so far. */
  delivered = 0;
  /** Set when the byte limit was reached; later segments are ignored. */
  overflow = false;
  /** Set by the owner when it needs no more bytes; later segments are ignored at no cost. */
  closed = false;
  /** Segments entirely before the stream start or already delivered (retransmissions). */
  duplicates = 0;
  private next = 0;
  private synced = false;
  private pending: { seq: number; data: Uint8Array }[] = [];
  private pendingBytes = 0;
  private readonly limit: number;
  private readonly sink: StreamSink;

  /** @param sink receives the stream's bytes in order (views valid during the call) */
  constructor(limit: number, sink: StreamSink) {
    this.limit = limit;
    this.sink = sink;
  }

  /** True while bytes beyond a hole wait for the missing segment. */
  get hasGap(): boolean {
    return this.pending.length > 0;
  }

  /**
   * @param seq sequence number of the segment's first byte (of the SYN itself when `syn`)
   * @param payload valid during the call only
   */
  push(seq: number, syn: boolean, payload: Uint8Array): void {
    if (this.closed || this.overflow) return;
    let s = seq >>> 0;
    if (syn) {
      // The SYN occupies one sequence number; data on a SYN (TCP Fast Open) starts after it.
      s = (s + 1) >>> 0;
      if (!this.synced) {
        this.next = s;
        this.synced = true;
      }
    }
    if (payload.length === 0) return;
    if (!this.synced) {
      // Without the SYN the first data segment seen marks the start of the stream.
      this.next = s;
      this.synced = true;
    }
    let d = (s - this.next) | 0;
    if (d + payload.length <= 0) {
      this.duplicates++;
      return;
    }
    let data = payload;
    if (d < 0) {
      data = data.subarray(-d);
      d = 0;
    }
    if (d === 0) {
      this.deliver(data);
      this.drain();
      return;
    }
    if (d >= this.limit || this.delivered + this.pendingBytes + data.length > this.limit) {
      this.giveUp();
      return;
    }
    const copy = new Uint8Array(data); // a copy: the payload view lives in the reader's reused buffer
    let i = this.pending.length;
    while (i > 0 && ((this.pending[i - 1]!.seq - this.next) | 0) > d) i--;
    this.pending.splice(i, 0, { seq: s, data: copy });
    this.pendingBytes += copy.length;
  }

  private giveUp(): void {
    this.overflow = true;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private deliver(d: Uint8Array): void {
    if (this.delivered + d.length > this.limit) {
      const room = this.limit - this.delivered;
      if (room > 0) {
        this.delivered += room;
        this.next = (this.next + room) >>> 0;
        this.sink.push(d.subarray(0, room));
      }
      this.giveUp();
      return;
    }
    this.delivered += d.length;
    this.next = (this.next + d.length) >>> 0;
    this.sink.push(d);
  }

  private drain(): void {
    while (this.pending.length > 0 && !this.closed && !this.overflow) {
      const p = this.pending[0]!;
      const d = (p.seq - this.next) | 0;
      if (d > 0) return;
      this.pending.shift();
      this.pendingBytes -= p.data.length;
      if (d + p.data.length <= 0) {
        this.duplicates++;
        continue;
      }
      this.deliver(p.data.subarray(-d));
    }
  }
}
