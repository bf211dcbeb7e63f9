import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileSync, readFileSync } from 'node:fs';
import { groupCodes, groupKFold, untestableClasses } from '../../src/dataset/index.ts';
import { loadModel } from '../../src/model/index.ts';

const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-trainw-'));

/** Classes a and b in captures 1-4, class c only in capture 5 (a grouped split can never test it). */
function table(): string {
  const lines = ['id_capture,fwd_pkts,bwd_bytes,label'];
  for (let i = 0; i < 80; i++) {
    const cls = i % 2 ? 'a' : 'b';
    lines.push(`cap${(i % 4) + 1}.pcap,${(cls === 'a' ? 3 : 30) + (i % 5)},${(cls === 'a' ? 100 : 9000) + i},${cls}`);
  }
  for (let i = 0; i < 20; i++) lines.push(`cap5.pcap,${60 + i},${50000 + i},c`);
  return lines.join('\n') + '\n';
}

test('untestableClasses: a class whose rows sit in one group is never in both train and test', () => {
  const groups = groupCodes(['g1', 'g2', 'g3', 'g1', 'g2', 'g3', 'g4', 'g4']);
  const y = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2]);
  assert.deepEqual(untestableClasses(groupKFold(groups, y, 3), y, 3), [2]);
});

test('train with a grouped split names the classes it cannot test; train without a split says how to get scores', () => {
  const f = path.join(tmp, 'flows.csv');
  writeFileSync(f, table());
  const g = spawnSync(process.execPath, [VEIL, 'train', f, '--label', 'label', '--group-by', 'id_capture', '--no-guard', '-o', path.join(tmp, 'g.veilmodel')], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stderr, /warning: 1 of 3 classes cannot be tested under the split by 'id_capture'.*: c\. /);
  const n = spawnSync(process.execPath, [VEIL, 'train', f, '--label', 'label', '--no-guard', '-o', path.join(tmp, 'n.veilmodel')], { encoding: 'utf8' });
  assert.equal(n.status, 0, n.stderr);
  assert.match(n.stderr, /no split given, so no scores: add --group-by COL/);
  const k = spawnSync(process.execPath, [VEIL, 'train', f, '--label', 'label', '--folds', '3', '--no-guard', '-o', path.join(tmp, 'k.veilmodel')], { encoding: 'utf8' });
  assert.doesNotMatch(k.stderr, /cannot be tested|no split given/, 'a shuffled split tests every class');
});

test('evaluate knows the training rows by content: a copy elsewhere, or a table holding them among others', async () => {
  const f = path.join(tmp, 'train.csv');
  writeFileSync(f, table());
  const model = path.join(tmp, 'fp.veilmodel');
  const t = spawnSync(process.execPath, [VEIL, 'train', f, '--label', 'label', '--folds', '3', '--no-guard', '-q', '-o', model], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const m = await loadModel(model);
  assert.match(m.manifest.name, /^\w+ on train\.csv$/, 'the name carries the file name, not its folders');
  assert.equal(m.manifest.training.rowSketch?.rows, 100);
  const evaluate = (data: string) => spawnSync(process.execPath, [VEIL, 'evaluate', model, data, '-q'], { encoding: 'utf8' });
  // The same rows through another path.
  const copy = path.join(tmp, 'elsewhere.csv');
  copyFileSync(f, copy);
  assert.match(evaluate(copy).stderr, /elsewhere\.csv is the model's training data: these scores are optimistic/);
  // Half training rows, half new ones (other values): an estimate of the share.
  const lines = readFileSync(f, 'utf8').trim().split('\n');
  const fresh = lines.slice(1).map((l) => l.replace(/^(cap\d\.pcap),(\d+),(\d+)/, (_x, c, a, b) => `${c},${Number(a) + 1000},${Number(b) + 7}`));
  const mixed = path.join(tmp, 'mixed.csv');
  writeFileSync(mixed, [lines[0], ...lines.slice(1), ...fresh].join('\n') + '\n');
  assert.match(evaluate(mixed).stderr, /about (4\d|5\d|6\d) % of the rows of .*mixed\.csv are the model's training rows/);
  const other = path.join(tmp, 'other.csv');
  writeFileSync(other, [lines[0], ...fresh].join('\n') + '\n');
  assert.doesNotMatch(evaluate(other).stderr, /optimistic/);
});
