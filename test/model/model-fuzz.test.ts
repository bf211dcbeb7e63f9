import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Rng, selectRows } from '../../src/dataset/index.ts';
import {
  prepareTraining, trainModel, serializeModel, deserializeModel, predictTable, closeWorkers, ModelError,
  type TrainConfig, type VeilModel,
} from '../../src/model/index.ts';
import { VeilError } from '../../src/core/errors.ts';
import { generatedTable } from './helpers.ts';
import { sequenceTable } from './nn-helpers.ts';
import { manifestOf, withManifest, withManifestText } from './manifest-helpers.ts';

/**
 * The model loader under mutation: byte flips and truncations of real small model files (forest, boosting, a
 * neural network), flips inside the arrays with the checksum made to match (so the structural checks, not the
 * checksum, must catch them), and JSON-level mutations of the manifest (wrong types, NaN, huge numbers, missing
 * fields). Every mutant either loads, and then predicts (or refuses the probe table with a user-facing error),
 * or is refused with a ModelError; nothing else escapes.
 * FUZZ_MUTANTS raises the count (default 1,200 over the three models).
 */
after(() => closeWorkers());

const PER_MODEL = Math.ceil(Number(process.env.FUZZ_MUTANTS ?? 1200) / 3);
const align8 = (n: number): number => (n + 7) & ~7;

interface Tally { mutants: number; loaded: number; refused: number; slowestMs: number; slowest: string }

function blobArea(bytes: Uint8Array): number {
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  return align8(12 + len);
}

/** Raw byte damage: flips anywhere, or a truncation. */
function byteMutant(bytes: Uint8Array, rng: Rng): Uint8Array {
  if (rng.float() < 0.25) return bytes.slice(0, rng.int(bytes.length));
  const out = bytes.slice();
  const flips = 1 + rng.int(8);
  for (let k = 0; k < flips; k++) { const j = rng.int(out.length); out[j] = out[j]! ^ (1 << rng.int(8)); }
  return out;
}

/** Damage inside the arrays, with the manifest's checksum updated so the file looks intact. */
function blobMutant(bytes: Uint8Array, rng: Rng): Uint8Array {
  const start = blobArea(bytes);
  const out = bytes.slice();
  const area = out.subarray(start);
  const view = new DataView(area.buffer, area.byteOffset, area.byteLength);
  const m = manifestOf(bytes) as { storage: { blobs: { offset: number; length: number; dtype: string }[]; sha256: string } };
  const blobs = m.storage.blobs.filter((b) => b.length > 0);
  const hits = 1 + rng.int(4);
  for (let k = 0; k < hits; k++) {
    const b = blobs[rng.int(blobs.length)]!;
    const size = b.dtype === 'uint8' ? 1 : b.dtype === 'float64' ? 8 : 4;
    const at = b.offset + rng.int(b.length) * size;
    const pick = rng.int(4);
    if (size === 4 && b.dtype === 'int32') view.setInt32(at, [-1, 0x7fffffff, -0x80000000, rng.int(1000) - 500][pick]!, true);
    else if (size === 4) view.setFloat32(at, [NaN, Infinity, -1e38, rng.normal() * 1e6][pick]!, true);
    else if (size === 8) view.setFloat64(at, [NaN, -Infinity, 1e308, rng.normal()][pick]!, true);
    else area[at] = [0, 1, 255, rng.int(256)][pick]!;
  }
  m.storage.sha256 = createHash('sha256').update(area).digest('hex');
  return withManifestText(out, JSON.stringify(m));
}

const NASTY: unknown[] = ['NaN', null, -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 2, '', 'abc', [], {}, true, [1, 'x'], { kind: 'number' }];

/** All paths (object keys and list indices) of a JSON value. */
function paths(v: unknown, pre: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.slice(0, 8).forEach((x, i) => { out.push([...pre, i]); paths(x, [...pre, i], out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([...pre, k]); paths(x, [...pre, k], out); }
  return out;
}

let lastEdit = '';

/** One JSON-level change of the manifest: a field replaced by a wrong value, deleted, or the text made invalid. */
function jsonMutant(bytes: Uint8Array, rng: Rng): Uint8Array {
  const m = manifestOf(bytes);
  const all = paths(m);
  const p = all[rng.int(all.length)]!;
  let parent: any = m;
  for (const k of p.slice(0, -1)) parent = parent[k];
  const key = p[p.length - 1]!;
  const r = rng.float();
  lastEdit = p.join('.');
  let text: string;
  if (r < 0.15) {
    if (Array.isArray(parent)) parent.splice(key as number, 1); else delete parent[key];
    text = JSON.stringify(m);
  } else if (r < 0.25) {
    parent[key] = '__RAW__';
    text = JSON.stringify(m).replace('"__RAW__"', ['NaN', 'Infinity', '-Infinity', '1e999', 'undefined'][rng.int(5)]!);
  } else if (r < 0.35 && typeof parent[key] === 'number') {
    parent[key] = parent[key] * [-1, 1e6, 1e-6, 0.5][rng.int(4)]! + [0, 1, -1][rng.int(3)]!;
    text = JSON.stringify(m);
  } else {
    parent[key] = NASTY[rng.int(NASTY.length)];
    text = JSON.stringify(m);
  }
  return withManifestText(bytes, text);
}

function tryLoad(bytes: Uint8Array, tally: Tally, probe: Parameters<typeof predictTable>[1], what: string): void {
  tally.mutants++;
  const t0 = performance.now();
  let model: VeilModel;
  try {
    model = deserializeModel(bytes, 'mutant.veilmodel');
  } catch (e) {
    assert.ok(e instanceof ModelError, `${what}: ${(e as Error)?.stack ?? e}`);
    assert.match(e.message, /^mutant\.veilmodel: /);
    tally.refused++;
    time(tally, t0, what);
    return;
  }
  try {
    predictTable(model, probe);
  } catch (e) {
    // A mutant that renames a feature's source column loads and then finds the probe table without it: a
    // user-facing input error (VeilError: the service answers 4xx), not a crash.
    assert.ok(e instanceof VeilError, `${what}: loaded but prediction threw ${(e as Error)?.stack ?? e}`);
  }
  tally.loaded++;
  time(tally, t0, what);
}

function time(tally: Tally, t0: number, what: string): void {
  const ms = performance.now() - t0;
  if (ms > tally.slowestMs) { tally.slowestMs = ms; tally.slowest = what; }
}

async function fuzz(name: string, model: VeilModel, probe: Parameters<typeof predictTable>[1], seed: number): Promise<Tally> {
  const bytes = serializeModel(model);
  deserializeModel(bytes, 'original');
  const rng = new Rng(seed);
  const tally: Tally = { mutants: 0, loaded: 0, refused: 0, slowestMs: 0, slowest: '' };
  for (let i = 0; i < PER_MODEL; i++) {
    const kind = i % 3;
    const b = kind === 0 ? byteMutant(bytes, rng) : kind === 1 ? blobMutant(bytes, rng) : jsonMutant(bytes, rng);
    tryLoad(b, tally, probe, `${name} mutant ${i} (${kind === 2 ? `manifest field ${lastEdit}` : ['bytes', 'arrays'][kind]})`);
  }
  console.log(`# model-fuzz ${name}: ${tally.mutants} mutants, ${tally.loaded} loaded, ${tally.refused} refused with ModelError, 0 crashes; slowest ${tally.slowestMs.toFixed(1)} ms (${tally.slowest})`);
  return tally;
}

const treeTable = generatedTable(300, 3, 9);
const treeProbe = selectRows(treeTable, Int32Array.from({ length: 20 }, (_, i) => i));

for (const kind of ['forest', 'boosting'] as const) {
  test(`${kind} model loader: every mutant loads or throws ModelError`, async () => {
    const cfg: TrainConfig = { label: 'app', model: kind, forest: { trees: 4 }, boosting: { maxIter: 4 }, unknownBelow: 0.3, guard: {} };
    const m = await trainModel(prepareTraining(treeTable, cfg), cfg);
    m.manifest.meter = { idleTimeoutS: 15, activeTimeoutS: 15 };
    const t = await fuzz(kind, m, treeProbe, kind === 'forest' ? 1 : 2);
    assert.equal(t.loaded + t.refused, t.mutants);
    assert.ok(t.refused > t.mutants / 2, 'most mutants are refused');
  });
}

const seqTable = sequenceTable(60, 3, 6, 3);
let cnn: VeilModel | undefined;
async function cnnModel(): Promise<VeilModel> {
  const cfg: TrainConfig = { label: 'app', model: 'cnn', nn: { epochs: 1, batchSize: 16, filters: [4], hidden: [4], units: 4 } };
  cnn ??= await trainModel(prepareTraining(seqTable, cfg), cfg);
  return cnn;
}

test('neural model loader: every mutant loads or throws ModelError', async () => {
  const t = await fuzz('cnn', await cnnModel(), selectRows(seqTable, Int32Array.from({ length: 5 }, (_, i) => i)), 3);
  assert.equal(t.loaded + t.refused, t.mutants);
});

test('a null layer in a neural manifest is a ModelError, not a TypeError (found by the fuzzer)', async () => {
  const b = withManifest(serializeModel(await cnnModel()), (m) => { m.network.layers[0] = null; });
  assert.throws(() => deserializeModel(b, 'x.veilmodel'), (e: Error) => e instanceof ModelError && /layer 0 \(undefined\): unknown layer kind/.test(e.message));
});

test('a huge input grid (steps) in a neural manifest is refused at load, not slow at every prediction (found by the fuzzer)', async () => {
  const b = withManifest(serializeModel(await cnnModel()), (m) => { m.network.input.steps = 1 << 23; });
  assert.throws(() => deserializeModel(b, 'x.veilmodel'), (e: Error) => e instanceof ModelError && /input grid .* exceeds 65536 cells/.test(e.message));
});
