import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ClassifyRequest, ClassifyResult } from '../models/classify.ts';
import type { JobPayload, ProcessOutcome } from './types.ts';
import type { ClassifyOutcome, InspectOutcome, TaskFailure } from './thread.ts';
import { ServiceError, type ServiceErrorCode } from '../errors.ts';

/** A job running in the pool: its outcome, and a way to ask it to stop. */
export interface RunningTask {
  outcome: Promise<ProcessOutcome>;
  cancel(): void;
}

/**
 * Worker threads for the CPU work (metering, parsing, prediction), so the event loop that serves HTTP and renews
 * queue locks never waits on it. Threads stay alive (and keep their loaded models) while the pool lives.
 */
export class CpuPool {
  private readonly pool: Piscina;

  constructor(readonly threads: number) {
    this.pool = new Piscina({
      filename: new URL('./thread-entry.mjs', import.meta.url).href,
      // Threads start on first use and then live as long as the pool, keeping the models they loaded.
      minThreads: 0,
      maxThreads: Math.max(1, threads),
      idleTimeout: Infinity,
      // Unbounded: job backends never hand over more jobs than threads, and POST /classify requests wait their turn
      // (they are bounded by the HTTP connections in flight).
      maxQueue: Infinity,
    });
  }

  process(job: JobPayload, dataDir: string, modelDirs: string[], onProgress: (p: number) => void): RunningTask {
    const { port1, port2 } = new MessageChannel();
    // A job busy in synchronous work (a model being fitted) never turns its thread's event loop to read the port:
    // it polls this flag instead.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    port1.on('message', (m: { progress?: number }) => { if (typeof m.progress === 'number') onProgress(m.progress); });
    const outcome = (this.pool.run({ op: 'process', job, dataDir, modelDirs, port: port2, stop }, { transferList: [port2] }) as Promise<ProcessOutcome>)
      .catch((err: unknown): ProcessOutcome => ({
        ok: false,
        error: { code: 'INTERNAL', message: `worker thread failed: ${(err as Error)?.message ?? String(err)}`, userFacing: false },
      }))
      .finally(() => port1.close());
    return {
      outcome,
      cancel: () => {
        Atomics.store(stop, 0, 1);
        try { port1.postMessage('cancel'); } catch { /* already finished */ }
      },
    };
  }

  async classify(request: ClassifyRequest, modelDirs: string[]): Promise<ClassifyResult> {
    return unwrap((await this.pool.run({ op: 'classify', request, modelDirs })) as ClassifyOutcome).result;
  }

  /** Column names of an uploaded flow table, read in a pool thread (a BAD_TABLE ServiceError when it cannot be). */
  async tableColumns(file: string, kind: { format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean }, displayName: string): Promise<string[]> {
    return unwrap(await this.pool.run({ op: 'table-columns', file, kind, displayName }) as InspectOutcome).columns ?? [];
  }

  /** Loads a model file in a pool thread and throws its error (BAD_MODEL) if it is not one this server can load. */
  async checkModel(file: string, name: string): Promise<void> {
    unwrap(await this.pool.run({ op: 'check-model', file, name }) as InspectOutcome);
  }

  get queued(): number {
    return this.pool.queueSize;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** A task's outcome as the caller sees it: its value, or its error thrown again (a ServiceError when user-facing). */
function unwrap<T extends { ok: true }>(out: T | TaskFailure): T {
  if (out.ok) return out;
  if (out.error.userFacing) throw new ServiceError(out.error.code as ServiceErrorCode, out.error.message);
  throw new Error(out.error.message);
}
