/**
 * Semantics: turns the parsed hellos and certificate of one flow into a {@link HandshakeRecord}.
 */
import type { CertificateInfo } from './certificate.ts';
import { hex16, is13, isGrease, versionName, versionRank } from './constants.ts';
import { ja3, ja3s } from './fingerprint/ja3.ts';
import { ja4, type Ja4Transport } from './fingerprint/ja4.ts';
import type { ClientHello, ServerHello } from './hello.ts';
import type { HandshakeRecord, HandshakeStatus } from './types.ts';

/** A record with every field empty, status 'absent'. */
export function emptyHandshakeRecord(): HandshakeRecord {
  return {
    status: 'absent', protocol: '', clientVersion: '', offeredVersion: '', negotiatedVersion: '', sni: '',
    alpnOffered: '', alpnChosen: '', cipherSuites: '', cipherChosen: '', extensions: '', supportedGroups: '',
    signatureAlgorithms: '', sessionResumption: false, ja3: '', ja3Hash: '', ja3s: '', ja3sHash: '', ja4: '',
    ja4R: '', ja4O: '', ja4RO: '', certSubject: '', certIssuer: '', certSan: '', certNotBefore: '',
    certNotAfter: '', helloRttUs: 0, clientHelloLen: 0, serverHelloLen: 0, helloRetry: false, ja4Retry: '',
    malformations: 0,
  };
}

export interface HandshakeFacts {
  status: HandshakeStatus;
  protocol: 'tls' | 'quic' | 'dtls' | '';
  ch: ClientHello | null;
  /** Second ClientHello after a HelloRetryRequest. */
  ch2: ClientHello | null;
  /** Final ServerHello (not a HelloRetryRequest). */
  sh: ServerHello | null;
  hrr: ServerHello | null;
  /** TLS <= 1.2: the server went from ServerHello straight to ChangeCipherSpec (abbreviated handshake). */
  abbreviated: boolean;
  cert: CertificateInfo | null;
  chTs: number;
  /** Time of the first server hello message (HelloRetryRequest or ServerHello). */
  shTs: number;
  clientHelloLen: number;
  serverHelloLen: number;
  malformations: number;
}

function decimalList(values: readonly number[]): string {
  let s = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s === '' ? String(v) : ',' + v;
  }
  return s;
}

/** Highest non-GREASE supported_versions entry, 0 when the extension is absent. */
export function highestOffered(ch: ClientHello): number {
  let best = 0;
  for (const v of ch.supportedVersions) if (!isGrease(v) && versionRank(v) > versionRank(best)) best = v;
  return best;
}

/** Version the server chose: supported_versions when present, else the legacy field. */
export function negotiated(sh: ServerHello): number {
  return sh.selectedVersion !== 0 ? sh.selectedVersion : sh.legacyVersion;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function resumed(f: HandshakeFacts): boolean {
  const { ch, sh } = f;
  if (sh === null) return false;
  if (sh.pskAccepted) return true;
  if (is13(negotiated(sh))) return false; // a 1.3 server echoes the compatibility session id: not resumption
  if (f.abbreviated) return true;
  return ch !== null && ch.sessionId.length > 0 && sameBytes(ch.sessionId, sh.sessionId);
}

export function buildRecord(f: HandshakeFacts): HandshakeRecord {
  const r = emptyHandshakeRecord();
  r.status = f.status;
  r.protocol = f.protocol;
  r.malformations = f.malformations;
  const letter: Ja4Transport = f.protocol === 'quic' ? 'q' : f.protocol === 'dtls' ? 'd' : 't';
  const { ch, sh } = f;
  if (ch !== null) {
    r.clientVersion = hex16(ch.legacyVersion);
    r.offeredVersion = versionName(highestOffered(ch));
    r.sni = ch.serverName;
    r.alpnOffered = ch.alpn.join(',');
    r.cipherSuites = decimalList(ch.cipherSuites);
    r.extensions = decimalList(ch.extensions);
    r.supportedGroups = decimalList(ch.supportedGroups);
    r.signatureAlgorithms = decimalList(ch.signatureAlgorithms);
    const j3 = ja3(ch);
    r.ja3 = j3.text;
    r.ja3Hash = j3.hash;
    const j4 = ja4(ch, letter);
    r.ja4 = j4.ja4;
    r.ja4R = j4.ja4R;
    r.ja4O = j4.ja4O;
    r.ja4RO = j4.ja4RO;
    r.clientHelloLen = f.clientHelloLen;
  }
  if (f.ch2 !== null) r.ja4Retry = ja4(f.ch2, letter).ja4;
  r.helloRetry = f.hrr !== null || f.ch2 !== null;
  const server = sh ?? f.hrr;
  if (server !== null) r.negotiatedVersion = versionName(negotiated(server));
  if (sh !== null) {
    r.alpnChosen = sh.alpn;
    r.cipherChosen = String(sh.cipherSuite);
    const j3s = ja3s(sh);
    r.ja3s = j3s.text;
    r.ja3sHash = j3s.hash;
    r.serverHelloLen = f.serverHelloLen;
  }
  r.sessionResumption = resumed(f);
  if (ch !== null && server !== null && f.shTs >= f.chTs) r.helloRttUs = f.shTs - f.chTs;
  if (f.cert !== null) {
    r.certSubject = f.cert.subject;
    r.certIssuer = f.cert.issuer;
    r.certSan = f.cert.san;
    r.certNotBefore = f.cert.notBefore;
    r.certNotAfter = f.cert.notAfter;
  }
  return r;
}
