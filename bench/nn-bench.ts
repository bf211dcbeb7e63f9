/**
 * Neural network benchmark: Veil's MLP, 1D-CNN, LSTM and CNN-LSTM (tfjs, wasm backend) against the same
 * architectures in PyTorch (Debian python3-torch, CPU, bench/nn-torch.py), on the same folds and the same input
 * grids, with the same training protocol (Glorot init, class-weighted cross-entropy, Adam, fixed epochs, no early
 * stopping so both sides run every epoch).
 *
 *   node --import tsx bench/nn-bench.ts [--sets a1,cesnet,ndpi] [--archs mlp,cnn,lstm,cnn-lstm] [--folds 5]
 *        [--max-folds N] [--epochs N] [--repeats N] [--batch-size 64] [--learning-rate 0.001] [--no-torch] [--paired]
 *        [--json FILE]
 *
 * Epochs default to 20 on a1 (the seed's setting), 100 on cesnet (150 flows: 2 batches an epoch) and 30 on ndpi;
 * repeats (seeds 0..N-1, both sides) to 1, 3 on cesnet, whose 30-flow test folds make one flow 3.3 points.
 *
 * Sets:
 *   a1      ISCX VPN-nonVPN A1 15 s (VPN vs non-VPN): the seed's setting, the first 8 time features (columns in the
 *           corrected order), each flow's feature vector as an 8-step, 1-channel sequence for the CNN/LSTM;
 *           stratified shuffled 5-fold, seed 0 (the learning-core benchmark's folds, bench/learn-bench.ts).
 *   cesnet  the CESNET-QUIC22 sample: 150 QUIC flows of 10 apps, 30-packet size / direction / gap sequences;
 *           stratified shuffled 5-fold, seed 0.
 *   ndpi    flows of ../shared/data/ndpi extracted by `veil extract --features sequence` (20 packets), labelled with
 *           the application of nDPI's verdict as bench/ndpi-apps.ts does; applications with >= 10 flows in >= 2
 *           captures; stratified shuffled 5-fold, seed 0.
 *   ndpi-group  the same flows, group 5-fold by capture (no capture in train and test; as ndpi-apps.ts). Few
 *           applications have enough captures, and one capture of 621 Service_Location_Protocol flows fills a fold
 *           alone, so scores are low and swing from 0 to 100 % on that fold: a generalisation check, not a
 *           framework comparison.
 *
 * Prints per set and architecture: accuracy and macro-F1 (mean over seeds of the mean over folds, +- the standard
 * deviation over seeds), Veil minus PyTorch accuracy per seed on the same folds (mean +- sd), seconds per epoch (CPU
 * and wall of the training process), Veil's epoch CPU ratio, and whether the targets (|diff| <= 1 point, ratio <=
 * 3) are met. Also each set's majority-class share (what a model that learned nothing scores).
 *
 * Like with like: both sides run one compute thread (tfjs-wasm has no threads under Node: its
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false there; PyTorch gets torch.set_num_threads(1)); CPU seconds count every
 * thread of the process on both sides (V8's garbage collector and compiler threads, PyTorch's helpers); epochs time
 * the training loop only (batching, forward, backward, Adam). Same protocol on both sides: layer sizes from
 * nnParams, Glorot-uniform weights (fan-in and fan-out as PyTorch counts them for Linear, Conv1d and LSTM), zero
 * biases, LSTM forget-gate bias 1 with one bias vector, balanced class weights from the training rows, weighted-mean
 * cross-entropy, Adam (0.9, 0.999, eps 1e-8), no validation share and no early stopping, the last (partial) batch
 * kept.
 *
 * Seeds: `--repeats 3` trains each architecture with seeds 0, 1, 2 on both sides (same folds); a mean difference
 * within 1 point is judged on the per-seed differences, whose spread shows the seed noise.
 * `--paired` starts PyTorch from Veil's initial weights and feeds it Veil's batch orders (per fold and seed), so
 * the two differ only in arithmetic: on the small sets (150 CESNET flows, 30-flow test folds) seed noise is
 * several points, and only a paired run can show whether the implementations agree within one.
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, rm, readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadTable, encodeLabels, requireColumn, stratifiedKFold, groupKFold, groupCodes, columnStrings, getColumn,
  ISCX_TRUE_ORDER, stringColumn, type Split,
} from '../src/dataset/index.ts';
import { macroF1 } from '../src/model/index.ts';
import {
  fitNetwork, networkProba, nnParams, planInput, fitScaling, inputGrid, NN_ARCHITECTURES, initialWeights, networkSpec,
  shuffleForEpoch, type NnArchitecture, type NnParams, type NnInputKind,
} from '../src/model/nn/index.ts';
import { parseNdpiOut } from './ndpi-compare.ts';
import { runPythonLines } from './python-lines.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.resolve(HERE, '../../shared/data');

interface BenchSet {
  key: string;
  title: string;
  names: string[];
  columns: Float64Array[];
  y: Int32Array;
  classes: string[];
  input: NnInputKind;
  split: Split;
}

interface FoldResult {
  model: string;
  fold: number;
  repeat: number;
  rows: number;
  accuracy: number;
  macro_f1: number;
  epoch_s: number;
  epoch_cpu_s: number;
  fit_s: number;
}

// --- data sets -----------------------------------------------------------------------------------------------

export async function loadA1(folds: number): Promise<BenchSet | null> {
  const file = path.join(DATA, 'iscx-vpn2016', 'Scenario A1-ARFF', 'TimeBasedFeatures-Dataset-15s-VPN.arff');
  if (!existsSync(file)) { process.stderr.write(`skipping a1: ${file} not found\n`); return null; }
  // loadTable renames the 15 s file's columns to their true order (the ISCX header trap).
  const { table, order } = await loadTable(file);
  const names = ISCX_TRUE_ORDER.slice(0, 8);
  const columns = names.map((n) => Float64Array.from((requireColumn(table, n, 'feature') as { values: Float64Array }).values));
  const { classes, y } = encodeLabels(requireColumn(table, 'class1'));
  return {
    key: 'a1', title: `ISCX A1 15 s, VPN vs non-VPN, first 8 columns (${names.join(', ')})${order.status === 'fixed' ? ', columns in the corrected order' : ''}`,
    names, columns, y, classes, input: 'features', split: stratifiedKFold(y, folds, 0),
  };
}

function sequenceColumnsFrom(n: number, N: number, get: (i: number, t: number) => [number, number, number] | null): { names: string[]; columns: Float64Array[] } {
  const len = Array.from({ length: N }, () => new Float64Array(n));
  const dir = Array.from({ length: N }, () => new Float64Array(n));
  const gap = Array.from({ length: N }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < N; t++) {
      const v = get(i, t);
      if (!v) continue;
      len[t]![i] = v[0]; dir[t]![i] = v[1]; gap[t]![i] = v[2];
    }
  }
  const names = [
    ...len.map((_, t) => `seq_len_${t + 1}`), ...dir.map((_, t) => `seq_dir_${t + 1}`), ...gap.map((_, t) => `seq_gap_${t + 1}_us`),
  ];
  return { names, columns: [...len, ...dir, ...gap] };
}

export async function loadCesnet(folds: number): Promise<BenchSet | null> {
  const file = path.join(DATA, 'cesnet-quic22-sample', 'demo_traces.json');
  if (!existsSync(file)) { process.stderr.write(`skipping cesnet: ${file} not found\n`); return null; }
  const flows = JSON.parse(await readFile(file, 'utf8')) as { ground_truth: string; sequences: number[][] }[];
  // sequences = [log1p(inter-packet time in ms), direction +-1, payload size] x 30 (zeros past the end).
  const { names, columns } = sequenceColumnsFrom(flows.length, 30, (i, t) => {
    const [ipt, dir, size] = flows[i]!.sequences as [number[], number[], number[]];
    if (!dir[t] && !size[t]) return null;
    return [size[t]!, dir[t]!, Math.expm1(ipt[t]!) * 1000];
  });
  const { classes, y } = encodeLabels(stringColumn('app', flows.map((f) => f.ground_truth)));
  return {
    key: 'cesnet', title: `CESNET-QUIC22 sample, ${flows.length} QUIC flows of ${classes.length} apps, 30-packet sequences`,
    names, columns, y, classes, input: 'sequence', split: stratifiedKFold(y, folds, 0),
  };
}

/** Names services whose application part names what was looked up (as bench/ndpi-apps.ts NAME_SERVICES). */
const NAME_SERVICES = new Set(['DNS', 'MDNS', 'LLMNR', 'NetBIOS']);

/**
 * The application of an nDPI verdict line: bench/ndpi-apps.ts's `appOf` (the application part of
 * `[proto: M.A/Master.App]`; name lookups keep their protocol). Repeated here because ndpi-apps.ts runs its whole
 * evaluation when imported.
 */
function appOf(line: string): string {
  const m = /\[proto: [^/\]]*\/([^\]]+)\]/.exec(line);
  if (!m) return '';
  const parts = m[1]!.split('.');
  return NAME_SERVICES.has(parts[0]!) ? parts[0]! : parts[parts.length - 1]!;
}

function flowKey(proto: number, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`, z = `${b}|${bp}`;
  return `${proto}/${x < z ? x + '/' + z : z + '/' + x}`;
}

export async function loadNdpi(folds: number, minFlows: number, minCaptures: number, work: string, grouped: boolean): Promise<BenchSet | null> {
  const dir = path.join(DATA, 'ndpi');
  if (!existsSync(dir)) { process.stderr.write(`skipping ndpi: ${dir} not found\n`); return null; }
  const pcaps = (await readdir(path.join(dir, 'pcap'))).filter((f) => existsSync(path.join(dir, 'result', `${f}.out`))).sort();
  const csv = path.join(work, 'ndpi-flows.csv');
  process.stderr.write(`ndpi: extracting ${pcaps.length} captures with veil extract --features sequence\n`);
  const r = spawnSync(process.execPath, [path.join(HERE, '../bin/veil.js'), 'extract', ...pcaps.map((f) => path.join(dir, 'pcap', f)), '--features', 'sequence', '-o', csv, '-q'], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0 && !existsSync(csv)) throw new Error(`veil extract failed: ${r.stderr}`);
  // Verdicts per capture, paired with nDPI's flow lines by order and endpoints (as bench/ndpi-apps.ts does).
  const verdict = new Map<string, Map<string, string>>();
  for (const f of pcaps) {
    const text = await readFile(path.join(dir, 'result', `${f}.out`), 'utf8');
    const flows = parseNdpiOut(text);
    const lines = text.split('\n').filter((l) => /^\t\d+\t/.test(l));
    const m = new Map<string, string>();
    let k = 0;
    for (const line of lines) {
      const n = flows[k];
      if (n && line.includes(`${n.a.includes(':') ? `[${n.a}]` : n.a}:${n.ap}`)) { m.set(flowKey(n.proto, n.a, n.ap, n.b, n.bp), appOf(line)); k++; }
    }
    verdict.set(f, m);
  }
  const { table } = await loadTable(csv, { textColumns: ['id_capture', 'id_src_addr', 'id_dst_addr', 'id_end_reason'] });
  const capture = columnStrings(requireColumn(table, 'id_capture'));
  const num = (n: string): Float64Array => (requireColumn(table, n) as { values: Float64Array }).values;
  const src = columnStrings(requireColumn(table, 'id_src_addr')), dst = columnStrings(requireColumn(table, 'id_dst_addr'));
  const proto = num('id_protocol'), sport = num('id_src_port'), dport = num('id_dst_port');
  const app: (string | null)[] = [];
  for (let i = 0; i < table.rows; i++) {
    const icmp = proto[i] === 1 || proto[i] === 58;
    const a = verdict.get(String(capture[i]))?.get(flowKey(proto[i]!, String(src[i]), icmp ? 0 : sport[i]!, String(dst[i]), icmp ? 0 : dport[i]!));
    app.push(a && a !== 'Unknown' ? a : null);
  }
  const per = new Map<string, { flows: number; captures: Set<string> }>();
  app.forEach((a, i) => {
    if (!a) return;
    const s = per.get(a) ?? { flows: 0, captures: new Set<string>() };
    s.flows++; s.captures.add(String(capture[i]));
    per.set(a, s);
  });
  const kept = new Set([...per].filter(([, s]) => s.flows >= minFlows && s.captures.size >= minCaptures).map(([a]) => a));
  const rows = app.map((a, i) => (a && kept.has(a) ? i : -1)).filter((i) => i >= 0);
  const names = table.columns.map((c) => c.name).filter((n) => /^seq_/.test(n));
  const columns = names.map((n) => Float64Array.from(rows, (r) => num(n)[r]!));
  const labels = rows.map((r) => app[r]!);
  const { classes, y } = encodeLabels(stringColumn('app', labels));
  const groups = groupCodes(rows.map((r) => String(capture[r])));
  if (!getColumn(table, 'seq_len_1')) throw new Error('veil extract wrote no sequence columns');
  return {
    key: grouped ? 'ndpi-group' : 'ndpi', title: `nDPI test captures: ${rows.length} flows of ${classes.length} applications (>= ${minFlows} flows in >= ${minCaptures} captures), 20-packet sequences, labels from nDPI's verdicts`,
    names, columns, y, classes, input: 'sequence',
    split: grouped ? groupKFold(groups, y, folds, 0, 'id_capture') : stratifiedKFold(y, folds, 0),
  };
}

// --- runs ----------------------------------------------------------------------------------------------------

function argmax(p: Float64Array, K: number, i: number): number {
  let b = 0;
  for (let c = 1; c < K; c++) if (p[i * K + c]! > p[i * K + b]!) b = c;
  return b;
}

async function runVeil(ds: BenchSet, arch: NnArchitecture, p: NnParams, folds: number, repeat: number): Promise<FoldResult[]> {
  const out: FoldResult[] = [];
  const K = ds.classes.length;
  for (let k = 0; k < folds; k++) {
    const fold = ds.split.folds[k]!;
    const t0 = performance.now();
    const fit = await fitNetwork(ds.columns, ds.y, K, ds.names, { ...p, seed: foldSeed(p, k) }, {}, fold.train);
    const fitS = (performance.now() - t0) / 1000;
    const proba = networkProba(fit.network, ds.columns, fold.test);
    const yt = Int32Array.from(fold.test, (r) => ds.y[r]!);
    const yp = Int32Array.from(fold.test, (_, i) => argmax(proba, K, i));
    let ok = 0;
    for (let i = 0; i < yt.length; i++) if (yt[i] === yp[i]) ok++;
    out.push({
      model: arch, fold: k, repeat, rows: yt.length, accuracy: ok / yt.length, macro_f1: macroF1(yt, yp, K),
      epoch_s: fit.epochSeconds, epoch_cpu_s: fit.epochCpuSeconds, fit_s: fitS,
    });
    process.stderr.write(`  veil ${arch} seed ${repeat} fold ${k + 1}/${folds}: accuracy ${(100 * out.at(-1)!.accuracy).toFixed(1)} %, ${fit.epochCpuSeconds.toFixed(3)} CPU s/epoch (${fit.backend})\n`);
  }
  return out;
}

/** Veil's seed for fold `k`: each fold its own initialisation and batch order, as on the PyTorch side (seed + fold). */
function foldSeed(p: NnParams, k: number): number {
  return p.seed * 1000 + k;
}

/**
 * `--paired`: what Veil starts each fold from, for the PyTorch side to start from the same: the initial weights
 * (Veil's layouts; nn-torch.py maps them) and every epoch's batch order over the fold's training rows. Both sides
 * then differ only in arithmetic, and the accuracy difference is no longer swamped by seed noise on small sets.
 */
async function writePairedStart(dir: string, ds: BenchSet, arch: NnArchitecture, p: NnParams, k: number): Promise<void> {
  const fold = ds.split.folds[k]!;
  for (let i = 1; i < fold.train.length; i++) if (fold.train[i]! <= fold.train[i - 1]!) throw new Error('paired: training rows must be ascending (PyTorch takes them in row order)');
  const seed = foldSeed(p, k);
  const spec = networkSpec(p, ds.names, ds.classes.length);
  const weights = initialWeights(spec, seed).map((w) => Array.from(w));
  const n = fold.train.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const orders = new Int32Array(p.epochs * n);
  for (let e = 0; e < p.epochs; e++) {
    shuffleForEpoch(order, seed, e);
    orders.set(order, e * n);
  }
  await writeFile(path.join(dir, `paired-${arch}-${k}.json`), JSON.stringify({ layers: spec.layers, weights }));
  await writeFile(path.join(dir, `paired-${arch}-${k}.order.i32`), new Uint8Array(orders.buffer));
}

async function runTorch(ds: BenchSet, archs: NnArchitecture[], params: Record<string, NnParams>, folds: number, repeat: number, paired = false): Promise<FoldResult[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-nn-bench-'));
  try {
    const n = ds.y.length;
    const plan = planInput(ds.names, ds.input, params[archs[0]!]!.scaling);
    const width = plan.steps * plan.channels;
    // Each fold's grid, standardised on that fold's training rows: exactly what Veil trained and tested on.
    const X = new Float32Array(folds * n * width);
    const testFold = new Int32Array(n).fill(-1);
    for (let k = 0; k < folds; k++) {
      const fold = ds.split.folds[k]!;
      const { mean, scale } = fitScaling(plan, ds.columns, fold.train);
      X.set(inputGrid(plan, mean, scale, ds.columns), k * n * width);
      for (const r of fold.test) testFold[r] = k;
    }
    await writeFile(path.join(dir, 'X.f32'), new Uint8Array(X.buffer));
    await writeFile(path.join(dir, 'y.i32'), new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
    await writeFile(path.join(dir, 'folds.i32'), new Uint8Array(testFold.buffer));
    if (paired) for (const a of archs) for (let k = 0; k < folds; k++) await writePairedStart(dir, ds, a, params[a]!, k);
    await writeFile(path.join(dir, 'meta.json'), JSON.stringify({
      rows: n, steps: plan.steps, channels: plan.channels, classes: ds.classes.length, folds, archs, seed: repeat, threads: 1, paired,
      params: Object.fromEntries(archs.map((a) => {
        const p = params[a]!;
        return [a, { epochs: p.epochs, batch_size: p.batchSize, lr: p.learningRate, hidden: p.hidden, filters: p.filters, kernel: p.kernelSize, units: p.units, class_weight: p.classWeight }];
      })),
    }));
    const results: FoldResult[] = [];
    await runPythonLines<FoldResult>(path.join(HERE, 'nn-torch.py'), dir, (r) => {
      r.model = `torch-${r.model}`;
      r.repeat = repeat;
      results.push(r);
      process.stderr.write(`  ${r.model} seed ${repeat} fold ${r.fold + 1}/${folds}: accuracy ${(100 * r.accuracy).toFixed(1)} %, ${r.epoch_cpu_s.toFixed(3)} CPU s/epoch\n`);
    });
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Row { model: string; accuracy: number; macroF1: number; epochS: number; epochCpuS: number }

function summarise(rs: FoldResult[]): Row {
  const mean = (f: (r: FoldResult) => number): number => rs.reduce((s, r) => s + f(r), 0) / rs.length;
  return { model: rs[0]!.model, accuracy: mean((r) => r.accuracy), macroF1: mean((r) => r.macro_f1), epochS: mean((r) => r.epoch_s), epochCpuS: mean((r) => r.epoch_cpu_s) };
}

/** Share of the test rows a majority-class guess (the training folds' majority) gets right, mean over folds. */
function majorityShare(ds: BenchSet, folds: number): { overall: number; cv: number } {
  const K = ds.classes.length;
  const all = new Float64Array(K);
  for (const t of ds.y) if (t >= 0) all[t]!++;
  let cv = 0;
  for (let k = 0; k < folds; k++) {
    const f = ds.split.folds[k]!;
    const c = new Float64Array(K);
    for (const r of f.train) c[ds.y[r]!]!++;
    const maj = c.indexOf(Math.max(...c));
    cv += f.test.reduce((s, r) => s + (ds.y[r] === maj ? 1 : 0), 0) / f.test.length;
  }
  return { overall: Math.max(...all) / ds.y.length, cv: cv / folds };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      sets: { type: 'string', default: 'a1,cesnet,ndpi' },
      archs: { type: 'string', default: NN_ARCHITECTURES.join(',') },
      folds: { type: 'string', default: '5' },
      'max-folds': { type: 'string' },
      epochs: { type: 'string' },
      repeats: { type: 'string' },
      'batch-size': { type: 'string', default: '64' },
      'learning-rate': { type: 'string', default: '0.001' },
      'ndpi-min-flows': { type: 'string', default: '10' },
      'ndpi-min-captures': { type: 'string', default: '2' },
      'no-torch': { type: 'boolean' },
      paired: { type: 'boolean' },
      json: { type: 'string' },
    },
  });
  const folds = Number(v.folds);
  const run = Math.min(folds, Number(v['max-folds'] ?? folds));
  const archs = v.archs!.split(',') as NnArchitecture[];
  for (const a of archs) if (!(NN_ARCHITECTURES as readonly string[]).includes(a)) throw new Error(`unknown architecture '${a}'`);
  const base: Partial<NnParams> = { batchSize: Number(v['batch-size']), learningRate: Number(v['learning-rate']), validationShare: 0 };
  const DEFAULTS: Record<string, { epochs: number; repeats: number }> = {
    a1: { epochs: 20, repeats: 1 }, cesnet: { epochs: 100, repeats: 3 }, ndpi: { epochs: 30, repeats: 1 }, 'ndpi-group': { epochs: 30, repeats: 1 },
  };
  const work = await mkdtemp(path.join(tmpdir(), 'veil-nn-bench-data-'));
  const all: unknown[] = [];
  process.stdout.write(`# Veil neural network benchmark\n\n${new Date().toISOString()}; batch ${base.batchSize}, Adam ${base.learningRate}, fixed epochs (no early stopping); ` +
    `${run} of ${folds} folds; Veil: tfjs-wasm (one thread), PyTorch ${torchVersion()} (torch.set_num_threads(1)); CPU seconds of the training process\n`);
  try {
    for (const key of v.sets!.split(',')) {
      const ds = key === 'a1' ? await loadA1(folds) : key === 'cesnet' ? await loadCesnet(folds)
        : key === 'ndpi' || key === 'ndpi-group' ? await loadNdpi(folds, Number(v['ndpi-min-flows']), Number(v['ndpi-min-captures']), work, key === 'ndpi-group') : null;
      if (!ds) { if (!['a1', 'cesnet', 'ndpi', 'ndpi-group'].includes(key)) throw new Error(`unknown set '${key}'`); continue; }
      process.stderr.write(`${key}: ${ds.title}\n`);
      const epochs = Number(v.epochs ?? DEFAULTS[key]!.epochs);
      const repeats = Number(v.repeats ?? DEFAULTS[key]!.repeats);
      const results: FoldResult[] = [];
      for (let r = 0; r < repeats; r++) {
        const params = Object.fromEntries(archs.map((a) => [a, nnParams(a, { ...base, epochs, seed: r, input: ds.input })]));
        for (const a of archs) results.push(...(await runVeil(ds, a, params[a]!, run, r)));
        if (!v['no-torch']) results.push(...(await runTorch(ds, archs, params, run, r, Boolean(v.paired))));
      }
      const maj = majorityShare(ds, run);
      const plan = planInput(ds.names, ds.input, 'log-standard');
      process.stdout.write(`\n## ${key}: ${ds.title}\n${epochs} epochs, ${repeats} seed(s) x ${run} fold(s); ${ds.y.length} rows, ${ds.classes.length} classes; input ${ds.input} (${plan.steps} steps x ${plan.channels} channel${plan.channels > 1 ? 's' : ''}: ${plan.channelNames.join(', ')}); split: ${ds.split.info.description}\n`);
      process.stdout.write(`majority class share: ${(100 * maj.overall).toFixed(1)} % of all rows; a majority guess scores ${(100 * maj.cv).toFixed(1)} % on the test folds\n\n`);
      process.stdout.write('| architecture | Veil acc | PyTorch acc | diff (points) | Veil macro-F1 | PyTorch macro-F1 | Veil s/epoch CPU (wall) | PyTorch s/epoch CPU (wall) | epoch ratio (CPU) | targets |\n|---|---|---|---|---|---|---|---|---|---|\n');
      /** Mean over seeds of the per-seed mean over folds, and the standard deviation of those per-seed means. */
      const perSeed = (rs: FoldResult[], get: (r: FoldResult) => number): number[] => Array.from({ length: repeats }, (_, r) => {
        const xs = rs.filter((q) => q.repeat === r).map(get);
        return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      });
      const ms = (xs: number[], scale = 100): string => {
        const m = xs.reduce((a, b) => a + b, 0) / xs.length;
        if (xs.length < 2) return (scale * m).toFixed(1);
        const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
        return `${(scale * m).toFixed(1)} +- ${(scale * sd).toFixed(1)}`;
      };
      for (const a of archs) {
        const vRs = results.filter((r) => r.model === a);
        const tRs = results.filter((r) => r.model === `torch-${a}`);
        const vr = summarise(vRs);
        const tr = tRs.length ? summarise(tRs) : null;
        // Differences per seed (each the mean over the same folds): what a mean difference within 1 point is judged on.
        const vs = perSeed(vRs, (r) => r.accuracy), ts = tRs.length ? perSeed(tRs, (r) => r.accuracy) : [];
        const d = ts.length ? vs.map((x, i) => x - ts[i]!) : [];
        const dm = d.length ? (100 * d.reduce((a, b) => a + b, 0)) / d.length : NaN;
        const ratio = tr ? vr.epochCpuS / tr.epochCpuS : NaN;
        const targets = tr ? `acc ${Math.abs(dm) <= 1 ? 'met' : 'NOT met'}, speed ${ratio <= 3 ? 'met' : 'NOT met'}` : '-';
        process.stdout.write(`| ${a} | ${ms(vs)} | ${tr ? ms(ts) : '-'} | ${tr ? ms(d) : '-'} | ${ms(perSeed(vRs, (r) => r.macro_f1))} | ${tr ? ms(perSeed(tRs, (r) => r.macro_f1)) : '-'} | ` +
          `${vr.epochCpuS.toFixed(3)} (${vr.epochS.toFixed(3)}) | ${tr ? `${tr.epochCpuS.toFixed(3)} (${tr.epochS.toFixed(3)})` : '-'} | ${tr ? `${ratio.toFixed(2)}x` : '-'} | ${targets} |\n`);
      }
      process.stdout.write(`\naccuracy and macro-F1: mean over ${repeats} seed(s) of the mean over folds${repeats > 1 ? ', +- the standard deviation over seeds' : ''}; diff: Veil minus PyTorch per seed (same folds), mean${repeats > 1 ? ' +- sd' : ''}; targets: |diff| <= 1 point, CPU epoch ratio <= 3\n`);
      all.push({ set: key, title: ds.title, rows: ds.y.length, classes: ds.classes, split: ds.split.info, majority: maj, results });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (v.json) await writeFile(v.json, JSON.stringify(all, null, 2) + '\n');
}

function torchVersion(): string {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '(not available)';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
