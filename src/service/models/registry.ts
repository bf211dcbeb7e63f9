import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ServiceError } from '../errors.ts';
import type { JobPayload, JobRecord } from '../jobs/types.ts';
import type { VersionStore, ModelVersion } from '../store/versions.ts';
import type { ModelCatalog } from './catalog.ts';
import type { EvaluationResult } from '../../model/evaluation.ts';
import { meterColumns } from '../../flow/meter.ts';
import { chartFile, summaryFile } from '../jobs/train-files.ts';

/** Every column Veil's meter writes (all families, default options): what a model applied to captures can read. */
let metered: Set<string> | null = null;
function meteredColumns(): Set<string> {
  metered ??= new Set(meterColumns().map((c) => c.name));
  return metered;
}

/** A name's versions as the API shows them. */
export interface VersionList {
  name: string;
  active: number | null;
  versions: PublicVersion[];
  /** Said when the last change needs a word (an active version that is not a default, and why). */
  note?: string;
}

export type PublicVersion = Omit<ModelVersion, 'files'>;

/**
 * Trained models by name and version: the record (VersionStore) joined to what the catalog loads. Activating a
 * version installs its file in the catalog under the name, as a default model, so new jobs that name no models
 * and live sources started afterwards apply it; retiring takes it out of service and keeps it for the record.
 */
export class ModelRegistry {
  /** Activations and retirements one at a time (each installs or removes a catalog file). */
  private chain: Promise<unknown> = Promise.resolve();
  /** Called after the default models changed (live sources restart with them). */
  onDefaultsChanged: () => Promise<unknown> = async () => {};

  constructor(private readonly store: VersionStore, private readonly catalog: ModelCatalog, private readonly dataDir: string, private readonly log: (m: string) => void = () => {}) {}

  /**
   * Registers the model of a finished training job as its name's next version and completes the job's summary with
   * the version number (synchronously: whoever sees the job done sees its version). Activates it when the job asked.
   */
  recordJob(job: JobRecord, payload: JobPayload, setSummary: (s: NonNullable<JobRecord['summary']>) => void): boolean {
    try {
      return this.record(job, payload, setSummary);
    } catch (err) {
      this.log(`job ${job.id}: registering its model failed: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * At start-up: a training job that ended done while no API server registered it (a crash between the two, a
   * failure to register) is registered now, once (versions are keyed by job id).
   */
  recover(jobs: Iterable<{ job: JobRecord; payload: JobPayload }>, setSummary: (id: string, s: NonNullable<JobRecord['summary']>) => void): number {
    let n = 0;
    for (const { job, payload } of jobs) {
      if (job.type !== 'train' || job.state !== 'done' || !job.summary?.training || job.summary.training.version !== null) continue;
      // Its activation, if asked for, is not redone behind the operator's back: the job says so.
      const asked = payload.train?.activate === true;
      const set = (s: NonNullable<JobRecord['summary']>): void => setSummary(job.id, asked && s.training?.version
        ? { ...s, warnings: [...s.warnings, `version ${s.training.version} was registered after a restart and not activated: activate it on the models page`] }
        : s);
      if (this.recordJob(job, { ...payload, train: payload.train ? { ...payload.train, activate: false } : undefined } as JobPayload, set)) n++;
    }
    return n;
  }

  /** Whether activating a version of `name` would replace a model that is none of its versions (uploaded, shipped). */
  shadows(name: string): boolean {
    return this.catalog.has(name) && this.store.bySha(name, this.catalog.get(name).sha256) === null;
  }

  private record(job: JobRecord, payload: JobPayload, setSummary: (s: NonNullable<JobRecord['summary']>) => void): boolean {
    const t = job.summary?.training;
    const spec = payload.train;
    if (job.state !== 'done' || !t || !spec) return false;
    const file = path.join(this.dataDir, t.files.model);
    if (!existsSync(file)) {
      this.log(`job ${job.id}: its model file ${t.files.model} is not in this server's data dir (do the server and its workers share it?); no version registered`);
      const missing = 'the model file is not in the server\'s data dir: no version was registered';
      if (!job.summary!.warnings.includes(missing)) setSummary({ ...job.summary!, warnings: [...job.summary!.warnings, missing] });
      return false;
    }
    const v = this.store.add({
      name: spec.name, sha256: t.sha256, sizeBytes: statSync(file).size, createdAt: job.finishedAt ?? Date.now(), createdBy: spec.createdBy, jobId: job.id,
      data: { inputs: spec.inputs.map((i) => ({ name: i.name, bytes: i.bytes })), rows: t.rows, classes: t.classes, label: spec.label, learner: t.learner, split: t.split },
      metrics: t.metrics, files: t.files,
    });
    const summary = { ...job.summary!, training: { ...t, version: v.version } };
    setSummary(summary);
    if (!spec.activate) return true;
    this.activate(spec.name, v.version).then(
      (list) => setSummary({ ...summary, warnings: [...summary.warnings, ...(list.note ? [`version ${v.version} is ${list.note}`] : [])], training: { ...summary.training, activated: true } }),
      (err: unknown) => {
        this.log(`job ${job.id}: activating ${spec.name} v${v.version} failed: ${(err as Error).message}`);
        setSummary({ ...summary, warnings: [...summary.warnings, `version ${v.version} was not activated: ${(err as Error).message}`] });
      },
    );
    return true;
  }

  names(): string[] {
    return this.store.names();
  }

  list(name: string): VersionList {
    this.reconcile(name);
    const versions = this.store.list(name);
    if (!versions.length) throw new ServiceError('MODEL_NOT_FOUND', `no model named '${name}' was trained here (POST /api/v1/models/train)`);
    const active = versions.find((v) => v.state === 'active')?.version ?? null;
    const notDefault = active !== null && this.catalog.has(name) && !this.catalog.describe(name).isDefault;
    return {
      name, active, versions: versions.map(publicVersion),
      ...(notDefault ? { note: 'the active version is not a default model: jobs and live sources apply it only when they name it' } : {}),
    };
  }

  /** The version loaded under the name in the catalog, if the loaded model is one of its trained versions. */
  loadedVersion(name: string, sha256: string): number | null {
    return this.store.bySha(name, sha256)?.version ?? null;
  }

  version(name: string, version: number): ModelVersion {
    const v = this.store.get(name, version);
    if (!v) throw new ServiceError('VERSION_NOT_FOUND', `no version ${version} of '${name}'`);
    return v;
  }

  evaluation(name: string, version: number): EvaluationResult {
    const v = this.version(name, version);
    try {
      return JSON.parse(readFileSync(path.join(this.dataDir, v.files.evaluation), 'utf8')) as EvaluationResult;
    } catch {
      throw new ServiceError('NOT_FOUND', `the evaluation of '${name}' version ${version} is no longer on disk`);
    }
  }

  /** The evaluation as stored (JSON text). */
  evaluationText(name: string, version: number): string {
    const v = this.version(name, version);
    try {
      return readFileSync(path.join(this.dataDir, v.files.evaluation), 'utf8');
    } catch {
      throw new ServiceError('NOT_FOUND', `the evaluation of '${name}' version ${version} is no longer on disk`);
    }
  }

  /** A chart the training job rendered (`<job id>.<chart>.svg` beside the model), or null when it wrote none. */
  chart(name: string, version: number, chart: string): string | null {
    const v = this.version(name, version);
    try {
      return readFileSync(path.join(this.dataDir, chartFile(v.files.model, chart)), 'utf8');
    } catch {
      return null;
    }
  }

  /** Whether the version's training job wrote its charts as files (its committed summary is beside them). */
  renderedCharts(name: string, version: number): boolean {
    const v = this.version(name, version);
    return existsSync(path.join(this.dataDir, summaryFile(v.files.model)));
  }

  report(name: string, version: number): string {
    const v = this.version(name, version);
    try {
      return readFileSync(path.join(this.dataDir, v.files.report), 'utf8');
    } catch {
      throw new ServiceError('NOT_FOUND', `the report of '${name}' version ${version} is no longer on disk`);
    }
  }

  activate(name: string, version: number, opts: { replace?: boolean } = {}): Promise<VersionList> {
    return this.serial(async () => {
      const v = this.version(name, version);
      if (v.state === 'retired') throw new ServiceError('MODEL_RETIRED', `'${name}' version ${version} was retired and cannot be activated again`);
      if (!opts.replace && this.shadows(name)) {
        throw new ServiceError('MODEL_EXISTS', `a model named '${name}' is loaded that is none of its trained versions (uploaded, or from --models): activating would replace it; send replace=true to do so`);
      }
      let note: string | undefined;
      const src = path.join(this.dataDir, v.files.model);
      if (!existsSync(src)) throw new ServiceError('VERSION_NOT_FOUND', `the model file of '${name}' version ${version} is no longer on disk`);
      const tmpDir = path.join(this.dataDir, 'tmp');
      mkdirSync(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, `activate-${randomBytes(6).toString('hex')}.part`);
      copyFileSync(src, tmp);
      try {
        // The evaluation beside the installed file is what GET /models shows as the model's metrics.
        mkdirSync(this.catalog.uploadDir, { recursive: true });
        const evaluation = path.join(this.dataDir, v.files.evaluation);
        if (existsSync(evaluation)) copyFileSync(evaluation, path.join(this.catalog.uploadDir, `${name}.evaluation.json`));
        // A model of a table's own columns (not the meter's) answers tables that carry them, when a job names it; as a
        // default it would fail every capture job, so it is loaded but not a default.
        const info = await this.catalog.install(tmp, name, { replace: true, isDefault: false });
        const foreign = info.columns.filter((c) => !meteredColumns().has(c));
        if (!foreign.length) this.catalog.setDefault(name, true);
        else note = `active but not a default model: it reads ${foreign.length} column(s) Veil's meter does not write (${foreign.slice(0, 8).join(', ')}${foreign.length > 8 ? ', ...' : ''}), so it answers only tables that carry them, in jobs that name it`;
      } finally {
        rmSync(tmp, { force: true });
      }
      this.store.setActive(name, version);
      await this.onDefaultsChanged().catch((err: unknown) => this.log(`after activating ${name} v${version}: ${(err as Error).message}`));
      return { ...this.list(name), ...(note ? { note } : {}) };
    });
  }

  retire(name: string, version: number): Promise<VersionList> {
    return this.serial(async () => {
      const v = this.version(name, version);
      if (v.state === 'retired') return this.list(name);
      if (v.state === 'active' && this.catalog.has(name) && this.catalog.get(name).sha256 === v.sha256) {
        await this.catalog.remove(name);
        rmSync(path.join(this.catalog.uploadDir, `${name}.evaluation.json`), { force: true });
      }
      const wasActive = v.state === 'active';
      this.store.retire(name, version);
      if (wasActive) await this.onDefaultsChanged().catch((err: unknown) => this.log(`after retiring ${name} v${version}: ${(err as Error).message}`));
      return this.list(name);
    });
  }

  /** A model unloaded or replaced through /models leaves its name with no active trained version. */
  private reconcile(name: string): void {
    const a = this.store.active(name);
    if (a && !(this.catalog.has(name) && this.catalog.get(name).sha256 === a.sha256)) this.store.clearActive(name);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }
}

function publicVersion(v: ModelVersion): PublicVersion {
  const { files: _files, ...rest } = v;
  return rest;
}
