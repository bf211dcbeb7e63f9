import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { VeilError } from '../../core/errors.ts';

/**
 * One API server per data directory: an exclusive SQLite lock on `<data dir>/veil.lock`, held for the life of the
 * process. The lock is the kernel's (a POSIX advisory lock on the file), so it dies with its process however that
 * ends (SIGKILL, OOM, a container stopped), works across pid namespaces, and two servers racing for it cannot both
 * win. The second server is refused before it touches the registry (it would otherwise reset the live server's
 * running jobs to queued).
 */
export class DataDirLock {
  private constructor(private db: Database.Database | null) {}

  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, 'veil.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      let db: Database.Database;
      try {
        db = new Database(file, { timeout: 0 });
      } catch (err) {
        throw new VeilError('DATA_DIR_IN_USE', `${dataDir}: cannot open the lock file ${file} (${(err as Error).message})`);
      }
      try {
        db.pragma('locking_mode = EXCLUSIVE');
        db.exec('BEGIN EXCLUSIVE');
        return new DataDirLock(db);
      } catch (err) {
        db.close();
        const code = (err as { code?: string }).code;
        if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
          throw new VeilError('DATA_DIR_IN_USE', `${dataDir} is in use by another veil server; stop it first or use another --data-dir`);
        }
        // A lock file of an older Veil (a pid in text) or damaged: it holds nothing, replace it once.
        // Moved aside, not removed: a racing server's rename fails, and it then meets the new lock (BUSY).
        if (attempt === 0 && (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')) {
          try { renameSync(file, `${file}.old-${process.pid}`); } catch { /* another server moved it first */ }
          rmSync(`${file}.old-${process.pid}`, { force: true });
          continue;
        }
        throw new VeilError('DATA_DIR_IN_USE', `${dataDir}: cannot take the lock ${file} (${(err as Error).message})`);
      }
    }
    throw new VeilError('DATA_DIR_IN_USE', `${dataDir}: cannot take the lock ${file}`);
  }

  release(): void {
    if (!this.db) return;
    try { this.db.exec('ROLLBACK'); } catch { /* nothing to roll back */ }
    this.db.close();
    this.db = null;
  }
}
