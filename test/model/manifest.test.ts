import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  prepareTraining, trainModel, serializeModel, deserializeModel, closeWorkers, ModelError, type TrainConfig,
} from '../../src/model/index.ts';
import { generatedTable } from './helpers.ts';
import { withManifest } from './manifest-helpers.ts';

after(() => closeWorkers());

let good: Uint8Array | undefined;
async function goodBytes(): Promise<Uint8Array> {
  if (!good) {
    const table = generatedTable(400, 3, 5);
    const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 5 } };
    const m = await trainModel(prepareTraining(table, cfg), cfg);
    m.manifest.meter = { idleTimeoutS: 15, activeTimeoutS: 15 };
    good = serializeModel(m);
  }
  return good;
}

function refused(bytes: Uint8Array, field: RegExp): void {
  assert.throws(() => deserializeModel(bytes, 'crafted.veilmodel'), (e: Error) => {
    assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
    assert.equal(e.code, 'MODEL_CORRUPT');
    assert.ok(e.message.startsWith('crafted.veilmodel: '), e.message);
    assert.match(e.message, field);
    return true;
  });
}

test('a manifest with unknownBelow "NaN" (or out of [0, 1]) is refused naming the field', async () => {
  const b = await goodBytes();
  deserializeModel(b, 'good.veilmodel');
  for (const v of ['NaN', null, -0.1, 1.5, '0.5']) refused(withManifest(b, (m) => { m.unknownBelow = v; }), /'unknownBelow' must be a number in \[0, 1\]/);
});

test('meter timeouts outside 1 ms .. 1e6 s or not numbers are refused', async () => {
  const b = await goodBytes();
  for (const v of [1e-6, -5, 'abc', 0, 1e7, null]) {
    refused(withManifest(b, (m) => { m.meter.activeTimeoutS = v; }), /'meter\.activeTimeoutS' must be a number in \[0\.001, 1000000\]/);
    refused(withManifest(b, (m) => { m.meter.idleTimeoutS = v; }), /'meter\.idleTimeoutS'/);
  }
  deserializeModel(withManifest(b, (m) => { m.meter = { activeTimeoutS: 0.001, idleTimeoutS: 1e6 }; }), 'edge.veilmodel');
});

test('wrong types, missing fields, bad counts and lengths that disagree are refused naming the field', async () => {
  const b = await goodBytes();
  const cases: [(m: any) => void, RegExp][] = [
    [(m) => { m.classes = 'app0'; }, /'classes' must be a list/],
    [(m) => { m.classes = ['a', 'a', 'b']; }, /'classes' must be a list without repeats/],
    [(m) => { m.features[0].kind = 'text'; }, /'features\[0\]\.kind' must be one of/],
    [(m) => { delete m.features[1].source; }, /'features\[1\]\.source' must be a non-empty string/],
    [(m) => { m.featureImportance.pop(); }, /'featureImportance' must be a list of \d+ entries/],
    [(m) => { m.training.rows = 1.5; }, /'training\.rows' must be an integer/],
    [(m) => { m.training.threads = 0; }, /'training\.threads'/],
    [(m) => { m.calibration.temperature = 1e308 * 10; }, /'calibration\.temperature'/],
    [(m) => { m.novelty.threshold = 'high'; }, /'novelty\.threshold'/],
    [(m) => { m.params.trees = 'many'; }, /'params\.trees' must be a finite number/],
    [(m) => { delete m.preprocessing; }, /'preprocessing' must be an object \(found nothing\)/],
    [(m) => { m.storage.blobs[0].length = -1; }, /'storage\.blobs\[0\]\.length'/],
    [(m) => { m.output = 7; }, /'output' must be one of/],
    [(m) => { m.metrics = { split: { kind: 'kfold', folds: 5, shuffled: true, seed: 0, description: 'x' }, rows: 3, accuracy: 2, balancedAccuracy: 0.5, macroF1: 0.5, weightedF1: 0.5 }; }, /'metrics\.accuracy' must be a number in \[0, 1\]/],
  ];
  cases.forEach(([edit, re], i) => assert.doesNotThrow(() => refused(withManifest(b, edit), re), `case ${i}`));
});
