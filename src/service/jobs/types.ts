import type { ServiceModel } from '../models/types.ts';
import type { InputKind } from '../sniff.ts';

/**
 * Contracts of the job system: what a job carries (persisted in SQLite and in Redis, so versioned and keyed by a
 * literal `kind`), what a finished job reports, and the queue interface both backends implement.
 */

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];

/** A model a job applies, pinned by content hash so every worker applies the same version. */
export interface ModelRef {
  name: string;
  sha256: string;
}

/** The persisted job payload (format version 1). */
export interface JobPayload {
  kind: 'veil-job';
  version: 1;
  id: string;
  input: InputKind;
  /** Path of the upload relative to the data dir (`uploads/<id>.<ext>`): workers on other machines mount the same
   * data dir elsewhere, so no absolute path is stored. */
  file: string;
  /** Display only (the upload's name as the client sent it); never used as a path. */
  inputName: string;
  inputBytes: number;
  models: ModelRef[];
  labelColumn: string | null;
  /** Keep the flows before damage in a truncated capture instead of failing. */
  partial: boolean;
  createdAt: number;
  /** The server's limits when the job was accepted (absent in jobs of older servers: no limits). */
  limits?: JobLimits;
  /** Present on a training job (POST /models/train): `file` is then the job's upload folder, holding `inputs`. */
  train?: TrainJobSpec;
}

/** Where a training job's labels come from: the names the flows show, the capture's file name, or a table column. */
export type TrainLabel = 'names:app' | 'names:category' | 'file' | `column:${string}`;

/** What a training job learns and how it is evaluated (the POST /models/train fields, checked). */
export interface TrainJobSpec {
  /** The model name the new version is registered under. */
  name: string;
  label: TrainLabel;
  learner: 'auto' | 'boosting' | 'forest';
  split: 'group' | 'kfold';
  folds: number;
  /** Make the new version active when training succeeds. */
  activate: boolean;
  /** The API key's id that submitted it (null on a server without keys). */
  createdBy: string | null;
  /** The uploads, relative to the data dir, with the names the client gave them (display and labels by file name). */
  inputs: { file: string; name: string; bytes: number; kind: InputKind }[];
}

/** A training job's outcome (JobSummary.training). `version` is given by the API server when it registers the model. */
export interface TrainingSummary {
  name: string;
  version: number | null;
  sha256: string;
  classes: string[];
  rows: number;
  /** The learner fitted (auto resolved). */
  learner: string;
  split: string;
  metrics: { accuracy: number; macroF1: number; balancedAccuracy: number } | null;
  activated: boolean;
  /** The version's files, relative to the data dir: model, evaluation JSON, HTML report. */
  files: { model: string; evaluation: string; report: string };
  /** Labelled flows per class. */
  counts: Record<string, number>;
}

/** Limits a job runs under, fixed when it is accepted so that every worker applies the server's. */
export interface JobLimits {
  /** Bytes a gzip upload may inflate to. */
  maxInflatedBytes: number;
  /** Wall time a run may take before it fails with JOB_TIMEOUT (0: none). */
  timeoutMs: number;
}

/** Per-model outcome over all rows of a job. */
export interface ModelSummary {
  name: string;
  classes: string[];
  /** Rows per predicted label ('unknown' included under its own key). */
  counts: Record<string, number>;
  unknown: number;
  /** Confidence histogram on [0,1] in `CONFIDENCE_BINS` equal bins. */
  confidenceHist: number[];
  /** Unknown threshold the model applied. */
  threshold: number;
  /** Present when the job had a label column: rows by true class (model classes, then others) by predicted class
   * (model classes, then one 'unknown' column). */
  confusion?: { classes: string[]; matrix: number[][] };
}

export const CONFIDENCE_BINS = 20;

/** What a finished job reports (also stored in its result file, so a retried job can report it again). */
export interface JobSummary {
  rows: number;
  /** Captures only. */
  packets?: number;
  skipped?: Record<string, number>;
  /** Damage found in a capture processed with partial=true, or other notices. */
  warnings: string[];
  labelColumn: string | null;
  models: ModelSummary[];
  durationMs: number;
  /** Flows and bytes by the verdict's application and category (names where visible, behaviour where hidden). */
  traffic?: TrafficSummary;
  /** A training job's model (absent on classify jobs). */
  training?: TrainingSummary;
}

/** Flows and bytes per key (application or category), largest in bytes first; at most 50 keys, the rest as 'other'. */
export interface TrafficSummary {
  byApp: Record<string, { flows: number; bytes: number }>;
  byCategory: Record<string, { flows: number; bytes: number }>;
}

/** A job as the API shows it. */
export interface JobRecord {
  id: string;
  /** classify: apply models to an upload (POST /jobs); train: learn a model (POST /models/train). */
  type: 'classify' | 'train';
  /** A training job's settings. */
  train?: { name: string; label: string; learner: string; split: string; folds: number; inputs: number };
  state: JobState;
  progress: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  attempts: number;
  inputName: string;
  inputKind: InputKind;
  inputBytes: number;
  models: string[];
  labelColumn: string | null;
  error: { code: string; message: string } | null;
  summary: JobSummary | null;
}

/** Depth of the queue by state, for /metrics and /readyz. */
export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

/**
 * The queue both backends implement. The registry (SQLite, on the API server) is the source of truth for the
 * API; a backend moves work to processors and reports back through the registry.
 */
export interface JobQueue {
  readonly backend: 'embedded' | 'redis';
  start(): Promise<void>;
  enqueue(job: JobPayload): Promise<void>;
  /** Stops a queued or running job (best effort for a running one on another machine). */
  cancel(id: string): Promise<void>;
  depth(): Promise<QueueDepth>;
  ready(): Promise<boolean>;
  /** Live progress of a running job when the backend knows it better than the registry. */
  progress(id: string): number | undefined;
  /** Stop taking jobs, finish or hand back the running ones within `graceMs`, release resources. */
  close(graceMs: number): Promise<void>;
}

export interface ProcessContext {
  dataDir: string;
  /** Loads (or returns the cached) model pinned by the job. */
  model(ref: ModelRef): Promise<ServiceModel>;
  onProgress(p: number): void;
  signal?: AbortSignal;
  /** True once the job was asked to stop, read without the event loop (a cancel during a synchronous model fit). */
  stopRequested?: () => boolean;
}

/** What a processor returns for one job. */
export type ProcessOutcome =
  | { ok: true; summary: JobSummary }
  /** A failed job may still have committed results (a damaged capture: the flows before the damage); `summary`
   * then describes them. */
  | { ok: false; error: { code: string; message: string; userFacing: boolean }; summary?: JobSummary };
