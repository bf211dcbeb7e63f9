/**
 * JA4 (client) against the FoxIO reference captures: for every expected JA4 in ja4/expected/*.json, did we
 * produce it for the flow with the same endpoints? Prints each capture and the overall rate.
 *
 *   node --import tsx bench/ja4-check.ts [shared-data-dir] [--verbose]
 *
 * Only the JA4 keys are read from the expected files (JA4.n is the n-th ClientHello of the stream: .2 follows a
 * HelloRetryRequest); the other JA4+ values in those files are not implemented here by licence.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackCapture, type TrackedFlow } from './tls-flows.ts';

interface Expected {
  capture: string;
  src: string;
  srcport: number;
  dst: string;
  dstport: number;
  n: number;
  ja4: string;
  ja4R: string;
  ja4O: string;
  ja4RO: string;
}

export interface Ja4Outcome {
  expected: Expected;
  got: string;
  match: boolean;
  /** JA4_r / JA4_o / JA4_ro also equal (first ClientHello only). */
  variantsMatch: boolean | null;
}

export interface Ja4Report {
  outcomes: Ja4Outcome[];
  matched: number;
  total: number;
  rate: number;
}

function loadExpected(dir: string): Map<string, Expected[]> {
  const out = new Map<string, Expected[]>();
  for (const f of readdirSync(path.join(dir, 'expected')).sort()) {
    if (!f.endsWith('.json')) continue;
    const capture = f.slice(0, -'.json'.length);
    const rows = JSON.parse(readFileSync(path.join(dir, 'expected', f), 'utf8')) as Record<string, string | number>[];
    const list: Expected[] = [];
    for (const r of rows) {
      for (let n = 1; n <= 9; n++) {
        const j = r[`JA4.${n}`];
        if (typeof j !== 'string') continue;
        list.push({
          capture, src: String(r.src), srcport: Number(r.srcport), dst: String(r.dst), dstport: Number(r.dstport), n,
          ja4: j, ja4R: String(r[`JA4_r.${n}`] ?? ''), ja4O: String(r[`JA4_o.${n}`] ?? ''), ja4RO: String(r[`JA4_ro.${n}`] ?? ''),
        });
      }
    }
    out.set(capture, list);
  }
  return out;
}

function findFlow(flows: TrackedFlow[], e: Expected): TrackedFlow | undefined {
  return flows.find((f) => (f.src === e.src && f.sport === e.srcport && f.dst === e.dst && f.dport === e.dstport)
    || (f.src === e.dst && f.sport === e.dstport && f.dst === e.src && f.dport === e.srcport));
}

export async function runJa4Check(dataDir: string, log: (s: string) => void = () => {}): Promise<Ja4Report> {
  const ja4Dir = path.join(dataDir, 'ja4');
  const expected = loadExpected(ja4Dir);
  const outcomes: Ja4Outcome[] = [];
  for (const [capture, list] of expected) {
    const file = path.join(ja4Dir, 'pcap', capture);
    if (!existsSync(file)) continue;
    const { flows } = await trackCapture(file);
    let ok = 0;
    const lines: string[] = [];
    for (const e of list) {
      const f = findFlow(flows, e);
      const got = f === undefined ? '' : e.n === 1 ? f.record.ja4 : e.n === 2 ? f.record.ja4Retry : '';
      const match = got === e.ja4;
      let variantsMatch: boolean | null = null;
      if (e.n === 1 && f !== undefined) {
        variantsMatch = f.record.ja4R === e.ja4R && f.record.ja4O === e.ja4O && f.record.ja4RO === e.ja4RO;
      }
      if (match) ok++;
      outcomes.push({ expected: e, got, match, variantsMatch });
      const why = f === undefined ? ' (no tracked flow)' : '';
      lines.push(`  ${match ? 'ok  ' : 'MISS'} ${e.src}:${e.srcport} -> ${e.dst}:${e.dstport} JA4.${e.n} ${e.ja4}`
        + (match ? (variantsMatch === false ? '  (a raw/original variant differs)' : '') : `  got '${got}'${why}`));
    }
    log(`${capture}: ${ok}/${list.length}`);
    for (const l of lines) log(l);
  }
  const matched = outcomes.filter((o) => o.match).length;
  const total = outcomes.length;
  return { outcomes, matched, total, rate: total === 0 ? 0 : matched / total };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const dataDir = args[0] ?? path.resolve(fileURLToPath(new URL('../../shared/data', import.meta.url)));
  const report = await runJa4Check(dataDir, (s) => console.log(s));
  const variants = report.outcomes.filter((o) => o.variantsMatch !== null);
  const vOk = variants.filter((o) => o.variantsMatch).length;
  console.log(`\nJA4 matched ${report.matched}/${report.total} = ${(100 * report.rate).toFixed(1)}%`);
  console.log(`JA4_r, JA4_o, JA4_ro also equal for ${vOk}/${variants.length} first ClientHellos`);
}
