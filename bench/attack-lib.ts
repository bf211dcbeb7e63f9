/**
 * What the attack benches (bench/attack.ts, bench/attack-train.ts) share: a `veil serve` child on loopback, killed
 * with the bench; its resident memory; its own event-loop lag metric; a gzip bomb.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { makeCapture } from '../test/service/helpers.ts';

export const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface Server { proc: ChildProcess; pid: number; url: string; port: number; out: () => string }

const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Starts `veil serve --port 0` on `dataDir` and waits for its "listening" line. */
export async function serve(args: string[], dataDir: string): Promise<Server> {
  const proc = spawn(process.execPath, [path.join(REPO, 'bin/veil.js'), 'serve', '--port', '0', '--data-dir', dataDir, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  for (;;) {
    const m = /listening on (http:\S+).*pid (\d+)/.exec(out);
    if (m) return { proc, pid: Number(m[2]), url: m[1]!, port: Number(new URL(m[1]!).port), out: () => out };
    if (proc.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`veil serve did not start:\n${out}`);
    await sleep(50);
  }
}

/** Resident memory of a process, in bytes (0 once it is gone). */
export function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch { return 0; }
}

/** The server's own longest event-loop delay since the previous scrape (the scrape resets it), in ms. */
export async function loopLag(srv: Server, key: string): Promise<number> {
  const t = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text()).catch(() => '');
  return Number(/^veil_eventloop_lag_max_seconds (\S+)/m.exec(t)?.[1] ?? NaN) * 1000;
}

/** A pcap.gz of zero-filled records inflating to `inflated` bytes (about a thousandth of that on the wire). */
export async function gzipBomb(inflated: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((r) => gz.on('end', r));
  gz.write(makeCapture(1).subarray(0, 24));
  const rec = Buffer.alloc(16 + 60);
  rec.writeUInt32LE(60, 8);
  rec.writeUInt32LE(60, 12);
  const chunk = Buffer.concat(Array.from({ length: 13_000 }, () => rec));
  for (let n = 24; n < inflated; n += chunk.length) {
    if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
