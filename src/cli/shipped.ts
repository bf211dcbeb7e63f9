import { fileURLToPath } from 'node:url';

/**
 * The models shipped in the repository's models/ folder (models/README.md): what `veil serve` loads and
 * `veil worker` searches when no --models is given, so a server and its workers started as the README says
 * resolve the same model names.
 */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));
