/**
 * The names of a flow row (handshake and names columns, plus the transport and ports), looked up by column name so
 * any table with those columns works (a meter's row, a CSV written by `veil extract`).
 */
import type { FlowNames } from './verdict.ts';

type Cell = number | string | boolean | null | undefined;

/** Column indexes of the names a verdict reads, found once per table. */
export interface NameColumns {
  sni: number; handshake: number; certSubject: number; certSan: number; httpHost: number; dnsName: number;
  proto: number; sport: number; dport: number;
}

export function nameColumns(columns: readonly { name: string }[]): NameColumns {
  const at = new Map(columns.map((c, i) => [c.name, i]));
  const i = (n: string) => at.get(n) ?? -1;
  return {
    sni: i('tls_sni'), handshake: i('tls_protocol'), certSubject: i('tls_cert_subject'), certSan: i('tls_cert_san'),
    httpHost: i('name_http_host'), dnsName: i('name_dns'), proto: i('id_protocol'), sport: i('id_src_port'), dport: i('id_dst_port'),
  };
}

/** The {@link FlowNames} of one row, given the indexes of {@link nameColumns}. */
export function namesAt(row: readonly Cell[], c: NameColumns): FlowNames {
  const s = (j: number) => (j >= 0 && row[j] != null ? String(row[j]) : '');
  const n = (j: number) => (j >= 0 ? Number(row[j]) || 0 : 0);
  return {
    sni: s(c.sni), handshake: s(c.handshake), certSubject: s(c.certSubject), certSan: s(c.certSan),
    httpHost: s(c.httpHost), dnsName: s(c.dnsName), proto: n(c.proto), sport: n(c.sport), dport: n(c.dport),
  };
}

/** {@link namesAt} with the indexes found from `columns` (one row; for many, find them once). */
export function flowNamesOf(row: readonly Cell[], columns: readonly { name: string }[]): FlowNames {
  return namesAt(row, nameColumns(columns));
}
