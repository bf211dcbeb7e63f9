import type { MessagePort } from 'node:worker_threads';
import { processJob } from './process.ts';
import { ModelCache } from '../models/cache.ts';
import type { JobPayload, ProcessOutcome } from './types.ts';
import type { ClassifyRequest, ClassifyResult } from '../models/classify.ts';
import { classifyRows } from '../models/classify.ts';
import { serviceCodeFor } from '../errors.ts';
import { loadModelFile } from '../models/load.ts';
import { tableColumns } from './inspect.ts';

/**
 * Entry of the worker threads (piscina) that do the CPU work: metering captures, parsing tables, predicting.
 * Each thread keeps the models it has loaded (by content hash) for its whole life, so a model is read once per
 * thread, not once per job.
 */
export type ThreadTask =
  | { op: 'process'; job: JobPayload; dataDir: string; modelDirs: string[]; port: MessagePort; stop?: Int32Array }
  | { op: 'classify'; request: ClassifyRequest; modelDirs: string[] }
  | { op: 'table-columns'; file: string; kind: { format: 'csv' | 'jsonl' | 'parquet' | 'arff'; gzip: boolean }; displayName: string }
  | { op: 'check-model'; file: string; name: string };

/** A task's error as it crosses the thread boundary: the registry code of a user-facing error, else INTERNAL. */
export type TaskFailure = { ok: false; error: { code: string; message: string; userFacing: boolean } };

/** The outcome of the inspection tasks an upload needs before it is accepted (off the API thread). */
export type InspectOutcome = { ok: true; columns?: string[] } | TaskFailure;

const cache = new ModelCache();

export type ClassifyOutcome = { ok: true; result: ClassifyResult } | TaskFailure;

function failure(err: unknown): TaskFailure {
  const e = err as { userFacing?: boolean; code?: unknown; name?: unknown; message?: unknown };
  return { ok: false, error: { code: e?.userFacing ? serviceCodeFor(String(e.code ?? ''), String(e.name ?? '')) : 'INTERNAL', message: String(e?.message ?? err), userFacing: Boolean(e?.userFacing) } };
}

export default async function task(t: ThreadTask): Promise<ProcessOutcome | ClassifyOutcome | InspectOutcome> {
  if (t.op === 'table-columns') {
    try {
      return { ok: true, columns: [...(await tableColumns(t.file, t.kind, t.displayName))] };
    } catch (err) {
      return failure(err);
    }
  }
  if (t.op === 'check-model') {
    try {
      (await loadModelFile(t.file, t.name)).info();
      return { ok: true };
    } catch (err) {
      return failure(err);
    }
  }
  if (t.op === 'classify') {
    try {
      return { ok: true, result: await classifyRows(t.request, (ref) => cache.get(ref, t.modelDirs)) };
    } catch (err) {
      return failure(err);
    }
  }
  const ac = new AbortController();
  t.port.on('message', (m: unknown) => { if (m === 'cancel') ac.abort(); });
  try {
    return await processJob(t.job, {
      dataDir: t.dataDir,
      model: (ref) => cache.get(ref, t.modelDirs),
      onProgress: (p) => t.port.postMessage({ progress: p }),
      signal: ac.signal,
      ...(t.stop ? { stopRequested: () => Atomics.load(t.stop!, 0) === 1 } : {}),
    });
  } finally {
    t.port.close();
  }
}
