import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { fuzzMutant } from '../dataset/table-fuzz.ts';
import { getJson, postJob, startTestServer, tempDir, waitFinal } from './helpers.ts';

/**
 * Hostile flow tables over HTTP (the security run's cases): each is refused with BAD_TABLE, at upload or as a
 * failed job, no rejection escapes, and the server keeps serving.
 */
let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
const strays: unknown[] = [];
const onUnhandled = (e: unknown): void => { strays.push(e); };

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  tmp = tempDir();
  srv = await startTestServer(tmp.dir);
});
after(async () => {
  await srv.close();
  tmp.cleanup();
  process.off('unhandledRejection', onUnhandled);
});

/** The upload's outcome: refused at once (400) or accepted and then failed; either way BAD_TABLE. */
async function refusedAsBadTable(name: string, data: Buffer): Promise<string> {
  const r = await postJob(srv.url, { name, data });
  let error: { code: string; message: string };
  if (r.status === 202) {
    const job = await waitFinal(srv.url, r.body.id);
    assert.equal(job.state, 'failed', `${name}: job state`);
    error = job.error;
  } else {
    assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
    error = r.body.error;
  }
  assert.equal(error.code, 'BAD_TABLE', `${name}: ${error.message}`);
  assert.equal((await getJson(srv.url, '/healthz')).status, 200);
  return error.message;
}

test('damaged Parquet uploads are BAD_TABLE and leave no read to fail after the upload is removed', async () => {
  // (The runaway decode, mutant 4, is in test/dataset/parquet-damage.test.ts: here it would run to the 20 s deadline.)
  for (const index of [32, 43, 57, 143]) await refusedAsBadTable(`m${index}.parquet`, fuzzMutant('parquet', index).bytes);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(strays.map(String), [], 'no unhandled rejection');
});

test('a tiny .csv.gz with a 400k-column header is refused at upload, naming the column count', async () => {
  const msg = await refusedAsBadTable('wide.csv.gz', gzipSync(`${'x,'.repeat(400_000)}x\n1\n`));
  assert.match(msg, /wide\.csv\.gz:1: \d+ columns, more than the limit of 4096/);
});

test('a .csv.gz whose header line inflates to 64 MiB is refused, naming the line', async () => {
  const gz = gzipSync(Buffer.concat([Buffer.from('a,b,'), Buffer.alloc(64 << 20, 0x63), Buffer.from('\n1,2,3\n')]), { level: 9 });
  const msg = await refusedAsBadTable('long.csv.gz', gz);
  assert.match(msg, /long\.csv\.gz:1: line longer than 1 MiB/);
});

test('a legitimate table whose header is wider than 64 KiB is accepted, plain and gzipped', async () => {
  const names = Array.from({ length: 4000 }, (_, i) => `feature_with_a_long_name_${i}`);
  const csv = Buffer.from(`${names.join(',')}\n${names.map((_, i) => i % 10).join(',')}\n`);
  assert.ok(csv.indexOf(0x0a) > 64 * 1024);
  for (const [name, data] of [['wide.csv', csv], ['wide.csv.gz', gzipSync(csv)]] as const) {
    const r = await postJob(srv.url, { name, data });
    assert.equal(r.status, 202, `${name}: ${JSON.stringify(r.body)}`);
    const job = await waitFinal(srv.url, r.body.id);
    assert.equal(job.state, 'done', `${name}: ${JSON.stringify(job.error)}`);
    assert.equal(job.summary.rows, 1);
  }
});

test('a label column named like a verdict column keeps its role under another name: no result column twice', async () => {
  const csv = Buffer.from('id_src_port,id_dst_port,id_protocol,tls_sni,category\n40000,443,6,www.netflix.com,streaming\n40001,53,17,,network_services\n');
  const r = await postJob(srv.url, { name: 'labelled.csv', data: csv }, { label: 'category', models: '' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await waitFinal(srv.url, r.body.id);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const res = await getJson(srv.url, `/api/v1/jobs/${r.body.id}/results`);
  const names = (res.body.columns as { name: string; role: string }[]).map((c) => `${c.name}:${c.role}`);
  assert.equal(new Set(names.map((n) => n.split(':')[0])).size, names.length, names.join(','));
  assert.ok(names.includes('true_category:label') && names.includes('category:metadata'), names.join(','));
  const at = (n: string) => names.findIndex((x) => x.startsWith(`${n}:`));
  assert.deepEqual(res.body.rows.map((row: unknown[]) => [row[at('true_category')], row[at('category')], row[at('app')]]),
    [['streaming', 'streaming', 'Netflix'], ['network_services', 'network_services', 'DNS']]);
});
