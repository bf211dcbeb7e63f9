import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { VeilError } from '../../wire/errors.ts';

/**
 * One API server per data directory: `<data dir>/veil.lock` holds the owner's pid, created exclusively. A lock
 * whose pid no longer runs is stale (the owner was killed) and is taken over; a live one is refused, before the
 * newcomer touches the registry (it would otherwise reset the live server's running jobs to queued).
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, 'veil.lock');
    for (let tries = 0; tries < 3; tries++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(safeRead(file), 10);
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new VeilError('DATA_DIR_IN_USE', `${dataDir} is in use by another veil server (pid ${owner}); stop it first or use another --data-dir`);
      }
      rmSync(file, { force: true });
    }
    throw new VeilError('DATA_DIR_IN_USE', `${dataDir}: could not take the lock ${file}`);
  }

  release(): void {
    if (Number.parseInt(safeRead(this.file), 10) === process.pid) rmSync(this.file, { force: true });
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
