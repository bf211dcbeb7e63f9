import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { extractFlows } from '../../flow/meter.ts';
import { meterTimeoutsFor } from '../../model/meter.ts';
import type { CellValue, ColumnDef } from '../../flow/columns.ts';
import { streamTable } from '../../dataset/load.ts';
import { identityReason } from '../../dataset/roles.ts';
import { cellValue, columnStrings, getColumn, numberColumn, stringColumn, type Column, type Table } from '../../dataset/table.ts';
import { ResultReader, ResultWriter, type ResultColumn } from '../store/results.ts';
import { ServiceError, serviceCodeFor } from '../errors.ts';
import { UNKNOWN_LABEL, type ServiceModel } from '../models/types.ts';
import { VERDICT_COLUMNS, tableNames, verdictCells } from '../../dataset/verdict.ts';
import { catalogFilesFromEnv, loadCatalog, nameColumns, namesAt, type Catalog, type FlowNames } from '../../names/index.ts';
import { CONFIDENCE_BINS, type JobPayload, type JobSummary, type ModelRef, type ModelSummary, type ProcessOutcome, type TrafficSummary } from './types.ts';

/** Handshake metadata carried into results beside the identity columns. */
export const RESULT_METADATA = ['tls_sni', 'tls_alpn', 'tls_alpn_offered', 'tls_ja4', 'name_http_host', 'name_dns'] as const;

/** The model whose answer is the behaviour side of the verdict (as in `veil classify`). */
const BEHAVIOUR_MODEL = 'category';

/** The catalogue of this thread (the shipped one plus the server's --catalog files), loaded once. */
let catalogue: Catalog | null = null;
function threadCatalog(): Catalog {
  catalogue ??= loadCatalog(catalogFilesFromEnv());
  return catalogue;
}

const verdictResultColumns = (): ResultColumn[] => VERDICT_COLUMNS.map((c) => ({ name: c.name, type: c.type === 'float' ? 'float' as const : 'string' as const, role: 'metadata' as const }));

/** Rows predicted per batch: bounds memory and sets the progress granularity. */
const BATCH_ROWS = 4096;

export interface ProcessContext {
  dataDir: string;
  /** Loads (or returns the cached) model pinned by the job. */
  model(ref: ModelRef): Promise<ServiceModel>;
  onProgress(p: number): void;
  signal?: AbortSignal;
}

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
  const stopped = (w: ResultWriter | null): ProcessOutcome => {
    if (timeout?.aborted && !ctx.signal?.aborted) {
      w?.abort();
      return { ok: false, error: { code: 'JOB_TIMEOUT', message: `${job.inputName}: the job ran longer than this server's limit of ${Math.round(job.limits!.timeoutMs / 1000)} s`, userFacing: true } };
    }
    return cancelled(w);
  };
  try {
    const models: ServiceModel[] = [];
    for (const ref of job.models) models.push(await ctx.model(ref));
    const acc = new Accumulator(models, job.labelColumn);
    const summary: JobSummary = { rows: 0, warnings: [], labelColumn: job.labelColumn, models: [], durationMs: 0 };
    let lastProgress = 0;
    const progress = (p: number): void => {
      const now = Date.now();
      if (now - lastProgress < 200) return;
      lastProgress = now;
      ctx.onProgress(Math.min(0.99, Math.max(0, p)));
    };

    if (job.input.kind === 'capture') {
      let batch: CellValue[][] = [];
      let columns: ColumnDef[] = [];
      let plan: RowPlan | null = null;
      const flush = (): void => {
        if (batch.length === 0) return;
        plan ??= capturePlan(columns, models);
        writer ??= new ResultWriter(ctx.dataDir, job.id, plan.resultColumns);
        acc.writeBatch(plan.fromRows(batch), writer);
        batch = [];
      };
      const total = statSync(file).size || 1;
      // Meter as the models' training flows were metered (e.g. the shipped ISCX models: 15 s timeouts).
      const timeouts = meterTimeoutsFor(models.map((m) => m.meter));
      if (timeouts.conflict) summary.warnings.push('the models were trained on flows cut with different timeouts; metered with the first model\'s');
      const res = await extractFlows({ path: file }, { captureName: job.inputName, table: timeouts.table }, (row, cols) => {
        columns = cols;
        batch.push(row);
        if (batch.length >= BATCH_ROWS) flush();
      }, {
        signal,
        onProgress: (bytes) => progress(bytes / total),
        ...(job.limits?.maxInflatedBytes ? { maxInflatedBytes: job.limits.maxInflatedBytes } : {}),
      });
      if (signal?.aborted) return stopped(writer);
      columns = res.columns;
      flush();
      if (res.capture.error) {
        const msg = res.capture.error.message.split(file).join(job.inputName);
        if (!job.partial) {
          (writer as ResultWriter | null)?.abort();
          return { ok: false, error: { code: 'BAD_CAPTURE', message: `${msg} (upload with partial=true to keep the ${res.flows} flows before the damage)`, userFacing: true } };
        }
        summary.warnings.push(`${msg}: kept the ${res.flows} flows before the damage`);
      }
      writer ??= new ResultWriter(ctx.dataDir, job.id, capturePlan(res.columns, models).resultColumns);
      summary.packets = res.packets;
      summary.skipped = res.skipped;
    } else {
      let read = 0; // share of the input consumed, told by the reader: compressed bytes for .gz, rows for Parquet
      let plan: RowPlan | null = null;
      let rows = 0;
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
          plan = tablePlan(chunk, models, job.labelColumn, job.inputName);
          writer = new ResultWriter(ctx.dataDir, job.id, plan.resultColumns);
        }
        acc.writeBatch(plan.fromTable(chunk, rows), writer!);
        rows += chunk.rows;
        progress(read);
      }
      writer ??= new ResultWriter(ctx.dataDir, job.id, [{ name: 'row', type: 'int', role: 'identity' }]);
    }
    const w = writer as ResultWriter;
    summary.rows = w.rows;
    summary.models = acc.summaries();
    summary.traffic = acc.traffic();
    summary.durationMs = Date.now() - t0;
    w.commit(summary);
    writer = null;
    rmSync(file, { force: true });
    ctx.onProgress(1);
    return { ok: true, summary };
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

/** How one input batch becomes result rows and model inputs. */
interface Batch {
  rows: number;
  /** The result columns before the predictions, per row. */
  base: CellValue[][];
  /** A table holding at least the models' columns. */
  table: Table;
  /** True labels per row when the job has a label column. */
  labels: (string | null)[] | null;
  /** What each row shows in the clear (for the verdict), and its bytes both ways (NaN when unknown). */
  names: FlowNames[];
  bytes: Float64Array;
}

interface RowPlan {
  resultColumns: ResultColumn[];
  fromRows(rows: CellValue[][]): Batch;
  fromTable(t: Table, rowOffset: number): Batch;
}

function predictionColumns(models: readonly ServiceModel[]): ResultColumn[] {
  return models.flatMap((m): ResultColumn[] => [
    { name: `${m.name}.label`, type: 'string', role: 'prediction', model: m.name },
    { name: `${m.name}.confidence`, type: 'float', role: 'prediction', model: m.name },
    { name: `${m.name}.unknown`, type: 'bool', role: 'prediction', model: m.name },
    { name: `${m.name}.unknown_reason`, type: 'string', role: 'prediction', model: m.name },
  ]);
}

/** Capture rows: every identity column, the handshake metadata, then predictions. */
function capturePlan(columns: readonly ColumnDef[], models: readonly ServiceModel[]): RowPlan {
  const keep: number[] = [];
  const base: ResultColumn[] = [];
  columns.forEach((c, i) => {
    if (c.role === 'identity') { keep.push(i); base.push({ name: c.name, type: c.type, role: 'identity' }); }
  });
  for (const name of RESULT_METADATA) {
    const i = columns.findIndex((c) => c.name === name);
    if (i >= 0) { keep.push(i); base.push({ name, type: columns[i]!.type, role: 'metadata' }); }
  }
  const need = [...new Set(models.flatMap((m) => m.columns))];
  const missing = need.filter((n) => !columns.some((c) => c.name === n));
  if (missing.length) {
    throw new ServiceError('MISSING_COLUMNS', `flows metered from the capture lack ${missing.length} column(s) the model(s) need: ${missing.join(', ')}`);
  }
  const needIdx = need.map((n) => columns.findIndex((c) => c.name === n));
  const at = nameColumns(columns);
  const fwd = columns.findIndex((c) => c.name === 'fwd_bytes');
  const bwd = columns.findIndex((c) => c.name === 'bwd_bytes');
  return {
    resultColumns: [...base, ...verdictResultColumns(), ...predictionColumns(models)],
    fromRows(rows) {
      const cols: Column[] = need.map((n, j) => {
        const i = needIdx[j]!;
        const def = columns[i]!;
        if (def.type === 'string') return stringColumn(n, rows.map((r) => (r[i] === null || r[i] === undefined ? null : String(r[i]))));
        return numberColumn(n, rows.map((r) => toNumber(r[i])));
      });
      return {
        rows: rows.length,
        base: rows.map((r) => keep.map((i) => r[i] ?? null)),
        table: { source: 'capture', rows: rows.length, columns: cols },
        labels: null,
        names: rows.map((r) => namesAt(r, at)),
        bytes: Float64Array.from(rows, (r) => (fwd >= 0 && bwd >= 0 ? toNumber(r[fwd]) + toNumber(r[bwd]) : NaN)),
      };
    },
    fromTable() {
      throw new Error('capture plan used on a table');
    },
  };
}

/** Table rows: the row number, identity-like columns present (id_*, addresses, ports, times), handshake
 * metadata present, the label column, then predictions. */
function tablePlan(t: Table, models: readonly ServiceModel[], label: string | null, inputName: string): RowPlan {
  const need = [...new Set(models.flatMap((m) => m.columns))];
  const missing = need.filter((n) => !getColumn(t, n));
  if (missing.length) {
    throw new ServiceError('MISSING_COLUMNS', `${inputName}: lacks ${missing.length} column(s) the model(s) need: ${missing.join(', ')}`);
  }
  if (label && !getColumn(t, label)) {
    throw new ServiceError('MISSING_COLUMNS', `${inputName}: has no label column '${label}'`);
  }
  const ident = t.columns.filter((c) => c.name !== label && identityReason(c.name) !== null).map((c) => c.name);
  const meta = RESULT_METADATA.filter((n) => n !== label && getColumn(t, n));
  const resultColumns: ResultColumn[] = [
    ...(ident.includes('id_flow') ? [] : [{ name: 'row', type: 'int' as const, role: 'identity' as const }]),
    ...ident.map((n) => ({ name: n, type: getColumn(t, n)!.kind === 'number' ? ('float' as const) : ('string' as const), role: 'identity' as const })),
    ...meta.map((n) => ({ name: n, type: 'string' as const, role: 'metadata' as const })),
    // A label column named like a verdict column (an evaluation table labelled 'category') keeps its role under
    // another name, so no result column is written twice.
    ...(label ? [{ name: VERDICT_COLUMNS.some((c) => c.name === label) ? `true_${label}` : label, type: 'string' as const, role: 'label' as const }] : []),
    ...verdictResultColumns(),
    ...predictionColumns(models),
  ];
  const addRow = !ident.includes('id_flow');
  return {
    resultColumns,
    fromRows() {
      throw new Error('table plan used on capture rows');
    },
    fromTable(chunk, rowOffset) {
      const cols = [...ident, ...meta].map((n) => getColumn(chunk, n));
      const labels = label ? columnStrings(getColumn(chunk, label)!) : null;
      const base: CellValue[][] = new Array(chunk.rows);
      for (let r = 0; r < chunk.rows; r++) {
        const row: CellValue[] = addRow ? [rowOffset + r + 1] : [];
        for (const c of cols) {
          const v = c ? cellValue(c, r) : null;
          row.push(typeof v === 'number' && Number.isNaN(v) ? null : v);
        }
        if (labels) row.push(labels[r] ?? null);
        base[r] = row;
      }
      const fwd = getColumn(chunk, 'fwd_bytes');
      const bwd = getColumn(chunk, 'bwd_bytes');
      const bytes = new Float64Array(chunk.rows);
      for (let r = 0; r < chunk.rows; r++) bytes[r] = fwd && bwd ? toNumber(cellValue(fwd, r)) + toNumber(cellValue(bwd, r)) : NaN;
      return { rows: chunk.rows, base, table: chunk, labels, names: tableNames(chunk), bytes };
    },
  };
}

function toNumber(v: CellValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') { const n = Number(v); return v.trim() === '' ? NaN : n; }
  return NaN;
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
    this.behaviour = models.findIndex((m) => m.name === BEHAVIOUR_MODEL);
  }

  traffic(): TrafficSummary {
    return { byApp: top(this.byApp), byCategory: top(this.byCategory) };
  }

  private readonly byApp = new Map<string, { flows: number; bytes: number }>();
  private readonly byCategory = new Map<string, { flows: number; bytes: number }>();
  private readonly behaviour: number;

  writeBatch(b: Batch, w: ResultWriter): void {
    const preds = this.models.map((m) => m.predict(b.table));
    const catalog = threadCatalog();
    for (let r = 0; r < b.rows; r++) {
      const row = b.base[r]!;
      // Names where visible, behaviour where hidden, 'unknown' where unsure.
      const bp = this.behaviour >= 0 ? preds[this.behaviour]! : null;
      const model = bp ? { label: bp.labels[r]!, confidence: bp.confidence[r]!, unknownReason: bp.unknownReason[r] ?? '' } : null;
      const verdict = verdictCells(b.names[r]!, catalog, model);
      row.push(...verdict);
      const bytes = Number.isFinite(b.bytes[r]!) ? b.bytes[r]! : 0;
      add(this.byApp, String(verdict[0]) || '(none)', bytes);
      add(this.byCategory, String(verdict[2]), bytes);
      for (let k = 0; k < this.models.length; k++) {
        const p = preds[k]!;
        const acc = this.per[k]!;
        const label = p.labels[r]!;
        const conf = p.confidence[r]!;
        const unk = p.unknown[r] === 1;
        row.push(label, Number.isFinite(conf) ? Math.round(conf * 1e6) / 1e6 : null, unk, p.unknownReason[r] ?? null);
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
      w.add(row);
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
