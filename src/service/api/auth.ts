import { createHash, timingSafeEqual } from 'node:crypto';
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

  /** The key's id for a request's Authorization header, or a 401 error. */
  check(header: string | undefined): string {
    if (!header) throw new ServiceError('AUTH_MISSING', 'this server requires an API key: send "Authorization: Bearer <key>"', { 'www-authenticate': 'Bearer' });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ServiceError('AUTH_MISSING', 'the Authorization header must be "Bearer <key>"', { 'www-authenticate': 'Bearer' });
    const d = digest(m[1]!);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(k, d) || ok;
    if (!ok) throw new ServiceError('AUTH_INVALID', 'the API key is not valid for this server', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return d.toString('hex').slice(0, 8);
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

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  get enabled(): boolean {
    return this.perSecond > 0;
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
    throw new ServiceError('RATE_LIMITED', `rate limit of ${this.perSecond} requests/s (burst ${this.burst}) exceeded for this API key`, { 'retry-after': String(wait) });
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
  }
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || h === '::ffff:127.0.0.1';
}
