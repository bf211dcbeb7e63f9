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

/**
 * Subject, issuer, SAN and validity of a DER certificate; null when it cannot be decoded. A small DER walker
 * reads the usual certificate (fast); node's X509Certificate handles what it does not.
 */
export function describeCertificate(der: Uint8Array): CertificateInfo | null {
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
