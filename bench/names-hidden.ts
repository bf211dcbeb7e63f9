/**
 * Names hidden: how much of a network's traffic a model taught by today's names recognises by behaviour alone, on
 * traffic it was never trained on. Three parts, each scored beside scikit-learn's RandomForest and XGBoost on the
 * same rows and the same folds, in one run:
 *
 * - real:   the real captures of ../shared/data (nDPI, JA4, Wireshark, mobile apps), every flow labelled by its own
 *           names (server name, certificate, HTTP Host, DNS answer, strong port convention; bench/real-labels.ts),
 *           application and category, learnt without any name, address, port or text column (the names are hidden:
 *           the model never reads them), grouped by capture (no capture in both train and test). Applications
 *           seen in a single capture cannot be tested on another and are left out (counted).
 * - cesnet: the CESNET-QUIC22 sample (10 applications, 30-packet size / direction / gap sequences and flow
 *           statistics of QUIC flows, no names), stratified 5-fold (the sample has no capture to group by).
 * - mobile: the Android app captures (mobile-apps/ma3): the app that made each capture is in its file name, a
 *           ground truth independent of any DPI verdict. Trained on the Android 7.1 captures, tested on the 8.1
 *           ones. A flow whose names show a catalogued service other than the capture's app is the OS's or another
 *           app's background traffic and is labelled as that service; the other flows are the app's. Background
 *           flows must come out as themselves or "unknown", never as the app: the Veil row uses the shipped
 *           answer rule (support guard and calibrated threshold), the anchors their plain argmax.
 *
 * For each: accuracy and macro-F1 over the test rows, and how many classes are recognisable (F1 >= 0.5).
 *
 *   node --import tsx bench/names-hidden.ts [--parts real,cesnet,mobile] [--data DIR] [--threads 1] [--folds 5]
 *        [--models veil-forest,veil-boosting,sklearn-rf,xgboost] [--rounds 100] [--table FILE.csv]
 */
import { parseArgs } from 'node:util';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable, groupCodes, columnStrings, requireColumn, type Split, type Table } from '../src/dataset/index.ts';
import { CaptureNameLabeller } from '../src/dataset/name-labels.ts';
import {
  prepareTraining, crossValidate, makeSplit, trainModel, predictColumns, closeWorkers, type PreparedData, type TrainConfig,
} from '../src/model/index.ts';
import { extractFlows } from '../src/flow/meter.ts';
import { openWriter } from '../src/flow/output.ts';
import { col, type CellValue, type ColumnDef } from '../src/flow/columns.ts';
import { loadCatalog } from '../src/names/index.ts';
import { buildRealTable, SHARED_DATA } from './real-labels.ts';
import { behaviourRoles, forbiddenFeature, writeAnchorInputs } from './real-behaviour.ts';
import { runPythonLines } from './python-lines.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
type Tree = 'forest' | 'boosting';

interface Opts { threads: number; rounds: number; models: string[] }

/** Out-of-fold predicted class per row (-1: the row is in no test fold). */
async function veilPredictions(prep: PreparedData, split: Split, model: Tree, o: Opts): Promise<Int32Array> {
  const K = prep.classes.length;
  const cv = await crossValidate(prep, { label: prep.roles.label, model, seed: 0, threads: o.threads, boosting: { maxIter: o.rounds, earlyStopping: 'off' } }, split);
  const out = new Int32Array(prep.y.length).fill(-1);
  for (let i = 0; i < out.length; i++) {
    if (!cv.tested[i]) continue;
    let b = 0;
    for (let c = 1; c < K; c++) if (cv.proba[i * K + c]! > cv.proba[i * K + b]!) b = c;
    out[i] = b;
  }
  return out;
}

/** scikit-learn / XGBoost on exactly these folds (bench/learn-anchors.py), their predicted class per row. */
async function anchorPredictions(prep: PreparedData, split: Split, model: string, o: Opts): Promise<Int32Array> {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-names-hidden-'));
  try {
    // scikit-learn 1.2's forest refuses NaN: missing as -1e9 (below every value); XGBoost takes NaN natively.
    // Rows of no training fold and no test fold (y = -1) are left out by the script.
    await writeAnchorInputs(dir, prep, split, { models: [model], threads: o.threads, xgb_rounds: o.rounds, seed: 0, dump_predictions: true }, model === 'sklearn-rf');
    await runPythonLines(path.join(HERE, 'learn-anchors.py'), dir, () => {});
    const out = new Int32Array(prep.y.length).fill(-1);
    for (let k = 0; k < split.folds.length; k++) {
      const b = await readFile(path.join(dir, `pred-${model}-${k}.i32`));
      const p = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      const test = [...split.folds[k]!.test].sort((a, c) => a - c);
      test.forEach((r, i) => { out[r] = p[i]!; });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Score { accuracy: number; macroF1: number; recognisable: number; classes: number; f1: Map<string, number>; rows: number }

/** Scores predictions (-1 = no answer or "unknown", counted wrong) on rows whose truth is >= 0 and in `rows`. */
function score(truth: Int32Array, pred: Int32Array, classes: readonly string[], rows: readonly number[], scored?: ReadonlySet<number>): Score {
  const K = classes.length;
  const tp = new Float64Array(K), fp = new Float64Array(K), fn = new Float64Array(K);
  let ok = 0;
  for (const r of rows) {
    const t = truth[r]!, p = pred[r]!;
    if (t === p) { ok++; tp[t]!++; } else { fn[t]!++; if (p >= 0) fp[p]!++; }
  }
  const f1 = new Map<string, number>();
  for (let c = 0; c < K; c++) {
    if (scored && !scored.has(c)) continue;
    if (tp[c]! + fn[c]! === 0) continue; // not in the test rows
    f1.set(classes[c]!, (2 * tp[c]!) / Math.max(1, 2 * tp[c]! + fp[c]! + fn[c]!));
  }
  const vals = [...f1.values()];
  return {
    accuracy: ok / Math.max(1, rows.length), macroF1: vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length),
    recognisable: vals.filter((x) => x >= 0.5).length, classes: vals.length, f1, rows: rows.length,
  };
}

async function compare(prep: PreparedData, split: Split, o: Opts): Promise<Map<string, Int32Array>> {
  const preds = new Map<string, Int32Array>();
  for (const m of o.models) {
    const t0 = performance.now();
    if (m === 'veil-forest' || m === 'veil-boosting') preds.set(m, await veilPredictions(prep, split, m.slice(5) as Tree, o));
    else preds.set(m, await anchorPredictions(prep, split, m, o));
    process.stderr.write(`  ${m}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  return preds;
}

function scoreTable(preds: Map<string, Int32Array>, truth: Int32Array, classes: readonly string[], rows: number[]): string {
  const lines = ['| model | accuracy | macro-F1 | recognisable (F1 >= 0.5) |', '|---|---|---|---|'];
  for (const [m, p] of preds) {
    const s = score(truth, p, classes, rows);
    lines.push(`| ${m} | ${s.accuracy.toFixed(3)} | ${s.macroF1.toFixed(3)} | ${s.recognisable} of ${s.classes} |`);
  }
  return lines.join('\n');
}

function perClass(preds: Map<string, Int32Array>, truth: Int32Array, classes: readonly string[], rows: number[], limit = 40): string {
  const s = [...preds].map(([m, p]) => [m, score(truth, p, classes, rows).f1] as const);
  const support = new Map<string, number>();
  for (const r of rows) support.set(classes[truth[r]!]!, (support.get(classes[truth[r]!]!) ?? 0) + 1);
  const names = [...support].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([c]) => c);
  const lines = [`| class | test flows | ${s.map(([m]) => m).join(' | ')} |`, `|---|---|${s.map(() => '---|').join('')}`];
  for (const c of names) lines.push(`| ${c} | ${support.get(c)} | ${s.map(([, f]) => (f.get(c) ?? 0).toFixed(2)).join(' | ')} |`);
  return lines.join('\n');
}

/** Keeps the rows whose label value is in a class seen in at least two groups (a grouped split can test it). */
function testableClasses(t: Table, label: string, group: string): { keep: Set<string>; dropped: number; droppedClasses: number } {
  const y = columnStrings(requireColumn(t, label));
  const g = columnStrings(requireColumn(t, group));
  const groups = new Map<string, Set<string>>();
  y.forEach((v, i) => { if (v) (groups.get(v) ?? groups.set(v, new Set()).get(v)!).add(g[i]!); });
  const keep = new Set([...groups].filter(([, s]) => s.size >= 2).map(([v]) => v));
  return { keep, dropped: y.filter((v) => v && !keep.has(v)).length, droppedClasses: groups.size - keep.size };
}

/** Prepared rows with the label restricted to `keep` (other rows get y = -1: never trained on, never tested). */
function prepared(t: Table, label: string, keep: Set<string> | null, roles: TrainConfig['roles']): PreparedData {
  const prep = prepareTraining(t, { label, roles });
  const bad = prep.specs.map((s) => [s.name, forbiddenFeature(s.name)] as const).filter(([n, r]) => r && n !== label);
  if (bad.length) throw new Error(`forbidden feature columns: ${bad.map(([n, r]) => `${n} (${r})`).join(', ')}`);
  if (keep) for (let i = 0; i < prep.y.length; i++) if (prep.y[i]! >= 0 && !keep.has(prep.classes[prep.y[i]!]!)) prep.y[i] = -1;
  return prep;
}

function labelledRowList(y: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i]! >= 0) out.push(i);
  return out;
}

/** Restricts a split's folds to labelled rows (y >= 0). */
function onlyLabelled(split: Split, y: Int32Array): Split {
  return { ...split, folds: split.folds.map((f) => ({ train: f.train.filter((r) => y[r]! >= 0), test: f.test.filter((r) => y[r]! >= 0) })) };
}

async function partReal(v: { data: string; folds: number; table?: string }, o: Opts): Promise<void> {
  let file = v.table, tmp: string | null = null;
  if (!file) {
    tmp = await mkdtemp(path.join(tmpdir(), 'veil-names-hidden-real-'));
    file = path.join(tmp, 'real.csv');
    const s = await buildRealTable({ output: file, data: v.data });
    process.stdout.write(`real captures: ${s.captures} captures (${s.duplicates.length} duplicates skipped, ${s.failed.length} failed), ${s.flows} flows, ${s.labelled} named\n`);
  }
  try {
    const { table: t } = await loadTable(file);
    for (const [target, label] of [['application', 'name_verdict_app'], ['category', 'category']] as const) {
      const { keep, dropped, droppedClasses } = testableClasses(t, label, 'id_capture');
      // name_verdict_* are the label's own columns (leaky by name): excluded by role; the category column is not
      // a feature of the application model, nor the application of the category model.
      const prep = prepared(t, label, keep, { ...behaviourRoles(false, [label === 'category' ? 'name_verdict_app' : 'category']) });
      const split = onlyLabelled(makeSplit(prep, { kind: 'group', column: 'id_capture', folds: v.folds }), prep.y);
      const rows = labelledRowList(prep.y);
      const nCap = new Set(rows.map((r) => groupCodes(columnStrings(requireColumn(t, 'id_capture')))[r])).size;
      process.stdout.write(`\n## real captures, ${target} by behaviour alone (names hidden), grouped by capture, ${v.folds} folds\n\n` +
        `${rows.length} flows of ${nCap} captures, ${keep.size} ${target === 'application' ? 'applications' : 'categories'} seen in two captures or more ` +
        `(${droppedClasses} more seen in one capture only, ${dropped} flows, cannot be tested on another: left out); ${prep.specs.length} features\n\n`);
      process.stderr.write(`real/${target}:\n`);
      const preds = await compare(prep, split, o);
      process.stdout.write(`${scoreTable(preds, prep.y, prep.classes, rows)}\n\n${perClass(preds, prep.y, prep.classes, rows, 25)}\n`);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

async function partCesnet(v: { data: string; folds: number }, o: Opts): Promise<void> {
  const file = path.join(v.data, 'cesnet-quic22-sample/demo_traces.json');
  if (!existsSync(file)) { process.stdout.write(`\n(cesnet: ${file} absent, skipped)\n`); return; }
  const traces = JSON.parse(await readFile(file, 'utf8')) as { ground_truth: string; sequences: number[][]; tabular: number[] }[];
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-names-hidden-cesnet-'));
  try {
    const steps = traces[0]!.sequences[0]!.length, nTab = traces[0]!.tabular.length;
    const header = ['app', ...['a', 'b', 'c'].flatMap((s, k) => Array.from({ length: steps }, (_, i) => `ppi_${k}_${s}${i + 1}`)), ...Array.from({ length: nTab }, (_, i) => `flowstat_${i + 1}`)];
    const lines = [header.join(','), ...traces.map((t) => [t.ground_truth, ...t.sequences.flat(), ...t.tabular].join(','))];
    const csv = path.join(dir, 'cesnet.csv');
    await writeFile(csv, lines.join('\n') + '\n');
    const { table: t } = await loadTable(csv);
    const prep = prepared(t, 'app', null, {});
    const split = makeSplit(prep, { kind: 'kfold', folds: v.folds });
    const rows = labelledRowList(prep.y);
    process.stdout.write(`\n## CESNET-QUIC22 sample: application from the first ${steps} packets (sizes, directions, gaps) and flow statistics, no names; stratified ${v.folds}-fold\n\n` +
      `${rows.length} QUIC flows, ${prep.classes.length} applications (${prep.classes.join(', ')}), ${prep.specs.length} features\n\n`);
    process.stderr.write('cesnet:\n');
    const preds = await compare(prep, split, o);
    process.stdout.write(`${scoreTable(preds, prep.y, prep.classes, rows)}\n\n${perClass(preds, prep.y, prep.classes, rows)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The app of a mobile capture from its file name: android71_reddit_cache02.pcap -> reddit. */
export function mobileApp(file: string): string | null {
  const m = /^android\d+_([a-z0-9]+)_/i.exec(path.basename(file));
  return m ? m[1]!.toLowerCase() : null;
}

async function partMobile(v: { data: string }, o: Opts): Promise<void> {
  const base = path.join(v.data, 'mobile-apps/ma3');
  if (!existsSync(base)) { process.stdout.write(`\n(mobile: ${base} absent, skipped)\n`); return; }
  const files = ['android71', 'android81'].flatMap((d) => (existsSync(path.join(base, d)) ? readdirSync(path.join(base, d)).sort().map((f) => path.join(d, f)) : []));
  const cat = loadCatalog([]);
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-names-hidden-mobile-'));
  try {
    const csv = path.join(dir, 'mobile.csv');
    let writer: ReturnType<typeof openWriter> | null = null;
    const extra: ColumnDef[] = [
      col('truth', 'metadata', 'string', '', 'none', 'The capture\'s app (file name), or the catalogued service its names show (background)'),
      col('android', 'metadata', 'string', '', 'none', 'Android version of the capture'),
    ];
    const counts = { app: 0, background: 0 };
    for (const f of files) {
      const app = mobileApp(f);
      if (!app) continue;
      let labeller: CaptureNameLabeller | null = null;
      await extractFlows({ path: path.join(base, f) }, { captureName: `mobile-apps/ma3/${f}` }, (row: CellValue[], cols: ColumnDef[]) => {
        if (!writer) writer = openWriter(csv, 'csv', [...cols, ...extra]);
        labeller ??= new CaptureNameLabeller(cat, cols);
        const named = labeller.label(row);
        // A catalogued service other than the app (Google Play, connectivity checks, ...) is background.
        const svc = named?.app ?? '';
        const background = svc !== '' && !svc.toLowerCase().replace(/[^a-z0-9]/g, '').includes(app) && !app.includes(svc.toLowerCase().replace(/[^a-z0-9]/g, ''));
        const truth = background ? `(bg) ${svc}` : app;
        counts[background ? 'background' : 'app']++;
        writer.write([...row, truth, f.startsWith('android71') ? '7.1' : '8.1']);
      });
    }
    if (writer) await (writer as ReturnType<typeof openWriter>).close();
    const { table: t } = await loadTable(csv);
    const prep = prepared(t, 'truth', null, behaviourRoles(false, ['android']));
    const android = columnStrings(requireColumn(t, 'android'));
    const trainRows = Int32Array.from(labelledRowList(prep.y).filter((r) => android[r] === '7.1'));
    const testRows = labelledRowList(prep.y).filter((r) => android[r] === '8.1');
    // Test classes never seen in training cannot be named: they count as errors unless answered "unknown".
    const split: Split = { info: { kind: 'holdout', description: 'train Android 7.1, test Android 8.1' } as Split['info'], folds: [{ train: trainRows, test: Int32Array.from(testRows) }] };
    const apps = new Set(prep.classes.map((c, i) => [c, i] as const).filter(([c]) => !c.startsWith('(bg)')).map(([, i]) => i));
    const appRows = testRows.filter((r) => apps.has(prep.y[r]!));
    const bgRows = testRows.filter((r) => !apps.has(prep.y[r]!));
    process.stdout.write(`\n## Android app captures: trained on Android 7.1 (${trainRows.length} flows), tested on 8.1 (${testRows.length} flows)\n\n` +
      `apps (file names): ${[...apps].map((i) => prep.classes[i]).join(', ')}; ${counts.background} of ${counts.app + counts.background} flows are background ` +
      `(their names show another catalogued service: labelled as that service); ${prep.specs.length} features\n\n`);
    process.stderr.write('mobile:\n');
    const preds = await compare(prep, split, o);
    // Veil as shipped: the final model on the 7.1 rows with its support guard and threshold ("unknown" allowed).
    const masked = { ...prep, y: Int32Array.from(prep.y, (y, i) => (android[i] === '7.1' ? y : -1)) };
    const model = await trainModel(masked, { label: 'truth', model: 'forest', seed: 0, threads: o.threads, roles: {}, guard: {} });
    const cols = prep.columns;
    const p = predictColumns(model, cols);
    const idx = new Map(prep.classes.map((c, i) => [c, i]));
    const shipped = Int32Array.from(p.label, (l) => (l < 0 ? -1 : idx.get(model.manifest.classes[l]!) ?? -1));
    preds.set('veil-forest + unknown rule', shipped);
    const lines = ['| model | app flows right | app macro-F1 | apps recognisable (F1 >= 0.5) | background flows: as themselves / unknown / named as an app / other |', '|---|---|---|---|---|'];
    for (const [m, pr] of preds) {
      const s = score(prep.y, pr, prep.classes, appRows, apps);
      let self = 0, unk = 0, asApp = 0, other = 0;
      for (const r of bgRows) { const x = pr[r]!; if (x === prep.y[r]) self++; else if (x < 0) unk++; else if (apps.has(x)) asApp++; else other++; }
      const pc = (x: number) => `${(100 * x / Math.max(1, bgRows.length)).toFixed(1)} %`;
      lines.push(`| ${m} | ${(s.accuracy * 100).toFixed(1)} % | ${s.macroF1.toFixed(3)} | ${s.recognisable} of ${s.classes} | ${pc(self)} / ${pc(unk)} / ${pc(asApp)} / ${pc(other)} |`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values: v } = parseArgs({
    options: {
      parts: { type: 'string', default: 'real,cesnet,mobile' },
      data: { type: 'string', default: SHARED_DATA },
      threads: { type: 'string', default: '1' },
      folds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '100' },
      models: { type: 'string', default: 'veil-forest,veil-boosting,sklearn-rf,xgboost' },
      table: { type: 'string' },
    },
  });
  if (!existsSync(v.data!)) {
    process.stdout.write(`names-hidden: ${v.data} is absent (the shared data folder): nothing to measure\n`);
    process.exit(0);
  }
  const o: Opts = { threads: Number(v.threads), rounds: Number(v.rounds), models: v.models!.split(',') };
  const parts = v.parts!.split(',');
  process.stdout.write('# Names hidden: recognised by behaviour alone\n');
  try {
    if (parts.includes('real')) await partReal({ data: v.data!, folds: Number(v.folds), ...(v.table ? { table: v.table } : {}) }, o);
    if (parts.includes('cesnet')) await partCesnet({ data: v.data!, folds: Number(v.folds) }, o);
    if (parts.includes('mobile')) await partMobile({ data: v.data! }, o);
  } finally {
    await closeWorkers();
  }
}
