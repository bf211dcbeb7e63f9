import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupCodes, groupKFold, untestableClasses } from '../../src/dataset/index.ts';

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
