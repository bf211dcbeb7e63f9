/**
 * Flow meter correctness against nDPI: for every capture in ../shared/data/ndpi/pcap, meters the flows and matches
 * them to the flows nDPI listed in result/<capture>.out by protocol and endpoints, then compares packets and bytes
 * per direction. Prints the agreement rate and each kind of disagreement.
 *
 *   node --import tsx bench/ndpi-compare.ts [NDPI_DIR] [--verbose]
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFlows } from '../src/flow/meter.ts';
import type { FlowTableOptions } from '../src/flow/table.ts';

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPV6: 58, IGMP: 2, ESP: 50, PGM: 113, PIM: 103, VRRP: 112, GRE: 47, SCTP: 132 };

export interface NdpiFlow {
  proto: number;
  a: string; ap: number; b: string; bp: number;
  pkts: [number, number]; bytes: [number, number];
  /** Handshake facts nDPI printed ('' when absent). */
  ja3c: string; ja4: string; sni: string;
}

interface OurFlow { proto: number; src: string; sport: number; dst: string; dport: number; pkts: [number, number]; bytes: [number, number]; end: string; ja3c: string; ja4: string; sni: string }

/** Agreement on a handshake field over the matched flows where nDPI printed a value. */
export interface FieldAgreement { compared: number; equal: number; examples: string[]; kinds: Record<string, number> }

/**
 * Why two JA4 strings differ, in the terms of the JA4 spec (FoxIO technical_details/JA4.md): character 4 is 'd' when
 * the ClientHello has an SNI extension and 'i' when not; characters 9-10 are the first and last characters of the
 * first ALPN value ('h1' for http/1.1). nDPI 4.x gets both wrong in places ('ht' for http/1.1: its first two
 * characters; the SNI flag from its own host-name guess rather than the extension).
 */
export function ja4DifferenceKind(ndpi: string, ours: string): string {
  if (!ours) return 'no ClientHello parsed by Veil';
  if (ndpi.length !== ours.length) return 'other';
  const kinds: string[] = [];
  if (ndpi[3] !== ours[3]) kinds.push('SNI flag d/i');
  if (ndpi.slice(8, 10) !== ours.slice(8, 10)) kinds.push('ALPN characters');
  const rest = (x: string) => x.slice(0, 3) + x.slice(4, 8) + x.slice(10);
  if (rest(ndpi) !== rest(ours)) kinds.push('version/counts/hashes');
  return kinds.join(' + ') || 'other';
}
const FIELDS = ['ja3c', 'ja4', 'sni'] as const;
type Field = (typeof FIELDS)[number];
function emptyFields(): Record<Field, FieldAgreement> {
  return { ja3c: { compared: 0, equal: 0, examples: [], kinds: {} }, ja4: { compared: 0, equal: 0, examples: [], kinds: {} }, sni: { compared: 0, equal: 0, examples: [], kinds: {} } };
}

const LINE = /^\t\d+\t(\S+) (\S+) (?:<->|->) (\S+) \[.*?\[(\d+) pkts\/(\d+) bytes (?:<->|->) (\d+) pkts\/(\d+) bytes\]/;

function splitEndpoint(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), Number(s.slice(i + 1))];
}

export function parseNdpiOut(text: string): NdpiFlow[] {
  const flows: NdpiFlow[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const proto = PROTO[m[1]!] ?? (/^\d+$/.test(m[1]!) ? Number(m[1]) : NaN);
    if (Number.isNaN(proto)) continue;
    const [a, ap] = splitEndpoint(m[2]!);
    const [b, bp] = splitEndpoint(m[3]!);
    const tag = (name: string) => new RegExp(`\\[${name}: ([^\\]]*)\\]`).exec(line)?.[1] ?? '';
    flows.push({ proto, a, ap, b, bp, pkts: [Number(m[4]), Number(m[6])], bytes: [Number(m[5]), Number(m[7])],
      ja3c: tag('JA3C'), ja4: tag('JA4'), sni: tag('Hostname/SNI') });
  }
  return flows;
}

function key(proto: number, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`, y = `${b}|${bp}`;
  return `${proto}/${x < y ? x + '/' + y : y + '/' + x}`;
}

export type Verdict = 'exact' | 'no-flow' | 'split' | 'counts-differ';

export interface CaptureComparison { file: string; ndpiFlows: number; exact: number; verdicts: Record<Verdict, number>; examples: string[]; fields: Record<Field, FieldAgreement> }

export async function compareCapture(pcap: string, out: string, table: Partial<FlowTableOptions> = {}): Promise<CaptureComparison> {
  const ndpi = parseNdpiOut(readFileSync(out, 'utf8'));
  const ours = new Map<string, OurFlow[]>();
  await extractFlows({ path: pcap }, { families: ['stats', 'handshake'], table }, (row, columns) => {
    const c = (n: string) => row[columns.findIndex((x) => x.name === n)];
    const f: OurFlow = {
      proto: c('id_protocol') as number, src: c('id_src_addr') as string, sport: c('id_src_port') as number,
      dst: c('id_dst_addr') as string, dport: c('id_dst_port') as number,
      pkts: [c('fwd_pkts') as number, c('bwd_pkts') as number], bytes: [c('fwd_bytes') as number, c('bwd_bytes') as number],
      end: c('id_end_reason') as string,
      ja3c: c('tls_ja3_hash') as string, ja4: c('tls_ja4') as string, sni: c('tls_sni') as string,
    };
    // nDPI shows ICMP with ports 0; our identity columns carry type/code.
    const icmp = f.proto === 1 || f.proto === 58;
    const k = key(f.proto, f.src, icmp ? 0 : f.sport, f.dst, icmp ? 0 : f.dport);
    const list = ours.get(k);
    if (list) list.push(f); else ours.set(k, [f]);
  });
  const verdicts: Record<Verdict, number> = { exact: 0, 'no-flow': 0, split: 0, 'counts-differ': 0 };
  const examples: string[] = [];
  const fields = emptyFields();
  for (const n of ndpi) {
    const k = key(n.proto, n.a, n.ap, n.b, n.bp);
    const cands = ours.get(k) ?? [];
    // Orient each of our flows the way nDPI printed its flow.
    const oriented = cands.map((f) => (f.src === n.a && (f.sport === n.ap || f.proto === 1 || f.proto === 58)
      ? { pkts: f.pkts, bytes: f.bytes, end: f.end }
      : { pkts: [f.pkts[1], f.pkts[0]] as [number, number], bytes: [f.bytes[1], f.bytes[0]] as [number, number], end: f.end }));
    const i = oriented.findIndex((o) => o.pkts[0] === n.pkts[0] && o.pkts[1] === n.pkts[1] && o.bytes[0] === n.bytes[0] && o.bytes[1] === n.bytes[1]);
    // Handshake facts are compared on the flow that matched exactly, else on the first flow of those endpoints.
    const mine = i >= 0 ? cands[i] : cands[0];
    if (mine) {
      for (const fld of FIELDS) {
        if (!n[fld]) continue;
        // nDPI's Hostname/SNI also holds HTTP hosts, DNS names and DHCP host names: compare TLS/QUIC flows only.
        if (fld === 'sni' && !n.ja3c && !n.ja4) continue;
        const a = fields[fld];
        a.compared++;
        if (mine[fld] === n[fld]) { a.equal++; continue; }
        const kind = fld === 'ja4' ? ja4DifferenceKind(n.ja4, mine.ja4) : mine[fld] ? 'different value' : 'none from Veil';
        a.kinds[kind] = (a.kinds[kind] ?? 0) + 1;
        if (a.examples.length < 3) a.examples.push(`${path.basename(pcap)} ${n.a}:${n.ap}>${n.b}:${n.bp} nDPI ${n[fld]} ours ${mine[fld] || '(none)'}`);
      }
    }
    let v: Verdict;
    if (i >= 0) { v = 'exact'; cands.splice(i, 1); }
    else if (cands.length === 0) v = 'no-flow';
    else {
      const sumP = oriented.reduce((s, o) => s + o.pkts[0] + o.pkts[1], 0);
      v = cands.length > 1 && sumP >= n.pkts[0] + n.pkts[1] ? 'split' : 'counts-differ';
      if (examples.length < 5) {
        examples.push(`${v}: ${n.a}:${n.ap} ${n.b}:${n.bp}/${n.proto} nDPI ${n.pkts.join('/')} pkts ${n.bytes.join('/')} B; ours ${oriented.map((o) => `${o.pkts.join('/')} pkts ${o.bytes.join('/')} B (${o.end})`).join(', ')}`);
      }
    }
    verdicts[v]++;
  }
  return { file: path.basename(pcap), ndpiFlows: ndpi.length, exact: verdicts.exact, verdicts, examples, fields };
}

export async function compareAll(dir: string, table: Partial<FlowTableOptions> = {}, onCapture?: (c: CaptureComparison) => void): Promise<{ flows: number; exact: number; verdicts: Record<Verdict, number>; captures: CaptureComparison[]; fields: Record<Field, FieldAgreement> }> {
  const pcaps = readdirSync(path.join(dir, 'pcap')).filter((f) => existsSync(path.join(dir, 'result', `${f}.out`))).sort();
  const total: Record<Verdict, number> = { exact: 0, 'no-flow': 0, split: 0, 'counts-differ': 0 };
  const captures: CaptureComparison[] = [];
  const fields = emptyFields();
  for (const f of pcaps) {
    const c = await compareCapture(path.join(dir, 'pcap', f), path.join(dir, 'result', `${f}.out`), table);
    captures.push(c);
    for (const k of Object.keys(total) as Verdict[]) total[k] += c.verdicts[k];
    for (const f of FIELDS) {
      fields[f].compared += c.fields[f].compared;
      fields[f].equal += c.fields[f].equal;
      fields[f].examples.push(...c.fields[f].examples);
      for (const [k, n] of Object.entries(c.fields[f].kinds)) fields[f].kinds[k] = (fields[f].kinds[k] ?? 0) + n;
    }
    onCapture?.(c);
  }
  const flows = Object.values(total).reduce((a, b) => a + b, 0);
  return { flows, exact: total.exact, verdicts: total, captures, fields };
}

/** ndpiReader, replaying a file, never splits a flow on idle or active timeouts: this mode does the same. */
export const NDPI_LIKE: Partial<FlowTableOptions> = { idleTimeoutUs: 1e15, activeTimeoutUs: 1e15 };

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.resolve(fileURLToPath(new URL('../../shared/data/ndpi', import.meta.url)));
  const verbose = process.argv.includes('--verbose');
  for (const [name, table] of [['Veil defaults (idle 120 s, active 1800 s, FIN/RST end flows)', {}], ['nDPI-like timeouts (no idle/active split; FIN/RST still end flows)', NDPI_LIKE]] as const) {
    console.log(`== ${name}`);
    const r = await compareAll(dir, table, (c) => {
      if (verbose && c.exact < c.ndpiFlows) {
        console.log(`${c.file}: ${c.exact}/${c.ndpiFlows} exact`);
        for (const e of c.examples) console.log(`   ${e}`);
      }
    });
    console.log(`captures ${r.captures.length}, nDPI flows ${r.flows}`);
    for (const [k, n] of Object.entries(r.verdicts)) console.log(`  ${k.padEnd(14)} ${String(n).padStart(6)}  ${(100 * n / r.flows).toFixed(2)} %`);
    console.log(`agreement (packets and bytes per direction equal): ${(100 * r.exact / r.flows).toFixed(2)} %`);
    for (const f of FIELDS) {
      const a = r.fields[f];
      console.log(`  ${f.toUpperCase().padEnd(5)} equal on ${a.equal}/${a.compared} flows where nDPI has one (${(100 * a.equal / Math.max(1, a.compared)).toFixed(2)} %)`);
      for (const [k, n] of Object.entries(a.kinds).sort((x, y) => y[1] - x[1])) console.log(`     differ: ${k}: ${n}`);
      if (verbose) for (const e of a.examples) console.log(`     ${e}`);
    }
    console.log('');
  }
}
