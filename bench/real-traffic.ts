/**
 * Names on real traffic: for every capture of ../shared/data/ndpi, meters the flows, gives each the verdict of its
 * names (server name, certificate, HTTP Host, DNS answers, port conventions) against the shipped service catalogue,
 * and compares it per flow with nDPI's verdict in result/<capture>.out:
 * - category: Veil's against nDPI's through the documented mapping (ndpiCategories in src/names/catalog/services.json);
 *   coverage is the share of the flows nDPI categorises that Veil answers, accuracy is over the answered flows whose
 *   nDPI category has a counterpart, macro-F1 over the categories nDPI uses (Veil's 'unknown' counts as wrong);
 * - application: where both name one (nDPI's bare protocols TLS, HTTP, QUIC, DTLS, Unknown name none), by a
 *   normalised comparison against nDPI's application or master protocol (ALIASES below for the few names that differ).
 *
 * With --with-model [FILE] (default models/category.veilmodel) the behaviour model's category is combined in as
 * `veil classify` does (it answers where names and ports are silent, if it is sure).
 *
 *   node --import tsx bench/real-traffic.ts [NDPI_DIR] [--catalog FILE] [--with-model [FILE] [--model-overrides-guesses]] [--verbose] [--behaviour]
 *
 * --behaviour: then behaviour only (names hidden) on the same captures, bench/real-behaviour.ts: Veil's forest and
 * boosting against scikit-learn RF and XGBoost (and the shipped ISCX model), grouped by capture and shuffled.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFlows } from '../src/flow/meter.ts';
import { GUESS_CONFIDENCE, loadCatalog, nameVerdict, type Category } from '../src/names/index.ts';
import { flowNamesOf } from '../src/names/row.ts';
import { combineVerdict, type ModelAnswer } from '../src/names/verdict.ts';
import { loadModel, modelInputs, predictColumns, type VeilModel } from '../src/model/index.ts';
import { flowRowsToTable } from '../src/dataset/flows.ts';
import type { CellValue, ColumnDef } from '../src/flow/columns.ts';
import { NDPI_LIKE } from './ndpi-compare.ts';

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPV6: 58, IGMP: 2, ESP: 50, PGM: 113, PIM: 103, VRRP: 112, GRE: 47, SCTP: 132, OSPF: 89 };
const LINE = /^\t\d+\t(\S+) (\S+) (?:<->|->) (\S+) /;
/** nDPI names for a bare protocol rather than an application. */
const GENERIC = new Set(['TLS', 'HTTP', 'QUIC', 'DTLS', 'Unknown', 'HTTP_Proxy', 'SSL', 'HTTP2']);
/** Our service name (normalised) -> nDPI names (normalised) that mean the same application. */
export const ALIASES: Record<string, string[]> = {
  microsoftteams: ['teams', 'skypeteams', 'skypeteamscall', 'msteams'],
  microsoftteamscalls: ['teams', 'skypeteams', 'skypeteamscall'],
  skype: ['skypeteams', 'skypeteamscall'],
  xtwitter: ['twitter'],
  amazonwebservices: ['amazonaws', 'aws'],
  microsoftazure: ['azure'],
  googleapis: ['googleservices', 'google'],
  googleplay: ['playstore'],
  appstore: ['applestore'],
  applepush: ['applepush'],
  facebookmessenger: ['facebookmessenger', 'messenger'],
  onedrive: ['msonedrive'],
  smb: ['smbv1', 'smbv23', 'netbios'],
  imaps: ['imaps'],
  stunturn: ['stun'],
  ipsec: ['ipsec'],
  msrpc: ['dcerpc'],
  slp: ['servicelocationprotocol'],
  h323: ['h323'],
  skinnysccp: ['ciscoskinny'],
  mssql: ['mssqltds'],
  battlenet: ['starcraft', 'heroesofthestorm', 'worldofwarcraft'],
  steam: ['sourceengine', 'halflife2', 'dota2', 'steamdatagramrelay'],
  amazonprimevideo: ['amazonvideo'],
  hoyoverse: ['genshinimpact'],
  electronicarts: ['electronicarts'],
  microsofttelemetry: ['microsoft'],
  windowsupdate: ['windowsupdate'],
  dns: ['dns', 'doh_dot', 'dohdot'],
  dnsovertls: ['dohdot'],
  netbios: ['netbios'],
  kerberos: ['kerberos'],
  googledocs: ['googledocs', 'googleservices'],
  googlemeet: ['googlemeet', 'googlecall'],
  whatsapp: ['whatsapp', 'whatsappcall', 'whatsappfiles'],
  xboxlive: ['xbox'],
  playstationnetwork: ['playstation'],
  speedtest: ['ookla'],
  connectivitycheck: ['conncheck'],
  yandexmetrica: ['yandexmetrika'],
  // The same thing under a protocol's or a vendor's name.
  qq: ['oicq'],
  tplinksmarthome: ['tplinkshp'],
  ubiquitidiscovery: ['ubntac2'],
  ipmi: ['rmcp'],
  javarmi: ['jrmi'],
  pop3s: ['pops'],
  smtps: ['smtps'],
  omronfins: ['fins'],
  ethernetip: ['cip'],
  pim: ['ippim'],
  icloud: ['appleicloud'],
  itunes: ['appleitunes'],
  firebasecloudmessaging: ['googleservices', 'google'],
  proxy: ['httpproxy'],
};

function norm(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Whether our application name and nDPI's (application or master) name the same thing. */
export function sameApp(ours: string, ndpiApp: string, ndpiMaster: string): boolean {
  const o = norm(ours);
  for (const n of [norm(ndpiApp), norm(ndpiMaster)]) {
    if (!n) continue;
    if (o === n || (ALIASES[o] ?? []).includes(n)) return true;
    // 'WhatsAppCall' is WhatsApp, 'YouTubeUpload' is YouTube, 'GoogleServices' is Google: one name starting the other.
    if (o.length >= 3 && n.length >= 3 && (n.startsWith(o) || o.startsWith(n))) return true;
  }
  return false;
}

interface NdpiVerdict { master: string; app: string; category: string }

function key(proto: number, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`, y = `${b}|${bp}`;
  return `${proto}/${x < y ? x + '/' + y : y + '/' + x}`;
}

function splitEndpoint(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  if (i < 0 || s.endsWith(']')) return [s.replace(/^\[|\]$/g, ''), 0];
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), Number(s.slice(i + 1))];
}

export function parseVerdicts(text: string): Map<string, NdpiVerdict> {
  const out = new Map<string, NdpiVerdict>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const proto = PROTO[m[1]!] ?? (/^\d+$/.test(m[1]!) ? Number(m[1]) : NaN);
    if (Number.isNaN(proto)) continue;
    const [a, ap] = splitEndpoint(m[2]!);
    const [b, bp] = splitEndpoint(m[3]!);
    const p = /\[proto: [^/\]]*\/([^\]]+)\]/.exec(line)?.[1] ?? 'Unknown';
    const parts = p.split('.');
    const cat = /\[cat: ([^/\]]+)\//.exec(line)?.[1] ?? '';
    const icmp = proto === 1 || proto === 58;
    const k = key(proto, a, icmp ? 0 : ap, b, icmp ? 0 : bp);
    if (!out.has(k)) out.set(k, { master: parts[0]!, app: parts[parts.length - 1]!, category: cat === 'Unspecified' ? '' : cat });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--catalog');
  const userCatalog = ci >= 0 ? [args[ci + 1]!] : [];
  const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--catalog' && args[i - 1] !== '--with-model') ?? path.resolve(fileURLToPath(new URL('../../shared/data/ndpi', import.meta.url)));
  const verbose = args.includes('--verbose');
  if (!existsSync(path.join(dir, 'pcap'))) { console.error(`no captures in ${dir}/pcap`); process.exit(2); }
  const cat = loadCatalog(userCatalog);
  const mi = args.indexOf('--with-model');
  const model: VeilModel | null = mi >= 0 ? await loadModel(args[mi + 1] && !args[mi + 1]!.startsWith('--') ? args[mi + 1]! : fileURLToPath(new URL('../models/category.veilmodel', import.meta.url))) : null;
  if (model) console.log(`verdict = names, ports, then the ${model.manifest.name} model (${model.manifest.classes.join(', ')}) where they are silent${args.includes('--model-overrides-guesses') ? ' or only guess' : ''}`);
  else console.log('verdict = names and ports only (--with-model [FILE] adds the behaviour model)');
  const map = cat.ndpiCategories;
  const pcaps = readdirSync(path.join(dir, 'pcap')).filter((f) => existsSync(path.join(dir, 'result', `${f}.out`))).sort();
  let flows = 0, categorised = 0, unmapped = 0, answered = 0, answeredMapped = 0, agree = 0;
  let appBoth = 0, appAgree = 0;
  const bySource: Record<string, { answered: number; agree: number }> = {};
  const confusion = new Map<string, number>();
  const appMiss = new Map<string, number>();
  const unanswered = new Map<string, number>();
  const perClass = new Map<string, { tp: number; fp: number; fn: number }>();
  const cls = (c: string) => { let x = perClass.get(c); if (!x) perClass.set(c, x = { tp: 0, fp: 0, fn: 0 }); return x; };
  for (const f of pcaps) {
    const verdicts = parseVerdicts(readFileSync(path.join(dir, 'result', `${f}.out`), 'utf8'));
    const seen = new Set<string>();
    try {
      const pending: CellValue[][] = [];
      let cols: ColumnDef[] = [];
      await extractFlows({ path: path.join(dir, 'pcap', f) }, { ...(model ? {} : { families: ['stats', 'handshake', 'names'] }), table: NDPI_LIKE }, (row, columns) => {
        cols = columns;
        pending.push([...row]);
      });
      let answers: ModelAnswer[] | null = null;
      if (model && pending.length) {
        const p = predictColumns(model, modelInputs(model, flowRowsToTable(f, cols, pending)));
        answers = Array.from(p.label, (l, i) => ({ label: l < 0 ? 'unknown' : model.manifest.classes[l]!, confidence: p.confidence[i]! }));
      }
      pending.forEach((row, i) => {
        const columns = cols;
        const names = flowNamesOf(row, columns);
        const icmp = names.proto === 1 || names.proto === 58;
        const c = (n: string) => row[columns.findIndex((x) => x.name === n)];
        const k = key(names.proto, c('id_src_addr') as string, icmp ? 0 : names.sport, c('id_dst_addr') as string, icmp ? 0 : names.dport);
        const n = verdicts.get(k);
        if (!n || seen.has(k)) return;
        seen.add(k);
        flows++;
        const nv = nameVerdict(names, cat);
        let v: { app: string; appSource: string; category: string; categorySource: string; confidence: number; evidence: string } = nv;
        if (answers) {
          const fv = combineVerdict(nv, answers[i], { modelOverridesGuesses: args.includes('--model-overrides-guesses') });
          v = { ...nv, category: fv.category, categorySource: fv.categorySource, confidence: fv.categoryConfidence, evidence: fv.categorySource === 'model' ? `model says ${answers[i]!.label}` : nv.evidence };
        }
        if (!n.category) return;
        categorised++;
        const ref: Category | null | undefined = map[n.category];
        if (ref === undefined || ref === null) unmapped++;
        if (v.category !== 'unknown') answered++;
        else { const uk = `nDPI ${n.category} ${n.master}.${n.app} ${names.proto}/${names.dport}`; unanswered.set(uk, (unanswered.get(uk) ?? 0) + 1); }
        if (ref) {
          if (v.category !== 'unknown') {
            answeredMapped++;
            const src = v.categorySource === 'port' && v.confidence <= GUESS_CONFIDENCE ? 'port (weak: HTTPS 443, HTTP 80)' : v.categorySource;
            const s = bySource[src] ??= { answered: 0, agree: 0 };
            s.answered++;
            if (v.category === ref) { agree++; s.agree++; }
            else {
              const ck = `nDPI ${n.category}(${ref}) ${n.master}.${n.app} -> ${v.category} via ${v.categorySource} ${v.evidence} [${v.app}]`;
              confusion.set(ck, (confusion.get(ck) ?? 0) + 1);
            }
          }
          cls(ref);
          if (v.category === ref) cls(ref).tp++;
          else { cls(ref).fn++; if (v.category !== 'unknown') cls(v.category).fp++; }
        }
        if (v.app && !GENERIC.has(n.app)) {
          appBoth++;
          if (sameApp(v.app, n.app, n.master)) appAgree++;
          else { const ak = `${n.master}.${n.app} vs ${v.app} (${v.appSource} ${v.evidence})`; appMiss.set(ak, (appMiss.get(ak) ?? 0) + 1); }
        }
      });
    } catch (e) {
      process.stderr.write(`${f}: ${(e as Error).message}\n`);
    }
  }
  const pct = (a: number, b: number) => `${(100 * a / Math.max(1, b)).toFixed(1)} %`;
  const f1s = [...perClass.entries()].filter(([, x]) => x.tp + x.fn > 0).map(([, x]) => (2 * x.tp) / Math.max(1, 2 * x.tp + x.fp + x.fn));
  const macro = f1s.reduce((a, b) => a + b, 0) / Math.max(1, f1s.length);
  console.log(`captures ${pcaps.length}, flows matched to nDPI's ${flows}, nDPI categorised ${categorised} (of which ${unmapped} in nDPI categories without a counterpart: ${Object.entries(map).filter(([, v]) => v === null).map(([k]) => k).join(', ')})`);
  console.log(`category coverage: ${answered}/${categorised} answered (${pct(answered, categorised)}; of the ${categorised - unmapped} in nDPI categories with a counterpart: ${pct(answeredMapped, categorised - unmapped)})`);
  console.log(`category accuracy of answered flows (nDPI category mapped): ${agree}/${answeredMapped} (${pct(agree, answeredMapped)})`);
  console.log(`category macro-F1 over ${f1s.length} categories ('unknown' counted wrong): ${macro.toFixed(3)}`);
  for (const [s, x] of Object.entries(bySource).sort((a, b) => b[1].answered - a[1].answered)) console.log(`  via ${s.padEnd(32)} ${String(x.answered).padStart(5)} answered, ${pct(x.agree, x.answered)} agree`);
  const w = bySource['port (weak: HTTPS 443, HTTP 80)'] ?? { answered: 0, agree: 0 };
  console.log(`without the weak port guesses: coverage ${pct(answered - w.answered, categorised)}, accuracy ${pct(agree - w.agree, answeredMapped - w.answered)}`);
  console.log(`application agreement where both name one: ${appAgree}/${appBoth} (${pct(appAgree, appBoth)})`);
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log('largest category disagreements:');
  for (const [k, n] of top(confusion, verbose ? 60 : 15)) console.log(`  ${String(n).padStart(4)}  ${k}`);
  console.log('largest unanswered groups:');
  for (const [k, n] of top(unanswered, verbose ? 60 : 15)) console.log(`  ${String(n).padStart(4)}  ${k}`);
  console.log('largest application disagreements:');
  for (const [k, n] of top(appMiss, verbose ? 60 : 15)) console.log(`  ${String(n).padStart(4)}  ${k}`);
  if (args.includes('--behaviour')) {
    console.log('');
    const { behaviourBench } = await import('./real-behaviour.ts');
    await behaviourBench(['--data', path.dirname(dir), '--dirs', path.join(path.basename(dir), 'pcap')]);
  }
}
