/**
 * Cheap static checks on a flow's first payload: is this the start of a handshake we can read? Content only,
 * never ports. No allocation.
 */
import { gquicClientVersion, isSupportedVersion, QUIC_V2 } from '../quic/index.ts';

/** TLS record header of a handshake record: 0x16 0x03 0x00..0x04 (or the start of one cut by a tiny segment). */
function isTlsHandshakeRecord(p: Uint8Array, off: number, len: number): boolean {
  if (p[off] !== 0x16) return false;
  if (len === 1) return true;
  return p[off + 1] === 0x03 && (len === 2 || p[off + 2]! <= 0x04);
}

function startsWith(p: Uint8Array, off: number, len: number, text: string): boolean {
  if (len < text.length) return false;
  for (let i = 0; i < text.length; i++) if (p[off + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Server greetings of protocols that upgrade to TLS in the same stream (STARTTLS): SMTP / FTP '220', IMAP
 * '* OK', POP3 '+OK'. The tracker then looks for the first handshake record within its seek window.
 */
function isStartTlsGreeting(p: Uint8Array, off: number, len: number): boolean {
  return startsWith(p, off, len, '220 ') || startsWith(p, off, len, '220-') || startsWith(p, off, len, '* OK')
    || startsWith(p, off, len, '+OK');
}

/**
 * Proxy preludes that precede TLS in the same TCP stream: SOCKS4/4a CONNECT, SOCKS5 greeting, HTTP CONNECT, PROXY protocol.
 */
function isProxyPrelude(p: Uint8Array, off: number, len: number): boolean {
  const b0 = p[off];
  if (b0 === 0x05 && len >= 3) {
    const n = p[off + 1]!;
    return n >= 1 && len === 2 + n; // SOCKS5: VER NMETHODS METHODS
  }
  if (b0 === 0x04 && len >= 9) return p[off + 1] === 0x01 && p[off + len - 1] === 0x00; // SOCKS4 CONNECT .. USERID 0
  // HTTP CONNECT; HAProxy PROXY protocol v1 text and v2 binary signature.
  return startsWith(p, off, len, 'CONNECT ') || startsWith(p, off, len, 'PROXY ')
    || startsWith(p, off, len, '\r\n\r\n\0\r\nQUIT\n');
}

/** QUIC long header of an Initial packet in a version whose Initial keys we can derive. */
export function isQuicInitialStart(p: Uint8Array, off: number, len: number): boolean {
  if (len < 7) return false;
  const b0 = p[off]!;
  if ((b0 & 0x80) === 0) return false;
  const v = ((p[off + 1]! << 24) | (p[off + 2]! << 16) | (p[off + 3]! << 8) | p[off + 4]!) >>> 0;
  if (!isSupportedVersion(v)) return false;
  const type = (b0 >> 4) & 3;
  return v === QUIC_V2 ? type === 1 : type === 0;
}

/** DTLS handshake record: 0x16 then DTLS 1.0 (0xfeff), 1.2 (0xfefd) or 1.3's legacy 0xfefc. */
export function isDtlsStart(p: Uint8Array, off: number, len: number): boolean {
  return len >= 13 && p[off] === 0x16 && p[off + 1] === 0xfe && (p[off + 2] === 0xff || p[off + 2] === 0xfd || p[off + 2] === 0xfc);
}

/**
 * Whether the payload at `off..off+len` can start a handshake the tracker reads: a TLS handshake record (or a
 * SOCKS / HTTP CONNECT prelude or a STARTTLS-capable server greeting before one) on TCP; a QUIC Initial (v1, v2,
 * drafts, Google QUIC Q050/T050), a Google QUIC Q024..Q046 client packet or a DTLS handshake record on UDP.
 * @example looksLikeHandshakeStart(6, seg, 0, seg.length) // true for 16 03 01 02 00 01 ...
 */
export function looksLikeHandshakeStart(proto: 6 | 17, payload: Uint8Array, off: number, len: number): boolean {
  if (len <= 0 || off < 0 || off + len > payload.length) return false;
  if (proto === 6) {
    return isTlsHandshakeRecord(payload, off, len) || isProxyPrelude(payload, off, len)
      || isStartTlsGreeting(payload, off, len);
  }
  return isQuicInitialStart(payload, off, len) || isDtlsStart(payload, off, len) || gquicClientVersion(payload, off, len) !== 0;
}
