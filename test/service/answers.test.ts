import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processJob } from '../../src/service/jobs/process.ts';
import { ResultReader } from '../../src/service/store/results.ts';
import { JobRegistry } from '../../src/service/store/registry.ts';
import type { JobPayload } from '../../src/service/jobs/types.ts';
import { makeCapture, tempDir } from './helpers.ts';

const payload = (id: string, partial = false): JobPayload => ({
  kind: 'veil-job', version: 1, id, input: { kind: 'capture', format: 'pcap', gzip: false }, file: `uploads/${id}.pcap`,
  inputName: 'cut.pcap', inputBytes: 1, models: [], labelColumn: null, partial, createdAt: Date.now(),
});
const ctx = (dataDir: string) => ({ dataDir, model: () => { throw new Error('no model'); }, onProgress: () => {} });

test('a job without models returns each flow\'s packets, bytes and duration in the answer layout', async () => {
  const t = tempDir();
  try {
    mkdirSync(path.join(t.dir, 'uploads'));
    writeFileSync(path.join(t.dir, 'uploads', 'jwhole0001.pcap'), makeCapture(5));
    const out = await processJob(payload('jwhole0001'), ctx(t.dir));
    assert.ok(out.ok, JSON.stringify(out));
    const r = ResultReader.open(t.dir, 'jwhole0001')!;
    try {
      const page = r.page({ offset: 0, limit: 10 });
      const names = page.columns.map((c) => c.name);
      assert.deepEqual(names.slice(0, 11), ['id_flow', 'id_src_addr', 'id_dst_addr', 'id_src_port', 'id_dst_port', 'id_protocol', 'id_ip_version', 'id_first_ts', 'id_last_ts', 'id_end_reason', 'id_capture']);
      assert.deepEqual(names.slice(11, 16), ['fwd_pkts', 'bwd_pkts', 'fwd_bytes', 'bwd_bytes', 'duration_us']);
      assert.deepEqual(names.slice(-5), ['app', 'app_source', 'category', 'category_source', 'category_confidence']);
      assert.equal(page.rows.length, 5);
      const at = (n: string) => names.indexOf(n);
      for (const row of page.rows) {
        assert.ok((row[at('fwd_pkts')] as number) > 0 && (row[at('bwd_bytes')] as number) > 0, 'packets and bytes');
        assert.ok((row[at('duration_us')] as number) > 0, 'duration');
      }
    } finally { r.close(); }
  } finally { t.cleanup(); }
});

test('a job failed by damage in its capture keeps the flows before the damage, readable beside the error', async () => {
  const t = tempDir();
  try {
    mkdirSync(path.join(t.dir, 'uploads'));
    const whole = makeCapture(5);
    writeFileSync(path.join(t.dir, 'uploads', 'jcut000001.pcap'), whole.subarray(0, whole.length - 30));
    const out = await processJob(payload('jcut000001'), ctx(t.dir));
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.equal(out.error.code, 'BAD_CAPTURE');
    assert.match(out.error.message, /cut\.pcap: truncated record: .* at byte offset \d+ \(the 5 flows before it are kept/);
    assert.equal(out.summary?.rows, 5);
    const r = ResultReader.open(t.dir, 'jcut000001');
    assert.ok(r, 'results committed');
    try { assert.equal(r!.total, 5); } finally { r!.close(); }
    // The registry keeps the summary of a failed job, so the API can show what it kept.
    const reg = new JobRegistry(t.dir);
    try {
      reg.insert(payload('jcut000001'));
      reg.fail('jcut000001', out.error.code, out.error.message, Date.now(), out.summary ?? null);
      const rec = reg.get('jcut000001')!;
      assert.equal(rec.state, 'failed');
      assert.equal(rec.summary?.rows, 5);
    } finally { reg.close(); }
  } finally { t.cleanup(); }
});

test('a job whose models were trained on different flow timeouts says which model is metered otherwise', async () => {
  const { loadModelFile } = await import('../../src/service/models/load.ts');
  const { withManifest } = await import('../model/manifest-helpers.ts');
  const { readFileSync } = await import('node:fs');
  const root = path.resolve(import.meta.dirname, '../..');
  const t = tempDir();
  try {
    mkdirSync(path.join(t.dir, 'uploads'));
    writeFileSync(path.join(t.dir, 'uploads', 'jmix000001.pcap'), makeCapture(4));
    const vpnBytes = new Uint8Array(readFileSync(path.join(root, 'models/vpn.veilmodel')));
    const longFile = path.join(t.dir, 'long.veilmodel');
    writeFileSync(longFile, withManifest(vpnBytes, (m) => { m.meter = { idleTimeoutS: 120, activeTimeoutS: 1800 }; }));
    const models = {
      vpn: await loadModelFile(path.join(root, 'models/vpn.veilmodel'), 'vpn'),
      long: await loadModelFile(longFile, 'long'),
    };
    const job = { ...payload('jmix000001'), models: [{ name: 'vpn', sha256: models.vpn.sha256 }, { name: 'long', sha256: models.long.sha256 }] };
    const out = await processJob(job, { ...ctx(t.dir), model: async (ref) => models[ref.name as 'vpn' | 'long'] });
    assert.ok(out.ok, JSON.stringify(out));
    if (!out.ok) return;
    assert.deepEqual(out.summary.warnings, [
      "model 'long' was trained on flows cut at idle 120 s, active 1800 s but the capture is metered with idle 15 s, active 15 s (as model 'vpn' records); its answers on longer flows may be off",
    ]);
  } finally { t.cleanup(); }
});
