/**
 * The strings a handshake record derives from a hello (decimal lists, JA3, JA3S, JA4 and variants), memoized by
 * the hello's content: real traffic repeats a few hundred client and server configurations across thousands of
 * connections, so most flows reuse strings already built (and already hashed) instead of rebuilding them. The
 * key is every field the strings depend on, compared in full on a hit, so a cached answer is always the one the
 * fingerprint functions would give. Memory is bounded (oldest entries evicted first).
 */
import { hex16, isGrease, versionName, versionRank } from './constants.ts';
import { ja3, ja3s } from './fingerprint/ja3.ts';
import { ja4, type Ja4Transport } from './fingerprint/ja4.ts';
import type { ClientHello, ServerHello } from './hello.ts';

/** What a ClientHello contributes to a handshake record (fields named as in HandshakeRecord). */
export interface ClientFacts {
  clientVersion: string;
  offeredVersion: string;
  alpnOffered: string;
  cipherSuites: string;
  extensions: string;
  supportedGroups: string;
  signatureAlgorithms: string;
  ja3: string;
  ja3Hash: string;
  ja4: string;
  ja4R: string;
  ja4O: string;
  ja4RO: string;
}

/** What a (final) ServerHello contributes to a handshake record. */
export interface ServerFacts {
  alpnChosen: string;
  cipherChosen: string;
  ja3s: string;
  ja3sHash: string;
}

const MAX_ENTRIES = 4096;

interface ClientEntry { ch: ClientHello; transport: Ja4Transport; facts: ClientFacts }
interface ServerEntry { sh: ServerHello; facts: ServerFacts }

const clients = new Map<number, ClientEntry>();
const servers = new Map<number, ServerEntry>();

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

function mixList(h: number, list: readonly number[]): number {
  h = mix(h, list.length);
  for (let i = 0; i < list.length; i++) h = mix(h, list[i]!);
  return h;
}

function mixText(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function remember<E>(map: Map<number, E>, key: number, e: E): void {
  if (map.size >= MAX_ENTRIES && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, e);
}

/** Comma-joined decimal code points, GREASE left out. */
export function decimalList(values: readonly number[]): string {
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

function buildClientFacts(ch: ClientHello, transport: Ja4Transport): ClientFacts {
  const j3 = ja3(ch);
  const j4 = ja4(ch, transport);
  return {
    clientVersion: hex16(ch.legacyVersion),
    offeredVersion: versionName(highestOffered(ch)),
    alpnOffered: ch.alpn.join(','),
    cipherSuites: decimalList(ch.cipherSuites),
    extensions: decimalList(ch.extensions),
    supportedGroups: decimalList(ch.supportedGroups),
    signatureAlgorithms: decimalList(ch.signatureAlgorithms),
    ja3: j3.text,
    ja3Hash: j3.hash,
    ja4: j4.ja4,
    ja4R: j4.ja4R,
    ja4O: j4.ja4O,
    ja4RO: j4.ja4RO,
  };
}

/** Record strings of a ClientHello seen over `transport` ('t' TLS, 'q' QUIC, 'd' DTLS). */
export function clientFacts(ch: ClientHello, transport: Ja4Transport): ClientFacts {
  let h = mix(0x811c9dc5, transport.charCodeAt(0));
  h = mix(h, ch.legacyVersion);
  h = mix(h, ch.hasSni ? 1 : 0);
  h = mixList(h, ch.cipherSuites);
  h = mixList(h, ch.extensions);
  h = mixList(h, ch.supportedGroups);
  h = mixList(h, ch.ecPointFormats);
  h = mixList(h, ch.signatureAlgorithms);
  h = mixList(h, ch.supportedVersions);
  h = mix(h, ch.alpn.length);
  for (const a of ch.alpn) h = mixText(h, a);
  const e = clients.get(h);
  if (e !== undefined && e.transport === transport) {
    const c = e.ch;
    if (c.legacyVersion === ch.legacyVersion && c.hasSni === ch.hasSni && sameList(c.cipherSuites, ch.cipherSuites)
      && sameList(c.extensions, ch.extensions) && sameList(c.supportedGroups, ch.supportedGroups)
      && sameList(c.ecPointFormats, ch.ecPointFormats) && sameList(c.signatureAlgorithms, ch.signatureAlgorithms)
      && sameList(c.supportedVersions, ch.supportedVersions) && sameTexts(c.alpn, ch.alpn)) return e.facts;
  }
  const facts = buildClientFacts(ch, transport);
  remember(clients, h, { ch, transport, facts });
  return facts;
}

/** Record strings of a final ServerHello. */
export function serverFacts(sh: ServerHello): ServerFacts {
  let h = mix(0x811c9dc5, sh.legacyVersion);
  h = mix(h, sh.cipherSuite);
  h = mixList(h, sh.extensions);
  h = mixText(h, sh.alpn);
  const e = servers.get(h);
  if (e !== undefined) {
    const s = e.sh;
    if (s.legacyVersion === sh.legacyVersion && s.cipherSuite === sh.cipherSuite && s.alpn === sh.alpn
      && sameList(s.extensions, sh.extensions)) return e.facts;
  }
  const j3s = ja3s(sh);
  const facts: ServerFacts = { alpnChosen: sh.alpn, cipherChosen: String(sh.cipherSuite), ja3s: j3s.text, ja3sHash: j3s.hash };
  remember(servers, h, { sh, facts });
  return facts;
}
