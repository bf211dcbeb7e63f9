/** Moved to src/core/errors.ts (the neutral core every layer may import); this re-export keeps older imports working. */
export { VeilError } from '../core/errors.ts';
