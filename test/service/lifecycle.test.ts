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
      await assert.rejects(startTestServer(tmp.dir), (e: Error & { code?: string }) => e.code === 'DATA_DIR_IN_USE' && /in use by another veil server/.test(e.message));
      assert.equal((await getJson(a.url, '/readyz')).status, 200, 'the first server serves on');
    } finally {
      await a.close();
    }
    // A process holding the lock is refused to others while it lives, and its lock dies with it (SIGKILL).
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e',
      `import('${path.join(REPO, 'src/service/store/lock.ts')}').then((m) => { m.DataDirLock.acquire(${JSON.stringify(tmp.dir)}); console.log('held'); setInterval(() => {}, 1000); })`], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => holder.stdout!.on('data', (d: Buffer) => { if (String(d).includes('held')) r(); }));
    await assert.rejects(startTestServer(tmp.dir), /in use by another veil server/);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const b = await startTestServer(tmp.dir);
    await b.close();
    // A lock file of an older Veil (a pid in text) holds nothing.
    writeFileSync(path.join(tmp.dir, 'veil.lock'), '12345\n');
    const c = await startTestServer(tmp.dir);
    await c.close();
  } finally {
    tmp.cleanup();
  }
});

test('SIGKILL of the bin/veil.js wrapper takes the server with it, even with its event loop blocked; a restart on the same data dir works', async () => {
  const tmp = tempDir();
  // SIGUSR2 makes the server's main thread spin for ever (as a hostile input once did): only the watchdog thread can act.
  const blocker = path.join(tmp.dir, 'block.mjs');
  writeFileSync(blocker, "process.on('SIGUSR2', () => { for (;;) {} });\n");
  const wrapper = spawn(process.execPath, [path.join(REPO, 'bin/veil.js'), 'serve', '--port', '0', '--data-dir', path.join(tmp.dir, 'data'), '-q'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: `--import ${blocker}` },
  });
  try {
    let out = '';
    wrapper.stdout!.on('data', (d) => (out += d));
    const line = await until('the server to listen', async () => /listening on (http:\S+).*pid (\d+)/.exec(out) ?? undefined, 60_000);
    const pid = Number(line[2]);
    assert.notEqual(pid, wrapper.pid, 'the server runs in the wrapper\'s child');
    process.kill(pid, 'SIGUSR2');
    await until('the server to stop answering', async () => {
      const ok = await fetch(`${line[1]}/healthz`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false);
      return ok ? undefined : true;
    }, 10_000);
    wrapper.kill('SIGKILL');
    await until('the server process to exit', async () => (alive(pid) ? undefined : true), 15_000);
    const again = await spawnServe(['--data-dir', path.join(tmp.dir, 'data'), '-q']);
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

test('a server that cannot listen (port taken) stops what it started and releases the data dir', async () => {
  const tmp = tempDir();
  const a = await startTestServer(path.join(tmp.dir, 'a'));
  try {
    const port = Number(new URL(a.url).port);
    await assert.rejects(startTestServer(path.join(tmp.dir, 'b'), { port }), /EADDRINUSE|address already in use/);
    const b = await startTestServer(path.join(tmp.dir, 'b'));
    assert.equal((await getJson(b.url, '/readyz')).status, 200, 'the data dir was released, its registry closed');
    await b.close();
  } finally {
    await a.close();
    tmp.cleanup();
  }
});
