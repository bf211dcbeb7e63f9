import { VeilError } from '../core/errors.ts';

/** "1G", "500M", "64k", "1048576" to bytes (powers of 1024). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (!m) throw new VeilError('BAD_ARGUMENT', `not a size: '${s}' (examples: 500M, 2G, 1048576)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * mult);
  if (n <= 0) throw new VeilError('BAD_ARGUMENT', `size must be positive: '${s}'`);
  return n;
}

export function positiveInt(name: string, s: string, allowZero = false): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new VeilError('BAD_ARGUMENT', `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got '${s}'`);
  return n;
}
