import { createHandshakeTracker, looksLikeHandshakeStart } from '../../tls/index.ts';
import type { HandshakeRecord, HandshakeTracker } from '../../tls/types.ts';
import type { PacketInfo } from '../../wire/types.ts';
import { col, type CellValue, type ColumnDef } from '../columns.ts';
import type { Flow } from '../flow.ts';
import type { FeatureFamily } from './family.ts';
import { Slab } from './slab.ts';

/**
 * Handshake metadata: TLS (over TCP), QUIC Initial and DTLS ClientHello facts and fingerprints. A tracker is made
 * only for flows whose first payload bytes look like a handshake (content, never port), fed until it has learnt
 * all it can, and its record written as the tls_* columns. No payload is kept beyond the tracker's bounded buffers.
 */
/**
 * State: one slab record per flow (see slab.ts) with the sniffing progress, and the flow's tracker (if one was
 * made) in a list indexed by record, so a flow without a handshake (most flows) costs no object at all.
 */
type State = number;

/** Payload-carrying packets sniffed so far without finding a handshake start. */
const SNIFFED = 0;
/** TCP: sequence numbers of the SYNs seen per direction (-1: none), replayed to a tracker made later, so each
 * stream starts at its ISN and a reordered first segment is not lost. */
const SYN0 = 1;
const SYN1 = 2;
/**
 * 1 when the flow's responder is the TLS client: the capture began after the client's SYN (its first packet was
 * the SYN-ACK), so the meter made the server the flow's source. The first handshake bytes then are a ClientHello
 * from direction 1, and the tracker (whose direction 0 is the client) is fed with directions swapped.
 */
const FLIP = 3;
/** Slots per record: a power of two, so a record's index is its offset shifted. */
const WIDTH = 4;
const INDEX_SHIFT = 2;

const SNIFF_PACKETS = 3;
const SYN = 2;
const EMPTY = new Uint8Array(0);

type Getter = (r: HandshakeRecord) => CellValue;
const FIELDS: [ColumnDef, Getter][] = [
  [col('tls_status', 'metadata', 'string', '', 'none', 'Handshake parse status: parsed, partial (ran out of data or limits), malformed, absent'), (r) => r.status],
  [col('tls_protocol', 'metadata', 'string', '', 'none', 'Handshake protocol found by content: tls, quic (IETF and Google QUIC), dtls (empty if none)'), (r) => r.protocol],
  [col('tls_client_version', 'metadata', 'string', '', 'fwd', 'ClientHello legacy version, e.g. 0x0303; Google QUIC: the version its CHLO asks for (VER tag), e.g. Q046'), (r) => r.clientVersion],
  [col('tls_offered_version', 'metadata', 'string', '', 'fwd', 'Highest version in the client\'s supported_versions, e.g. 1.3'), (r) => r.offeredVersion],
  [col('tls_version', 'metadata', 'string', '', 'bwd', 'Negotiated version from the ServerHello (supported_versions if present)'), (r) => r.negotiatedVersion],
  [col('tls_sni', 'metadata', 'string', '', 'fwd', 'Server name indication (leaks the destination: excluded from learning)', true), (r) => r.sni],
  [col('tls_alpn_offered', 'metadata', 'string', '', 'fwd', 'ALPN protocols offered, comma-separated in offer order'), (r) => r.alpnOffered],
  [col('tls_alpn', 'metadata', 'string', '', 'bwd', 'ALPN protocol chosen by the server'), (r) => r.alpnChosen],
  [col('tls_ciphers', 'metadata', 'string', '', 'fwd', 'Cipher suites offered (decimal, offer order, GREASE removed)'), (r) => r.cipherSuites],
  [col('tls_cipher', 'metadata', 'string', '', 'bwd', 'Cipher suite chosen by the server'), (r) => r.cipherChosen],
  [col('tls_extensions', 'metadata', 'string', '', 'fwd', 'ClientHello extension types (decimal, offer order, GREASE removed)'), (r) => r.extensions],
  [col('tls_groups', 'metadata', 'string', '', 'fwd', 'Supported groups offered'), (r) => r.supportedGroups],
  [col('tls_sig_algs', 'metadata', 'string', '', 'fwd', 'Signature algorithms offered'), (r) => r.signatureAlgorithms],
  [col('tls_resumed', 'metadata', 'bool', '', 'both', 'Session resumption seen (ticket/PSK accepted or session id echoed)'), (r) => r.sessionResumption],
  [col('tls_ja3', 'metadata', 'string', '', 'fwd', 'JA3 string of the ClientHello'), (r) => r.ja3],
  [col('tls_ja3_hash', 'metadata', 'string', '', 'fwd', 'JA3 fingerprint (MD5 of the JA3 string)'), (r) => r.ja3Hash],
  [col('tls_ja3s', 'metadata', 'string', '', 'bwd', 'JA3S string of the ServerHello'), (r) => r.ja3s],
  [col('tls_ja3s_hash', 'metadata', 'string', '', 'bwd', 'JA3S fingerprint (MD5)'), (r) => r.ja3sHash],
  [col('tls_ja4', 'metadata', 'string', '', 'fwd', 'JA4 client fingerprint (FoxIO JA4, BSD-3-Clause)'), (r) => r.ja4],
  [col('tls_ja4_r', 'metadata', 'string', '', 'fwd', 'JA4_r: JA4 with sorted raw lists instead of hashes'), (r) => r.ja4R],
  [col('tls_ja4_o', 'metadata', 'string', '', 'fwd', 'JA4_o: JA4 in original order, hashed'), (r) => r.ja4O],
  [col('tls_ja4_ro', 'metadata', 'string', '', 'fwd', 'JA4_ro: JA4 in original order, raw'), (r) => r.ja4RO],
  [col('tls_cert_subject', 'metadata', 'string', '', 'bwd', 'Server certificate subject (TLS 1.2 and older; leaks the destination)', true), (r) => r.certSubject],
  [col('tls_cert_issuer', 'metadata', 'string', '', 'bwd', 'Server certificate issuer', true), (r) => r.certIssuer],
  [col('tls_cert_san', 'metadata', 'string', '', 'bwd', 'Server certificate subject alternative names (leaky)', true), (r) => r.certSan],
  [col('tls_cert_not_before', 'metadata', 'string', '', 'bwd', 'Certificate validity start (ISO 8601)'), (r) => r.certNotBefore],
  [col('tls_cert_not_after', 'metadata', 'string', '', 'bwd', 'Certificate validity end (ISO 8601)'), (r) => r.certNotAfter],
  [col('tls_hello_retry', 'metadata', 'bool', '', 'both', 'A HelloRetryRequest was seen, or the client sent a second ClientHello'), (r) => r.helloRetry],
  [col('tls_ja4_retry', 'metadata', 'string', '', 'fwd', 'JA4 of the second ClientHello after a HelloRetryRequest (the reference\'s JA4.2)'), (r) => r.ja4Retry],
  [col('tls_malformations', 'feature', 'int', 'count', 'both', 'Malformed records, packets or fragments seen in the handshake'), (r) => r.malformations],
  [col('tls_hello_rtt_us', 'feature', 'float', 'us', 'both', 'Time from ClientHello to ServerHello (0 unless both seen)'), (r) => r.helloRttUs],
  [col('tls_client_hello_len', 'feature', 'int', 'bytes', 'fwd', 'ClientHello message length (0 if none)'), (r) => r.clientHelloLen],
  [col('tls_server_hello_len', 'feature', 'int', 'bytes', 'bwd', 'ServerHello message length (0 if none)'), (r) => r.serverHelloLen],
];

const ABSENT: CellValue[] = FIELDS.map(([c]) => (c.name === 'tls_status' ? 'absent' : c.type === 'string' ? '' : c.type === 'bool' ? false : 0));

/** A TLS handshake record (type 22) whose first message is a ClientHello (type 1). */
function isClientHelloRecord(b: Uint8Array, off: number, len: number): boolean {
  return len >= 6 && b[off] === 22 && b[off + 5] === 1;
}

export function handshakeFamily(): FeatureFamily<State> {
  const slab = new Slab(WIDTH);
  /** Trackers by record index (offset >> INDEX_SHIFT); null while none was made. */
  const trackers: (HandshakeTracker | null)[] = [];
  return {
    name: 'handshake',
    description: 'TLS / QUIC / DTLS handshake metadata and fingerprints (JA3, JA3S, JA4), found by content',
    columns: FIELDS.map(([c]) => c),
    init(): State {
      const o = slab.alloc();
      const d = slab.data;
      d[o + SNIFFED] = 0;
      d[o + SYN0] = -1;
      d[o + SYN1] = -1;
      d[o + FLIP] = 0;
      const k = o >> INDEX_SHIFT;
      while (trackers.length <= k) trackers.push(null);
      return o;
    },
    update(o: State, _flow: Flow, p: PacketInfo, dir: 0 | 1): void {
      const len = p.payloadCapLen;
      let t = trackers[o >> INDEX_SHIFT]!;
      if (t === null) {
        const d = slab.data;
        if (p.proto === 6 && (p.tcpFlags & SYN) !== 0) d[o + (dir === 0 ? SYN0 : SYN1)] = p.tcpSeq;
        if (len === 0 || d[o + SNIFFED]! >= SNIFF_PACKETS || (p.proto !== 6 && p.proto !== 17)) return;
        d[o + SNIFFED]!++;
        if (!looksLikeHandshakeStart(p.proto as 6 | 17, p.data, p.payloadOffset, len)) return;
        t = trackers[o >> INDEX_SHIFT] = createHandshakeTracker();
        const flip = p.proto === 6 && dir === 1 && isClientHelloRecord(p.data, p.payloadOffset, len) ? 1 : 0;
        d[o + FLIP] = flip;
        const syn0 = d[o + SYN0]!, syn1 = d[o + SYN1]!;
        if (syn0 >= 0) t.onTcp(flip as 0 | 1, syn0, true, EMPTY, p.tsUs);
        if (syn1 >= 0) t.onTcp((1 - flip) as 0 | 1, syn1, true, EMPTY, p.tsUs);
      }
      if (t.done || len === 0) return;
      const payload = p.data.subarray(p.payloadOffset, p.payloadOffset + len);
      if (p.proto === 6) t.onTcp((dir ^ slab.data[o + FLIP]!) as 0 | 1, p.tcpSeq, (p.tcpFlags & SYN) !== 0, payload, p.tsUs);
      else t.onUdp(dir, payload, p.tsUs);
    },
    finish(o: State, _flow: Flow, row: CellValue[], at: number): void {
      const k = o >> INDEX_SHIFT;
      const t = trackers[k]!;
      trackers[k] = null;
      slab.release(o);
      if (t === null) {
        for (let i = 0; i < ABSENT.length; i++) row[at + i] = ABSENT[i]!;
        return;
      }
      const r = t.result();
      for (let i = 0; i < FIELDS.length; i++) row[at + i] = FIELDS[i]![1](r);
    },
  };
}
