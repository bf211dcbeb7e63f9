import { Piscina } from 'piscina';
import type { TreeTask } from './tasks.ts';
import { runTask } from './tasks.ts';

/**
 * The worker pool that grows trees. One pool per process, sized by the largest thread count asked for; idle
 * workers exit on their own so a finished command does not hang. With one thread, tasks run in this thread.
 */
let pool: Piscina | null = null;
let poolThreads = 0;

function getPool(threads: number): Piscina {
  if (pool && poolThreads >= threads) return pool;
  if (pool) void pool.destroy();
  poolThreads = threads;
  pool = new Piscina({
    filename: new URL('./worker.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 2000,
  });
  return pool;
}

/** Runs tasks on up to `threads` threads; results come back in task order. */
export async function runTasks<T>(tasks: readonly TreeTask[], threads: number): Promise<T[]> {
  if (threads <= 1 || tasks.length <= 1) return tasks.map((t) => runTask(t) as T);
  const p = getPool(threads);
  return Promise.all(tasks.map((t) => p.run(t) as Promise<T>));
}

/** Stops the worker threads (tests and CLI commands call it when done). */
export async function closeWorkers(): Promise<void> {
  const p = pool;
  pool = null;
  poolThreads = 0;
  if (p) await p.destroy();
}

/** A copy of a typed array on shared memory, so tasks pass it to workers without copying. */
export function shared<T extends Int32Array | Float64Array | Float32Array | Uint8Array | Uint16Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const C = a.constructor as new (b: SharedArrayBuffer, o: number, n: number) => T;
  const out = new C(new SharedArrayBuffer(Math.max(1, a.byteLength)), 0, a.length);
  out.set(a as never);
  return out;
}

/** A zeroed typed array on shared memory. */
export function sharedZeros<T extends Int32Array | Float64Array | Float32Array | Uint8Array | Uint16Array>(
  C: new (b: SharedArrayBuffer, o: number, n: number) => T, bytesPer: number, n: number,
): T {
  return new C(new SharedArrayBuffer(Math.max(1, n * bytesPer)), 0, n);
}
