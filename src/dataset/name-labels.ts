import type { CellValue, ColumnDef } from '../flow/columns.ts';
import { nameColumns, nameVerdict, namesAt, WEAK_PORT_CONFIDENCE, type Catalog, type NameColumns } from '../names/index.ts';

/**
 * Labels from names: a flow's application and category taken from what it shows in the clear (server name,
 * certificate names, HTTP Host, DNS answers, strong port conventions) through the service catalogue. This is how a
 * user teaches Veil their own network without labelling anything: the names label today's flows, a behaviour model
 * learns them, and answers where tomorrow's flows hide their names (ECH, VPN, name-less QUIC).
 *
 * Two rules keep the labels honest:
 * - a weak port convention (any tcp/443 flow is "browsing") is a guess about the category, not a name: no label;
 * - a flow cut by the active or idle timeout hands its verdict to the next flow of the same 5-tuple in the same
 *   capture (the same connection, its handshake no longer in view), with source `flow`: exactly the flows whose
 *   names are hidden, where behaviour is needed. A handshake name of the earlier part beats a port or DNS guess of
 *   the later part.
 * The columns that named the flow (tls_sni, tls_cert_*, name_*) are leaky by role, so training never reads them.
 */
export type NameTarget = 'app' | 'category';

export interface NameLabel {
  app: string;
  category: string;
  /** sni, quic, cert, http, dns, port, or flow (an earlier part of the same connection). */
  source: string;
  /** The name or port rule that decided. */
  evidence: string;
  confidence: number;
}

/** Where a names label may come from, strongest first. */
export const NAME_LABEL_SOURCES = ['sni', 'quic', 'cert', 'http', 'dns', 'port', 'flow'] as const;

const weak = (source: string): boolean => source === 'port' || source === 'dns';

/** Labels the flows of one capture, in the order the meter ends them (the state is the cut connections). */
export class CaptureNameLabeller {
  private readonly cut = new Map<string, NameLabel>();
  private readonly nc: NameColumns;
  private readonly at: { src: number; dst: number; end: number };

  constructor(private readonly catalog: Catalog, columns: readonly ColumnDef[]) {
    this.nc = nameColumns(columns);
    const idx = (n: string): number => columns.findIndex((c) => c.name === n);
    this.at = { src: idx('id_src_addr'), dst: idx('id_dst_addr'), end: idx('id_end_reason') };
  }

  /** The flow's label, or null when nothing names it. Call it for every flow of the capture, in order. */
  label(row: readonly CellValue[]): NameLabel | null {
    const names = namesAt(row, this.nc);
    // Both directions of the connection: after an idle cut the next part's source is whoever spoke first.
    const a = `${row[this.at.src]}|${names.sport}`, b = `${row[this.at.dst]}|${names.dport}`;
    const key = `${names.proto}|${a < b ? a : b}|${a < b ? b : a}`;
    const v = nameVerdict(names, this.catalog);
    let label: NameLabel | null = null;
    const guess = v.categorySource === 'port' && v.confidence <= WEAK_PORT_CONFIDENCE;
    if (v.category !== 'unknown' && !guess) {
      label = { app: v.app, category: v.category, source: v.categorySource, evidence: v.evidence, confidence: v.confidence };
    }
    const prev = this.cut.get(key);
    if (prev && (!label || (weak(label.source) && !weak(prev.source)))) label = { ...prev, source: 'flow' };
    const end = row[this.at.end];
    if ((end === 'active' || end === 'idle') && label) this.cut.set(key, label.source === 'flow' ? { ...label, source: prev!.source } : label);
    else this.cut.delete(key);
    return label;
  }
}

/** The label text for a target: the application (service name) or the category. */
export function nameLabelValue(l: NameLabel, target: NameTarget): string {
  return target === 'app' ? l.app : l.category;
}
