/**
 * Handshake parsers (TLS over TCP, QUIC Initial, DTLS) and fingerprints (JA3, JA3S, JA4).
 *
 * @example
 * const t = createHandshakeTracker();
 * t.onTcp(0, seq, false, payload, tsUs); // ... until t.done
 * const rec = t.result(); // rec.ja4 === 't13d1516h2_8daaf6152771_e5627efa2ab1'
 */
import { TlsHandshakeTracker, type HandshakeTrackerOptions } from './tracker.ts';
import type { HandshakeTracker } from './types.ts';

export type { HandshakeRecord, HandshakeStatus, HandshakeTracker } from './types.ts';
export type { HandshakeTrackerOptions } from './tracker.ts';
export { looksLikeHandshakeStart } from './sniff.ts';
export { emptyHandshakeRecord } from './summary.ts';
export { parseClientHello, parseServerHello } from './hello.ts';
export type { ClientHello, ServerHello } from './hello.ts';
export { ja3, ja3s } from './fingerprint/ja3.ts';
export { ja4 } from './fingerprint/ja4.ts';
export type { Ja4, Ja4Transport } from './fingerprint/ja4.ts';
export { isGrease } from './constants.ts';

/** One tracker per flow; the meter feeds it packets until `done`, then reads `result()`. */
export function createHandshakeTracker(opts?: HandshakeTrackerOptions): HandshakeTracker {
  return new TlsHandshakeTracker(opts);
}
