/** Hex digests of short strings: node's one-shot `crypto.hash` when present (node >= 20.12), else createHash. */
import * as nodeCrypto from 'node:crypto';

type OneShot = (algorithm: string, data: string, encoding: 'hex') => string;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

export function hexDigest(algorithm: 'md5' | 'sha256', data: string): string {
  if (oneShot !== undefined) return oneShot(algorithm, data, 'hex');
  return nodeCrypto.createHash(algorithm).update(data).digest('hex');
}
