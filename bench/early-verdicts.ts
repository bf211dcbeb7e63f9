/**
 * Early verdicts on real traffic: on the captures of the real-traffic bench (../shared/data/ndpi/pcap, as
 * bench/real-traffic.ts), each flow is metered whole and cut at N = 5, 10 and 20 packets (the live source's two
 * meters). The verdict after N packets (names visible by then, ports, and an early model's category with
 * --early-model N=FILE) is compared with the final verdict (names of the whole flow + the shipped category model,
 * as `veil classify` gives it) over the flows that reach N packets: agreement on the application and on the category,
 * how many flows reach N packets, and how much sooner the early verdict comes (median time from the first packet).
 *
 *   node --import tsx bench/early-verdicts.ts [NDPI_DIR] [--early-model N=FILE ...] [--no-model]
 */
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../src/wire/reader.ts';
import { Meter, captureFileName } from '../src/flow/meter.ts';
import type { CellValue, ColumnDef } from '../src/flow/columns.ts';
import { loadCatalog } from '../src/names/index.ts';
import { loadModel } from '../src/model/index.ts';
import { FlowClassifier, type AppliedModel, type LiveRecord } from '../src/live/classifier.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const { values: v, positionals } = parseArgs({ allowPositionals: true, options: { 'early-model': { type: 'string', multiple: true }, 'no-model': { type: 'boolean' } } });
const dir = positionals[0] ?? path.join(REPO, '../shared/data/ndpi');
const pcaps = path.join(dir, 'pcap');
if (!existsSync(pcaps)) { console.log(`early-verdicts: ${pcaps} is absent: skipped`); process.exit(0); }
const CUTS = [5, 10, 20];
const catalog = loadCatalog([]);
const finalModels: AppliedModel[] = v['no-model'] ? [] : [{ column: 'category', model: await loadModel(path.join(REPO, 'models/category.veilmodel')) }];
const earlyModels = new Map<number, AppliedModel[]>();
for (const spec of v['early-model'] ?? []) {
  const [n, file] = spec.split('=') as [string, string];
  earlyModels.set(Number(n), [{ column: 'category', model: await loadModel(file) }]);
}
const meter = { table: { idleTimeoutUs: 15e6, activeTimeoutUs: 15e6 } };

interface Tally { flows: number; reached: number; app: number; appNamed: number; category: number; known: number; knownAgree: number; unknownEarly: number; unknownFinal: number; tEarly: number[]; tFinal: number[] }
const tallies = new Map(CUTS.map((n) => [n, { flows: 0, reached: 0, app: 0, appNamed: 0, category: 0, known: 0, knownAgree: 0, unknownEarly: 0, unknownFinal: 0, tEarly: [], tFinal: [] } as Tally]));
let captures = 0, failed = 0;

for (const f of readdirSync(pcaps).sort()) {
  if (!/\.(pcap|pcapng|cap)$/.test(f) || f.startsWith('fuzz')) continue;
  const collect = () => ({ rows: [] as CellValue[][], cols: [] as ColumnDef[] });
  const full = collect();
  const cuts = new Map(CUTS.map((n) => [n, collect()]));
  const fm = new Meter({ captureName: captureFileName(f), ...meter }, (r) => full.rows.push(r));
  const cms = CUTS.map((n) => new Meter({ captureName: f, ...meter, packetLimit: n }, (r, flow) => { if (flow.endReason === 'packets') cuts.get(n)!.rows.push(r); }));
  try {
    const s = await readCapture({ path: path.join(pcaps, f) }, (fr) => { fm.frame(fr); for (const m of cms) m.frame(fr); });
    if (s.error) failed++;
  } catch { failed++; continue; }
  fm.end();
  for (const m of cms) m.end();
  captures++;
  const finals = new FlowClassifier('final', finalModels, catalog).classify(full.rows, fm.columns);
  const byKey = new Map<string, LiveRecord>(finals.map((r) => [r.key, r]));
  CUTS.forEach((n, k) => {
    const t = tallies.get(n)!;
    t.flows += finals.length;
    const early = new FlowClassifier('early', earlyModels.get(n) ?? [], catalog).classify(cuts.get(n)!.rows, cms[k]!.columns);
    for (const e of early) {
      const fin = byKey.get(e.key);
      if (!fin) continue;
      t.reached++;
      if (e.app === fin.app) t.app++;
      if (fin.app) t.appNamed++;
      if (e.category === fin.category) t.category++;
      if (fin.category !== 'unknown') { t.known++; if (e.category === fin.category) t.knownAgree++; }
      if (e.category === 'unknown') t.unknownEarly++;
      if (fin.category === 'unknown') t.unknownFinal++;
      t.tEarly.push(e.lastTs - e.firstTs);
      t.tFinal.push(fin.lastTs - fin.firstTs);
    }
  });
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '-');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)]! : 0; };
console.log(`early-verdicts: ${captures} captures of ${pcaps} (${failed} with damage, read up to it), flows cut at 15 s idle/active as the shipped models`);
console.log(`final verdict: names of the whole flow + ${finalModels.length ? 'the shipped category model' : 'no model'}; early verdict: names by packet N${earlyModels.size ? ' + early models' : ' (no early model)'}`);
console.log('N    flows reaching N        app agrees (early = final)   category agrees   where final knows it   early unknown   final unknown   median s from first packet: early / final');
for (const n of CUTS) {
  const t = tallies.get(n)!;
  console.log(`${String(n).padEnd(4)} ${`${t.reached} / ${t.flows} (${pct(t.reached, t.flows)})`.padEnd(23)} ${pct(t.app, t.reached).padEnd(28)} ${pct(t.category, t.reached).padEnd(17)} ${`${pct(t.knownAgree, t.known)} of ${t.known}`.padEnd(22)} ` +
    `${pct(t.unknownEarly, t.reached).padEnd(15)} ${pct(t.unknownFinal, t.reached).padEnd(15)} ${median(t.tEarly).toFixed(3)} / ${median(t.tFinal).toFixed(3)}`);
}
