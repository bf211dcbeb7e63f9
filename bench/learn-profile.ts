/**
 * Quick timing of one boosting (or forest) fit and its one-thread prediction on one ISCX set or the synthetic set,
 * for profiling (node --cpu-prof) and before/after comparisons of the learning core:
 *
 *   node --import tsx bench/learn-profile.ts [--set a1|a2|b|synth] [--model boosting|forest] [--rounds 300] [--reps 1]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable, assignRoles, planFeatures, encodeFeatures, encodeLabels, requireColumn, stratifiedKFold, blockedKFold } from '../src/dataset/index.ts';
import { fitEnsemble, predictProba, forestParams, boostingParams, macroF1, closeWorkers, type LearnerSpec } from '../src/model/index.ts';
import { makeSynthetic } from './learn-synthetic.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ISCX = path.resolve(HERE, '../../shared/data/iscx-vpn2016');
const FILES: Record<string, string> = {
  a1: 'Scenario A1-ARFF/TimeBasedFeatures-Dataset-15s-VPN.arff',
  a2: 'Scenario A2-ARFF/TimeBasedFeatures-Dataset-15s-NO-VPN.arff',
  b: 'Scenario B-ARFF/TimeBasedFeatures-Dataset-15s.arff',
};

const { values: v } = parseArgs({ options: {
  set: { type: 'string', default: 'a1' }, model: { type: 'string', default: 'boosting' },
  rounds: { type: 'string', default: '300' }, reps: { type: 'string', default: '1' },
  'synthetic-rows': { type: 'string', default: '200000' }, 'synthetic-classes': { type: 'string', default: '120' },
  'early-stopping': { type: 'string', default: 'auto' }, share: { type: 'string' }, mcw: { type: 'string' },
  lr: { type: 'string' }, threshold: { type: 'string' }, 'min-leaf': { type: 'string' }, folds: { type: 'string', default: '1' }, split: { type: 'string', default: 'kfold' },
} });
let columns: Float64Array[], y: Int32Array, K: number;
if (v.set === 'synth') {
  const s = makeSynthetic({ rows: Number(v['synthetic-rows']), classes: Number(v['synthetic-classes']) });
  ({ columns, y } = s); K = s.classes.length;
} else {
  const { table } = await loadTable(path.join(ISCX, FILES[v.set!]!));
  const roles = assignRoles(table, { label: 'class1' });
  columns = encodeFeatures(table, planFeatures(table, roles.features));
  const l = encodeLabels(requireColumn(table, 'class1'));
  y = l.y; K = l.classes.length;
}
const split = v.split === 'blocked' ? blockedKFold(y, 5) : stratifiedKFold(y, 5, 0);
const spec: LearnerSpec = v.model === 'forest'
  ? { type: 'forest', params: forestParams({ trees: 100, seed: 0 }) }
  : { type: 'boosting', params: boostingParams({ seed: 0, maxIter: Number(v.rounds), earlyStopping: v['early-stopping'] as 'auto',
      ...(v.share ? { lowGradientShare: Number(v.share) } : {}), ...(v.mcw ? { minChildWeight: Number(v.mcw) } : {}),
      ...(v.lr ? { learningRate: Number(v.lr) } : {}), ...(v.threshold ? { lowGradientThreshold: Number(v.threshold) } : {}),
      ...(v['min-leaf'] ? { minSamplesLeaf: Number(v['min-leaf']) } : {}) }) };
const f1s: number[] = [];
for (let rep = 0; rep < Number(v.reps); rep++) for (let k = 0; k < Number(v.folds); k++) {
  const fold = split.folds[k]!;
  const t0 = performance.now();
  const cf = process.cpuUsage();
  const f = await fitEnsemble(columns, y, K, spec, { threads: 1 }, fold.train);
  const t1 = performance.now();
  const cfu = process.cpuUsage(cf);
  let best = Infinity;
  let p: Float64Array = new Float64Array(0);
  for (let i = 0; i < Number(process.env.PREDICT_REPS ?? 10); i++) {
    const c0 = process.cpuUsage();
    p = predictProba(f.ensemble, f.output, columns, fold.test);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  const yt = Int32Array.from(fold.test, (r) => y[r]!);
  const yp = new Int32Array(yt.length);
  for (let i = 0; i < yp.length; i++) { let b = 0; for (let c = 1; c < K; c++) if (p[i * K + c]! > p[i * K + b]!) b = c; yp[i] = b; }
  f1s.push(macroF1(yt, yp, K));
  process.stdout.write(`${v.set} ${v.model} fold ${k}: fit ${((t1 - t0) / 1000).toFixed(2)} s (CPU ${((cfu.user + cfu.system) / 1e6).toFixed(2)} s), rounds ${f.rounds ?? '-'}, predict ${Math.round(yt.length / best)} rows/s, macro-F1 ${macroF1(yt, yp, K).toFixed(4)}\n`);
}
if (f1s.length > 1) process.stdout.write(`mean macro-F1 ${(f1s.reduce((a, b) => a + b, 0) / f1s.length).toFixed(4)}\n`);
await closeWorkers();
