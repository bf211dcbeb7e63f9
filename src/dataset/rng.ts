/** Moved to src/core/rng.ts (the neutral core every layer may import); this re-export keeps older imports working. */
export { Rng, deriveSeed } from '../core/rng.ts';
