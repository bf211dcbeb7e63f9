import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Absolute path of ../shared/data beside the repository, or null when a fresh clone has no such folder. */
export const SHARED_DATA: string | null = (() => {
  const p = path.resolve(fileURLToPath(new URL('../../../shared/data', import.meta.url)));
  return existsSync(p) ? p : null;
})();

/**
 * Options for `test()` / `describe()` in the extended tier: skipped, with the reason printed in the runner's
 * summary, when ../shared/data is absent.
 */
export function extended(what: string): { skip: string | false } {
  if (SHARED_DATA) return { skip: false };
  const reason = `extended tier: ../shared/data not found, skipping ${what}`;
  process.stderr.write(`NOTICE: ${reason}\n`);
  return { skip: reason };
}
