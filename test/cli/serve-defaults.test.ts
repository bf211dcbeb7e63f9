import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, deleteKeys, getJson, kill, makeBigCapture, postJob, sleep, spawnServe, spawnVeil, tempDir, uniquePrefix, until, waitFinal, type Proc,
} from '../service/helpers.ts';

/**
 * The server and its workers started as the README says: `veil serve` without --models loads the shipped models
 * (models/README.md), a `veil worker --redis URL` without --models resolves them too, and `npm start` stopped with
 * SIGTERM stops the server it started.
 */

const REDIS = 'redis://127.0.0.1:6379';

test('veil serve without --models loads the shipped category and vpn models', async () => {
  const tmp = tempDir();
  const { proc, url } = await spawnServe(['--data-dir', tmp.dir, '-q']);
  try {
    const r = await getJson(url, '/api/v1/models');
    assert.equal(r.status, 200);
    const names = JSON.stringify(r.body);
    for (const n of ['"category"', '"vpn"']) assert.ok(names.includes(n), `${n} in ${names.slice(0, 300)}`);
  } finally {
    await kill(proc, 'SIGTERM');
    tmp.cleanup();
  }
});

test('README: a worker started without --models finishes the jobs of a server started with --models models (no UNKNOWN_MODEL)', async () => {
  const tmp = tempDir();
  const prefix = uniquePrefix('readme');
  const procs: Proc[] = [];
  try {
    const { proc, url } = await spawnServe(['--redis', REDIS, '--prefix', prefix, '--data-dir', tmp.dir, '--models', path.join(REPO, 'models'), '-q']);
    procs.push(proc);
    const w = await spawnVeil(['worker', '--redis', REDIS, '--prefix', prefix, '--data-dir', tmp.dir, '--concurrency', '1']);
    procs.push(w);
    await w.line(/veil worker: processing/);
    const data = readFileSync(path.join(REPO, 'test/fixtures/flow/scenario.pcap'));
    const up = await postJob(url, { name: 'scenario.pcap', data });
    assert.equal(up.status, 202, JSON.stringify(up.body));
    const job = await waitFinal(url, up.body.id, 60_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const res = await getJson(url, `/api/v1/jobs/${up.body.id}/results?limit=5`);
    const cols = (res.body.columns as { name: string }[]).map((c) => c.name);
    assert.ok(cols.includes('category.label') && cols.includes('vpn.label'), cols.join(','));
  } finally {
    for (const p of procs.reverse()) await kill(p, 'SIGTERM');
    await deleteKeys(REDIS, prefix);
    tmp.cleanup();
  }
});

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('npm start stopped with SIGTERM stops the veil server it started', async () => {
  const tmp = tempDir();
  const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', tmp.dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  npm.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  let serverPid = 0;
  try {
    const line = await until('the server to listen', async () => /listening on \S+ .*pid (\d+)\)/.exec(out) ?? undefined, 60_000);
    serverPid = Number(line[1]);
    assert.ok(alive(serverPid));
    npm.kill('SIGTERM');
    await until('the veil server to stop', async () => (alive(serverPid) ? undefined : true), 15_000).catch(() => undefined);
    assert.equal(alive(serverPid), false, `the server (pid ${serverPid}) still runs after npm got SIGTERM:\n${out}`);
  } finally {
    if (serverPid && alive(serverPid)) { process.kill(serverPid, 'SIGKILL'); await sleep(200); }
    if (npm.exitCode === null) npm.kill('SIGKILL');
    tmp.cleanup();
  }
});

test('veil serve: Ctrl-C delivered twice (terminal and wrapper) still shuts down gracefully with exit code 0', async () => {
  const tmp = tempDir();
  const { proc, url } = await spawnServe(['--data-dir', tmp.dir, '--grace', '3']);
  try {
    // A job running during the shutdown keeps the server in its grace period when the second SIGINT arrives.
    const up = await postJob(url, { name: 'big.pcap', data: makeBigCapture(4000, 30) });
    assert.equal(up.status, 202);
    await until('the job to run', async () => ((await getJson(url, `/api/v1/jobs/${up.body.id}`)).body.state === 'running' ? true : undefined), 30_000);
    proc.child.kill('SIGINT');
    await sleep(200);
    proc.child.kill('SIGINT');
    const code = await proc.exited;
    assert.equal(code, 0, `exit code ${code}, signal ${proc.child.signalCode}:\n${proc.out().slice(-600)}`);
    assert.match(proc.out(), /SIGINT: finishing running jobs/);
  } finally {
    await kill(proc);
    tmp.cleanup();
  }
});
