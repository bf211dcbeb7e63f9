/**
 * A ring of shared buffers through which one thread (the producer: the main thread reading the capture) hands
 * the same chunks of bytes, in order, to a fixed number of consumer threads (flow workers), so the file is read
 * once however many threads meter it. Chunk c lives in slot c % SLOTS until every consumer has released it.
 *
 * Shared control words (Int32Array): SEQ changes on every event (a chunk published, the end), so a consumer that
 * read it before checking for work cannot miss a wake-up; PUBLISHED counts chunks; END is 1 after the last one;
 * then per slot the chunk's length and how many consumers still hold it.
 */
/** Atomics.waitAsync (ES2024, in Node since 16), typed here: the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

const SEQ = 0;
const PUBLISHED = 1;
const END = 2;
const LEN = 3;

/** Buffers and control words of a ring, as passed to a worker in workerData. */
export interface ChunkRingMemory {
  slots: SharedArrayBuffer[];
  control: SharedArrayBuffer;
}

export function createChunkRing(slots: number, slotBytes: number): ChunkRingMemory {
  return {
    slots: Array.from({ length: slots }, () => new SharedArrayBuffer(slotBytes)),
    control: new SharedArrayBuffer(4 * (LEN + 2 * slots)),
  };
}

/** The producer's side: `acquire` waits for the next slot to be free, `publish` hands its bytes out. */
export class ChunkProducer {
  private readonly ctl: Int32Array;
  private readonly bufs: Buffer[];
  private acquired = 0;
  private published = 0;
  private failure: Error | null = null;

  constructor(memory: ChunkRingMemory, private readonly consumers: number) {
    this.ctl = new Int32Array(memory.control);
    this.bufs = memory.slots.map((s) => Buffer.from(s));
  }

  /** Makes every pending and later wait throw `err` (a consumer died). */
  fail(err: Error): void {
    this.failure ??= err;
  }

  /** The buffer for the next chunk, once no consumer holds it any more. */
  async acquire(): Promise<Buffer> {
    const s = this.acquired++ % this.bufs.length;
    const held = LEN + 2 * s + 1;
    for (;;) {
      if (this.failure) throw this.failure;
      const n = Atomics.load(this.ctl, held);
      if (n === 0) return this.bufs[s]!;
      const w = waitAsync(this.ctl, held, n, 200);
      if (w.async) await w.value;
    }
  }

  /** Hands out the next chunk: `buf` (acquired, in order) holding `len` bytes. */
  publish(buf: Buffer, len: number): void {
    const s = this.published % this.bufs.length;
    if (buf !== this.bufs[s]) throw new Error('chunk ring: chunks published out of order');
    Atomics.store(this.ctl, LEN + 2 * s, len);
    Atomics.store(this.ctl, LEN + 2 * s + 1, this.consumers);
    Atomics.store(this.ctl, PUBLISHED, ++this.published);
    this.signal();
  }

  /** No more chunks. */
  end(): void {
    Atomics.store(this.ctl, END, 1);
    this.signal();
  }

  private signal(): void {
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
  }
}

/** A consumer's side (blocking: for worker threads). */
export class ChunkConsumer {
  private readonly ctl: Int32Array;
  private readonly bufs: Buffer[];
  private next = 0;

  constructor(memory: ChunkRingMemory) {
    this.ctl = new Int32Array(memory.control);
    this.bufs = memory.slots.map((s) => Buffer.from(s));
  }

  /**
   * Waits for the next chunk and passes it to `use` (the bytes are valid during the call only), then releases it;
   * false at the end of the chunks.
   */
  take(use: (buf: Buffer, len: number) => void): boolean {
    const c = this.next;
    for (;;) {
      const seq = Atomics.load(this.ctl, SEQ);
      if (Atomics.load(this.ctl, PUBLISHED) > c) break;
      // END is stored after the last chunk is published: read the count again once it is seen.
      if (Atomics.load(this.ctl, END) === 1) {
        if (Atomics.load(this.ctl, PUBLISHED) > c) break;
        return false;
      }
      Atomics.wait(this.ctl, SEQ, seq);
    }
    const s = c % this.bufs.length;
    try {
      use(this.bufs[s]!, Atomics.load(this.ctl, LEN + 2 * s));
    } finally {
      this.next = c + 1;
      Atomics.sub(this.ctl, LEN + 2 * s + 1, 1);
      Atomics.notify(this.ctl, LEN + 2 * s + 1);
    }
    return true;
  }
}
