import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * `veil classify --interface` stopped with Ctrl-C prints its summary. The terminal's SIGINT reaches the whole
 * process group (the bin/veil.js wrapper, veil, tcpdump) and the wrapper passes a second copy on; the second one
 * used to kill veil before the summary. Here on the loopback interface with real tcpdump.
 */
const VEIL = fileURLToPath(new URL('../../bin/veil.js', import.meta.url));
const canCapture = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v tcpdump']).status === 0;
const why = canCapture ? false : 'live capture needs root and tcpdump';
if (why) process.stderr.write(`NOTICE: skipping the Ctrl-C live test: ${why}\n`);

test('classify --interface lo: Ctrl-C (SIGINT to the process group) still prints the summary', { skip: why }, async () => {
  const server = createServer((s) => { s.on('data', () => s.end('bye\n')); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const veil = spawn(process.execPath, [VEIL, 'classify', '--interface', 'lo', '--filter', `tcp port ${port}`, '--no-defaults'], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  veil.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  veil.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  // 'close', not 'exit': the last lines (the summary) may still be in the pipes when the process has exited.
  const exited = new Promise<number | null>((r) => veil.on('close', (code) => r(code)));
  try {
    const ready = Date.now() + 30_000;
    while (!/classifying live traffic/.test(err) && Date.now() < ready) await new Promise((r) => setTimeout(r, 100));
    assert.match(err, /classifying live traffic on lo/);
    await new Promise((r) => setTimeout(r, 2000)); // tcpdump's filter is set once it says it listens
    // Connect until a flow shows in the output (under load tcpdump may start capturing late).
    const until = Date.now() + 20_000;
    while (out.trim().split('\n').length < 2 && Date.now() < until) {
      await new Promise<void>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => c.write('hello\n'));
        c.on('data', () => c.end());
        c.on('close', () => resolve());
        c.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 1500));
    }
    assert.ok(out.trim().split('\n').length >= 2, `no flow captured:\n${err}`);
    // What Ctrl-C does: SIGINT to the whole foreground group; the wrapper's forwarded copy arrives a moment later.
    process.kill(-veil.pid!, 'SIGINT');
    await new Promise((r) => setTimeout(r, 30));
    try { process.kill(-veil.pid!, 'SIGINT'); } catch { /* already gone */ }
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.notEqual(code, 'timeout', `veil did not stop:\n${err}`);
    // Under load tcpdump may miss the first connection before its filter is on: at least one flow, all summarised.
    const m = /\n(\d+) flows, /.exec(err);
    assert.ok(m && Number(m[1]) >= 1, `the summary after Ctrl-C (exit ${code}, signal ${veil.signalCode}):\n${err}`);
    assert.equal(out.trim().split('\n').length, 1 + Number(m[1]), 'a header and every flow the summary counts');
  } finally {
    if (veil.exitCode === null && veil.signalCode === null) { try { process.kill(-veil.pid!, 'SIGKILL'); } catch { /* gone */ } }
    server.close();
  }
});
