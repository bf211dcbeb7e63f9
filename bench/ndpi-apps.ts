/**
 * Application-level evaluation on real captures: the flows of ../shared/data/ndpi labelled with nDPI's verdicts
 * (the application part of `[proto: M.A/Master.App]`), metered by Veil, trained on some captures and tested on
 * others (group k-fold by capture file), with SNI, certificate, address and port columns excluded (the default
 * roles), so the model must name the application from behaviour and handshake shape alone.
 *
 *   node --import tsx bench/ndpi-apps.ts [NDPI_DIR] [--min-flows N] [--min-captures N] [--model forest|boosting]
 *
 * Prints the per-application scores and how many applications are recognisable (F1 >= 0.5) with this little data.
 */
import { readdirSync, readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFlows } from '../src/flow/meter.ts';
import { openWriter, type RowWriter } from '../src/flow/output.ts';
import { col, type CellValue, type ColumnDef } from '../src/flow/columns.ts';
import { parseNdpiOut } from './ndpi-compare.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? path.resolve(fileURLToPath(new URL('../../shared/data/ndpi', import.meta.url)));
const minFlows = Number(opt('--min-flows', '10'));
const minCaptures = Number(opt('--min-captures', '2'));
const model = opt('--model', 'forest');

/** Masters whose application part names what was looked up, not what talks: `DNS.Google` is a DNS exchange. */
const NAME_SERVICES = new Set(['DNS', 'MDNS', 'LLMNR', 'NetBIOS']);

/**
 * nDPI's verdict `TLS.Google` names the master protocol and the application: the application is the label,
 * except for name lookups (`DNS.Google` is DNS traffic about Google, and behaves as DNS).
 */
export function appOf(line: string): string {
  const m = /\[proto: [^/\]]*\/([^\]]+)\]/.exec(line);
  if (!m) return '';
  const parts = m[1]!.split('.');
  return NAME_SERVICES.has(parts[0]!) ? parts[0]! : parts[parts.length - 1]!;
}

function key(proto: number, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`, y = `${b}|${bp}`;
  return `${proto}/${x < y ? x + '/' + y : y + '/' + x}`;
}

const work = mkdtempSync(path.join(tmpdir(), 'veil-ndpi-apps-'));
const table = path.join(work, 'flows.csv');
let writer: RowWriter | null = null;
const perApp = new Map<string, { flows: number; captures: Set<string> }>();
const rowsByCapture: { capture: string; app: string; row: CellValue[] }[] = [];
let columns: ColumnDef[] = [];
const pcaps = readdirSync(path.join(dir, 'pcap')).filter((f) => existsSync(path.join(dir, 'result', `${f}.out`))).sort();
for (const f of pcaps) {
  const text = readFileSync(path.join(dir, 'result', `${f}.out`), 'utf8');
  const flows = parseNdpiOut(text);
  const apps = text.split('\n').filter((l) => /^\t\d+\t/.test(l)).map(appOf);
  // parseNdpiOut keeps the flow lines in order; pair them with their verdicts by endpoints.
  const verdict = new Map<string, string>();
  let k = 0;
  for (const line of text.split('\n')) {
    if (!/^\t\d+\t/.test(line)) continue;
    const n = flows[k];
    if (n && line.includes(`${n.a.includes(':') ? `[${n.a}]` : n.a}:${n.ap}`)) { verdict.set(key(n.proto, n.a, n.ap, n.b, n.bp), apps[k] ?? ''); k++; }
  }
  try {
    await extractFlows({ path: path.join(dir, 'pcap', f) }, {}, (row, cols) => {
      columns = cols;
      const c = (n: string) => row[cols.findIndex((x) => x.name === n)];
      const icmp = c('id_protocol') === 1 || c('id_protocol') === 58;
      const app = verdict.get(key(c('id_protocol') as number, c('id_src_addr') as string, icmp ? 0 : c('id_src_port') as number, c('id_dst_addr') as string, icmp ? 0 : c('id_dst_port') as number));
      if (!app || app === 'Unknown') return;
      rowsByCapture.push({ capture: f, app, row: [...row] });
      const s = perApp.get(app) ?? { flows: 0, captures: new Set<string>() };
      s.flows++; s.captures.add(f);
      perApp.set(app, s);
    });
  } catch (e) {
    process.stderr.write(`${f}: ${(e as Error).message}\n`);
  }
}
const kept = new Set([...perApp].filter(([, s]) => s.flows >= minFlows && s.captures.size >= minCaptures).map(([a]) => a));
const outCols = [...columns, col('app', 'identity', 'string', '', 'none', 'nDPI verdict (application part)')];
writer = openWriter(table, 'csv', outCols);
let n = 0;
for (const r of rowsByCapture) if (kept.has(r.app)) { writer.write([...r.row, r.app]); n++; }
await writer.close();
console.log(`nDPI-labelled flows: ${rowsByCapture.length} of ${perApp.size} applications; kept ${n} flows of ${kept.size} applications with >= ${minFlows} flows in >= ${minCaptures} captures`);
const json = path.join(work, 'cv.json');
const veil = fileURLToPath(new URL('../bin/veil.js', import.meta.url));
const r = spawnSync(process.execPath, [veil, 'train', table, '--label', 'app', '--group-by', 'id_capture', '--folds', '5', '--model', model, '--json', json,
  // Handshake shape is fair game (JA4, offered ALPN, which handshake): names are not (SNI, certificates excluded).
  '--include', 'tls_ja4', '--include', 'tls_alpn_offered', '--include', 'tls_protocol', '-o', path.join(work, 'apps.veilmodel'), '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) { console.error(r.stdout); process.exit(1); }
const ev = JSON.parse(readFileSync(json, 'utf8')) as { accuracy: number; macro: { f1: number }; perClass: { label: string; precision: number; recall: number; f1: number; support: number }[]; split: { description: string } };
console.log(`split: ${ev.split.description}`);
console.log(`accuracy ${(ev.accuracy * 100).toFixed(1)} %, macro-F1 ${(ev.macro.f1 * 100).toFixed(1)} % (${model}; SNI, certificate, address and port columns excluded; JA4, offered ALPN and handshake protocol included)`);
console.log(`${'application'.padEnd(20)} ${'flows'.padStart(6)} ${'capt.'.padStart(5)} ${'prec'.padStart(6)} ${'recall'.padStart(6)} ${'F1'.padStart(6)}`);
for (const p of [...ev.perClass].sort((a, b) => b.f1 - a.f1)) {
  console.log(`${p.label.padEnd(20)} ${String(p.support).padStart(6)} ${String(perApp.get(p.label)?.captures.size ?? 0).padStart(5)} ${p.precision.toFixed(3).padStart(6)} ${p.recall.toFixed(3).padStart(6)} ${p.f1.toFixed(3).padStart(6)}`);
}
const ok = ev.perClass.filter((p) => p.f1 >= 0.5).length;
console.log(`recognisable (F1 >= 0.5 on captures never trained on): ${ok} of ${ev.perClass.length} applications`);
writeFileSync(path.join(work, 'summary.json'), JSON.stringify({ accuracy: ev.accuracy, macroF1: ev.macro.f1, recognisable: ok, applications: ev.perClass.length }));
