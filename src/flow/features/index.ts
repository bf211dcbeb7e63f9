import type { FeatureFamily, FeatureOptions } from './family.ts';
import { behaviourFamily } from './behaviour.ts';
import { handshakeFamily } from './handshake.ts';
import { iscxFamily } from './iscx.ts';
import { namesFamily } from './names.ts';
import { sequenceFamily } from './sequence.ts';
import { statsFamily } from './stats.ts';

export type { FeatureFamily, FeatureOptions } from './family.ts';
export { DEFAULT_FEATURE_OPTIONS } from './family.ts';

/** Every family, in output order. Each can be switched off by name (`--features stats,iscx`). */
const FACTORIES: Record<string, (o: FeatureOptions) => FeatureFamily<any>> = {
  stats: statsFamily,
  iscx: iscxFamily,
  sequence: sequenceFamily,
  behaviour: behaviourFamily,
  handshake: handshakeFamily,
  names: namesFamily,
};

export function familyNames(): string[] {
  return Object.keys(FACTORIES);
}

export function buildFamilies(names: readonly string[], opts: FeatureOptions): FeatureFamily<any>[] {
  const unknown = names.filter((n) => !(n in FACTORIES));
  if (unknown.length) {
    throw new Error(`unknown feature famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (known: ${familyNames().join(', ')})`);
  }
  // Output order is the registry's, whatever order the names were given in.
  return familyNames().filter((n) => names.includes(n)).map((n) => FACTORIES[n]!(opts));
}
