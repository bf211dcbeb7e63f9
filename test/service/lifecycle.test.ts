import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, getJson, kill, spawnServe, startTestServer, tempDir, until } from './helpers.ts';

/**
 * The server's process life: one server per data directory, no orphan when the bin/veil.js wrapper is killed,
 * and a stray rejected promise does not take the server down.
 */

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('a second server on the same data dir is refused before it touches the jobs; a stale lock is taken over', async () => {
  const tmp = tempDir();
  try {
    const a = await startTestServer(tmp.dir);
    try {
      await assert.rejects(startTestServer(tmp.dir), (e: Error & { code?: string }) => e.code === 'DATA_DIR_IN_USE' && /in use by another veil server \(pid \d+\)/.test(e.message));
      assert.equal((await getJson(a.url, '/readyz')).status, 200, 'the first server serves on');
    } finally {
      await a.close();
    }
    // A lock left by a killed server (its pid no longer runs) does not keep the next one out.
    const dead = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((r) => dead.on('exit', () => r(dead.pid!)));
    writeFileSync(path.join(tmp.dir, 'veil.lock'), `${deadPid}\n`);
    const b = await startTestServer(tmp.dir);
    await b.close();
  } finally {
    tmp.cleanup();
  }
});

test('SIGKILL of the bin/veil.js wrapper takes the server with it, and a restart on the same data dir works', async () => {
  const tmp = tempDir();
  const wrapper = spawn(process.execPath, [path.join(REPO, 'bin/veil.js'), 'serve', '--port', '0', '--data-dir', tmp.dir, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    wrapper.stdout!.on('data', (d) => (out += d));
    const line = await until('the server to listen', async () => /listening on (http:\S+).*pid (\d+)/.exec(out) ?? undefined, 60_000);
    const pid = Number(line[2]);
    assert.notEqual(pid, wrapper.pid, 'the server runs in the wrapper\'s child');
    wrapper.kill('SIGKILL');
    await until('the server process to exit', async () => (alive(pid) ? undefined : true), 15_000);
    const again = await spawnServe(['--data-dir', tmp.dir, '-q']);
    try {
      assert.equal((await getJson(again.url, '/readyz')).status, 200);
    } finally {
      await kill(again.proc, 'SIGTERM');
    }
  } finally {
    wrapper.kill('SIGKILL');
    tmp.cleanup();
  }
});

test('a stray unhandled rejection is logged and the server serves on', async () => {
  const tmp = tempDir();
  const stray = path.join(tmp.dir, 'stray.mjs');
  writeFileSync(stray, "process.on('SIGUSR2', () => { Promise.reject(new Error('a stray read failed')); });\n");
  const srv = await spawnServe(['--data-dir', path.join(tmp.dir, 'data')], {}, ['--import', stray]);
  try {
    srv.proc.child.kill('SIGUSR2');
    await srv.proc.line(/unhandled rejection \(the server goes on\).*a stray read failed/, 20_000);
    assert.equal((await getJson(srv.url, '/readyz')).status, 200);
    assert.equal(srv.proc.child.exitCode, null);
  } finally {
    await kill(srv.proc, 'SIGTERM');
    tmp.cleanup();
  }
});
