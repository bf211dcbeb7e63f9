import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { getJson, makeCapture, postJob, startTestServer, tempDir, until, waitFinal } from './helpers.ts';

/** The server tells what it does: a structured log line per job event, HTTP and process figures on /metrics. */

let srv: Awaited<ReturnType<typeof startTestServer>>;
let tmp: ReturnType<typeof tempDir>;
const lines: Record<string, unknown>[] = [];

before(async () => {
  tmp = tempDir('veil-obs-');
  srv = await startTestServer(path.join(tmp.dir, 'data'), {
    logStream: { write: (s: string) => { for (const l of s.split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>); } },
  });
});
after(async () => {
  await srv?.close();
  tmp?.cleanup();
});

const jobLines = (id: string): Record<string, unknown>[] => lines.filter((l) => l.job === id);

test('each job logs its start and its end as structured lines, a failed job its code and message', async () => {
  const ok = await postJob(srv.url, { name: 'ok.pcap', data: makeCapture(4) });
  assert.equal(ok.status, 202);
  await waitFinal(srv.url, ok.body.id);
  await until('the done line', async () => (jobLines(ok.body.id).some((l) => l.msg === 'job done') ? true : undefined), 5000);
  const okLines = jobLines(ok.body.id);
  const started = okLines.find((l) => l.msg === 'job started');
  assert.ok(started, JSON.stringify(okLines));
  assert.equal(started.attempt, 1);
  assert.equal(started.input, 'capture/pcap');
  assert.equal(started.level, 30);
  const done = okLines.find((l) => l.msg === 'job done')!;
  assert.equal(done.flows, 4);
  assert.equal(typeof done.durationMs, 'number');
  assert.ok(okLines.indexOf(started) < okLines.indexOf(done));

  // A gzipped capture is only walked in the job, so its damage fails the job, not the upload.
  const cap = makeCapture(4);
  const bad = await postJob(srv.url, { name: 'cut.pcap.gz', data: gzipSync(cap.subarray(0, cap.length - 37)) });
  assert.equal(bad.status, 202, JSON.stringify(bad.body));
  const job = await waitFinal(srv.url, bad.body.id);
  assert.equal(job.state, 'failed');
  await until('the failed line', async () => (jobLines(bad.body.id).some((l) => l.msg === 'job failed') ? true : undefined), 5000);
  const failed = jobLines(bad.body.id).find((l) => l.msg === 'job failed')!;
  assert.equal(failed.code, 'BAD_CAPTURE');
  assert.equal(failed.level, 40);
  // The message as the API gives it, but never the upload's file name (as for refused requests).
  assert.match(job.error.message, /cut\.pcap\.gz/);
  assert.doesNotMatch(JSON.stringify(jobLines(bad.body.id)), /cut\.pcap/);
  assert.match(String(failed.error), /<upload>/);
  assert.ok(jobLines(bad.body.id).some((l) => l.msg === 'job started'));
});

test('/metrics counts HTTP requests by route template and status, with latency, and shows the process figures', async () => {
  for (let i = 0; i < 3; i++) await getJson(srv.url, '/api/v1/jobs');
  await getJson(srv.url, '/api/v1/jobs/j000000000000000000000');
  await getJson(srv.url, '/api/v1/no/such/route');
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const value = (re: RegExp): number => {
    const m = re.exec(text);
    assert.ok(m, `${re} in\n${text}`);
    return Number(m[1]);
  };
  assert.ok(value(/^veil_http_requests_total\{method="GET",route="\/api\/v1\/jobs",status="200"\} (\d+)$/m) >= 3);
  assert.equal(value(/^veil_http_requests_total\{method="GET",route="\/api\/v1\/jobs\/:id",status="404"\} (\d+)$/m), 1);
  assert.equal(value(/^veil_http_requests_total\{method="GET",route="\(unmatched\)",status="404"\} (\d+)$/m), 1);
  assert.doesNotMatch(text, /j000000000000000000000|no\/such/, 'raw URLs never become labels');
  const count = value(/^veil_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/jobs"\} (\d+)$/m);
  assert.equal(value(/^veil_http_request_duration_seconds_bucket\{method="GET",route="\/api\/v1\/jobs",le="\+Inf"\} (\d+)$/m), count);
  assert.ok(value(/^veil_http_request_duration_seconds_sum\{method="GET",route="\/api\/v1\/jobs"\} ([\d.e-]+)$/m) > 0);
  assert.match(text, /^# TYPE veil_http_request_duration_seconds histogram$/m);
  assert.ok(value(/^process_cpu_seconds_total ([\d.]+)$/m) > 0);
  assert.ok(value(/^process_resident_memory_bytes (\d+)$/m) > 10e6);
  const used = value(/^nodejs_heap_size_used_bytes (\d+)$/m);
  assert.ok(used > 0 && used <= value(/^nodejs_heap_size_total_bytes (\d+)$/m));
  assert.ok(value(/^nodejs_eventloop_lag_p99_seconds ([\d.e-]+)$/m) >= 0);
  assert.ok(Math.abs(value(/^process_start_time_seconds (\d+)$/m) - (Date.now() / 1000 - process.uptime())) < 5);
});
