/**
 * JA3 (client) and JA3S (server) by Salesforce, BSD-3-Clause: decimal code points, '-' within a field, ','
 * between fields, GREASE values left out, MD5 of the string. Works on parsed hellos, never on bytes.
 */
import { isGrease } from '../constants.ts';
import { hexDigest } from './digest.ts';
import type { ClientHello, ServerHello } from '../hello.ts';

export interface Fingerprint {
  text: string;
  hash: string;
}

function dash(values: readonly number[]): string {
  let s = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s === '' ? String(v) : '-' + v;
  }
  return s;
}

/**
 * `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurveFormats`.
 * @example ja3(ch).text === '771,4865-4866-4867,0-11-10,29-23-24,0'
 */
export function ja3(ch: ClientHello): Fingerprint {
  const text = `${ch.legacyVersion},${dash(ch.cipherSuites)},${dash(ch.extensions)},${dash(ch.supportedGroups)},${dash(ch.ecPointFormats)}`;
  return { text, hash: md5(text) };
}

/** `SSLVersion,Cipher,Extensions` of the ServerHello. */
export function ja3s(sh: ServerHello): Fingerprint {
  const text = `${sh.legacyVersion},${sh.cipherSuite},${dash(sh.extensions)}`;
  return { text, hash: md5(text) };
}

export function md5(s: string): string {
  return hexDigest('md5', s);
}
