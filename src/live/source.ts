/**
 * A live source: tcpdump (or dumpcap) on an interface, its pcap stream cut into chunks of a shared ring
 * (flow/chunk-ring.ts, as `--workers` does for files), N worker threads that each parse every chunk and meter the
 * flows of their shard (symmetric endpoint hash mod N, so no packet crosses threads and both directions of a flow
 * land in one), classify them (early verdict at packet N, final verdict at the end) and post the records back.
 *
 * The reading thread only copies bytes, so it stays free for the API. When the workers fall behind, the ring
 * fills, the pipe stops being read, tcpdump blocks and the kernel drops packets: those drops are counted by the
 * capture tool (SIGUSR1) and by the interface (/sys/class/net/IFACE/statistics) and shown, never hidden.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { openLiveCapture, type CaptureStats, type LiveCapture } from '../wire/live.ts';
import { VeilError } from '../wire/errors.ts';
import { ChunkProducer, createChunkRing, type ChunkRingMemory } from '../flow/chunk-ring.ts';
import type { MeterOptions } from '../flow/meter.ts';
import type { LiveRecord } from './classifier.ts';

/** Slots of the ring and their size: 8 MiB of capture in flight between the reading thread and the workers. */
const RING_SLOTS = 32;
const RING_SLOT_BYTES = 256 << 10;
/** A partly filled slot is handed out after this long, so a quiet link's packets are not held back. */
const PUBLISH_MS = 25;
/** Workers tick their flow tables (idle expiry) and hand on their rows at least this often. */
const HEARTBEAT_MS = 1000;

export interface LiveSourceOptions {
  iface: string;
  filter?: string;
  /** Worker threads metering the shards (default 1). */
  workers?: number;
  /** Early verdicts at this many packets (0: none). */
  early?: number;
  meter?: MeterOptions;
  /** Models to apply: `{ column, file }` (the shipped set from models/defaults.json and the user's). */
  models?: { column: string; file: string }[];
  /** Service catalogue files merged over the shipped one. */
  catalogFiles?: string[];
  /** Kernel capture buffer (KiB) for the capture tool. */
  bufferKiB?: number;
  onRecords: (records: LiveRecord[]) => void;
  /** The capture ended by itself (the tool failed or the interface went away). */
  onEnd?: (err: Error | null) => void;
}

export interface WorkerCounters {
  packets: number;
  metered: number;
  flows: number;
  openFlows: number;
  early: number;
  final: number;
}

/** What a live source reports about itself (the dashboard's capture health). */
export interface LiveSourceStats {
  iface: string;
  filter: string;
  workers: number;
  early: number;
  state: 'starting' | 'running' | 'stopped' | 'failed';
  error: string | null;
  startedAt: number;
  /** Bytes of pcap read from the capture tool. */
  bytesRead: number;
  /** Packets every worker parsed (each parses all of them: the first worker's count). */
  packets: number;
  /** Flows ended so far over all workers, and open now. */
  flows: number;
  openFlows: number;
  earlyVerdicts: number;
  finalVerdicts: number;
  /** The capture tool's counters (tcpdump: SIGUSR1 every 2 s); null until it has answered. */
  capture: CaptureStats | null;
  /** The interface's own receive counters since the source started (null when /sys has none). */
  iface_rx: { packets: number; dropped: number } | null;
  perWorker: WorkerCounters[];
}

/** Messages from a live worker. */
export type LiveWorkerMessage =
  | { kind: 'ready' }
  | { kind: 'records'; records: LiveRecord[] }
  | { kind: 'counters'; counters: WorkerCounters }
  | { kind: 'done'; counters: WorkerCounters }
  | { kind: 'error'; message: string };

export interface LiveWorkerSetup {
  ring: ChunkRingMemory;
  shard: { index: number; count: number };
  name: string;
  early: number;
  meter: MeterOptions;
  models: { column: string; file: string }[];
  catalogFiles: string[];
}

function readIfaceCounters(iface: string): { packets: number; dropped: number } | null {
  try {
    const base = `/sys/class/net/${iface}/statistics/`;
    return { packets: Number(readFileSync(base + 'rx_packets', 'utf8')), dropped: Number(readFileSync(base + 'rx_dropped', 'utf8')) };
  } catch {
    return null;
  }
}

/**
 * @example
 * ```ts
 * const src = new LiveSource({ iface: 'eth0', workers: 2, early: 10, models, onRecords: (r) => store.add(r) });
 * await src.start();
 * // ... src.stats() ...
 * await src.stop();
 * ```
 */
export class LiveSource {
  private readonly opts: LiveSourceOptions;
  private readonly count: number;
  private readonly threads: Worker[] = [];
  private readonly counters: WorkerCounters[];
  private cap: LiveCapture | null = null;
  private producer: ChunkProducer | null = null;
  private state: LiveSourceStats['state'] = 'starting';
  private error: string | null = null;
  private bytesRead = 0;
  private readonly startedAt = Date.now();
  private ifaceBase: { packets: number; dropped: number } | null = null;
  private captureStats: CaptureStats | null = null;
  private timers: NodeJS.Timeout[] = [];
  private pump: Promise<void> = Promise.resolve();
  private finished: Promise<void>[] = [];
  private stopping = false;

  constructor(opts: LiveSourceOptions) {
    this.opts = opts;
    this.count = Math.max(1, Math.floor(opts.workers ?? 1));
    this.counters = Array.from({ length: this.count }, () => ({ packets: 0, metered: 0, flows: 0, openFlows: 0, early: 0, final: 0 }));
  }

  /** Starts the workers (models loaded), then the capture; resolves once the capture tool says it is capturing. */
  async start(): Promise<void> {
    const ring = createChunkRing(RING_SLOTS, RING_SLOT_BYTES);
    this.producer = new ChunkProducer(ring, this.count);
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.count; index++) {
      const setup: LiveWorkerSetup = {
        ring, shard: { index, count: this.count }, name: this.opts.iface, early: this.opts.early ?? 0,
        meter: this.opts.meter ?? {}, models: this.opts.models ?? [], catalogFiles: this.opts.catalogFiles ?? [],
      };
      // Built (dist/, plain JavaScript): the worker module runs as it is; from the sources, through tsx.
      const built = import.meta.url.endsWith('.js');
      const w = new Worker(new URL(built ? './worker.js' : './worker-boot.mjs', import.meta.url), {
        workerData: setup, resourceLimits: { maxYoungGenerationSizeMb: 64 }, ...(built ? { execArgv: [] } : {}),
      });
      this.threads.push(w);
      let onReady!: () => void, onFail!: (e: Error) => void;
      ready.push(new Promise<void>((res, rej) => { onReady = res; onFail = rej; }));
      this.finished.push(new Promise<void>((res) => {
        w.on('message', (m: LiveWorkerMessage) => {
          if (m.kind === 'ready') onReady();
          else if (m.kind === 'records') { if (m.records.length) this.opts.onRecords(m.records); }
          else if (m.kind === 'counters' || m.kind === 'done') this.counters[index] = m.counters;
          else if (m.kind === 'error') { onFail(new VeilError('LIVE_WORKER', m.message)); this.fail(new Error(`live worker ${index}: ${m.message}`)); }
        });
        w.on('error', (err) => { onFail(err); this.fail(err); res(); });
        w.on('exit', (code) => {
          if (code !== 0 && !this.stopping) { const e = new Error(`live worker ${index} exited with code ${code}`); onFail(e); this.fail(e); }
          res();
        });
      }));
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ifaceBase = readIfaceCounters(this.opts.iface);
    let onReady!: () => void;
    const opened = new Promise<void>((r) => { onReady = r; });
    const cap = openLiveCapture({
      iface: this.opts.iface, ...(this.opts.filter ? { filter: this.opts.filter } : {}), onReady: () => onReady(),
      ...(this.opts.bufferKiB ? { bufferKiB: this.opts.bufferKiB } : {}),
    });
    this.cap = cap;
    const reading = this.read(cap);
    const failed = reading.then(() => { throw new VeilError('LIVE_CAPTURE', this.error ?? `the capture on ${this.opts.iface} ended before it started`); });
    try {
      await Promise.race([opened, failed]);
    } catch (err) {
      await this.stop();
      this.state = 'failed';
      throw err;
    }
    failed.catch(() => {});
    this.state = 'running';
    this.timers.push(setInterval(() => this.enqueue(false), PUBLISH_MS));
    this.timers.push(setInterval(() => this.enqueue(true), HEARTBEAT_MS));
    this.timers.push(setInterval(() => { void cap.stats().then((s) => { if (s) this.captureStats = s; }); }, 2000));
    for (const t of this.timers) t.unref();
  }

  private cur: Buffer | null = null;
  private fill = 0;
  private lastPublish = 0;

  private publish(): void {
    if (!this.cur) return;
    this.producer!.publish(this.cur, this.fill);
    this.cur = null;
    this.fill = 0;
    this.lastPublish = Date.now();
  }

  /** Ring operations run one after another on one promise chain (acquire is asynchronous). */
  private enqueue(heartbeat: boolean): void {
    if (this.state !== 'running') return;
    this.pump = this.pump.then(async () => {
      if (this.fill > 0) this.publish();
      else if (heartbeat && Date.now() - this.lastPublish >= HEARTBEAT_MS) {
        this.cur ??= await this.producer!.acquire();
        this.publish();
      }
    }).catch(() => {});
  }

  private async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      this.cur ??= await this.producer!.acquire();
      const n = Math.min(this.cur.length - this.fill, chunk.length - off);
      chunk.copy(this.cur, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.cur.length) this.publish();
    }
  }

  private async read(cap: LiveCapture): Promise<void> {
    let err: Error | null = null;
    try {
      for await (const c of cap.stream as AsyncIterable<Buffer>) {
        this.bytesRead += c.length;
        const p = this.pump.then(() => this.write(c));
        this.pump = p.catch(() => {});
        await p;
      }
    } catch (e) {
      err = e as Error;
    }
    await this.pump;
    if (this.fill > 0) this.publish();
    this.producer!.end();
    if (err && !this.stopping) this.fail(err);
    else if (!this.stopping && this.state === 'running') this.state = 'stopped'; // the tool ended by itself
    if (!this.stopping) this.opts.onEnd?.(err);
  }

  private fail(err: Error): void {
    if (this.stopping) return;
    this.error ??= err.message;
    this.state = 'failed';
    void this.stop(true);
  }

  /** Stops the capture, lets the workers end every open flow (their final verdicts are posted), then ends them. */
  async stop(failed = false): Promise<void> {
    if (this.stopping) { await Promise.all(this.finished); return; }
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.cap) {
      await this.cap.stop();
      const s = this.cap.lastStats();
      if (s) this.captureStats = s;
    }
    this.producer?.end();
    const done = Promise.all(this.finished);
    const t = setTimeout(() => { for (const w of this.threads) void w.terminate(); }, 10_000);
    await done;
    clearTimeout(t);
    if (!failed && this.state !== 'failed') this.state = 'stopped';
  }

  stats(): LiveSourceStats {
    const now = readIfaceCounters(this.opts.iface);
    const sum = (k: keyof WorkerCounters) => this.counters.reduce((a, c) => a + c[k], 0);
    return {
      iface: this.opts.iface,
      filter: this.opts.filter ?? '',
      workers: this.count,
      early: this.opts.early ?? 0,
      state: this.state,
      error: this.error,
      startedAt: this.startedAt,
      bytesRead: this.bytesRead,
      packets: this.counters[0]!.packets,
      flows: sum('flows'),
      openFlows: sum('openFlows'),
      earlyVerdicts: sum('early'),
      finalVerdicts: sum('final'),
      capture: this.captureStats,
      iface_rx: now && this.ifaceBase ? { packets: now.packets - this.ifaceBase.packets, dropped: now.dropped - this.ifaceBase.dropped } : null,
      perWorker: this.counters.map((c) => ({ ...c })),
    };
  }

  /** The capture tool's counters right now (tcpdump answers SIGUSR1 within a few ms). */
  async refreshCaptureStats(): Promise<CaptureStats | null> {
    const s = this.cap && this.state === 'running' ? await this.cap.stats() : null;
    if (s) this.captureStats = s;
    return this.captureStats;
  }
}
