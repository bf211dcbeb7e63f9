import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VEIL = path.join(ROOT, 'bin/veil.js');

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const canCapture = process.getuid?.() === 0 && have('tcpdump') && have('curl') && have('openssl');
const why = canCapture ? false : 'live capture needs root, tcpdump, curl and openssl';
if (why) process.stderr.write(`NOTICE: skipping live capture test: ${why}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

/**
 * An openssl TLS server on a free loopback port and `veil ARGS --interface lo --filter 'tcp port P' -o OUT`
 * capturing it; once veil says `ready`, curl makes two TLS connections (SNI one.veil.test and two.veil.test), and
 * this waits until the second is in OUT. Returns the output file and the veil process (still capturing); the caller
 * kills `procs` when done.
 */
async function liveTlsRun(args: string[], ready: RegExp, procs: ChildProcess[]): Promise<{ out: string; veil: ChildProcess }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-live-'));
  const key = path.join(dir, 'k.pem'), cert = path.join(dir, 'c.pem'), out = path.join(dir, 'live.csv');
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=veil.test']);
  const port = await freePort();
  procs.push(spawn('openssl', ['s_server', '-accept', String(port), '-key', key, '-cert', cert, '-www', '-quiet'], { stdio: 'ignore' }));
  const veil = spawn(process.execPath, [VEIL, ...args, '--interface', 'lo', '--filter', `tcp port ${port}`, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(veil);
  let err = '';
  veil.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  // veil reports when tcpdump has opened the capture.
  assert.ok(await waitFor(() => ready.test(err), 10000), `capture started: ${err}`);
  for (const name of ['one.veil.test', 'two.veil.test']) {
    const c = spawnSync('curl', ['-sk', '--max-time', '5', '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`, '-o', '/dev/null']);
    assert.equal(c.status, 0, `curl ${name}`);
  }
  // Closed TCP flows are written a 5 s grace after their FINs (for the last ACK): well before the capture stops.
  const seen = await waitFor(() => existsSync(out) && /two\.veil\.test/.test(readFileSync(out, 'utf8')), 20000);
  assert.ok(seen, 'both flows written while capturing');
  return { out, veil };
}

test('live capture on loopback: a TLS connection made by curl is written with its SNI while the capture runs', { skip: why }, async () => {
  const procs: ChildProcess[] = [];
  try {
    const { out, veil } = await liveTlsRun(['extract', '--features', 'stats,handshake'], /capturing on lo/, procs);
    const text = readFileSync(out, 'utf8');
    const header = text.split('\n')[0]!.split(',');
    assert.ok(header.includes('tls_sni'));
    assert.match(text, /one\.veil\.test/);
    assert.equal(veil.exitCode, null, 'still capturing');
  } finally {
    for (const p of procs) p.kill('SIGINT');
  }
});

test('veil classify --interface: curl\'s TLS flows are classified with their SNI while the capture runs', { skip: why }, async () => {
  const procs: ChildProcess[] = [];
  try {
    const { out, veil } = await liveTlsRun(['classify'], /classifying live traffic on lo/, procs);
    const text = readFileSync(out, 'utf8');
    const header = text.split('\n')[0]!.split(',');
    assert.ok(header.includes('tls_sni') && header.includes('category') && header.includes('vpn.confidence'), header.join(','));
    const line = text.split('\n').find((l) => l.includes('one.veil.test'))!;
    assert.match(line, /,(ads_analytics|browsing|chat|cloud|file_transfer|gaming|mail|network_services|remote_access|social|software_update|streaming|voip|vpn|unknown),/, 'a category answer on the flow');
    assert.match(text, /one\.veil\.test/);
    assert.equal(veil.exitCode, null, 'still capturing');
  } finally {
    for (const p of procs) p.kill('SIGINT');
  }
});
