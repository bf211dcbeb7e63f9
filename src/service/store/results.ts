import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CellValue, ColumnType } from '../../flow/columns.ts';
import type { JobSummary } from '../jobs/types.ts';

/**
 * Result store: one SQLite file per job, `results/<id>.sqlite` under the (shared) data dir, holding the flow rows
 * (identity columns, handshake metadata, per-model predictions; no payload bytes, no feature vectors) and the
 * job's summary.
 *
 * A processor writes to a fresh temporary file and renames it over `<id>.sqlite` only when the job is complete.
 * Rename is atomic, so readers see either no results or all of them, and a retried or recovered job replaces
 * the results of an earlier attempt instead of adding to them: results are idempotent, keyed by job id.
 */

export interface ResultColumn {
  name: string;
  type: ColumnType;
  /** identity / metadata / label / prediction: lets clients pick what to show. */
  role: 'identity' | 'metadata' | 'label' | 'prediction';
  /** For prediction columns: the model that produced them. */
  model?: string;
}

export function resultsDir(dataDir: string): string {
  return path.join(dataDir, 'results');
}

export function resultsPath(dataDir: string, id: string): string {
  return path.join(resultsDir(dataDir), `${id}.sqlite`);
}

export function hasResults(dataDir: string, id: string): boolean {
  return existsSync(resultsPath(dataDir, id));
}

/** Deletes a job's results and derived downloads (no error when absent). */
export function deleteResults(dataDir: string, id: string): void {
  for (const p of [resultsPath(dataDir, id), path.join(resultsDir(dataDir), `${id}.parquet`)]) rmSync(p, { force: true });
}

/** Writes one job's results to a temporary file; `commit` makes them visible atomically. */
export class ResultWriter {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly tmp: string;
  private seq = 0;
  private buffer: string[] = [];
  private closed = false;

  constructor(private readonly dataDir: string, private readonly id: string, readonly columns: readonly ResultColumn[]) {
    mkdirSync(resultsDir(dataDir), { recursive: true });
    this.tmp = path.join(resultsDir(dataDir), `${id}.${randomBytes(6).toString('hex')}.tmp`);
    this.db = new Database(this.tmp);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE rows (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);');
    this.db.prepare('INSERT INTO meta VALUES (?, ?)').run('columns', JSON.stringify(columns));
    this.insert = this.db.prepare('INSERT INTO rows (seq, data) VALUES (?, ?)');
  }

  get rows(): number {
    return this.seq + this.buffer.length;
  }

  add(row: readonly CellValue[]): void {
    this.buffer.push(JSON.stringify(row.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))));
    if (this.buffer.length >= 4096) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    const tx = this.db.transaction(() => {
      for (const r of rows) this.insert.run(++this.seq, r);
    });
    tx();
  }

  /** Stores the summary, syncs the file and renames it over the job's results. */
  commit(summary: JobSummary): void {
    this.flush();
    this.db.prepare('INSERT INTO meta VALUES (?, ?)').run('summary', JSON.stringify(summary));
    this.db.close();
    this.closed = true;
    const fd = openSync(this.tmp, 'r+');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(this.tmp, resultsPath(this.dataDir, this.id));
    // A stale Parquet export of an earlier attempt must not outlive the rows it was made from.
    rmSync(path.join(resultsDir(this.dataDir), `${this.id}.parquet`), { force: true });
  }

  /** Drops the temporary file (failed or cancelled attempt). */
  abort(): void {
    if (!this.closed) {
      try { this.db.close(); } catch { /* already closed */ }
      this.closed = true;
    }
    rmSync(this.tmp, { force: true });
  }
}

export interface PageQuery {
  offset: number;
  limit: number;
  /** Column name to order by (rows keep their flow order otherwise). */
  sort?: string;
  desc?: boolean;
  /** Case-insensitive substring filter over the row's values. */
  q?: string;
  /** Exact matches, all of which a row must meet: a column's value as text ('' matches an empty or null cell). */
  where?: readonly { column: string; value: string }[];
}

/** Rows per value of one column (most flows first), with their bytes when the results carry byte counts. */
export interface GroupPage {
  by: string;
  /** Distinct values among the matching rows. */
  groups: number;
  matched: number;
  rows: { value: string; flows: number; bytes: number | null }[];
}

export interface ResultPage {
  columns: ResultColumn[];
  total: number;
  /** Rows matching `q` (equals total without a filter). */
  matched: number;
  offset: number;
  rows: CellValue[][];
}

/** Read access to one job's committed results. */
export class ResultReader {
  private readonly db: Database.Database;
  readonly columns: ResultColumn[];
  readonly summary: JobSummary;

  private constructor(db: Database.Database) {
    this.db = db;
    const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    this.columns = JSON.parse(meta.get('columns') ?? '[]') as ResultColumn[];
    this.summary = JSON.parse(meta.get('summary') ?? 'null') as JobSummary;
  }

  /** Opens a job's results, or returns null when there are none. */
  static open(dataDir: string, id: string): ResultReader | null {
    const p = resultsPath(dataDir, id);
    if (!existsSync(p)) return null;
    let db: Database.Database;
    try {
      db = new Database(p, { readonly: true, fileMustExist: true });
    } catch {
      return null;
    }
    return new ResultReader(db);
  }

  get total(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM rows').get() as { n: number }).n;
  }

  /** The index of a column by name; -1 when the results have none. */
  columnIndex(name: string): number {
    return this.columns.findIndex((c) => c.name === name);
  }

  /** The WHERE clause of a filter (column indexes are ours, never the client's text, so they are spliced in). */
  private filter(q: Pick<PageQuery, 'q' | 'where'>): { w: string; args: unknown[] } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.q) {
      where.push("data LIKE ? ESCAPE '\\'");
      args.push(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    for (const f of q.where ?? []) {
      const i = this.columnIndex(f.column);
      if (i < 0) throw new Error(`no column ${f.column}`);
      where.push(`${cellText(i)} = ?`);
      args.push(f.value);
    }
    return { w: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
  }

  /** Flows (and bytes) per value of column `by` among the rows the filter keeps, most flows first. */
  groups(by: string, q: Pick<PageQuery, 'q' | 'where'>, limit: number, bytesColumns: readonly string[]): GroupPage {
    const i = this.columnIndex(by);
    if (i < 0) throw new Error(`no column ${by}`);
    const { w, args } = this.filter(q);
    const b = bytesColumns.map((n) => this.columnIndex(n)).filter((j) => j >= 0);
    const bytes = b.length ? b.map((j) => `IFNULL(json_extract(data, '$[${j}]'), 0)`).join(' + ') : 'NULL';
    const rows = (this.db.prepare(`SELECT ${cellText(i)} AS value, COUNT(*) AS flows, SUM(${bytes}) AS bytes FROM rows ${w} GROUP BY value ORDER BY flows DESC, value LIMIT ?`)
      .all(...args, limit) as { value: string; flows: number; bytes: number | null }[]);
    const counts = this.db.prepare(`SELECT COUNT(DISTINCT ${cellText(i)}) AS g, COUNT(*) AS n FROM rows ${w}`).get(...args) as { g: number; n: number };
    return { by, groups: counts.g, matched: counts.n, rows: rows.map((r) => ({ value: String(r.value), flows: r.flows, bytes: b.length ? r.bytes ?? 0 : null })) };
  }

  page(q: PageQuery): ResultPage {
    const { w, args } = this.filter(q);
    let order = 'seq';
    if (q.sort) {
      const i = this.columns.findIndex((c) => c.name === q.sort);
      // The index is ours (not the client's text), so it is safe to splice into the SQL.
      if (i >= 0) order = `json_extract(data, '$[${i}]') ${q.desc ? 'DESC' : 'ASC'}, seq`;
    } else if (q.desc) {
      order = 'seq DESC';
    }
    const total = this.total;
    const matched = w ? (this.db.prepare(`SELECT COUNT(*) AS n FROM rows ${w}`).get(...args) as { n: number }).n : total;
    const rows = (this.db.prepare(`SELECT data FROM rows ${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as { data: string }[])
      .map((r) => JSON.parse(r.data) as CellValue[]);
    return { columns: this.columns, total, matched, offset: q.offset, rows };
  }

  /** Rows in flow order, `batch` at a time (for streaming downloads without holding the event loop). */
  *batches(batch = 5000): Generator<CellValue[][]> {
    const stmt = this.db.prepare('SELECT seq, data FROM rows WHERE seq > ? ORDER BY seq LIMIT ?');
    let after = 0;
    for (;;) {
      const got = stmt.all(after, batch) as { seq: number; data: string }[];
      if (got.length === 0) return;
      after = got[got.length - 1]!.seq;
      yield got.map((r) => JSON.parse(r.data) as CellValue[]);
      if (got.length < batch) return;
    }
  }

  /** One column's values over all rows (for charts). */
  columnValues(name: string): CellValue[] {
    const i = this.columns.findIndex((c) => c.name === name);
    if (i < 0) return [];
    return (this.db.prepare(`SELECT json_extract(data, '$[${i}]') AS v FROM rows ORDER BY seq`).all() as { v: CellValue }[]).map((r) => r.v);
  }

  close(): void {
    this.db.close();
  }
}

/** A cell as text for exact matching and grouping: null is '', true/false are 1/0 as SQLite's JSON reads them. */
function cellText(i: number): string {
  return `CAST(IFNULL(json_extract(data, '$[${i}]'), '') AS TEXT)`;
}

/** Size in bytes of a job's result file (0 when none), for listing. */
export function resultsSize(dataDir: string, id: string): number {
  try {
    return statSync(resultsPath(dataDir, id)).size;
  } catch {
    return 0;
  }
}
