import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JobRegistry } from '../../src/service/store/registry.ts';
import { ResultReader, ResultWriter, resultsPath } from '../../src/service/store/results.ts';
import { sweep } from '../../src/service/store/sweeper.ts';
import { sniffInput } from '../../src/service/sniff.ts';
import type { JobPayload, JobSummary } from '../../src/service/jobs/types.ts';
import { makeCapture, startTestServer, tempDir } from './helpers.ts';
import { gzipSync } from 'node:zlib';

const summary = (rows: number): JobSummary => ({ rows, warnings: [], labelColumn: null, models: [], durationMs: 1 });
const payload = (id: string): JobPayload => ({
  kind: 'veil-job', version: 1, id, input: { kind: 'capture', format: 'pcap', gzip: false }, file: `uploads/${id}.pcap`,
  inputName: 'x.pcap', inputBytes: 1, models: [], labelColumn: null, partial: false, createdAt: Date.now(),
});

test('a retried job replaces its results instead of adding to them', () => {
  const t = tempDir();
  try {
    const cols = [{ name: 'id_flow', type: 'int' as const, role: 'identity' as const }];
    const first = new ResultWriter(t.dir, 'jabc12345', cols);
    for (let i = 1; i <= 5; i++) first.add([i]);
    first.commit(summary(5));
    // A second attempt (another worker, after a stall) writes the whole set again.
    const second = new ResultWriter(t.dir, 'jabc12345', cols);
    const abandoned = new ResultWriter(t.dir, 'jabc12345', cols);
    for (let i = 1; i <= 5; i++) { second.add([i]); abandoned.add([i]); }
    second.commit(summary(5));
    abandoned.abort();
    const r = ResultReader.open(t.dir, 'jabc12345')!;
    assert.equal(r.total, 5);
    assert.deepEqual(r.page({ offset: 0, limit: 10 }).rows.map((x) => x[0]), [1, 2, 3, 4, 5]);
    r.close();
    assert.deepEqual(readdirSync(path.dirname(resultsPath(t.dir, 'x'))), ['jabc12345.sqlite'], 'no temporary file left');
  } finally {
    t.cleanup();
  }
});

test('retention deletes finished jobs past the period and files no job owns', () => {
  const t = tempDir();
  const reg = new JobRegistry(t.dir);
  try {
    for (const id of ['jold000001', 'jnew000001', 'jrun000001']) reg.insert(payload(id));
    reg.finish('jold000001', summary(1), Date.now() - 3 * 3600_000);
    reg.finish('jnew000001', summary(1));
    const w = new ResultWriter(t.dir, 'jold000001', []);
    w.commit(summary(1));
    const orphan = path.join(t.dir, 'results', 'jgone00001.sqlite');
    writeFileSync(orphan, 'x');
    utimesSync(orphan, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    const r = sweep(reg, t.dir, 3600_000);
    assert.deepEqual(r, { expired: 1, orphans: 1 });
    assert.equal(reg.get('jold000001'), null);
    assert.ok(!existsSync(resultsPath(t.dir, 'jold000001')));
    assert.ok(reg.get('jnew000001'));
    assert.equal(reg.get('jrun000001')?.state, 'queued', 'unfinished jobs are never expired');
  } finally {
    reg.close();
    t.cleanup();
  }
});

test('retention spares a running job\'s old temporary results, start-up removes partial uploads, expired names leave no trace on disk', () => {
  const t = tempDir();
  const reg = new JobRegistry(t.dir);
  try {
    const old = new Date(Date.now() - 2 * 3600_000);
    reg.insert({ ...payload('jlong00001'), inputName: 'long-running.pcap' });
    reg.claimNext();
    const tmpRes = path.join(t.dir, 'results', 'jlong00001.abcdef.tmp');
    mkdirSync(path.dirname(tmpRes), { recursive: true });
    writeFileSync(tmpRes, 'x');
    utimesSync(tmpRes, old, old);
    mkdirSync(path.join(t.dir, 'uploads'), { recursive: true });
    const part = path.join(t.dir, 'uploads', 'jdead00001.part');
    writeFileSync(part, 'half an upload');
    assert.deepEqual(sweep(reg, t.dir, 3600_000), { expired: 0, orphans: 0 }, 'a young partial upload may still be arriving');
    assert.ok(existsSync(tmpRes), 'the running job keeps its temporary results');
    assert.deepEqual(sweep(reg, t.dir, 3600_000, Date.now(), { startup: true }), { expired: 0, orphans: 1 });
    assert.ok(!existsSync(part), 'at start-up no upload is in progress');
    assert.ok(existsSync(tmpRes));

    reg.insert({ ...payload('jsecret001'), inputName: 'secret-capture-name.pcap' });
    reg.finish('jsecret001', summary(1), Date.now() - 3 * 3600_000);
    assert.equal(sweep(reg, t.dir, 3600_000).expired, 1);
    for (const f of readdirSync(t.dir).filter((n) => n.startsWith('veil.db'))) {
      assert.ok(!readFileSync(path.join(t.dir, f)).includes('secret-capture-name'), `${f} holds no expired input name`);
    }
  } finally {
    reg.close();
    t.cleanup();
  }
});

test('the sniffer judges bytes, not names: pcap, pcapng, gzip, parquet, csv, jsonl, arff', () => {
  assert.deepEqual(sniffInput(makeCapture(1)), { kind: 'capture', format: 'pcap', gzip: false });
  assert.deepEqual(sniffInput(gzipSync(makeCapture(1))), { kind: 'capture', format: 'pcap', gzip: true });
  assert.deepEqual(sniffInput(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0])), { kind: 'capture', format: 'pcapng', gzip: false });
  assert.deepEqual(sniffInput(Buffer.from('PAR1....')), { kind: 'table', format: 'parquet', gzip: false });
  assert.deepEqual(sniffInput(Buffer.from('a,b\n1,2\n')), { kind: 'table', format: 'csv', gzip: false });
  assert.deepEqual(sniffInput(Buffer.from('{"a":1}\n')), { kind: 'table', format: 'jsonl', gzip: false });
  assert.deepEqual(sniffInput(Buffer.from('% c\n@RELATION x\n')), { kind: 'table', format: 'arff', gzip: false });
  assert.equal(sniffInput(Buffer.from('just words')), null);
  assert.equal(sniffInput(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])), null, 'an ELF binary is not a table');
});

test('the server refuses to listen beyond loopback without API keys', async () => {
  const t = tempDir();
  try {
    await assert.rejects(startTestServer(t.dir, { host: '0.0.0.0' }), /refusing to listen on 0\.0\.0\.0 without API keys/);
  } finally {
    t.cleanup();
  }
});

test('a job that was running at each of its last starts fails with JOB_CRASHED and the queue behind it runs', () => {
  const t = tempDir();
  try {
    const reg = new JobRegistry(t.dir);
    reg.insert(payload('jkiller01'));
    reg.insert({ ...payload('jbehind01'), createdAt: Date.now() + 1 });
    const finals: string[] = [];
    reg.onFinal((j) => finals.push(`${j.id}:${j.state}`));
    // Three starts: each claims the oldest job, which "kills the process" (it stays marked running).
    for (let start = 1; start <= 3; start++) {
      const r = reg.resetRunning(3);
      assert.deepEqual(r, { resumed: start === 1 ? 0 : 1, failed: 0 }, `start ${start}`);
      const claim = reg.claimNext();
      assert.equal(claim?.payload.id, 'jkiller01');
      assert.equal(claim?.attempts, start);
    }
    assert.deepEqual(reg.resetRunning(3), { resumed: 0, failed: 1 });
    const dead = reg.get('jkiller01')!;
    assert.equal(dead.state, 'failed');
    assert.equal(dead.error?.code, 'JOB_CRASHED');
    assert.match(dead.error!.message, /3 time/);
    assert.deepEqual(finals, ['jkiller01:failed'], 'its upload is released like any final job');
    assert.equal(reg.claimNext()?.payload.id, 'jbehind01', 'the next job runs');
    // A graceful hand-back does not use up an attempt.
    reg.handBack('jbehind01');
    assert.equal(reg.claimNext()?.attempts, 1);
    reg.close();
  } finally {
    t.cleanup();
  }
});
