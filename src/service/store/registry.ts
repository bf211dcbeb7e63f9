import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { JobPayload, JobRecord, JobState, JobSummary } from '../jobs/types.ts';

/**
 * The job registry: one SQLite database (`<data dir>/veil.db`, WAL) on the API server holding every job's payload,
 * state, progress, attempts, error and summary. It is the source of truth for the API in both backends: the
 * embedded queue schedules straight from it, the Redis backend mirrors BullMQ's job states into it and re-enqueues
 * from it whatever Redis forgot (a Redis restarted without persistence), so no job is lost with the broker.
 * One API server per data dir.
 */
export class JobRegistry {
  private readonly db: Database.Database;
  private readonly st: ReturnType<JobRegistry['prepare']>;
  private readonly finalListeners: ((job: JobRecord) => void)[] = [];
  private readonly startListeners: ((id: string, attempts: number) => void)[] = [];
  private readonly requeueListeners: ((id: string, runAfter: number, error: { code: string; message: string } | null) => void)[] = [];

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'veil.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // Deleted jobs' rows (input names) are overwritten, not left in free pages.
    this.db.pragma('secure_delete = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        payload TEXT NOT NULL,
        progress REAL NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        run_after INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        summary TEXT
      );
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, run_after, created_at);
      CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
    `);
    this.st = this.prepare();
  }

  private prepare() {
    const d = this.db;
    return {
      insert: d.prepare('INSERT INTO jobs (id, state, payload, created_at) VALUES (?, ?, ?, ?)'),
      get: d.prepare('SELECT * FROM jobs WHERE id = ?'),
      nextQueued: d.prepare("SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ? ORDER BY created_at, id LIMIT 1"),
      claim: d.prepare("UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1, progress = 0 WHERE id = ? AND state = 'queued'"),
      running: d.prepare("UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, ?), attempts = MAX(attempts, ?) WHERE id = ? AND state IN ('queued', 'running')"),
      progress: d.prepare("UPDATE jobs SET progress = ? WHERE id = ? AND state = 'running'"),
      done: d.prepare("UPDATE jobs SET state = 'done', progress = 1, finished_at = ?, summary = ?, error_code = NULL, error_message = NULL WHERE id = ? AND state IN ('queued', 'running')"),
      fail: d.prepare("UPDATE jobs SET state = 'failed', finished_at = ?, error_code = ?, error_message = ?, summary = ? WHERE id = ? AND state IN ('queued', 'running')"),
      cancel: d.prepare("UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('queued', 'running')"),
      requeue: d.prepare("UPDATE jobs SET state = 'queued', run_after = ?, error_code = ?, error_message = ?, progress = 0 WHERE id = ? AND state IN ('queued', 'running')"),
      resetRunning: d.prepare("UPDATE jobs SET state = 'queued', progress = 0 WHERE state = 'running'"),
      handBack: d.prepare("UPDATE jobs SET state = 'queued', run_after = 0, progress = 0, attempts = MAX(attempts - 1, 0) WHERE id = ? AND state = 'running'"),
      runningJobs: d.prepare("SELECT id, attempts FROM jobs WHERE state = 'running'"),
      del: d.prepare('DELETE FROM jobs WHERE id = ?'),
      counts: d.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
      expired: d.prepare("SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < ?"),
      inflight: d.prepare("SELECT id, state, attempts FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at"),
      ids: d.prepare('SELECT id FROM jobs'),
      queued: d.prepare("SELECT COALESCE(SUM(run_after <= ?), 0) AS waiting, COALESCE(SUM(run_after > ?), 0) AS delayed FROM jobs WHERE state = 'queued'"),
    };
  }

  insert(p: JobPayload): void {
    this.st.insert.run(p.id, 'queued', JSON.stringify(p), p.createdAt);
  }

  get(id: string): JobRecord | null {
    const r = this.st.get.get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  payload(id: string): JobPayload | null {
    const r = this.st.get.get(id) as Row | undefined;
    return r ? (JSON.parse(r.payload) as JobPayload) : null;
  }

  list(opts: { state?: JobState; type?: 'classify' | 'train'; limit: number; offset: number }): { jobs: JobRecord[]; total: number } {
    const conds: string[] = [];
    const args: string[] = [];
    if (opts.state) { conds.push('state = ?'); args.push(opts.state); }
    if (opts.type) conds.push(`json_extract(payload, '$.train') IS ${opts.type === 'train' ? 'NOT ' : ''}NULL`);
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM jobs ${where}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM jobs ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`).all(...args, opts.limit, opts.offset) as Row[];
    return { jobs: rows.map(toRecord), total };
  }

  /** Embedded scheduler: takes the oldest queued job due now, marking it running (one attempt more). */
  claimNext(now = Date.now()): { payload: JobPayload; attempts: number } | null {
    const claimed = this.db.transaction(() => {
      const r = this.st.nextQueued.get(now) as { id: string } | undefined;
      if (!r) return null;
      if (this.st.claim.run(now, r.id).changes !== 1) return null;
      const row = this.st.get.get(r.id) as Row;
      return { payload: JSON.parse(row.payload) as JobPayload, attempts: row.attempts };
    })();
    if (claimed) for (const fn of this.startListeners) fn(claimed.payload.id, claimed.attempts);
    return claimed;
  }

  markRunning(id: string, attempts: number, now = Date.now()): void {
    const was = this.st.get.get(id) as Row | undefined;
    const changed = this.st.running.run(now, attempts, id).changes === 1;
    // Redis reports a run twice (its event, then the job's attempt count): one start per run, when it starts.
    if (changed && was && was.state !== 'running') for (const fn of this.startListeners) fn(id, Math.max(attempts, was.attempts + 1));
  }

  /** Calls `fn` when a job starts a run (attempt 1, 2, ...): claimed by a local worker or reported by Redis. */
  onStart(fn: (id: string, attempts: number) => void): void {
    this.startListeners.push(fn);
  }

  /** Calls `fn` when a run failed transiently and the job goes back to the queue. */
  onRequeue(fn: (id: string, runAfter: number, error: { code: string; message: string } | null) => void): void {
    this.requeueListeners.push(fn);
  }

  setProgress(id: string, p: number): void {
    this.st.progress.run(Math.max(0, Math.min(1, p)), id);
  }

  /** Calls `fn` whenever a job reaches a final state (done, failed, cancelled), once per job. */
  onFinal(fn: (job: JobRecord) => void): void {
    this.finalListeners.push(fn);
  }

  private final(id: string, changed: boolean): boolean {
    if (changed && this.finalListeners.length) {
      const rec = this.get(id);
      if (rec) for (const fn of this.finalListeners) fn(rec);
    }
    return changed;
  }

  /** Marks a queued or running job done; false when it is not in flight (deleted, already final). */
  finish(id: string, summary: JobSummary, now = Date.now()): boolean {
    return this.final(id, this.st.done.run(now, JSON.stringify(summary), id).changes === 1);
  }

  /** Marks a job failed; `summary` describes the results it kept (a damaged capture's flows before the damage). */
  fail(id: string, code: string, message: string, now = Date.now(), summary: JobSummary | null = null): boolean {
    return this.final(id, this.st.fail.run(now, code, message, summary ? JSON.stringify(summary) : null, id).changes === 1);
  }

  /** Training jobs queued or running that this API key id (null: a server without keys) submitted. */
  trainingsInFlight(createdBy: string | null): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running') AND json_extract(payload, '$.train') IS NOT NULL AND json_extract(payload, '$.train.createdBy') IS ?")
      .get(createdBy) as { n: number }).n;
  }

  /**
   * A training job failed JOB_CRASHED (running at each of its last starts) whose worker had committed its model: it is
   * done with that summary after all. Returns whether the job changed.
   */
  reviveTraining(id: string, summary: JobSummary, now = Date.now()): boolean {
    return this.db.prepare("UPDATE jobs SET state = 'done', progress = 1, summary = ?, error_code = NULL, error_message = NULL, finished_at = COALESCE(finished_at, ?) WHERE id = ? AND state = 'failed' AND error_code = 'JOB_CRASHED'")
      .run(JSON.stringify(summary), now, id).changes === 1;
  }

  /** Training jobs failed JOB_CRASHED, with their payloads (start-up: a committed model among them is not lost). */
  *crashedTraining(): Generator<{ id: string; payload: JobPayload }> {
    const rows = this.db.prepare("SELECT id, payload FROM jobs WHERE state = 'failed' AND error_code = 'JOB_CRASHED' AND json_extract(payload, '$.train') IS NOT NULL").all() as { id: string; payload: string }[];
    for (const r of rows) yield { id: r.id, payload: JSON.parse(r.payload) as JobPayload };
  }

  /** Done training jobs with their payloads (start-up recovery of versions no server registered). */
  *finishedTraining(): Generator<{ job: JobRecord; payload: JobPayload }> {
    const rows = this.db.prepare("SELECT * FROM jobs WHERE state = 'done' AND payload LIKE '%\"train\":%'").all() as Row[];
    for (const r of rows) {
      const payload = JSON.parse(r.payload) as JobPayload;
      if (payload.train) yield { job: toRecord(r), payload };
    }
  }

  /** Replaces a final job's summary (the API server completing a training job's with the version it registered). */
  setSummary(id: string, summary: JobSummary): void {
    this.db.prepare('UPDATE jobs SET summary = ? WHERE id = ?').run(JSON.stringify(summary), id);
  }

  cancel(id: string, now = Date.now()): boolean {
    return this.final(id, this.st.cancel.run(now, id).changes === 1);
  }

  /** Back to the queue after a transient failure, not before `runAfter`; the error is kept for display. */
  requeue(id: string, runAfter: number, error: { code: string; message: string } | null): void {
    if (this.st.requeue.run(runAfter, error?.code ?? null, error?.message ?? null, id).changes === 1) {
      for (const fn of this.requeueListeners) fn(id, runAfter, error);
    }
  }

  /** Graceful shutdown: a running job goes back to the queue and the run it was in does not count as an attempt. */
  handBack(id: string): void {
    this.st.handBack.run(id);
  }

  /**
   * After a crash or restart: jobs marked running have no processor any more. Those that already used
   * `maxAttempts` runs fail (a job that kills the process would otherwise crash-loop the server and starve the
   * queue behind it); the others go back to the queue. Returns how many went each way.
   */
  resetRunning(maxAttempts = Infinity, now = Date.now()): { resumed: number; failed: number } {
    let failed = 0;
    for (const r of this.st.runningJobs.all() as { id: string; attempts: number }[]) {
      if (r.attempts < maxAttempts) continue;
      const msg = `the server stopped while this job ran, ${r.attempts} time(s) (a crash or a kill during the job); not retried`;
      if (this.fail(r.id, 'JOB_CRASHED', msg, now)) failed++;
    }
    return { resumed: this.st.resetRunning.run().changes, failed };
  }

  delete(id: string): void {
    this.st.del.run(id);
  }

  /** After deletions: checkpoint and truncate the write-ahead log, so deleted rows survive in no file. */
  scrub(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  countsByState(): Record<JobState, number> {
    const out: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const r of this.st.counts.all() as { state: JobState; n: number }[]) out[r.state] = r.n;
    return out;
  }

  /** Queued jobs due now (waiting) and waiting out a retry backoff (delayed). */
  queuedCounts(now = Date.now()): { waiting: number; delayed: number } {
    return this.st.queued.get(now, now) as { waiting: number; delayed: number };
  }

  expired(before: number): string[] {
    return (this.st.expired.all(before) as { id: string }[]).map((r) => r.id);
  }

  inflight(): { id: string; state: JobState; attempts: number }[] {
    return this.st.inflight.all() as { id: string; state: JobState; attempts: number }[];
  }

  ids(): Set<string> {
    return new Set((this.st.ids.all() as { id: string }[]).map((r) => r.id));
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  id: string;
  state: JobState;
  payload: string;
  progress: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  summary: string | null;
}

function toRecord(r: Row): JobRecord {
  const p = JSON.parse(r.payload) as JobPayload;
  return {
    id: r.id,
    type: p.train ? 'train' : 'classify',
    ...(p.train ? { train: { name: p.train.name, label: p.train.label, learner: p.train.learner, split: p.train.split, folds: p.train.folds, inputs: p.train.inputs.length } } : {}),
    state: r.state,
    progress: r.state === 'done' ? 1 : r.progress,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    attempts: r.attempts,
    inputName: p.inputName,
    inputKind: p.input,
    inputBytes: p.inputBytes,
    models: p.models.map((m) => m.name),
    labelColumn: p.labelColumn,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    summary: r.summary ? (JSON.parse(r.summary) as JobSummary) : null,
  };
}
