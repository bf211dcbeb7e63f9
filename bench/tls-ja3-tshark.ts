/**
 * JA3 agreement with tshark: for every flow in which tshark dissects a ClientHello, compare tshark's
 * `tls.handshake.ja3` of the first one with our record's ja3Hash (same endpoints). Needs tshark on PATH.
 *
 *   node --import tsx bench/tls-ja3-tshark.ts [glob-dir] [--verbose]
 *
 * Default captures: ../shared/data/ndpi/pcap/*tls*.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackCapture } from './tls-flows.ts';

export interface Ja3Outcome {
  capture: string;
  flow: string;
  tshark: string;
  ours: string;
}

export interface Ja3Report {
  outcomes: Ja3Outcome[];
  agreed: number;
  total: number;
  rate: number;
  /** Flows where we produced a JA3 and tshark did not. */
  extra: number;
}

function key(a: string, ap: string, b: string, bp: string): string {
  return a < b || (a === b && ap <= bp) ? `${a}:${ap}|${b}:${bp}` : `${b}:${bp}|${a}:${ap}`;
}

function tsharkJa3(file: string): Map<string, string> {
  // tshark exits non-zero on a cut-off capture after printing what it read: keep its output either way.
  const out = spawnSync('tshark', [
    '-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-E', 'occurrence=f',
    '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'udp.srcport',
    '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'udp.dstport', '-e', 'tls.handshake.ja3',
  ], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).stdout ?? '';
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const f = line.split('\t');
    if (f.length < 9) continue;
    const [s4, s6, stp, sup, d4, d6, dtp, dup, ja3] = f as [string, string, string, string, string, string, string, string, string];
    if (!ja3) continue;
    const k = key(s4 || s6, stp || sup, d4 || d6, dtp || dup);
    if (!m.has(k)) m.set(k, ja3);
  }
  return m;
}

export async function runJa3Check(files: string[], log: (s: string) => void = () => {}): Promise<Ja3Report> {
  const outcomes: Ja3Outcome[] = [];
  let extra = 0;
  for (const file of files) {
    const capture = path.basename(file);
    const want = tsharkJa3(file);
    const { flows } = await trackCapture(file);
    const ours = new Map<string, string>();
    for (const f of flows) {
      if (f.record.ja3Hash === '') continue;
      const k = key(f.src, String(f.sport), f.dst, String(f.dport));
      if (!ours.has(k)) ours.set(k, f.record.ja3Hash);
    }
    let ok = 0;
    for (const [k, ja3] of want) {
      const got = ours.get(k) ?? '';
      if (got === ja3) ok++;
      else log(`  MISS ${capture} ${k} tshark ${ja3} ours '${got}'`);
      outcomes.push({ capture, flow: k, tshark: ja3, ours: got });
    }
    for (const k of ours.keys()) {
      if (want.has(k)) continue;
      extra++;
      log(`  ONLY-US ${capture} ${k} ours ${ours.get(k)}`);
    }
    log(`${capture}: ${ok}/${want.size}`);
  }
  const agreed = outcomes.filter((o) => o.tshark === o.ours).length;
  return { outcomes, agreed, total: outcomes.length, rate: outcomes.length ? agreed / outcomes.length : 0, extra };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const dir = args[0] ?? path.resolve(fileURLToPath(new URL('../../shared/data/ndpi/pcap', import.meta.url)));
  const all = args[0] !== undefined && args[0].includes('*') ? [] : readdirSync(dir);
  const files = all.filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f) && (args[1] === 'all' || f.includes('tls')))
    .sort().map((f) => path.join(dir, f));
  const r = await runJa3Check(files, (s) => console.log(s));
  console.log(`\nJA3 agreement with tshark: ${r.agreed}/${r.total} = ${(100 * r.rate).toFixed(1)}% `
    + `(${r.extra} flows with a JA3 only from us) over ${files.length} captures`);
}
