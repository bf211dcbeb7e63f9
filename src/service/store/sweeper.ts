import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { JobRegistry } from './registry.ts';
import { deleteResults, resultsDir } from './results.ts';

export interface SweepReport {
  expired: number;
  orphans: number;
}

/** Files younger than this are never taken for orphans: a job may be being created or written right now. */
const ORPHAN_AGE_MS = 60 * 60_000;

/**
 * Retention: deletes finished jobs (registry row, results, upload) older than `retentionMs`, and files no job owns
 * any more (the upload or results of a deleted job that a worker elsewhere finished late, a dead worker's
 * temporary file) once they are an hour old; at start-up, partial uploads at once (their upload died with the
 * last process). Temporary result files of jobs still queued or running are never touched.
 */
export function sweep(reg: JobRegistry, dataDir: string, retentionMs: number, now = Date.now(), opts: { startup?: boolean; versionJobs?: () => Set<string> } = {}): SweepReport {
  let expired = 0;
  for (const id of reg.expired(now - retentionMs)) {
    const p = reg.payload(id);
    deleteResults(dataDir, id);
    if (p) rmSync(path.join(dataDir, p.file), { force: true, recursive: true });
    reg.delete(id);
    expired++;
  }
  // Deleted rows (input names among them) must not linger in the write-ahead log or in free pages.
  if (expired > 0) reg.scrub();
  const ids = reg.ids();
  const inflight = new Set(reg.inflight().map((j) => j.id));
  let orphans = 0;
  for (const dir of [resultsDir(dataDir), path.join(dataDir, 'uploads'), path.join(dataDir, 'tmp')]) {
    let names: string[];
    try { names = readdirSync(dir); } catch { continue; }
    for (const f of names) {
      const id = /^(j[0-9a-z]+)\./.exec(f)?.[1];
      if (id && ids.has(id) && !f.endsWith('.tmp')) continue;
      // A running job's temporary result file is in use however old it is (a long job).
      if (id && inflight.has(id) && f.endsWith('.tmp')) continue;
      const full = path.join(dir, f);
      try {
        // At start-up (the data dir lock is ours) an upload's partial file has no writer left: a kill mid-upload.
        const staleNow = opts.startup === true && f.endsWith('.part');
        if (!staleNow && now - statSync(full).mtimeMs < ORPHAN_AGE_MS) continue;
        rmSync(full, { force: true, recursive: true });
        orphans++;
      } catch { /* gone meanwhile */ }
    }
  }
  // A training job's version files (models/versions/<name>/<job id>.*) stay as long as the version is registered;
  // those of a job that failed, was cancelled or deleted before registering (and is not running) are orphans.
  if (opts.versionJobs) {
    const registered = opts.versionJobs();
    const root = path.join(dataDir, 'models', 'versions');
    let names: string[] = [];
    try { names = readdirSync(root); } catch { /* no versions yet */ }
    for (const n of names) {
      let files: string[];
      try { files = readdirSync(path.join(root, n)); } catch { continue; }
      for (const f of files) {
        const id = /^(j[0-9a-z]+)\./.exec(f)?.[1];
        if (!id || registered.has(id) || inflight.has(id)) continue;
        // A done job not registered yet (its server about to register it) keeps its files too.
        if (ids.has(id) && reg.get(id)?.state === 'done') continue;
        const full = path.join(root, n, f);
        try {
          if (now - statSync(full).mtimeMs < ORPHAN_AGE_MS) continue;
          rmSync(full, { force: true });
          orphans++;
        } catch { /* gone meanwhile */ }
      }
    }
  }
  return { expired, orphans };
}
