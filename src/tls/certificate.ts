/**
 * TLS 1.2-and-earlier Certificate message: the grammar hands back the DER of the leaf certificate, and
 * {@link describeCertificate} reads the fields the record needs through node:crypto's X509Certificate.
 */
import { X509Certificate } from 'node:crypto';
import { Cursor } from './cursor.ts';
import { readX509 } from './x509.ts';

export interface CertificateInfo {
  subject: string;
  issuer: string;
  san: string; // comma-joined values without their 'DNS:' / 'IP Address:' prefixes
  notBefore: string; // ISO 8601
  notAfter: string;
}

/*
 * RFC 5246 §7.4.2:
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 */
/** DER of the first certificate in a Certificate message body, or null when the list is empty. */
export function leafCertificate(body: Uint8Array): Uint8Array | null {
  const c = new Cursor(body);
  const list = c.vec24('certificate_list');
  if (list.remaining === 0) return null;
  const first = list.vec24('ASN.1Cert');
  return first.bytes(first.remaining);
}

/** Certificates remembered by {@link describeCertificate}, and the largest one remembered. */
const CACHE_ENTRIES = 1024;
const CACHE_MAX_DER = 8192;
const cache = new Map<number, { der: Uint8Array; info: CertificateInfo | null }>();

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5 ^ b.length;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Subject, issuer, SAN and validity of a DER certificate; null when it cannot be decoded. A small DER walker
 * reads the usual certificate (fast); node's X509Certificate handles what it does not. Servers send the same
 * certificate to every client, so answers are remembered by the certificate's bytes (a bounded cache, compared in
 * full): the returned object may be shared, do not modify it.
 */
export function describeCertificate(der: Uint8Array): CertificateInfo | null {
  if (der.length > CACHE_MAX_DER) return describeUncached(der);
  const h = hashBytes(der);
  const hit = cache.get(h);
  if (hit !== undefined && sameBytes(hit.der, der)) return hit.info;
  const info = describeUncached(der);
  if (cache.size >= CACHE_ENTRIES && hit === undefined) cache.delete(cache.keys().next().value!);
  cache.set(h, { der: new Uint8Array(der), info }); // a copy (slice of a Buffer would be a view)
  return info;
}

function describeUncached(der: Uint8Array): CertificateInfo | null {
  const f = readX509(der);
  if (f !== null) return { subject: f.subject, issuer: f.issuer, san: f.san.join(','), notBefore: f.notBefore, notAfter: f.notAfter };
  return describeWithNode(der);
}

/** The same fields through node:crypto's X509Certificate (OpenSSL). */
export function describeWithNode(der: Uint8Array): CertificateInfo | null {
  let x: X509Certificate;
  try {
    x = new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  } catch {
    return null;
  }
  try {
    return {
      subject: oneLine(x.subject),
      issuer: oneLine(x.issuer),
      san: sanValues(x.subjectAltName),
      notBefore: isoDate(x.validFrom),
      notAfter: isoDate(x.validTo),
    };
  } catch {
    return null;
  }
}

/** node prints distinguished names one RDN per line; the record keeps them on one line. */
function oneLine(dn: string | undefined): string {
  return dn ? dn.split('\n').filter((s) => s !== '').join(', ') : '';
}

function sanValues(san: string | undefined): string {
  if (!san) return '';
  const out: string[] = [];
  for (const part of san.split(', ')) {
    const colon = part.indexOf(':');
    out.push(colon >= 0 ? part.slice(colon + 1) : part);
  }
  return out.join(',');
}

function isoDate(s: string): string {
  const t = Date.parse(s);
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}
