import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The install-time build (scripts/build.mjs, run by `npm ci` through `prepare`): the JavaScript it makes behaves
// as the TypeScript sources do. Built into a folder of its own so that it never races the real dist/.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `.dist-test-${process.pid}`;
const SCENARIO = path.join(ROOT, 'test/fixtures/flow/scenario.pcap');
after(() => rmSync(path.join(ROOT, OUT), { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
}

test('the built CLI writes the same flows and column reference as the TypeScript sources', () => {
  const b = run(['scripts/build.mjs', OUT]);
  assert.equal(b.status, 0, b.stderr);
  const built = path.join(ROOT, OUT, 'cli/main.js');
  assert.ok(existsSync(built));
  assert.ok(existsSync(path.join(ROOT, OUT, 'names/catalog/services.json')), 'data files are copied');
  assert.doesNotMatch(readFileSync(path.join(ROOT, OUT, 'model/trees/worker.mjs'), 'utf8'), /\.ts'/, 'worker entries import .js');
  const src = path.join(ROOT, 'src/cli/main.ts');
  for (const args of [['extract', SCENARIO, '-q'], ['extract', SCENARIO, '-q', '--verdict', '--format', 'jsonl'], ['features', '--markdown']]) {
    const js = run([built, ...args]);
    const ts = run(['--import', 'tsx', src, ...args]);
    assert.equal(js.status, 0, js.stderr);
    assert.equal(ts.status, 0, ts.stderr);
    // id_capture is a per-run random id: compare the rest.
    const strip = (t: string) => t.replace(/"?id_capture"?:"[^"]*"/g, '').replace(/^((?:[^,\n]*,){10})[^,\n]*/gm, '$1');
    assert.ok(js.stdout.length > 100);
    assert.equal(strip(js.stdout), strip(ts.stdout), args.join(' '));
  }
  const w = run([built, 'extract', SCENARIO, '-q', '--workers', '2']);
  assert.equal(w.status, 0, w.stderr);
  assert.equal(w.stdout.trim().split('\n').length, 8, 'the built flow workers start and meter');
});

test('bin/veil.js runs the sources when VEIL_FROM_SOURCE=1 (and whenever dist/ is missing or older than src/)', () => {
  const r = run(['bin/veil.js', 'extract', SCENARIO, '-q', '--features', 'stats'], { VEIL_FROM_SOURCE: '1' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 8);
});
