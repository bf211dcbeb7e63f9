import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VeilError } from '../core/errors.ts';
import { isLoopback } from './api/auth.ts';
import type { FastifyBaseLogger } from 'fastify';
import type { App } from './api/app-types.ts';
import type { ServiceContext } from './api/context.ts';
import { removeUpload } from './api/jobs.ts';
import { VersionStore } from './store/versions.ts';
import { ModelRegistry } from './models/registry.ts';
import { committedTraining } from './jobs/train-files.ts';
import { buildApp } from './app.ts';
import { EmbeddedQueue } from './jobs/embedded.ts';
import { CpuPool } from './jobs/pool.ts';
import type { JobQueue } from './jobs/types.ts';
import { Metrics } from './metrics.ts';
import { ModelCatalog } from './models/catalog.ts';
import { DataDirLock } from './store/lock.ts';
import { JobRegistry } from './store/registry.ts';
import { sweep } from './store/sweeper.ts';
import { ApiKeys } from './api/auth.ts';
import { LiveManager } from './live/manager.ts';
import type { MeterOptions } from '../flow/meter.ts';

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  /** BullMQ on this Redis instead of the embedded queue. */
  redisUrl: string | null;
  /** Key prefix in Redis (several deployments can share one Redis). */
  redisPrefix: string;
  /** Read-only model directories (--models); uploads go to `<data dir>/models`. */
  modelDirs: string[];
  apiKeys: string[];
  maxUploadBytes: number;
  /** Bytes a gzip upload may inflate to (default DEFAULTS.maxInflatedBytes). */
  maxInflatedBytes?: number;
  /** Wall time of one job run before it fails with JOB_TIMEOUT (default DEFAULTS.jobTimeoutMs; 0: none). */
  jobTimeoutMs?: number;
  retentionHours: number;
  /** Embedded backend: jobs run at once. */
  concurrency: number;
  classifyThreads: number;
  maxClassifyRows: number;
  rateLimit: { perSecond: number; burst: number };
  /** SIGTERM: how long running jobs may take to finish before they are handed back. */
  graceMs: number;
  sweepIntervalMs: number;
  webDir?: string | null;
  /** Names the Host header may carry besides loopback and --host (a key-less server refuses others). */
  allowedHosts?: string[];
  /** Behind a reverse proxy on this host (client addresses from X-Forwarded-For). */
  trustProxy?: boolean;
  log: (msg: string) => void;
  /** Fastify's logger (pino, JSON lines on stdout): each job's start, end and failure, each failed request with its
   * code and reason; default off. */
  logger?: boolean;
  /** Where the logger writes its JSON lines instead of stdout (tests). */
  logStream?: { write(line: string): void };
  /** Keys that may start and stop live sources (they are API keys too). */
  adminKeys?: string[];
  /** Live monitoring: sources started with the server (`--interface`), worker threads and early cut per source,
   * how long live records are kept, the service catalogue files. Absent: no live routes. */
  live?: { sources: { iface: string; filter?: string }[]; workers: number; early: number; retentionHours: number; catalogFiles?: string[]; meter?: MeterOptions; earlyModels?: { column: string; file: string }[] };
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests call close()). */
  handleSignals: boolean;
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: '.veil-data',
  maxUploadBytes: 1 << 30,
  maxInflatedBytes: 8 * 2 ** 30,
  jobTimeoutMs: 2 * 3600_000,
  retentionHours: 24 * 7,
  redisPrefix: 'veil',
  maxClassifyRows: 1000,
  rateLimit: { perSecond: 20, burst: 100 },
  graceMs: 30_000,
  sweepIntervalMs: 60_000,
} as const;

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export interface RunningServer {
  app: App;
  ctx: ServiceContext;
  /** http://host:port */
  url: string;
  /** Graceful stop: no new jobs, running ones finish or go back to the queue, then the socket closes. */
  close(): Promise<void>;
}

/**
 * `veil serve`: the registry, the model catalog, the queue backend (embedded workers in this process, or BullMQ
 * on Redis with `veil worker` processes elsewhere), retention sweeps, and the HTTP app on a socket.
 */
export async function startServer(cfg: ServeConfig): Promise<RunningServer> {
  if (cfg.adminKeys?.length) cfg = { ...cfg, apiKeys: [...new Set([...cfg.apiKeys, ...cfg.adminKeys])] };
  if (!isLoopback(cfg.host) && cfg.apiKeys.length === 0) {
    throw new VeilError('BAD_ARGUMENT', `refusing to listen on ${cfg.host} without API keys: pass --api-key KEY or set VEIL_API_KEYS (or listen on 127.0.0.1)`);
  }
  const dataDir = path.resolve(cfg.dataDir);
  for (const d of ['uploads', 'results', 'models', 'tmp']) mkdirSync(path.join(dataDir, d), { recursive: true });
  const lock = DataDirLock.acquire(dataDir);
  try {
    return await startLocked(cfg, dataDir, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(cfg: ServeConfig, dataDir: string, lock: DataDirLock): Promise<RunningServer> {
  const registry = new JobRegistry(dataDir);
  const catalog = new ModelCatalog(cfg.modelDirs.map((d) => path.resolve(d)), path.join(dataDir, 'models'));
  await catalog.load();
  for (const w of catalog.warnings) cfg.log(`warning: ${w}`);
  const metrics = new Metrics();
  // Jobs may start (or fail on recovery) before the app and its logger exist: their lines wait for it.
  let log: FastifyBaseLogger | null = null;
  const early: ((l: FastifyBaseLogger) => void)[] = [];
  const jobLog = (write: (l: FastifyBaseLogger) => void): void => { if (log) write(log); else early.push(write); };
  logJobs(registry, jobLog);
  registry.onFinal((job) => {
    const payload = registry.payload(job.id);
    // No payload bytes are kept: the upload goes as soon as its job is final, whatever the outcome.
    if (payload) removeUpload(dataDir, payload);
    const dur = job.startedAt !== null && job.finishedAt !== null ? (job.finishedAt - job.startedAt) / 1000 : null;
    // A training job's rows are flows learnt from, not flows classified.
    metrics.jobFinished(job.state as 'done' | 'failed' | 'cancelled', dur, job.type === 'train' ? 0 : job.summary?.rows ?? 0, job.models.length);
  });

  // Trained versions: a training job that ends done is registered here, on the API server, whichever machine ran it.
  const versions = new VersionStore(dataDir);
  const models = new ModelRegistry(versions, catalog, dataDir, cfg.log);
  registry.onFinal((job) => {
    if (job.type !== 'train' || job.state !== 'done') return;
    const payload = registry.payload(job.id);
    if (payload) models.recordJob(job, payload, (s) => registry.setSummary(job.id, s));
  });

  const classifyPool = new CpuPool(Math.max(1, cfg.classifyThreads));
  let jobPool: CpuPool | null = null;
  let queue: JobQueue;
  if (cfg.redisUrl) {
    const { RedisQueue } = await import('./jobs/redis.ts');
    queue = new RedisQueue(registry, { url: cfg.redisUrl, prefix: cfg.redisPrefix, dataDir, retentionMs: cfg.retentionHours * 3600_000, log: cfg.log });
  } else {
    jobPool = new CpuPool(cfg.concurrency);
    queue = new EmbeddedQueue(registry, jobPool, { dataDir, modelDirs: () => catalog.searchDirs, concurrency: cfg.concurrency, log: cfg.log });
  }
  await queue.start();
  // A training job failed JOB_CRASHED at this start (or an earlier one) whose model was committed before the crash is
  // done after all; then training jobs that ended done while no server registered them are registered now.
  for (const { id, payload } of [...registry.crashedTraining()]) {
    const summary = committedTraining(dataDir, id, payload);
    if (summary && registry.reviveTraining(id, summary)) cfg.log(`job ${id}: its model was committed before the crash; the job is done`);
  }
  const recovered = models.recover(registry.finishedTraining(), (id, s) => registry.setSummary(id, s));
  if (recovered) cfg.log(`registered ${recovered} trained model version(s) of jobs that finished while the server was down`);
  // From here a failure to start (the port taken) must stop what already runs: jobs claimed by the queue would
  // otherwise go on without the data dir lock, and a second server would run them again.
  let app: App | null = null;
  let sweeper: NodeJS.Timeout | null = null;
  const live = cfg.live ? new LiveManager({ dataDir, catalog, retentionMs: cfg.live.retentionHours * 3600_000, catalogFiles: cfg.live.catalogFiles ?? [], defaultEarly: cfg.live.early, defaultWorkers: cfg.live.workers, ...(cfg.live.meter ? { meter: cfg.live.meter } : {}), ...(cfg.live.earlyModels ? { earlyModels: cfg.live.earlyModels } : {}), log: cfg.log }) : null;
  // Live sources started without a model list follow the default models: an activated version reaches them at once.
  if (live) models.onDefaultsChanged = () => live.reloadDefaults();
  const undo = async (): Promise<void> => {
    if (sweeper) clearInterval(sweeper);
    await live?.close().catch(() => {});
    await queue.close(0).catch(() => {});
    await app?.close().catch(() => {});
    await classifyPool.close().catch(() => {});
    if (jobPool) await jobPool.close().catch(() => {});
    metrics.close();
    registry.close();
    versions.close();
  };
  try {
    return await listening();
  } catch (err) {
    await undo();
    throw err;
  }

  async function listening(): Promise<RunningServer> {
    const ctx: ServiceContext = {
      dataDir, registry, queue, catalog, models, pool: classifyPool, metrics,
      ...(live ? { live: { manager: live, admin: new ApiKeys(cfg.adminKeys ?? []), keysEnabled: cfg.apiKeys.length > 0 } } : {}),
      state: { draining: false },
      limits: {
        maxUploadBytes: cfg.maxUploadBytes,
        maxClassifyRows: cfg.maxClassifyRows,
        maxInflatedBytes: cfg.maxInflatedBytes ?? DEFAULTS.maxInflatedBytes,
        jobTimeoutMs: cfg.jobTimeoutMs ?? DEFAULTS.jobTimeoutMs,
      },
    };
    app = await buildApp({
      ctx,
      ...(cfg.logStream ? { logger: { level: 'info', stream: cfg.logStream } } : {}),
      apiKeys: cfg.apiKeys,
      rateLimit: cfg.rateLimit,
      listenHost: cfg.host,
      ...(cfg.logger && !cfg.logStream ? { logger: { level: 'info' } } : {}),
      allowedHosts: cfg.allowedHosts ?? [],
      trustProxy: cfg.trustProxy === true,
      ...(cfg.webDir !== undefined ? { webDir: cfg.webDir } : {}),
    });

    log = app.log;
    for (const write of early.splice(0)) write(log);

    const retentionMs = cfg.retentionHours * 3600_000;
    const sweepNow = (startup = false): void => {
      try {
        const r = sweep(registry, dataDir, retentionMs, Date.now(), { startup, versionJobs: () => versions.jobIds() });
        if (r.expired || r.orphans) cfg.log(`retention: deleted ${r.expired} expired job(s), ${r.orphans} orphan file(s)`);
      } catch (err) {
        cfg.log(`retention sweep failed: ${(err as Error).message}`);
      }
    };
    sweepNow(true);
    sweeper = setInterval(() => sweepNow(), cfg.sweepIntervalMs);
    sweeper.unref();

    const address = await app.listen({ host: cfg.host, port: cfg.port });
    if (live && cfg.live) {
      for (const s of cfg.live.sources) await live.start({ interface: s.iface, ...(s.filter ? { filter: s.filter } : {}), workers: cfg.live.workers, early: cfg.live.early });
    }
    const url = address.replace('[::1]', 'localhost');

    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        ctx.state.draining = true;
        clearInterval(sweeper!);
        await live?.close();
        await queue.close(cfg.graceMs);
        await app!.close();
        await classifyPool.close();
        if (jobPool) await jobPool.close();
        metrics.close();
        registry.close();
        versions.close();
        lock.release();
      })();
      return closing;
    };

    if (cfg.handleSignals) {
      // A promise nobody awaited (a library's stray read, a late socket error) must never take the server and its
      // running jobs down: log it and serve on. The jobs' own failures are handled where they run.
      process.on('unhandledRejection', (reason) => {
        cfg.log(`unhandled rejection (the server goes on): ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`);
        app!.log.error({ err: reason }, 'unhandled rejection');
      });
      // Ctrl-C reaches the server twice (the terminal's SIGINT and the bin/veil.js wrapper's copy): a repeat must not
      // fall to Node's default and kill the graceful shutdown; a signal a second after the first exits at once.
      let firstSignal = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (firstSignal !== 0) {
          // Copies of one Ctrl-C arrive within milliseconds; a signal a second later is the user insisting.
          if (Date.now() - firstSignal >= 1000) process.exit(sig === 'SIGINT' ? 130 : 143);
          return;
        }
        firstSignal = Date.now();
        cfg.log(`${sig}: finishing running jobs (up to ${Math.round(cfg.graceMs / 1000)} s), taking no new ones`);
        void close().then(() => process.exit(0), (err: unknown) => { cfg.log(`shutdown failed: ${(err as Error).message}`); process.exit(1); });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    }
    return { app: app!, ctx, url, close };
  }
}

/**
 * One structured line per job event, on the server's logger (pino through Fastify): `job started` (attempt, input
 * kind, size, models), `job retried` (the transient error, when it runs again), `job done` (flows, packets,
 * duration), `job failed` (code and message) and `job cancelled`. Workers on Redis report through the registry, so
 * their jobs are logged here too. As with refused requests, no line carries the upload's file name: it is replaced by
 * `<upload>` in error messages.
 */
export function logJobs(registry: JobRegistry, jobLog: (write: (l: FastifyBaseLogger) => void) => void): void {
  const names = new Map<string, string>();
  const line = (id: string, m: string): string => {
    const name = names.get(id) ?? registry.payload(id)?.inputName;
    const first = m.split('\n')[0]!;
    return (name ? first.split(name).join('<upload>') : first).slice(0, 500);
  };
  registry.onStart((id, attempt) => {
    const p = registry.payload(id);
    if (p) names.set(id, p.inputName);
    jobLog((l) => l.info({ job: id, attempt, input: p ? `${p.input.kind}/${p.input.format}${p.input.gzip ? '.gz' : ''}` : null, bytes: p?.inputBytes ?? null, models: p?.models.map((m) => m.name) ?? [] }, 'job started'));
  });
  registry.onRequeue((id, runAfter, error) => {
    jobLog((l) => l.warn({ job: id, code: error?.code ?? null, error: error ? line(id, error.message) : null, retryInMs: Math.max(0, runAfter - Date.now()) }, 'job retried'));
  });
  registry.onFinal((job) => {
    const err = job.error ? line(job.id, job.error.message) : null;
    names.delete(job.id);
    const ms = job.startedAt !== null && job.finishedAt !== null ? job.finishedAt - job.startedAt : null;
    if (job.state === 'done') {
      jobLog((l) => l.info({ job: job.id, attempt: job.attempts, flows: job.summary?.rows ?? 0, packets: job.summary?.packets ?? null, warnings: job.summary?.warnings.length ?? 0, durationMs: ms }, 'job done'));
    } else if (job.state === 'failed') {
      jobLog((l) => l.warn({ job: job.id, attempt: job.attempts, code: job.error?.code ?? null, error: err, flows: job.summary?.rows ?? null, durationMs: ms }, 'job failed'));
    } else {
      jobLog((l) => l.info({ job: job.id, durationMs: ms }, 'job cancelled'));
    }
  });
}
