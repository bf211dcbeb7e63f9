import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VEIL = path.join(ROOT, 'bin/veil.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/names/dns-then-tcp.pcap');
const MODEL = path.join(ROOT, 'models/category.veilmodel');
const tmp = mkdtempSync(path.join(tmpdir(), 'veil-names-cli-'));
const veil = (args: string[]) => spawnSync(process.execPath, [VEIL, ...args], { encoding: 'utf8', cwd: tmp });

test('veil services --match names services on label boundaries; --check validates a user file', () => {
  const r = veil(['services', '--match', 'teams.microsoft.com', '--match', 'notmicrosoft.com']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^teams\.microsoft\.com\tMicrosoft Teams\tchat\tshipped$/m);
  assert.match(r.stdout, /^notmicrosoft\.com\t-$/m);
  const bad = path.join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ version: '1', services: [{ name: 'A', category: 'chat', domains: ['x.example'] }, { name: 'B', category: 'chat', domains: ['x.example'] }] }));
  const c = veil(['services', '--check', bad]);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /suffix 'x\.example' already claimed by A/);
});

test('veil predict --verdict on a capture: the DNS-named flow gets its service, the model its own columns', { skip: existsSync(MODEL) ? false : 'models/category.veilmodel not built' }, () => {
  const out = path.join(tmp, 'p.jsonl');
  const r = veil(['predict', MODEL, FIXTURE, '--verdict', '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const named = rows.find((x) => x.id_dst_addr === '203.0.113.7')!;
  assert.deepEqual([named.app, named.app_source, named.category, named.category_source], ['Netflix', 'dns', 'streaming', 'dns']);
  assert.ok('category.label' in named && 'category.confidence' in named);
  const unnamed = rows.find((x) => x.id_dst_addr === '198.51.100.9')!;
  assert.ok(['model', 'none'].includes(unnamed.category_source as string));
});
