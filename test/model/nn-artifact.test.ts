import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  prepareTraining, trainModel, serializeModel, deserializeModel, predictTable, evaluateModel, crossValidate, makeSplit,
  cvEvaluation, ModelError, ModelErrorCode, type VeilModel, type TrainConfig, type ModelManifest,
} from '../../src/model/index.ts';
import { loadModelFile } from '../../src/service/models/load.ts';
import { sequenceTable } from './nn-helpers.ts';

const table = sequenceTable(90, 3, 8, 11);
const models = new Map<string, VeilModel>();

async function model(arch: 'cnn' | 'lstm' | 'mlp' | 'cnn-lstm'): Promise<VeilModel> {
  let m = models.get(arch);
  if (!m) {
    const cfg: TrainConfig = {
      label: 'app', model: arch, nn: { epochs: 4, batchSize: 16, filters: [6], hidden: [8], units: 8 }, unknownBelow: 0.3,
    };
    m = await trainModel(prepareTraining(table, cfg), cfg);
    models.set(arch, m);
  }
  return m;
}

for (const arch of ['mlp', 'cnn', 'lstm', 'cnn-lstm'] as const) {
  test(`${arch} model file round-trips bit-exactly and predicts exactly the same`, async () => {
    const m = await model(arch);
    const bytes = serializeModel(m);
    const back = deserializeModel(bytes, 'm.veilmodel');
    assert.deepEqual(serializeModel(back), bytes);
    assert.ok(back.network && !back.ensemble);
    assert.deepEqual(back.network.weights, m.network!.weights);
    const a = predictTable(m, table);
    const b = predictTable(back, table);
    assert.deepEqual(b.proba, a.proba);
    assert.deepEqual(b.label, a.label);
    assert.equal(back.manifest.modelType, arch);
    assert.equal(back.manifest.network!.input.kind, arch === 'mlp' ? 'features' : 'sequence');
  });
}

test('a sequence model learns from the sequence columns only, with calibration and per-epoch curves', async () => {
  const m = await model('cnn');
  const names = m.manifest.features.map((f) => f.name);
  assert.ok(names.every((n) => n.startsWith('seq_')), names.join(','));
  assert.equal(names.length, 24);
  assert.equal(m.manifest.calibration.method, 'temperature');
  assert.equal(m.manifest.network!.curves.length, m.manifest.network!.training.epochsRun);
  const ev = evaluateModel(m, table, { label: 'app', permutationRows: 0 });
  assert.equal(ev.model.kind, 'cnn');
  assert.equal(ev.curves?.length, m.manifest.network!.training.epochsRun);
  assert.ok(typeof ev.curves![0]!.valLoss === 'number');
});

test('cross-validation of a network gives out-of-fold scores and the final model curves', async () => {
  const cfg: TrainConfig = { label: 'app', model: 'mlp', nn: { epochs: 3, batchSize: 16, hidden: [8] }, novelty: false };
  const prep = prepareTraining(table, cfg);
  const cv = await crossValidate(prep, cfg, makeSplit(prep, { kind: 'kfold', folds: 3 }, 0));
  assert.equal(cv.tested.reduce((s, t) => s + t, 0), 90);
  const m = await trainModel(prep, cfg, { cv });
  const ev = cvEvaluation(prep, cv, cfg, m);
  assert.equal(ev.curves?.length, m.manifest.network!.training.epochsRun);
  assert.match(m.manifest.calibration.method === 'temperature' ? m.manifest.calibration.fittedOn : '', /out-of-fold/);
});

test('the service loads a neural model file and answers with it', async () => {
  const m = await model('lstm');
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-nn-'));
  const file = path.join(dir, 'lstm.veilmodel');
  await writeFile(file, serializeModel(m));
  const sm = await loadModelFile(file, 'lstm');
  assert.equal(sm.kind, 'lstm');
  const p = sm.predict(table);
  const direct = predictTable(m, table);
  assert.deepEqual(Array.from(p.confidence), Array.from(direct.confidence));
});

/** Re-serialises a model after changing its manifest or arrays (the checksum is recomputed: only the checks stop it). */
function tampered(m: VeilModel, f: (man: ModelManifest, net: NonNullable<VeilModel['network']>) => void): Uint8Array {
  const man = structuredClone(m.manifest);
  const net = { ...m.network!, weights: m.network!.weights.map((w) => w.slice()) };
  f(man, net);
  return serializeModel({ manifest: man, network: net });
}

test('a damaged or inconsistent neural model file is refused with a clear error', async () => {
  const m = await model('cnn');
  const refuse = (bytes: Uint8Array, code: string, msg: RegExp): void => {
    assert.throws(() => deserializeModel(bytes, 'bad.veilmodel'), (e: unknown) => {
      assert.ok(e instanceof ModelError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, msg);
      assert.match(e.message, /^bad\.veilmodel: /);
      return true;
    });
  };
  const good = serializeModel(m);
  const flipped = good.slice();
  flipped[flipped.length - 5]! ^= 0x40;
  refuse(flipped, ModelErrorCode.CORRUPT, /checksum/);
  refuse(good.subarray(0, good.length - 100), ModelErrorCode.CORRUPT, /checksum|outside/);
  refuse(tampered(m, (_, net) => { net.weights[0] = net.weights[0]!.subarray(1); }), ModelErrorCode.CORRUPT, /'nn\.0\.w' has \d+ values/);
  refuse(tampered(m, (man) => { (man.network!.layers[0] as { filters: number }).filters = 7; }), ModelErrorCode.CORRUPT, /layer|nn\./);
  refuse(tampered(m, (man) => { man.network!.input.cell[3] = 9999; }), ModelErrorCode.CORRUPT, /outside the 8 x 3 grid/);
  refuse(tampered(m, (man) => { man.classes = [...man.classes, 'extra']; }), ModelErrorCode.CORRUPT, /3 outputs for 4 classes/);
  refuse(tampered(m, (man) => { delete man.network; }), ModelErrorCode.CORRUPT, /no network description/);
  refuse(tampered(m, (man) => { (man as { modelType: string }).modelType = 'transformer'; }), ModelErrorCode.WRONG_VERSION, /model type "transformer" is not supported/);
});
