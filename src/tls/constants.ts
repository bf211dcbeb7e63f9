/** TLS code points used by the parsers (IANA TLS registries). */

export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;

export const HandshakeType = {
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  HELLO_VERIFY_REQUEST: 3, // DTLS
  NEW_SESSION_TICKET: 4,
  CERTIFICATE: 11,
  SERVER_KEY_EXCHANGE: 12,
  CERTIFICATE_REQUEST: 13,
  SERVER_HELLO_DONE: 14,
  CLIENT_KEY_EXCHANGE: 16,
  FINISHED: 20,
  CERTIFICATE_STATUS: 22,
} as const;

export const Ext = {
  SERVER_NAME: 0,
  STATUS_REQUEST: 5,
  SUPPORTED_GROUPS: 10,
  EC_POINT_FORMATS: 11,
  SIGNATURE_ALGORITHMS: 13,
  ALPN: 16,
  PADDING: 21,
  EXTENDED_MASTER_SECRET: 23,
  COMPRESS_CERTIFICATE: 27,
  RECORD_SIZE_LIMIT: 28,
  SESSION_TICKET: 35,
  PRE_SHARED_KEY: 41,
  EARLY_DATA: 42,
  SUPPORTED_VERSIONS: 43,
  COOKIE: 44,
  PSK_KEY_EXCHANGE_MODES: 45,
  SIGNATURE_ALGORITHMS_CERT: 50,
  KEY_SHARE: 51,
  QUIC_TRANSPORT_PARAMETERS: 57,
  APPLICATION_SETTINGS: 17513,
  ENCRYPTED_CLIENT_HELLO: 0xfe0d,
  RENEGOTIATION_INFO: 0xff01,
} as const;

/** GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ..., 0xfafa. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

/** `SHA-256("HelloRetryRequest")`: the ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3). */
export const HRR_RANDOM = new Uint8Array([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

export const TLS1_3 = 0x0304;
export const DTLS1_3 = 0xfefc;

/** True for DTLS version code points (0xfeff DTLS 1.0, 0xfefd 1.2, 0xfefc 1.3). */
export function isDtlsVersion(v: number): boolean {
  return v >= 0xfe00 && v <= 0xfeff;
}

/** Rank versions so that a higher rank is a more recent protocol (DTLS counts down). */
export function versionRank(v: number): number {
  if (isDtlsVersion(v)) return 0x10000 + (0xffff - v);
  return v;
}

/** '1.3', '1.2', 'ssl3', 'dtls1.2', ... or the hex code ('0x7f1c') for drafts and unknowns; '' for 0. */
export function versionName(v: number): string {
  switch (v) {
    case 0: return '';
    case 0x0002: return 'ssl2';
    case 0x0300: return 'ssl3';
    case 0x0301: return '1.0';
    case 0x0302: return '1.1';
    case 0x0303: return '1.2';
    case 0x0304: return '1.3';
    case 0xfeff: return 'dtls1.0';
    case 0xfefd: return 'dtls1.2';
    case 0xfefc: return 'dtls1.3';
    default: return hex16(v);
  }
}

export function hex16(v: number): string {
  return '0x' + v.toString(16).padStart(4, '0');
}

/** Whether `v` is TLS 1.3 or DTLS 1.3 (after ServerHello every handshake record is encrypted). */
export function is13(v: number): boolean {
  return v === TLS1_3 || v === DTLS1_3;
}
