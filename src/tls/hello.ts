/**
 * Grammar of ClientHello and ServerHello bodies (the bytes after the 4-byte handshake header): bytes in, plain
 * objects out. Lists keep GREASE values and wire order; semantics (fingerprints, record fields) live elsewhere.
 */
import { Cursor, TlsParseError, latin1 } from './cursor.ts';
import { Ext, HRR_RANDOM } from './constants.ts';

export interface ClientHello {
  legacyVersion: number;
  sessionId: Uint8Array; // copy, at most 32 bytes
  /** DTLS only: length of the HelloVerifyRequest cookie echoed back (0 for TLS). */
  cookieLen: number;
  cipherSuites: number[];
  compressionMethods: number[];
  /** Extension types in wire order, GREASE included; empty when the hello has no extensions block. */
  extensions: number[];
  /** True when extension 0 is present (even if its name list cannot be read). */
  hasSni: boolean;
  /** First host_name entry of server_name, '' if none. */
  serverName: string;
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  /** ALPN protocol names as latin1 strings (one char per byte, raw bytes recoverable). */
  alpn: string[];
  supportedVersions: number[];
  keyShareGroups: number[];
  pskKeyExchangeModes: number[];
  /** session_ticket extension present with a non-empty ticket (an offer to resume). */
  sessionTicketOffered: boolean;
  /** pre_shared_key extension present (TLS 1.3 resumption offer). */
  pskOffered: boolean;
  earlyData: boolean;
  ech: boolean;
  /** Inner extension bodies that could not be read (the hello itself still parsed). */
  extensionErrors: number;
}

export interface ServerHello {
  legacyVersion: number;
  /** True when the random is the HelloRetryRequest magic (RFC 8446 §4.1.3). */
  helloRetryRequest: boolean;
  sessionId: Uint8Array; // copy
  cipherSuite: number;
  compressionMethod: number;
  extensions: number[];
  /** supported_versions selected_version, 0 when absent. */
  selectedVersion: number;
  /** ALPN protocol chosen by the server ('' when absent; TLS 1.3 sends it encrypted). */
  alpn: string;
  /** pre_shared_key selected_identity present: the server accepted a PSK. */
  pskAccepted: boolean;
  keyShareGroup: number;
  extensionErrors: number;
}

/*
 * RFC 8446 §4.1.2 (and RFC 6347 §4.2.1 for the DTLS cookie):
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;                                   // 32 bytes
 *       opaque legacy_session_id<0..32>;
 *       opaque cookie<0..2^8-1>;                         // DTLS only
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       opaque legacy_compression_methods<1..2^8-1>;
 *       Extension extensions<8..2^16-1>;                 // absent in some SSLv3/TLS 1.0 hellos
 *   } ClientHello;
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 */
export function parseClientHello(body: Uint8Array, dtls = false): ClientHello {
  const c = new Cursor(body);
  const legacyVersion = c.u16('client_version');
  c.skip(32, 'random');
  const sid = c.vec8('session_id');
  if (sid.remaining > 32) throw new TlsParseError(`session_id length ${sid.remaining} > 32`);
  const sessionId = new Uint8Array(sid.bytes(sid.remaining)); // a copy (Buffer#slice would be a view)
  let cookieLen = 0;
  if (dtls) cookieLen = c.vec8('cookie').remaining;
  const cs = c.vec16('cipher_suites');
  const cipherSuites = cs.u16List('cipher_suites');
  const compressionMethods = c.vec8('compression_methods').u8List();
  const ch: ClientHello = {
    legacyVersion, sessionId, cookieLen, cipherSuites, compressionMethods, extensions: [], hasSni: false,
    serverName: '', supportedGroups: [], ecPointFormats: [], signatureAlgorithms: [], alpn: [],
    supportedVersions: [], keyShareGroups: [], pskKeyExchangeModes: [], sessionTicketOffered: false,
    pskOffered: false, earlyData: false, ech: false, extensionErrors: 0,
  };
  if (c.remaining === 0) return ch;
  const exts = c.vec16('extensions');
  while (exts.remaining > 0) {
    const type = exts.u16('extension_type');
    const data = exts.vec16('extension_data');
    ch.extensions.push(type);
    try {
      clientExtension(ch, type, data);
    } catch (e) {
      if (!(e instanceof TlsParseError)) throw e;
      ch.extensionErrors++;
    }
  }
  return ch;
}

function clientExtension(ch: ClientHello, type: number, d: Cursor): void {
  switch (type) {
    case Ext.SERVER_NAME: {
      ch.hasSni = true;
      if (d.remaining === 0) return; // a server's empty acknowledgement; tolerated in client hellos
      const list = d.vec16('server_name_list');
      while (list.remaining > 0) {
        const nameType = list.u8('name_type');
        const name = list.vec16('host_name');
        if (nameType === 0 && ch.serverName === '') ch.serverName = latin1(name.bytes(name.remaining));
      }
      return;
    }
    case Ext.SUPPORTED_GROUPS:
      ch.supportedGroups = d.vec16('named_group_list').u16List();
      return;
    case Ext.EC_POINT_FORMATS:
      ch.ecPointFormats = d.vec8('ec_point_format_list').u8List();
      return;
    case Ext.SIGNATURE_ALGORITHMS:
      ch.signatureAlgorithms = d.vec16('supported_signature_algorithms').u16List();
      return;
    case Ext.ALPN: {
      const list = d.vec16('protocol_name_list');
      while (list.remaining > 0) {
        const p = list.vec8('protocol_name');
        ch.alpn.push(latin1(p.bytes(p.remaining)));
      }
      return;
    }
    case Ext.SUPPORTED_VERSIONS:
      ch.supportedVersions = d.vec8('versions').u16List();
      return;
    case Ext.KEY_SHARE: {
      const list = d.vec16('client_shares');
      while (list.remaining > 0) {
        ch.keyShareGroups.push(list.u16('group'));
        list.vec16('key_exchange');
      }
      return;
    }
    case Ext.PSK_KEY_EXCHANGE_MODES:
      ch.pskKeyExchangeModes = d.vec8('ke_modes').u8List();
      return;
    case Ext.SESSION_TICKET:
      ch.sessionTicketOffered = d.remaining > 0;
      return;
    case Ext.PRE_SHARED_KEY:
      ch.pskOffered = true;
      return;
    case Ext.EARLY_DATA:
      ch.earlyData = true;
      return;
    case Ext.ENCRYPTED_CLIENT_HELLO:
      ch.ech = true;
      return;
    default:
      return;
  }
}

/*
 * RFC 8446 §4.1.3 (TLS 1.2 and earlier have the same layout, RFC 5246 §7.4.1.3):
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;
 *       opaque legacy_session_id_echo<0..32>;
 *       CipherSuite cipher_suite;
 *       uint8 legacy_compression_method = 0;
 *       Extension extensions<6..2^16-1>;
 *   } ServerHello;
 */
export function parseServerHello(body: Uint8Array): ServerHello {
  const c = new Cursor(body);
  const legacyVersion = c.u16('server_version');
  const random = c.bytes(32, 'random');
  const sid = c.vec8('session_id');
  if (sid.remaining > 32) throw new TlsParseError(`session_id length ${sid.remaining} > 32`);
  const sessionId = new Uint8Array(sid.bytes(sid.remaining)); // a copy (Buffer#slice would be a view)
  const cipherSuite = c.u16('cipher_suite');
  const compressionMethod = c.u8('compression_method');
  const sh: ServerHello = {
    legacyVersion, helloRetryRequest: equalBytes(random, HRR_RANDOM), sessionId, cipherSuite, compressionMethod,
    extensions: [], selectedVersion: 0, alpn: '', pskAccepted: false, keyShareGroup: 0, extensionErrors: 0,
  };
  if (c.remaining === 0) return sh;
  const exts = c.vec16('extensions');
  while (exts.remaining > 0) {
    const type = exts.u16('extension_type');
    const data = exts.vec16('extension_data');
    sh.extensions.push(type);
    try {
      serverExtension(sh, type, data);
    } catch (e) {
      if (!(e instanceof TlsParseError)) throw e;
      sh.extensionErrors++;
    }
  }
  return sh;
}

function serverExtension(sh: ServerHello, type: number, d: Cursor): void {
  switch (type) {
    case Ext.SUPPORTED_VERSIONS:
      sh.selectedVersion = d.u16('selected_version');
      return;
    case Ext.ALPN: {
      const list = d.vec16('protocol_name_list');
      const p = list.vec8('protocol_name');
      sh.alpn = latin1(p.bytes(p.remaining));
      return;
    }
    case Ext.PRE_SHARED_KEY:
      d.u16('selected_identity');
      sh.pskAccepted = true;
      return;
    case Ext.KEY_SHARE:
      // ServerHello carries a KeyShareEntry; a HelloRetryRequest only the selected group.
      sh.keyShareGroup = d.u16('group');
      return;
    default:
      return;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
