import type { MessagePort } from 'node:worker_threads';
import { processJob } from './process.ts';
import { ModelCache } from '../models/cache.ts';
import type { JobPayload, ProcessOutcome } from './types.ts';
import type { ClassifyRequest, ClassifyResult } from '../models/classify.ts';
import { classifyRows } from '../models/classify.ts';
import { serviceCodeFor } from '../errors.ts';

/**
 * Entry of the worker threads (piscina) that do the CPU work: metering captures, parsing tables, predicting.
 * Each thread keeps the models it has loaded (by content hash) for its whole life, so a model is read once per
 * thread, not once per job.
 */
export type ThreadTask =
  | { op: 'process'; job: JobPayload; dataDir: string; modelDirs: string[]; port: MessagePort }
  | { op: 'classify'; request: ClassifyRequest; modelDirs: string[] };

const cache = new ModelCache();

export type ClassifyOutcome = { ok: true; result: ClassifyResult } | { ok: false; error: { code: string; message: string; userFacing: boolean } };

export default async function task(t: ThreadTask): Promise<ProcessOutcome | ClassifyOutcome> {
  if (t.op === 'classify') {
    try {
      return { ok: true, result: await classifyRows(t.request, (ref) => cache.get(ref, t.modelDirs)) };
    } catch (err) {
      const e = err as { userFacing?: boolean; code?: unknown; name?: unknown; message?: unknown };
      return { ok: false, error: { code: e.userFacing ? serviceCodeFor(String(e.code ?? ''), String(e.name ?? '')) : 'INTERNAL', message: String(e?.message ?? err), userFacing: Boolean(e?.userFacing) } };
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
    });
  } finally {
    t.port.close();
  }
}
