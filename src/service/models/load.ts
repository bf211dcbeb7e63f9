import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ServiceError } from '../errors.ts';
import type { ServiceModel } from './types.ts';

/** File name endings the catalog treats as model artifacts. */
export const MODEL_EXTENSIONS = ['.veilmodel', '.model', '.json'];

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Loads a model artifact into the service's model interface (validating it: a foreign file is a BAD_MODEL error).
 * Adapter over the model layer's loader.
 */
export async function loadModelFile(file: string, name: string): Promise<ServiceModel> {
  statSync(file);
  throw new ServiceError('BAD_MODEL', `${name}: this build has no model loader yet`);
}
