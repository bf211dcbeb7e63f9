import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The README's two commands on a fresh clone: `npm ci && npm start` until the server answers /readyz and
// classifies a committed capture through the API, then `npm test` to completion. The nested run sets
// VEIL_FRESH_CLONE so that it does not clone itself again.
// The nested `npm test` doubles the suite's time, and CI already runs `npm test` on a clean clone (.ci/run in a
// fresh clone of main), so it runs here only with VEIL_FRESH_CLONE_TESTS=1 (before a release, or when changing
// the set-up); the start command always runs.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const nested = Boolean(process.env.VEIL_FRESH_CLONE);
const skip = nested ? 'inside the fresh-clone run itself' : spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).status !== 0 ? 'not a git checkout' : false;

function readmeCommands(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /## Quick start[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  return block.trim().split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('the README names exactly two quick-start commands: set up and run, and the tests', () => {
  const cmds = readmeCommands();
  assert.deepEqual(cmds, ['npm ci && npm start', 'npm test']);
  const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
  assert.match(ci, /^npm test$/m, '.ci/run calls the README\'s test command');
});

const nestedTests = process.env.VEIL_FRESH_CLONE_TESTS === '1';
const title = nestedTests
  ? 'a fresh clone: npm ci && npm start serves and classifies a capture; npm test passes'
  : 'a fresh clone: npm ci && npm start serves and classifies a capture (npm test in it: VEIL_FRESH_CLONE_TESTS=1)';

test(title, { skip, timeout: 20 * 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-fresh-'));
  const clone = path.join(dir, 'veil');
  const procs: ChildProcess[] = [];
  try {
    assert.equal(spawnSync('git', ['clone', '--quiet', ROOT, clone]).status, 0, 'git clone');
    const [start, tests] = readmeCommands() as [string, string];
    // Port 8080 is the default; another server on this machine may hold it, then the same command gets a port.
    const cmd = (await portFree(8080)) ? start : `${start} -- --port 0`;
    const server = spawn('sh', ['-c', cmd], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    procs.push(server);
    let log = '';
    server.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    server.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    const base = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const m = /listening on (http:\/\/[^\s]+)/.exec(log);
        if (m) { clearInterval(t); resolve(m[1]!.replace(/\/$/, '')); }
      }, 250);
      server.once('exit', (code) => { clearInterval(t); reject(new Error(`npm start exited ${code}:\n${log.slice(-3000)}`)); });
    });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    const body = new FormData();
    body.append('file', new Blob([readFileSync(path.join(clone, 'test/fixtures/flow/scenario.pcap'))]), 'scenario.pcap');
    const job = (await (await fetch(`${base}/api/v1/jobs`, { method: 'POST', body })).json()) as { id: string };
    let state = '';
    for (let i = 0; i < 120 && state !== 'done' && state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      state = ((await (await fetch(`${base}/api/v1/jobs/${job.id}`)).json()) as { state: string }).state;
    }
    assert.equal(state, 'done');
    const results = (await (await fetch(`${base}/api/v1/jobs/${job.id}/results?limit=100`)).json()) as { columns: { name: string }[]; rows: unknown[][] };
    assert.ok(results.rows.length >= 7, 'the flows of the capture');
    // The shipped category model's answer, or 'unknown' with the support guard's reason (the scenario's flows are
    // synthetic: most are below the confidence the model needs).
    const at = (n: string): number => results.columns.findIndex((c) => c.name === n);
    const label = at('category.label'), reason = at('category.unknown_reason');
    assert.ok(label >= 0 && reason >= 0, results.columns.map((c) => c.name).join(','));
    for (const r of results.rows) {
      assert.match(String(r[label]), /^(ads_analytics|browsing|chat|cloud|file_transfer|gaming|mail|network_services|remote_access|social|software_update|streaming|voip|vpn|unknown)$/, 'answered by the shipped category model');
      assert.equal(r[label] === 'unknown', r[reason] !== null, 'a reason exactly for unknown answers');
    }
    process.kill(-server.pid!, 'SIGTERM');
    if (!nestedTests) {
      t.diagnostic('nested `npm test` not run (set VEIL_FRESH_CLONE_TESTS=1); CI runs it on a clean clone');
      return;
    }
    // NODE_TEST_CONTEXT would make the nested runner report to us in its binary protocol instead of TAP.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const run = spawnSync('sh', ['-c', tests], { cwd: clone, encoding: 'utf8', env: { ...env, VEIL_FRESH_CLONE: '1' }, maxBuffer: 256 << 20 });
    assert.equal(run.status, 0, `npm test in the clone failed:\n${(run.stdout + run.stderr).slice(-4000)}`);
    assert.match(run.stdout, /^# fail 0$/m);
  } finally {
    for (const p of procs) { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
});
