import { statSync } from 'node:fs';
import path from 'node:path';
import { extractFlows, type MeterOptions } from '../flow/meter.ts';
import { col, type CellValue, type ColumnDef } from '../flow/columns.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { labelFlow, namesTarget, ruleColumns, type Labeller } from '../dataset/labels.ts';
import { CaptureNameLabeller } from '../dataset/name-labels.ts';
import { columnStrings, loadTable, requireColumn, untestableClasses, type Table } from '../dataset/index.ts';
import {
  crossValidate, cvEvaluation, makeSplit, prepareTraining, trainModel, type EvaluationResult, type SplitSpec, type TrainConfig,
} from '../model/index.ts';
import type { VeilModel } from '../model/artifact.ts';
import { rowHashes, rowSketch } from '../model/fingerprint.ts';
import { loadCatalog } from '../names/index.ts';
import { VeilError } from '../core/errors.ts';

/**
 * The one path from labelled captures (or a flow table) to a trained model and its honest evaluation. The service's
 * training jobs use both steps; on the command line `veil dataset build` (and so `veil learn`) labels through
 * `labelCaptures`, and `veil learn` takes its learner rule and never-learnt columns from here, but fits through
 * `veil train`'s options (every learner parameter on the command line).
 *
 * 1. `labelCaptures` meters captures and writes the flows a label source names into a flow table (id_capture is
 *    the group column, label and label_source are added; a rule's columns are dropped).
 * 2. `trainOnTable` fits the learner on behaviour only (roles drop addresses, ports, names and text), evaluates it
 *    on held-out groups (captures) first, then fits on every row, recording the meter timeouts in the model.
 */

/** A capture to label: where its bytes are, and the name it is known by when that is not its path (an upload stored
 * under a generated name): labels by folder or file name read it, and id_capture holds its file name. */
export interface CaptureInput {
  path: string;
  name?: string;
  /** What id_capture holds, when not the name's file name (two uploads of one file name stay two captures). */
  captureName?: string;
}

/** Thrown from a long loop when `interrupted()` says so (a cancel or a time limit the caller checks itself). */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'AbortError';
  }
}

export interface LabelOptions {
  labeller: Labeller;
  /** Catalogue files of the user's own services (names labels). */
  catalogFiles?: readonly string[];
  meter: MeterOptions;
  /** Keep flows no label applies to (label empty). */
  keepUnlabelled?: boolean;
  /** Output format (default: by the output's extension). */
  format?: string;
  /** Polled between chunks: true stops the labelling (throws Interrupted). */
  interrupted?: () => boolean;
  /** Labelled rows written at most; the flows past it are counted in `overLimit`, not written. */
  maxRows?: number;
  /** Bytes a gzipped capture may inflate to. */
  maxInflatedBytes?: number;
  signal?: AbortSignal;
  /** Bytes of all captures read so far, of the total, and flows so far. */
  onProgress?: (bytesDone: number, bytesTotal: number, flows: number, capture: number) => void;
  /** A capture finished (its flows and skipped counts) or failed with a user-facing error. */
  onCapture?: (c: CaptureInput, outcome: { flows: number; labelled: number; skipped: Record<string, number>; damage: string | null } | { error: VeilError }) => void;
}

export interface LabelOutcome {
  counts: Map<string, number>;
  unlabelled: number;
  flows: number;
  /** Captures that could not be read at all, or were read up to damage. */
  failures: number;
  /** Columns the rules read, dropped from the table. */
  droppedColumns: string[];
  /** Whether any row was written (the table file exists). */
  written: boolean;
  /** Labelled flows left out past `maxRows`. */
  overLimit: number;
}

/** Meters the captures and writes their labelled flows into `output` (format by extension). */
export async function labelCaptures(files: readonly CaptureInput[], output: string, opts: LabelOptions): Promise<LabelOutcome> {
  const { labeller } = opts;
  const catalog = namesTarget(labeller.from) ? loadCatalog([...(opts.catalogFiles ?? [])]) : null;
  let writer: RowWriter | null = null;
  let keep: number[] = [];
  const counts = new Map<string, number>();
  let unlabelled = 0, failures = 0, flows = 0, written = 0, overLimit = 0;
  const maxRows = opts.maxRows ?? Infinity;
  const sizes = files.map((f) => { try { return statSync(f.path).size; } catch { return 0; } });
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  let doneBytes = 0;
  try {
    for (const [fi, file] of files.entries()) {
      opts.signal?.throwIfAborted();
      let index: Map<string, number> | null = null;
      let names: CaptureNameLabeller | null = null;
      let labelled = 0;
      try {
        const captureName = file.captureName ?? (file.name ? path.basename(file.name) : undefined);
        const s = await extractFlows({ path: file.path }, { ...opts.meter, ...(captureName ? { captureName } : {}) }, (row: CellValue[], columns: ColumnDef[]) => {
          flows++;
          if (!index) index = new Map(columns.map((c, i) => [c.name, i]));
          if (!writer) {
            labeller.ruleColumns = ruleColumns(labeller.rules, columns);
            keep = columns.map((_, i) => i).filter((i) => !labeller.ruleColumns.includes(columns[i]!.name));
            const outCols = [...keep.map((i) => columns[i]!),
              col('label', 'identity', 'string', '', 'none', 'The flow\'s label (the answer to learn)'),
              col('label_source', 'identity', 'string', '', 'none', 'Where the label came from: labels, rule:sni|alpn|ja4, names:sni|quic|cert|http|dns|port|flow, path:dir|name', true)];
            writer = openWriter(output, formatFor(output, opts.format), outCols);
          }
          if (catalog && !names) names = new CaptureNameLabeller(catalog, columns);
          // Labels by file name read the name the capture is known by, not where its bytes happen to be stored.
          const { label, source } = labelFlow(labeller, file.name ?? file.path, row, (n) => index!.get(n) ?? -1, names?.label(row));
          if (!label) { unlabelled++; if (!opts.keepUnlabelled) return; }
          if (written >= maxRows) { overLimit++; return; }
          counts.set(label, (counts.get(label) ?? 0) + 1);
          if (label) labelled++;
          written++;
          writer.write([...keep.map((i) => row[i]!), label, source]);
        }, {
          onProgress: (b) => {
            if (opts.interrupted?.()) throw new Interrupted();
            opts.onProgress?.(doneBytes + b, totalBytes, flows, fi);
          },
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.maxInflatedBytes ? { maxInflatedBytes: opts.maxInflatedBytes } : {}),
        });
        if (s.capture.error) failures++;
        opts.onCapture?.(file, { flows: s.flows, labelled, skipped: s.skipped, damage: s.capture.error?.message ?? null });
      } catch (err) {
        if (opts.signal?.aborted || err instanceof Interrupted || !(err as VeilError).userFacing) throw err;
        failures++;
        opts.onCapture?.(file, { error: err as VeilError });
      }
      doneBytes += sizes[fi]!;
      opts.onProgress?.(doneBytes, totalBytes, flows, fi + 1);
    }
  } finally {
    if (writer) await (writer as RowWriter).close();
  }
  return { counts, unlabelled, flows, failures, droppedColumns: labeller.ruleColumns, written: writer !== null, overLimit };
}

/** Rows x classes a training evaluates at most (a probability each, 8 bytes, held twice: ~1 GiB). */
export const MAX_ROW_CLASS_CELLS = 6e7;

/** Most classes a training learns by default (the long tail of applications is hundreds, not tens of thousands). */
export const MAX_CLASSES = 1000;

/** Above this many classes `learner: 'auto'` fits a forest (boosting fits a tree per class and round). */
export const MANY_CLASSES = 20;

export type LearnerChoice = 'auto' | 'boosting' | 'forest';

/** The learner `auto` picks for this many classes (see MANY_CLASSES). */
export function chooseLearner(choice: LearnerChoice, classes: number): 'boosting' | 'forest' {
  return choice === 'auto' ? (classes > MANY_CLASSES ? 'forest' : 'boosting') : choice;
}

/** Columns never learnt from by `veil learn` and training jobs, beyond what the column roles already drop. */
export const LEARN_EXCLUDED = [
  // The ClientHello's length grows with the server name: a name by another route.
  'tls_client_hello_len',
  'label_source',
];

export interface TrainSpec {
  label: string;
  learner: LearnerChoice;
  /** Grouped by a column (captures), or shuffled folds. */
  split: { kind: 'group'; column: string; folds: number } | { kind: 'kfold'; folds: number };
  seed?: number;
  threads?: number;
  /** The model's name as it travels (API, UI, reports). */
  name: string;
  /** How the training flows were cut (recorded in the model, so classify and the service meter the same way). */
  meter?: { idleTimeoutS?: number; activeTimeoutS?: number };
  exclude?: readonly string[];
  /** Most classes it learns (default MAX_CLASSES): a forest's leaves hold a probability per class, so a label column
   * of unique values (a flow id taken for the label) would need terabytes. */
  maxClasses?: number;
  /** Stage, done, total: labelling excluded (that is labelCaptures' progress). */
  onProgress?: (stage: string, done: number, total: number) => void;
  signal?: AbortSignal;
  /** Polled at every tree and boosting round: true stops the training (throws Interrupted). A fit on one thread
   * is synchronous between those points, so an AbortSignal fed by messages would never be seen in time. */
  interrupted?: () => boolean;
}

export interface TrainOutcome {
  model: VeilModel;
  evaluation: EvaluationResult;
  learner: 'boosting' | 'forest';
  classes: string[];
  rows: number;
  /** Classes the split cannot test (each in too few groups): their scores are 0 whatever the model. */
  untestable: string[];
  warnings: string[];
}

/** The number of rows per label in a table's label column (empty labels left out). */
export function labelCounts(table: Table, label: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of columnStrings(requireColumn(table, label, 'label column'))) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/**
 * Checks that a labelled set can be learnt from: a clear NO_LABELS or ONE_CLASS error naming the inputs otherwise.
 * `how` says why nothing was labelled (e.g. "no flow showed a catalogued name").
 */
export function checkLearnable(counts: ReadonlyMap<string, number>, what: string, how: string): void {
  if (counts.size === 0) {
    throw new VeilError('NO_LABELS', `${what}: no flow was labelled (${how}): give rules, a labels CSV or labels by file name, or your own services in a catalogue`);
  }
  if (counts.size === 1) {
    const [label, n] = [...counts][0]!;
    throw new VeilError('ONE_CLASS', `${what}: every labelled flow is '${label}' (${n} flows): learning needs two classes or more`);
  }
}

/** Fits a model on a flow table with a held-out evaluation first. */
export async function trainOnTable(table: Table, spec: TrainSpec): Promise<TrainOutcome> {
  const check = (): void => {
    spec.signal?.throwIfAborted();
    if (spec.interrupted?.()) throw new Interrupted();
  };
  const counts = labelCounts(table, spec.label);
  checkLearnable(counts, table.source, `the label column '${spec.label}' is empty`);
  const maxClasses = spec.maxClasses ?? MAX_CLASSES;
  if (counts.size > maxClasses) {
    const once = [...counts.values()].filter((n) => n === 1).length;
    throw new VeilError('BAD_ARGUMENT', `${table.source}: the label column '${spec.label}' has ${counts.size} classes (${once} of them on one row only), more than the ${maxClasses} a model learns: is it really the label? Merge rare classes or label fewer`);
  }
  const labelledRows = [...counts.values()].reduce((a, b) => a + b, 0);
  // The held-out evaluation holds a probability per row and class (twice, with its calibrated copy).
  if (labelledRows * counts.size > MAX_ROW_CLASS_CELLS) {
    throw new VeilError('BAD_ARGUMENT', `${table.source}: ${labelledRows} labelled rows of ${counts.size} classes need ${Math.round(labelledRows * counts.size * 16 / 2 ** 30)} GiB for the held-out evaluation, more than this training allows: send a sample, or fewer classes`);
  }
  const learner = chooseLearner(spec.learner, counts.size);
  const cfg: TrainConfig = {
    label: spec.label,
    model: learner,
    roles: {
      ...(spec.split.kind === 'group' ? { groupBy: spec.split.column } : {}),
      // Only the columns the table has: an exclusion of a column it lacks is an error to the role planner.
      exclude: [...LEARN_EXCLUDED, ...(spec.exclude ?? [])].filter((c) => table.columns.some((t) => t.name === c)),
    },
    ...(learner === 'forest' ? { forest: {} } : { boosting: {} }),
    seed: spec.seed ?? 0,
    threads: spec.threads ?? 1,
    guard: {},
    calibrate: true,
    novelty: 0.995,
    name: spec.name,
    // Cancelling throws from the learner's progress callback, the one place its long loops come back to us.
    onProgress: (stage, done, total) => { check(); spec.onProgress?.(stage, done, total); },
  };
  check();
  const prep = prepareTraining(table, cfg);
  let splitSpec: SplitSpec = spec.split.kind === 'group'
    ? { kind: 'group', column: spec.split.column, folds: spec.split.folds }
    : { kind: 'kfold', folds: spec.split.folds };
  const warnings: string[] = [];
  if (splitSpec.kind === 'group') {
    const groups = new Set(columnStrings(requireColumn(table, splitSpec.column, 'group column'))).size;
    if (groups < 2) {
      throw new VeilError('BAD_ARGUMENT', `${table.source}: a grouped evaluation needs flows of two captures or more (all come from one '${splitSpec.column}'); give more captures or the shuffled split`);
    }
    if (groups < splitSpec.folds) {
      warnings.push(`${splitSpec.folds} folds asked, but the flows come from ${groups} captures: ${groups} folds`);
      splitSpec = { ...splitSpec, folds: groups };
    }
  }
  const split = makeSplit(prep, splitSpec, cfg.seed);
  const untestable = untestableClasses(split, prep.y, prep.classes.length).map((c) => prep.classes[c]!);
  if (untestable.length) {
    warnings.push(`${untestable.length} of ${prep.classes.length} classes cannot be tested under this split (too few captures hold them): ` +
      `${untestable.slice(0, 12).join(', ')}${untestable.length > 12 ? ', ...' : ''}; their scores are 0 whatever the model`);
  }
  const cv = await crossValidate(prep, cfg, split);
  check();
  const model = await trainModel(prep, cfg, { cv });
  const evaluation = cvEvaluation(prep, cv, cfg, model);
  if (spec.meter && Object.keys(spec.meter).length) model.manifest.meter = { ...spec.meter };
  const all = rowHashes(prep.columns, Array.from(prep.y, (c) => (c < 0 ? null : prep.classes[c]!)));
  model.manifest.training.rowSketch = rowSketch(all.filter((_, i) => prep.y[i]! >= 0));
  return { model, evaluation, learner, classes: prep.classes, rows: [...counts.values()].reduce((a, b) => a + b, 0), untestable, warnings };
}

/** Loads a labelled flow table with its label read as text. */
export async function loadLabelled(file: string, label: string, opts: { signal?: AbortSignal; maxInflatedBytes?: number } = {}): Promise<Table> {
  opts.signal?.throwIfAborted();
  const { table } = await loadTable(file, { textColumns: [label], ...(opts.maxInflatedBytes ? { limits: { maxInflatedBytes: opts.maxInflatedBytes } } : {}) });
  return table;
}
