import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { JobPayload, JobSummary } from './types.ts';

/**
 * Where a training job's version files live, and its commit point: light enough for the API server to import at
 * start-up (jobs/train.ts, which trains, pulls in the learners and the report's chart engine).
 */

/** The folder of a model name's trained versions, relative to the data dir (workers write there, the API reads). */
export function versionsDir(name: string): string {
  return path.join('models', 'versions', name);
}

/** The files of a training job's version, relative to the data dir; `summary` is written last, the commit point. */
export function versionFiles(name: string, jobId: string): { model: string; evaluation: string; report: string; summary: string } {
  const rel = versionsDir(name);
  return {
    model: path.join(rel, `${jobId}.veilmodel`),
    evaluation: path.join(rel, `${jobId}.evaluation.json`),
    report: path.join(rel, `${jobId}.report.html`),
    summary: path.join(rel, `${jobId}.summary.json`),
  };
}

/** A chart the training job rendered beside its model file (`<job id>.<chart>.svg`). */
export function chartFile(modelFile: string, chart: string): string {
  return modelFile.replace(/\.veilmodel$/, `.${chart}.svg`);
}

/** The committed summary beside a model file (`<job id>.summary.json`). */
export function summaryFile(modelFile: string): string {
  return modelFile.replace(/\.veilmodel$/, '.summary.json');
}

/** The summary a training job committed beside its model (both on disk), or null. */
export function committedTraining(dataDir: string, jobId: string, job: JobPayload): JobSummary | null {
  if (!job.train) return null;
  const files = versionFiles(job.train.name, jobId);
  const s = readSummary(path.join(dataDir, files.summary));
  return s && existsSync(path.join(dataDir, files.model)) ? s : null;
}

/** A committed training summary, if the file holds one. */
export function readSummary(file: string): JobSummary | null {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as JobSummary;
    return s && s.training ? s : null;
  } catch {
    return null;
  }
}
