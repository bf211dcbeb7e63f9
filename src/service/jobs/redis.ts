import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { DelayedError, Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { JobRegistry } from '../store/registry.ts';
import { hasResults, ResultReader } from '../store/results.ts';
import { CpuPool, type RunningTask } from './pool.ts';
import { CANCELLED } from './process.ts';
import type { JobPayload, JobQueue, JobSummary, QueueDepth } from './types.ts';

/**
 * The Redis backend: `veil serve --redis URL` enqueues on BullMQ, `veil worker --redis URL` processes, on any
 * number of machines.
 *
 * Where things live, and why:
 * - Uploads and results are files in the data dir, which serve and every worker mount (shared storage: NFS, a
 *   cluster volume). Uploads can be a gigabyte: putting them through Redis would hold them in the broker's memory,
 *   so they travel as files and only their relative path goes in the job. Results go beside them for the same
 *   reason (a million flows is hundreds of MB), written per job to a temporary file and renamed over
 *   `results/<id>.sqlite` when complete: atomic and idempotent by job id, so a retried, recovered (stalled) or
 *   duplicated run replaces the results, never adds to them, and they survive a Redis that loses its data.
 * - Redis holds only the queue (job payloads of a few hundred bytes, states, locks, progress).
 * - The API server's registry (SQLite) is the source of truth for jobs: it mirrors BullMQ's states from queue
 *   events and a reconciliation pass, and re-enqueues whatever Redis forgot (a restart without persistence), so no
 *   job is lost with the broker.
 */

export const QUEUE_NAME = 'veil-jobs';
const ATTEMPTS = 3;
const BACKOFF_MS = 1000;
const RECONCILE_MS = 1000;

/** Key a cancelled job's id is written under; workers poll it while they run the job. */
function cancelKey(prefix: string, id: string): string {
  return `${prefix}:${QUEUE_NAME}:veil-cancel:${id}`;
}

/** Failure reasons carry the registry code: `CODE: message`. */
export function parseReason(reason: string | undefined): { code: string; message: string } {
  const m = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1]!, message: m[2]! } : { code: 'INTERNAL', message: reason || 'failed' };
}

export interface RedisQueueOptions {
  url: string;
  prefix: string;
  dataDir: string;
  retentionMs: number;
  log: (msg: string) => void;
}

/** Server side of the Redis backend. */
export class RedisQueue implements JobQueue {
  readonly backend = 'redis' as const;
  private readonly conn: Redis;
  /** Commands that must fail fast while Redis is down (enqueue, health), instead of waiting in ioredis's queue. */
  private readonly fast: Redis;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly live = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private reconciling = false;
  private closed = false;

  constructor(private readonly reg: JobRegistry, private readonly opts: RedisQueueOptions) {
    this.conn = new Redis(opts.url, { maxRetriesPerRequest: null });
    this.fast = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    for (const c of [this.conn, this.fast]) c.on('error', () => { /* ioredis reconnects; state shows in /readyz */ });
    this.queue = new Queue(QUEUE_NAME, { connection: this.conn, prefix: opts.prefix });
    this.queue.on('error', () => {});
    this.events = new QueueEvents(QUEUE_NAME, { connection: { url: opts.url, maxRetriesPerRequest: null }, prefix: opts.prefix });
    this.events.on('error', () => {});
  }

  async start(): Promise<void> {
    // Each start counts, a worker's takeover of a stalled job too (BullMQ's attemptsStarted; attemptsMade counts
    // only failures).
    this.events.on('active', ({ jobId }) => {
      this.reg.markRunning(jobId, 1);
      void Job.fromId(this.queue, jobId).then((bj) => { if (bj) this.reg.markRunning(jobId, bj.attemptsStarted || bj.attemptsMade + 1); }, () => {});
    });
    this.events.on('progress', ({ jobId, data }) => { if (typeof data === 'number') this.live.set(jobId, data); });
    this.events.on('completed', ({ jobId }) => { void this.refresh(jobId); });
    this.events.on('failed', ({ jobId }) => { void this.refresh(jobId); });
    this.timer = setInterval(() => { void this.reconcile(); }, RECONCILE_MS);
    this.timer.unref();
    void this.reconcile();
  }

  async enqueue(job: JobPayload): Promise<void> {
    if (this.fast.status !== 'ready') throw new Error(`redis is ${this.fast.status}`);
    await this.add(job);
  }

  private async add(job: JobPayload): Promise<void> {
    const age = Math.ceil(this.opts.retentionMs / 1000);
    await this.queue.add('job', job, {
      jobId: job.id,
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delay: BACKOFF_MS },
      removeOnComplete: { age },
      removeOnFail: { age },
    });
  }

  async cancel(id: string): Promise<void> {
    this.live.delete(id);
    try {
      await this.fast.set(cancelKey(this.opts.prefix, id), '1', 'EX', 3600);
      const j = await this.queue.getJob(id);
      // A waiting or delayed job goes at once; an active one is locked by its worker, which sees the cancel key.
      if (j && !(await j.isActive())) await j.remove().catch(() => {});
    } catch (err) {
      this.opts.log(`cancel ${id}: ${(err as Error).message} (the worker's result will be discarded)`);
    }
  }

  async depth(): Promise<QueueDepth> {
    const c = await this.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    return { waiting: (c.wait ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  async ready(): Promise<boolean> {
    if (this.fast.status !== 'ready') return false;
    return (await Promise.race([this.fast.ping(), sleep(1500).then(() => 'timeout')])) === 'PONG';
  }

  progress(id: string): number | undefined {
    return this.live.get(id);
  }

  /** Brings one in-flight registry job up to date with Redis (and the result store). */
  private async refresh(id: string): Promise<void> {
    const rec = this.reg.get(id);
    if (!rec || (rec.state !== 'queued' && rec.state !== 'running')) return;
    const bj = await this.queue.getJob(id);
    if (!bj) {
      const summary = storedSummary(this.opts.dataDir, id);
      if (summary) {
        this.finish(id, summary);
        return;
      }
      const payload = this.reg.payload(id);
      if (!payload || this.fast.status !== 'ready') return;
      // Redis lost the job (restart without persistence, flush) or never got it (enqueued while Redis was down).
      this.opts.log(`job ${id}: not in Redis, enqueuing it again`);
      this.reg.requeue(id, 0, null);
      await this.add(payload);
      return;
    }
    const state = await bj.getState();
    if (state === 'completed') {
      this.finish(id, storedSummary(this.opts.dataDir, id) ?? (bj.returnvalue as JobSummary));
    } else if (state === 'failed') {
      const { code, message } = parseReason(bj.failedReason);
      if (code !== CANCELLED) this.reg.fail(id, code, message, Date.now(), storedSummary(this.opts.dataDir, id));
      this.live.delete(id);
    } else if (state === 'active') {
      this.reg.markRunning(id, bj.attemptsStarted || bj.attemptsMade + 1);
      if (typeof bj.progress === 'number') this.live.set(id, bj.progress);
    } else if (rec.state === 'running') {
      // Back in wait/delayed: a retry after a transient failure, a stalled job, a hand-back at shutdown.
      this.reg.requeue(id, 0, bj.failedReason ? parseReason(bj.failedReason) : null);
      this.live.delete(id);
    }
  }

  private finish(id: string, summary: JobSummary): void {
    this.live.delete(id);
    this.reg.finish(id, summary);
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling || this.closed || this.conn.status !== 'ready') return;
    this.reconciling = true;
    try {
      for (const j of this.reg.inflight()) {
        if (this.closed) break;
        await this.refresh(j.id);
      }
    } catch (err) {
      this.opts.log(`reconcile: ${(err as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  async close(_graceMs: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.conn.disconnect();
    this.fast.disconnect();
  }
}

function storedSummary(dataDir: string, id: string): JobSummary | null {
  if (!hasResults(dataDir, id)) return null;
  const r = ResultReader.open(dataDir, id);
  if (!r) return null;
  try { return r.summary; } finally { r.close(); }
}

/** `veil-<host>-<pid>`. */
export function workerName(pid = process.pid): string {
  return `veil-${hostname()}-${pid}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

export interface RedisWorkerOptions {
  url: string;
  prefix: string;
  dataDir: string;
  modelDirs: string[];
  concurrency: number;
  /** How long a job's lock lives without renewal: a killed worker's job is taken over after about this long. */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (jobs whose worker died). */
  stalledIntervalMs?: number;
  log: (msg: string) => void;
}

interface Active {
  task: RunningTask;
  handBack: boolean;
}

/**
 * `veil worker`: takes jobs from BullMQ and runs them on its own worker threads (which load each model once and
 * keep it). Progress goes to the job; a cancel key stops it; input errors fail the job at once
 * (UnrecoverableError), other failures retry with exponential backoff; a job whose worker died is taken over by
 * another worker's stalled-job check; on close, running jobs finish within the grace period or are handed back.
 */
export class RedisJobWorker {
  private readonly conn: Redis;
  private readonly pool: CpuPool;
  private worker: Worker | null = null;
  private readonly active = new Map<string, Active>();
  processed = 0;

  constructor(private readonly opts: RedisWorkerOptions) {
    this.conn = new Redis(opts.url, { maxRetriesPerRequest: null });
    this.conn.on('error', () => {});
    this.pool = new CpuPool(opts.concurrency);
  }

  start(): void {
    const lockDuration = this.opts.lockDurationMs ?? 30_000;
    this.worker = new Worker(QUEUE_NAME, (job, token) => this.process(job as Job<JobPayload>, token), {
      // Recorded on each job it takes (processedBy): which machine and process ran it.
      name: workerName(),
      connection: this.conn,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      lockDuration,
      stalledInterval: this.opts.stalledIntervalMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
      maxStalledCount: 2,
      // Long polls end every few seconds so a Redis restart is noticed quickly.
      drainDelay: 2,
    });
    this.worker.on('error', (err) => this.opts.log(`worker: ${err.message}`));
    this.worker.on('failed', (job, err) => {
      if (job && !(err instanceof DelayedError)) this.opts.log(`job ${job.id} attempt ${job.attemptsMade}: ${err.message.split('\n', 1)[0]}`);
    });
  }

  private async process(job: Job<JobPayload>, token: string | undefined): Promise<JobSummary> {
    const payload = job.data;
    const id = payload.id;
    let lastProgress = 0;
    const a: Active = {
      handBack: false,
      task: this.pool.process(payload, this.opts.dataDir, this.opts.modelDirs, (p) => {
        const now = Date.now();
        if (now - lastProgress < 500) return;
        lastProgress = now;
        job.updateProgress(p).catch(() => {});
      }),
    };
    this.active.set(id, a);
    const poll = setInterval(() => {
      this.conn.exists(cancelKey(this.opts.prefix, id)).then((n) => { if (n) a.task.cancel(); }, () => {});
    }, 1000);
    try {
      const out = await a.task.outcome;
      if (a.handBack) {
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (out.ok) {
        this.processed++;
        return out.summary;
      }
      const reason = `${out.error.code}: ${out.error.message.split('\n', 1)[0]}`;
      if (out.error.userFacing || out.error.code === CANCELLED) throw new UnrecoverableError(reason);
      throw new Error(reason);
    } finally {
      clearInterval(poll);
      this.active.delete(id);
    }
  }

  get running(): number {
    return this.active.size;
  }

  /** Stops taking jobs; running ones get `graceMs` to finish, then go back to the queue for another worker. */
  async close(graceMs: number): Promise<void> {
    const w = this.worker;
    if (w) {
      const closing = w.close();
      const timedOut = await Promise.race([closing.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut) {
        this.opts.log(`handing back ${this.active.size} running job(s)`);
        for (const a of this.active.values()) { a.handBack = true; a.task.cancel(); }
        await closing;
      }
    }
    await this.pool.close();
    this.conn.disconnect();
  }
}
