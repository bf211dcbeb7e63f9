/**
 * JA4 (TLS client fingerprint) per FoxIO's technical_details/JA4.md, BSD-3-Clause. Only the client method is
 * implemented here: the other JA4+ methods are under the FoxIO License and must not be added to this project.
 * Works on a parsed ClientHello, never on bytes.
 */
import { Ext, isGrease, versionRank } from '../constants.ts';
import type { ClientHello } from '../hello.ts';
import { hexDigest } from './digest.ts';

/** 't' TLS over TCP, 'q' QUIC, 'd' DTLS. */
export type Ja4Transport = 't' | 'q' | 'd';

export interface Ja4 {
  /** Sorted, hashed: `t13d1516h2_8daaf6152771_e5627efa2ab1`. */
  ja4: string;
  /** Sorted, raw lists (JA4_r). */
  ja4R: string;
  /** Original order, hashed (JA4_o). */
  ja4O: string;
  /** Original order, raw lists (JA4_ro). */
  ja4RO: string;
}

const EMPTY_HASH = '000000000000';

/** Two-character version of the hello: highest supported_versions entry, else the legacy version. */
export function ja4Version(ch: ClientHello): string {
  let best = -1;
  let bestRank = -1;
  for (const v of ch.supportedVersions) {
    if (isGrease(v)) continue;
    const r = versionRank(v);
    if (r > bestRank) {
      bestRank = r;
      best = v;
    }
  }
  const v = best >= 0 ? best : ch.legacyVersion;
  switch (v) {
    case 0x0304: return '13';
    case 0x0303: return '12';
    case 0x0302: return '11';
    case 0x0301: return '10';
    case 0x0300: return 's3';
    case 0x0002: return 's2';
    case 0xfeff: return 'd1';
    case 0xfefd: return 'd2';
    case 0xfefc: return 'd3';
    default: return '00';
  }
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * First and last character of the first ALPN value; '00' when there is none or it is empty. When either end
 * byte is not alphanumeric, the first and last characters of the value's hex form are used instead.
 */
export function ja4Alpn(first: string | undefined): string {
  if (first === undefined || first.length === 0) return '00';
  const a = first.charCodeAt(0);
  const z = first.charCodeAt(first.length - 1);
  if (isAlnum(a) && isAlnum(z)) return first[0]! + first[first.length - 1]!;
  const hexA = (a >> 4).toString(16);
  const hexZ = (z & 0x0f).toString(16);
  return hexA + hexZ;
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function hash12(s: string): string {
  return hexDigest('sha256', s).slice(0, 12);
}

function two(n: number): string {
  const c = n > 99 ? 99 : n;
  return c < 10 ? '0' + c : String(c);
}

/**
 * JA4 and its raw / original-order variants.
 * @example ja4(ch, 't').ja4 === 't13d1516h2_8daaf6152771_e5627efa2ab1'
 */
export function ja4(ch: ClientHello, transport: Ja4Transport): Ja4 {
  const ciphers: string[] = [];
  for (const c of ch.cipherSuites) if (!isGrease(c)) ciphers.push(hex4(c));
  const extsAll: string[] = [];
  const extsHashed: string[] = [];
  for (const e of ch.extensions) {
    if (isGrease(e)) continue;
    extsAll.push(hex4(e));
    if (e !== Ext.SERVER_NAME && e !== Ext.ALPN) extsHashed.push(hex4(e));
  }
  const sigs: string[] = [];
  for (const s of ch.signatureAlgorithms) if (!isGrease(s)) sigs.push(hex4(s));
  const sigPart = sigs.length > 0 ? '_' + sigs.join(',') : '';

  const a = transport + ja4Version(ch) + (ch.hasSni ? 'd' : 'i') + two(ciphers.length) + two(extsAll.length)
    + ja4Alpn(ch.alpn[0]);

  const cOrig = ciphers.join(',');
  const cSorted = ciphers.slice().sort().join(',');
  // Original order keeps SNI and ALPN in the list; the sorted form drops them (they are in part a).
  const eOrig = extsAll.join(',') + sigPart;
  const eSorted = extsHashed.slice().sort().join(',') + sigPart;

  const hc = (s: string, n: number): string => (n === 0 ? EMPTY_HASH : hash12(s));
  return {
    ja4: `${a}_${hc(cSorted, ciphers.length)}_${hc(eSorted, extsHashed.length)}`,
    ja4R: `${a}_${cSorted}_${eSorted}`,
    // The reference implementation writes zeros for JA4_o too when only SNI / ALPN are present.
    ja4O: `${a}_${hc(cOrig, ciphers.length)}_${hc(eOrig, extsHashed.length)}`,
    ja4RO: `${a}_${cOrig}_${eOrig}`,
  };
}
