// @ts-check
// Cell formatting by column kind: the server says what each result column holds (kind, unit, description), so
// nothing here reads meaning into column names.
import { h, fmtBytes, fmtDuration } from './ui.js';

/**
 * A result column as GET /jobs/:id/results describes it.
 * @typedef {{ name: string, type: string, role: 'identity' | 'metadata' | 'label' | 'prediction', model?: string,
 *   kind: string, unit: string, description: string }} Column
 * @typedef {number | string | boolean | null} Cell
 */

/** IANA protocol numbers an analyst reads by name. */
const PROTOCOLS = /** @type {Record<number, string>} */ ({ 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 89: 'OSPF', 132: 'SCTP' });

/**
 * @param {Cell} v
 * @returns {string}
 */
export function protocolName(v) {
  return typeof v === 'number' ? PROTOCOLS[v] ?? `proto ${v}` : v === null ? '' : String(v);
}

/**
 * Seconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm UTC`: one zone for every analyst, written out.
 * @param {number} s
 */
export function utcTime(s) {
  return `${new Date(s * 1000).toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

/**
 * A confidence drawn as a bar (and shaded by band) beside its number, so 0.26 never reads like 0.9.
 * @param {number} x 0..1
 */
export function confidenceBar(x) {
  const band = x >= 0.8 ? 'high' : x >= 0.5 ? 'mid' : 'low';
  return h(`span.conf.${band}`, { 'data-confidence': x.toFixed(3) },
    h('span.bar', {}, h('span.fill', { style: `width:${Math.max(0, Math.min(1, x)) * 100}%` })),
    h('span.num', {}, x.toFixed(2)));
}

/**
 * The display text of a cell (no markup).
 * @param {Column} c
 * @param {Cell} v
 * @returns {string}
 */
export function cellText(c, v) {
  if (v === null || v === undefined) return '';
  switch (c.kind) {
    case 'protocol': return protocolName(v);
    case 'time': return typeof v === 'number' ? utcTime(v) : String(v);
    case 'bytes': return typeof v === 'number' ? fmtBytes(v) : String(v);
    case 'packets': return typeof v === 'number' ? v.toLocaleString('en') : String(v);
    case 'duration': return typeof v === 'number' ? fmtDuration(c.unit === 'us' ? v / 1000 : c.unit === 's' ? v * 1000 : v) : String(v);
    case 'confidence': return typeof v === 'number' ? v.toFixed(2) : String(v);
    case 'flag': case 'unknown': return v === true ? 'yes' : v === false ? 'no' : String(v);
    default: return String(v);
  }
}

/**
 * A table cell for `v`: formatted by kind, the whole value on hover, unknown answers muted.
 * @param {Column} c
 * @param {Cell} v
 * @param {{ unknown?: boolean }} [o] the model's own unknown flag for its label
 */
export function cell(c, v, o = {}) {
  const classes = [`k-${c.kind}`];
  if (['bytes', 'packets', 'duration', 'port', 'number', 'flow', 'confidence'].includes(c.kind)) classes.push('num');
  const isUnknown = o.unknown === true || ((c.kind === 'service' || c.kind === 'category' || c.kind === 'label' || c.kind === 'source') && (v === 'unknown' || v === 'none' || v === '' || v === null));
  if (isUnknown) classes.push('unknown');
  const raw = v === null ? '' : String(v);
  const title = c.kind === 'time' && typeof v === 'number' ? `${utcTime(v)} (${new Date(v * 1000).toString()}; ${v})`
    : c.kind === 'protocol' ? `${protocolName(v)} (IP protocol ${raw})` : raw;
  const content = c.kind === 'confidence' && typeof v === 'number' ? confidenceBar(v)
    : (c.kind === 'flag' || c.kind === 'unknown') ? (v === true ? '✓' : '') : cellText(c, v);
  return h(`td.${classes.join('.')}`, { title }, content);
}

/**
 * The column's header text: short, the model named for its answers.
 * @param {Column} c
 */
export function columnLabel(c) {
  if (c.role === 'prediction' && c.model) {
    const what = { label: '', confidence: ' conf.', unknown: ' unknown', reason: ' why unknown' }[c.kind];
    if (what !== undefined) return `${c.model}${what ? what : ' (model)'}`;
  }
  return LABELS[c.name] ?? c.name.replace(/^id_/, '').replace(/_/g, ' ');
}

/** Headers for the columns every capture job has. */
const LABELS = /** @type {Record<string, string>} */ ({
  id_first_ts: 'start (UTC)', id_last_ts: 'end (UTC)', id_src_addr: 'client', id_src_port: 'client port', id_dst_addr: 'server',
  id_dst_port: 'server port', id_protocol: 'proto', id_flow: 'flow', app: 'service', app_source: 'service from',
  category_source: 'category from', category_confidence: 'confidence', tls_sni: 'SNI', tls_ja4: 'JA4', tls_alpn: 'ALPN',
  tls_alpn_offered: 'ALPN offered', name_http_host: 'HTTP host', name_dns: 'DNS name', duration_us: 'duration',
});

/**
 * Column indexes in the order an analyst reads a flow: time, client, server, protocol, the verdict, the names,
 * the traffic, the fingerprints, the models' own answers, labels; the rest only with "all columns".
 * @param {readonly Column[]} columns
 * @param {boolean} all
 * @returns {number[]}
 */
export function displayOrder(columns, all) {
  /** @param {(c: Column) => boolean} pred */
  const of = (pred) => columns.map((c, i) => /** @type {[Column, number]} */ ([c, i])).filter(([c]) => pred(c)).map(([, i]) => i);
  const times = of((c) => c.kind === 'time').slice(0, 1);
  const addrs = of((c) => c.kind === 'address');
  const ports = of((c) => c.kind === 'port');
  const endpoints = [addrs[0], ports[0], addrs[1], ports[1], ...addrs.slice(2), ...ports.slice(2)].filter((i) => i !== undefined);
  const verdict = of((c) => c.role !== 'prediction' && (c.kind === 'service' || c.kind === 'category' || c.kind === 'source' || c.kind === 'confidence'));
  const first = [
    ...times, ...endpoints, ...of((c) => c.kind === 'protocol'), ...verdict,
    ...of((c) => c.kind === 'name'), ...of((c) => c.kind === 'packets' || c.kind === 'bytes' || c.kind === 'duration'),
    ...of((c) => c.kind === 'fingerprint'), ...of((c) => c.name === 'tls_alpn'),
    ...of((c) => c.role === 'prediction' && (c.kind === 'label' || c.kind === 'confidence')),
    ...of((c) => c.kind === 'truth'),
  ];
  const seen = new Set(first);
  const rest = columns.map((_, i) => i).filter((i) => !seen.has(i));
  if (all) return [...first, ...rest];
  // A table of another tool keeps its own identity columns in view.
  return [...first, ...rest.filter((i) => columns[i]?.role === 'identity' && columns[i]?.kind === 'text')];
}

/**
 * For each label column, the index of the same model's unknown flag.
 * @param {readonly Column[]} columns
 * @returns {Map<number, number>}
 */
export function unknownFlags(columns) {
  const out = new Map();
  columns.forEach((c, i) => {
    if (c.kind !== 'label') return;
    const u = columns.findIndex((x) => x.kind === 'unknown' && x.model === c.model);
    if (u >= 0) out.set(i, u);
  });
  return out;
}
