import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableToCsv } from '../../src/dataset/index.ts';
import { generatedTable } from '../model/helpers.ts';

// Progress lines are drawn on a terminal only: through util-linux `script` (a pseudo-terminal) they appear, through
// a pipe they do not.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VEIL = path.join(ROOT, 'bin/veil.js');
const SCENARIO = path.join(ROOT, 'test/fixtures/flow/scenario.pcap');
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-progress-'));
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const DRAW = '\r\x1b[K';

function onTerminal(args: string[]): string {
  const cmd = [process.execPath, VEIL, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: tmp, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

function throughPipe(args: string[]): string {
  const r = spawnSync(process.execPath, [VEIL, ...args], { cwd: tmp, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

test('extract and dataset build draw progress on a terminal and stay silent through a pipe', { skip: hasScript ? false : 'no `script` command' }, () => {
  const extract = ['extract', SCENARIO, '-o', path.join(tmp, 'a.csv')];
  assert.match(onTerminal(extract), /\r\x1b\[Kextract \[/);
  assert.ok(!throughPipe(extract).includes(DRAW));
  const build = ['dataset', 'build', SCENARIO, '--label-from', 'name', '-o', path.join(tmp, 'b.csv')];
  assert.match(onTerminal(build), /\r\x1b\[Kdataset build /);
  assert.ok(!throughPipe(build).includes(DRAW));
});

test('train and evaluate draw progress (loading, trees, permutation importance) on a terminal only', { skip: hasScript ? false : 'no `script` command' }, () => {
  const data = path.join(tmp, 't.csv');
  writeFileSync(data, tableToCsv(generatedTable(600, 3, 5)));
  const model = path.join(tmp, 'm.veilmodel');
  const train = ['train', data, '--label', 'app', '--model', 'forest', '--trees', '10', '-o', model];
  assert.match(onTerminal(train), /\r\x1b\[K(loading|train) \[/);
  const evaluate = ['evaluate', model, data];
  const out = onTerminal(evaluate);
  assert.match(out, /\r\x1b\[Kevaluate \[.*features permuted \(permutation importance on \d+ of 600 rows/);
  assert.match(out, /permutation importance sampled \d+ of 600 labelled rows/);
  assert.ok(!throughPipe(evaluate).includes(DRAW));
});
