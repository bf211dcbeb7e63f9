import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** A trained model's version as the registry keeps it (`GET /models/:name/versions`). */
export interface ModelVersion {
  name: string;
  version: number;
  state: 'active' | 'inactive' | 'retired';
  sha256: string;
  sizeBytes: number;
  createdAt: number;
  createdBy: string | null;
  jobId: string;
  data: { inputs: { name: string; bytes: number }[]; rows: number; classes: string[]; label: string; learner: string; split: string };
  metrics: { accuracy: number; macroF1: number; balancedAccuracy: number } | null;
  activatedAt: number | null;
  retiredAt: number | null;
  /** Files relative to the data dir (not shown by the API). */
  files: { model: string; evaluation: string; report: string };
}

export type NewVersion = Omit<ModelVersion, 'version' | 'state' | 'activatedAt' | 'retiredAt'>;

/**
 * The model registry: every version trained under a name, who trained it, when and on what, its held-out scores,
 * and which version is active (at most one per name). `<data dir>/versions.db` (SQLite, WAL) on the API server;
 * the version files live in `<data dir>/models/versions/<name>/` where workers write them. The active version is
 * also installed in the model catalog under its name (service/models/registry.ts), which is what jobs and live
 * sources apply; this store is the record.
 */
export class VersionStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'versions.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        job_id TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        activated_at INTEGER,
        retired_at INTEGER,
        record TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );
    `);
  }

  /** Registers a trained model as the name's next version (idempotent by job id: a job registers once). */
  add(v: NewVersion): ModelVersion {
    return this.db.transaction((): ModelVersion => {
      const had = this.db.prepare('SELECT name, version FROM versions WHERE job_id = ?').get(v.jobId) as { name: string; version: number } | undefined;
      if (had) return this.get(had.name, had.version)!;
      const max = (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS m FROM versions WHERE name = ?').get(v.name) as { m: number }).m;
      this.db.prepare('INSERT INTO versions (name, version, state, job_id, created_at, record) VALUES (?, ?, ?, ?, ?, ?)')
        .run(v.name, max + 1, 'inactive', v.jobId, v.createdAt, JSON.stringify(v));
      return this.get(v.name, max + 1)!;
    })();
  }

  get(name: string, version: number): ModelVersion | null {
    const r = this.db.prepare('SELECT * FROM versions WHERE name = ? AND version = ?').get(name, version) as Row | undefined;
    return r ? toVersion(r) : null;
  }

  /** A name's versions, newest first. */
  list(name: string): ModelVersion[] {
    return (this.db.prepare('SELECT * FROM versions WHERE name = ? ORDER BY version DESC').all(name) as Row[]).map(toVersion);
  }

  /** The job ids of every registered version (their files are kept). */
  jobIds(): Set<string> {
    return new Set((this.db.prepare('SELECT job_id FROM versions').all() as { job_id: string }[]).map((r) => r.job_id));
  }

  names(): string[] {
    return (this.db.prepare('SELECT DISTINCT name FROM versions ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }

  active(name: string): ModelVersion | null {
    const r = this.db.prepare("SELECT * FROM versions WHERE name = ? AND state = 'active'").get(name) as Row | undefined;
    return r ? toVersion(r) : null;
  }

  /** The version whose model file has this content hash, if any. */
  bySha(name: string, sha256: string): ModelVersion | null {
    return this.list(name).find((v) => v.sha256 === sha256) ?? null;
  }

  /** Marks `version` the name's active one (the one active before becomes inactive). */
  setActive(name: string, version: number, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE versions SET state = 'inactive' WHERE name = ? AND state = 'active'").run(name);
      this.db.prepare("UPDATE versions SET state = 'active', activated_at = ? WHERE name = ? AND version = ? AND state != 'retired'").run(now, name, version);
    })();
  }

  /** The name has no active version any more (its model was unloaded from the catalog). */
  clearActive(name: string): void {
    this.db.prepare("UPDATE versions SET state = 'inactive' WHERE name = ? AND state = 'active'").run(name);
  }

  retire(name: string, version: number, now = Date.now()): void {
    this.db.prepare("UPDATE versions SET state = 'retired', retired_at = ? WHERE name = ? AND version = ?").run(now, name, version);
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  name: string;
  version: number;
  state: ModelVersion['state'];
  job_id: string;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  record: string;
}

function toVersion(r: Row): ModelVersion {
  const rec = JSON.parse(r.record) as NewVersion;
  return { ...rec, name: r.name, version: r.version, state: r.state, jobId: r.job_id, createdAt: r.created_at, activatedAt: r.activated_at, retiredAt: r.retired_at };
}
