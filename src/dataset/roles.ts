import { requireColumn, type Table } from './table.ts';
import { DatasetError, DatasetErrorCode } from './errors.ts';
import { columnDefinition } from './definitions.ts';

/**
 * Column roles: which column is the label, which are features, which identify a flow (addresses, ports, times,
 * flow ids: carried through to predictions, never learnt from) and which would leak the answer (SNI, certificate
 * names). A column Veil writes takes its role and type from its definition (flow/columns.ts and the feature
 * families: identity, leaky, text), whatever its values look like; other tools' tables are recognised by name.
 */
export interface RoleOptions {
  label: string;
  /** Column whose values must not be split across train and test (capture, session, host). */
  groupBy?: string;
  /** Use exactly these feature columns (after the label and group are removed). */
  features?: readonly string[];
  /** Columns to use even though they are text, identity or leaky. */
  include?: readonly string[];
  /** Columns never to use. */
  exclude?: readonly string[];
  /** Use identity and leaky columns (ports, timestamps, SNI, ...) as features. */
  includeLeaky?: boolean;
  /** Use text columns (JA3, ALPN, ...) as features, encoded. */
  includeText?: boolean;
}

export interface ExcludedColumn {
  name: string;
  reason: string;
}

export interface ColumnRoles {
  label: string;
  group?: string;
  /** Feature columns in table order. */
  features: string[];
  /** Identity columns present in the table (written beside predictions). */
  identity: string[];
  excluded: ExcludedColumn[];
}

function tokens(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const ADDRESS = new Set(['ip', 'addr', 'address', 'mac', 'ipv4', 'ipv6', 'host']);
const ADDRESS_WORDS = new Set(['saddr', 'daddr', 'srcip', 'dstip', 'srcaddr', 'dstaddr', 'sourceip', 'destinationip']);
const PORT = new Set(['port']);
const PORT_WORDS = new Set(['sport', 'dport', 'srcport', 'dstport', 'sourceport', 'destinationport']);
/** Words that say which end of a flow a value belongs to. */
const ENDPOINT = new Set(['src', 'dst', 'source', 'destination', 'dest', 'client', 'server', 'local', 'remote', 'orig', 'resp', 'sender', 'receiver', 'peer', 'id']);
const TIME = new Set(['timestamp', 'ts', 'seen', 'date', 'datetime', 'epoch']);
const NAMES = new Set(['sni', 'servername', 'hostname', 'host', 'cert', 'certificate', 'subject', 'issuer', 'san', 'domain', 'url', 'uri', 'useragent', 'cn']);

/**
 * Whether a column identifies a flow rather than describes it: Veil's `id_*`, and addresses, ports, timestamps
 * and flow ids of other tools ("Flow ID", "Src IP", "Source Port", "Timestamp", `bidirectional_first_seen_ms`).
 */
export function identityReason(name: string): string | null {
  if (name.startsWith('id_')) return 'identity (id_*)';
  const t = tokens(name);
  // An address or port is a column naming an endpoint's address ("Src IP", "ip_dst"), not "fwd_ip_bytes".
  const endpoint = t.some((x) => ENDPOINT.has(x)) || t.length === 1;
  if (t.some((x) => ADDRESS_WORDS.has(x)) || (endpoint && t.some((x) => ADDRESS.has(x)))) return 'identity (address)';
  if (t.some((x) => PORT_WORDS.has(x)) || (endpoint && t.some((x) => PORT.has(x)))) return 'identity (port)';
  if (t.some((x) => TIME.has(x)) || (t.includes('start') && t.includes('time')) || (t.includes('end') && t.includes('time'))) {
    return 'identity (timestamp)';
  }
  if (t.includes('id') || t.join('') === 'flowid' || t.join('') === 'unnamed0') return 'identity (id)';
  return null;
}

/** Whether a column names the answer: server names, certificate names, host names, URLs. */
export function leakReason(name: string): string | null {
  // Veil's names family: name_http_host, name_dns, name_dns_query.
  if (name.startsWith('name_')) return 'leaky (names the server)';
  const t = tokens(name);
  const joined = t.join('');
  if (t.some((x) => NAMES.has(x)) || joined.includes('servername') || joined.includes('hostname')) {
    return 'leaky (names the server)';
  }
  return null;
}

/**
 * Splits a table's columns into label, group, features, identity and excluded.
 *
 * @example
 * const roles = assignRoles(table, { label: 'app', groupBy: 'id_capture' });
 * roles.features; // numeric, non-identity, non-leaky columns in table order
 */
export function assignRoles(t: Table, opts: RoleOptions): ColumnRoles {
  requireColumn(t, opts.label, 'label column');
  if (opts.groupBy !== undefined) requireColumn(t, opts.groupBy, 'group column');
  const include = new Set(opts.include ?? []);
  const exclude = new Set(opts.exclude ?? []);
  for (const n of [...include, ...exclude]) requireColumn(t, n, 'column');
  if (opts.features) for (const n of opts.features) requireColumn(t, n, 'feature column');
  const explicit = opts.features ? new Set(opts.features) : null;

  const features: string[] = [];
  const identity: string[] = [];
  const excluded: ExcludedColumn[] = [];
  for (const c of t.columns) {
    const n = c.name;
    const def = columnDefinition(n);
    const idr = def ? (def.role === 'identity' ? 'identity (by its definition)' : null) : identityReason(n);
    if (idr) identity.push(n);
    if (n === opts.label) continue;
    if (n === opts.groupBy) { excluded.push({ name: n, reason: 'group column' }); continue; }
    if (exclude.has(n)) { excluded.push({ name: n, reason: 'excluded (--exclude)' }); continue; }
    if (explicit) {
      if (explicit.has(n)) features.push(n);
      else excluded.push({ name: n, reason: 'not in the feature list' });
      continue;
    }
    if (include.has(n)) { features.push(n); continue; }
    const leak = idr ?? (def ? (def.leaky ? 'leaky (names the server, by its definition)' : null) : leakReason(n));
    if (leak && !opts.includeLeaky) { excluded.push({ name: n, reason: `${leak}; use --include ${shellWord(n)} or --include-leaky` }); continue; }
    // A defined text column is text even when every value is empty or looks like a number (tls_cipher 4865).
    const text = def ? def.type === 'string' : c.kind === 'string';
    if (text && !opts.includeText) {
      excluded.push({ name: n, reason: `text; use --include ${shellWord(n)} or --include-text to encode it` });
      continue;
    }
    features.push(n);
  }
  if (!features.length) {
    throw new DatasetError(
      DatasetErrorCode.BAD_COLUMN,
      `${t.source}: no feature columns left after excluding the label, identity, leaky and text columns`,
    );
  }
  return { label: opts.label, group: opts.groupBy, features, identity, excluded };
}

function shellWord(s: string): string {
  return /^[\w.=:,/-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
