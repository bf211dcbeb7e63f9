// Live capture rate: the highest packet rate a live source takes with no loss, for 1 and 2 worker threads, against
// ndpiReader reading the same interface, in one run.
//
// tcpreplay sends the real-traffic mix (make-mix-pcap.sh of ../shared/data/ndpi, built into /work/bench-data-live/ if
// missing) from one end of a veth pair inside a private network namespace; the other end, in this namespace, is
// captured. At each rate (rising; a trial sends RATE x --seconds packets, the capture looped) a tool passes when it
// saw every packet sent (Veil: the packets its workers parsed, and tcpdump's kernel drop counter stays 0; ndpiReader:
// its "packets total"). Veil runs the whole live path: tcpdump -> chunk ring -> N workers metering their shards with
// the full and the cut meter (early verdicts at --early packets) and classifying with the shipped models.
//
// usage (root): node --import tsx bench/live-rate.ts [--pcap FILE] [--seconds 4] [--rates 2500,5000,...] [--early 10]
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LiveSource } from '../src/live/source.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const { values: v } = parseArgs({
  options: {
    pcap: { type: 'string', default: '/work/bench-data-live/mix4.pcap' },
    seconds: { type: 'string', default: '4' },
    rates: { type: 'string', default: '2500,5000,10000,15000,20000,30000,40000,60000,80000,120000' },
    early: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1,2' },
  },
});
const seconds = Number(v.seconds);
const rates = v.rates!.split(',').map(Number);
const early = Number(v.early);
const NS = `veilrate${process.pid}`, CAP = `vrc${process.pid % 100000}`, SEND = `vrs${process.pid % 100000}`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (process.getuid?.() !== 0) { console.error('live-rate: needs root (network namespace, capture)'); process.exit(2); }
for (const t of ['tcpreplay', 'tcpdump', 'ndpiReader', 'ip']) {
  try { sh('sh', ['-c', `command -v ${t}`]); } catch { console.error(`live-rate: ${t} is not installed`); process.exit(2); }
}
if (!existsSync(v.pcap!)) {
  console.error(`live-rate: building ${v.pcap} (make-mix-pcap.sh, 4 copies)`);
  execFileSync('bash', [path.join(REPO, '../shared/bench/make-mix-pcap.sh'), v.pcap!, '4'], { stdio: 'inherit' });
}

function setup(): void {
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['link', 'add', CAP, 'type', 'veth', 'peer', 'name', SEND]);
  sh('ip', ['link', 'set', SEND, 'netns', NS]);
  // Some frames of the mix are larger than 1500 bytes (captured with offloads): a veth carries up to 64 KB.
  sh('ip', ['link', 'set', CAP, 'mtu', '65000', 'up']);
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', SEND, 'mtu', '65000', 'up']);
  // No IPv6 on the captured end: its own router solicitations would be counted as received.
  try { sh('sysctl', ['-q', '-w', `net.ipv6.conf.${CAP}.disable_ipv6=1`]); } catch { /* no IPv6 */ }
}
function teardown(): void {
  try { sh('ip', ['link', 'del', CAP]); } catch { /* gone */ }
  try { sh('ip', ['netns', 'del', NS]); } catch { /* gone */ }
}
process.on('exit', teardown);
process.on('SIGINT', () => process.exit(130));

/** Sends `rate` x seconds packets of the mix (looped); returns the packets sent and the rate tcpreplay achieved.
 * Asynchronous: the live source reads its capture on this thread, which must not block meanwhile. */
async function replay(rate: number): Promise<{ sent: number; pps: number }> {
  const { stdout: out } = await promisify(execFile)('ip', ['netns', 'exec', NS, 'tcpreplay', '-i', SEND, '--pps', String(rate), '--loop', '0', '--limit', String(Math.round(rate * seconds)), v.pcap!], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const sent = Number(/Successful packets:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const pps = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out)?.[1] ?? 0);
  return { sent, pps };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trial { rate: number; pps: number; sent: number; seen: number; drops: number; ok: boolean }

async function veil(workers: number): Promise<Trial[]> {
  const models = ['category', 'vpn'].map((c) => ({ column: c, file: path.join(REPO, 'models', `${c}.veilmodel`) })).filter((m) => existsSync(m.file));
  const src = new LiveSource({ iface: CAP, workers, early, models, meter: { table: { idleTimeoutUs: 15e6, activeTimeoutUs: 120e6 } }, onRecords: () => {} });
  await src.start();
  const trials: Trial[] = [];
  try {
    for (const rate of rates) {
      await sleep(1500);
      const base = src.stats().packets;
      const drop0 = (await src.refreshCaptureStats())?.droppedByKernel ?? 0;
      const { sent, pps } = await replay(rate);
      // Wait for the workers to drain: their packet count stops moving.
      let last = -1, seen = 0;
      for (let i = 0; i < 60; i++) {
        await sleep(700);
        seen = src.stats().packets - base;
        if (seen === last && seen >= sent) break;
        if (seen === last && i > 6) break;
        last = seen;
      }
      const drops = ((await src.refreshCaptureStats())?.droppedByKernel ?? 0) - drop0;
      const t: Trial = { rate, pps, sent, seen, drops, ok: seen >= sent && drops === 0 };
      trials.push(t);
      console.error(`veil ${workers} worker(s): ${rate} pps asked, ${Math.round(pps)} sent/s: ${sent} sent, ${seen} seen, ${drops} kernel drops${t.ok ? '' : '  LOSS'}`);
      if (!t.ok) break;
    }
  } finally {
    await src.stop();
  }
  return trials;
}

async function ndpi(): Promise<Trial[]> {
  const trials: Trial[] = [];
  for (const rate of rates) {
    const p = spawn('ndpiReader', ['-i', CAP], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    await sleep(1500);
    const { sent, pps } = await replay(rate);
    await sleep(1500);
    const exited = new Promise((r) => p.once('close', r));
    p.kill('SIGINT');
    await exited;
    const seen = Number(/of (\d+) packets total/.exec(out)?.[1] ?? 0);
    const t: Trial = { rate, pps, sent, seen, drops: Math.max(0, sent - seen), ok: seen >= sent };
    trials.push(t);
    console.error(`ndpiReader: ${rate} pps asked, ${Math.round(pps)} sent/s: ${sent} sent, ${seen} seen${t.ok ? '' : '  LOSS'}`);
    if (!t.ok) break;
  }
  return trials;
}

setup();
const best = (ts: Trial[]) => { const ok = ts.filter((t) => t.ok); return ok.length ? ok[ok.length - 1]! : null; };
const results: { name: string; trials: Trial[] }[] = [];
for (const w of v.workers!.split(',').map(Number)) results.push({ name: `veil live, ${w} worker${w > 1 ? 's' : ''}`, trials: await veil(w) });
results.push({ name: 'ndpiReader -i', trials: await ndpi() });
teardown();

const mix = sh('capinfos', ['-c', '-s', v.pcap!]).split('\n').filter((l) => /Number of packets|File size/.test(l)).map((l) => l.replace(/\s+/g, ' ')).map((l) => l.trim()).join(', ');
console.log(`\nlive-rate: ${path.basename(v.pcap!)} (${mix}) replayed by tcpreplay onto a veth in a private namespace, ${seconds} s a rate; early verdicts at ${early} packets, shipped models`);
console.log('tool                     highest rate with no loss (asked / achieved pps)   first rate with loss (seen / sent)');
const ndpiBest = best(results.at(-1)!.trials);
for (const r of results) {
  const b = best(r.trials);
  const fail = r.trials.find((t) => !t.ok);
  console.log(`${r.name.padEnd(24)} ${b ? `${b.rate} / ${Math.round(b.pps)}` : 'none'}`.padEnd(76) +
    (fail ? `${fail.rate}: ${fail.seen} / ${fail.sent}${fail.drops ? ` (${fail.drops} dropped)` : ''}` : `none up to ${rates.at(-1)}`));
}
for (const r of results.slice(0, -1)) {
  const b = best(r.trials);
  if (b && ndpiBest) console.log(`ratio ${r.name} / ndpiReader (highest no-loss rate): ${(b.rate / ndpiBest.rate).toFixed(2)}`);
}
