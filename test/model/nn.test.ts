import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs';
import { encodeLabels, requireColumn } from '../../src/dataset/index.ts';
import {
  NN_ARCHITECTURES, buildLayers, fitNetwork, initialWeights, loadTf, networkProba, nnParams, parameterShapes, planInput,
  fitScaling, inputGrid, type NetworkSpec, type NeuralNetwork,
} from '../../src/model/nn/index.ts';
import { conv1d, dense, logits, lstm, maxOverTime, weightedCrossEntropy } from '../../src/model/nn/ops.ts';
import { trainStep } from '../../src/model/nn/step.ts';
import { columnsOf, sequenceTable } from './nn-helpers.ts';

type T = TF.Tensor;

const table = sequenceTable(60, 3, 8, 5);
const seqNames = table.columns.map((c) => c.name).filter((n) => n.startsWith('seq_'));
const seqCols = columnsOf(table, seqNames);
const { y, classes } = encodeLabels(requireColumn(table, 'app'));

test('hand-written gradients equal tfjs automatic gradients (conv1d, LSTM, max over time, dense, loss)', async () => {
  const { tf } = await loadTf();
  const B = 5, Ts = 7, C = 3, H = 4, F = 6, K = 3;
  const r = (shape: number[], seed: number): T => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const x = r([B, Ts, C], 1), Wc = r([3 * C, F], 2), bc = r([F], 3), Wx = r([F, 4 * H], 4), Wh = r([H, 4 * H], 5), bl = r([4 * H], 6);
  const Wd = r([H, K], 7), bd = r([K], 8), Wp = r([F, K], 9);
  const target = tf.tensor2d([[1, 0, 0], [0, 2, 0], [0, 0, 1], [0.5, 0, 0], [0, 0, 3]]);
  // Reference versions from plain tfjs ops (automatic gradients).
  const refConv = (xx: T, w: T, b: T): T => {
    const xp = tf.pad(xx, [[0, 0], [1, 1], [0, 0]]);
    const cols = tf.concat([0, 1, 2].map((k) => tf.slice(xp, [0, k, 0], [B, Ts, C])), 2);
    return tf.reshape(tf.relu(tf.add(tf.matMul(tf.reshape(cols, [B * Ts, 3 * C]), w as TF.Tensor2D), b)), [B, Ts, F]);
  };
  const refLstm = (xx: T, wx: T, wh: T, b: T): T => {
    let h: T = tf.zeros([B, H]), c: T = tf.zeros([B, H]);
    for (let t = 0; t < Ts; t++) {
      const xt = tf.reshape(tf.slice(xx, [0, t, 0], [B, 1, F]), [B, F]);
      const z = tf.add(tf.add(tf.matMul(xt as TF.Tensor2D, wx as TF.Tensor2D), tf.matMul(h as TF.Tensor2D, wh as TF.Tensor2D)), b);
      const gate = (k: number): T => tf.slice(z, [0, k * H], [B, H]);
      c = tf.add(tf.mul(tf.sigmoid(gate(1)), c), tf.mul(tf.sigmoid(gate(0)), tf.tanh(gate(3))));
      h = tf.mul(tf.sigmoid(gate(2)), tf.tanh(c));
    }
    return h;
  };
  const refLoss = (lg: T): T => tf.div(tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(lg)))), 7.5);
  const cases: [string, (...a: T[]) => T, (...a: T[]) => T, T[]][] = [
    [
      'conv1d > LSTM > dense',
      (xx, wc, b1, wx, wh, b, wd, b2) => weightedCrossEntropy(tf, dense(tf, lstm(tf, conv1d(tf, xx as TF.Tensor3D, wc as TF.Tensor2D, b1 as TF.Tensor1D, 3, true), wx as TF.Tensor2D, wh as TF.Tensor2D, b as TF.Tensor1D, true), wd as TF.Tensor2D, b2 as TF.Tensor1D, false, true), target, 7.5),
      (xx, wc, b1, wx, wh, b, wd, b2) => refLoss(tf.add(tf.matMul(refLstm(refConv(xx, wc, b1), wx, wh, b) as TF.Tensor2D, wd as TF.Tensor2D), b2)),
      [x, Wc, bc, Wx, Wh, bl, Wd, bd],
    ],
    [
      'conv1d > max over time > dense relu',
      (xx, wc, b1, wp, b2) => weightedCrossEntropy(tf, dense(tf, maxOverTime(tf, conv1d(tf, xx as TF.Tensor3D, wc as TF.Tensor2D, b1 as TF.Tensor1D, 3, true)), wp as TF.Tensor2D, b2 as TF.Tensor1D, true, true), target, 7.5),
      (xx, wc, b1, wp, b2) => refLoss(tf.relu(tf.add(tf.matMul(tf.max(refConv(xx, wc, b1), 1) as TF.Tensor2D, wp as TF.Tensor2D), b2))),
      [x, Wc, bc, Wp, bd],
    ],
  ];
  for (const [name, ours, ref, args] of cases) {
    const a = tf.valueAndGrads(ours as (...a: T[]) => TF.Scalar)(args);
    const b = tf.valueAndGrads(ref as (...a: T[]) => TF.Scalar)(args);
    assert.ok(Math.abs(a.value.dataSync()[0]! - b.value.dataSync()[0]!) < 1e-4, `${name}: loss`);
    a.grads.forEach((g, i) => {
      const diff = tf.max(tf.abs(tf.sub(g, b.grads[i]!))).dataSync()[0]!;
      const size = tf.max(tf.abs(b.grads[i]!)).dataSync()[0]!;
      // wasm's fused matMul rounds differently from matMul + add + relu: relative 1e-3.
      assert.ok(diff <= 1e-3 * Math.max(size, 1e-3), `${name}: gradient ${i} differs by ${diff} (largest ${size})`);
    });
  }
});

function randomNetwork(arch: (typeof NN_ARCHITECTURES)[number], seed: number): NeuralNetwork {
  const plan = planInput(arch === 'mlp' ? seqNames.slice(0, 8) : seqNames, arch === 'mlp' ? 'features' : 'sequence', 'log-standard');
  const spec: NetworkSpec = { architecture: arch, input: plan, layers: buildLayers(nnParams(arch, { units: 8, filters: arch === 'cnn' ? [5, 6] : [5], hidden: arch === 'lstm' ? [] : [7] }), plan, 3), classes: 3 };
  const cols = arch === 'mlp' ? seqCols.slice(0, 8) : seqCols;
  const { mean, scale } = fitScaling(plan, cols, Int32Array.from({ length: 60 }, (_, i) => i));
  return { spec, weights: initialWeights(spec, seed), mean, scale };
}

test('typed-array inference equals the tfjs forward pass of every architecture', async () => {
  const { tf } = await loadTf();
  for (const arch of NN_ARCHITECTURES) {
    const net = randomNetwork(arch, 3);
    const cols = arch === 'mlp' ? seqCols.slice(0, 8) : seqCols;
    const ours = networkProba(net, cols);
    const grid = inputGrid(net.spec.input, net.mean, net.scale, cols);
    const shapes = parameterShapes(net.spec);
    const theirs = tf.tidy(() => tf.softmax(logits(tf, net.spec, net.weights.map((w, k) => tf.tensor(w, shapes[k]!.shape)), tf.tensor3d(grid, [60, net.spec.input.steps, net.spec.input.channels]))).dataSync());
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    assert.ok(worst < 1e-5, `${arch}: probabilities differ by up to ${worst}`);
  }
});

test('the training step (no tape) gives the loss, logits and gradients of tfjs automatic differentiation', async () => {
  const { tf } = await loadTf();
  for (const arch of NN_ARCHITECTURES) {
    // Two conv1d layers for the CNN (the second's input gradient passes through the first's ReLU), one elsewhere.
    const net = randomNetwork(arch, 5);
    const cols = arch === 'mlp' ? seqCols.slice(0, 8) : seqCols;
    const rows = 13, K = 3, { steps, channels } = net.spec.input;
    const grid = inputGrid(net.spec.input, net.mean, net.scale, cols).subarray(0, rows * steps * channels);
    const target = new Float32Array(rows * K);
    let total = 0;
    for (let i = 0; i < rows; i++) { const w = 0.5 + (i % 3); target[i * K + y[i]!] = w; total += w; }
    const ours = trainStep(tf, net.spec, net.weights, grid, rows, target, total);
    const shapes = parameterShapes(net.spec);
    const ref = tf.valueAndGrads((...ws: T[]) => weightedCrossEntropy(tf, logits(tf, net.spec, ws, tf.tensor3d(grid, [rows, steps, channels])), tf.tensor2d(target, [rows, K]), total))(net.weights.map((w, k) => tf.tensor(w, shapes[k]!.shape)));
    assert.ok(Math.abs(ours.loss - ref.value.dataSync()[0]!) < 1e-5, `${arch}: loss`);
    const lg = tf.tidy(() => logits(tf, net.spec, net.weights.map((w, k) => tf.tensor(w, shapes[k]!.shape)), tf.tensor3d(grid, [rows, steps, channels])).dataSync());
    ours.logits.forEach((v, i) => assert.ok(Math.abs(v - lg[i]!) < 1e-4, `${arch}: logit ${i}`));
    ref.grads.forEach((g, i) => {
      const want = g.dataSync();
      let diff = 0, size = 0;
      for (let j = 0; j < want.length; j++) { diff = Math.max(diff, Math.abs(ours.grads[i]![j]! - want[j]!)); size = Math.max(size, Math.abs(want[j]!)); }
      assert.equal(ours.grads[i]!.length, want.length, `${arch}: gradient ${i} size`);
      assert.ok(diff <= 1e-3 * Math.max(size, 1e-3), `${arch}: gradient ${shapes[i]!.name} differs by ${diff} (largest ${size})`);
    });
  }
});

for (const arch of NN_ARCHITECTURES) {
  test(`${arch} overfits a tiny generated set (loss falls, training rows learned)`, async () => {
    const names = arch === 'mlp' ? seqNames : seqNames;
    const p = nnParams(arch, {
      epochs: arch === 'mlp' ? 40 : 30, batchSize: 16, learningRate: 0.01, validationShare: 0, seed: 1,
      ...(arch === 'mlp' ? { hidden: [32] } : arch === 'cnn' ? { filters: [16], hidden: [16] } : { units: 16, filters: [8] }),
    });
    const fit = await fitNetwork(seqCols, y, classes.length, names, p);
    const first = fit.curves[0]!.loss, last = fit.curves.at(-1)!.loss;
    assert.ok(last < first * 0.3, `${arch}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    const proba = networkProba(fit.network, seqCols);
    let ok = 0;
    for (let i = 0; i < y.length; i++) {
      let b = 0;
      for (let c = 1; c < classes.length; c++) if (proba[i * classes.length + c]! > proba[i * classes.length + b]!) b = c;
      if (b === y[i]) ok++;
    }
    assert.ok(ok / y.length >= 0.95, `${arch}: ${ok}/${y.length} training rows right`);
    assert.equal(fit.network.spec.input.kind, arch === 'mlp' ? 'features' : 'sequence');
  });
}

test('the same seed gives the same network; another seed another one', async () => {
  const p = nnParams('cnn', { epochs: 2, batchSize: 16, filters: [4], hidden: [4], validationShare: 0.2 });
  const a = await fitNetwork(seqCols, y, 3, seqNames, { ...p, seed: 7 });
  const b = await fitNetwork(seqCols, y, 3, seqNames, { ...p, seed: 7 });
  const c = await fitNetwork(seqCols, y, 3, seqNames, { ...p, seed: 8 });
  assert.deepEqual(b.network.weights, a.network.weights);
  assert.deepEqual(b.curves, a.curves);
  assert.notDeepEqual(c.network.weights, a.network.weights);
});

test('early stopping keeps the best epoch and held-out rows come from the validation share', async () => {
  const fit = await fitNetwork(seqCols, y, 3, seqNames, nnParams('mlp', { epochs: 40, batchSize: 8, learningRate: 0.05, hidden: [64], validationShare: 0.25, patience: 3 }), { heldOut: true });
  const best = Math.min(...fit.curves.map((c) => c.valLoss!));
  assert.equal(fit.curves[fit.bestEpoch - 1]!.valLoss, best);
  assert.ok(fit.epochsRun <= fit.bestEpoch + 3);
  assert.equal(fit.heldOut!.rows.length, fit.validationRows);
  assert.equal(fit.validationRows, 15);
});
