import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableToCsv } from '../../src/dataset/index.ts';
import { loadModel } from '../../src/model/index.ts';
import { fitNetwork, nnParams } from '../../src/model/nn/index.ts';
import { columnsOf, sequenceTable } from './nn-helpers.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));

function veil(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [VEIL, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('veil train --model cnn learns the early-packet sequence; veil predict applies the model unchanged', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-nn-cli-'));
  const data = path.join(dir, 'flows.csv');
  await writeFile(data, tableToCsv(sequenceTable(120, 3, 10, 4)));
  const model = path.join(dir, 'cnn.veilmodel');
  const t = veil('train', data, '--label', 'app', '--model', 'cnn', '--epochs', '6', '--batch-size', '16', '--learning-rate', '0.005', '--holdout', '0.25', '-o', model, '--json', path.join(dir, 'cv.json'));
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /cnn on the early-packet sequence, 10 packets x size, direction, log gap/);
  assert.match(t.stdout, /per epoch on tfjs-(wasm|cpu)/);
  const cv = JSON.parse(await readFile(path.join(dir, 'cv.json'), 'utf8')) as { accuracy: number; curves: unknown[] };
  assert.ok(cv.accuracy > 0.8, `hold-out accuracy ${cv.accuracy}`);
  assert.equal(cv.curves.length, 6);
  const m = await loadModel(model);
  assert.equal(m.manifest.modelType, 'cnn');
  assert.equal((m.manifest.params as { epochs: number }).epochs, 6);
  const out = path.join(dir, 'pred.csv');
  const p = veil('predict', model, data, '-o', out, '-q');
  assert.equal(p.status, 0, p.stderr);
  const lines = (await readFile(out, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 121);
  assert.match(lines[0]!, /^id_flow,.*cnn\.label,cnn\.confidence,cnn\.unknown,cnn\.unknown_reason$/);
});

test('veil train refuses a sequence input on a table without one, and a bad --input', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-nn-cli-'));
  const data = path.join(dir, 'flat.csv');
  await writeFile(data, 'a,b,app\n1,2,x\n2,3,y\n3,1,x\n4,4,y\n');
  const r = veil('train', data, '--label', 'app', '--model', 'lstm', '--input', 'sequence', '-o', path.join(dir, 'm'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--input sequence needs the early-packet sequence columns/);
  const bad = veil('train', data, '--label', 'app', '--model', 'lstm', '--input', 'packets', '-o', path.join(dir, 'm'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--input: sequence or features/);
});

test('the JavaScript cpu backend trains the same network as wasm (the fallback when wasm does not start)', async () => {
  const table = sequenceTable(40, 2, 6, 9);
  const names = table.columns.map((c) => c.name).filter((n) => n.startsWith('seq_'));
  const cols = columnsOf(table, names);
  const y = Int32Array.from({ length: 40 }, (_, i) => i % 2);
  const p = nnParams('lstm', { epochs: 2, batchSize: 8, units: 6, validationShare: 0 });
  const cpu = await fitNetwork(cols, y, 2, names, p, { backend: 'cpu' });
  const wasm = await fitNetwork(cols, y, 2, names, p, { backend: 'wasm' });
  assert.equal(cpu.backend, 'cpu');
  assert.ok(wasm.backend === 'wasm' || wasm.backendNote, 'wasm ran or said why not');
  // Same arithmetic up to float32 rounding order.
  for (let k = 0; k < cpu.network.weights.length; k++) {
    const a = cpu.network.weights[k]!, b = wasm.network.weights[k]!;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `weight ${k}[${i}]: ${a[i]} vs ${b[i]}`);
  }
});
