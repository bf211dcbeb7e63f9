/**
 * One verdict per flow, from what the flow shows in the clear: the application and category named by the first
 * catalogued name in order of trust (TLS/DTLS/QUIC server name, certificate names, HTTP Host), else a port
 * convention, else the DNS answer for the responder's address. The behaviour model comes after both ({@link combineVerdict});
 * "unknown" when every source is unsure.
 */
import { CATEGORIES, matchName, matchPort, normaliseName, type Catalog, type Category, type Service } from './catalog.ts';

export type NameSource = 'sni' | 'cert' | 'quic' | 'http' | 'dns' | 'port' | 'none';
export type VerdictSource = NameSource | 'model';

/** The names a flow shows (the names and handshake columns of a flow row). */
export interface FlowNames {
  /** tls_sni: TLS, DTLS or QUIC server name. */
  sni?: string;
  /** tls_protocol: 'tls', 'quic', 'dtls' or ''. */
  handshake?: string;
  /** tls_cert_subject ('C=.., O=.., CN=name'). */
  certSubject?: string;
  /** tls_cert_san, comma-joined. */
  certSan?: string;
  /** name_http_host. */
  httpHost?: string;
  /** name_dns: the name a DNS answer earlier in the capture gave the responder's address. */
  dnsName?: string;
  /** IP protocol and ports (identity columns): port conventions look at the responder's port, then the initiator's. */
  proto: number;
  sport: number;
  dport: number;
}

export interface NameVerdict {
  app: string;
  appSource: NameSource;
  category: Category | 'unknown';
  categorySource: NameSource;
  /** In [0, 1]: how far the source is trusted (0 when nothing was found). */
  confidence: number;
  /** The name or port rule that decided ('' when none). */
  evidence: string;
}

/** Trust in each source: a server name the client asked for names the service; a cached DNS answer can be stale
 * or shared by many names on one CDN address; a port is only a convention. */
export const SOURCE_CONFIDENCE: Record<Exclude<NameSource, 'none'>, number> = {
  sni: 0.95, quic: 0.95, cert: 0.9, http: 0.9, dns: 0.8, port: 0.7,
};
/** A web name (server name or HTTP Host) that the catalogue does not know: a web site, so browsing, less sure. */
export const UNCATALOGUED_WEB_CONFIDENCE = 0.5;
/** A weak port convention (HTTPS on tcp/443, HTTP on tcp/80) with no name at all. */
export const WEAK_PORT_CONFIDENCE = 0.5;
/** At or below this confidence a name verdict is a guess (uncatalogued name, weak port): a behaviour model more
 * confident than the guess overrides it. */
export const GUESS_CONFIDENCE = 0.5;

const NONE: NameVerdict = { app: '', appSource: 'none', category: 'unknown', categorySource: 'none', confidence: 0, evidence: '' };

/** The CN of a subject 'C=US, O=X, CN=name' ('' when none). */
export function commonName(subject: string): string {
  const m = /(?:^|,\s*)CN=([^,]+)/.exec(subject);
  return m ? m[1]!.trim() : '';
}

/**
 * The verdict of a flow's names against a catalogue. Pure.
 *
 * @example
 * nameVerdict({ sni: 'teams.microsoft.com', handshake: 'tls', proto: 6, sport: 50000, dport: 443 }, cat);
 * // { app: 'Microsoft Teams', appSource: 'sni', category: 'chat', categorySource: 'sni', confidence: 0.95, ... }
 */
export function nameVerdict(f: FlowNames, cat: Catalog): NameVerdict {
  const candidates: [string, Exclude<NameSource, 'none' | 'port' | 'dns'>][] = [];
  if (f.sni) candidates.push([f.sni, f.handshake === 'quic' ? 'quic' : 'sni']);
  if (f.certSubject) { const cn = commonName(f.certSubject); if (cn) candidates.push([cn, 'cert']); }
  if (f.certSan) for (const n of f.certSan.split(',')) if (n.trim()) candidates.push([n.trim(), 'cert']);
  if (f.httpHost) candidates.push([f.httpHost, 'http']);
  for (const [name, source] of candidates) {
    const s = matchName(cat, name);
    if (s) return { app: s.name, appSource: source, category: s.category, categorySource: source, confidence: SOURCE_CONFIDENCE[source], evidence: normaliseName(name) };
  }
  // A DNS answer names the server, not what is spoken to it (time.apple.com serves NTP): a port convention comes first.
  const byDport = matchPort(cat, f.proto, f.dport);
  const bySport = f.sport < f.dport ? matchPort(cat, f.proto, f.sport) : null;
  const strong = byDport && !byDport.weak ? byDport : bySport && !bySport.weak ? bySport : null;
  const evidence = (s: Service) => (f.proto !== 6 && f.proto !== 17 ? `ip/${f.proto}` : `${f.proto === 6 ? 'tcp' : 'udp'}/${s === byDport ? f.dport : f.sport}`);
  if (strong) return { app: strong.name, appSource: 'port', category: strong.category, categorySource: 'port', confidence: SOURCE_CONFIDENCE.port, evidence: evidence(strong) };
  if (f.dnsName) {
    const s = matchName(cat, f.dnsName);
    if (s) return { app: s.name, appSource: 'dns', category: s.category, categorySource: 'dns', confidence: SOURCE_CONFIDENCE.dns, evidence: normaliseName(f.dnsName) };
  }
  const web = candidates.find(([, s]) => s === 'sni' || s === 'quic' || s === 'http');
  if (web && web[0] && !isAddressLiteral(web[0])) {
    return { app: '', appSource: 'none', category: 'browsing', categorySource: web[1], confidence: UNCATALOGUED_WEB_CONFIDENCE, evidence: normaliseName(web[0]) };
  }
  const weak = byDport ?? bySport;
  // A weak convention says what the traffic probably is, not which application: no app.
  if (weak) return { app: '', appSource: 'none', category: weak.category, categorySource: 'port', confidence: WEAK_PORT_CONFIDENCE, evidence: `${weak.name} ${evidence(weak)}` };
  return NONE;
}

function isAddressLiteral(n: string): boolean {
  return /^[0-9.]+$/.test(n) || n.includes(':');
}

/** The behaviour model's answer for a flow. */
export interface ModelAnswer {
  /** The model's class, or 'unknown'. */
  label: string;
  confidence: number;
  /** Why the model said unknown (too_few_packets, out_of_distribution, low_confidence), '' otherwise. */
  unknownReason?: string;
}

export interface FlowVerdict {
  app: string;
  appSource: VerdictSource;
  category: Category | 'unknown';
  categorySource: VerdictSource;
  categoryConfidence: number;
  /** The model's own answer, kept beside the verdict so disagreements show ('' when no model ran). */
  modelCategory: string;
  modelConfidence: number;
  modelUnknownReason: string;
}

/** Model classes (ISCX usage types) in our categories; a model already speaking ours passes through. */
export const MODEL_LABEL_CATEGORY: Record<string, Category> = {
  BROWSING: 'browsing', CHAT: 'chat', FT: 'file_transfer', FILE_TRANSFER: 'file_transfer', MAIL: 'mail',
  EMAIL: 'mail', P2P: 'file_transfer', STREAMING: 'streaming', VOIP: 'voip', VPN: 'vpn', TOR: 'vpn',
};

export function modelCategory(label: string): Category | null {
  if ((CATEGORIES as readonly string[]).includes(label)) return label as Category;
  return MODEL_LABEL_CATEGORY[label.toUpperCase()] ?? null;
}

/** An application model's answer (a model taught by names, `veil learn`): a catalogued service, or 'unknown'. */
export interface AppModelAnswer extends ModelAnswer {
  /** The answered service's category in the catalogue (null: the service is not catalogued). */
  category: Category | null;
}

export interface CombineOptions {
  /** Below this confidence a source is unsure (default 0.5). */
  minConfidence?: number;
  /**
   * An application model's answer: where the names show no application, a sure answer names it (source `model`),
   * and where they show no category either, its catalogued category answers when it is surer than the category
   * model's.
   */
  app?: AppModelAnswer | null;
  /**
   * Let a behaviour model more confident than a guess (uncatalogued web name, weak port) override it (default
   * false: names and ports beat behaviour, as the issue asks; on nDPI's captures the shipped ISCX model agrees with
   * nDPI on 42 % of the flows it would take over, the guesses on 88-91 %).
   */
  modelOverridesGuesses?: boolean;
}

/**
 * Names beat port conventions (already so in {@link nameVerdict}); both beat behaviour (with
 * `modelOverridesGuesses`, a guess, confidence {@link GUESS_CONFIDENCE} or less, yields to a behaviour model more
 * confident than it); "unknown" when all are unsure. The application comes from names, else from an application
 * model (`opts.app`, one taught by names on the user's own network) when it is sure; the category model answers a
 * category only.
 *
 * @example
 * combineVerdict(nameVerdict(f, cat), { label: 'VOIP', confidence: 0.8 });
 */
export function combineVerdict(n: NameVerdict, model?: ModelAnswer | null, opts: CombineOptions = {}): FlowVerdict {
  const min = opts.minConfidence ?? 0.5;
  const m = model ?? null;
  const a = opts.app ?? null;
  const appSure = !n.app && a !== null && a.label !== 'unknown' && a.label !== '' && a.confidence >= min;
  const base = {
    app: n.app || (appSure ? a.label : ''), appSource: n.app ? n.appSource : appSure ? 'model' : 'none' as VerdictSource,
    modelCategory: m ? (m.label === 'unknown' ? 'unknown' : modelCategory(m.label) ?? m.label) : '',
    modelConfidence: m ? m.confidence : 0,
    modelUnknownReason: m ? (m.label === 'unknown' ? m.unknownReason || 'low_confidence' : '') : '',
  };
  const named = n.categorySource !== 'none' && n.category !== 'unknown' && n.confidence >= min;
  const guess = n.confidence <= GUESS_CONFIDENCE;
  const modelSure = m !== null && m.label !== 'unknown' && m.confidence >= min && modelCategory(m.label) !== null;
  const byModel = modelSure ? { c: modelCategory(m.label)!, confidence: m.confidence } : null;
  // The application model named the flow: its service's category goes with it, over a guess (not over a name).
  const byApp = appSure && a.category ? { c: a.category, confidence: a.confidence } : null;
  const overrides = (x: { confidence: number } | null, allowed: boolean): boolean => allowed && guess && x !== null && x.confidence > n.confidence;
  // Over a name's guess only the answers allowed to override it compete; with no name at all, both do.
  const model2 = named ? (overrides(byModel, opts.modelOverridesGuesses === true) ? byModel : null) : byModel;
  const app2 = named ? (overrides(byApp, true) ? byApp : null) : byApp;
  if (named && !model2 && !app2) {
    return { ...base, category: n.category, categorySource: n.categorySource, categoryConfidence: n.confidence };
  }
  const best = app2 && (!model2 || app2.confidence >= model2.confidence) ? app2 : model2;
  if (best) return { ...base, category: best.c, categorySource: 'model', categoryConfidence: best.confidence };
  return { ...base, category: 'unknown', categorySource: 'none', categoryConfidence: 0 };
}
