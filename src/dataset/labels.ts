import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { VeilError } from '../core/errors.ts';
import type { CellValue, ColumnDef } from '../flow/columns.ts';
import { nameLabelValue, type NameLabel, type NameTarget } from './name-labels.ts';

/**
 * Labelling your own captures: a flow gets its label from (in order of precedence) a labels CSV (capture + 5-tuple
 * or time range), rules on handshake metadata (SNI / ALPN / JA4 patterns), the names the flow shows (its application
 * or category through the service catalogue: ./name-labels.ts), or the capture's directory or file name.
 * Rules name the application from the very columns a model must not learn it from, so the columns a rule matched on
 * are dropped from the labelled table: the model has to recognise the application from behaviour, as it must when
 * the name is hidden (ECH, VPN).
 */
export type LabelFrom = 'dir' | 'name' | 'none' | 'names:app' | 'names:category';

export const LABEL_FROM: readonly LabelFrom[] = ['dir', 'name', 'none', 'names:app', 'names:category'];

/** `--label-from` as given: `names` alone means the application. */
export function parseLabelFrom(v: string): LabelFrom | null {
  const x = v === 'names' ? 'names:app' : v;
  return (LABEL_FROM as readonly string[]).includes(x) ? (x as LabelFrom) : null;
}

/** The names target of a label source, or null when it is not names. */
export function namesTarget(from: LabelFrom): NameTarget | null {
  return from === 'names:app' ? 'app' : from === 'names:category' ? 'category' : null;
}

export interface Rule {
  label: string;
  sni?: RegExp;
  alpn?: RegExp;
  ja4?: RegExp;
}

/** One line of a labels CSV: capture (file name), then a 5-tuple or a time range, then the label. */
export interface LabelEntry {
  capture: string;
  label: string;
  src?: string; sport?: number; dst?: string; dport?: number; proto?: number;
  start?: number; end?: number;
}

export interface Labeller {
  rules: Rule[];
  entries: LabelEntry[];
  from: LabelFrom;
  /** Metadata columns the rules read: dropped from the output. */
  ruleColumns: string[];
}

/** A pattern from a rules file: `*` and `?` globs ("*.netflix.com"), or /regex/ between slashes. */
export function pattern(p: string, file: string): RegExp {
  if (p.length > 2 && p.startsWith('/') && p.endsWith('/')) {
    try { return new RegExp(p.slice(1, -1), 'i'); } catch (e) { throw new VeilError('BAD_RULES', `${file}: bad regular expression ${p}: ${(e as Error).message}`); }
  }
  return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

/**
 * Reads a rules file (YAML or JSON): a list of `{ label, sni?, alpn?, ja4? }` (each a pattern or a list of
 * patterns), or a map `label: { sni: [...] }`.
 *
 * @example
 * # rules.yaml
 * - label: netflix
 *   sni: ["*.netflix.com", "*.nflxvideo.net"]
 * - label: zoom
 *   sni: "/zoom(\\.us|gov\\.com)$/"
 */
export function readRules(file: string): Rule[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new VeilError('BAD_RULES', `${file}: not valid YAML or JSON: ${(e as Error).message}`);
  }
  const list: Record<string, unknown>[] = Array.isArray(doc)
    ? (doc as Record<string, unknown>[])
    : doc && typeof doc === 'object'
      ? Object.entries(doc as Record<string, Record<string, unknown>>).map(([label, r]) => ({ label, ...r }))
      : [];
  if (list.length === 0) throw new VeilError('BAD_RULES', `${file}: no rules (expected a list of { label, sni, alpn, ja4 })`);
  const rules: Rule[] = [];
  list.forEach((r, i) => {
    if (!r || typeof r.label !== 'string' || !r.label) throw new VeilError('BAD_RULES', `${file}: rule ${i + 1} has no label`);
    const rule: Rule = { label: r.label };
    for (const k of ['sni', 'alpn', 'ja4'] as const) {
      const v = r[k];
      if (v === undefined) continue;
      const pats = (Array.isArray(v) ? v : [v]).map(String).map((p) => pattern(p, file));
      rule[k] = new RegExp(pats.map((p) => `(?:${p.source})`).join('|'), 'i');
    }
    if (!rule.sni && !rule.alpn && !rule.ja4) throw new VeilError('BAD_RULES', `${file}: rule ${i + 1} (${rule.label}) matches nothing: give sni, alpn or ja4`);
    rules.push(rule);
  });
  return rules;
}

/** Reads a labels CSV with a header: capture,label and either src,sport,dst,dport[,proto] or start,end (epoch s). */
export function readLabelEntries(file: string): LabelEntry[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const at = (n: string) => header.indexOf(n);
  if (at('capture') < 0 || at('label') < 0) throw new VeilError('BAD_LABELS', `${file}: line 1: the header needs capture and label columns`);
  const tuple = at('src') >= 0 && at('dst') >= 0;
  const range = at('start') >= 0 && at('end') >= 0;
  if (!tuple && !range) throw new VeilError('BAD_LABELS', `${file}: line 1: give src,sport,dst,dport (5-tuple) or start,end (time range) columns`);
  return lines.map((line, i) => {
    const c = line.split(',').map((x) => x.trim());
    const num = (n: string): number | undefined => {
      if (at(n) < 0 || c[at(n)] === '' || c[at(n)] === undefined) return undefined;
      const v = Number(c[at(n)]);
      if (!Number.isFinite(v)) throw new VeilError('BAD_LABELS', `${file}: line ${i + 2}: ${n} is not a number: '${c[at(n)]}'`);
      return v;
    };
    const e: LabelEntry = { capture: c[at('capture')]!, label: c[at('label')]! };
    if (!e.capture || !e.label) throw new VeilError('BAD_LABELS', `${file}: line ${i + 2}: capture and label must not be empty`);
    if (tuple && c[at('src')]) { e.src = c[at('src')]; e.dst = c[at('dst')]; e.sport = num('sport'); e.dport = num('dport'); e.proto = num('proto'); }
    if (range) { e.start = num('start'); e.end = num('end'); }
    return e;
  });
}

export function labelFromPath(capturePath: string, from: LabelFrom): string {
  if (from === 'dir') return path.basename(path.dirname(path.resolve(capturePath)));
  if (from === 'name') return path.basename(capturePath).replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '').replace(/[-_. ]*\d+$/, '');
  return '';
}

/**
 * Label and where it came from ('' when none applies). `names` is the flow's names label (a
 * CaptureNameLabeller's answer), used when the labeller's `from` is `names:app` or `names:category`.
 */
export function labelFlow(
  l: Labeller, capturePath: string, row: readonly CellValue[], col: (name: string) => number, names?: NameLabel | null,
): { label: string; source: string } {
  const capture = path.basename(capturePath);
  const get = (n: string) => { const i = col(n); return i < 0 ? null : row[i]; };
  for (const e of l.entries) {
    if (e.capture !== capture && e.capture !== capturePath) continue;
    if (e.src !== undefined) {
      const s = get('id_src_addr'), d = get('id_dst_addr'), sp = get('id_src_port'), dp = get('id_dst_port'), pr = get('id_protocol');
      const fwd = s === e.src && d === e.dst && (e.sport === undefined || sp === e.sport) && (e.dport === undefined || dp === e.dport);
      const bwd = s === e.dst && d === e.src && (e.sport === undefined || dp === e.sport) && (e.dport === undefined || sp === e.dport);
      if ((fwd || bwd) && (e.proto === undefined || pr === e.proto)) return { label: e.label, source: 'labels' };
    } else if (e.start !== undefined && e.end !== undefined) {
      const t = get('id_first_ts') as number;
      if (t >= e.start && t <= e.end) return { label: e.label, source: 'labels' };
    }
  }
  for (const r of l.rules) {
    if (r.sni && r.sni.test(String(get('tls_sni') ?? ''))) return { label: r.label, source: 'rule:sni' };
    if (r.alpn && r.alpn.test(String(get('tls_alpn') ?? '') || String(get('tls_alpn_offered') ?? ''))) return { label: r.label, source: 'rule:alpn' };
    if (r.ja4 && r.ja4.test(String(get('tls_ja4') ?? ''))) return { label: r.label, source: 'rule:ja4' };
  }
  const target = namesTarget(l.from);
  if (target) {
    const label = names ? nameLabelValue(names, target) : '';
    return { label, source: label ? `names:${names!.source}` : '' };
  }
  const label = labelFromPath(capturePath, l.from);
  return { label, source: label ? `path:${l.from}` : '' };
}

/** Columns the rules read, and their relatives that would leak the same name, which the labelled table drops. */
export function ruleColumns(rules: Rule[], columns: readonly ColumnDef[]): string[] {
  const drop = new Set<string>();
  for (const r of rules) {
    if (r.sni) for (const c of ['tls_sni', 'tls_cert_subject', 'tls_cert_san', 'tls_cert_issuer']) drop.add(c);
    if (r.alpn) for (const c of ['tls_alpn', 'tls_alpn_offered']) drop.add(c);
    if (r.ja4) for (const c of columns.map((x) => x.name).filter((n) => n.startsWith('tls_ja4'))) drop.add(c);
  }
  return columns.map((c) => c.name).filter((n) => drop.has(n));
}
