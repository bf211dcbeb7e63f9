import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { streamTable } from '../../dataset/load.ts';
import { classifyCapture, tableAnswerPlan, BATCH_ROWS, type AnswerBatch } from '../../classify/capture.ts';
import type { AnswerColumn } from '../../classify/layout.ts';
import { ResultReader, ResultWriter, type ResultColumn } from '../store/results.ts';
import { ServiceError, serviceCodeFor } from '../errors.ts';
import { UNKNOWN_LABEL, type ServiceModel } from '../models/types.ts';
import { catalogFilesFromEnv, loadCatalog, type Catalog } from '../../names/index.ts';
import { CONFIDENCE_BINS, type ProcessContext, type JobPayload, type JobSummary, type ModelRef, type ModelSummary, type ProcessOutcome, type TrafficSummary } from './types.ts';

/** The catalogue of this thread (the shipped one plus the server's --catalog files), loaded once. */
let catalogue: Catalog | null = null;
function threadCatalog(): Catalog {
  catalogue ??= loadCatalog(catalogFilesFromEnv());
  return catalogue;
}

export type { ProcessContext } from './types.ts';

/** A job cancelled while running: not an input error, not retried. */
export const CANCELLED = 'CANCELLED';
/** The upload is gone and no results exist (deleted job, or a retry after the input was cleaned). */
export const INPUT_GONE = 'INPUT_GONE';

/**
 * Runs one job: reads the upload (capture: meter it into flows; table: stream its rows), applies the job's
 * models batch by batch, writes identity + handshake columns + predictions to the result store and commits them
 * atomically, then deletes the upload (no payload bytes are kept). Runs in a worker thread.
 *
 * Idempotent by job id: a second run replaces the first's results; a run that finds the upload already consumed
 * and results committed (a worker died between commit and acknowledgement) reports the stored summary.
 */
export async function processJob(job: JobPayload, ctx: ProcessContext): Promise<ProcessOutcome> {
  if (job.train) return (await import('./train.ts')).processTraining(job, ctx);
  const t0 = Date.now();
  const file = path.join(ctx.dataDir, job.file);
  if (!existsSync(file)) {
    const done = ResultReader.open(ctx.dataDir, job.id);
    if (done) {
      try { return { ok: true, summary: done.summary }; } finally { done.close(); }
    }
    return { ok: false, error: { code: INPUT_GONE, message: `the upload of job ${job.id} is no longer available`, userFacing: true } };
  }
  let writer: ResultWriter | null = null;
  // The job's time limit aborts it like a cancel, but it ends as a failure naming the limit.
  const timeout = job.limits?.timeoutMs ? AbortSignal.timeout(job.limits.timeoutMs) : null;
  const signal = timeout ? (ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout) : ctx.signal;
  let acc: Accumulator | null = null;
  const summary: JobSummary = { rows: 0, warnings: [], labelColumn: job.labelColumn, models: [], durationMs: 0 };
  /** Commits the rows written so far with their summary (the results of a job that ends early), if any. */
  const keep = (w: ResultWriter | null): JobSummary | null => {
    if (!w || !w.rows || !acc) return null;
    summary.rows = w.rows;
    summary.models = acc.summaries();
    summary.traffic = acc.traffic();
    summary.durationMs = Date.now() - t0;
    w.commit(summary);
    return summary;
  };
  const stopped = (w: ResultWriter | null): ProcessOutcome => {
    if (timeout?.aborted && !ctx.signal?.aborted) {
      // A job over the time limit fails, but the flows it finished stay readable beside the error.
      const kept = keep(w);
      if (!kept) w?.abort();
      const message = `${job.inputName}: the job ran longer than this server's limit of ${Math.round(job.limits!.timeoutMs / 1000)} s${kept ? `; the ${kept.rows} flows it finished are kept` : ''}`;
      return { ok: false, error: { code: 'JOB_TIMEOUT', message, userFacing: true }, ...(kept ? { summary: kept } : {}) };
    }
    return cancelled(w);
  };
  try {
    const models: ServiceModel[] = [];
    for (const ref of job.models) models.push(await ctx.model(ref));
    const a = new Accumulator(models, job.labelColumn);
    acc = a;
    let lastProgress = 0;
    const progress = (p: number): void => {
      const now = Date.now();
      if (now - lastProgress < 200) return;
      lastProgress = now;
      ctx.onProgress(Math.min(0.99, Math.max(0, p)));
    };

    let damage: ProcessOutcome | null = null;
    if (job.input.kind === 'capture') {
      const total = statSync(file).size || 1;
      let cols: ResultColumn[] | null = null;
      // The one capture-to-answer path (as `veil classify`): metered as the models' training flows were.
      const res = await classifyCapture({ path: file }, models, {
        catalog: threadCatalog(),
        meter: { captureName: job.inputName },
        batchRows: BATCH_ROWS,
        warn: (m) => summary.warnings.push(m),
        onBatch: (b) => {
          cols ??= resultColumns(b.columns);
          writer ??= new ResultWriter(ctx.dataDir, job.id, cols);
          a.writeBatch(b, writer);
        },
        onProgress: (bytes) => progress(bytes / total),
        ...(signal ? { signal } : {}),
        ...(job.limits?.maxInflatedBytes ? { maxInflatedBytes: job.limits.maxInflatedBytes } : {}),
      });
      if (signal?.aborted) return stopped(writer);
      writer ??= new ResultWriter(ctx.dataDir, job.id, resultColumns(res.answerColumns));
      if (res.capture.error) {
        const msg = res.capture.error.message.split(file).join(job.inputName);
        if (!job.partial) {
          // The job fails, but the flows before the damage stay readable beside the error.
          summary.warnings.push(`${msg}: kept the ${res.flows} flows before the damage`);
          damage = { ok: false, error: { code: 'BAD_CAPTURE', message: `${msg} (the ${res.flows} flows before it are kept; upload with partial=true to have the job succeed with them)`, userFacing: true } };
        } else {
          summary.warnings.push(`${msg}: kept the ${res.flows} flows before the damage`);
        }
      }
      summary.packets = res.packets;
      summary.skipped = res.skipped;
    } else {
      let read = 0; // share of the input consumed, told by the reader: compressed bytes for .gz, rows for Parquet
      let plan: ReturnType<typeof tableAnswerPlan> | null = null;
      let rows = 0;
      let rowNumbers = false;
      const warn = (m: string): void => { summary.warnings.push(m.split(file).join(job.inputName)); };
      for await (const chunk of streamTable(file, {
        format: job.input.format,
        chunkRows: BATCH_ROWS,
        warn,
        flagAdvice: false,
        onProgress: (f: number) => { read = f; },
        ...(job.limits?.maxInflatedBytes ? { limits: { maxInflatedBytes: job.limits.maxInflatedBytes } } : {}),
        ...(job.labelColumn ? { textColumns: [job.labelColumn] } : {}),
      })) {
        if (signal?.aborted) return stopped(writer);
        if (!plan) {
          try {
            plan = tableAnswerPlan(chunk, models, { catalog: threadCatalog(), label: job.labelColumn });
          } catch (e) {
            throw (e as { code?: string }).code === 'MISSING_COLUMNS' ? new ServiceError('MISSING_COLUMNS', (e as Error).message.replace(chunk.source, job.inputName)) : e;
          }
          writer = new ResultWriter(ctx.dataDir, job.id, [...(plan.columns.some((c) => c.name === 'id_flow') ? [] : [ROW_COLUMN]), ...resultColumns(plan.columns)]);
          rowNumbers = !plan.columns.some((c) => c.name === 'id_flow');
        }
        a.writeBatch(plan.answer(chunk), writer!, rowNumbers ? rows + 1 : 0);
        rows += chunk.rows;
        progress(read);
      }
      writer ??= new ResultWriter(ctx.dataDir, job.id, [ROW_COLUMN]);
    }
    const w = writer as ResultWriter;
    summary.rows = w.rows;
    summary.models = a.summaries();
    summary.traffic = a.traffic();
    summary.durationMs = Date.now() - t0;
    w.commit(summary);
    writer = null;
    rmSync(file, { force: true });
    ctx.onProgress(1);
    return damage && !damage.ok ? { ...damage, summary } : { ok: true, summary };
  } catch (err) {
    (writer as ResultWriter | null)?.abort();
    if (signal?.aborted) return stopped(null);
    const e = err as { userFacing?: boolean; code?: unknown; name?: unknown; message?: unknown; stack?: unknown };
    const message = String(e?.message ?? err).split(file).join(job.inputName);
    if (e?.userFacing) return { ok: false, error: { code: serviceCodeFor(String(e.code ?? ''), String(e.name ?? '')), message, userFacing: true } };
    return { ok: false, error: { code: 'INTERNAL', message: String(e?.stack ?? message), userFacing: false } };
  }
}

function cancelled(writer: ResultWriter | null): ProcessOutcome {
  writer?.abort();
  return { ok: false, error: { code: CANCELLED, message: 'cancelled', userFacing: true } };
}

/** A table without id_flow numbers its rows (from 1) in this first column. */
const ROW_COLUMN: ResultColumn = { name: 'row', type: 'int', role: 'identity' };

/** The answer layout (src/classify/layout.ts) as result columns: roles for clients to pick what to show. */
function resultColumns(columns: readonly AnswerColumn[]): ResultColumn[] {
  return columns.map((c): ResultColumn => {
    if (c.group === 'answer') return { name: c.name, type: c.type, role: 'prediction', model: c.model! };
    return { name: c.name, type: c.type, role: c.group === 'identity' ? 'identity' : c.group === 'label' ? 'label' : 'metadata' };
  });
}

/** Applies the models to batches, writes result rows and gathers the per-model summary. */
class Accumulator {
  private readonly per: {
    counts: Map<string, number>;
    unknown: number;
    hist: number[];
    confusion: Map<string, Float64Array>;
  }[];

  constructor(private readonly models: readonly ServiceModel[], private readonly label: string | null) {
    this.per = models.map(() => ({ counts: new Map(), unknown: 0, hist: new Array<number>(CONFIDENCE_BINS).fill(0), confusion: new Map() }));
  }

  traffic(): TrafficSummary {
    return { byApp: top(this.byApp), byCategory: top(this.byCategory) };
  }

  private readonly byApp = new Map<string, { flows: number; bytes: number }>();
  private readonly byCategory = new Map<string, { flows: number; bytes: number }>();

  /** Writes one batch of answer rows (prefixed by their row number when `firstRow` > 0) and counts them. */
  writeBatch(b: AnswerBatch, w: ResultWriter, firstRow = 0): void {
    for (let r = 0; r < b.rows.length; r++) {
      const row = b.rows[r]!;
      const bytes = Number.isFinite(b.bytes[r]!) ? b.bytes[r]! : 0;
      add(this.byApp, b.app[r] || '(none)', bytes);
      add(this.byCategory, b.category[r]!, bytes);
      for (let k = 0; k < this.models.length; k++) {
        const p = b.answers[k]!;
        const acc = this.per[k]!;
        const label = p.labels[r]!;
        const conf = p.confidence[r]!;
        const unk = p.unknown[r] === 1;
        acc.counts.set(label, (acc.counts.get(label) ?? 0) + 1);
        if (unk) acc.unknown++;
        if (Number.isFinite(conf)) acc.hist[Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(conf * CONFIDENCE_BINS)))]!++;
        const truth = b.labels?.[r];
        if (truth !== undefined && truth !== null) {
          const m = this.models[k]!;
          let line = acc.confusion.get(truth);
          if (!line) { line = new Float64Array(m.classes.length + 1); acc.confusion.set(truth, line); }
          const j = unk ? m.classes.length : m.classes.indexOf(label);
          line[j < 0 ? m.classes.length : j]!++;
        }
      }
      w.add(firstRow > 0 ? [firstRow + r, ...row] : row);
    }
  }

  summaries(): ModelSummary[] {
    return this.models.map((m, k) => {
      const acc = this.per[k]!;
      const s: ModelSummary = {
        name: m.name,
        classes: m.classes,
        counts: Object.fromEntries([...acc.counts].sort((a, b) => b[1] - a[1])),
        unknown: acc.unknown,
        confidenceHist: acc.hist,
        threshold: m.threshold,
      };
      if (this.label) {
        const extra = [...acc.confusion.keys()].filter((c) => !m.classes.includes(c)).sort();
        const classes = [...m.classes, ...extra];
        const nm = m.classes.length;
        // Square over every class seen plus one 'unknown' column; classes the model does not know are never predicted.
        s.confusion = {
          classes,
          matrix: classes.map((c) => {
            const line = acc.confusion.get(c) ?? new Float64Array(nm + 1);
            return [...Array.from(line.subarray(0, nm)), ...extra.map(() => 0), line[nm]!];
          }),
        };
      }
      return s;
    });
  }
}

function add(m: Map<string, { flows: number; bytes: number }>, key: string, bytes: number): void {
  const e = m.get(key);
  if (e) { e.flows++; e.bytes += bytes; } else m.set(key, { flows: 1, bytes });
}

/** The 50 largest keys in bytes (then flows), the rest summed as 'other'. */
function top(m: Map<string, { flows: number; bytes: number }>, n = 50): Record<string, { flows: number; bytes: number }> {
  const all = [...m].sort((a, b) => b[1].bytes - a[1].bytes || b[1].flows - a[1].flows);
  const out = Object.fromEntries(all.slice(0, n).map(([k, v]) => [k, { ...v }]));
  if (all.length > n) {
    const rest = all.slice(n).reduce((a, [, v]) => ({ flows: a.flows + v.flows, bytes: a.bytes + v.bytes }), { flows: 0, bytes: 0 });
    out.other = { flows: (out.other?.flows ?? 0) + rest.flows, bytes: (out.other?.bytes ?? 0) + rest.bytes };
  }
  return out;
}

export { UNKNOWN_LABEL };
