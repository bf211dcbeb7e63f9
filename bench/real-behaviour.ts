/**
 * Behaviour only, on real captures: the category of each flow of ../shared/data (nDPI, JA4, Wireshark and mobile-app
 * captures) from its names (bench/real-labels.ts), learnt WITHOUT any name, address or port column, by Veil's forest
 * and boosting beside scikit-learn RandomForest and XGBoost on the same rows and the same folds, in one run; and the
 * shipped ISCX category model (models/iscx/category.veilmodel, classes mapped onto the catalogue's categories) scored on
 * the same test rows. Two splits: grouped by capture (no capture in both train and test: the honest one) and a
 * stratified shuffled 5-fold (neighbouring flows of one capture on both sides: optimistic).
 *
 *   node --import tsx bench/real-behaviour.ts [--table FILE.csv | --data DIR --dirs ndpi/pcap,...] [--folds 5] [--threads 1]
 *        [--models veil-forest,veil-boosting,sklearn-rf,xgboost,iscx] [--iscx models/iscx/category.veilmodel]
 *        [--splits group,kfold] [--include-fingerprints] [--rounds 100] [--exclude A,B] [--json FILE]
 *
 * Boosting (Veil's and XGBoost's) runs --rounds rounds, depth 6, no early stopping; forests 100 trees, balanced.
 *
 * Without --table it builds the table first (a few seconds). Columns: what `veil train --label category
 * --group-by id_capture` would use (identity `id_*`, leaky names `tls_sni`, `tls_cert_*`, `name_*`, text columns
 * excluded), minus BEHAVIOUR_EXCLUDE below. --include-fingerprints adds JA4 and the ALPN (text, one-hot).
 */
import { parseArgs } from 'node:util';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable, groupCodes, requireColumn, columnStrings, identityReason, leakReason, type Split } from '../src/dataset/index.ts';
import { prepareTraining, crossValidate, makeSplit, modelInputs, predictColumns, loadModel, macroF1, closeWorkers, type PreparedData } from '../src/model/index.ts';
import { modelCategory } from '../src/names/index.ts';
import { buildRealTable, formatCounts, LABEL_COLUMN } from './real-labels.ts';
import { runPythonLines } from './python-lines.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * Numeric columns `veil train` would keep that carry the server's name indirectly: the ClientHello's length grows
 * with the server name it holds. (The first packets' sizes in the sequence family carry the same bytes; that is
 * behaviour every encrypted-traffic classifier sees, and the grouped split measures whether it transfers.)
 */
export const BEHAVIOUR_EXCLUDE = ['tls_client_hello_len'];
/** Text columns allowed with --include-fingerprints: they name the client software and protocol, not the server. */
export const FINGERPRINT_COLUMNS = ['tls_ja4', 'tls_alpn', 'tls_protocol'];

/** The role options the shipped behaviour model is trained with (scripts/build-real-models.sh passes the same). */
export function behaviourRoles(fingerprints: boolean, exclude: readonly string[] = []): { groupBy: string; exclude: string[]; include?: string[] } {
  return { groupBy: 'id_capture', exclude: [...BEHAVIOUR_EXCLUDE, ...exclude], ...(fingerprints ? { include: FINGERPRINT_COLUMNS } : {}) };
}

/** Whether a feature column names the server, an address or a port (none may be a feature of a behaviour model). */
export function forbiddenFeature(name: string): string | null {
  const source = name.split('=')[0]!;
  if (BEHAVIOUR_EXCLUDE.includes(source)) return 'carries the server name';
  if (source === LABEL_COLUMN) return 'the label';
  if (/^(tls_sni|tls_cert_|name_|id_)/.test(source)) return 'name or identity column';
  return identityReason(source) ?? leakReason(source);
}

interface FoldScore { model: string; split: string; fold: number; rows: number; accuracy: number; macro_f1: number }

function foldScores(model: string, split: string, s: Split, yTrue: Int32Array, yPred: Int32Array, K: number): FoldScore[] {
  return s.folds.map((f, k) => {
    const yt = Int32Array.from(f.test, (r) => yTrue[r]!);
    const yp = Int32Array.from(f.test, (r) => yPred[r]!);
    let ok = 0;
    for (let i = 0; i < yt.length; i++) if (yt[i] === yp[i]) ok++;
    return { model, split, fold: k, rows: yt.length, accuracy: ok / Math.max(1, yt.length), macro_f1: macroF1(yt, yp, K) };
  });
}

async function runVeil(prep: PreparedData, split: Split, splitName: string, model: 'forest' | 'boosting', threads: number, rounds: number): Promise<FoldScore[]> {
  const K = prep.classes.length;
  // Boosting: the same number of rounds as XGBoost, no early stopping on either side.
  const cv = await crossValidate(prep, { label: LABEL_COLUMN, model, seed: 0, threads, boosting: { maxIter: rounds, earlyStopping: 'off' } }, split);
  const yPred = new Int32Array(prep.y.length);
  for (let i = 0; i < yPred.length; i++) {
    let b = 0;
    for (let c = 1; c < K; c++) if (cv.proba[i * K + c]! > cv.proba[i * K + b]!) b = c;
    yPred[i] = b;
  }
  return foldScores(`veil-${model}`, splitName, split, prep.y, yPred, K);
}

/**
 * scikit-learn 1.2's RandomForest refuses missing values: it gets them as -1e9 (below every value, so a split can
 * send them apart as Veil's missing bin does); XGBoost takes NaN as missing natively.
 */
async function runAnchors(prep: PreparedData, split: Split, splitName: string, models: string[], threads: number, rounds: number): Promise<FoldScore[]> {
  const out: FoldScore[] = [];
  for (const m of models) out.push(...(await runAnchor(prep, split, splitName, m, threads, rounds, m === 'sklearn-rf')));
  return out;
}

async function runAnchor(prep: PreparedData, split: Split, splitName: string, model: string, threads: number, rounds: number, impute: boolean): Promise<FoldScore[]> {
  const models = [model];
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-real-behaviour-'));
  try {
    await writeAnchorInputs(dir, prep, split, { models, threads, xgb_rounds: rounds, seed: 0 }, impute);
    const out: FoldScore[] = [];
    await runPythonLines<{ model: string; fold: number; rows: number; accuracy: number; macro_f1: number }>(path.join(HERE, 'learn-anchors.py'), dir, (r) => {
      out.push({ model: r.model, split: splitName, fold: r.fold, rows: r.rows, accuracy: r.accuracy, macro_f1: r.macro_f1 });
    });
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The work directory bench/learn-anchors.py reads: X (rows x features, row-major float64; missing as -1e9 when
 * `impute`, for scikit-learn 1.2's forest, else NaN), y, each row's test fold (-1: none) and meta.json (`meta` added).
 */
export async function writeAnchorInputs(dir: string, prep: PreparedData, split: Split, meta: Record<string, unknown>, impute: boolean): Promise<void> {
  const n = prep.y.length, F = prep.columns.length;
  const X = new Float64Array(n * F);
  for (let f = 0; f < F; f++) { const c = prep.columns[f]!; for (let i = 0; i < n; i++) { const x = c[i]!; X[i * F + f] = impute && Number.isNaN(x) ? -1e9 : x; } }
  const folds = new Int32Array(n).fill(-1);
  split.folds.forEach((fo, k) => { for (const r of fo.test) folds[r] = k; });
  await writeFile(path.join(dir, 'X.f64'), new Uint8Array(X.buffer));
  await writeFile(path.join(dir, 'y.i32'), new Uint8Array(prep.y.buffer, prep.y.byteOffset, prep.y.byteLength));
  await writeFile(path.join(dir, 'folds.i32'), new Uint8Array(folds.buffer));
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ rows: n, features: F, classes: prep.classes.length, folds: split.folds.length, ...meta }));
}

/** The ISCX model's answers on every row, in the table's class indexes (-1: a class with no counterpart). */
async function iscxPredictions(file: string, prep: PreparedData): Promise<{ yPred: Int32Array; note: string }> {
  const model = await loadModel(file);
  const p = predictColumns(model, modelInputs(model, prep.table), { unknownBelow: 0 });
  const idx = new Map(prep.classes.map((c, i) => [c, i]));
  const map = model.manifest.classes.map((c) => idx.get(modelCategory(c) ?? '') ?? -1);
  const yPred = Int32Array.from(p.label, (l) => (l < 0 ? -1 : map[l]!));
  const note = model.manifest.classes.map((c) => `${c}->${modelCategory(c) ?? '?'}`).join(', ');
  return { yPred, note };
}

function stats(xs: number[]): { mean: number; sd: number; min: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

function table(rows: FoldScore[]): string {
  const by = new Map<string, FoldScore[]>();
  for (const r of rows) by.set(r.model, [...(by.get(r.model) ?? []), r]);
  const lines = ['| model | accuracy (mean ± sd, min-max over folds) | macro-F1 (mean ± sd, min-max) | per-fold macro-F1 |', '|---|---|---|---|'];
  for (const [m, rs] of by) {
    const a = stats(rs.map((r) => r.accuracy)), f = stats(rs.map((r) => r.macro_f1));
    const fmt = (s: typeof a) => `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})`;
    lines.push(`| ${m} | ${fmt(a)} | ${fmt(f)} | ${rs.sort((x, y) => x.fold - y.fold).map((r) => r.macro_f1.toFixed(3)).join(' ')} |`);
  }
  return lines.join('\n');
}

/** Runs the bench with these command-line arguments (bench/real-traffic.ts --behaviour calls it). */
export async function behaviourBench(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      dirs: { type: 'string' },
      table: { type: 'string' },
      folds: { type: 'string', default: '5' },
      threads: { type: 'string', default: '1' },
      models: { type: 'string', default: 'veil-forest,veil-boosting,sklearn-rf,xgboost,iscx' },
      iscx: { type: 'string', default: path.resolve(HERE, '../models/iscx/category.veilmodel') },
      splits: { type: 'string', default: 'group,kfold' },
      'include-fingerprints': { type: 'boolean', default: false },
      rounds: { type: 'string', default: '100' },
      exclude: { type: 'string', default: '' },
      json: { type: 'string' },
    },
  });
  const models = v.models!.split(',');
  const threads = Number(v.threads);
  const folds = Number(v.folds);
  const rounds = Number(v.rounds);
  let file = v.table;
  let tmp: string | null = null;
  if (!file) {
    tmp = await mkdtemp(path.join(tmpdir(), 'veil-real-table-'));
    file = path.join(tmp, 'real-flows.csv');
    const s = await buildRealTable({ output: file, ...(v.data ? { data: v.data } : {}), ...(v.dirs ? { dirs: v.dirs.split(',') } : {}) });
    process.stdout.write(`table: ${s.captures} captures (${s.duplicates.length} duplicate files skipped, ${s.failed.length} failed), ${s.flows} flows, ${s.labelled} labelled by their names\n\n${formatCounts(s)}\n\n`);
  }
  const { table: t } = await loadTable(file);
  const prep = prepareTraining(t, { label: LABEL_COLUMN, roles: behaviourRoles(v['include-fingerprints']!, v.exclude ? v.exclude.split(',') : []) });
  const bad = prep.specs.map((s) => [s.name, forbiddenFeature(s.name)] as const).filter(([, r]) => r);
  if (bad.length) throw new Error(`forbidden feature columns: ${bad.map(([n, r]) => `${n} (${r})`).join(', ')}`);
  const groups = groupCodes(columnStrings(requireColumn(t, 'id_capture')));
  const nCaptures = new Set(groups).size;
  const counts = prep.classes.map((c, i) => `${c} ${prep.y.filter((y) => y === i).length}`).join(', ');
  process.stdout.write(`# Behaviour only on real captures\n\n${prep.y.length} flows from ${nCaptures} captures, ${prep.classes.length} categories (${counts}); ` +
    `${prep.specs.length} features from ${prep.roles.features.length} columns; excluded ${prep.roles.excluded.length} columns ` +
    `(identity, names, text${v['include-fingerprints'] ? ' except ' + FINGERPRINT_COLUMNS.join(', ') : ''}, ${[...BEHAVIOUR_EXCLUDE, ...(v.exclude ? v.exclude.split(',') : [])].join(', ')}); fit on ${threads} thread(s)\n`);
  const all: FoldScore[] = [];
  const K = prep.classes.length;
  const iscx = models.includes('iscx') ? await iscxPredictions(v.iscx!, prep) : null;
  for (const s of v.splits!.split(',')) {
    const split = s === 'group' ? makeSplit(prep, { kind: 'group', column: 'id_capture', folds }) : makeSplit(prep, { kind: 'kfold', folds });
    process.stderr.write(`${s}: ${split.info.description}\n`);
    const res: FoldScore[] = [];
    for (const m of ['forest', 'boosting'] as const) {
      if (!models.includes(`veil-${m}`)) continue;
      const t0 = performance.now();
      res.push(...(await runVeil(prep, split, s, m, threads, rounds)));
      process.stderr.write(`  veil-${m}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    const t0 = performance.now();
    res.push(...(await runAnchors(prep, split, s, models.filter((m) => m === 'sklearn-rf' || m === 'xgboost' || m === 'sklearn-hgb'), threads, rounds)));
    process.stderr.write(`  anchors: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    if (iscx) res.push(...foldScores('iscx-model (shipped, not retrained)', s, split, prep.y, iscx.yPred, K));
    all.push(...res);
    process.stdout.write(`\n## ${s === 'group' ? 'grouped by capture' : 'shuffled'}: ${split.info.description}\n\n${table(res)}\n`);
  }
  if (iscx) {
    const inRange = new Set(prep.classes.map((c, i) => [c, i] as const).filter(([c]) => ['browsing', 'chat', 'file_transfer', 'mail', 'streaming', 'voip'].includes(c)).map(([, i]) => i));
    const rows = [...prep.y.keys()].filter((i) => inRange.has(prep.y[i]!));
    let ok = 0;
    for (const i of rows) if (iscx.yPred[i] === prep.y[i]) ok++;
    process.stdout.write(`\nISCX model classes mapped: ${iscx.note}. It cannot name ${prep.classes.filter((_, i) => !inRange.has(i) && !iscx.yPred.includes(i)).join(', ')}; ` +
      `on the ${rows.length} flows of the categories it knows it is right on ${(100 * ok / Math.max(1, rows.length)).toFixed(1)} %.\n`);
  }
  await closeWorkers();
  if (v.json) await writeFile(v.json, JSON.stringify({ classes: prep.classes, features: prep.specs.map((s) => s.name), folds: all }, null, 2) + '\n');
  if (tmp) await rm(tmp, { recursive: true, force: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  behaviourBench(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
