import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeTable, numberColumn, stringColumn, Rng, type Table } from '../../src/dataset/index.ts';
import {
  prepareTraining, trainModel, predictTable, evaluateModel, crossValidate, makeSplit, cvEvaluation, serializeModel,
  deserializeModel, loadModel, closeWorkers, type TrainConfig,
} from '../../src/model/index.ts';
import { chooseThreshold, riskCoverage, UNKNOWN_REASONS } from '../../src/model/support.ts';
import { withManifest } from './manifest-helpers.ts';

after(() => closeWorkers());

const reasonOf = (p: { reason: Uint8Array; reasonNames: readonly string[] }, i: number): string => p.reasonNames[p.reason[i]!]!;

test('risk-coverage: coverage increases, ties are answered together, and the points match a hand count', () => {
  const confidence = Float64Array.of(0.5, 0.9, 0.8, 0.6, 0.8);
  const correct = Uint8Array.of(0, 1, 1, 1, 0);
  const c = riskCoverage(confidence, correct);
  // Answering conf >= 0.9: 1 row, 1 right; >= 0.8: 3 rows (the tie together), 2 right; >= 0.6: 4, 3; all: 5, 3.
  assert.deepEqual(c.coverage, [0.2, 0.6, 0.8, 1]);
  assert.deepEqual(c.accuracy, [1, 2 / 3, 3 / 4, 3 / 5]);
  assert.deepEqual(c.threshold, [0.9, 0.8, 0.6, 0.5]);
  for (let j = 1; j < c.coverage.length; j++) assert.ok(c.coverage[j]! > c.coverage[j - 1]!, 'monotone in coverage');
  // Left-out rows do not count.
  assert.deepEqual(riskCoverage(confidence, correct, Uint8Array.of(1, 1, 0, 1, 1)).coverage, [0.25, 0.5, 0.75, 1]);
});

test('the confidence threshold is the lowest whose answered accuracy reaches the target, with a coverage floor', () => {
  const confidence = Float64Array.of(0.5, 0.9, 0.8, 0.6, 0.8);
  const correct = Uint8Array.of(0, 1, 1, 1, 0);
  const t = chooseThreshold(confidence, correct, { targetAccuracy: 0.75, minCoverage: 0.2 }, 'test rows');
  assert.deepEqual([t.threshold, t.coverage, t.accuracy], [0.6, 0.8, 0.75]);
  // Unreachable target (0.99 above 20 % coverage is reached at 0.9): answer at least 60 %.
  const u = chooseThreshold(confidence, correct, { targetAccuracy: 0.99, minCoverage: 0.5 }, 'test rows');
  assert.deepEqual([u.threshold, u.coverage], [0.8, 0.6]);
  // Everything right: threshold 0 (answer all).
  assert.equal(chooseThreshold(confidence, Uint8Array.of(1, 1, 1, 1, 1), {}, 'x').threshold, 0);
});

/** Flows of three classes that overlap in packet sizes (about 85 % separable); packet counts of 4 to 42. */
function flowTable(n: number, seed: number): Table {
  const rng = new Rng(seed);
  const cls = Array.from({ length: n }, (_, i) => i % 3);
  const fwd = cls.map(() => 2 + rng.int(20)), bwd = cls.map(() => 2 + rng.int(20));
  return makeTable('flows.csv', [
    numberColumn('fwd_pkts', fwd), numberColumn('bwd_pkts', bwd),
    numberColumn('fwd_pkt_len_mean', cls.map((c) => 100 + 300 * c + rng.normal() * 150)),
    numberColumn('bwd_pkt_len_mean', cls.map((c) => 900 - 250 * c + rng.normal() * 150)),
    stringColumn('app', cls.map((c) => `app${c}`)),
  ]);
}

test('a guarded model answers too_few_packets, out_of_distribution and low_confidence, and the manifest records why', async () => {
  const table = flowTable(900, 1);
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 20 }, guard: { targetAccuracy: 0.95 } };
  const prep = prepareTraining(table, cfg);
  const cv = await crossValidate(prep, cfg, makeSplit(prep, { kind: 'kfold', folds: 3 }, 0));
  const model = await trainModel(prep, cfg, { cv });
  const s = model.manifest.support!;
  assert.equal(s.packets!.from, 'fwd_pkts+bwd_pkts');
  assert.ok(s.packets!.min >= 5 && s.packets!.min <= 12, `packet floor ${s.packets!.min}`);
  assert.equal(s.ranges!.lo.length, 4);
  assert.equal(model.manifest.unknownBelow, s.confidence!.threshold);
  assert.match(s.confidence!.heldOut, /out-of-fold/);
  // The manifest with the guard passes the schema.
  deserializeModel(serializeModel(model), 'guarded.veilmodel');

  const probe = makeTable('probe.csv', [
    numberColumn('fwd_pkts', [1, 10, 10, 10]), numberColumn('bwd_pkts', [0, 10, 10, 10]),
    numberColumn('fwd_pkt_len_mean', [100, 1e6, -50, 250]), numberColumn('bwd_pkt_len_mean', [900, 900, 1100, 775]),
    stringColumn('app', ['app0', 'app0', 'app0', 'app0']),
  ]);
  const p = predictTable(model, probe);
  assert.deepEqual(p.reasonNames, UNKNOWN_REASONS);
  assert.equal(reasonOf(p, 0), 'too_few_packets');
  assert.equal(reasonOf(p, 1), 'out_of_distribution', 'a packet size far outside the training range');
  assert.equal(reasonOf(p, 2), 'answered', `confidence ${p.confidence[2]} threshold ${model.manifest.unknownBelow}`);
  assert.equal(p.label[2], 0);
  // Half-way between app0 and app1: the forest is unsure.
  assert.equal(reasonOf(p, 3), 'low_confidence', `confidence ${p.confidence[3]} threshold ${model.manifest.unknownBelow} ${JSON.stringify(s.confidence)}`);
  assert.equal(p.label[0], -1);
  assert.equal(p.label[3], -1);

  // Evaluation uses the same rule: its unknown count is the prediction's, per reason.
  const ev = evaluateModel(model, probe, { label: 'app', permutationRows: 0 });
  assert.deepEqual(ev.unknown.reasons, { answered: 1, too_few_packets: 1, out_of_distribution: 1, low_confidence: 1 });
  assert.equal(ev.unknown.count, 3);
  const cvr = cvEvaluation(prep, cv, cfg, model);
  const rc = cvr.riskCoverage!;
  for (let j = 1; j < rc.coverage.length; j++) assert.ok(rc.coverage[j]! > rc.coverage[j - 1]!);
  assert.equal(rc.coverage.at(-1), 1);
  assert.ok(rc.answered.coverage < 1 && rc.answered.accuracy >= rc.accuracy.at(-1)!, 'answering fewer rows is more accurate');
  assert.equal(cvr.unknown.count, cvr.unknown.reasons!.too_few_packets! + cvr.unknown.reasons!.out_of_distribution! + cvr.unknown.reasons!.low_confidence!);
});

test('the guard in a manifest is validated by the one schema', async () => {
  const table = flowTable(300, 2);
  const cfg: TrainConfig = { label: 'app', model: 'forest', forest: { trees: 5 }, guard: {} };
  const bytes = serializeModel(await trainModel(prepareTraining(table, cfg), cfg));
  const bad: [(m: any) => void, RegExp][] = [
    [(m) => { m.support.packets.min = -1; }, /'support\.packets\.min'/],
    [(m) => { m.support.packets.from = 'flowPktsPerSecond*duration'; }, /'support\.packets\.from' must be computable from the model's features/],
    [(m) => { m.support.ranges.lo.pop(); }, /'support\.ranges\.lo' must be a list of 4 entries/],
    [(m) => { m.support.ranges.hi[0] = m.support.ranges.lo[0] - 1; }, /'support\.ranges\.hi\[0\]'/],
    [(m) => { m.support.confidence.threshold = 'NaN'; }, /'support\.confidence\.threshold'/],
  ];
  for (const [edit, re] of bad) assert.throws(() => deserializeModel(withManifest(bytes, edit), 'g.veilmodel'), re);
});

// The shipped models (models/*.veilmodel, npm run models:build) carry the guard.
const SHIPPED = fileURLToPath(new URL('../../models/', import.meta.url));

test('a single-packet flow gets unknown / too_few_packets from the shipped ISCX models; the real-capture category model carries its guard', async () => {
  // The default category model learnt from real captures, where one-packet flows (DNS, NTP) are common: its packet
  // floor is what its training rows had, and its confidence threshold was chosen on held-out rows.
  const real = await loadModel(`${SHIPPED}category.veilmodel`);
  assert.ok(real.manifest.support?.packets && real.manifest.support.confidence, 'category: the guard is recorded');
  assert.ok(real.manifest.unknownBelow > 0 && real.manifest.unknownBelow < 1);
  for (const name of ['iscx/category', 'vpn']) {
    const file = `${SHIPPED}${name}.veilmodel`;
    assert.ok(existsSync(file), file);
    const model = await loadModel(file);
    assert.ok(model.manifest.support?.packets, `${name}: the shipped model has a packet floor (npm run models:build)`);
    // One packet as the meter writes it in ISCX's conventions: duration 0, rates 0, every statistic empty.
    const cols = model.manifest.features.map((f) => {
      const empty = /^(min|max)_/.test(f.name) ? -1 : 0;
      return numberColumn(f.source, [empty]);
    });
    const p = predictTable(model, makeTable('one.csv', cols));
    assert.equal(p.label[0], -1, name);
    assert.equal(reasonOf(p, 0), 'too_few_packets', name);
  }
});

test('a value a flow table rounded to six decimals is inside its training range; one beyond it is out_of_distribution', async () => {
  const { unknownReasons, OUT_OF_DISTRIBUTION, ANSWERED } = await import('../../src/model/support.ts');
  // Trained from a CSV table where two features were constant, 1/3 and 2/3, written 0.333333 and 0.666667: a capture
  // metered for the model gives 1/3 (above 0.333333) and 2/3 (below 0.666667).
  const model = {
    manifest: {
      features: [{ name: 'a' }, { name: 'b' }] as never,
      support: { ranges: { lo: [0.333333, 0.666667], hi: [0.333333, 0.666667] } },
      unknownBelow: 0,
    },
  };
  const a = Float64Array.from([1 / 3, 0.3334, 1 / 3]);
  const b = Float64Array.from([2 / 3, 2 / 3, 0.666]);
  const { reason } = unknownReasons(model, [a, b], new Float64Array(3).fill(1));
  assert.deepEqual([...reason], [ANSWERED, OUT_OF_DISTRIBUTION, OUT_OF_DISTRIBUTION]);
});
