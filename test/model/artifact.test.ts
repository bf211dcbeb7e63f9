import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { selectColumns, makeTable, numberColumn } from '../../src/dataset/index.ts';
import {
  prepareTraining, trainModel, serializeModel, deserializeModel, saveModel, loadModel, predictTable, closeWorkers,
  ModelError, MODEL_MAGIC, type VeilModel, type TrainConfig,
} from '../../src/model/index.ts';
import { generatedTable } from './helpers.ts';

after(() => closeWorkers());

const table = generatedTable(1500, 3, 21);
const models = new Map<string, VeilModel>();
async function model(kind: 'forest' | 'boosting'): Promise<VeilModel> {
  let m = models.get(kind);
  if (!m) {
    const cfg: TrainConfig = { label: 'app', model: kind, forest: { trees: 15 }, boosting: { maxIter: 20 }, unknownBelow: 0.4 };
    m = await trainModel(prepareTraining(table, cfg), cfg);
    models.set(kind, m);
  }
  return m;
}

for (const kind of ['forest', 'boosting'] as const) {
  test(`${kind} model file round-trips bit-exactly and predicts the same`, async () => {
    const m = await model(kind);
    const bytes = serializeModel(m);
    const back = deserializeModel(bytes, 'm.veil');
    assert.deepEqual(serializeModel(back), bytes);
    assert.deepEqual(back.ensemble, m.ensemble);
    assert.deepEqual(back.manifest.features, m.manifest.features);
    const a = predictTable(m, table);
    const b = predictTable(back, table);
    assert.deepEqual(b.proba, a.proba);
    assert.deepEqual(b.label, a.label);
  });
}

test('saveModel/loadModel through a file; the manifest describes the model', async () => {
  const m = await model('forest');
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-model-'));
  const file = path.join(dir, 'm.veil');
  await saveModel(m, file);
  const bytes = await readFile(file);
  assert.equal(bytes.subarray(0, 8).toString('latin1'), MODEL_MAGIC);
  const back = await loadModel(file);
  const man = back.manifest;
  assert.equal(man.kind, 'veil-model');
  assert.equal(man.formatVersion, 1);
  assert.equal(man.modelType, 'forest');
  assert.deepEqual(man.classes, ['app0', 'app1', 'app2']);
  assert.deepEqual(man.features.map((f) => f.name), ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8']);
  assert.ok(man.identityColumns.includes('id_flow'));
  assert.equal(man.training.rows, 1500);
  assert.equal(man.calibration.method, 'temperature');
  assert.ok(man.novelty && man.novelty.threshold > 0);
  assert.equal(man.unknownBelow, 0.4);
});

async function expectError(bytes: Uint8Array, code: string, re: RegExp): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-bad-'));
  const file = path.join(dir, 'bad.veil');
  await writeFile(file, bytes);
  await assert.rejects(loadModel(file), (e: Error) => {
    assert.ok(e instanceof ModelError, `not a ModelError: ${e}`);
    assert.equal(e.code, code);
    assert.ok(e.message.startsWith(file), e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('a foreign file is not a model', async () => {
  await expectError(new TextEncoder().encode('{"kind":"veil-evaluation","version":1}\n'), 'MODEL_NOT_A_MODEL', /expected the magic bytes VEILMDL1/);
  await expectError(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 13), 'MODEL_NOT_A_MODEL', /not a Veil model/);
  await expectError(new Uint8Array(3), 'MODEL_NOT_A_MODEL', /too short/);
});

test('a damaged model is corrupt: flipped byte, truncation, broken manifest', async () => {
  const bytes = serializeModel(await model('forest'));
  const flipped = bytes.slice();
  flipped[flipped.length - 5]! ^= 0xff;
  await expectError(flipped, 'MODEL_CORRUPT', /checksum mismatch/);
  await expectError(bytes.subarray(0, bytes.length - 100), 'MODEL_CORRUPT', /checksum mismatch/);
  await expectError(bytes.subarray(0, 40), 'MODEL_CORRUPT', /truncated/);
  const broken = bytes.slice();
  broken[12] = 0x20; // the manifest's opening brace
  broken[13] = 0x5b;
  await expectError(broken, 'MODEL_CORRUPT', /corrupt manifest/);
});

/** Re-writes a model's manifest in place (same length needed: pads with spaces). */
function patchManifest(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const m = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Record<string, unknown>;
  edit(m);
  const json = new TextEncoder().encode(JSON.stringify(m).padEnd(len, ' '));
  assert.equal(json.length, len);
  const out = bytes.slice();
  out.set(json, 12);
  return out;
}

test('a model of another format version or kind is refused by name', async () => {
  const bytes = serializeModel(await model('forest'));
  await expectError(patchManifest(bytes, (m) => { m.formatVersion = 2; }), 'MODEL_WRONG_VERSION', /format version 2; this build reads version 1 \(written by a newer Veil\)/);
  await expectError(patchManifest(bytes, (m) => { m.kind = 'tfjs'; }), 'MODEL_NOT_A_MODEL', /manifest kind "tfjs"/);
  const other = bytes.slice();
  other.set(new TextEncoder().encode('VEILMDL9'), 0);
  await expectError(other, 'MODEL_WRONG_VERSION', /container 'VEILMDL9' is not supported/);
});

test('prediction on rows lacking feature columns is refused, listing all missing columns', async () => {
  const m = await model('boosting');
  const partial = selectColumns(table, ['f0', 'f1', 'f3', 'app']);
  assert.throws(() => predictTable(m, partial), /lacks 6 column\(s\) the model .* was trained on: f2, f4, f5, f6, f7, f8/);
  const wrongKind = makeTable('x.csv', [...table.columns.filter((c) => c.name !== 'f0'), numberColumn('f0', new Float64Array(table.rows))]);
  assert.doesNotThrow(() => predictTable(m, wrongKind));
});
