import { parseArgs } from 'node:util';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { loadTable, untestableClasses, type ColumnOrderPolicy, type LoadedTable, type Split } from '../dataset/index.ts';
import {
  METER_TIMEOUT_RANGE_S, closeWorkers, crossValidate, cvEvaluation, formatEvaluation, makeSplit, prepareTraining, saveModel, trainModel,
  type EvaluationResult, type SplitSpec, type TrainConfig,
} from '../model/index.ts';
import { describeLayers, isNnArchitecture, type NnParams } from '../model/nn/index.ts';
import { VeilError } from '../core/errors.ts';
import { rowHashes, rowSketch, type RowSketch } from '../model/fingerprint.ts';

const HELP = `usage: veil train DATA --label COL -o MODEL [options]

Trains a classifier on a flow table (CSV, JSONL, Parquet or ARFF) and writes a model file.

  -l, --label COL          label column (required)
  -o, --output MODEL       model file to write (required)
      --model M            boosting (default: level with the best of scikit-learn and XGBoost in bench/learn-bench.ts)
                           | forest | mlp | cnn | lstm | cnn-lstm (neural networks)
  split (cross-validation before the final fit on all rows; scores are printed and stored in the model):
      --folds K            stratified shuffled K-fold
      --group-by COL       group K-fold (default 5, or --folds): no value of COL in both train and test
      --blocked K          blocked K-fold: contiguous blocks of each class, neighbouring rows kept together
      --holdout P          stratified hold-out of share P
  columns:
      --include COL        use COL even if it is identity, leaky or text (repeatable)
      --exclude COL        never use COL (repeatable)
      --features A,B,...   use exactly these feature columns
      --include-leaky      use identity and leaky columns (addresses, ports, timestamps, SNI, ...)
      --include-text       use text columns (encoded; see --text-encoding)
      --text-encoding E    onehot (default, 32 most frequent values) | ordinal
      --column-order P     fix (default) | refuse | keep, when min/mean/max columns look permuted
  forest:   --trees N (100) --max-depth D (0 = none) --min-samples-leaf N (1) --max-features sqrt|log2|all|F
            --class-weight balanced (default) | none
  boosting: --max-iter N (300) --learning-rate R (0.2) --max-leaf-nodes N (64) --max-depth D (6; 0 = none)
            --min-samples-leaf N (5) --l2 L (1) --min-child-weight W (auto: 1 above 20 classes, else 0.001) --early-stopping auto|on|off (auto: on from 100k rows)
            --class-weight none|balanced
  neural:   --input sequence|features (default: the early-packet sequence seq_len_i, seq_dir_i, seq_gap_i_us when
            the table has it, except for mlp) --epochs N (20) --batch-size N (64) --learning-rate R (0.001, Adam)
            --patience N (5) --validation-share P (0.1; early stopping and calibration) --class-weight balanced|none
      --seed S             random seed (default 0); the same seed gives the same model on any thread count
      --threads N          worker threads (default: all cores)
      --unknown-below P    answer 'unknown' below calibrated confidence P (default: chosen by the guard)
  support guard (on unless --no-guard): the model answers 'unknown' with a reason instead of extrapolating:
      too_few_packets      fewer packets than the --packet-share quantile of the training rows (default 0.05)
      out_of_distribution  an input outside the training rows' range, or novel (isolation forest)
      low_confidence       below the threshold at which the held-out rows' answered accuracy reaches
                           --target-accuracy (default 0.9), answering at least --min-coverage of them (default 0.2)
      --no-guard           none of this (and --unknown-below defaults to 0)
      --meter-active-timeout S, --meter-idle-timeout S
                           record the flow timeouts the training flows were cut with (e.g. 15 for the ISCX 15 s
                           files): classify, predict and serve then meter captures the same way for this model
      --early N            learn early verdicts: the table is cut at N packets ('veil extract --early N'), the
                           features are its sequence (first N packets) and handshake columns unless --features
                           says otherwise; live sources give a flow this model's verdict at its N-th packet
      --novelty-quantile Q with --unknown-below, also answer 'unknown' for rows stranger than the Q quantile
                           of training rows (default 0.995)
      --no-novelty         no open-set check
      --no-calibrate       no temperature scaling
      --json FILE          write the cross-validation result (EvaluationResult JSON)
  -q, --quiet              no progress and no summary
`;

export const SHARED_OPTIONS = {
  folds: { type: 'string' },
  'group-by': { type: 'string' },
  blocked: { type: 'string' },
  holdout: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'column-order': { type: 'string' },
  'unknown-below': { type: 'string' },
  'meter-active-timeout': { type: 'string' },
  'meter-idle-timeout': { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Progress on stderr for counted work (trees, rounds, rows), only on a terminal, at most five times a second. */
export class CountProgress {
  private last = 0;
  constructor(private readonly label: string, readonly enabled: boolean) {}
  update(done: number, total: number, what: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200 && done < total) return;
    this.last = now;
    const f = total > 0 ? Math.min(1, done / total) : 0;
    const n = Math.round(f * 24);
    const line = `${this.label} [${'#'.repeat(n)}${'.'.repeat(24 - n)}] ${done}/${total} ${what}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
  }
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

/** The learner `veil train` (and `veil learn`) uses without --model. */
export const DEFAULT_LEARNER = 'boosting';

/** Options that belong to one tree learner only: given with another, they would be ignored without a word. */
const LEARNER_OPTIONS: Record<'forest' | 'boosting', readonly string[]> = {
  forest: ['trees', 'max-features'],
  boosting: ['max-iter', 'max-leaf-nodes', 'l2', 'min-child-weight', 'early-stopping'],
};

export function learnerOptionMismatch(model: string, v: Record<string, unknown>): { option: string; of: string } | null {
  for (const [of, opts] of Object.entries(LEARNER_OPTIONS)) {
    if (of === model) continue;
    const option = opts.find((o) => v[o] !== undefined);
    if (option) return { option, of };
  }
  return null;
}

function usage(msg: string): VeilError {
  return new VeilError('CLI_USAGE', `${msg} (see --help)`);
}

export function num(v: string | undefined, name: string, dflt: number, check: (x: number) => boolean = () => true): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw usage(`--${name}: invalid value '${v}'`);
  return n;
}

/** The split asked for on the command line, or null. */
export function splitFromArgs(v: Record<string, unknown>): SplitSpec | null {
  const group = v['group-by'] as string | undefined;
  if (v.blocked !== undefined && (v.folds !== undefined || v.holdout !== undefined || group)) throw usage('choose one of --folds, --group-by, --blocked, --holdout');
  if (v.holdout !== undefined && (v.folds !== undefined || group)) throw usage('choose one of --folds, --group-by, --blocked, --holdout');
  const int2 = (x: number): boolean => Number.isInteger(x) && x >= 2;
  if (group) return { kind: 'group', column: group, folds: num(v.folds as string | undefined, 'folds', 5, int2) };
  if (v.folds !== undefined) return { kind: 'kfold', folds: num(v.folds as string, 'folds', 5, int2) };
  if (v.blocked !== undefined) return { kind: 'blocked', folds: num(v.blocked as string, 'blocked', 5, int2) };
  if (v.holdout !== undefined) return { kind: 'holdout', testShare: num(v.holdout as string, 'holdout', 0.2, (x) => x > 0 && x < 1) };
  return null;
}

export function columnOrderFrom(v: string | undefined): ColumnOrderPolicy {
  if (v === undefined) return 'fix';
  if (v === 'fix' || v === 'refuse' || v === 'keep') return v;
  throw usage(`--column-order: expected fix, refuse or keep (got '${v}')`);
}

/** Loads a table printing warnings (loud ones always, notices unless quiet). */
export async function loadForCli(path: string, policy: ColumnOrderPolicy, quiet: boolean, textColumns?: string[]): Promise<LoadedTable> {
  const progress = new CountProgress('loading', !quiet && Boolean(process.stderr.isTTY));
  try {
    return await loadTable(path, {
      columnOrder: policy,
      textColumns,
      warn: (m) => { if (!quiet || m.startsWith('WARNING')) process.stderr.write(`veil: ${m}\n`); },
      onProgress: (f) => progress.update(Math.round(f * 100), 100, `% of ${path}`),
    });
  } finally {
    progress.done();
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SHARED_OPTIONS,
      label: { type: 'string', short: 'l' },
      output: { type: 'string', short: 'o' },
      model: { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      features: { type: 'string' },
      'include-leaky': { type: 'boolean' },
      'include-text': { type: 'boolean' },
      'text-encoding': { type: 'string' },
      trees: { type: 'string' },
      'max-depth': { type: 'string' },
      'min-samples-leaf': { type: 'string' },
      'max-features': { type: 'string' },
      'class-weight': { type: 'string' },
      'max-iter': { type: 'string' },
      'learning-rate': { type: 'string' },
      'max-leaf-nodes': { type: 'string' },
      l2: { type: 'string' },
      'min-child-weight': { type: 'string' },
      'early-stopping': { type: 'string' },
      'novelty-quantile': { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      input: { type: 'string' },
      patience: { type: 'string' },
      'validation-share': { type: 'string' },
      'no-novelty': { type: 'boolean' },
      'no-calibrate': { type: 'boolean' },
      'no-guard': { type: 'boolean' },
      'target-accuracy': { type: 'string' },
      'min-coverage': { type: 'string' },
      'packet-share': { type: 'string' },
      name: { type: 'string' },
      early: { type: 'string' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length !== 1) throw usage('give exactly one DATA file');
  if (!v.label) throw usage('--label is required');
  if (!v.output) throw usage('-o MODEL is required');
  const model = v.model ?? DEFAULT_LEARNER;
  if (model !== 'forest' && model !== 'boosting' && !isNnArchitecture(model)) throw usage(`--model: forest, boosting, mlp, cnn, lstm or cnn-lstm (got '${model}')`);
  const foreign = learnerOptionMismatch(model, v as Record<string, unknown>);
  if (foreign) throw usage(`--${foreign.option} is an option of --model ${foreign.of}, not of ${model}${v.model ? '' : ` (the default learner is ${DEFAULT_LEARNER})`}`);
  const quiet = Boolean(v.quiet);
  const split = splitFromArgs(v);
  const pos = (x: number): boolean => x > 0;
  const nonneg = (x: number): boolean => x >= 0;
  const int = (x: number): boolean => Number.isInteger(x) && x >= 0;
  const cw = v['class-weight'];
  if (cw !== undefined && cw !== 'balanced' && cw !== 'none') throw usage(`--class-weight: balanced or none (got '${cw}')`);
  const es = v['early-stopping'];
  if (es !== undefined && es !== 'auto' && es !== 'on' && es !== 'off') throw usage(`--early-stopping: auto, on or off (got '${es}')`);
  const te = v['text-encoding'];
  if (te !== undefined && te !== 'onehot' && te !== 'ordinal') throw usage(`--text-encoding: onehot or ordinal (got '${te}')`);
  const mf = v['max-features'];
  const maxFeatures = mf === undefined ? undefined : mf === 'sqrt' || mf === 'log2' || mf === 'all' ? mf : num(mf, 'max-features', 0, pos);
  // Not given: the guard chooses it on held-out rows (0 without the guard).
  const unknownBelow = v['unknown-below'] !== undefined ? num(v['unknown-below'], 'unknown-below', 0, (x) => x >= 0 && x < 1) : undefined;
  const share = (x: number): boolean => x > 0 && x <= 1;
  const guard: TrainConfig['guard'] = v['no-guard'] ? false : {
    ...(v['target-accuracy'] !== undefined ? { targetAccuracy: num(v['target-accuracy'], 'target-accuracy', 0.9, share) } : {}),
    ...(v['min-coverage'] !== undefined ? { minCoverage: num(v['min-coverage'], 'min-coverage', 0.2, share) } : {}),
    ...(v['packet-share'] !== undefined ? { packetShare: num(v['packet-share'], 'packet-share', 0.05, (x) => x >= 0 && x < 1) } : {}),
  };
  const nq = num(v['novelty-quantile'], 'novelty-quantile', 0.995, (x) => x > 0 && x <= 1);

  const cfg: TrainConfig = {
    label: v.label,
    model,
    roles: {
      ...(split?.kind === 'group' ? { groupBy: split.column } : {}),
      include: v.include, exclude: v.exclude,
      features: v.features?.split(',').map((s) => s.trim()).filter(Boolean),
      includeLeaky: v['include-leaky'], includeText: v['include-text'],
    },
    textEncoding: te as 'onehot' | 'ordinal' | undefined,
    forest: {
      ...(v.trees !== undefined ? { trees: num(v.trees, 'trees', 100, (x) => Number.isInteger(x) && x >= 1) } : {}),
      ...(v['max-depth'] !== undefined ? { maxDepth: num(v['max-depth'], 'max-depth', 0, int) } : {}),
      ...(v['min-samples-leaf'] !== undefined ? { minSamplesLeaf: num(v['min-samples-leaf'], 'min-samples-leaf', 1, (x) => Number.isInteger(x) && x >= 1) } : {}),
      ...(maxFeatures !== undefined ? { maxFeatures } : {}),
      ...(cw ? { classWeight: cw } : {}),
    },
    boosting: {
      ...(v['max-iter'] !== undefined ? { maxIter: num(v['max-iter'], 'max-iter', 300, (x) => Number.isInteger(x) && x >= 1) } : {}),
      ...(v['learning-rate'] !== undefined ? { learningRate: num(v['learning-rate'], 'learning-rate', 0.2, pos) } : {}),
      ...(v['max-leaf-nodes'] !== undefined ? { maxLeafNodes: num(v['max-leaf-nodes'], 'max-leaf-nodes', 64, (x) => Number.isInteger(x) && x >= 2) } : {}),
      ...(v['max-depth'] !== undefined ? { maxDepth: num(v['max-depth'], 'max-depth', 0, int) } : {}),
      ...(v['min-samples-leaf'] !== undefined ? { minSamplesLeaf: num(v['min-samples-leaf'], 'min-samples-leaf', 5, (x) => Number.isInteger(x) && x >= 1) } : {}),
      ...(v.l2 !== undefined ? { l2: num(v.l2, 'l2', 1, nonneg) } : {}),
      ...(v['min-child-weight'] !== undefined && v['min-child-weight'] !== 'auto' ? { minChildWeight: num(v['min-child-weight'], 'min-child-weight', 1e-3, nonneg) } : {}),
      ...(es ? { earlyStopping: es } : {}),
      ...(cw ? { classWeight: cw } : {}),
    },
    seed: num(v.seed, 'seed', 0, (x) => Number.isInteger(x) && x >= 0),
    threads: num(v.threads, 'threads', availableParallelism(), (x) => Number.isInteger(x) && x >= 1),
    ...(unknownBelow !== undefined ? { unknownBelow } : {}),
    guard,
    calibrate: !v['no-calibrate'],
    novelty: v['no-novelty'] ? false : nq,
    // The file's name, not its path: a model's name travels (API, UI, reports) and must not carry build folders.
    name: v.name ?? `${model} on ${path.basename(positionals[0]!)}`,
  };
  if (isNnArchitecture(model)) {
    const inp = v.input;
    if (inp !== undefined && inp !== 'sequence' && inp !== 'features') throw usage(`--input: sequence or features (got '${inp}')`);
    const posInt = (x: number): boolean => Number.isInteger(x) && x >= 1;
    const nn: Partial<NnParams> = {
      ...(inp ? { input: inp } : {}),
      ...(v.epochs !== undefined ? { epochs: num(v.epochs, 'epochs', 20, posInt) } : {}),
      ...(v['batch-size'] !== undefined ? { batchSize: num(v['batch-size'], 'batch-size', 64, posInt) } : {}),
      ...(v['learning-rate'] !== undefined ? { learningRate: num(v['learning-rate'], 'learning-rate', 1e-3, pos) } : {}),
      ...(v.patience !== undefined ? { patience: num(v.patience, 'patience', 5, posInt) } : {}),
      ...(v['validation-share'] !== undefined ? { validationShare: num(v['validation-share'], 'validation-share', 0.1, (x) => x >= 0 && x < 1) } : {}),
      ...(cw ? { classWeight: cw } : {}),
    };
    cfg.nn = nn;
    delete cfg.forest;
    delete cfg.boosting;
  } else if (model === 'forest') delete cfg.boosting; else delete cfg.forest;

  const progress = new CountProgress('train', !quiet && Boolean(process.stderr.isTTY));
  const out = (s: string): void => { if (!quiet) process.stdout.write(s); };
  try {
    const loaded = await loadForCli(positionals[0]!, columnOrderFrom(v['column-order']), quiet, [v.label]);
    const early = v.early !== undefined ? await import('../live/early.ts') : null;
    const earlyN = early ? early.earlyPackets(v.early!) : 0;
    let table = loaded.table;
    if (early) {
      early.checkEarlyTable(table, earlyN);
      // Only flows that reach N packets ever get an early verdict: learn and score on those alone.
      const cut = early.rowsReachingEarly(table, earlyN);
      if (cut.rows < table.rows) out(`early: ${cut.rows} of ${table.rows} rows reached ${earlyN} packets (the shorter flows never get an early verdict: left out)\n`);
      table = cut;
      cfg.roles = { ...cfg.roles, features: cfg.roles?.features ?? early.earlyFeatureColumns(earlyN, table.columns.map((c) => c.name)) };
    }
    const prep = prepareTraining(table, cfg);
    out(`data: ${table.source}: ${table.rows} rows, ${prep.classes.length} classes of '${cfg.label}'\n`);
    out(`features (${prep.specs.length}): ${prep.specs.map((s) => s.name).join(', ')}\n`);
    if (prep.roles.excluded.length) {
      out(`not used (${prep.roles.excluded.length}): ${prep.roles.excluded.map((e) => `${e.name} [${e.reason.split(';')[0]}]`).join(', ')}\n`);
    }
    cfg.onProgress = (stage, done, total) => progress.update(done, total, stage);
    let cv;
    let cvResult: EvaluationResult | undefined;
    if (split) {
      const s = makeSplit(prep, split, cfg.seed);
      warnUntestable(s, prep.y, prep.classes, quiet);
      cv = await crossValidate(prep, cfg, s);
    }
    const m = await trainModel(prep, cfg, { cv, columnOrder: { status: loaded.order.status, ...(loaded.order.message ? { message: loaded.order.message } : {}) } });
    progress.done();
    if (cv) {
      cvResult = cvEvaluation(prep, cv, cfg, m);
      out(`\ncross-validation (${model}):\n${formatEvaluation(cvResult)}`);
      if (v.json) await writeFile(v.json, JSON.stringify(cvResult, null, 2) + '\n');
    } else if (v.json) {
      throw usage('--json needs a split (--folds, --group-by, --blocked or --holdout)');
    } else if (!quiet) {
      process.stderr.write('veil: no split given, so no scores: add --group-by COL (rows of one capture kept together: honest), ' +
        '--blocked K, --folds K (shuffled) or --holdout P to measure the model before trusting it\n');
    }
    const meterTimeouts: { idleTimeoutS?: number; activeTimeoutS?: number } = {};
    for (const [opt, key] of [['meter-active-timeout', 'activeTimeoutS'], ['meter-idle-timeout', 'idleTimeoutS']] as const) {
      const raw = (v as Record<string, unknown>)[opt];
      if (raw !== undefined) meterTimeouts[key] = num(raw as string, opt, 0, (x) => x >= METER_TIMEOUT_RANGE_S[0] && x <= METER_TIMEOUT_RANGE_S[1]);
    }
    if (earlyN) (meterTimeouts as { earlyPackets?: number }).earlyPackets = earlyN;
    if (Object.keys(meterTimeouts).length) m.manifest.meter = meterTimeouts;
    m.manifest.training.rowSketch = trainingSketch(prep.columns, prep.y, prep.classes);
    await saveModel(m, v.output);
    const cal = m.manifest.calibration;
    if (!quiet && cal.method === 'temperature' && (cal.temperature >= TEMPERATURE_CAP * 0.999 || cal.temperature <= 1 / TEMPERATURE_CAP * 1.001)) {
      process.stderr.write(`veil: warning: the calibration temperature hit its limit (${cal.temperature.toFixed(3)}): the held-out answers were ` +
        'mostly wrong or unseen classes, so the confidences mean little; see the warning about classes above, or use another split\n');
    }
    const net = m.manifest.network;
    if (net) {
      out(
        `\nmodel: ${v.output} (${model} on the ${net.input.kind === 'sequence' ? `early-packet sequence, ${net.input.steps} packets x ${net.input.channelNames.join(', ')}` : `feature vector (${net.input.steps} features)`}; ` +
          `${describeLayers(net.layers)}; ${net.parameters} weights)\n` +
          `training: ${net.training.epochsRun} epochs (weights of epoch ${net.training.bestEpoch}${net.training.validationRows ? `, best validation loss on ${net.training.validationRows} rows` : ''}), ` +
          `${net.training.epochSeconds.toFixed(2)} s per epoch on tfjs-${net.training.backend}; fit ${m.manifest.training.fitSeconds.toFixed(1)} s\n` +
          `calibration: ${cal.method === 'temperature' ? `temperature ${cal.temperature.toFixed(3)} on ${cal.fittedOn}` : 'none'}\n`,
      );
      return 0;
    }
    out(
      `\nmodel: ${v.output} (${model}, ${m.manifest.training.trees} trees, ${m.manifest.training.nodes} nodes` +
        `${m.manifest.training.rounds !== undefined ? `, ${m.manifest.training.rounds} rounds` : ''}; fit ${m.manifest.training.fitSeconds.toFixed(1)} s on ${cfg.threads} thread(s))\n` +
        `calibration: ${cal.method === 'temperature' ? `temperature ${cal.temperature.toFixed(3)} on ${cal.fittedOn}` : 'none'}\n`,
    );
    return 0;
  } finally {
    progress.done();
    await closeWorkers();
  }
}

/** The calibration temperature's search range is [1/TEMPERATURE_CAP, TEMPERATURE_CAP] (model/calibration.ts). */
const TEMPERATURE_CAP = 20;

/**
 * Warns when a split cannot test some classes (each in a single group, say): their scores are 0 whatever the
 * model, which is what made a grouped split of 9 classes in 2 captures report macro-F1 5 % and temperature 20.
 */
export function warnUntestable(s: Split, y: Int32Array, classes: readonly string[], quiet: boolean): string[] {
  const bad = untestableClasses(s, y, classes.length).map((c) => classes[c]!);
  if (bad.length && !quiet) {
    const how = s.info.kind === 'group'
      ? `the split by '${s.info.groupBy}' (their rows sit in too few '${s.info.groupBy}' values to be in both train and test of any fold)`
      : `${s.info.description} (no fold has them in both train and test)`;
    process.stderr.write(`veil: warning: ${bad.length} of ${classes.length} classes cannot be tested under ${how}: ` +
      `${bad.slice(0, 12).join(', ')}${bad.length > 12 ? ', ...' : ''}. Their scores are 0 whatever the model: macro-F1 and the calibration ` +
      'below understate it. Give these classes rows in more groups, or use --blocked K or --folds K\n');
  }
  return bad;
}

/** The fingerprint of the labelled training rows (model/fingerprint.ts), so evaluate knows them by content. */
function trainingSketch(columns: readonly Float64Array[], y: Int32Array, classes: readonly string[]): RowSketch {
  const all = rowHashes(columns, Array.from(y, (c) => (c < 0 ? null : classes[c]!)));
  return rowSketch(all.filter((_, i) => y[i]! >= 0));
}
