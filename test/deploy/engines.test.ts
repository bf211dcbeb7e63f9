import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * package.json says Node >= 20; every locked package must say so too, or `npm ci` warns EBADENGINE on Node 20
 * (content-disposition 3 and cookie 2 want Node 22: package.json overrides pin 2.0.1 and 1.1.1, same API, Node 18+).
 */
const read = (p: string) => JSON.parse(readFileSync(fileURLToPath(new URL(p, import.meta.url)), 'utf8'));

type V = [number, number, number];
function parse(v: string): V {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split('.').map((x) => (x === 'x' || x === '*' ? 0 : Number(x)));
  return [a, b, c];
}
const cmp = (a: V, b: V) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `v` satisfies an engines range of the forms npm packages use: ||, >=, >, <, <=, ^, N, N.x, N.M. */
export function satisfies(v: string, range: string): boolean {
  const x = parse(v);
  if (range.trim() === '*' || range.trim() === '') return true;
  return range.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split('||').some((set) => set.trim().split(/\s+/).filter(Boolean).every((c) => {
    const m = /^(>=|<=|>|<|\^|~|=)?\s*v?([\d.x*]+)$/.exec(c);
    if (!m) return false;
    const [op, ver] = [m[1] ?? '', m[2]!];
    const y = parse(ver);
    const parts = ver.split('.').filter((p) => p !== 'x' && p !== '*').length;
    if (op === '>=') return cmp(x, y) >= 0;
    if (op === '>') return cmp(x, y) > 0;
    if (op === '<') return cmp(x, y) < 0;
    if (op === '<=') return cmp(x, y) <= 0;
    if (op === '^') return cmp(x, y) >= 0 && x[0] === y[0];
    if (op === '~') return cmp(x, y) >= 0 && x[0] === y[0] && x[1] === y[1];
    // A bare version: equal in the parts it gives (20 = 20.x.x).
    return x.slice(0, Math.max(1, parts)).every((n, i) => n === y[i]);
  }));
}

test('the engines range check reads the forms packages use', () => {
  assert.ok(satisfies('20.0.0', '18 || 20 || >=22'));
  assert.ok(!satisfies('20.20.2', '>=22'));
  assert.ok(satisfies('20.1.0', '20.x || 22.x'));
  assert.ok(!satisfies('21.0.0', '20 || >=22'));
  assert.ok(satisfies('20.0.0', '>= 10') && satisfies('20.0.0', '>=14.0.0 <25') && satisfies('20.0.0', '*'));
});

test('every locked package runs on the Node versions package.json promises (no EBADENGINE on Node 20)', () => {
  const pkg = read('../../package.json');
  // What npm compares: the running Node (a Node 20 here, as package.json promises) against each package's engines.
  const lowest = process.versions.node;
  assert.ok(satisfies(lowest, pkg.engines.node), `this Node ${lowest} is one package.json promises (${pkg.engines.node})`);
  const lock = read('../../package-lock.json');
  const bad: string[] = [];
  for (const [where, p] of Object.entries(lock.packages as Record<string, { version?: string; engines?: { node?: string } | string[] }>)) {
    const node = !Array.isArray(p.engines) ? p.engines?.node : undefined;
    if (where && node && !satisfies(lowest!, node)) bad.push(`${where.replace(/^.*node_modules\//, '')}@${p.version} wants node ${node}`);
  }
  assert.deepEqual(bad, []);
});
