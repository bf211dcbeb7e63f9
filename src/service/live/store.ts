import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LiveRecord } from '../../live/classifier.ts';

/** A stored live record: the verdict, the source it came from and when the server received it (ms since epoch). */
export interface StoredLiveRecord extends LiveRecord {
  seq: number;
  source: string;
  receivedAt: number;
}

/**
 * The live records of every source in the results store: `live/records.sqlite` under the data dir (WAL, one
 * transaction per batch). Records older than the operator's retention (`--live-retention-hours`) are deleted by
 * `sweep`, which the manager runs every minute.
 */
export class LiveStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (rows: StoredLiveRecord[]) => void;

  constructor(dataDir: string, readonly retentionMs: number) {
    // Its own folder: the retention sweep of job results takes files in results/ that no job owns for orphans.
    mkdirSync(path.join(dataDir, 'live'), { recursive: true });
    this.db = new Database(path.join(dataDir, 'live', 'records.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS live (seq INTEGER PRIMARY KEY, received REAL NOT NULL, source TEXT NOT NULL,
      kind TEXT NOT NULL, flow_key TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS live_received ON live (received);
      CREATE INDEX IF NOT EXISTS live_key ON live (flow_key);`);
    this.insert = this.db.prepare('INSERT INTO live (received, source, kind, flow_key, data) VALUES (?, ?, ?, ?, ?)');
    this.insertMany = this.db.transaction((rows: StoredLiveRecord[]) => {
      for (const r of rows) {
        const { seq: _s, ...rest } = r;
        r.seq = Number(this.insert.run(r.receivedAt, r.source, r.kind, r.key, JSON.stringify(rest)).lastInsertRowid);
      }
    });
  }

  /** Stores a batch; fills in each record's `seq`. */
  add(rows: StoredLiveRecord[]): void {
    if (rows.length) this.insertMany(rows);
  }

  /** Newest first, optionally of one source, one kind, or one flow's records. */
  recent(opts: { limit: number; source?: string; kind?: string; key?: string; before?: number }): StoredLiveRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (opts.source) { where.push('source = ?'); args.push(opts.source); }
    if (opts.kind) { where.push('kind = ?'); args.push(opts.kind); }
    if (opts.key) { where.push('flow_key = ?'); args.push(opts.key); }
    if (opts.before) { where.push('seq < ?'); args.push(opts.before); }
    const sql = `SELECT seq, data FROM live ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, opts.limit) as { seq: number; data: string }[];
    return rows.map((r) => ({ ...(JSON.parse(r.data) as Omit<StoredLiveRecord, 'seq'>), seq: r.seq }));
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM live').get() as { n: number }).n;
  }

  /** Deletes records received before `now - retention`; returns how many. */
  sweep(now = Date.now()): number {
    return this.db.prepare('DELETE FROM live WHERE received < ?').run(now - this.retentionMs).changes;
  }

  close(): void {
    this.db.close();
  }
}
