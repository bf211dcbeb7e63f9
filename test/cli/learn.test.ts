import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callFlow, streamFlow, writeLearnCapture, type LearnFlow } from '../helpers/learn-captures.ts';
import { loadModel } from '../../src/model/index.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-learn-'));

function capture(file: string, flows: LearnFlow[], t0: number): void {
  writeLearnCapture(file, flows, t0);
}

const stream = streamFlow;
const call = callFlow;
mkdirSync(path.join(tmp, 'caps'), { recursive: true });
for (let i = 0; i < 4; i++) {
  capture(path.join(tmp, `caps/home-${i}.pcap`), [
    ...Array.from({ length: 5 }, () => stream(i % 2 ? 'www.netflix.com' : 'cdn.nflxvideo.net')),
    ...Array.from({ length: 5 }, () => call('us04web.zoom.us')),
  ], 1_700_000_000_000_000 + i * 1e9);
}
// Tomorrow's traffic: the same behaviour with every name hidden.
capture(path.join(tmp, 'hidden.pcap'), [stream(''), stream(''), call(''), call('')], 1_700_100_000_000_000);

function veil(args: string[]) {
  return spawnSync(process.execPath, [VEIL, ...args], { encoding: 'utf8' });
}

test('veil learn: names label the captures, the model learns behaviour only and answers where the names are hidden', async () => {
  const model = path.join(tmp, 'apps.veilmodel');
  const r = veil(['learn', path.join(tmp, 'caps'), '-o', model, '--folds', '2', '--no-guard', '--threads', '1']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /cross-validation/, 'the grouped evaluation is printed');
  const evaluation = JSON.parse(readFileSync(`${model}.evaluation.json`, 'utf8'));
  assert.equal(evaluation.split.kind, 'group', 'evaluated on captures it was not trained on');
  const m = await loadModel(model);
  assert.deepEqual([...m.manifest.classes].sort(), ['Netflix', 'Zoom']);
  const leaky = m.manifest.features.map((f: { name: string }) => f.name).filter((n: string) => /^(id_|tls_sni|tls_cert|name_|label)|tls_client_hello_len/.test(n));
  assert.deepEqual(leaky, [], 'no name, address, port or label column is learnt from');
  assert.deepEqual(m.manifest.meter, { idleTimeoutS: 120, activeTimeoutS: 1800 }, 'the model records how its flows were cut');

  const out = path.join(tmp, 'hidden.csv');
  const c = veil(['classify', path.join(tmp, 'hidden.pcap'), '--model', model, '-o', out, '-q']);
  assert.equal(c.status, 0, c.stderr);
  const [head, ...rows] = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
  const ans = head!.indexOf('apps.label'); // a model's answers are named after its file (docs/ANSWERS.md)
  assert.ok(ans >= 0, `a model answer column in ${head}`);
  assert.deepEqual(rows.map((x) => x[ans]), ['Netflix', 'Netflix', 'Zoom', 'Zoom'], 'recognised by behaviour with no name in view');
  // Its answers are the verdict's application where no name shows, and the service's category goes with them.
  const col = (n: string) => rows.map((x) => x[head!.indexOf(n)]);
  assert.deepEqual(col('app'), ['Netflix', 'Netflix', 'Zoom', 'Zoom']);
  assert.deepEqual(col('app_source'), ['model', 'model', 'model', 'model']);
  assert.deepEqual(col('category'), ['streaming', 'streaming', 'voip', 'voip']);
});

test('veil learn --target category learns the category', async () => {
  const model = path.join(tmp, 'cats.veilmodel');
  const table = path.join(tmp, 'cats.csv');
  const r = veil(['learn', path.join(tmp, 'caps'), '--target', 'category', '--table', table, '-o', model, '--folds', '2', '--threads', '1', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([...(await loadModel(model)).manifest.classes].sort(), ['streaming', 'voip']);
  assert.ok(existsSync(table), '--table keeps the labelled flows');
  assert.match(readFileSync(table, 'utf8').split('\n')[1]!, /names:sni/);
});

test('veil learn: captures where nothing is named are a clear error, and no model is written', () => {
  capture(path.join(tmp, 'nameless.pcap'), [stream(''), call('')], 1_700_200_000_000_000);
  const model = path.join(tmp, 'none.veilmodel');
  const r = veil(['learn', path.join(tmp, 'nameless.pcap'), '-o', model, '-q']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nameless\.pcap.*no flow.*labelled/i);
  assert.ok(!existsSync(model));
});

test('veil learn: one class is a clear error', () => {
  const dir = path.join(tmp, 'one');
  mkdirSync(dir, { recursive: true });
  capture(path.join(dir, 'a.pcap'), [stream('www.netflix.com'), stream('www.netflix.com')], 1_700_300_000_000_000);
  capture(path.join(dir, 'b.pcap'), [stream('www.netflix.com'), stream('www.netflix.com')], 1_700_400_000_000_000);
  const r = veil(['learn', dir, '-o', path.join(tmp, 'one.veilmodel'), '--folds', '2', '-q']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /one: every labelled flow is 'Netflix' \(4 flows\): learning needs two classes or more/);
});

test('veil train: the default learner is boosting; another learner\'s option is refused, not ignored', async () => {
  const table = path.join(tmp, 'cats.csv');
  if (!existsSync(table)) veil(['dataset', 'build', path.join(tmp, 'caps'), '--label-from', 'names:category', '-o', table, '-q']);
  const model = path.join(tmp, 'default.veilmodel');
  const r = veil(['train', table, '--label', 'label', '--threads', '1', '--max-iter', '10', '-o', model, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await loadModel(model)).manifest.modelType, 'boosting');
  const bad = veil(['train', table, '--label', 'label', '--trees', '5', '-o', model, '-q']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--trees is an option of --model forest, not of boosting \(the default learner is boosting\)/);
});
