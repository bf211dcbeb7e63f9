/**
 * Column definitions: every output column of a flow table is declared once, here or in a feature family, with its
 * name, type, unit, direction and meaning. The writers take their header from these definitions and
 * `veil features` prints the reference from them, so the documentation cannot drift from the code.
 */

/** identity: who talked to whom and when (excluded from learning); feature: numeric model input;
 * metadata: handshake facts (strings; some, like SNI, leak the label and are excluded unless asked for). */
import type { Flow } from './flow.ts';

export type ColumnRole = 'identity' | 'feature' | 'metadata';
export type ColumnType = 'int' | 'float' | 'string' | 'bool';
/** fwd: initiator -> responder; bwd: responder -> initiator; both: either direction; none: not directional. */
export type Direction = 'fwd' | 'bwd' | 'both' | 'none';

export interface ColumnDef {
  name: string;
  role: ColumnRole;
  type: ColumnType;
  /** Unit of the value: 'bytes', 'packets', 'us' (microseconds), 'ratio', 'count', '1/s', 'bytes/s', ... or ''. */
  unit: string;
  direction: Direction;
  description: string;
  /** True when the column names the answer more than it describes behaviour (SNI, certificate names, JA3 of a
   * known app is not leaky, but an address is). Learning excludes leaky columns unless told otherwise. */
  leaky?: boolean;
}

export type CellValue = number | string | boolean | null;


export function col(
  name: string, role: ColumnRole, type: ColumnType, unit: string, direction: Direction, description: string,
  leaky = false,
): ColumnDef {
  return leaky ? { name, role, type, unit, direction, description, leaky } : { name, role, type, unit, direction, description };
}

/** What an identity getter may read besides the flow: computed once per flow by the meter. */
export interface IdentityContext {
  /** Sequence number of the flow in this output. */
  flowNumber: number;
  /** Formatted (or pseudonymised) initiator and responder addresses. */
  src: string;
  dst: string;
  capture: string;
}

type IdentityGetter = (f: Flow, c: IdentityContext) => CellValue;

/** Identity columns with their getters (as the handshake family's FIELDS): always written first, all named
 * `id_*`, never learnt from by default. */
export const IDENTITY_FIELDS: readonly (readonly [ColumnDef, IdentityGetter])[] = [
  [col('id_flow', 'identity', 'int', '', 'none', 'Sequence number of the flow in this output, in order of ending', true), (_, c) => c.flowNumber],
  [col('id_src_addr', 'identity', 'string', '', 'fwd', 'Address of the initiator (the first packet\'s source); a keyed pseudonym with --anonymize', true), (_, c) => c.src],
  [col('id_dst_addr', 'identity', 'string', '', 'bwd', 'Address of the responder; a keyed pseudonym with --anonymize', true), (_, c) => c.dst],
  [col('id_src_port', 'identity', 'int', '', 'fwd', 'Initiator\'s TCP/UDP port (ICMP: type)', true), (f) => f.sport],
  [col('id_dst_port', 'identity', 'int', '', 'bwd', 'Responder\'s TCP/UDP port (ICMP: code)', true), (f) => f.dport],
  [col('id_protocol', 'identity', 'int', '', 'none', 'IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)', true), (f) => f.proto],
  [col('id_ip_version', 'identity', 'int', '', 'none', 'IP version (4 or 6)', true), (f) => f.ipVersion],
  [col('id_first_ts', 'identity', 'float', 's', 'none', 'Timestamp of the first packet, seconds since the Unix epoch', true), (f) => f.firstTs / 1e6],
  [col('id_last_ts', 'identity', 'float', 's', 'none', 'Timestamp of the last packet, seconds since the Unix epoch', true), (f) => f.lastTs / 1e6],
  [col('id_end_reason', 'identity', 'string', '', 'none', 'Why the flow ended: fin (FIN both ways), rst, idle (idle timeout), active (active timeout), eof (end of input), packets (written at the --early N packet cut)', true), (f) => f.endReason],
  [col('id_capture', 'identity', 'string', '', 'none', 'Name of the capture the flow came from (file name, or interface)', true), (_, c) => c.capture],
];

export const IDENTITY_COLUMNS: readonly ColumnDef[] = IDENTITY_FIELDS.map(([c]) => c);
