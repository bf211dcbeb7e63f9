/**
 * Contract between the flow meter and the handshake parsers (TLS over TCP, QUIC Initial, DTLS).
 *
 * The meter creates one {@link HandshakeTracker} per flow when the flow's first payload-carrying packet arrives
 * and feeds it packets until `done` turns true; then it asks for {@link HandshakeRecord}. The tracker sniffs the
 * bytes to decide what it is looking at (never the port), bounds its memory, and never throws.
 */

export type HandshakeStatus = 'parsed' | 'partial' | 'malformed' | 'absent';

/** What the unencrypted start of a connection says. Strings are '' when not seen; lists are joined with ','. */
export interface HandshakeRecord {
  status: HandshakeStatus;
  /** 'tls' | 'quic' | 'dtls' | '' */
  protocol: string;
  /** ClientHello legacy version as e.g. '0x0303'. */
  clientVersion: string;
  /** Highest version offered in supported_versions, e.g. '1.3'; '' when absent. */
  offeredVersion: string;
  /** Negotiated version from ServerHello (supported_versions if present), e.g. '1.3', '1.2'. */
  negotiatedVersion: string;
  sni: string;
  alpnOffered: string; // comma-joined in offer order
  alpnChosen: string;
  cipherSuites: string; // comma-joined decimal, GREASE kept out
  cipherChosen: string;
  extensions: string; // comma-joined decimal, offer order, GREASE kept out
  supportedGroups: string;
  signatureAlgorithms: string;
  sessionResumption: boolean; // session ticket / PSK / non-empty session id echoed by the server
  ja3: string;
  ja3Hash: string;
  ja3s: string;
  ja3sHash: string;
  ja4: string;
  ja4R: string; // JA4_r (sorted, raw)
  ja4O: string; // JA4_o (original order, hashed)
  ja4RO: string; // JA4_ro (original order, raw)
  certSubject: string;
  certIssuer: string;
  certSan: string; // comma-joined
  certNotBefore: string; // ISO 8601
  certNotAfter: string;
  /** Microseconds from the ClientHello to the ServerHello (0 if not both seen). */
  helloRttUs: number;
  /** Handshake body lengths (bytes after the 4-byte handshake header) of the first ClientHello / final ServerHello. */
  clientHelloLen: number;
  serverHelloLen: number;
  /** A HelloRetryRequest (TLS 1.3) was seen, or the client sent a second ClientHello (which answers one). */
  helloRetry: boolean;
  /** JA4 of the second ClientHello after a HelloRetryRequest ('' when none); the other fields describe the first. */
  ja4Retry: string;
  /** Malformed records, messages, fragments or packets met in this flow (the tracker skips them, never throws). */
  malformations: number;
}

export interface HandshakeTracker {
  /**
   * A TCP segment of the flow. `dir` 0 = from the initiator, 1 = from the responder. `payload` is a view valid only
   * during the call (copy what you keep). `syn` marks the SYN segment (its seq is the ISN).
   */
  onTcp(dir: 0 | 1, seq: number, syn: boolean, payload: Uint8Array, tsUs: number): void;
  /** A UDP datagram's payload (QUIC, DTLS). */
  onUdp(dir: 0 | 1, payload: Uint8Array, tsUs: number): void;
  /** True once nothing more is to be learnt (both hellos and certificate seen, gave up, or not a handshake). */
  readonly done: boolean;
  result(): HandshakeRecord;
}
