import { VeilError } from '../core/errors.ts';

/** Stable codes of model errors. */
export const ModelErrorCode = {
  /** The file is not a Veil model at all (wrong magic, foreign JSON, empty). */
  NOT_A_MODEL: 'MODEL_NOT_A_MODEL',
  /** A Veil model of a format version this build does not read. */
  WRONG_VERSION: 'MODEL_WRONG_VERSION',
  /** The file is a Veil model but damaged (truncated, checksum mismatch, inconsistent manifest). */
  CORRUPT: 'MODEL_CORRUPT',
  /** Input rows lack columns the model needs, or have the wrong kind. */
  BAD_INPUT: 'MODEL_BAD_INPUT',
  /** Training cannot proceed as asked (one class, no rows, bad parameter). */
  BAD_TRAINING: 'MODEL_BAD_TRAINING',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

export class ModelError extends VeilError {
  constructor(code: ModelErrorCode, message: string) {
    super(code, message);
    this.name = 'ModelError';
  }
}
