import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layering of ARCHITECTURE.md, checked by dependency-cruiser with the rules of .dependency-cruiser.cjs. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('src/ imports point one way and have no cycle', () => {
  const r = cruise(ROOT);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test('the check fails on an upward import, a sideways import and a cycle, naming each', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-boundaries-'));
  try {
    const put = (file: string, text: string) => { mkdirSync(path.dirname(path.join(dir, file)), { recursive: true }); writeFileSync(path.join(dir, file), text); };
    put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }));
    put('src/flow/meter.ts', 'export const meter = 1;\n');
    put('src/wire/reader.ts', "import { meter } from '../flow/meter.ts';\nexport const r = meter;\n");
    put('src/report/html.ts', "import { c } from '../classify/capture.ts';\nexport const h = c;\n");
    put('src/classify/capture.ts', 'export const c = 1;\n');
    put('src/model/a.ts', "import { b } from './b.ts';\nexport const a = () => b;\n");
    put('src/model/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
    const r = cruise(dir);
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /no-upward-from-wire: src\/wire\/reader\.ts → src\/flow\/meter\.ts/);
    assert.match(r.out, /no-sideways-from-report: src\/report\/html\.ts → src\/classify\/capture\.ts/);
    assert.match(r.out, /no-circular: src\/model\/(a|b)\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
