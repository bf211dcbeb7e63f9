/**
 * Just enough DER (X.690) to read a certificate's subject, issuer, validity and subjectAltName (RFC 5280 §4.1)
 * without node's X509Certificate, whose constructor costs about 300 us per certificate under OpenSSL 3 (it
 * decodes the public key). Output follows node's X509Certificate: names in certificate order with OpenSSL's
 * short attribute names, SAN as 'DNS:' / 'IP Address:' entries. Returns null on anything unexpected.
 */
import { Cursor, TlsParseError } from './cursor.ts';

export interface X509Fields {
  subject: string; // 'C=NL, O=Veil Test, CN=veil.example'
  issuer: string;
  san: string[]; // values without type prefixes
  notBefore: string; // ISO 8601
  notAfter: string;
}

interface Tlv {
  tag: number;
  body: Cursor;
}

/** One DER TLV (single-byte tags, definite lengths up to 4 bytes). */
function tlv(c: Cursor): Tlv {
  const tag = c.u8('tag');
  if ((tag & 0x1f) === 0x1f) throw new TlsParseError('multi-byte DER tag');
  let len = c.u8('length');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new TlsParseError('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + c.u8('length');
  }
  return { tag, body: c.sub(len, 'DER value') };
}

function expect(c: Cursor, tag: number): Cursor {
  const t = tlv(c);
  if (t.tag !== tag) throw new TlsParseError(`DER tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t.body;
}

function oid(b: Uint8Array): string {
  if (b.length === 0) return '';
  const parts: number[] = [];
  const first = b[0]!;
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** OpenSSL short names of the usual DN attributes (what node prints). */
const ATTR: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST',
  '2.5.4.9': 'street', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.12': 'title', '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory', '2.5.4.17': 'postalCode', '2.5.4.42': 'GN', '2.5.4.43': 'initials',
  '2.5.4.41': 'name', '2.5.4.44': 'generationQualifier', '2.5.4.46': 'dnQualifier', '2.5.4.65': 'pseudonym', '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL', '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

const utf8 = new TextDecoder('utf-8');
const utf16 = new TextDecoder('utf-16be');

function directoryString(t: Tlv): string {
  const b = t.body.bytes(t.body.remaining);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return utf8.decode(b);
    case 0x1e: // BMPString
      return utf16.decode(b);
    case 0x1c: { // UniversalString (UTF-32BE)
      let s = '';
      for (let i = 0; i + 3 < b.length; i += 4) s += String.fromCodePoint(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
      return s;
    }
    default: { // PrintableString, IA5String, TeletexString, VisibleString, NumericString: bytes as latin1
      let s = '';
      for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
      return s;
    }
  }
}

/** RFC 2253-style escaping as OpenSSL prints names for node: specials, control bytes, edge spaces and '#'. */
function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    const c = v.charCodeAt(i);
    if (ch === ',' || ch === '+' || ch === '"' || ch === '\\' || ch === '<' || ch === '>' || ch === ';'
      || (i === 0 && (ch === '#' || ch === ' ')) || (i === v.length - 1 && ch === ' ')) {
      out += '\\' + ch;
    } else if (c < 0x20 || c === 0x7f) {
      out += '\\' + c.toString(16).toUpperCase().padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

/* Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET OF AttributeTypeAndValue { type OID, value ANY } */
function name(c: Cursor): string {
  const rdns: string[] = [];
  while (c.remaining > 0) {
    const set = expect(c, 0x31);
    const atvs: string[] = [];
    while (set.remaining > 0) {
      const atv = expect(set, 0x30);
      const idc = expect(atv, 0x06);
      const id = oid(idc.bytes(idc.remaining));
      const type = ATTR[id] ?? id;
      atvs.push(`${type}=${escapeValue(directoryString(tlv(atv)))}`);
    }
    rdns.push(atvs.join(' + '));
  }
  return rdns.join(', ');
}

/* Time ::= CHOICE { utcTime YYMMDDHHMMSSZ, generalTime YYYYMMDDHHMMSS[.f]Z } */
function time(t: Tlv): string {
  let s = '';
  const b = t.body.bytes(t.body.remaining);
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  let full: string;
  if (t.tag === 0x17) {
    const yy = Number(s.slice(0, 2));
    full = `${yy >= 50 ? 1900 + yy : 2000 + yy}${s.slice(2)}`;
  } else if (t.tag === 0x18) {
    full = s;
  } else {
    throw new TlsParseError('bad Time');
  }
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(full);
  if (!m) throw new TlsParseError(`bad Time '${s}'`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) {
    const g: string[] = [];
    for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16).toUpperCase());
    return g.join(':');
  }
  return '';
}

/* GeneralNames ::= SEQUENCE OF GeneralName; rfc822Name [1], dNSName [2], directoryName [4], URI [6], iPAddress [7] */
function subjectAltNames(c: Cursor): string[] {
  const seq = expect(c, 0x30);
  const out: string[] = [];
  while (seq.remaining > 0) {
    const g = tlv(seq);
    const tag = g.tag & 0x1f;
    if (tag === 2 || tag === 1 || tag === 6) out.push(directoryString({ tag: 0x16, body: g.body }));
    else if (tag === 7) out.push(ipText(g.body.bytes(g.body.remaining)));
    else if (tag === 4) out.push(name(expect(g.body, 0x30))); // directoryName
  }
  return out;
}

/*
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 * TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber, signature, issuer, validity,
 *   subject, subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID [2] OPTIONAL,
 *   extensions [3] EXPLICIT SEQUENCE OF Extension OPTIONAL }
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 */
export function readX509(der: Uint8Array): X509Fields | null {
  try {
    const cert = expect(new Cursor(der), 0x30);
    const tbs = expect(cert, 0x30);
    let t = tlv(tbs);
    if (t.tag === 0xa0) t = tlv(tbs); // version
    if (t.tag !== 0x02) return null; // serialNumber
    expect(tbs, 0x30); // signature
    const issuer = name(expect(tbs, 0x30));
    const validity = expect(tbs, 0x30);
    const notBefore = time(tlv(validity));
    const notAfter = time(tlv(validity));
    const subject = name(expect(tbs, 0x30));
    expect(tbs, 0x30); // subjectPublicKeyInfo
    let san: string[] = [];
    while (tbs.remaining > 0) {
      const o = tlv(tbs);
      if (o.tag !== 0xa3) continue;
      const exts = expect(o.body, 0x30);
      while (exts.remaining > 0) {
        const e = expect(exts, 0x30);
        const idc = expect(e, 0x06);
        const id = idc.bytes(idc.remaining);
        let v = tlv(e);
        if (v.tag === 0x01) v = tlv(e); // critical
        // 2.5.29.17 subjectAltName = 55 1d 11
        if (id.length === 3 && id[0] === 0x55 && id[1] === 0x1d && id[2] === 0x11 && v.tag === 0x04) san = subjectAltNames(v.body);
      }
    }
    return { subject, issuer, san, notBefore, notAfter };
  } catch (e) {
    if (e instanceof TlsParseError) return null;
    throw e;
  }
}
