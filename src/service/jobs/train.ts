import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Interrupted, labelCaptures, loadLabelled, trainOnTable, type CaptureInput } from '../../learn/pipeline.ts';
import { saveModel } from '../../model/artifact.ts';
import { closeWorkers } from '../../model/index.ts';
import { chartSvg, renderHtml, renderSvg, reportCharts } from '../../report/index.ts';
import type { LabelFrom } from '../../dataset/labels.ts';
import { catalogFilesFromEnv } from '../../names/index.ts';
import { serviceCodeFor } from '../errors.ts';
import type { JobPayload, JobSummary, ProcessContext, ProcessOutcome, TrainingSummary } from './types.ts';
import { chartFile, readSummary, versionFiles, versionsDir } from './train-files.ts';

export { committedTraining, versionFiles, versionsDir } from './train-files.ts';

/** Label sources of training jobs as the labelling pipeline names them. */
const LABEL_FROM: Record<string, LabelFrom> = { 'names:app': 'names:app', 'names:category': 'names:category', file: 'name' };

/** Labelled flows a training job learns from at most (its table is held in memory: ~1.5 KB a flow). */
export const MAX_TRAIN_ROWS = 1_000_000;

/** Meter timeouts of training jobs on captures (as `veil learn`'s defaults), recorded in the model. */
const IDLE_S = 120;
const ACTIVE_S = 1800;

/**
 * Runs a training job in a pool thread: labels the uploaded captures (or reads the uploaded table), fits the learner
 * on behaviour alone with a held-out evaluation first, and writes the version's files (model, evaluation JSON,
 * self-contained HTML report, then the job's summary as the commit point) under `models/versions/<name>/<job id>.*`,
 * each by rename so a killed job leaves no half file and a rerun replaces the first run's; a rerun that finds the
 * summary (a worker killed after finishing, before its queue heard) reports it again. The uploads are left to the
 * API server, which removes them when the job is final and registers the version when it is done.
 * Cancel and the job's time limit are polled at every tree and boosting round (`stopRequested`: a shared flag, read
 * while the fit keeps the thread's event loop from turning).
 * Progress: labelling 0-40 %, the held-out folds 40-85 %, the final fit 85-97 %, the report to 100 %.
 */
export async function processTraining(job: JobPayload, ctx: ProcessContext): Promise<ProcessOutcome> {
  const spec = job.train!;
  const t0 = Date.now();
  const uploadDir = path.join(ctx.dataDir, job.file);
  const signal = ctx.signal;
  const deadline = job.limits?.timeoutMs ? t0 + job.limits.timeoutMs : 0;
  let stop: 'cancel' | 'timeout' | null = null;
  const interrupted = (): boolean => {
    if (!stop && (ctx.stopRequested?.() || signal?.aborted)) stop = 'cancel';
    if (!stop && deadline && Date.now() > deadline) stop = 'timeout';
    return stop !== null;
  };
  // Named by the job id, so the retention sweep keeps it while the job exists (service/store/sweeper.ts).
  const work = path.join(ctx.dataDir, 'tmp', `${job.id}.train`);
  const names = spec.inputs.map((i) => i.name);
  const what = names.length === 1 ? names[0]! : `${names[0]} and ${names.length - 1} more`;
  /** Error messages name the uploads as the client sent them, never where they are stored (whole paths only: a
   * stored name such as 1.pcap is also part of display names like home-1.pcap). */
  const clean = (m: string): string => {
    let out = m;
    for (const i of spec.inputs) out = out.split(path.join(ctx.dataDir, i.file)).join(i.name);
    return out.split(work + path.sep).join('');
  };
  const files = versionFiles(spec.name, job.id);
  const committed = readSummary(path.join(ctx.dataDir, files.summary));
  if (committed && existsSync(path.join(ctx.dataDir, files.model))) return { ok: true, summary: committed };
  let best = 0;
  const progress = (p: number): void => {
    if (p <= best + 0.005) return;
    best = Math.min(0.99, p);
    ctx.onProgress(best);
  };
  if (!existsSync(uploadDir)) {
    return { ok: false, error: { code: 'INPUT_GONE', message: `the uploads of job ${job.id} are no longer available`, userFacing: true } };
  }
  const warnings: string[] = [];
  try {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    let tablePath: string;
    let label: string;
    let counts: Map<string, number> | null = null;
    const captures = spec.inputs.filter((i) => i.kind.kind === 'capture');
    if (captures.length) {
      const from = LABEL_FROM[spec.label];
      if (!from) throw Object.assign(new Error(`label '${spec.label}' is for a flow table, not captures`), { userFacing: true, code: 'BAD_REQUEST' });
      tablePath = path.join(work, 'flows.csv');
      label = 'label';
      // Two uploads of one file name stay two captures (groups): the second's id_capture is "name#2"; its label by
      // file name is still the name's.
      const seen = new Map<string, number>();
      const inputs: CaptureInput[] = captures.map((c) => {
        const n = (seen.get(c.name) ?? 0) + 1;
        seen.set(c.name, n);
        return { path: path.join(ctx.dataDir, c.file), name: c.name, ...(n > 1 ? { captureName: `${c.name}#${n}` } : {}) };
      });
      const out = await labelCaptures(inputs, tablePath, {
        labeller: { rules: [], entries: [], from, ruleColumns: [] },
        catalogFiles: catalogFilesFromEnv(),
        meter: { table: { idleTimeoutUs: IDLE_S * 1e6, activeTimeoutUs: ACTIVE_S * 1e6 } },
        ...(signal ? { signal } : {}),
        interrupted,
        maxRows: MAX_TRAIN_ROWS,
        ...(job.limits?.maxInflatedBytes ? { maxInflatedBytes: job.limits.maxInflatedBytes } : {}),
        onProgress: (done, total) => progress(0.4 * (total ? done / total : 1)),
        onCapture: (c, o) => {
          if ('error' in o) warnings.push(clean(`${o.error.message} (this capture was left out)`));
          else if (o.damage) warnings.push(clean(`${o.damage}: the flows before the damage were used`));
          else if (o.flows === 0) warnings.push(`${c.name}: no flow in this capture`);
          else if (o.labelled === 0) warnings.push(`${c.name}: none of its ${o.flows} flows got a label, so it taught the model nothing`);
        },
      });
      if (out.overLimit) warnings.push(`learnt from the first ${MAX_TRAIN_ROWS} labelled flows; ${out.overLimit} more were left out (this server's limit)`);
      counts = out.counts;
      if (!out.written || out.counts.size === 0) {
        const how = from === 'name' ? 'no capture\'s file name gave a label' : 'no flow showed a name the service catalogue knows';
        throw Object.assign(new Error(`${what}: no flow was labelled (${how}; ${out.flows} flows metered): label by file name (e.g. netflix-1.pcap), upload captures whose flows show their server names, or add your services to the catalogue (veil serve --catalog FILE)`), { userFacing: true, code: 'NO_LABELS' });
      }
    } else {
      const t = spec.inputs[0]!;
      tablePath = path.join(ctx.dataDir, t.file);
      label = spec.label.startsWith('column:') ? spec.label.slice('column:'.length) : 'label';
    }
    if (interrupted()) throw new Interrupted();
    const table = await loadLabelled(tablePath, label, { ...(signal ? { signal } : {}), ...(job.limits?.maxInflatedBytes ? { maxInflatedBytes: job.limits.maxInflatedBytes } : {}) });
    if (table.rows > MAX_TRAIN_ROWS) {
      throw Object.assign(new Error(`${spec.inputs[0]!.name}: ${table.rows} rows, more than the ${MAX_TRAIN_ROWS} a training job learns from on this server: send a sample`), { userFacing: true, code: 'BAD_REQUEST' });
    }
    // The table's name in messages and the report is the upload's, never the stored path.
    (table as { source: string }).source = captures.length ? what : spec.inputs[0]!.name;
    const trained = await trainOnTable(table, {
      label,
      learner: spec.learner,
      split: spec.split === 'group' ? { kind: 'group', column: 'id_capture', folds: spec.folds } : { kind: 'kfold', folds: spec.folds },
      name: spec.name,
      threads: 1,
      ...(captures.length ? { meter: { idleTimeoutS: IDLE_S, activeTimeoutS: ACTIVE_S } } : {}),
      ...(signal ? { signal } : {}),
      interrupted,
      onProgress: (stage, done, total) => {
        const m = /^fold (\d+)\/(\d+)/.exec(stage);
        if (m) {
          const k = Number(m[1]) - 1, K = Number(m[2]);
          progress(0.4 + 0.45 * ((k + (total ? done / total : 0)) / K));
        } else {
          progress(0.85 + 0.12 * (total ? done / total : 0));
        }
      },
    });
    warnings.push(...trained.warnings.map(clean));
    if (interrupted()) throw new Interrupted();

    mkdirSync(path.join(ctx.dataDir, versionsDir(spec.name)), { recursive: true });
    const evaluation = trained.evaluation;
    evaluation.model = { kind: trained.learner, name: spec.name };
    const charts = reportCharts(evaluation).map(({ name, spec: s }) => ({ name, title: s.title, svg: renderSvg(s) }));
    // The version routes serve the charts as files: rendering a thousand-class confusion matrix on request would
    // stall the API thread. Those the report holds are written as rendered for it; the others are rendered here.
    const inline = new Map(charts.map((c) => [c.name, c.svg]));
    const served: Record<string, () => string | null> = {
      importance: () => chartSvg('importance', { features: evaluation.featureImportance }),
      f1: () => chartSvg('f1', evaluation.perClass),
      confusion: () => chartSvg('confusion', { classes: evaluation.classes, confusion: evaluation.confusion }),
      'risk-coverage': () => (evaluation.riskCoverage ? chartSvg('risk-coverage', evaluation.riskCoverage) : null),
    };
    const html = renderHtml(evaluation, charts, { notes: [`Trained by job ${job.id} on ${names.join(', ')}`.slice(0, 2000), ...warnings] });
    const atomic = (rel: string, data: string): void => {
      const f = path.join(ctx.dataDir, rel);
      writeFileSync(`${f}.tmp`, data);
      renameSync(`${f}.tmp`, f);
    };
    for (const [chart, render] of Object.entries(served)) {
      const svg = inline.get(chart) ?? render();
      if (svg !== null) atomic(chartFile(files.model, chart), svg);
    }
    atomic(files.evaluation, `${JSON.stringify(evaluation, null, 2)}\n`);
    atomic(files.report, html);
    await saveModel(trained.model, path.join(ctx.dataDir, files.model));
    const sha256 = createHash('sha256').update(readFileSync(path.join(ctx.dataDir, files.model))).digest('hex');
    counts ??= new Map(Object.entries(evaluation.classCounts));
    const training: TrainingSummary = {
      name: spec.name,
      version: null,
      sha256,
      classes: trained.classes,
      rows: trained.rows,
      learner: trained.learner,
      split: evaluation.split.description,
      metrics: { accuracy: evaluation.accuracy, macroF1: evaluation.macro.f1, balancedAccuracy: evaluation.balancedAccuracy },
      activated: false,
      files: { model: files.model, evaluation: files.evaluation, report: files.report },
      counts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    };
    const summary: JobSummary = { rows: trained.rows, warnings, labelColumn: null, models: [], durationMs: Date.now() - t0, training };
    atomic(files.summary, JSON.stringify(summary));
    ctx.onProgress(1);
    return { ok: true, summary };
  } catch (err) {
    if (stop || signal?.aborted) {
      if (stop === 'timeout') {
        return { ok: false, error: { code: 'JOB_TIMEOUT', message: `${what}: training ran longer than this server's limit of ${Math.round(job.limits!.timeoutMs / 1000)} s`, userFacing: true } };
      }
      return { ok: false, error: { code: 'CANCELLED', message: 'cancelled', userFacing: true } };
    }
    const e = err as { userFacing?: boolean; code?: unknown; name?: unknown; message?: unknown; stack?: unknown };
    const message = clean(String(e?.message ?? err));
    if (e?.userFacing) return { ok: false, error: { code: serviceCodeFor(String(e.code ?? ''), String(e.name ?? '')), message, userFacing: true } };
    return { ok: false, error: { code: 'INTERNAL', message: clean(String(e?.stack ?? message)), userFacing: false } };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await closeWorkers();
  }
}
