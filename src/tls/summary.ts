/**
 * Semantics: turns the parsed hellos and certificate of one flow into a {@link HandshakeRecord}.
 */
import type { CertificateInfo } from './certificate.ts';
import { is13, versionName } from './constants.ts';
import type { Ja4Transport } from './fingerprint/ja4.ts';
import type { ClientHello, ServerHello } from './hello.ts';
import { clientFacts, serverFacts } from './hello-facts.ts';
import type { HandshakeRecord, HandshakeStatus } from './types.ts';
import { gquicVersionName, type ChloFacts } from '../quic/index.ts';

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
  /** Google QUIC: the client's CHLO (QUIC crypto) and the packets' version, when the flow spoke it. */
  chlo?: ChloFacts | null;
  gquicVersion?: number;
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
    const c = clientFacts(ch, letter);
    r.clientVersion = c.clientVersion;
    r.offeredVersion = c.offeredVersion;
    r.sni = ch.serverName;
    r.alpnOffered = c.alpnOffered;
    r.cipherSuites = c.cipherSuites;
    r.extensions = c.extensions;
    r.supportedGroups = c.supportedGroups;
    r.signatureAlgorithms = c.signatureAlgorithms;
    r.ja3 = c.ja3;
    r.ja3Hash = c.ja3Hash;
    r.ja4 = c.ja4;
    r.ja4R = c.ja4R;
    r.ja4O = c.ja4O;
    r.ja4RO = c.ja4RO;
    r.clientHelloLen = f.clientHelloLen;
  }
  if (ch === null && f.chlo) {
    // A CHLO names the server and the version; it has no TLS lists, so the fingerprints stay empty.
    r.sni = f.chlo.sni;
    r.clientVersion = f.chlo.ver || (f.gquicVersion ? gquicVersionName(f.gquicVersion) : '');
    r.clientHelloLen = f.clientHelloLen;
  }
  if (f.ch2 !== null) r.ja4Retry = clientFacts(f.ch2, letter).ja4;
  r.helloRetry = f.hrr !== null || f.ch2 !== null;
  const server = sh ?? f.hrr;
  if (server !== null) r.negotiatedVersion = versionName(negotiated(server));
  if (sh !== null) {
    const sf = serverFacts(sh);
    r.alpnChosen = sf.alpnChosen;
    r.cipherChosen = sf.cipherChosen;
    r.ja3s = sf.ja3s;
    r.ja3sHash = sf.ja3sHash;
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
