import { IDENTITY_COLUMNS, type ColumnDef } from '../../flow/columns.ts';
import { buildFamilies, DEFAULT_FEATURE_OPTIONS, familyNames } from '../../flow/features/index.ts';
import { VERDICT_COLUMNS } from '../../dataset/verdict.ts';
import type { ResultColumn } from '../store/results.ts';

/**
 * What a result column holds, decided once on the server from the column definitions (and, for a model's answer,
 * from the result column's role and model), so that clients format and group columns without reading meaning into
 * their names:
 *
 * - flow: the flow's sequence number; address, port, protocol (IP protocol number); time (seconds since the epoch)
 * - duration (`unit` says 'us' or 's'), bytes, packets, number, text, flag (a boolean)
 * - name: a name seen in the clear (SNI, HTTP Host, DNS name); service: the verdict's application; category;
 *   source: where a verdict field came from; fingerprint (JA4, JA3); alpn
 * - confidence (0..1); label: a model's answer; unknown: a model's unknown flag; reason: why it is unknown;
 *   truth: the job's label column
 */
export type ColumnKind =
  | 'flow' | 'address' | 'port' | 'protocol' | 'time' | 'duration' | 'bytes' | 'packets' | 'number' | 'text' | 'flag'
  | 'name' | 'service' | 'category' | 'source' | 'fingerprint' | 'alpn' | 'confidence' | 'label' | 'unknown' | 'reason' | 'truth';

export interface DescribedColumn extends ResultColumn {
  kind: ColumnKind;
  /** The value's unit from the column definition ('us', 's', 'bytes', 'packets', 'ratio', ...), '' when none. */
  unit: string;
  /** What the column means (from its definition), '' when the column is a table's own. */
  description: string;
}

const BY_NAME: Readonly<Record<string, ColumnKind>> = {
  id_flow: 'flow', row: 'flow',
  id_src_addr: 'address', id_dst_addr: 'address',
  id_src_port: 'port', id_dst_port: 'port',
  id_protocol: 'protocol',
  id_first_ts: 'time', id_last_ts: 'time',
  tls_sni: 'name', name_http_host: 'name', name_dns: 'name', tls_cert_subject: 'name', tls_cert_san: 'name',
  tls_ja4: 'fingerprint', tls_ja3: 'fingerprint', tls_ja3s: 'fingerprint', tls_ja4_retry: 'fingerprint',
  tls_alpn: 'alpn', tls_alpn_offered: 'alpn',
  duration_us: 'duration', duration: 'duration',
  app: 'service', category: 'category', app_source: 'source', category_source: 'source', category_confidence: 'confidence',
};

let defs: Map<string, ColumnDef> | null = null;

/** Every column definition the meter and the verdict declare, by name (built once; no meter is run). */
function definitions(): Map<string, ColumnDef> {
  if (!defs) {
    defs = new Map();
    const all = [...IDENTITY_COLUMNS, ...buildFamilies(familyNames(), DEFAULT_FEATURE_OPTIONS).flatMap((f) => f.columns), ...VERDICT_COLUMNS];
    for (const d of all) if (!defs.has(d.name)) defs.set(d.name, d);
  }
  return defs;
}

/** The kind, unit and meaning of one result column. */
export function describeColumn(c: ResultColumn): DescribedColumn {
  const def = c.role === 'prediction' || c.role === 'label' ? undefined : definitions().get(c.name);
  return { ...c, kind: kindOf(c, def), unit: def?.unit ?? '', description: def?.description ?? '' };
}

function kindOf(c: ResultColumn, def: ColumnDef | undefined): ColumnKind {
  if (c.role === 'label') return 'truth';
  if (c.role === 'prediction' && c.model !== undefined) {
    // The four answer columns of each model (src/classify/layout.ts modelAnswerColumns: NAME.label ... NAME.unknown_reason).
    const field = c.name.startsWith(`${c.model}.`) ? c.name.slice(c.model.length + 1) : '';
    if (field === 'label') return 'label';
    if (field === 'confidence') return 'confidence';
    if (field === 'unknown') return 'unknown';
    if (field === 'unknown_reason') return 'reason';
  }
  const named = BY_NAME[c.name];
  if (named && (def || c.role !== 'prediction')) return named;
  if (c.type === 'bool') return 'flag';
  if (def) {
    if (def.unit === 'bytes') return 'bytes';
    if (def.unit === 'packets') return 'packets';
  }
  return c.type === 'string' ? 'text' : 'number';
}
