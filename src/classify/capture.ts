import { extractFlows, type ExtractSummary, type Meter, type MeterOptions } from '../flow/meter.ts';
import { IDENTITY_COLUMNS, type CellValue, type ColumnDef } from '../flow/columns.ts';
import type { FlowTableOptions } from '../flow/table.ts';
import { cellValue, getColumn, makeTable, numberColumn, stringColumn, type Column, type Table } from '../dataset/table.ts';
import { identityReason } from '../dataset/roles.ts';
import { appAnswer, isApplicationModel, tableNames, verdictCells } from '../dataset/verdict.ts';
import { modelInputs, predictColumns } from '../model/classifier.ts';
import type { VeilModel } from '../model/artifact.ts';
import { nameColumns, namesAt, type Catalog, type FlowNames, type ModelAnswer } from '../names/index.ts';
import { VeilError } from '../core/errors.ts';
import { answerLayout, BEHAVIOUR_MODEL, type AnswerColumn } from './layout.ts';
import { chooseTimeouts, type MeterTimeouts } from './timeouts.ts';

/** What a model answered for each row of a batch. */
export interface ModelAnswers {
  /** The class, or 'unknown'. */
  labels: string[];
  /** Calibrated probability of the most probable class (even when the answer is 'unknown'). */
  confidence: Float64Array;
  /** 1 where the answer is 'unknown'. */
  unknown: Uint8Array;
  /** Why the answer is 'unknown' (too_few_packets, out_of_distribution, low_confidence); null when answered. */
  unknownReason: (string | null)[];
}

/** A model as the answer path applies it (the CLI wraps a loaded model file with `answerModel`; the service's
 * models already have this shape). */
export interface AnswerModel {
  /** Prefix of its answer columns (NAME.label ...); the model named `category` is the verdict's behaviour side. */
  name: string;
  classes: readonly string[];
  /** Table columns it reads. */
  columns: readonly string[];
  meter?: MeterTimeouts | undefined;
  predict(t: Table): ModelAnswers;
}

/** A loaded model file as an AnswerModel. */
export function answerModel(name: string, model: VeilModel, opts: { unknownBelow?: number | undefined } = {}): AnswerModel {
  const m = model.manifest;
  const o = opts.unknownBelow !== undefined ? { unknownBelow: opts.unknownBelow } : {};
  return {
    name,
    classes: m.classes,
    columns: [...new Set(m.features.map((f) => f.source))],
    ...(m.meter ? { meter: m.meter } : {}),
    predict(t) {
      const p = predictColumns(model, modelInputs(model, t), o);
      const n = p.label.length;
      const labels = new Array<string>(n);
      const unknown = new Uint8Array(n);
      const unknownReason = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const l = p.label[i]!;
        labels[i] = l < 0 ? 'unknown' : m.classes[l]!;
        unknown[i] = l < 0 ? 1 : 0;
        unknownReason[i] = p.reason[i] ? p.reasonNames[p.reason[i]!]! : null;
      }
      return { labels, confidence: p.confidence, unknown, unknownReason };
    },
  };
}

/** One batch of answers, in the answer layout. */
export interface AnswerBatch {
  columns: readonly AnswerColumn[];
  rows: CellValue[][];
  /** Per model (in the order given), what it answered for each row. */
  answers: ModelAnswers[];
  /** Per row: the verdict's application ('' when none) and category. */
  app: string[];
  category: string[];
  /** Per row: bytes both ways (NaN when the input does not say). */
  bytes: Float64Array;
  /** Per row: the input's label (tables with a label column), else null. */
  labels: (string | null)[] | null;
}

export interface ClassifyOptions {
  catalog: Catalog;
  /** Meter settings (families, feature options, anonymisation, capture name). Its table timeouts are ignored:
   * give the user's own in `timeouts`. */
  meter?: Omit<MeterOptions, 'table'> & { table?: Partial<Pick<FlowTableOptions, 'closeGraceUs'>> };
  /** Timeouts the user asked for (they win over the models'). */
  timeouts?: Partial<Pick<FlowTableOptions, 'idleTimeoutUs' | 'activeTimeoutUs'>>;
  /** Flows predicted together (default 4096). */
  batchRows?: number;
  onBatch(batch: AnswerBatch): void;
  /** Said once, before the first flow: the models are metered otherwise than they were trained. */
  warn?: (message: string) => void;
  onProgress?: (bytesRead: number, meter: Meter) => void;
  /** Live input: every second, end the flows idle by the wall clock and answer the ended ones. */
  live?: boolean;
  signal?: AbortSignal;
  maxInflatedBytes?: number;
}

export interface ClassifySummary extends ExtractSummary {
  /** The answer layout (also for a capture without flows). */
  answerColumns: AnswerColumn[];
  /** The flow timeouts the capture was metered with, and the warnings choosing them gave. */
  table: Partial<FlowTableOptions>;
  warnings: string[];
}

/** Flows predicted per batch by default: bounds memory, and is the progress granularity of a job. */
export const BATCH_ROWS = 4096;

const isMeterIdentity = new Set(IDENTITY_COLUMNS.map((c) => c.name));

/**
 * The one path from a capture to answers (`veil classify`, `veil predict CAPTURE`, the service's capture jobs):
 * meters the capture with the flow timeouts the models record (`chooseTimeouts`: the user's win), gathers ended
 * flows into batches, applies every model to a batch, names each flow (names where visible, the `category`
 * model's behaviour answer where hidden, and an application model's, one whose classes are catalogued services,
 * for the application; 'unknown' where unsure) and hands the batch over in the answer layout.
 * Damage in the capture stops the read there; the flows before it are answered and the summary carries the error.
 *
 * @example
 * const s = await classifyCapture({ path: 'x.pcap' }, [answerModel('vpn', await loadModel('vpn.veilmodel'))],
 *   { catalog: loadCatalog([]), onBatch: (b) => rows.push(...b.rows) });
 */
export async function classifyCapture(
  source: { path: string } | { stream: NodeJS.ReadableStream; name: string },
  models: readonly AnswerModel[],
  opts: ClassifyOptions,
): Promise<ClassifySummary> {
  const { table: timeouts, warnings } = chooseTimeouts(models, opts.timeouts);
  for (const w of warnings) opts.warn?.(w);
  const meter: MeterOptions = { ...opts.meter, table: { ...opts.meter?.table, ...timeouts } };
  const rows = answerRows(models, opts);
  let timer: NodeJS.Timeout | null = null;
  try {
    const s = await extractFlows(source, meter, rows.row, {
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.maxInflatedBytes !== undefined ? { maxInflatedBytes: opts.maxInflatedBytes } : {}),
      ...(opts.live ? { onMeter: (m: Meter) => { timer = setInterval(() => { m.tick(Date.now() * 1000); rows.flush(); }, 1000); } } : {}),
    });
    if (timer) clearInterval(timer);
    return { ...s, answerColumns: rows.end(s.columns), table: meter.table!, warnings };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * The batching half of classifyCapture, for a caller that meters itself (the live early-verdict path): hand it
 * each ended flow's row (`row`, as the meter writes it; kept until its batch is answered), `flush` to answer the
 * rows so far (a live clock tick), `end` at the end (answers the rest; returns the layout).
 */
export function answerRows(
  models: readonly AnswerModel[], opts: Pick<ClassifyOptions, 'catalog' | 'batchRows' | 'onBatch'>,
): { row(row: CellValue[], columns: readonly ColumnDef[]): void; flush(): void; end(columns: readonly ColumnDef[]): AnswerColumn[] } {
  const batchRows = opts.batchRows ?? BATCH_ROWS;
  let plan: CapturePlan | null = null;
  let buf: CellValue[][] = [];
  const flush = (): void => {
    if (!buf.length || !plan) return;
    const rows = buf;
    buf = [];
    opts.onBatch(plan.answer(rows));
  };
  return {
    row(row, cols) {
      plan ??= capturePlan(cols, models, opts.catalog);
      buf.push(row);
      if (buf.length >= batchRows) flush();
    },
    flush,
    end(cols) {
      plan ??= capturePlan(cols, models, opts.catalog);
      flush();
      return plan.columns;
    },
  };
}

interface CapturePlan {
  columns: AnswerColumn[];
  answer(rows: CellValue[][]): AnswerBatch;
}

function capturePlan(cols: readonly ColumnDef[], models: readonly AnswerModel[], catalog: Catalog): CapturePlan {
  const need = [...new Set(models.flatMap((m) => m.columns))];
  const at = new Map(cols.map((c, i) => [c.name, i]));
  const missing = need.filter((n) => !at.has(n));
  if (missing.length) {
    throw new VeilError('MISSING_COLUMNS', `flows metered from the capture lack ${missing.length} column(s) the model(s) need: ${missing.join(', ')}`);
  }
  const defs = new Map(cols.map((c) => [c.name, c]));
  const { columns, from } = answerLayout(cols, models, { verdict: true, isIdentity: (n) => isMeterIdentity.has(n), defs });
  const names = nameColumns(cols);
  const fwd = at.get('fwd_bytes') ?? -1;
  const bwd = at.get('bwd_bytes') ?? -1;
  return {
    columns,
    answer(rows) {
      const t = makeTable('flows', need.map((n) => {
        const j = at.get(n)!;
        return cols[j]!.type === 'string'
          ? stringColumn(n, rows.map((r) => (r[j] === null || r[j] === undefined ? null : String(r[j]))))
          : numberColumn(n, Float64Array.from(rows, (r) => toNumber(r[j])));
      }));
      const bytes = Float64Array.from(rows, (r) => (fwd >= 0 && bwd >= 0 ? toNumber(r[fwd]) + toNumber(r[bwd]) : NaN));
      return answerBatch(columns, from, rows.length, (i, j) => rows[i]![j] ?? null, rows.map((r) => namesAt(r, names)), t, models, catalog, bytes, null);
    },
  };
}

/**
 * Answers for a flow table read from a file (`veil predict TABLE`, the service's table jobs): the same layout as
 * a capture's, with the identity-like columns the table has (id_*, addresses, ports, times), its label column
 * when named, and the verdict when `verdict` is set (from the table's names columns, absent ones read as empty).
 */
export function tableAnswerPlan(
  first: Table, models: readonly AnswerModel[],
  opts: { catalog: Catalog | null; label?: string | null; identity?: readonly string[] },
): { columns: AnswerColumn[]; answer(t: Table): AnswerBatch } {
  const need = [...new Set(models.flatMap((m) => m.columns))];
  const missing = need.filter((n) => !getColumn(first, n));
  if (missing.length) {
    const who = models.filter((m) => m.columns.some((c) => missing.includes(c))).map((m) => `'${m.name}'`).join(', ');
    throw new VeilError('MISSING_COLUMNS', `${first.source}: lacks ${missing.length} column(s) the model ${who} was trained on: ${missing.join(', ')}`);
  }
  if (opts.label && !getColumn(first, opts.label)) throw new VeilError('MISSING_COLUMNS', `${first.source}: has no label column '${opts.label}'`);
  const extra = new Set(opts.identity ?? []);
  const input = first.columns.map((c) => ({ name: c.name, type: c.kind === 'number' ? 'float' as const : 'string' as const }));
  const { columns, from } = answerLayout(input, models, {
    verdict: Boolean(opts.catalog), label: opts.label ?? null, isIdentity: (n) => extra.has(n) || identityReason(n) !== null,
  });
  return {
    columns,
    answer(t) {
      const cols: (Column | undefined)[] = from.map((j) => (j >= 0 ? getColumn(t, first.columns[j]!.name) : undefined));
      const fwd = getColumn(t, 'fwd_bytes');
      const bwd = getColumn(t, 'bwd_bytes');
      const bytes = new Float64Array(t.rows);
      for (let r = 0; r < t.rows; r++) bytes[r] = fwd && bwd ? toNumber(cellValue(fwd, r)) + toNumber(cellValue(bwd, r)) : NaN;
      const lab = opts.label ? getColumn(t, opts.label)! : null;
      const labels = lab ? Array.from({ length: t.rows }, (_, r) => { const v = cellValue(lab, r); return v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v); }) : null;
      const cell = (i: number, j: number): CellValue => {
        const c = cols[j];
        const v = c ? cellValue(c, i) : null;
        return typeof v === 'number' && Number.isNaN(v) ? null : v;
      };
      return answerBatch(columns, from.map((j, k) => (j >= 0 ? k : -1)), t.rows, cell, opts.catalog ? tableNames(t) : null, t, models, opts.catalog, bytes, labels);
    },
  };
}

/** Builds the rows of one batch: the shown input cells, the verdict, then each model's answers. */
function answerBatch(
  columns: readonly AnswerColumn[], from: readonly number[], n: number, cell: (row: number, at: number) => CellValue,
  names: FlowNames[] | null, input: Table, models: readonly AnswerModel[], catalog: Catalog | null, bytes: Float64Array,
  labels: (string | null)[] | null,
): AnswerBatch {
  const answers = models.map((m) => m.predict(input));
  const behaviour = models.findLastIndex((m) => m.name === BEHAVIOUR_MODEL);
  // A model whose classes are catalogued services (taught by names: veil learn) names flows whose names are hidden.
  const appModel = catalog ? models.findLastIndex((m, k) => k !== behaviour && isApplicationModel(m.classes, catalog)) : -1;
  const shown = from.filter((j) => j >= 0);
  const rows: CellValue[][] = new Array(n);
  const app = new Array<string>(n);
  const category = new Array<string>(n);
  const labelAt = columns.findIndex((c) => c.group === 'label');
  for (let i = 0; i < n; i++) {
    const o: CellValue[] = [];
    for (let k = 0; k < shown.length; k++) o.push(cell(i, shown[k]!));
    if (labelAt >= 0) o[labelAt] = labels?.[i] ?? null;
    if (names && catalog) {
      const b = behaviour >= 0 ? answers[behaviour]! : null;
      const model: ModelAnswer | null = b ? { label: b.labels[i]!, confidence: b.confidence[i]!, unknownReason: b.unknownReason[i] ?? '' } : null;
      const a = appModel >= 0 ? answers[appModel]! : null;
      const v = verdictCells(names[i]!, catalog, model, a ? appAnswer(catalog, a.labels[i]!, a.confidence[i]!, a.unknownReason[i] ?? '') : null);
      o.push(...v);
      app[i] = String(v[0] ?? '');
      category[i] = String(v[2] ?? '');
    } else {
      app[i] = '';
      category[i] = '';
    }
    for (const a of answers) {
      const c = a.confidence[i]!;
      o.push(a.labels[i]!, Number.isFinite(c) ? Math.round(c * 1e6) / 1e6 : null, a.unknown[i] === 1, a.unknownReason[i] ?? null);
    }
    rows[i] = o;
  }
  return { columns, rows, answers, app, category, bytes, labels };
}

function toNumber(v: CellValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return v.trim() === '' ? NaN : Number(v);
  return NaN;
}
