import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { ServiceError } from '../errors.ts';

/**
 * Bearer-token API keys and a token bucket per key. Keys are compared by SHA-256 digest in constant time; a key is
 * identified in logs and metrics only by the first 8 hex digits of its digest.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((k) => k.length > 0).map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The key's id for a request's Authorization header (its digest's first 8 hex digits), or null: no answer. */
  idOf(header: string | undefined): string | null {
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return m ? this.match(m[1]!) : null;
  }

  /** The key's id for a request's Authorization header, or a 401 error. */
  check(header: string | undefined): string {
    if (!header) throw new ServiceError('AUTH_MISSING', 'this server requires an API key: send "Authorization: Bearer <key>"', { 'www-authenticate': 'Bearer' });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ServiceError('AUTH_MISSING', 'the Authorization header must be "Bearer <key>"', { 'www-authenticate': 'Bearer' });
    const id = this.match(m[1]!);
    if (id === null) throw new ServiceError('AUTH_INVALID', 'the API key is not valid for this server', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return id;
  }

  /** The id of `token` when it is one of the keys (every digest compared, in constant time), else null. */
  private match(token: string): string | null {
    const d = digest(token);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(k, d) || ok;
    return ok ? d.toString('hex').slice(0, 8) : null;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Keys from --api-key flags and VEIL_API_KEYS (comma- or space-separated). */
export function keysFrom(flags: readonly string[], env: string | undefined): string[] {
  return [...flags, ...(env ?? '').split(/[\s,]+/)].map((k) => k.trim()).filter(Boolean);
}

/**
 * Token buckets: each key holds up to `burst` tokens, refilled at `perSecond`; a request takes one.
 *
 * @example
 * const rl = new RateLimiter(10, 20);
 * rl.take('k1'); // throws RATE_LIMITED (429, Retry-After) once k1 spent its burst faster than 10/s
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly what = 'this API key',
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** True when `key` has no token left now (a request would be refused); takes nothing. */
  exhausted(key: string): boolean {
    if (!this.enabled) return false;
    const b = this.buckets.get(key);
    if (!b) return false;
    return Math.min(this.burst, b.tokens + ((this.now() - b.at) / 1000) * this.perSecond) < 1;
  }

  take(key: string): void {
    if (!this.enabled) return;
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
      if (this.buckets.size > 10_000) this.prune(t);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
    throw new ServiceError('RATE_LIMITED', `rate limit of ${this.perSecond} requests/s (burst ${this.burst}) exceeded for ${this.what}`, { 'retry-after': String(wait) });
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
    // Still too many (rotating addresses faster than buckets refill): drop the oldest, so a prune is rare, not per request.
    if (this.buckets.size > 10_000) {
      let drop = this.buckets.size - 5_000;
      for (const k of this.buckets.keys()) { if (drop-- <= 0) break; this.buckets.delete(k); }
    }
  }
}

/**
 * The bucket a client address guesses keys from: one for all of loopback (a local attacker can send from any of
 * 127.0.0.0/8), an IPv4 address itself, an IPv6 address by its /64 (one host holds a whole /64).
 */
export function clientGroup(ip: string): string {
  const a = ip.toLowerCase();
  if (isLoopback(a)) return 'loopback';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (isIP(a) === 6) {
    const [head, tail] = a.split('::') as [string, string | undefined];
    const left = head ? head.split(':') : [];
    const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
    return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
  }
  return a;
}

/**
 * Wrong or missing keys cost the client address group a token each; once the group has none, its requests are
 * refused with 429 before their key is looked at, so guessing gains nothing (a right key answers 429 too), except
 * for a key that already succeeded from that group within `rememberMs`: a key holder is not locked out by
 * someone guessing from the same address.
 */
export class AuthFailureGuard {
  private readonly good = new Map<string, number>();

  constructor(private readonly limiter: RateLimiter, private readonly rememberMs = 3600_000, private readonly now: () => number = Date.now) {}

  /** The key id of an authorised request, or a 401/429 ServiceError. */
  authorise(keys: ApiKeys, ip: string, header: string | undefined): string {
    const group = clientGroup(ip);
    if (this.limiter.exhausted(group)) {
      const id = keys.idOf(header);
      const seen = id !== null ? this.good.get(`${group} ${id}`) : undefined;
      if (id !== null && seen !== undefined && this.now() - seen < this.rememberMs) return id;
      this.limiter.take(group); // throws RATE_LIMITED with Retry-After
    }
    let id: string;
    try {
      id = keys.check(header);
    } catch (err) {
      this.limiter.take(group);
      throw err;
    }
    const k = `${group} ${id}`;
    this.good.delete(k);
    this.good.set(k, this.now());
    if (this.good.size > 10_000) this.good.delete(this.good.keys().next().value!);
    return id;
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/**
 * True for addresses that only this machine can reach: 127.0.0.0/8, ::1, their IPv4-mapped form, and the name
 * `localhost`. Compared as addresses, never as strings: `127.evil.example` is a DNS name anyone can point anywhere.
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v = isIP(h);
  if (v === 4) return LOOPBACK.check(h, 'ipv4');
  if (v === 6) return LOOPBACK.check(h, 'ipv6');
  return false;
}

/** The host name of a Host header or an Origin's authority, without port or brackets; null when unparsable. */
export function hostOf(authority: string): string | null {
  const a = authority.trim().toLowerCase();
  if (a === '') return null;
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 0) return null;
    const rest = a.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    return a.slice(1, end);
  }
  const m = /^([^:/?#@\s]+)(?::(\d{1,5}))?$/.exec(a);
  return m ? m[1]! : null;
}

/**
 * Host and Origin checks against DNS rebinding and cross-site requests.
 *
 * - Host: a server without API keys listens on loopback only, so the only names a browser may legitimately use
 *   for it are loopback addresses, `localhost`, and the name it listens on; any other Host is a rebinding page
 *   that resolved its own name to 127.0.0.1, and is refused. `allowedHosts` adds names (a reverse proxy's).
 * - Origin: a write (any method but GET, HEAD, OPTIONS) that carries an Origin whose host is not the request's
 *   Host, or `Sec-Fetch-Site: cross-site`, is refused whatever the keys: no page on another site may upload to,
 *   delete from or install models on this server through a visitor's browser.
 */
export class OriginGuard {
  private readonly hosts: Set<string>;

  constructor(private readonly opts: { checkHost: boolean; listenHost: string; allowedHosts?: readonly string[] }) {
    this.hosts = new Set([opts.listenHost, ...(opts.allowedHosts ?? [])].map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()));
  }

  check(method: string, headers: Record<string, string | string[] | undefined>): void {
    const hostHeader = typeof headers.host === 'string' ? headers.host : '';
    const host = hostOf(hostHeader);
    if (this.opts.checkHost && (host === null || !(isLoopback(host) || this.hosts.has(host)))) {
      throw new ServiceError('FORBIDDEN', `this server answers only to its own names (Host ${JSON.stringify(hostHeader.slice(0, 100))} is not one of them)`);
    }
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return;
    const site = headers['sec-fetch-site'];
    if (site === 'cross-site') throw new ServiceError('FORBIDDEN', 'cross-site writes are refused');
    const origin = headers.origin;
    if (typeof origin === 'string' && origin !== '') {
      let oh: string | null = null;
      try {
        oh = origin === 'null' ? null : new URL(origin).host;
      } catch { oh = null; }
      // Same origin as the request, or an origin on one of the server's names (a reverse proxy that rewrites Host).
      const ohName = oh === null ? null : hostOf(oh);
      const allowed = ohName !== null && this.opts.allowedHosts?.some((a) => a.toLowerCase() === ohName) === true;
      if (oh === null || host === null || (oh.toLowerCase() !== hostHeader.trim().toLowerCase() && !allowed)) {
        throw new ServiceError('FORBIDDEN', `cross-origin writes are refused (Origin ${JSON.stringify(origin.slice(0, 100))})`);
      }
    }
  }
}

/** The API key id each authorised request came with (absent on a server without keys): who trained a model. */
export const requestKeys = new WeakMap<object, string>();
