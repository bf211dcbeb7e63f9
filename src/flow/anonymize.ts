import { createHmac } from 'node:crypto';

/**
 * Keyed pseudonyms for addresses: HMAC-SHA256 under the user's key, so the same address maps to the same
 * pseudonym within and across runs with one key, and nobody without the key can invert or test guesses.
 */
export class Anonymizer {
  private readonly cache = new Map<string, string>();
  constructor(private readonly key: string) {}

  address(text: string): string {
    let p = this.cache.get(text);
    if (p === undefined) {
      p = `anon-${createHmac('sha256', this.key).update(text).digest('hex').slice(0, 16)}`;
      if (this.cache.size > 1_000_000) this.cache.clear();
      this.cache.set(text, p);
    }
    return p;
  }
}
