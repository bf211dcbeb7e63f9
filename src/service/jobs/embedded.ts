import type { JobRegistry } from '../store/registry.ts';
import type { CpuPool, RunningTask } from './pool.ts';
import { CANCELLED } from './process.ts';
import type { JobPayload, JobQueue, QueueDepth } from './types.ts';

export interface EmbeddedOptions {
  dataDir: string;
  modelDirs: () => string[];
  /** Jobs run at once (each on one pool thread). */
  concurrency: number;
  /** Tries per job before a transient failure becomes final. */
  maxAttempts?: number;
  /** First retry delay; doubles with every attempt. */
  backoffMs?: number;
  log?: (msg: string) => void;
}

interface Running {
  payload: JobPayload;
  task: RunningTask;
  progress: number;
  lastSaved: number;
  handBack: boolean;
}

/**
 * The embedded backend: the job registry (SQLite) is the queue. A scheduler claims the oldest due job while a
 * pool thread is free and runs it there. Jobs marked running when the process starts lost their processor (crash,
 * kill): they go back to the queue and run again, replacing any partial results. Transient failures retry with
 * exponential backoff; input errors fail at once.
 */
export class EmbeddedQueue implements JobQueue {
  readonly backend = 'embedded' as const;
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private idle: (() => void) | null = null;

  constructor(private readonly reg: JobRegistry, private readonly pool: CpuPool, private readonly opts: EmbeddedOptions) {
    this.maxAttempts = opts.maxAttempts ?? 3;
    this.backoffMs = opts.backoffMs ?? 1000;
  }

  async start(): Promise<void> {
    const { resumed, failed } = this.reg.resetRunning(this.maxAttempts);
    if (failed > 0) this.opts.log?.(`failed ${failed} job(s) that were running at each of their last ${this.maxAttempts} starts (JOB_CRASHED)`);
    if (resumed > 0) this.opts.log?.(`resuming ${resumed} job(s) interrupted by the last shutdown`);
    this.timer = setInterval(() => this.schedule(), 250);
    this.timer.unref();
    this.schedule();
  }

  async enqueue(_job: JobPayload): Promise<void> {
    // The API inserted the job in the registry, which is this backend's queue: just look for work now.
    this.schedule();
  }

  async cancel(id: string): Promise<void> {
    this.running.get(id)?.task.cancel();
  }

  async depth(): Promise<QueueDepth> {
    return { ...this.reg.queuedCounts(), active: this.running.size };
  }

  async ready(): Promise<boolean> {
    return !this.closing;
  }

  progress(id: string): number | undefined {
    return this.running.get(id)?.progress;
  }

  private schedule(): void {
    while (!this.closing && this.running.size < this.opts.concurrency) {
      const claim = this.reg.claimNext();
      if (!claim) return;
      this.run(claim.payload, claim.attempts);
    }
  }

  private run(payload: JobPayload, attempts: number): void {
    const id = payload.id;
    const r: Running = {
      payload,
      progress: 0,
      lastSaved: 0,
      handBack: false,
      task: this.pool.process(payload, this.opts.dataDir, this.opts.modelDirs(), (p) => {
        r.progress = p;
        const now = Date.now();
        if (now - r.lastSaved > 1000) { r.lastSaved = now; this.reg.setProgress(id, p); }
      }),
    };
    this.running.set(id, r);
    void r.task.outcome.then((out) => {
      this.running.delete(id);
      if (r.handBack) {
        // Shutdown: the job goes back to the queue for the next start, its attempt not counted as a failure.
        this.reg.handBack(id);
      } else if (out.ok) {
        this.reg.finish(id, out.summary);
      } else if (out.error.code === CANCELLED) {
        // DELETE /jobs/:id already moved the job to its final state.
      } else if (out.error.userFacing || attempts >= this.maxAttempts) {
        this.reg.fail(id, out.error.code, out.error.userFacing ? out.error.message : `failed after ${attempts} attempts: ${firstLine(out.error.message)}`, Date.now(), out.summary ?? null);
        // Input errors by code only (their message names the uploaded file); internal ones in full, to be fixed.
        this.opts.log?.(`job ${id} failed (${out.error.code})${out.error.userFacing ? '' : `: ${out.error.message}`}`);
      } else {
        const delay = this.backoffMs * 2 ** (attempts - 1);
        this.opts.log?.(`job ${id} attempt ${attempts} failed (${firstLine(out.error.message)}); retrying in ${delay} ms`);
        this.reg.requeue(id, Date.now() + delay, { code: out.error.code, message: firstLine(out.error.message) });
      }
      if (this.running.size === 0 && this.idle) this.idle();
      this.schedule();
    });
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    if (this.running.size > 0) {
      const drained = new Promise<void>((resolve) => { this.idle = resolve; });
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        this.opts.log?.(`handing back ${this.running.size} running job(s) to the queue`);
        for (const r of this.running.values()) { r.handBack = true; r.task.cancel(); }
        await drained;
      }
    }
  }
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!;
}
